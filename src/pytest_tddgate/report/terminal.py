"""The terminal report: one line per gate, then the findings of gates that need them,
then what needs attention beyond the gates (stuck and flaky tests, facts/attention.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.model import Finding, GateResult, Report, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_tddgate.facts.attention import Attention

_COLORS = {Verdict.PASS: "green", Verdict.FAIL: "red", Verdict.ERROR: "red", Verdict.SKIP: "yellow"}
MAX_FINDINGS_PER_GATE = 20
# Line breaks, carriage returns and escape sequences in a file name, a commit subject
# or a tool message would start a line of their own (in CI, `::error ...::` there is
# a workflow command), overwrite one, or recolour the terminal: shown escaped instead
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    color: str | None = None
    bold: bool = False


def render(
    report: Report, report_path: str | None = None, attention: Sequence[Attention] = ()
) -> list[Line]:
    """The report as lines with colours; the caller decides how to print them."""
    width = max((len(g.name) for g in report.gates), default=5)
    lines = [_gate_line(g, width) for g in report.gates]
    if report.base_note:
        lines.append(Line(f"base: {_plain(report.base_note)}"))
    if report.project is not None:
        lines.append(Line(_plain(report.project.describe())))
    for gate in report.gates:
        shown = [f for f in gate.findings if gate.status is not Verdict.PASS or f.waived]
        if not shown:
            continue
        lines.append(Line(""))
        lines.append(Line(f"{gate.name} ({gate.status.value}):", _COLORS[gate.status], bold=True))
        for finding in shown[:MAX_FINDINGS_PER_GATE]:
            lines += _finding_lines(finding)
        if len(shown) > MAX_FINDINGS_PER_GATE:
            lines.append(Line(f"  ... {len(shown) - MAX_FINDINGS_PER_GATE} more in the report"))
    lines += _attention_lines(attention)
    lines.append(Line(""))
    lines.append(_verdict_line(report, report_path))
    return lines


def _attention_lines(attention: Sequence[Attention]) -> list[Line]:
    """Nothing at all when nothing needs attention."""
    if not attention:
        return []
    lines = [Line(""), Line("needs attention beyond the gates:", "yellow", bold=True)]
    lines += [
        Line(f"  {_plain(item.message)} [{item.kind}]\n    fix: {_plain(item.fix)}")
        for item in attention[:MAX_FINDINGS_PER_GATE]
    ]
    if len(attention) > MAX_FINDINGS_PER_GATE:
        lines.append(Line(f"  ... {len(attention) - MAX_FINDINGS_PER_GATE} more"))
    return lines


def _gate_line(gate: GateResult, width: int) -> Line:
    tag = gate.status.value + (
        " (optional)" if gate.optional and gate.status in (Verdict.FAIL, Verdict.ERROR) else ""
    )
    name, summary = _plain(gate.name), _plain(gate.summary)
    return Line(f"{name:<{width}}  {tag:<5}  {summary}", _COLORS[gate.status])


def _finding_lines(finding: Finding) -> list[Line]:
    """The finding, its fix on a line of its own; a fix of several lines (mypy's notes:
    an override's two signatures) goes on as lines indented under its first."""
    first, *more = finding.hint.split("\n") if finding.hint else [""]
    found = _finding_line(finding, first)
    if finding.waiver is not None:
        return [found]
    # each on a Line of its own, control characters escaped: the indent keeps them
    # from starting a line of their own (`::error`)
    return [found, *(Line(" " * 9 + _plain(part.rstrip("\r"))) for part in more)]


def _finding_line(finding: Finding, hint: str) -> Line:
    where = _plain(finding.path or "")
    if where and finding.line:
        where += f":{finding.line}"
    text = f"  {where + ': ' if where else ''}{_plain(finding.message)} [{_plain(finding.rule)}]"
    if finding.waiver is not None:
        w = finding.waiver
        text += f" (waived: {_plain(w.reason)}; owner {_plain(w.owner)}" + (
            f"; expires {w.expires})" if w.expires else ")"
        )
    if finding.hint and finding.waiver is None:
        text += "\n    fix: " + _plain(hint.rstrip("\r"))
    return Line(text)


def _plain(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _verdict_line(report: Report, report_path: str | None) -> Line:
    blocking = [g.name for g in report.gates if g.blocking]
    where = f" (report: {report_path})" if report_path else ""
    if blocking:
        return Line(f"tddgate: FAILED: {', '.join(blocking)}{where}", "red", bold=True)
    return Line(f"tddgate: all gates passed{where}", "green", bold=True)
