"""GitHub annotations: golden file, escaping, order and GitHub's limit of 10."""

from __future__ import annotations

from dataclasses import replace

from pytest_tddgate.model import Finding, GateResult, Report, Verdict
from pytest_tddgate.report import github
from tests.golden_files import assert_golden
from tests.sample_report import WAIVER, report_with_failures, sample_report


def test_sample_report_matches_golden() -> None:
    assert_golden("annotations.txt", github.render(sample_report(), more_in="report.json"))


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert github.escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_at_most_ten_lines_the_last_one_counting_the_rest() -> None:
    lines = github.render(report_with_failures(12), more_in=".tddgate/report.json").splitlines()
    assert len(lines) == 10
    assert lines[0] == (
        "::error file=tests/test_a.py,line=1,title=tddgate tests%3A "
        "test-failed::tests/test_a.py::test_0 failed"
    )
    assert all(line.startswith("::error ") for line in lines[:9])
    assert lines[9] == (
        "::notice title=pytest-tddgate::3 more findings not shown as "
        "annotations; see .tddgate/report.json"
    )


def test_exactly_ten_findings_need_no_notice() -> None:
    lines = github.render(report_with_failures(10), more_in="r").splitlines()
    assert len(lines) == 10
    assert not any(line.startswith("::notice") for line in lines)


def test_waived_findings_are_counted_not_annotated() -> None:
    report = report_with_failures(10)
    waived = Finding("not-allowed", "waived one", path="tests/x.py", waiver=WAIVER)
    roles = GateResult("roles", Verdict.PASS, "ok", findings=(waived,))
    lines = github.render(replace(report, gates=(*report.gates, roles)), more_in="r").splitlines()
    assert len(lines) == 10
    assert lines[-1] == (
        "::notice title=pytest-tddgate::2 more findings (1 of them waived) "
        "not shown as annotations; see r"
    )


def test_blocking_before_optional_gates_whatever_the_gate_order() -> None:
    optional = GateResult(
        "coverage",
        Verdict.FAIL,
        "low",
        optional=True,
        findings=(Finding("new-code", "low", path="a.py"),),
    )
    blocking = GateResult(
        "mypy", Verdict.FAIL, "1 error", findings=(Finding("arg-type", "bad", path="b.py", line=3),)
    )
    lines = github.render(Report(gates=(optional, blocking)), more_in="r").splitlines()
    assert lines == [
        "::error file=b.py,line=3,title=tddgate mypy%3A arg-type::bad",
        "::warning file=a.py,title=tddgate coverage%3A new-code (optional gate)::low",
    ]


def test_a_blocking_gate_without_findings_still_gets_an_annotation() -> None:
    gate = GateResult("license", Verdict.ERROR, "could not read LICENSE")
    assert github.render(Report(gates=(gate,)), more_in="r") == (
        "::error title=tddgate license%3A gate-error::could not read LICENSE\n"
    )


def test_paths_are_given_from_the_repository_root() -> None:
    text = github.render(report_with_failures(1), more_in="r", prefix="services/api/")
    assert text.startswith("::error file=services/api/tests/test_a.py,line=1,")


def test_a_passing_report_prints_nothing() -> None:
    gate = GateResult("tests", Verdict.PASS, "3 passed")
    assert github.render(Report(gates=(gate,)), more_in="r") == ""
