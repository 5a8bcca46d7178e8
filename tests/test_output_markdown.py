"""The Markdown report: golden files, escaping, order and truncation."""

from __future__ import annotations

from pytest_tddgate.model import Finding, GateResult, Report, Verdict
from pytest_tddgate.report import markdown
from tests.golden_files import assert_golden
from tests.sample_report import LINKS, passing_report, sample_report


def test_sample_report_with_links_matches_golden() -> None:
    assert_golden("report.md", markdown.render(sample_report(), LINKS, ".tddgate/report.json"))


def test_passing_report_without_links_matches_golden() -> None:
    assert_golden("report-passing.md", markdown.render(passing_report()))


def test_text_from_findings_cannot_become_markup() -> None:
    assert markdown.escape("a|b <img src=x> *bold* [link](y)\nnext") == (
        r"a\|b \<img src=x\> \*bold\* \[link\](y) next"
    )


def test_findings_of_blocking_gates_come_before_optional_and_waived_ones() -> None:
    text = markdown.render(sample_report())
    order = [
        text.index(f"#### {icon} {name}")
        for icon, name in (("❌", "tests"), ("💥", "ruff"), ("❌", "coverage"), ("✅", "roles"))
    ]
    assert order == sorted(order)


def test_a_gate_with_many_findings_is_cut_with_a_pointer_to_the_report() -> None:
    findings = tuple(Finding("r", f"problem {i}", path=f"f{i}.py") for i in range(60))
    report = Report(gates=(GateResult("ruff", Verdict.FAIL, "60 violations", findings),))
    text = markdown.render(report)
    assert "problem 49" in text
    assert "problem 50" not in text
    assert "- … 10 more in the JSON report" in text


def test_paths_link_to_the_head_commit_and_node_ids_to_their_file() -> None:
    text = markdown.render(sample_report(), LINKS)
    blob = "https://github.com/acme/shop/blob/0123456789abcdef0123456789abcdef01234567"
    assert f"[`tests/test_cart.py:14`]({blob}/tests/test_cart.py#L14)" in text
    assert f"[`tests/test_tax.py::test_vat[a\\|b]`]({blob}/tests/test_tax.py)" in text
