"""Gate `tests`: every collected test passed (skips and xfails allowed)."""

from __future__ import annotations

from pytest_tddgate.engine import GateContext
from pytest_tddgate.model import Finding, GateResult, Verdict

NAME = "tests"


class TestsGate:
    name = NAME
    static = False

    def evaluate(self, ctx: GateContext) -> GateResult:
        run = ctx.facts.test_run
        if run is None:
            return GateResult(NAME, Verdict.SKIP, "no test run")
        counts = run.counts
        metrics = {
            "passed": counts.get("passed", 0),  # as pytest counts: xpassed apart
            "failed": counts.get("failed", 0),
            "errors": counts.get("error", 0) + len(run.collect_errors),
            "skipped": counts.get("skipped", 0),
            "xfailed": counts.get("xfailed", 0),
            "xpassed": counts.get("xpassed", 0),
            "collected": len(run.outcomes),
        }
        findings = [
            Finding("collection-error", f"collection failed: {err.message}", path=err.path)
            for err in run.collect_errors
        ]
        findings += [
            Finding(
                "test-failed" if o.outcome == "failed" else "test-error",
                f"{o.nodeid} {'failed' if o.outcome == 'failed' else 'errored'}"
                + (f": {o.message}" if o.message else ""),
                path=o.path,
                line=o.line,
            )
            for o in run.outcomes
            if not o.ok and o.outcome != "xpassed"
        ]
        summary = _summary(metrics)
        if run.interrupted:
            findings.append(Finding("interrupted", "the test session was interrupted"))
            return GateResult(
                NAME, Verdict.FAIL, f"interrupted; {summary}", tuple(findings), metrics
            )
        if findings:
            return GateResult(NAME, Verdict.FAIL, summary, tuple(findings), metrics)
        if not run.outcomes:
            return GateResult(NAME, Verdict.SKIP, summary, metrics=metrics)  # or "1 skipped"
        return GateResult(NAME, Verdict.PASS, summary, metrics=metrics)


def _summary(metrics: dict[str, int]) -> str:
    order = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
    # "1 error", as pytest says it; the other words do not change with the count
    parts = [
        f"{metrics[k]} {'error' if k == 'errors' and metrics[k] == 1 else k}"
        for k in order
        if metrics[k]
    ]
    return ", ".join(parts) or "no tests ran"
