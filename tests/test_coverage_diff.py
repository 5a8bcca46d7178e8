"""The lines changed since the base, read from real git repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.diff import changed_lines, parse_diff, unquote
from pytest_tddgate.settings import Overrides, resolve
from tests.gitrepo import GitRepo

BASE_TEXT = "one\ntwo\nthree\nfour\n"


def changed(root: Path, *, staged: bool = False, base: str | None = None) -> dict[str, set[int]]:
    settings = resolve(root, overrides=Overrides(values={"base": base}), environ={})
    facts = Facts(settings, staged=staged)
    return {path: set(lines) for path, lines in facts.get(changed_lines).items()}


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    """main has `a.py`, `b.py`, `c.py`, `gone.py`; branch `feature` continues from it."""
    for name in ("a.py", "b.py", "c.py", "gone.py"):
        repo.write(name, BASE_TEXT)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_committed_staged_unstaged_and_untracked_lines(feature: GitRepo) -> None:
    feature.write("a.py", "one\nTWO\nthree\nfour\nfive\n")  # committed: 2 changed, 5 added
    feature.commit("edit a")
    feature.write("b.py", "zero\none\ntwo\nthree\nfour\n")  # staged: 1 added
    feature.git("add", "b.py")
    feature.write("c.py", "one\ntwo\nthree\nFOUR\n")  # unstaged
    feature.write("new.py", "x = 1\ny = 2\nz = 3")  # untracked, no final newline
    (feature.path / "gone.py").unlink()  # deleted: no lines

    assert changed(feature.path) == {
        "a.py": {2, 5},
        "b.py": {1},
        "c.py": {4},
        "new.py": {1, 2, 3},
    }


def test_staged_judges_the_index_only(feature: GitRepo) -> None:
    feature.write("b.py", "zero\none\ntwo\nthree\nfour\n")
    feature.git("add", "b.py")
    feature.write("c.py", "one\ntwo\nthree\nFOUR\n")
    feature.write("new.py", "x = 1\n")

    assert changed(feature.path, staged=True) == {"b.py": {1}}


def test_lines_are_numbered_as_the_file_is_now(feature: GitRepo) -> None:
    # a commit adds line 1, then an unstaged edit inserts two lines above it
    feature.write("a.py", "new\n" + BASE_TEXT)
    feature.commit("prepend")
    feature.write("a.py", "top\nmiddle\nnew\n" + BASE_TEXT)

    assert changed(feature.path) == {"a.py": {1, 2, 3}}


def test_renamed_file_counts_only_its_edits(feature: GitRepo) -> None:
    feature.git("mv", "a.py", "moved.py")
    feature.write("moved.py", "one\ntwo\nthree\nfour\nfive\n")
    feature.commit("move and extend")

    assert changed(feature.path) == {"moved.py": {5}}


def test_unusual_file_names(feature: GitRepo) -> None:
    names = ["with space.py", 'quote"d.py', "tab\tname.py", "caf\u00e9.py"]
    for name in names:
        feature.write(name, "x = 1\n")
    feature.commit("odd names")
    feature.write("untracked space.py", "y = 2\n")

    assert changed(feature.path) == {name: {1} for name in [*names, "untracked space.py"]}


def test_binary_and_ignored_untracked_files_have_no_lines(feature: GitRepo) -> None:
    feature.write(".gitignore", "*.log\n")
    feature.commit("ignore logs")
    feature.write("run.log", "noise\n")
    (feature.path / "blob.bin").write_bytes(b"\x00\x01\x02\n")

    assert changed(feature.path) == {".gitignore": {1}}


def test_explicit_base(feature: GitRepo) -> None:
    first = feature.git("rev-parse", "HEAD").strip()
    feature.write("a.py", BASE_TEXT + "five\n")
    feature.commit("five")
    feature.write("b.py", BASE_TEXT + "five\n")
    second = feature.commit("five again")

    assert changed(feature.path, base=first) == {"a.py": {5}, "b.py": {5}}
    assert changed(feature.path, base=second) == {}


def test_without_a_base_branch_everything_is_new(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r", branch="trunk")  # no main/master: base is the root commit
    repo.write("a.py", "one\ntwo\n")
    repo.commit("root")
    repo.write("b.py", "x\n")
    repo.commit("second")

    assert changed(repo.path) == {"a.py": {1, 2}, "b.py": {1}}


def test_no_commits_yet(repo: GitRepo) -> None:
    repo.write("a.py", "one\ntwo\n")
    repo.git("add", "a.py")
    repo.write("b.py", "x\n")

    assert changed(repo.path) == {"a.py": {1, 2}, "b.py": {1}}


def test_paths_are_relative_to_the_project_inside_a_bigger_repository(repo: GitRepo) -> None:
    repo.write("other/x.py", "x\n")
    repo.write("project/pyproject.toml", "[tool.tddgate]\n")
    repo.write("project/pkg/m.py", "a\n")
    repo.commit("base")
    repo.write("other/x.py", "x\ny\n")
    repo.write("project/pkg/m.py", "a\nb\n")
    repo.write("project/pkg/new.py", "c\n")

    assert changed(repo.path / "project") == {"pkg/m.py": {2}, "pkg/new.py": {1}}


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(FactError, match="not inside a git repository"):
        changed(tmp_path)


def test_unknown_base(feature: GitRepo) -> None:
    with pytest.raises(FactError, match="no-such-branch was not found"):
        changed(feature.path, base="no-such-branch")


def test_added_line_that_looks_like_a_header_is_a_line() -> None:
    patch = (
        b"diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n"
        b"@@ -1,0 +2,2 @@ def f():\n+++ b/y.py\n+@@ -1 +1 @@\n"
        b"\\ No newline at end of file\n"
        b"diff --git a/z.py b/z.py\n--- a/z.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n"
    )
    assert dict(parse_diff(patch)) == {"x.py": frozenset({2, 3})}


def test_unquote_reverses_git_quoting() -> None:
    assert unquote(r"caf\303\251 \"q\"\tx\\y") == 'caf\u00e9 "q"\tx\\y'
