"""The terminal report: one line per gate, then the findings of gates that need them."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_tddgate.model import Finding, GateResult, Report, Verdict

_COLORS = {Verdict.PASS: "green", Verdict.FAIL: "red", Verdict.ERROR: "red", Verdict.SKIP: "yellow"}
MAX_FINDINGS_PER_GATE = 20


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    color: str | None = None
    bold: bool = False


def render(report: Report, report_path: str | None = None) -> list[Line]:
    """The report as lines with colours; the caller decides how to print them."""
    width = max((len(g.name) for g in report.gates), default=5)
    lines = [_gate_line(g, width) for g in report.gates]
    if report.base_note:
        lines.append(Line(f"base: {report.base_note}"))
    for gate in report.gates:
        shown = [f for f in gate.findings if gate.status is not Verdict.PASS or f.waived]
        if not shown:
            continue
        lines.append(Line(""))
        lines.append(Line(f"{gate.name} ({gate.status.value}):", _COLORS[gate.status], bold=True))
        lines += [_finding_line(f) for f in shown[:MAX_FINDINGS_PER_GATE]]
        if len(shown) > MAX_FINDINGS_PER_GATE:
            lines.append(Line(f"  ... {len(shown) - MAX_FINDINGS_PER_GATE} more in the report"))
    lines.append(Line(""))
    lines.append(_verdict_line(report, report_path))
    return lines


def _gate_line(gate: GateResult, width: int) -> Line:
    tag = gate.status.value + (
        " (optional)" if gate.optional and gate.status in (Verdict.FAIL, Verdict.ERROR) else ""
    )
    return Line(f"{gate.name:<{width}}  {tag:<5}  {gate.summary}", _COLORS[gate.status])


def _finding_line(finding: Finding) -> Line:
    where = finding.path or ""
    if where and finding.line:
        where += f":{finding.line}"
    text = f"  {where + ': ' if where else ''}{finding.message} [{finding.rule}]"
    if finding.waiver is not None:
        w = finding.waiver
        text += f" (waived: {w.reason}; owner {w.owner}" + (
            f"; expires {w.expires})" if w.expires else ")"
        )
    if finding.hint and finding.waiver is None:
        text += f"\n    fix: {finding.hint}"
    return Line(text)


def _verdict_line(report: Report, report_path: str | None) -> Line:
    blocking = [g.name for g in report.gates if g.blocking]
    where = f" (report: {report_path})" if report_path else ""
    if blocking:
        return Line(f"tddgate: FAILED: {', '.join(blocking)}{where}", "red", bold=True)
    return Line(f"tddgate: all gates passed{where}", "green", bold=True)
