"""facts.history and facts.git on real repositories: the range, read in one pass."""

from __future__ import annotations

import subprocess
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.blobs import BlobBatch, Substance
from pytest_tddgate.facts.git import revisions
from pytest_tddgate.facts.history import (
    COMMIT_MESSAGE,
    INDEX,
    WORKTREE,
    Change,
    Commit,
    History,
    LogReader,
    Started,
    _commits,
    _start_log,
    _untracked,
    file_timelines,
    history,
    message_trailers,
    parse_changes,
    parse_log,
    start_history,
)
from tests.gitrepo import GitRepo
from tests.tddkit import git_commands, settings_at, settings_of

if TYPE_CHECKING:
    from pathlib import Path


def read(repo: GitRepo, *, staged: bool = False, **values: str) -> History:
    return Facts(settings_of(repo, **values), staged=staged).get(history)


def changes(hist: History, index: int) -> dict[str, Change]:
    return {c.path: c for c in hist.commits[index].changes}


def test_the_range_is_oldest_first_with_authors_subjects_and_trailers(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("b.py", "y = 2\n")
    first = repo.commit("add b", author="qa@example.com", trailers={"Role": "qa"})
    repo.write("a.py", "x = 3\n")
    second = repo.commit("change a", trailers={"Tdd": "refactor"})

    hist = read(repo)

    assert hist.revisions.base == base
    assert [c.sha for c in hist.commits] == [first, second]
    assert hist.commits[0].author_email == "qa@example.com"
    assert hist.commits[0].subject == "add b"
    assert hist.commits[0].trailer("role") == "qa"
    assert hist.commits[1].trailer("Tdd") == "refactor"
    assert hist.commits[1].describe() == f'{second[:8]} "change a" (2026-01-01)'
    assert changes(hist, 0)["b.py"].status == "A"
    assert changes(hist, 1)["a.py"].old_blob is not None


def test_whitespace_edits_pure_renames_and_deletions_need_no_test(repo: GitRepo) -> None:
    repo.write("ws.py", "def f():\n    return 1\n")
    repo.write("old.py", "value = 1\n")
    repo.write("gone.py", "value = 2\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("ws.py", "def f():\n\n        return 1  \n\n")
    repo.git("mv", "old.py", "new.py")
    (repo.path / "gone.py").unlink()
    repo.commit("cosmetics")

    found = changes(read(repo), 0)

    assert not found["ws.py"].substantive
    assert found["new.py"].status == "R"
    assert found["new.py"].old_path == "old.py"
    assert not found["new.py"].substantive
    assert found["gone.py"].status == "D"
    assert not found["gone.py"].substantive


def test_a_python_change_that_adds_no_line_needs_no_test(repo: GitRepo) -> None:
    """Committed Python changes are judged from their blobs, lines compared without
    whitespace: deleting or reordering lines adds none; other files count as changed."""
    body = "import os\nimport sys\n\n\ndef f():\n    return os.sep\n\n\ndef g():\n    return 1\n"
    repo.write("deleted.py", body)
    repo.write("moved.py", body)
    repo.write("edited.py", body)
    repo.write("doubled.py", body)
    repo.write("notes.txt", "a  b\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("deleted.py", body.replace("def g():\n    return 1\n", ""))
    repo.write("moved.py", body.replace("import os\nimport sys", "import sys\nimport os"))
    repo.write("edited.py", body.replace("return 1", "return 2"))
    # every line was there before, but one more time now: only counting tells
    repo.write("doubled.py", body + "\n\ndef g():\n    return 1\n")
    repo.write("notes.txt", "a b\n")
    repo.commit("edits")

    found = changes(read(repo), 0)

    assert not found["deleted.py"].substantive
    assert not found["moved.py"].substantive
    assert found["edited.py"].substantive
    assert found["edited.py"].added_lines() == 1
    assert found["doubled.py"].substantive
    assert found["doubled.py"].added_lines() == 2
    assert found["notes.txt"].substantive  # whitespace is only read in Python files


@pytest.mark.parametrize("staged", [True, False], ids=["index", "working-tree"])
def test_uncommitted_python_changes_are_judged_as_commits_are(repo: GitRepo, staged: bool) -> None:
    """The pre-commit hook (the index) and a run on the working tree judge a change as
    CI will once it is committed: reordering lines adds none, doubling one does."""
    body = "import os\nimport sys\n\n\ndef f():\n    return os.sep\n\n\ndef g():\n    return 1\n"
    for name in ("moved.py", "edited.py", "doubled.py", "renamed_moved.py"):
        repo.write(name, body)
    repo.commit("base")
    repo.write("moved.py", body.replace("import os\nimport sys", "import sys\nimport os"))
    repo.write("edited.py", body.replace("return 1", "return 2"))
    repo.write("doubled.py", body + "\n\ndef g():\n    return 1\n")
    repo.git("mv", "renamed_moved.py", "renamed.py")
    repo.write("renamed.py", body.replace("import os\nimport sys", "import sys\nimport os"))
    if staged:
        repo.git("add", "-A")

    hist = read(repo, staged=staged, base="HEAD")
    (pseudo,) = hist.commits
    found = {c.path: c for c in pseudo.changes}

    assert not found["moved.py"].substantive
    assert found["moved.py"].added_lines() == 0
    assert found["edited.py"].substantive
    assert found["edited.py"].added_lines() == 1
    assert found["doubled.py"].substantive  # a pure addition: git's count is enough
    assert not found["renamed.py"].substantive


def test_binary_files_count_as_changed(repo: GitRepo) -> None:
    repo.write("a.txt", "a\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write_bytes("logo.png", b"\x89PNG\x00\x01\x02")
    repo.commit("logo")

    change = changes(read(repo), 0)["logo.png"]

    assert change.binary
    assert change.substantive


@pytest.mark.parametrize(
    "name", ["with space.py", "ñandú/über.py", "new\nline.py", "\nleading.py", "tab\there.py"]
)
def test_any_file_name_is_read_exactly(repo: GitRepo, name: str) -> None:
    repo.write("a.txt", "a\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(name, "x = 1\n")
    repo.commit("odd name")
    repo.write(name, "x = 2\n")

    hist = read(repo)

    assert list(changes(hist, 0)) == [name]
    assert changes(hist, 0)[name].added_lines() == 1
    assert hist.commits[-1].sha == WORKTREE
    assert list(changes(hist, 1)) == [name]


def test_merges_are_read_by_their_first_parent(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("f.py", "f = 1\n")
    feature = repo.commit("feature work")
    repo.git("checkout", "-q", "-b", "side", "main")
    repo.write("s.py", "s = 1\n")
    side = repo.commit("side work")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge side")

    hist = read(repo)

    assert [c.subject for c in hist.commits] == ["feature work", "merge side"]
    assert side not in [c.sha for c in hist.commits]
    assert hist.commits[0].sha == feature
    assert list(changes(hist, 1)) == ["s.py"]
    assert len(hist.commits[1].parents) == 2


def test_without_a_default_branch_the_range_starts_at_the_root_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r", branch="trunk")
    repo.write("a.py", "a = 1\n")
    root = repo.commit("root")
    repo.write("b.py", "b = 1\n")
    repo.commit("second")

    hist = read(repo)

    assert hist.revisions.base_is_root
    assert "root commit" in hist.revisions.base_note
    assert next(c.sha for c in hist.commits) == root
    assert list(changes(hist, 0)) == ["a.py"]


def test_detached_head_is_judged_like_a_branch(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    base = repo.commit("base")
    repo.git("checkout", "-q", "--detach")
    repo.write("b.py", "b = 1\n")
    repo.commit("detached work")

    hist = read(repo)

    assert hist.revisions.base == base
    assert [c.subject for c in hist.commits] == ["detached work"]


def test_the_working_tree_is_a_last_pseudo_commit(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 1\n")
    repo.commit("base")
    repo.write("a.py", "a = 2\n")
    (repo.path / "b.py").unlink()
    repo.write("new.py", "n = 1\n\n\n")
    repo.write(".tddgate/report.json", "{}\n")

    hist = read(repo)

    pseudo = hist.commits[-1]
    assert pseudo.sha == WORKTREE
    assert pseudo.describe() == "uncommitted changes"
    assert {p: c.status for p, c in changes(hist, -1).items()} == {
        "a.py": "M",
        "b.py": "D",
        "new.py": "A",
    }
    assert changes(hist, -1)["new.py"].added == 1


def test_staged_reads_the_index_only(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 1\n")
    repo.commit("base")
    repo.git("mv", "a.py", "moved.py")
    repo.write("b.py", "b = 2\n")  # not staged
    repo.write("untracked.py", "u = 1\n")

    hist = read(repo, staged=True)

    assert hist.commits[-1].sha == INDEX
    assert hist.commits[-1].describe() == "staged changes"
    assert {p: (c.status, c.old_path) for p, c in changes(hist, -1).items()} == {
        "moved.py": ("R", "a.py")
    }


def test_a_clean_tree_on_the_base_has_nothing_to_judge(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")

    hist = read(repo)

    assert hist.commits == ()
    assert "only uncommitted changes are judged" in hist.revisions.base_note


def test_no_commits_yet_makes_the_working_tree_the_whole_range(repo: GitRepo) -> None:
    repo.write("staged.py", "s = 1\n")
    repo.git("add", "staged.py")
    repo.write("loose.py", "l = 1\n")

    hist = read(repo)
    staged = read(repo, staged=True)

    assert hist.revisions.head is None
    assert "no commits yet" in hist.revisions.base_note
    assert set(changes(hist, 0)) == {"staged.py", "loose.py"}
    assert set(changes(staged, 0)) == {"staged.py"}


def test_the_commit_message_trailers_apply_to_the_staged_changes(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")
    repo.write("a.py", "a = 2\n")
    repo.git("add", "a.py")
    facts = Facts(settings_of(repo), staged=True)
    facts.provided[COMMIT_MESSAGE] = "Tidy a\n\nLonger text.\n\nTdd: refactor\n# a comment\n"

    assert facts.get(history).commits[-1].trailer("tdd") == "refactor"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Subject\n\nTdd: refactor\nRole: qa\n", {"tdd": ("refactor",), "role": ("qa",)}),
        ("Subject only\n", {}),
        ("Subject\n\nBody with: a colon in prose here\n", {}),
        ("Subject\n\nTdd: refactor\n# Please enter the commit message\n", {"tdd": ("refactor",)}),
        (
            "Subject\n\nTdd: refactor\n# ------------------------ >8 ------------------------\n"
            "diff --git a/x b/x\n",
            {"tdd": ("refactor",)},
        ),
    ],
)
def test_message_trailers(message: str, expected: dict[str, tuple[str, ...]]) -> None:
    assert message_trailers(message) == expected


def test_not_a_git_repository_is_an_error_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    facts = Facts(settings_at(tmp_path))

    with pytest.raises(FactError) as caught:
        facts.get(history)

    assert "is not inside a git repository" in caught.value.message
    assert caught.value.fix is not None
    assert "git init" in caught.value.fix


@pytest.mark.parametrize("base", [None, "HEAD"])
def test_a_machine_without_git_is_told_to_install_it(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base: str | None
) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    facts = Facts(settings_of(repo, **({"base": base} if base else {})))
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(FactError) as caught:
        facts.get(history)

    assert caught.value.message == "git is not installed"
    assert caught.value.fix == "install git"


def test_a_base_that_does_not_exist_is_an_error(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")

    with pytest.raises(FactError) as caught:
        read(repo, base="origin/nowhere")

    assert "origin/nowhere was not found" in caught.value.message
    assert "--tddgate-base" in (caught.value.fix or "")


def shallow_clone(repo: GitRepo, target: Path, *args: str) -> GitRepo:
    subprocess.run(
        ["git", "clone", "-q", *args, f"file://{repo.path}", str(target)],
        check=True,
        capture_output=True,
    )
    clone = GitRepo.__new__(GitRepo)
    clone.path = target
    return clone


def test_a_shallow_clone_without_the_base_says_how_to_fetch_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    for number in range(3):
        repo.write("a.py", f"a = {number}\n")
        repo.commit(f"main {number}")
    repo.git("checkout", "-q", "-b", "feature")
    for number in range(3):
        repo.write("b.py", f"b = {number}\n")
        repo.commit(f"feature {number}")
    clone = shallow_clone(repo, tmp_path / "clone", "--depth", "1", "--branch", "feature")
    clone.git("remote", "set-head", "origin", "--delete")  # as in a CI checkout of a PR

    with pytest.raises(FactError) as caught:
        read(clone)

    assert "shallow clone" in caught.value.message
    assert "git fetch --unshallow" in (caught.value.fix or "")
    assert "fetch-depth: 0" in (caught.value.fix or "")

    clone.git("fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    with pytest.raises(FactError) as unrelated:
        read(clone)
    assert "merge-base of HEAD and origin/main is not in this shallow clone" in (
        unrelated.value.message
    )

    with pytest.raises(FactError) as explicit:
        read(clone, base="origin/main")
    assert "shallow clone" in explicit.value.message


def test_a_shallow_clone_with_the_whole_range_works(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("main")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("b.py", "b = 1\n")
    repo.commit("feature")
    clone = shallow_clone(repo, tmp_path / "clone", "--depth", "2", "--branch", "feature")

    hist = read(clone, base="HEAD~1")

    assert hist.revisions.shallow
    assert [c.subject for c in hist.commits] == ["feature"]


def test_renames_are_followed_and_paths_are_relative_to_the_project(repo: GitRepo) -> None:
    repo.write("app/pyproject.toml", "")
    repo.write("app/src/old.py", "x = 1\n")
    repo.write("other/z.py", "z = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/src/old.py", "x = 2\n")
    repo.commit("edit")
    repo.git("mv", "app/src/old.py", "app/src/new.py")
    repo.commit("rename")
    repo.write("other/z.py", "z = 2\n")
    repo.commit("outside")

    hist = Facts(settings_at(repo.path / "app")).get(history)
    timelines = file_timelines(hist, "app")

    assert list(timelines) == ["src/new.py"]
    assert [t.commit.subject for t in timelines["src/new.py"].touches] == ["edit", "rename"]
    assert [t.commit.subject for t in timelines["src/new.py"].substantive] == ["edit"]


def history_commands(
    repo: GitRepo, tmp_path: Path, printed: str, base: str | None = None
) -> tuple[str, list[str]]:
    """Read the history in a new process, with git logged: (what `printed`, an
    expression of `h`, prints; the git subcommands run)."""
    values = {"base": base} if base else {}
    code = (
        "from pathlib import Path\n"
        "from pytest_tddgate.facts import Facts\n"
        "from pytest_tddgate.facts.history import history\n"
        "from pytest_tddgate.settings import Overrides, resolve\n"
        f"s = resolve(Path({str(repo.path)!r}), overrides=Overrides(values={values!r}),"
        " environ={})\n"
        "h = Facts(s).get(history)\n"
        f"print({printed})\n"
    )
    return git_commands(tmp_path, code)


def test_the_range_costs_one_git_log_and_one_diff(repo: GitRepo, tmp_path: Path) -> None:
    """Count git processes with a wrapper first on PATH: never one per file or commit."""
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    for number in range(20):
        repo.write(f"f{number}.py", f"v = {number}\n")
        repo.commit(f"commit {number}")
    repo.write("a.py", "a = 1\n")
    out, commands = history_commands(repo, tmp_path, "len(h.commits)")

    assert out.strip() == "21"
    assert commands.count("log") == 1
    assert commands.count("diff") == 1
    # the edited line of a.py may only have moved: its blobs are read to tell, once
    assert commands.count("cat-file") == 1
    assert len(commands) <= 7, commands


def three_commits(repo: GitRepo) -> Facts:
    """A base commit and three more, and the facts of a run with `HEAD~3` as its base."""
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    for number in range(3):
        repo.write(f"f{number}.py", f"v = {number}\n")
        repo.commit(f"commit {number}")
    return Facts(settings_of(repo, base="HEAD~3"))


def test_an_explicit_base_starts_the_log_with_rev_parse_and_needs_no_second_one(
    repo: GitRepo, tmp_path: Path
) -> None:
    three_commits(repo)
    out, commands = history_commands(repo, tmp_path, "[c.subject for c in h.commits]", "HEAD~3")

    assert out.strip() == "['commit 0', 'commit 1', 'commit 2']"
    # and a clean working tree costs one `git status`, no diff
    assert sorted(commands) == ["log", "rev-parse", "status"]


def test_a_log_guessed_before_head_was_resolved_is_read_again_if_head_moved(
    repo: GitRepo,
) -> None:
    facts = three_commits(repo)
    revs = facts.get(revisions)
    # as if HEAD was one commit back when the log started: it ends at HEAD~1
    stale = Started(revs, _start_log(repo.path, ["HEAD~3..HEAD~1"]), False, ())

    commits, _ = _commits(stale)

    assert [c.subject for c in commits] == ["commit 0", "commit 1", "commit 2"]
    assert commits[-1].sha == revs.head


def test_a_base_that_looks_like_an_option_is_no_option(repo: GitRepo) -> None:
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.write("a.py", "a = 1\n")
    repo.commit("change")

    with pytest.raises(FactError) as caught:
        read(repo, base="--output=stolen.txt")

    assert "was not found" in caught.value.message
    assert not list(repo.path.glob("stolen*"))


def test_a_blob_batch_started_early_reads_what_it_is_sent_and_ends_unasked(
    repo: GitRepo,
) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")
    blob = repo.git("rev-parse", "HEAD:a.py").strip()

    asked = BlobBatch(repo.path)
    asked.send([blob])
    unasked = BlobBatch(repo.path)
    unasked.close()
    contents = asked.result()
    asked.close()

    assert contents == {blob: b"a = 1\n"}
    assert unasked._proc.returncode == 0
    assert asked._proc.returncode == 0


def plain(commits: list[Commit]) -> list[Commit]:
    """`commits` without their link to the blob reader, to compare parses."""
    return [replace(c, changes=tuple(replace(x, lines=None) for x in c.changes)) for c in commits]


def test_a_log_parsed_as_git_writes_it_reads_the_same_however_it_is_cut(
    repo: GitRepo,
) -> None:
    repo.write("a.py", "a = 0\n")
    repo.commit("base")
    repo.write("tests/test_é.py", "def test(): pass\n")
    repo.commit("a test with a non-ASCII name", trailers={"Role": "qa"})
    repo.write("with\nnewline.py", "b = 1\n")
    repo.commit("a name with a newline")
    repo.git("mv", "a.py", "moved a.py")
    repo.commit("a rename, to a name with a space")
    out = _start_log(repo.path, ["HEAD~3..HEAD"]).result().stdout
    whole = plain(parse_log(out.decode(), Substance(repo.path), newest_first=True))

    firsts = []
    for size in range(1, len(out) + 1):
        reader = LogReader(repo.path)
        early = [c for at in range(0, len(out), size) for c in reader.feed(out[at : at + size])]
        firsts.append(len(early))

        assert plain(reader.commits(out)) == whole

    assert [c.subject for c in whole] == [
        "a test with a non-ASCII name",
        "a name with a newline",
        "a rename, to a name with a space",
    ]
    assert max(firsts) == 2, "all but the last commit are handed over before the end"
    assert {c.path for c in whole[1].changes} == {"with\nnewline.py"}


def test_following_the_log_hands_over_each_commit_once_before_it_is_read(
    repo: GitRepo,
) -> None:
    facts = three_commits(repo)
    started = facts.get(start_history)
    handed: list[str] = []
    idled: list[bool] = []

    started.follow(
        lambda commits: handed.extend(c.sha for c in commits), lambda: idled.append(True)
    )
    hist = facts.get(history)

    assert sorted(handed) == sorted(c.sha for c in hist.commits)
    assert [c.subject for c in hist.commits] == ["commit 0", "commit 1", "commit 2"]
    assert len(idled) <= 1


def test_a_blob_batch_is_sent_more_as_it_is_learnt_and_answers_as_it_goes(
    repo: GitRepo,
) -> None:
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 2\n")
    repo.commit("base")
    a, b = (repo.git("rev-parse", f"HEAD:{name}").strip() for name in ("a.py", "b.py"))
    batch = BlobBatch(repo.path)

    batch.send([a])
    early: dict[str, bytes] = {}
    deadline = time.monotonic() + 30
    while a not in early and time.monotonic() < deadline:
        early |= batch.arrived()
        time.sleep(0.001)
    batch.send([b])
    contents = batch.result()
    batch.close()

    assert early == {a: b"a = 1\n"}
    assert contents == {a: b"a = 1\n", b: b"b = 2\n"}


def test_a_blob_batch_asked_for_a_missing_object_says_which(repo: GitRepo) -> None:
    repo.write("a.py", "a = 1\n")
    repo.commit("base")
    batch = BlobBatch(repo.path)

    batch.send(["0" * 40])
    with pytest.raises(ToolError) as caught:
        batch.result()
    batch.close()

    assert "git object 0000000000000000000000000000000000000000 is missing" in str(caught.value)


def test_substance_judged_while_git_answers_is_what_it_judges_later(repo: GitRepo) -> None:
    repo.write("ws.py", "def f():\n    return 1\n")
    repo.write("real.py", "x = 1\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("ws.py", "def f():\n\n        return 1  \n")
    repo.write("real.py", "x = 1\ny = 2\n")
    repo.commit("edits")
    late = changes(read(repo), 0)
    facts = Facts(settings_of(repo))
    started = facts.get(start_history)
    assert started.reader is not None
    substance = started.reader.substance
    batch = BlobBatch(repo.path)

    started.follow(
        lambda commits: substance.send([c for commit in commits for c in commit.changes], batch)
    )
    deadline = time.monotonic() + 30
    while substance._sent and time.monotonic() < deadline:
        substance.digest(batch)
        time.sleep(0.001)
    early = changes(facts.get(history), 0)
    batch.close()

    assert substance._sent == [], "both changes were judged early"
    assert {p: c.substantive for p, c in early.items()} == {"ws.py": False, "real.py": True}
    assert {p: c.substantive for p, c in late.items()} == {"ws.py": False, "real.py": True}


def test_a_stale_guessed_log_that_was_followed_is_still_read_again(repo: GitRepo) -> None:
    facts = three_commits(repo)
    revs = facts.get(revisions)
    # as if HEAD was one commit back when the log started, and the gate followed it
    stale = Started(
        revs, _start_log(repo.path, ["HEAD~3..HEAD~1"]), False, (), LogReader(revs.toplevel)
    )
    followed: list[str] = []
    stale.follow(lambda commits: followed.extend(c.subject for c in commits))

    commits, _ = _commits(stale)

    assert sorted(followed) == ["commit 0", "commit 1"]
    assert [c.subject for c in commits] == ["commit 0", "commit 1", "commit 2"]
    assert commits[-1].sha == revs.head


def old_way(repo: GitRepo) -> list[Change]:
    """The working tree's changes as the gate read them before `git status`: the
    whole `git diff HEAD`, then every untracked file."""
    flags = ("-z", "-M", "--raw", "--no-abbrev", "--numstat", "-w", "--ignore-blank-lines")
    found = parse_changes(repo.git("diff", *flags, "HEAD", "--"))
    listed = repo.git("ls-files", "-z", "--others", "--exclude-standard")
    return found + [_untracked(repo.path / p, p) for p in listed.split("\0") if p]


def test_one_git_status_reads_the_working_tree_as_the_whole_diff_did(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.write("kept.py", "a = 1\n")
    repo.write("edited.py", "def f():\n    return 1\n")
    repo.write("spaced.py", "x = 1\n")
    repo.write("moved.py", "".join(f"line_{i} = {i}\n" for i in range(20)))
    repo.write("gone.py", "g = 1\n")
    repo.write("unstaged_gone.py", "u = 1\n")
    repo.write("*.py", "star = 1\n")
    repo.write("dir with space/é name.py", "e = 1\n")
    repo.commit("base")
    repo.write("edited.py", "def f():\n    return 2\n")
    repo.write("spaced.py", "x  =  1\n\n")  # whitespace only: adds no line
    repo.git("mv", "moved.py", "renamed.py")  # a staged rename
    repo.git("rm", "-q", "gone.py")
    (repo.path / "unstaged_gone.py").unlink()
    repo.write("*.py", "star = 2\n")  # a name that is a glob
    repo.write("dir with space/é name.py", "e = 2\n")
    repo.write("new dir/added.py", "n = 1\n")  # untracked, in an untracked folder
    repo.write("with\nnewline.py", "w = 1\n")
    repo.write("intent.py", "i = 1\n")
    repo.git("add", "-N", "intent.py")
    expected = sorted(old_way(repo), key=lambda c: c.path)
    shown = "(c.status, c.path, c.old_path, c.added, c.deleted, c.substantive)"
    out, commands = history_commands(
        repo, tmp_path, f"repr(sorted({shown} for c in h.commits[-1].changes))"
    )

    assert out.strip() == repr(
        sorted((c.status, c.path, c.old_path, c.added, c.deleted, c.substantive) for c in expected)
    )
    assert {"spaced.py": False, "edited.py": True}.items() <= {
        c.path: c.substantive for c in expected
    }.items()
    assert "ls-files" not in commands
    assert commands.count("status") == 1 and commands.count("diff") == 1
