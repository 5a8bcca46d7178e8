"""SARIF 2.1.0: golden file, validity against the OASIS schema, stable fingerprints."""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.model import Finding, GateResult, Report, Verdict
from pytest_tddgate.report import sarif
from pytest_tddgate.report.common import Severity, Shown
from tests.golden_files import assert_golden
from tests.sample_report import LINKS, passing_report, report_with_failures, sample_report

# imported by name: jsonschema ships no type information
jsonschema: Any = importlib.import_module("jsonschema")
SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


def validate(text: str) -> dict[str, Any]:
    log = json.loads(text)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert isinstance(log, dict)
    return log


def test_sample_report_matches_golden() -> None:
    assert_golden("report.sarif.json", sarif.render(sample_report(), LINKS))


@pytest.mark.parametrize(
    "report",
    [sample_report(), passing_report(), Report(gates=()), report_with_failures(3)],
    ids=["sample", "passing", "empty", "failures"],
)
def test_every_log_is_valid_against_the_sarif_schema(report: Report) -> None:
    log = validate(sarif.render(report, LINKS, "app/"))
    assert log["version"] == "2.1.0"


def test_the_validator_rejects_a_broken_log() -> None:
    broken = json.loads(sarif.render(sample_report()))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError, match="level"):
        validate(json.dumps(broken))


def test_results_carry_level_location_and_suppression() -> None:
    run = json.loads(sarif.render(sample_report(), prefix="app/"))["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    failed = by_rule["tests/test-failed"]
    assert failed["level"] == "error"
    assert failed["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/tests/test_cart.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 14},
    }
    assert by_rule["coverage/new-code"]["level"] == "warning"  # optional gate
    assert "locations" not in by_rule["ruff/cannot-evaluate"]
    waived = by_rule["roles/not-allowed"]
    assert waived["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "pairing session, reviewed "
            "(owner alice@example.com, expires 2031-01-31)",
        }
    ]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert run["invocations"][0]["executionSuccessful"] is False  # ruff could not run


def _shown(message: str, path: str = "src/a.py", line: int | None = 3) -> Shown:
    gate = GateResult("tdd", Verdict.FAIL, "")
    return Shown(
        gate, Finding("implementation-first", message, path=path, line=line), Severity.BLOCKING
    )


def test_fingerprints_ignore_lines_commit_hashes_and_numbers() -> None:
    first = sarif.fingerprint(_shown("a.py changed in 9f8e7d6c on 2026-01-02, 3 lines"))
    later = sarif.fingerprint(_shown("a.py changed in 1a2b3c4d on 2026-02-11, 7 lines", line=40))
    assert first == later
    assert sarif.fingerprint(_shown("a.py changed", path="src/b.py")) != sarif.fingerprint(
        _shown("a.py changed")
    )


def test_identical_findings_get_distinct_fingerprints() -> None:
    report = report_with_failures(1)
    twice = replace(report.gates[0], findings=report.gates[0].findings * 2)
    results = json.loads(sarif.render(Report(gates=(twice,))))["runs"][0]["results"]
    prints = [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results]
    assert prints[0].endswith(":1")
    assert prints[1].endswith(":2")
    assert prints[0].split(":")[0] == prints[1].split(":")[0]


def test_the_repository_and_revision_are_named_when_known() -> None:
    run = json.loads(sarif.render(sample_report(), LINKS))["runs"][0]
    assert run["versionControlProvenance"] == [
        {"repositoryUri": "https://github.com/acme/shop", "revisionId": LINKS.revision}
    ]
    assert "versionControlProvenance" not in json.loads(sarif.render(sample_report()))["runs"][0]
