"""`tddgate report`: the last report again, in every format, and its exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tddgate.cli import main
from pytest_tddgate.report import json_report
from tests.golden_files import assert_golden
from tests.sample_report import sample_report

FAILING = "def test_ok():\n    assert True\n\n\ndef test_bad():\n    assert 1 == 2\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (no git) whose last run wrote the sample report."""
    (tmp_path / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")
    target = tmp_path / ".tddgate" / "report.json"
    target.parent.mkdir()
    target.write_text(json_report.render(sample_report()), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # the command finds the project upwards
    for name in ("NO_COLOR", "GITHUB_ACTIONS", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_terminal_format_is_the_default_and_exit_is_the_verdict(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report"]) == 1
    out = capsys.readouterr().out
    assert_golden("report-terminal.txt", out)
    assert "\x1b[" not in out  # no colour when stdout is not a terminal


@pytest.mark.parametrize(
    ("fmt", "start"),
    [
        ("md", "## ❌ pytest-tddgate: FAILED: tests, tdd, traceability, ruff\n"),
        ("json", '{\n  "schema": "tddgate-report/1",\n'),
        ("sarif", '{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n'),
        ("github", "::error file=tests/test_cart.py,line=14,title=tddgate tests%3A test-failed::"),
        ("html", "<!DOCTYPE html>\n"),
    ],
)
def test_each_format_renders_the_saved_report(
    project: Path, fmt: str, start: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--format", fmt]) == 1
    assert capsys.readouterr().out.startswith(start)


def test_json_round_trip_is_exact(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["report", "--format", "json"])
    saved = (project / ".tddgate" / "report.json").read_text(encoding="utf-8")
    assert capsys.readouterr().out == saved


def test_output_goes_to_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--format", "sarif", "-o", "out.sarif"]) == 1
    assert capsys.readouterr().out == "tddgate: wrote out.sarif\n"
    log = json.loads((project / "sub" / "out.sarif").read_text(encoding="utf-8"))
    assert log["version"] == "2.1.0"


def test_the_report_setting_and_input_option_choose_the_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = project / "reports" / "last.json"
    moved.parent.mkdir()
    (project / ".tddgate" / "report.json").rename(moved)
    (project / "pyproject.toml").write_text(
        '[tool.tddgate]\nreport = "reports/last.json"\n', encoding="utf-8"
    )
    assert main(["report", "--format", "md"]) == 1
    assert "Full report: `reports/last.json`" in capsys.readouterr().out
    assert main(["report", "--input", str(moved), "--format", "md"]) == 1


def test_without_a_report_the_command_exits_4_and_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 4
    err = capsys.readouterr().err
    assert "report.json: no report found" in err
    assert "fix: run `pytest --tddgate` first" in err


def test_a_broken_report_exits_4(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".tddgate" / "report.json").write_text('{"schema": "other"}', encoding="utf-8")
    assert main(["report"]) == 4
    assert "not a readable tddgate report" in capsys.readouterr().err


def test_a_run_then_report_shows_the_same_verdict(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(test_shop=FAILING)
    run = pytester.runpytest("--tddgate", "--tddgate-only=tests")
    assert run.ret == 1
    monkeypatch.chdir(pytester.path)
    capsys.readouterr()
    assert main(["report", "--format", "md"]) == 1
    assert "| tests | ❌ fail | 1 passed, 1 failed |" in capsys.readouterr().out
