"""GitHub Actions annotations: `::error file=..,line=..,title=..::message` lines.

Printed at the end of a run when `GITHUB_ACTIONS=true`; GitHub turns them into
annotations on the pull request's diff. GitHub shows at most 10 annotations of a
kind per step, so the most important come first (blocking gates, then optional
ones) and one final notice says how many more findings are in the report. Waived
findings are not annotated: they are counted in that notice and listed in the
report.
"""

from __future__ import annotations

from pytest_tddgate.model import Finding, Report
from pytest_tddgate.report.common import Severity, Shown, shown_findings

# GitHub shows the first 10 annotations of each kind per step and drops the rest
LIMIT = 10
_COMMAND = {Severity.BLOCKING: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def escape_data(text: str) -> str:
    """A command's message: `%`, CR and LF would end or corrupt the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (`file=`, `title=`): also `:` and `,`, which separate them."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(report: Report, *, more_in: str, prefix: str = "", limit: int = LIMIT) -> str:
    """The annotation lines, one per line; "" when there is nothing to annotate.

    At most `limit` lines in total, the notice about the rest included. `prefix` is
    the project's folder inside the repository ("" or "sub/dir/"): GitHub wants
    paths from the repository's root.
    """
    findings = _to_annotate(report)
    loud = [s for s in findings if s.severity is not Severity.NOTE]
    quiet = len(findings) - len(loud)
    shown = loud if len(loud) + (1 if quiet else 0) <= limit else loud[: limit - 1]
    lines = [_command(s, prefix) for s in shown]
    rest = findings[len(shown) :]
    if rest:
        waived = sum(1 for s in rest if s.finding.waived)
        detail = f" ({waived} of them waived)" if waived else ""
        message = (
            f"{len(rest)} more finding{'s' if len(rest) != 1 else ''}{detail} "
            f"not shown as annotations; see {more_in}"
        )
        lines.append(f"::notice title=pytest-tddgate::{escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def _to_annotate(report: Report) -> list[Shown]:
    """The shown findings, plus a stand-in for a blocking gate that has none."""
    shown = shown_findings(report)
    for gate in report.gates:
        if gate.blocking and not any(s.gate is gate for s in shown):
            stand_in = Finding(f"gate-{gate.status.value}", gate.summary)
            shown.append(Shown(gate, stand_in, Severity.BLOCKING))
    order = {id(gate): index for index, gate in enumerate(report.gates)}
    return sorted(shown, key=lambda s: (s.severity, order[id(s.gate)]))


def _command(item: Shown, prefix: str) -> str:
    finding = item.finding
    props = []
    if finding.path:
        props.append(f"file={escape_property(prefix + finding.path.split('::')[0])}")
        if finding.line:
            props.append(f"line={finding.line}")
    optional = " (optional gate)" if item.severity is Severity.WARNING else ""
    props.append(f"title={escape_property(f'tddgate {item.gate.name}: {finding.rule}{optional}')}")
    message = finding.message
    if finding.commit:
        message += f" (commit {finding.commit[:8]})"
    if finding.hint:
        message += f"\nfix: {finding.hint}"
    return f"::{_COMMAND[item.severity]} {','.join(props)}::{escape_data(message)}"
