"""`tddgate matrix` and `tddgate matrix --update`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_tddgate
from pytest_tddgate.cli import main
from pytest_tddgate.model import GateResult, Report, RequirementStatus, Verdict
from pytest_tddgate.report import write_json

MATRIX = """\
{
  "requirements": [
    {
      "id": "REQ-001",
      "title": "Login with a password",
      "tests": [
        "tests/test_login.py::test_login"
      ],
      "code": [
        "src/app/login.py"
      ]
    },
    {
      "id": "REQ-002",
      "title": "Logout",
      "owner": "bob"
    }
  ]
}
"""

TESTS = """\
import pytest

from app import login, session


def test_login():
    assert login.login()


@pytest.mark.req("REQ-002")
def test_logout():
    assert session.logout()


@pytest.mark.req("REQ-404")
def test_typo():
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
        'pythonpath = ["src"]\n',
        "src/app/__init__.py": "",
        "src/app/login.py": "def login():\n    return True\n",
        "src/app/session.py": "def logout():\n    return True\n",
        "tests/test_login.py": TESTS,
        "traceability_matrix.json": MATRIX,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def run(project: Path, *args: str) -> int:
    return main(["matrix", "--root", str(project), *args])


def write_report(
    project: Path, *requirements: RequirementStatus, details: dict[str, object] | None = None
) -> None:
    gate = GateResult("traceability", Verdict.FAIL, "", details=details or {})
    report = Report(
        gates=(gate,),
        requirements=requirements,
        head="0123456789abcdef",
        generated_at="2026-03-01T10:00:00+00:00",
    )
    write_json(report, project / ".tddgate" / "report.json")


def test_table_before_any_run(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project) == 0
    assert (
        capsys.readouterr().out
        == """\
ID       STATUS   TESTS  CODE  COVERAGE  TITLE
REQ-001  unknown  1      1     -         Login with a password
REQ-002  unknown  0      0     -         Logout

2 requirement(s) in traceability_matrix.json: 2 unknown
status: unknown until a run: `pytest --tddgate` records it
"""
    )


def test_table_with_the_last_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(
        project,
        RequirementStatus(
            "REQ-001",
            "passing",
            ("tests/test_login.py::test_login",),
            ("src/app/login.py",),
            coverage_percent=87.5,
        ),
        RequirementStatus("REQ-002", "failing", ("tests/test_login.py::test_logout",)),
    )
    assert run(project) == 0
    assert (
        capsys.readouterr().out
        == """\
ID       STATUS   TESTS  CODE  COVERAGE  TITLE
REQ-001  passing  1      1     87.5%     Login with a password
REQ-002  failing  1      0     -         Logout

2 requirement(s) in traceability_matrix.json: 1 passing, 1 failing
status from the run of 2026-03-01T10:00:00+00:00 at 01234567
"""
    )


def test_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(project, RequirementStatus("REQ-002", "not-run", ("tests/x.py::t",)))
    assert run(project, "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "id": "REQ-001",
            "title": "Login with a password",
            "status": "unknown",
            "tests": ["tests/test_login.py::test_login"],
            "code": ["src/app/login.py"],
            "coverage_percent": None,
        },
        {
            "id": "REQ-002",
            "title": "Logout",
            "status": "not-run",
            "tests": ["tests/x.py::t"],
            "code": [],
            "coverage_percent": None,
        },
    ]


def test_an_unreadable_report_is_a_note(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".tddgate").mkdir()
    (project / ".tddgate" / "report.json").write_text("{not json")
    assert run(project) == 0
    captured = capsys.readouterr()
    assert "tddgate: note: last report ignored: .tddgate/report.json" in captured.err or (
        "last report ignored" in captured.err
    )
    assert "REQ-001  unknown" in captured.out


def test_missing_matrix_exits_4(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "traceability_matrix.json").unlink()
    assert run(project) == 4
    err = capsys.readouterr().err
    assert err.startswith("tddgate: traceability_matrix.json: no traceability matrix\n  fix: ")


def test_broken_matrix_exits_4(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "traceability_matrix.json").write_text('[{"id": "A", "code": "src/a.py"}]')
    assert run(project, "--update") == 4
    assert capsys.readouterr().err.startswith(
        "tddgate: traceability_matrix.json:1:22: [0].code: must be a list of paths, got a "
        'string "src/a.py"\n'
    )


def test_update_adds_marked_tests_and_mapped_code(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".tddgate").mkdir()
    (project / ".tddgate" / "test-map.json").write_text(
        json.dumps({"tests": {"tests/test_login.py": ["src/app/login.py", "src/app/session.py"]}})
    )
    assert run(project, "--update", "--dry-run") == 0
    out = capsys.readouterr().out
    assert (
        out
        == """\
REQ-001:
  + code:  src/app/session.py
REQ-002:
  + tests: tests/test_login.py::test_logout
  + code:  src/app/login.py
  + code:  src/app/session.py
note: tests are marked with ids not in traceability_matrix.json: REQ-404 (add them by hand; \
they are not added, since a typo would hide)
would update traceability_matrix.json: 2 requirement(s) (dry run)
"""
    )
    assert (project / "traceability_matrix.json").read_text() == MATRIX

    assert run(project, "--update") == 0
    assert capsys.readouterr().out.endswith("updated traceability_matrix.json: 2 requirement(s)\n")
    assert (project / "traceability_matrix.json").read_text() == MATRIX.replace(
        '        "src/app/login.py"\n',
        '        "src/app/login.py",\n        "src/app/session.py"\n',
    ).replace(
        '      "owner": "bob"\n',
        '      "owner": "bob",\n'
        '      "tests": ["tests/test_login.py::test_logout"],\n'
        '      "code": ["src/app/login.py", "src/app/session.py"]\n',
    )
    # a second update finds nothing new and leaves the file alone
    assert run(project, "--update") == 0
    assert capsys.readouterr().out.endswith("traceability_matrix.json is up to date\n")


def gated_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    # the child must import this checkout of the plugin, wherever the test runs from
    source = str(Path(pytest_tddgate.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--tddgate",
            "--tddgate-only=tests,traceability",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_a_real_run_then_the_command(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real run writes the report; the command shows it and updates the matrix from it."""
    (project / "tests" / "test_login.py").write_text(TESTS.replace('"REQ-404"', '"REQ-001"'))
    first = gated_pytest(project)
    assert first.returncode == 0, first.stdout
    assert "traceability  pass   2 requirement(s): 2 passing" in first.stdout
    assert run(project) == 0
    out = capsys.readouterr().out
    assert "REQ-001  passing  2      1" in out
    assert "REQ-002  passing  1      0" in out

    assert run(project, "--update") == 0
    matrix = json.loads((project / "traceability_matrix.json").read_text())
    assert matrix["requirements"][0]["tests"] == [
        "tests/test_login.py::test_login",
        "tests/test_login.py::test_typo",
    ]
    assert matrix["requirements"][1]["tests"] == ["tests/test_login.py::test_logout"]
    assert matrix["requirements"][1]["owner"] == "bob"
    second = gated_pytest(project)
    assert "traceability  pass   2 requirement(s): 2 passing" in second.stdout
