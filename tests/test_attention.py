"""What needs attention beyond the gates: stuck and flaky tests, read from a ledger that
real `pytest --tddgate` runs recorded, shown at the end of the terminal report."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pytest_tddgate.facts import testrun
from pytest_tddgate.facts.attention import needs_attention
from pytest_tddgate.report import json_report, terminal

if TYPE_CHECKING:
    import pytest

GATE = ("--tddgate", "--tddgate-only=tests", "--tddgate-no-learn", "-p", "no:cacheprovider")
TESTS = """\
import os


def test_total():
    assert 1 + 1 == 3


def test_clock():
    assert os.environ.get("FLIP") != "1"


def test_fine():
    pass
"""


def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_shop.py").write_text(TESTS)
    return pytester


def run_of(**outcomes: str) -> testrun.TestRun:
    """This run's outcomes, as the session records them: test name -> outcome."""
    return testrun.TestRun.build(
        tuple(
            testrun.TestOutcome(f"tests/test_shop.py::{name}", outcome)
            for name, outcome in outcomes.items()
        ),
        (),
        1,
        interrupted=False,
    )


def report_lines(pytester: pytest.Pytester, run: testrun.TestRun) -> list[str]:
    report = json_report.load(pytester.path / ".tddgate" / "report.json")
    attention = needs_attention(pytester.path / ".tddgate" / "ledger.sqlite3", run)
    return "\n".join(line.text for line in terminal.render(report, None, attention)).splitlines()


def test_a_test_failing_the_same_way_three_runs_in_a_row_is_stuck(
    pytester: pytest.Pytester,
) -> None:
    project(pytester)
    for _ in range(3):
        pytester.runpytest(*GATE)
    run = run_of(test_total="failed", test_clock="passed", test_fine="passed")

    lines = report_lines(pytester, run)
    start = lines.index("needs attention beyond the gates:")
    assert lines[start + 1].startswith(
        "  tests/test_shop.py::test_total is stuck: it failed with `"
    )
    assert lines[start + 1].endswith("in 3 runs in a row (since run #1) [stuck]")
    assert lines[start + 2] == (
        "    fix: re-running will not change it: read the failure (`pytest "
        "tests/test_shop.py::test_total -x`) and change the code it points at, or the test "
        "if the test is wrong"
    )
    # the verdict stays the last line
    assert lines[-1].startswith("tddgate: FAILED: tests")


def test_two_failing_runs_are_not_stuck_and_nothing_is_shown(
    pytester: pytest.Pytester,
) -> None:
    project(pytester)
    for _ in range(2):
        pytester.runpytest(*GATE)
    run = run_of(test_total="failed", test_clock="passed", test_fine="passed")

    assert needs_attention(pytester.path / ".tddgate" / "ledger.sqlite3", run) == ()
    assert not any("needs attention" in line for line in report_lines(pytester, run))


def test_a_test_that_flips_with_the_code_unchanged_is_flaky(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester)
    pytester.runpytest(*GATE)
    monkeypatch.setenv("FLIP", "1")
    pytester.runpytest(*GATE)  # the same code: only the environment changed
    run = run_of(test_total="failed", test_clock="failed", test_fine="passed")

    (flaky,) = needs_attention(pytester.path / ".tddgate" / "ledger.sqlite3", run)
    assert flaky.kind == "flaky"
    assert flaky.message == (
        "tests/test_shop.py::test_clock is flaky: its outcome changed once with the code "
        "unchanged (last: passed in run #1, failed in run #2)"
    )
    assert "shared state, test order, time or randomness" in flaky.fix


def test_a_flip_after_the_test_changed_is_not_flaky(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester)
    pytester.runpytest(*GATE)
    monkeypatch.setenv("FLIP", "1")
    (pytester.path / "tests" / "test_shop.py").write_text(TESTS + "\n# edited\n")
    pytester.runpytest(*GATE)
    run = run_of(test_total="failed", test_clock="failed", test_fine="passed")

    assert needs_attention(pytester.path / ".tddgate" / "ledger.sqlite3", run) == ()


def test_no_ledger_no_run_nothing_to_say(pytester: pytest.Pytester) -> None:
    run = run_of(test_total="failed")
    assert needs_attention(pytester.path / "missing.sqlite3", run) == ()
    assert needs_attention(pytester.path / "missing.sqlite3", None) == ()
    (pytester.path / "broken.sqlite3").write_text("not a database")
    assert needs_attention(pytester.path / "broken.sqlite3", run) == ()


def test_reading_it_costs_milliseconds(pytester: pytest.Pytester) -> None:
    project(pytester)
    for _ in range(4):
        pytester.runpytest(*GATE)
    run = run_of(test_total="failed", test_clock="passed", test_fine="passed")
    ledger = pytester.path / ".tddgate" / "ledger.sqlite3"

    started = time.perf_counter()
    for _ in range(10):
        assert needs_attention(ledger, run)
    # generous for a loaded two-core machine; typically ~1 ms each
    assert (time.perf_counter() - started) / 10 < 0.05


def test_pytest_tddgate_ends_its_report_with_the_stuck_test(pytester: pytest.Pytester) -> None:
    project(pytester)
    for _ in range(2):
        pytester.runpytest(*GATE)
    result = pytester.runpytest(*GATE)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "needs attention beyond the gates:",
            "  tests/test_shop.py::test_total is stuck: it failed with `*in 3 runs in a row*",
            "    fix: re-running will not change it:*",
            "tddgate: FAILED: tests*",
        ]
    )
