"""The HTML report: one self-contained page (inline CSS and SVG, no script, no asset).

The gate table, the requirements with their status, the findings by gate, and trend
charts over the runs recorded in the run ledger. The renderer is pure: it takes the
report and the recorded runs (anything shaped like `RunLike`), so it is tested
without a ledger and the ledger is read in one place (`report.write_all`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Protocol

from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict
from pytest_tddgate.report.common import (
    GATE_PURPOSE,
    context,
    gate_findings,
    gates_with_findings,
    location,
    status_label,
    verdict_line,
    waiver_note,
)
from pytest_tddgate.report.links import RepoLinks
from pytest_tddgate.report.svg import Series, legend, line_chart


class GateRecordLike(Protocol):
    """What the trend charts read of one gate in one recorded run."""

    @property
    def status(self) -> str: ...

    @property
    def metrics(self) -> Mapping[str, float | int | str | None]: ...


class RunLike(Protocol):
    """What the trend charts read of one recorded run (the ledger's `RunRecord`)."""

    @property
    def run_id(self) -> int: ...

    @property
    def started_at(self) -> str: ...

    @property
    def head(self) -> str | None: ...

    @property
    def passed(self) -> bool: ...

    @property
    def gates(self) -> Mapping[str, GateRecordLike]: ...

    @property
    def branch(self) -> str | None: ...


# chart title, unit, fixed top (None: from the data), then (series name, gate, metric, colour)
_CHARTS: tuple[tuple[str, str, float | None, tuple[tuple[str, str, str, str], ...]], ...] = (
    ("Coverage (total)", "%", 100.0, (("total", "coverage", "total_percent", "#0969da"),)),
    ("Coverage of new code", "%", 100.0, (("new code", "coverage", "new_percent", "#8250df"),)),
    (
        "Violations",
        "",
        None,
        (
            ("ruff violations", "ruff", "violations", "#bc4c00"),
            ("unformatted files", "ruff", "unformatted", "#9a6700"),
            ("mypy errors", "mypy", "errors", "#cf222e"),
            ("tdd violations", "tdd", "violations", "#8250df"),
            ("role violations", "roles", "violations", "#0969da"),
        ),
    ),
    (
        "Test outcomes",
        "",
        None,
        (
            ("passed", "tests", "passed", "#1a7f37"),
            ("failed", "tests", "failed", "#cf222e"),
            ("errors", "tests", "errors", "#8250df"),
        ),
    ),
)
_STATUS_CLASS = {
    "pass": "ok",
    "passing": "ok",
    "fail": "bad",
    "failing": "bad",
    "error": "err",
    "skip": "skip",
    "untested": "warn",
    "not-run": "skip",
}
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}main{max-width:1000px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
h3{font-size:15px;margin:18px 0 6px}.banner{padding:14px 18px;border-radius:8px;
color:#fff;font-weight:600;font-size:16px;margin:12px 0}.banner.ok{background:#1a7f37}
.banner.bad{background:#cf222e}.meta{color:#59636e;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #d1d9e0;vertical-align:top}
th{background:#f6f8fa;font-weight:600}code{font:12px ui-monospace,monospace;
background:#eff2f5;padding:1px 4px;border-radius:4px}.badge{display:inline-block;
padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.ok{background:#1a7f37}.badge.bad{background:#cf222e}.badge.err{background:#8250df}
.badge.skip{background:#6e7781}.badge.warn{background:#9a6700}ul.findings{background:#fff;
border:1px solid #d1d9e0;margin:0;padding:8px 8px 8px 28px}ul.findings li{margin:4px 0}
.fix,.waived{color:#59636e;font-size:13px}.rule{color:#59636e;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(470px,1fr));gap:12px}
.chart{background:#fff;border:1px solid #d1d9e0;border-radius:6px;padding:8px}
.chart h3{margin:0 0 4px}.grid{stroke:#d1d9e0;stroke-width:1}
.tick{font:11px system-ui,sans-serif;fill:#59636e}.legend{font-size:12px;color:#59636e}
.key{margin-right:12px}.swatch{display:inline-block;width:10px;height:10px;
border-radius:2px;margin-right:4px}.empty{color:#59636e;font-style:italic}
"""


def render(report: Report, runs: Sequence[RunLike] = (), links: RepoLinks | None = None) -> str:
    """The whole page. `runs`: recorded runs, oldest first, for the trend charts."""
    body = [
        "<h1>pytest-tddgate report</h1>",
        _meta(report, links),
        f'<div class="banner {"ok" if report.passed else "bad"}">'
        f"{escape(verdict_line(report))}</div>",
        "<h2>Gates</h2>",
        _gate_table(report),
    ]
    if report.requirements:
        body += ["<h2>Requirements</h2>", _requirement_table(report.requirements, links)]
    body += ["<h2>Findings</h2>", *_findings(report, links)]
    body += ["<h2>Trends</h2>", _trends(runs, report)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>pytest-tddgate: {escape(verdict_line(report))}</title>"
        f"<style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(body)
        + "\n</main></body></html>\n"
    )


def _meta(report: Report, links: RepoLinks | None) -> str:
    parts = (
        f"{escape(label)} {_commit(value, links) if label == 'head' else escape(value)}"
        for label, value in context(report, with_time=True)
    )
    return f'<div class="meta">{" · ".join(parts)}</div>'


def _badge(status: str, label: str | None = None) -> str:
    css = _STATUS_CLASS.get(status, "skip")
    return f'<span class="badge {css}">{escape(label or status)}</span>'


def _gate_table(report: Report) -> str:
    rows = [
        "<table><thead><tr><th>Gate</th><th>Verdict</th><th>Summary</th>"
        "<th>Time</th></tr></thead><tbody>"
    ]
    for gate in report.gates:
        purpose = GATE_PURPOSE.get(gate.name, "")
        rows.append(
            f'<tr><td title="{escape(purpose)}"><strong>{escape(gate.name)}</strong></td>'
            f"<td>{_badge(gate.status.value, status_label(gate))}</td>"
            f"<td>{escape(gate.summary)}</td><td>{gate.duration_s:.2f}&nbsp;s</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _requirement_table(requirements: Sequence[RequirementStatus], links: RepoLinks | None) -> str:
    rows = [
        "<table><thead><tr><th>Requirement</th><th>Status</th><th>Tests</th>"
        "<th>Code</th><th>Coverage</th></tr></thead><tbody>"
    ]
    for req in requirements:
        title = f" {escape(req.title)}" if req.title else ""
        tests = "<br>".join(_path(t, None, links) for t in req.tests) or "none"
        code = "<br>".join(_path(c, None, links) for c in req.code) or "none"
        cover = "" if req.coverage_percent is None else f"{req.coverage_percent:.1f}%"
        rows.append(
            f"<tr><td><strong>{escape(req.id)}</strong>{title}</td>"
            f"<td>{_badge(req.status)}</td><td>{tests}</td><td>{code}</td>"
            f"<td>{cover}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _findings(report: Report, links: RepoLinks | None) -> list[str]:
    gates = gates_with_findings(report)
    if not gates:
        return ['<p class="empty">No findings.</p>']
    out = []
    for gate in gates:
        findings = gate_findings(gate)
        out.append(
            f"<h3>{escape(gate.name)} {_badge(gate.status.value, status_label(gate))}"
            f" {len(findings)} finding{'s' if len(findings) != 1 else ''}</h3>"
        )
        out.append(
            '<ul class="findings">' + "".join(_finding(gate, f, links) for f in findings) + "</ul>"
        )
    return out


def _finding(gate: GateResult, finding: Finding, links: RepoLinks | None) -> str:
    where = _path(finding.path, finding.line, links) + ": " if finding.path else ""
    text = f'<li>{where}{escape(finding.message)} <span class="rule">[{escape(finding.rule)}]'
    text += "</span>"
    if finding.commit:
        text += f" commit {_commit(finding.commit, links)}"
    if finding.requirement:
        text += f" requirement <strong>{escape(finding.requirement)}</strong>"
    if finding.waived:
        text += f'<div class="waived">{escape(waiver_note(finding))}</div>'
    elif finding.hint and gate.status is not Verdict.PASS:
        text += f'<div class="fix">fix: {escape(finding.hint)}</div>'
    return text + "</li>"


def _path(path: str, line: int | None, links: RepoLinks | None) -> str:
    shown = f"<code>{escape(location(Finding('', '', path=path, line=line)))}</code>"
    if links is None:
        return shown
    url = links.file(path.split("::", maxsplit=1)[0], line)
    return f'<a href="{escape(url, quote=True)}">{shown}</a>'


def _commit(sha: str, links: RepoLinks | None) -> str:
    shown = f"<code>{escape(sha[:8])}</code>"
    if links is None:
        return shown
    return f'<a href="{escape(links.commit(sha), quote=True)}">{shown}</a>'


def _trends(recorded: Sequence[RunLike], report: Report) -> str:
    if not recorded:
        return (
            '<p class="empty">No recorded runs yet: the charts appear once the run '
            "ledger (<code>.tddgate/ledger.sqlite3</code>) has runs.</p>"
        )
    runs, scope = _this_branch(recorded, report)
    labels = [_run_label(run) for run in runs]
    charts = []
    for title, unit, top, specs in _CHARTS:
        series = [
            Series(name, color, tuple(_metric(run, gate, key) for run in runs))
            for name, gate, key, color in specs
        ]
        series = [s for s in series if any(v is not None for v in s.values)]
        if series:
            drawing = line_chart(title, series, labels, unit=unit, fixed_top=top)
            drawing += legend(series)
        else:
            drawing = '<p class="empty">not measured in these runs</p>'
        charts.append(f'<div class="chart"><h3>{escape(title)}</h3>{drawing}</div>')
    span = (
        f"{len(runs)} run{'s' if len(runs) != 1 else ''}, #{runs[0].run_id} to #{runs[-1].run_id}"
    )
    return f'<p class="meta">{scope}: {escape(span)}</p><div class="charts">{"".join(charts)}</div>'


def _this_branch(runs: Sequence[RunLike], report: Report) -> tuple[Sequence[RunLike], str]:
    """The runs of this run's branch, and a sentence that says which runs are drawn.

    A trend mixing branches draws a switch between them as a change over time, so
    only the branch of the run being reported is drawn. That run is found in the
    ledger by its time and commit; a run that was not recorded shows every branch.
    """
    current = next(
        (
            run
            for run in reversed(runs)
            if run.started_at == report.generated_at and run.head == report.head
        ),
        None,
    )
    if current is None:
        return runs, "Runs of all branches (this run is not in the ledger)"
    mine = [run for run in runs if run.branch == current.branch]
    # the ledger is asked for this branch's runs only (report.recorded_runs), so whether
    # other branches have runs is not known here: say what is shown, always
    others = "; runs on other branches are not shown"
    if current.branch is None:
        where = "Runs on a detached HEAD or outside git"
    else:
        where = f"Runs on branch <code>{escape(current.branch)}</code>"
    return mine, where + others


def _run_label(run: RunLike) -> str:
    head = f" {run.head[:8]}" if run.head else ""
    verdict = "passed" if run.passed else "failed"
    return f"#{run.run_id} {run.started_at}{head} {verdict}"


def _metric(run: RunLike, gate: str, key: str) -> float | None:
    record = run.gates.get(gate)
    if record is None:
        return None
    value = record.metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
