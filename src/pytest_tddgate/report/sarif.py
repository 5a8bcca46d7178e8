"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One run, tool `pytest-tddgate`, one rule per `<gate>/<rule>`, one result per shown
finding. Waived findings are results with an accepted external suppression, so a
viewer shows them as suppressed rather than losing them. Each result carries a
`partialFingerprints` entry that does not depend on line numbers, commit hashes or
numbers in the message, so the same problem keeps the same alert while code moves
and history is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

from pytest_tddgate.model import Report, Verdict
from pytest_tddgate.report.common import GATE_PURPOSE, Severity, Shown, shown_findings
from pytest_tddgate.report.links import RepoLinks

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "tddgateFindingHash/v1"
INFORMATION_URI = "https://github.com/pytest-tddgate/pytest-tddgate"
_LEVELS = {Severity.BLOCKING: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}
_SHA = re.compile(r"\b[0-9a-f]{7,40}\b")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def render(report: Report, links: RepoLinks | None = None, prefix: str = "") -> str:
    """The SARIF log as JSON text. `prefix`: the project's folder in the repository."""
    shown = shown_findings(report)
    rule_index = {rule_id: i for i, rule_id in enumerate(dict.fromkeys(map(_rule_id, shown)))}
    seen: Counter[str] = Counter()
    results = [_result(s, rule_index[_rule_id(s)], prefix, seen) for s in shown]
    run: dict[str, Any] = {
        "tool": {"driver": _driver(report, list(rule_index))},
        "automationDetails": {"id": "pytest-tddgate/"},
        "invocations": [_invocation(report)],
        "results": results,
        "properties": _run_properties(report),
    }
    if links is not None and report.head:
        run["versionControlProvenance"] = [
            {"repositoryUri": links.web_url, "revisionId": report.head}
        ]
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def fingerprint(item: Shown) -> str:
    """A digest of what the finding is, not where it currently is."""
    finding = item.finding
    message = _NUMBER.sub("0", _SHA.sub("<sha>", finding.message))
    parts = (item.gate.name, finding.rule, finding.path or "", finding.requirement or "", message)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def _rule_id(item: Shown) -> str:
    return f"{item.gate.name}/{item.finding.rule}"


def _driver(report: Report, rule_ids: list[str]) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": "pytest-tddgate",
        "informationUri": INFORMATION_URI,
        "rules": [_rule(rule_id) for rule_id in rule_ids],
    }
    if report.tool_version:
        driver["version"] = report.tool_version
    return driver


def _rule(rule_id: str) -> dict[str, Any]:
    gate, _, rule = rule_id.partition("/")
    purpose = GATE_PURPOSE.get(gate, f"the `{gate}` gate passes")
    return {
        "id": rule_id,
        "name": rule,
        "shortDescription": {"text": f"tddgate {gate}: {rule}"},
        "fullDescription": {"text": f"The `{gate}` gate passes when {purpose}."},
        "properties": {"tags": ["tddgate", gate]},
    }


def _result(item: Shown, rule_index: int, prefix: str, seen: Counter[str]) -> dict[str, Any]:
    finding = item.finding
    text = finding.message
    if finding.hint:
        text += f"\nFix: {finding.hint}"
    digest = fingerprint(item)
    seen[digest] += 1  # two identical findings in one run still get distinct fingerprints
    result: dict[str, Any] = {
        "ruleId": _rule_id(item),
        "ruleIndex": rule_index,
        "level": _level(item),
        "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: f"{digest}:{seen[digest]}"},
    }
    if finding.path:
        location: dict[str, Any] = {
            "artifactLocation": {
                "uri": prefix + finding.path.split("::")[0],
                "uriBaseId": "%SRCROOT%",
            }
        }
        if finding.line and finding.line > 0:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    properties = {
        "gate": item.gate.name,
        "commit": finding.commit,
        "requirement": finding.requirement,
    }
    result["properties"] = {k: v for k, v in properties.items() if v is not None}
    if finding.waiver is not None:
        waiver = finding.waiver
        note = f"{waiver.reason} (owner {waiver.owner}"
        note += f", expires {waiver.expires})" if waiver.expires else ")"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": note}]
    return result


def _level(item: Shown) -> str:
    """A waived finding keeps the level it would have had; its suppression says why."""
    if item.finding.waived:
        return "warning" if item.gate.optional else "error"
    return _LEVELS[item.severity]


def _invocation(report: Report) -> dict[str, Any]:
    errors = [g for g in report.gates if g.status is Verdict.ERROR]
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    if errors:
        invocation["toolExecutionNotifications"] = [
            {
                "level": "error",
                "message": {"text": f"{g.name}: {g.summary}"},
                "descriptor": {"id": g.name},
            }
            for g in errors
        ]
    return invocation


def _run_properties(report: Report) -> dict[str, Any]:
    """The gate table, so a SARIF consumer sees the verdict, not only the findings."""
    return {
        "passed": report.passed,
        "base": report.base,
        "head": report.head,
        "gates": [
            {"name": g.name, "status": g.status.value, "summary": g.summary, "optional": g.optional}
            for g in report.gates
        ],
    }
