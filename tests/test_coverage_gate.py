"""The coverage gate's judgement over given measurements, on a real git diff."""

from __future__ import annotations

import pytest

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts, testrun
from pytest_tddgate.facts.covdata import CoverageFacts, FileCoverage
from pytest_tddgate.facts.covreport import CoverageSummary
from pytest_tddgate.gates.coverage import CoverageGate, below, percent, ranges
from pytest_tddgate.model import GateResult, Verdict
from pytest_tddgate.settings import resolve
from tests.gitrepo import GitRepo

ONE_TEST = testrun.TestRun.build(
    (testrun.TestOutcome("tests/test_a.py::t", "passed"),), (), 0, False
)
SUMMARY = CoverageSummary("all", "tddgate", "ctrace", False, total_percent=90.0)
BASE = "x = 1\n"
# a.py as changed on the feature branch: lines 2-6 are new, 3 and 5 never ran
A_PY = "x = 1\ndef f():\n    return 1\ndef g():\n    return 2\n# comment\n"
A_COVERAGE = FileCoverage("a.py", frozenset({1, 2, 3, 4, 5}), frozenset({1, 2, 4}))
B_PY = "y = 1\ny = 2\n"  # untracked, fully covered
B_COVERAGE = FileCoverage("b.py", frozenset({1, 2}), frozenset({1, 2}))


@pytest.fixture
def feature(repo: GitRepo) -> GitRepo:
    repo.write("a.py", BASE)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("a.py", A_PY)
    repo.commit("f and g")
    repo.write("b.py", B_PY)
    return repo


def evaluate(
    repo: GitRepo,
    config: str = "",
    *,
    summary: CoverageSummary | None = SUMMARY,
    files: tuple[FileCoverage, ...] = (A_COVERAGE, B_COVERAGE),
    run: testrun.TestRun | None = ONE_TEST,
) -> GateResult:
    # f and g never run: these tests judge the percentages, and
    # tests/test_untested_functions.py the `new_functions` condition
    if "new_functions" not in config:
        config = "new_functions = false\n" + config
    repo.write("pyproject.toml", f"[tool.tddgate.gates.coverage]\n{config}")
    settings = resolve(repo.path, environ={})
    facts = Facts(settings, test_run=run)
    if summary is not None:
        facts.provided["coverage_summary"] = summary
        facts.provided["coverage"] = CoverageFacts({f.path: f for f in files})
    (result,) = engine.evaluate([CoverageGate()], settings, facts)
    return result


def test_new_code_is_judged_on_changed_executable_lines(feature: GitRepo) -> None:
    result = evaluate(feature)

    assert result.status is Verdict.FAIL  # 4 of 6 new lines: 66.67 % < 80 %
    assert result.summary == "total 90%; new code 66.67% of 6 lines"
    assert result.metrics["new_lines"] == 6
    assert result.metrics["new_covered"] == 4
    assert result.metrics["new_percent"] == 66.67
    assert [(f.rule, f.path, f.line, f.message) for f in result.findings] == [
        (
            "new-code-coverage",
            None,
            None,
            "coverage of new code 66.67% (4 of 6 lines) is below 80%",
        ),
        ("uncovered-new-lines", "a.py", 3, "new lines not covered: 3, 5 (2 of 4)"),
    ]


def test_passing_thresholds(feature: GitRepo) -> None:
    result = evaluate(feature, "new = 66.67\ntotal = 90\n")

    assert result.status is Verdict.PASS
    assert [f.rule for f in result.findings] == ["uncovered-new-lines"]  # shown in the report


def test_total_below_its_minimum(feature: GitRepo) -> None:
    result = evaluate(feature, "new = 0\ntotal = 90.01\n")

    assert result.status is Verdict.FAIL
    assert result.findings[0].message == "total coverage 90% is below 90.01%"


def test_per_file_minimum_names_each_file(feature: GitRepo) -> None:
    result = evaluate(feature, "new = 0\nnew_per_file = 75\n")

    assert result.status is Verdict.FAIL
    per_file = [f for f in result.findings if f.rule == "new-file-coverage"]
    assert [(f.path, f.message) for f in per_file] == [
        ("a.py", "new-code coverage 50% of 4 lines is below 75%")
    ]


def test_min_new_lines(feature: GitRepo) -> None:
    result = evaluate(feature, "min_new_lines = 7\n")

    assert result.status is Verdict.PASS
    assert result.summary.endswith("`new` not applied below 7 lines")
    assert evaluate(feature, "min_new_lines = 6\n").status is Verdict.FAIL


def test_no_new_executable_lines(feature: GitRepo) -> None:
    feature.git("checkout", "-q", "main")
    (feature.path / "b.py").unlink()
    result = evaluate(feature, files=(FileCoverage("a.py", frozenset({1}), frozenset({1})),))

    assert result.status is Verdict.PASS
    assert result.summary == "total 90%; no new executable lines"
    assert result.metrics["new_percent"] is None


def test_unmeasured_files_do_not_count(feature: GitRepo) -> None:
    result = evaluate(feature, files=(B_COVERAGE,))

    assert result.metrics["new_lines"] == 2
    assert result.status is Verdict.PASS


def test_scope_changed_says_the_total_was_not_measured(feature: GitRepo) -> None:
    summary = CoverageSummary("changed", "tddgate", "sysmon", False)
    result = evaluate(feature, 'scope = "changed"\nnew = 50\n', summary=summary)

    assert result.status is Verdict.PASS
    assert result.summary == "total not measured (scope = changed); new code 66.67% of 6 lines"
    assert result.metrics["total_percent"] is None


def test_coverage_warnings_are_shown_as_notes(feature: GitRepo) -> None:
    summary = CoverageSummary(
        "all",
        "tddgate",
        "ctrace",
        False,
        total_percent=90.0,
        notes=("Module nope was never imported. (module-not-imported)",),
    )
    result = evaluate(feature, "new = 0\n", summary=summary)

    assert result.status is Verdict.PASS
    assert ("coverage-note", "Module nope was never imported. (module-not-imported)") in [
        (f.rule, f.message) for f in result.findings
    ]


def test_without_a_test_run_or_tests_it_skips(feature: GitRepo) -> None:
    assert evaluate(feature, run=None).status is Verdict.SKIP
    empty = testrun.TestRun.build((), (), 5, False)
    assert evaluate(feature, run=empty).summary == "no tests ran"


def test_without_a_measurement_it_cannot_judge(feature: GitRepo) -> None:
    result = evaluate(feature, summary=None)

    assert result.status is Verdict.ERROR
    assert result.summary == "coverage was not measured in this run"
    failed = CoverageSummary(
        "all",
        "pytest-cov",
        "unknown",
        False,
        error="pytest-cov (--cov) did not measure this run",
        fix="drop --no-cov",
    )
    result = evaluate(feature, summary=failed)
    assert result.status is Verdict.ERROR
    assert result.findings[0].hint == "drop --no-cov"


@pytest.mark.parametrize(
    ("lines", "text"),
    [([], ""), ([4], "4"), ([1, 2, 3, 7, 9, 10], "1-3, 7, 9-10"), ([5, 3, 4], "3-5")],
)
def test_ranges(lines: list[int], text: str) -> None:
    assert ranges(lines) == text


def test_thresholds_compare_at_two_decimals() -> None:
    assert not below(79.996, 80)  # shown as 80%
    assert below(79.994, 80)
    assert below(99.999, 100)  # only 100 % is 100 %
    assert not below(100.0, 100)
    assert percent(66.666666) == "66.67%"
    assert percent(80.0) == "80%"
