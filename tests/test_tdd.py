"""The tdd gate's rules, each on a real repository built in the test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate.facts.history import COMMIT_MESSAGE
from pytest_tddgate.model import Verdict
from tests.gitrepo import GitRepo
from tests.tddkit import IMPL, TEST, git_commands, judge, run_of, start_project

if TYPE_CHECKING:
    from pathlib import Path

FIXED = "def area(width, height):\n    return abs(width * height)\n"


def test_a_test_committed_before_the_code_passes(repo: GitRepo) -> None:
    start_project(repo)
    repo.write("tests/test_shapes.py", TEST)
    test_sha = repo.commit("test area")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement area")

    result = judge(repo)

    assert result.status is Verdict.PASS
    assert result.summary == "1 implementation file(s) over 2 commit(s): tests came first"
    assert result.metrics["files_checked"] == 1
    assert result.metrics["violations"] == 0
    assert result.metrics["commits"] == 2
    (entry,) = result.details["files"]
    assert entry["path"] == "src/pkg/shapes.py"
    assert entry["tests"] == [
        {
            "test": "tests/test_shapes.py",
            "sources": ["naming", "imports"],
            "requirements": [],
            "first_change": {
                "commit": test_sha[:8],
                "subject": "test area",
                "date": "2026-01-01",
                "pseudo": None,
            },
        }
    ]


def test_code_before_its_test_fails_with_both_commits_named(repo: GitRepo) -> None:
    base = start_project(repo)
    repo.write("src/pkg/shapes.py", IMPL)
    impl_sha = repo.commit("implement area")
    repo.write("tests/test_shapes.py", TEST)
    test_sha = repo.commit("test area")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.summary == "1 of 1 implementation file(s) changed before their tests"
    assert result.metrics["violations"] == 1
    (finding,) = result.findings
    assert finding.rule == "test-not-first"
    assert finding.path == "src/pkg/shapes.py"
    assert finding.commit == impl_sha[:8]
    assert finding.message == (
        f'implementation changed first, in {impl_sha[:8]} "implement area" (2026-01-01); '
        f'first mapped test change: {test_sha[:8]} "test area" (2026-01-01) in '
        "tests/test_shapes.py (naming, imports)"
    )
    assert finding.hint is not None
    assert "tests/test_shapes.py" in finding.hint
    assert f"git rebase -i {base[:8]}" in finding.hint
    assert "Tdd: refactor" in finding.hint


def test_no_mapped_test_changed_names_the_tests_that_exist(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo)
    repo.write("src/pkg/shapes.py", FIXED)
    repo.commit("fix area")

    (finding,) = judge(repo).findings

    assert finding.message.endswith(
        "no mapped test changed in the range (tests/test_shapes.py (naming) map to it but "
        "did not change)"
    )


def test_same_commit_counts_unless_configured_otherwise(repo: GitRepo, tmp_path: Path) -> None:
    start_project(repo)
    repo.write("tests/test_shapes.py", TEST)
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("area with its test")
    assert judge(repo).status is Verdict.PASS

    strict = GitRepo(tmp_path / "strict")
    start_project(strict, tdd="same_commit = false")
    strict.write("tests/test_shapes.py", TEST)
    strict.write("src/pkg/shapes.py", IMPL)
    strict.commit("area with its test")

    (finding,) = judge(strict).findings
    assert "(the same commit; gates.tdd.same_commit = false wants it earlier)" in finding.message


def test_uncommitted_and_staged_changes_are_judged_last(repo: GitRepo) -> None:
    start_project(repo)
    repo.write("src/pkg/shapes.py", IMPL)
    repo.git("add", "src/pkg/shapes.py")
    repo.write("tests/test_shapes.py", TEST)  # written, not staged

    assert judge(repo).status is Verdict.PASS
    staged = judge(repo, staged=True)
    assert staged.status is Verdict.FAIL
    (finding,) = staged.findings
    assert finding.commit is None
    assert finding.message.startswith("implementation changed first, in staged changes")
    assert "commit it before the implementation or with it" in (finding.hint or "")


def test_granularity_commit_needs_a_test_change_before_every_change(
    repo: GitRepo, tmp_path: Path
) -> None:
    start_project(repo, tdd='granularity = "commit"')
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("test area")
    repo.write("src/pkg/shapes.py", IMPL)
    first = repo.commit("implement area")
    repo.write("src/pkg/shapes.py", FIXED)
    second = repo.commit("area of negative sizes")

    (finding,) = judge(repo).findings
    assert finding.commit == second[:8]
    assert finding.message == (
        f'changed again in {second[:8]} "area of negative sizes" (2026-01-01) with no mapped '
        f'test changed since its previous change in {first[:8]} "implement area" (2026-01-01)'
    )

    repo.git("reset", "-q", "--hard", first)
    repo.write(
        "tests/test_shapes.py", TEST + "\n\ndef test_negative():\n    assert area(-2, 3) == 6\n"
    )
    repo.commit("test negative sizes")
    repo.write("src/pkg/shapes.py", FIXED)
    repo.commit("area of negative sizes")
    assert judge(repo).status is Verdict.PASS
    assert judge(repo, base=None).metrics["files_checked"] == 1


def test_a_refactor_needs_no_new_test_but_mapped_tests_that_pass(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo)
    repo.write(
        "src/pkg/shapes.py",
        "def area(width, height):\n    result = width * height\n    return result\n",
    )
    sha = repo.commit("tidy area", trailers={"Tdd": "refactor"})

    assert judge(repo).status is Verdict.PASS
    assert judge(repo).details["files"][0]["refactor_commits"] == [sha[:8]]
    passing = run_of(("tests/test_shapes.py::test_area", "passed"))
    assert judge(repo, test_run=passing).status is Verdict.PASS

    failing = judge(repo, test_run=run_of(("tests/test_shapes.py::test_area", "failed")))
    assert failing.status is Verdict.FAIL
    (finding,) = failing.findings
    assert finding.rule == "refactor-tests-failing"
    assert "tests/test_shapes.py::test_area" in finding.message


def test_a_refactor_of_untested_code_is_not_enough(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    start_project(repo)
    repo.write("src/pkg/shapes.py", FIXED)
    repo.commit("tidy area", trailers={"Tdd": "Refactor"})

    (finding,) = judge(repo).findings

    assert finding.rule == "refactor-without-tests"
    assert "no test maps to it" in finding.message


def test_the_commit_message_file_marks_staged_changes_as_a_refactor(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo)
    repo.write("src/pkg/shapes.py", FIXED)
    repo.git("add", "-A")

    assert judge(repo, staged=True).status is Verdict.FAIL
    message = {COMMIT_MESSAGE: "Tidy area\n\nTdd: refactor\n"}
    assert judge(repo, staged=True, provided=message).status is Verdict.PASS


def test_existence_mode_accepts_any_mapped_test(repo: GitRepo) -> None:
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo, tdd='mode = "existence"')
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("src/pkg/volume.py", "def volume(a):\n    return a ** 3\n")
    repo.commit("two modules")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.summary == "1 of 2 implementation file(s) have no mapped test"
    (finding,) = result.findings
    assert finding.rule == "no-test"
    assert finding.path == "src/pkg/volume.py"
    assert "tests/test_volume.py" in (finding.hint or "")


def test_exempt_files_deletions_renames_and_whitespace_need_no_test(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("src/pkg/old.py", "def old():\n    return 1\n")
    repo.write("src/pkg/spaces.py", "def spaced():\n    return 1\n")
    start_project(repo, tdd='exempt = ["**/generated/**"]')
    repo.write("src/pkg/__init__.py", '"""Docs."""\nfrom .shapes import area\n__all__ = ["area"]\n')
    repo.write("src/pkg/generated/api.py", "def api():\n    return 1\n")
    (repo.path / "src/pkg/shapes.py").unlink()
    repo.git("mv", "src/pkg/old.py", "src/pkg/renamed.py")
    repo.write("src/pkg/spaces.py", "def spaced():\n\n        return 1  \n")
    repo.write_bytes("src/pkg/logo.png", b"\x89PNG\x00\x01")
    repo.commit("housekeeping")

    result = judge(repo)

    assert result.status is Verdict.PASS
    assert result.summary == "no implementation file changed in 1 commit(s)"
    assert result.details["exempt"] == [
        {"path": "src/pkg/__init__.py", "reason": "__init__.py without code"},
        {"path": "src/pkg/generated/api.py", "reason": "matches gates.tdd.exempt"},
    ]


def test_renames_are_followed_for_code_and_tests(repo: GitRepo) -> None:
    start_project(repo)
    repo.write("tests/test_draft.py", TEST.replace("pkg.shapes", "pkg.draft"))
    repo.commit("test the draft")
    repo.write("src/pkg/draft.py", IMPL)
    repo.commit("draft")
    repo.git("mv", "src/pkg/draft.py", "src/pkg/shapes.py")
    repo.git("mv", "tests/test_draft.py", "tests/test_shapes.py")
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("rename draft to shapes")

    result = judge(repo)

    assert result.status is Verdict.PASS
    (entry,) = result.details["files"]
    assert entry["path"] == "src/pkg/shapes.py"
    assert entry["first_change"]["subject"] == "draft"
    assert entry["tests"][0]["first_change"]["subject"] == "test the draft"


def test_a_waiver_keeps_the_finding_visible_and_passes_the_gate(repo: GitRepo) -> None:
    waiver = (
        '[[tool.tddgate.waivers]]\ngate = "tdd"\npath = "src/pkg/legacy/**"\n'
        'reason = "ported as is"\nowner = "alice"\n'
    )
    start_project(repo, extra=waiver)
    repo.write("src/pkg/legacy/old.py", IMPL)
    repo.commit("port the legacy module")

    result = judge(repo)

    assert result.status is Verdict.PASS
    (finding,) = result.findings
    assert finding.waived
    assert result.summary.endswith("(all 1 finding(s) waived)")


def test_matrix_links_show_their_requirement(repo: GitRepo) -> None:
    matrix = (
        '{"requirements": [{"id": "REQ-7", "code": ["src/pkg/shapes.py"], '
        '"tests": ["tests/test_spec.py"]}]}'
    )
    repo.write("traceability_matrix.json", matrix)
    start_project(repo)
    repo.write("tests/test_spec.py", "def test_spec():\n    pass\n")
    repo.commit("spec")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement")

    result = judge(repo)

    assert result.status is Verdict.PASS
    assert result.details["files"][0]["tests"][0]["requirements"] == ["REQ-7"]


def test_merged_tests_count_by_the_first_parent(repo: GitRepo) -> None:
    start_project(repo)
    repo.git("checkout", "-q", "-b", "tests-branch")
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("test area")
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-ff", "tests-branch", "-m", "merge the tests")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement area")

    result = judge(repo)

    assert result.status is Verdict.PASS
    assert result.details["files"][0]["tests"][0]["first_change"]["subject"] == "merge the tests"


def test_odd_file_names(repo: GitRepo) -> None:
    start_project(repo)
    repo.write("tests/test_über form.py", "def test_x():\n    pass\n")
    repo.commit("test first")
    repo.write("src/pkg/über form.py", IMPL)
    repo.write("src/pkg/new\nline.py", IMPL)
    repo.commit("odd names")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.path for f in result.findings] == ["src/pkg/new\nline.py"]


def test_the_root_commit_and_a_detached_head(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r", branch="trunk")
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    repo.write("src/pkg/shapes.py", IMPL)
    root = repo.commit("everything at once")
    repo.git("checkout", "-q", "--detach")
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("tests later")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    (finding,) = result.findings
    assert finding.commit == root[:8]


def test_no_commits_yet_judges_the_working_tree(repo: GitRepo) -> None:
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    repo.write("src/pkg/shapes.py", IMPL)

    lonely = judge(repo)
    repo.write("tests/test_shapes.py", TEST)
    together = judge(repo)

    assert lonely.status is Verdict.FAIL
    assert lonely.findings[0].message.startswith("implementation changed first, in uncommitted")
    assert together.status is Verdict.PASS


def test_a_project_in_a_subfolder_of_the_repository(repo: GitRepo) -> None:
    repo.write("README", "monorepo\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("app/pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    repo.write("app/tests/test_shapes.py", TEST)
    repo.commit("test")
    repo.write("app/src/pkg/shapes.py", IMPL)
    repo.write("other/src/pkg/shapes.py", IMPL)
    repo.commit("implement")

    app = GitRepo.__new__(GitRepo)
    app.path = repo.path / "app"
    result = judge(app)

    assert result.status is Verdict.PASS
    assert result.details["files"][0]["path"] == "src/pkg/shapes.py"


def test_hard_cases_are_errors_with_the_fix_never_failures(tmp_path: Path, repo: GitRepo) -> None:
    plain = GitRepo.__new__(GitRepo)
    plain.path = tmp_path / "plain"
    plain.path.mkdir()
    not_a_repo = judge(plain)
    start_project(repo)
    missing_base = judge(repo, base="no-such-branch")

    for result in (not_a_repo, missing_base):
        assert result.status is Verdict.ERROR
        (finding,) = result.findings
        assert finding.rule == "cannot-evaluate"
        assert finding.hint
    assert "not inside a git repository" in not_a_repo.summary
    assert "no-such-branch was not found" in missing_base.summary


def test_git_processes_do_not_grow_with_commits_or_files(repo: GitRepo, tmp_path: Path) -> None:
    """One git log for the range, one diff and one listing for the working tree, one
    blob reader: the same few processes for 3 commits as for 30."""
    start_project(repo)
    code = (
        "from pathlib import Path\n"
        "from pytest_tddgate import engine\n"
        "from pytest_tddgate.facts import Facts\n"
        "from pytest_tddgate.gates.tdd import TddGate\n"
        "from pytest_tddgate.settings import resolve\n"
        f"s = resolve(Path({str(repo.path)!r}), environ={{}})\n"
        "print(engine.evaluate([TddGate()], s, Facts(s))[0].metrics['files_checked'])\n"
    )
    counts = []
    for number in range(30):
        repo.write(f"tests/test_m{number}.py", f"from pkg.m{number} import f\n")
        repo.commit(f"test m{number}")
        repo.write(f"src/pkg/m{number}.py", f"def f():\n    return {number}\n")
        repo.commit(f"m{number}")
        if number in (2, 29):
            out, commands = git_commands(tmp_path, code)
            assert out.strip() == str(number + 1)
            counts.append(len(commands))
            assert commands.count("log") == 1, commands
            assert commands.count("cat-file") == 1, commands

    assert counts[0] == counts[1] <= 8


def gate_in_a_process(repo: GitRepo, base: str) -> str:
    """Python code that runs the gate on `repo` from `base` and prints its status and
    how many files it checked (for `git_commands`, which counts the git processes)."""
    return (
        "from pathlib import Path\n"
        "from pytest_tddgate import engine\n"
        "from pytest_tddgate.facts import Facts\n"
        "from pytest_tddgate.gates.tdd import TddGate\n"
        "from pytest_tddgate.settings import Overrides, resolve\n"
        f"s = resolve(Path({str(repo.path)!r}), overrides=Overrides(values={{'base': {base!r}}}),"
        " environ={})\n"
        "r = engine.evaluate([TddGate()], s, Facts(s))[0]\n"
        "print(r.status.value, r.metrics['files_checked'])\n"
    )


def test_with_no_commits_in_the_range_no_blob_reader_starts(repo: GitRepo, tmp_path: Path) -> None:
    """Base = HEAD: only the working tree is judged, git counts its lines, and no
    `git cat-file` is started for blobs nobody will ask for."""
    start_project(repo)
    repo.write("src/pkg/late.py", "def f():\n    return 1\n")  # uncommitted, untested
    out, commands = git_commands(tmp_path, gate_in_a_process(repo, "HEAD"))

    assert out.split() == ["fail", "1"], out
    assert "cat-file" not in commands, commands


def test_files_first_only_reformatted_are_judged_by_their_next_change_in_few_reads(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A reformatting commit adds no line, so each file is judged by its next change:
    those later blobs are read together, however many files were reformatted."""
    start_project(repo)
    names = range(12)
    for number in names:
        repo.write(f"src/pkg/m{number}.py", f"def f():\n    return {number}\n")
    base = repo.commit("code from before the range")
    for number in names:  # re-indented only: no test needed yet
        repo.write(f"src/pkg/m{number}.py", f"def f():\n        return {number}\n")
    repo.commit("reformat")
    for number in names:
        repo.write(f"tests/test_m{number}.py", f"from pkg.m{number} import f\n")
    repo.commit("tests first")
    for number in names[:-1]:
        repo.write(f"src/pkg/m{number}.py", f"def f():\n        return {number} + 1\n")
    repo.write("src/pkg/m11.py", "def f():\n        return 11 + 1\n\n\ndef g():\n    pass\n")
    repo.commit("the changes")
    out, commands = git_commands(tmp_path, gate_in_a_process(repo, base))

    assert out.split() == ["pass", "12"], out
    assert commands.count("cat-file") <= 3, commands
