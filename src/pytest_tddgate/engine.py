"""The gate engine: runs each selected gate once over shared facts, applies waivers.

A gate is anything with a `name` and an `evaluate(ctx)` that returns a `GateResult`
(see `Gate`). The engine owns everything gates should not each reimplement: selection
(`--tddgate-only` / `--tddgate-skip`, `enabled = false`), timing, turning "could not
judge" into `error` instead of a crash, waivers, and `optional`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from pytest_tddgate.errors import FactError, UsageError
from pytest_tddgate.facts import Facts
from pytest_tddgate.model import Finding, GateResult, Report, Verdict, Waiver
from pytest_tddgate.settings import Settings


@dataclass(frozen=True, slots=True)
class GateContext:
    """What a gate sees: the settings, its own section of them, and the shared facts."""

    settings: Settings
    facts: Facts
    section: Any  # the gate's settings dataclass, e.g. CoverageSettings

    @property
    def name(self) -> str:
        return str(getattr(self.section, "name", ""))


@runtime_checkable
class Gate(Protocol):
    """A gate turns facts into one `GateResult`.

    `static` gates need no test run and also run in `tddgate check` (unless they set
    `check_default = False`: slow ones then run there only when selected). A gate may also
    define `validate(ctx) -> None`, called before the tests, raising `UsageError` for
    a broken input file (exit 4), and `prepare(ctx) -> None`, called at session start,
    to start slow facts (a subprocess) that run while the tests run.
    """

    name: str
    static: bool

    def evaluate(self, ctx: GateContext) -> GateResult: ...


def selected(settings: Settings, name: str) -> str | None:
    """None if the gate runs, else why it is skipped."""
    project = settings.project
    if project.only and name not in project.only:
        return "not selected (--tddgate-only)"
    if name in project.skip:
        return "skipped by --tddgate-skip"
    if not settings.gate(name).enabled:
        return f"disabled (gates.{name}.enabled = false)"
    return None


def validate(gates: Iterable[Gate], settings: Settings, facts: Facts) -> None:
    """Let the selected gates check their input files before any test runs.

    A gate may define `validate(ctx)` that raises `UsageError` for a broken input (a
    malformed matrix or role file), so the run exits 4 at once instead of after the
    tests.
    """
    _call_optional(gates, settings, facts, "validate")


def prepare(gates: Iterable[Gate], settings: Settings, facts: Facts) -> None:
    """Let the selected gates start their slow facts (ruff, mypy) at session start."""
    _call_optional(gates, settings, facts, "prepare")


def _call_optional(gates: Iterable[Gate], settings: Settings, facts: Facts, method: str) -> None:
    for gate in gates:
        # selection first: asking a gate that does not run for its hook would import it
        if selected(settings, gate.name):
            continue
        hook = getattr(gate, method, None)
        if hook is None:
            continue
        try:
            hook(GateContext(settings, facts, settings.gate(gate.name)))
        except FactError:
            continue  # evaluate() meets the same fact and reports it as `error`


def evaluate(
    gates: Sequence[Gate],
    settings: Settings,
    facts: Facts,
    *,
    static_only: bool = False,
    today: dt.date | None = None,
) -> tuple[GateResult, ...]:
    """Run every gate once, in order, and return their results (waivers applied)."""
    today = today or dt.date.today()
    results = []
    for gate in gates:
        section = settings.gate(gate.name)
        started = time.perf_counter()
        why_not = selected(settings, gate.name)
        if why_not is None and static_only:
            why_not = _not_in_check(gate, settings)
        if why_not is not None:
            result = GateResult(gate.name, Verdict.SKIP, why_not)
        else:
            result = _evaluate_one(gate, GateContext(settings, facts, section))
            waivers = [w for w in settings.waivers if w.gate == gate.name]
            result = apply_waivers(result, waivers, today)
        results.append(result.with_timing(time.perf_counter() - started, section.optional))
    return tuple(results)


def judge(
    gates: Sequence[Gate],
    settings: Settings,
    facts: Facts,
    extra: Sequence[GateResult] = (),
) -> Report:
    """The end of a gated run, `pytest --tddgate`'s or `tddgate combine`'s: every gate
    judged once over the facts, then the report. `extra`: results that are not a
    gate's (`tddgate combine`'s verdict on the shard set). Raises `UsageError`."""
    from pytest_tddgate.report.build import build_report

    try:
        results = evaluate(gates, settings, facts)
    finally:
        facts.cancel_background()  # a usage error must leave no tool running
    return build_report(settings, facts, (*results, *extra))


def _not_in_check(gate: Gate, settings: Settings) -> str | None:
    """Why `tddgate check` does not run this gate, or None if it does.

    The check is a pre-commit hook with a budget of well under a second: gates that
    need a test run never run there, and slow static gates (`check_default = False`,
    e.g. mypy) only when named with `--only`.
    """
    if not gate.static:
        return "needs a test run (use `pytest --tddgate`)"
    if not getattr(gate, "check_default", True) and gate.name not in settings.project.only:
        return f"not run by `tddgate check` unless selected (--only {gate.name})"
    return None


def _evaluate_one(gate: Gate, ctx: GateContext) -> GateResult:
    try:
        result = gate.evaluate(ctx)
    except UsageError:
        raise  # a user's mistake in an input file: the run exits 4 with the message
    except FactError as exc:
        return GateResult(
            gate.name,
            Verdict.ERROR,
            exc.message,
            findings=(Finding("cannot-evaluate", exc.message, hint=exc.fix),),
        )
    except Exception as exc:  # a bug in a gate must not hide the other gates' verdicts
        message = f"internal error in gate `{gate.name}`: {type(exc).__name__}: {exc}"
        return GateResult(
            gate.name,
            Verdict.ERROR,
            message,
            findings=(
                Finding("internal-error", message, hint="please report this with the report.json"),
            ),
        )
    if not isinstance(result, GateResult) or result.name != gate.name:
        message = f"gate `{gate.name}` returned {type(result).__name__}, not its GateResult"
        return GateResult(gate.name, Verdict.ERROR, message)
    return result


def apply_waivers(result: GateResult, waivers: Sequence[Waiver], today: dt.date) -> GateResult:
    """Mark findings a live waiver covers; an expired waiver fails the gate.

    A waived finding stays in the report, marked, so a waiver never hides anything.
    A failed gate whose every finding is waived passes.
    """
    live = [w for w in waivers if not _expired(w, today)]
    expired = [w for w in waivers if _expired(w, today)]
    findings = tuple(
        replace(f, waiver=_match(f, live)) if f.waiver is None else f for f in result.findings
    )
    expired_findings = tuple(
        Finding(
            "waiver-expired",
            f"waiver expired on {w.expires} (owner {w.owner}: {w.reason})",
            path=w.path,
            hint="fix the findings it covered, or renew `expires` with a reason",
        )
        for w in expired
    )
    waived = sum(1 for f in findings if f.waived)
    status, summary = result.status, result.summary
    if expired_findings and status in (Verdict.PASS, Verdict.FAIL):
        status = Verdict.FAIL
        summary = f"{summary}; {len(expired_findings)} waiver(s) expired"
    elif status is Verdict.FAIL and waived and waived == len(findings):
        status = Verdict.PASS
        summary = f"{summary} (all {waived} finding(s) waived)"
    elif waived:
        summary = f"{summary} ({waived} waived)"
    return replace(result, status=status, summary=summary, findings=findings + expired_findings)


def _expired(waiver: Waiver, today: dt.date) -> bool:
    return waiver.expires is not None and dt.date.fromisoformat(waiver.expires) < today


def _match(finding: Finding, waivers: Sequence[Waiver]) -> Waiver | None:
    for waiver in waivers:
        if waiver.rule is not None and waiver.rule != finding.rule:
            continue
        if waiver.path is not None:
            from pytest_tddgate.globs import compiled  # pathspec: only for a waiver's path

            if not (finding.path and compiled((waiver.path,)).matches(finding.path)):
                continue
        return waiver
    return None
