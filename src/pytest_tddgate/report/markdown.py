"""The Markdown report: for a pull-request comment or GitHub's job summary.

A table of gates (verdict and summary), the requirements when there is a matrix,
then the findings grouped by gate, the most important gates first. Paths link to
the file at the head commit when the repository's forge is known.
"""

from __future__ import annotations

import re

from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict
from pytest_tddgate.report.common import (
    context,
    gate_findings,
    gates_with_findings,
    status_label,
    verdict_line,
    waiver_note,
)
from pytest_tddgate.report.links import RepoLinks

# GitHub stops rendering a job summary above 1 MiB; keep far below it
MAX_FINDINGS_PER_GATE = 50
_ICONS = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.ERROR: "💥", Verdict.SKIP: "⏭️"}
_REQ_ICONS = {"passing": "✅", "failing": "❌", "untested": "⚠️", "not-run": "⏭️"}
# backslash-escapable punctuation that would otherwise start markup inside text
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def render(report: Report, links: RepoLinks | None = None, report_path: str | None = None) -> str:
    """The whole report as GitHub-flavoured Markdown, ending in one newline."""
    icon = "✅" if report.passed else "❌"
    lines = [f"## {icon} pytest-tddgate: {verdict_line(report)}", ""]
    lines += _gate_table(report)
    lines += ["", _context_line(report, links)]
    if report.requirements:
        lines += ["", "### Requirements", ""]
        lines += _requirement_table(report.requirements, links)
    gates = gates_with_findings(report)
    if gates:
        lines += ["", "### Findings"]
    for gate in gates:
        lines += ["", *_gate_section(gate, links)]
    if report_path:
        lines += ["", f"Full report: `{report_path}`"]
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """Text that shows as itself: no markup, no HTML, one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _gate_table(report: Report) -> list[str]:
    rows = ["| Gate | Verdict | Summary |", "|---|---|---|"]
    for gate in report.gates:
        rows.append(
            f"| {escape(gate.name)} | {_ICONS[gate.status]} {status_label(gate)} "
            f"| {escape(gate.summary)} |"
        )
    return rows


def _context_line(report: Report, links: RepoLinks | None) -> str:
    return " · ".join(
        f"{label} {_commit(value, links) if label == 'head' else escape(value)}"
        for label, value in context(report)
    )


def _requirement_table(
    requirements: tuple[RequirementStatus, ...], links: RepoLinks | None
) -> list[str]:
    rows = ["| Requirement | Status | Tests | Code |", "|---|---|---|---|"]
    for req in requirements:
        title = f"{escape(req.id)}" + (f": {escape(req.title)}" if req.title else "")
        icon = _REQ_ICONS.get(req.status, "")
        tests = ", ".join(_path(t, None, links) for t in req.tests) or "none"
        code = ", ".join(_path(c, None, links) for c in req.code) or "none"
        # a `|` ends a table cell even inside a code span (node ids with parameters)
        tests, code = tests.replace("|", "\\|"), code.replace("|", "\\|")
        rows.append(f"| {title} | {icon} {escape(req.status)} | {tests} | {code} |")
    return rows


def _gate_section(gate: GateResult, links: RepoLinks | None) -> list[str]:
    findings = gate_findings(gate)
    lines = [
        f"#### {_ICONS[gate.status]} {escape(gate.name)}: {status_label(gate)} "
        f"({len(findings)} finding{'s' if len(findings) != 1 else ''})",
        "",
    ]
    lines += [_finding(f, links) for f in findings[:MAX_FINDINGS_PER_GATE]]
    if len(findings) > MAX_FINDINGS_PER_GATE:
        lines.append(f"- … {len(findings) - MAX_FINDINGS_PER_GATE} more in the JSON report")
    return lines


def _finding(finding: Finding, links: RepoLinks | None) -> str:
    text = "- "
    if finding.path:
        text += _path(finding.path, finding.line, links) + ": "
    text += f"{escape(finding.message)} `{_code(finding.rule)}`"
    if finding.commit:
        text += f" (commit {_commit(finding.commit, links)})"
    if finding.requirement:
        text += f" (requirement {escape(finding.requirement)})"
    if finding.waived:
        text += f"  \n  *{escape(waiver_note(finding))}*"
    elif finding.hint:
        text += f"  \n  fix: {escape(finding.hint)}"
    return text


def _path(path: str, line: int | None, links: RepoLinks | None) -> str:
    shown = f"`{_code(path)}{f':{line}' if line else ''}`"
    if links is None:
        return shown
    # a test node id (`tests/test_a.py::test_x`) links to its file
    return f"[{shown}]({links.file(path.split('::', maxsplit=1)[0], line)})"


def _commit(sha: str, links: RepoLinks | None) -> str:
    shown = f"`{_code(sha[:8])}`"
    return f"[{shown}]({links.commit(sha)})" if links is not None else shown


def _code(text: str) -> str:
    """Text inside a code span: a backtick or newline would end or break the span."""
    return " ".join(text.replace("`", "'").split())
