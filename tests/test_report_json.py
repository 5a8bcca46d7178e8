"""The JSON report: every contract field, a lossless round trip, atomic writes,
and the same content from a serial and an xdist run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict, Waiver
from pytest_tddgate.report import json_report

SUITE = """
import pytest

def test_ok():
    pass

def test_bad():
    assert 1 == 2

@pytest.mark.skip(reason="later")
def test_skip():
    pass
"""

FINDING_KEYS = {"rule", "message", "path", "line", "commit", "requirement"}
GATE_KEYS = {"name", "status", "summary", "duration_s", "metrics", "findings"}
TOP_KEYS = {"schema", "passed", "base", "head", "role", "gates", "requirements"}


def sample_report() -> Report:
    waiver = Waiver(gate="tdd", reason="legacy", owner="al", expires="2027-01-01", path="a/**")
    finding = Finding("r1", "msg", "a/b.py", 3, "abc123", "REQ-1", "do x", waiver)
    return Report(
        gates=(
            GateResult("tests", Verdict.PASS, "1 passed", metrics={"passed": 1}),
            GateResult("tdd", Verdict.FAIL, "1 file", (finding,), {"violations": 1}, 0.25, True),
        ),
        base="b" * 40,
        head="h" * 40,
        role="qa",
        requirements=(RequirementStatus("REQ-1", "passing", ("tests/t.py",), ("a/b.py",)),),
        base_note="main",
    )


def test_contract_fields_present() -> None:
    data = json.loads(json_report.render(sample_report()))
    assert data.keys() >= TOP_KEYS
    assert data["schema"] == "tddgate-report/1"
    assert data["passed"] is True  # the failing gate is optional
    for gate in data["gates"]:
        assert gate.keys() >= GATE_KEYS
        for finding in gate["findings"]:
            assert finding.keys() >= FINDING_KEYS
    assert data["requirements"] == [
        {
            "id": "REQ-1",
            "title": None,
            "status": "passing",
            "tests": ["tests/t.py"],
            "code": ["a/b.py"],
            "coverage_percent": None,
        }
    ]


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_text(path, json_report.render(sample_report()))
    assert json_report.load(path) == sample_report()


def test_role_and_requirements_always_present() -> None:
    data = json.loads(json_report.render(Report(gates=())))
    assert data["role"] is None
    assert data["requirements"] == []


def test_loading_a_foreign_file_is_a_usage_error(tmp_path: Path) -> None:
    from pytest_tddgate.errors import UsageError

    path = tmp_path / "r.json"
    path.write_text('{"schema": "other/2"}')
    with pytest.raises(UsageError, match="not a readable tddgate report"):
        json_report.load(path)


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old content")

    class Boom(str):
        def encode(self, *args: Any, **kwargs: Any) -> bytes:
            raise RuntimeError("render failed half way")

    with pytest.raises(RuntimeError):
        atomic_write_text(path, Boom("new"))
    assert path.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("x")
    path.chmod(0o640)
    atomic_write_text(path, "y")
    assert path.read_text() == "y"
    assert path.stat().st_mode & 0o777 == 0o640


def normalized(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data.pop("generated_at")
    for gate in data["gates"]:
        gate.pop("duration_s")
    return data


def test_xdist_report_equals_serial_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    serial = pytester.runpytest("--tddgate", "--tddgate-only=tests", "--tddgate-report=s.json")
    parallel = pytester.runpytest(
        "--tddgate", "--tddgate-only=tests", "--tddgate-report=p.json", "-n", "2"
    )
    assert serial.ret == parallel.ret == 1
    assert normalized(pytester.path / "s.json") == normalized(pytester.path / "p.json")


def test_atomic_write_gives_new_files_the_umask_mode(tmp_path: Path) -> None:
    from pytest_tddgate import fsutil

    path = tmp_path / "new.json"
    atomic_write_text(path, "{}")
    assert path.stat().st_mode & 0o777 == 0o666 & ~fsutil._UMASK
