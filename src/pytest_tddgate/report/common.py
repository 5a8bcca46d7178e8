"""What every output agrees on: which findings are shown, in which order, how loud.

The terminal, Markdown, GitHub annotations, SARIF and HTML all show the same
findings in the same order, so a reader who switches formats never wonders where a
finding went: the findings of gates that did not pass, and every waived finding
(a waiver never hides anything). Blocking gates come first, because a reader with
room for ten lines (GitHub shows ten annotations per step) must see what fails
the run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pytest_tddgate.model import Finding, GateResult, Report, Verdict

# What each built-in gate checks, in one line; plugin gates have no entry.
GATE_PURPOSE: dict[str, str] = {
    "tests": "every collected test passed (skips and xfails allowed)",
    "tdd": "every changed implementation file has a mapped test that came first",
    "traceability": "every requirement of the matrix has tests, and they pass",
    "roles": "every changed file is allowed for the role that changed it",
    "coverage": "total coverage and coverage of lines changed since the base meet their limits",
    "ruff": "there are no lint violations and no unformatted files beyond the baseline",
    "mypy": "there are no type errors beyond the baseline",
}


class Severity(enum.IntEnum):
    """How loud a finding is; the lower, the earlier it is shown."""

    BLOCKING = 0  # its gate fails the run
    WARNING = 1  # its gate failed but is `optional`
    NOTE = 2  # waived, or from a gate that passed or was skipped


@dataclass(frozen=True, slots=True)
class Shown:
    """A finding as the outputs show it: with its gate and its severity."""

    gate: GateResult
    finding: Finding
    severity: Severity


def severity(gate: GateResult, finding: Finding) -> Severity:
    if finding.waived:
        return Severity.NOTE
    if gate.blocking:
        return Severity.BLOCKING
    if gate.status in (Verdict.FAIL, Verdict.ERROR):
        return Severity.WARNING
    return Severity.NOTE


def gate_findings(gate: GateResult) -> list[Finding]:
    """The findings of one gate that the outputs show (the terminal's rule too)."""
    return [f for f in gate.findings if gate.status is not Verdict.PASS or f.waived]


def shown_findings(report: Report) -> list[Shown]:
    """Every shown finding, the most important first; stable within a severity."""
    shown = [
        Shown(gate, finding, severity(gate, finding))
        for gate in report.gates
        for finding in gate_findings(gate)
    ]
    return sorted(shown, key=lambda s: s.severity)  # sorted() is stable


def gates_with_findings(report: Report) -> list[GateResult]:
    """Gates that have shown findings, the one with the most important finding first."""
    gates = [g for g in report.gates if gate_findings(g)]
    return sorted(gates, key=lambda g: min(severity(g, f) for f in gate_findings(g)))


def context(report: Report, *, with_time: bool = False) -> list[tuple[str, str]]:
    """(label, value) pairs for the line under a report's title; `head` is a sha."""
    pairs = [
        ("head", report.head),
        ("base:", report.base_note),
        ("role:", report.role),
        ("generated", report.generated_at if with_time else None),
        ("pytest-tddgate", report.tool_version),
    ]
    return [(label, value) for label, value in pairs if value]


def location(finding: Finding) -> str:
    """`path:line`, `path`, or "" for a finding about the whole project."""
    if finding.path and finding.line:
        return f"{finding.path}:{finding.line}"
    return finding.path or ""


def status_label(gate: GateResult) -> str:
    """`fail`, `fail (optional)`: an optional gate's failure is marked as not blocking."""
    if gate.optional and gate.status in (Verdict.FAIL, Verdict.ERROR):
        return f"{gate.status.value} (optional)"
    return gate.status.value


def waiver_note(finding: Finding) -> str:
    """`waived: reason; owner x; expires d`, or "" when the finding is not waived."""
    waiver = finding.waiver
    if waiver is None:
        return ""
    note = f"waived: {waiver.reason}; owner {waiver.owner}"
    return note + (f"; expires {waiver.expires}" if waiver.expires else "")


def verdict_line(report: Report) -> str:
    """`all gates passed` or `FAILED: tdd, ruff`."""
    blocking = [g.name for g in report.gates if g.blocking]
    return f"FAILED: {', '.join(blocking)}" if blocking else "all gates passed"
