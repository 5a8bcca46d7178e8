"""The outputs of a real `pytest --tddgate` run: files, job summary, annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PASSING = "def test_ok():\n    assert True\n"
FAILING = "def test_ok():\n    assert True\n\n\ndef test_bad():\n    assert 1 == 2\n"
ONLY = "--tddgate-only=tests"  # the other gates need git, ruff, mypy: not this file's subject


def test_options_write_markdown_sarif_and_html(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=FAILING)
    result = pytester.runpytest(
        "--tddgate",
        ONLY,
        "--tddgate-markdown=out/report.md",
        "--tddgate-sarif=out/report.sarif",
        "--tddgate-html=out/html",
    )
    assert result.ret == 1
    md = (pytester.path / "out/report.md").read_text(encoding="utf-8")
    assert "## ❌ pytest-tddgate: FAILED: tests" in md
    assert "| tests | ❌ fail | 1 passed, 1 failed |" in md
    assert "`test_shop.py:5`: test\\_shop.py::test\\_bad failed" in md
    log = json.loads((pytester.path / "out/report.sarif").read_text(encoding="utf-8"))
    result_uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert result_uri["artifactLocation"]["uri"] == "test_shop.py"
    page = (pytester.path / "out/html/index.html").read_text(encoding="utf-8")
    assert "FAILED: tests" in page
    assert "1 run, #1 to #1" in page  # the ledger records the run before the page


def test_html_trends_show_the_runs_of_the_ledger(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=PASSING)
    assert pytester.runpytest("--tddgate", ONLY).ret == 0
    pytester.makepyfile(test_shop=FAILING)
    assert pytester.runpytest("--tddgate", ONLY, "--tddgate-html=html").ret == 1
    page = (pytester.path / "html/index.html").read_text(encoding="utf-8")
    assert "2 runs, #1 to #2" in page
    assert "passed: 1 (#1 " in page and "failed: 1 (#2 " in page  # point tooltips


def test_settings_in_pyproject_name_the_files(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.tddgate]\nmarkdown = "r.md"\nsarif = "r.sarif"\n')
    pytester.makepyfile(test_shop=PASSING)
    result = pytester.runpytest("--tddgate", ONLY)
    assert result.ret == 0
    assert (
        (pytester.path / "r.md")
        .read_text(encoding="utf-8")
        .startswith("## ✅ pytest-tddgate: all gates passed")
    )
    assert (
        json.loads((pytester.path / "r.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
        == []
    )


def test_the_job_summary_is_appended_to(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = pytester.path / "summary.md"
    summary.write_text("# Earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makepyfile(test_shop=PASSING)
    assert pytester.runpytest("--tddgate", ONLY).ret == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("# Earlier step\n## ✅ pytest-tddgate: all gates passed\n")
    assert "Full report: `.tddgate/report.json`" in text


def test_annotations_are_printed_on_github_actions_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_shop=FAILING)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    plain = pytester.runpytest("--tddgate", ONLY)
    assert "::error" not in plain.stdout.str()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = pytester.runpytest("--tddgate", ONLY)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tddgate: FAILED: tests (report: .tddgate/report.json)",
            "::error file=test_shop.py,line=5,title=tddgate tests%3A test-failed::"
            "test_shop.py::test_bad failed: assert 1 == 2",
        ]
    )


def test_an_output_that_cannot_be_written_is_reported_and_the_rest_written(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "taken.sarif").mkdir()  # a folder where the file should go
    pytester.makepyfile(test_shop=PASSING)
    result = pytester.runpytest(
        "--tddgate", ONLY, "--tddgate-sarif=taken.sarif", "--tddgate-markdown=r.md"
    )
    result.stdout.fnmatch_lines(["tddgate: could not write */taken.sarif: *"])
    assert result.ret == 1  # a required check whose report is missing must not pass
    assert (pytester.path / "r.md").is_file()
    assert (pytester.path / ".tddgate/report.json").is_file()
    assert sorted(p.name for p in pytester.path.iterdir() if p.name.endswith(".tmp")) == []
    assert list((pytester.path / "taken.sarif").iterdir()) == []


BROKEN_GATE = '''
from pytest_tddgate import Finding, GateResult, Verdict


class BrokenGate:
    """Returns a finding whose line is not a number: a bug in a third-party gate."""

    name = "broken"
    static = True

    def evaluate(self, ctx):
        finding = Finding("odd", "line is text", path="a.py", line="seven")
        return GateResult("broken", Verdict.FAIL, "1 odd finding", findings=(finding,))


def pytest_tddgate_gates(config):
    return [BrokenGate()]
'''


def test_a_failed_render_leaves_the_previous_file_untouched(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(BROKEN_GATE)
    pytester.makepyfile(test_shop=PASSING)
    (pytester.path / "r.sarif").write_text("previous\n", encoding="utf-8")
    result = pytester.runpytest(
        "--tddgate",
        "--tddgate-only=tests,broken",
        "--tddgate-sarif=r.sarif",
        "--tddgate-markdown=r.md",
    )
    result.stdout.fnmatch_lines(["tddgate: could not render */r.sarif: TypeError: *"])
    assert (pytester.path / "r.sarif").read_text(encoding="utf-8") == "previous\n"
    assert "line is text" in (pytester.path / "r.md").read_text(encoding="utf-8")
    assert result.ret == 1
    assert [p.name for p in Path(pytester.path).iterdir() if p.name.startswith(".r.")] == []
