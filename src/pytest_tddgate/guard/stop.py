"""What stands between the agent and stopping: the gates `tddgate check` runs (the
`check_gates` setting: tdd, traceability, roles and ruff by default), judged on the
working tree exactly as `tddgate check` judges it, plus the latest recorded test
outcomes (a test that fails, a changed test that has not run since).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate.guard.decide import Finding
from pytest_tddgate.guard.outcomes import read_store, states

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pytest_tddgate.guard.judge import Project
    from pytest_tddgate.model import GateResult
    from pytest_tddgate.settings import Settings

_PER_GATE = 5  # findings named per gate; the rest are counted


def findings(project: Project, changed: Iterable[str]) -> list[Finding]:
    """Every finding that blocks stopping; `changed` are the files that differ from
    HEAD, relative to the project root."""
    found = [f for result in check_results(project.settings) for f in _gate_findings(result)]
    return found + test_findings(project, changed)


def check_results(settings: Settings) -> tuple[GateResult, ...]:
    """The results `tddgate check` (working tree, no `--staged`) would print."""
    from pytest_tddgate import engine
    from pytest_tddgate.commands.check import why_not_run
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.gates import builtin_gates

    facts = Facts(settings, staged=False)
    running = [g for g in builtin_gates() if why_not_run(g, settings) is None]
    engine.validate(running, settings, facts)
    engine.prepare(running, settings, facts)
    try:
        return tuple(engine.evaluate(running, settings, facts, static_only=True))
    finally:
        facts.cancel_background()


def _gate_findings(result: GateResult) -> list[Finding]:
    from pytest_tddgate.model import Verdict

    if result.status not in (Verdict.FAIL, Verdict.ERROR) or result.optional:
        return []
    named = [f for f in result.findings if f.waiver is None]
    if not named:
        return [Finding(f"{result.name}:{result.status.value}", f"{result.name}: {result.summary}")]
    found = []
    for item in named[:_PER_GATE]:
        where = f"{item.path}:{item.line}" if item.path and item.line else item.path or ""
        fix = f" Fix: {item.hint}" if item.hint else ""
        text = f"{result.name} ({item.rule}) {where}: {item.message}{fix}".replace(" :", ":")
        found.append(Finding(f"{result.name}:{item.rule}:{item.path}:{item.message}", text))
    if len(named) > _PER_GATE:
        more = len(named) - _PER_GATE
        found.append(Finding(f"{result.name}:more", f"{result.name}: {more} more findings"))
    return found


def test_findings(project: Project, changed: Iterable[str]) -> list[Finding]:
    """Tests that failed in their latest recorded run, and changed tests not run since."""
    layout = project.layout
    changed_tests = {p for p in changed if layout.is_test(p) and layout.is_test_module(p)}
    candidates = set(read_store(project.root)) | changed_tests
    ledger = project.settings.path(project.settings.project.ledger)
    found = []
    for state in states(project.root, candidates, ledger=ledger):
        if state.state == "red":
            names = ", ".join(state.failed[:3]) + (" ..." if len(state.failed) > 3 else "")
            found.append(
                Finding(
                    f"tests:red:{state.test}",
                    f"tests: {state.test} failed in the last run ({names}). Fix: make it "
                    "pass, or say why it cannot",
                )
            )
        elif state.test in changed_tests and state.state in ("changed", "never-run"):
            found.append(
                Finding(
                    f"tests:unrun:{state.test}",
                    f"tests: {state.test} changed and has not run since. Fix: run "
                    f"`pytest {state.test}`",
                )
            )
    return found
