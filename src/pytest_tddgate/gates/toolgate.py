"""What the `ruff` and `mypy` gates share: run the tools, judge against the baseline.

Both gates start their tools in `prepare` (session start) so they run while the
tests run, and collect them in `evaluate`. In `tddgate check` nothing ran `prepare`,
so `evaluate` starts them itself and waits; there the `check_gates` setting decides
whether they run at all (see commands/check.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from pytest_tddgate.facts import baseline as baseline_facts
from pytest_tddgate.facts import tools
from pytest_tddgate.model import Finding, GateResult, Metrics, Verdict

# with this many findings and no baseline yet, the summary says how to adopt the gate
MANY = 10

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.facts.toolparse import ToolFinding


class ToolGate(ABC):
    """A gate whose findings come from external tools and may be baselined."""

    name = ""
    static = True  # needs no test run: `tddgate check` runs it when `check_gates` names it

    def validate(self, ctx: GateContext) -> None:
        # a broken baseline is a usage error before any test runs, not after
        ctx.facts.get(baseline_facts.baseline)

    def prepare(self, ctx: GateContext) -> None:
        tools.start_gate(ctx.facts, self.name)

    @abstractmethod
    def describe(self, section: Any, findings: Sequence[ToolFinding]) -> str:
        """The findings in words, e.g. "2 violations, 1 unformatted file"."""

    @abstractmethod
    def configured_in(self, root: Path) -> str | None:
        """The file that configures the tool for this project, or None (its defaults)."""

    @abstractmethod
    def metrics(self, section: Any, findings: Sequence[ToolFinding]) -> dict[str, int | None]:
        """The gate's metrics of all its findings, baselined or not."""

    def evaluate(self, ctx: GateContext) -> GateResult:
        baseline = ctx.facts.get(baseline_facts.baseline)
        found = tools.findings_of(ctx.facts, self.name)
        scope = baseline_facts.Scope(frozenset({self.name}), tools.unmeasured(ctx.settings))
        judged = baseline_facts.judge(baseline, scope, found, tools.tool_root(ctx.facts))
        metrics: Metrics = {
            **self.metrics(ctx.section, found),
            "baselined": len(judged.baselined),
            "new": len(judged.new),
            "baseline_fixed": judged.fixed,
        }
        summary = self._summary(ctx.section, found, judged)
        if len(judged.new) >= MANY and not baseline.exists:
            summary += self._adopt(ctx.settings.root)
        details = {
            "baseline": ctx.settings.project.baseline,
            "baselined": [_finding(f).to_json() for f in judged.baselined],
        }
        status = Verdict.FAIL if judged.new else Verdict.PASS
        return GateResult(
            self.name,
            status,
            summary,
            tuple(_finding(f) for f in judged.new),
            metrics,
            details=details,
        )

    def _summary(
        self, section: Any, found: Sequence[ToolFinding], judged: baseline_facts.Judgement
    ) -> str:
        if judged.new:
            text = self.describe(section, judged.new)
            if judged.baselined:
                text += f" (+{len(judged.baselined)} baselined)"
        elif judged.baselined:
            text = f"{self.describe(section, found)}, all baselined"
        else:
            text = self.describe(section, ())
        if judged.fixed:
            text += (
                f"; {judged.fixed} baselined finding(s) fixed: run `tddgate baseline` "
                "to tighten the baseline"
            )
        return text

    def _adopt(self, root: Path) -> str:
        """How to adopt the gate on code that has many findings already: a baseline,
        and the tool's own configuration (named when there is none)."""
        config = self.configured_in(root)
        where = (
            f"its configuration is {config}"
            if config
            else f"no configuration found, so {self.name}'s defaults apply"
        )
        return (
            f"; to adopt the gate on existing code, `tddgate baseline` records these "
            f"so that only new ones fail (docs/baseline.md); {where} "
            f"(docs/gates/{self.name}.md)"
        )


def _finding(found: ToolFinding) -> Finding:
    return Finding(found.code, found.message, path=found.path, line=found.line, hint=found.hint)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
