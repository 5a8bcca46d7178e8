"""mode = "red-green": evidence that the test failed first, from replays and the ledger.

Replays run real pytest processes in real temporary worktrees, so these tests are the
slowest of the gate's; each scenario is as small as the rule it shows.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.facts import replay
from pytest_tddgate.model import GateResult, Verdict
from tests.tddkit import IMPL, TEST, judge, run_of, start_project

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

RED_GREEN = 'mode = "red-green"'
STUB = "def area(width, height):\n    return 0\n"


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # replays make temp folders; a private temp dir keeps another xdist worker's
    # replays out of the leftovers check
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("tddgate-replay-*")}


def replays(result: GateResult) -> int:
    return int(result.metrics["replays"] or 0)


def test_a_test_red_against_a_stub_then_green_passes(repo: GitRepo) -> None:
    before = leftovers()
    start_project(repo, tdd=RED_GREEN)
    repo.write("src/pkg/shapes.py", STUB)
    repo.write("tests/test_shapes.py", TEST)
    stub = repo.commit("stub and failing test")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement area")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    assert result.summary.endswith("tests came first and were red first")
    assert replays(result) == 2
    evidence = result.details["files"][0]["evidence"]
    assert evidence.startswith(f'tests/test_shapes.py failed at {stub[:8]} "stub and failing test"')
    assert "assert 0 == 6" in evidence
    assert (repo.path / replay.CACHE).is_file()
    assert repo.git("worktree", "list").count("\n") == 1
    assert leftovers() <= before

    again = judge(repo)
    assert again.status is Verdict.PASS
    assert replays(again) == 0  # both answers came from the cache
    assert "(replay cached)" in again.details["files"][0]["evidence"]


def test_a_test_that_only_fails_to_import_is_not_red(repo: GitRepo) -> None:
    start_project(repo, tdd=RED_GREEN)
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("test first, no module yet")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement area")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    (finding,) = result.findings
    assert finding.rule == "no-red-evidence"
    assert "did not collect (a collection error is not an assertion failure)" in finding.message
    assert "No module named 'pkg.shapes'" in finding.message
    assert "stub" in (finding.hint or "")


def test_a_test_written_with_the_change_is_run_against_the_old_code(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo, tdd=RED_GREEN)
    fixed = "def area(width, height):\n    return abs(width * height)\n"
    repo.write("src/pkg/shapes.py", fixed)
    repo.write(
        "tests/test_shapes.py", TEST + "\n\ndef test_negative():\n    assert area(-2, 3) == 6\n"
    )
    repo.commit("negative sizes, test and code together")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    assert "test_negative failed: assert -6 == 6" in result.details["files"][0]["evidence"]


def test_a_test_that_passed_before_the_change_does_not_test_it(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    start_project(repo, tdd=RED_GREEN)
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("test existing behaviour")
    repo.write("src/pkg/shapes.py", IMPL + "\n\ndef perimeter(width, height):\n    return 2\n")
    repo.commit("perimeter, untested")

    (finding,) = judge(repo).findings

    assert finding.rule == "no-red-evidence"
    assert "passed before the change, so it does not test it" in finding.message


def test_uncommitted_work_is_replayed_on_head_plus_the_working_tree(repo: GitRepo) -> None:
    repo.write("src/pkg/shapes.py", IMPL)
    repo.write("tests/test_shapes.py", TEST)
    start_project(repo, tdd=RED_GREEN)
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return abs(width * height)\n")
    repo.write("tests/test_negative.py", TEST.replace("(2, 3)", "(-2, 3)"))

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    assert "uncommitted changes" in result.details["files"][0]["evidence"]


def test_beyond_the_replay_limit_the_gate_cannot_judge(repo: GitRepo) -> None:
    start_project(repo, tdd=RED_GREEN + "\nreplay_limit = 0")
    repo.write("src/pkg/shapes.py", STUB)
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("stub and failing test")

    result = judge(repo)

    assert result.status is Verdict.ERROR
    (finding,) = result.findings
    assert finding.rule == "red-unproven"
    assert "replay limit (0) reached" in finding.message
    assert "gates.tdd.replay_limit (now 0)" in (finding.hint or "")


def test_green_comes_from_the_test_run_when_there_is_one(repo: GitRepo) -> None:
    start_project(repo, tdd=RED_GREEN)
    repo.write("src/pkg/shapes.py", STUB)
    repo.write("tests/test_shapes.py", TEST)
    repo.commit("stub and failing test")
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("implement area")

    result = judge(repo, test_run=run_of(("tests/test_shapes.py::test_area", "failed")))

    assert result.status is Verdict.FAIL
    (finding,) = result.findings
    assert finding.rule == "not-green"
    assert replays(result) == 1


def test_the_probe_accepts_every_option_of_the_plugin() -> None:
    """A project whose addopts say `--tddgate` must still parse in a replay, where the
    real plugin is disabled and the probe stands in for its options."""
    source = Path(replay.__file__).parent.parent.joinpath("plugin.py").read_text(encoding="utf-8")
    declared = set(re.findall(r'addoption\(\s*"(--tddgate[a-z-]*)"', source))

    assert declared == set(replay.PROBE_FLAGS) | set(replay.PROBE_VALUES)
