"""`tddgate check`: the gates that need no test run, for the pre-commit hook.

Which gates run is the `check_gates` setting (tdd, traceability, roles and ruff by
default; mypy when named there or with `--only`); `tests` and `coverage` need a test
run and never run here. It is the pre-commit hook (`tddgate check --staged`), so it
starts fast: pytest is never imported on this path (pytest's `testpaths` are read
from the configuration files here), and the gate machinery is imported only once the
arguments parsed. With `--staged` every gate judges the index: the tdd and roles
gates read it through git, ruff and mypy read a copy of it (facts/snapshot.py).

Exit status: 0 every gate passed (or was skipped), 1 a gate failed or could not
judge, 4 a usage error (bad settings, matrix or role file).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.commands import project_settings
from pytest_tddgate.commands.check_terms import CheckTerms, role_origin
from pytest_tddgate.errors import UsageError
from pytest_tddgate.model import GateResult, Verdict
from pytest_tddgate.options import BUILTIN_GATES

if TYPE_CHECKING:
    from pytest_tddgate.engine import Gate
    from pytest_tddgate.model import Report
    from pytest_tddgate.settings import Settings

_COLORS = {"red": "31", "green": "32", "yellow": "33"}


def _gate_list(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected gate names separated by commas, e.g. tdd,roles")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staged",
        action="store_true",
        help="judge the index (what `git commit` would record) instead of the working "
        "tree, with every gate (ruff and mypy read a copy of it); for the pre-commit hook",
    )
    parser.add_argument(
        "--base",
        metavar="REV",
        help="git revision the range starts from (env TDDGATE_BASE; default: "
        "merge-base with origin/HEAD, origin/main, main or master)",
    )
    parser.add_argument(
        "--role",
        metavar="NAME",
        help="role of uncommitted (or staged) changes and of commits without a Role: "
        "trailer or `members` entry (env TDDGATE_ROLE; else `role` in [tool.tddgate])",
    )
    parser.add_argument(
        "--only",
        metavar="G1,G2",
        type=_gate_list,
        help="run only these gates (default: the `check_gates` setting, "
        "tdd,traceability,roles,ruff unless set)",
    )
    parser.add_argument("--skip", metavar="G1,G2", type=_gate_list, help="do not run these gates")
    parser.add_argument(
        "--message-file",
        metavar="PATH",
        type=Path,
        help="the message of the commit being made (pre-commit's commit-msg "
        "stage): its trailers, e.g. `Tdd: refactor`, apply to the staged changes",
    )
    parser.add_argument(
        "--report", metavar="PATH", type=Path, help="also write the JSON report to PATH"
    )


def run(args: argparse.Namespace) -> int:
    from pytest_tddgate.settings import Overrides

    overrides = {"base": args.base, "role": args.role, "only": args.only, "skip": args.skip}
    given = bool(args.only or args.skip)
    terms = CheckTerms("--role / TDDGATE_ROLE", args.staged, given)
    try:
        settings = project_settings(None, Overrides(values=overrides))
        terms = CheckTerms(role_origin(settings, args.role), args.staged, given)
        return _check(args, settings, terms)
    except UsageError as exc:
        raise terms.usage_error(exc) from None


def _check(args: argparse.Namespace, settings: Settings, terms: CheckTerms) -> int:
    # imported here, after parsing: `tddgate --help` and the other commands stay fast
    from pytest_tddgate import engine
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.history import COMMIT_MESSAGE
    from pytest_tddgate.facts.snapshot import release_snapshot
    from pytest_tddgate.gates import builtin_gates
    from pytest_tddgate.report.build import build_report

    facts = Facts(settings, staged=args.staged)
    if args.message_file is not None:
        facts.provided[COMMIT_MESSAGE] = _read_message(args.message_file)
    gates = builtin_gates()
    not_run = {g.name: why for g in gates if (why := why_not_run(g, settings)) is not None}
    running = [g for g in gates if g.name not in not_run]
    engine.validate(running, settings, facts)
    try:
        # ruff (and mypy) start now, in the background, and run while tdd and roles read git
        engine.prepare(running, settings, facts)
        outcome = engine.evaluate(running, settings, facts, static_only=True)
    finally:
        facts.cancel_background()  # a usage error must leave no tool running
        release_snapshot(facts)
    evaluated = {r.name: r for r in outcome}
    results = tuple(
        terms.result(evaluated[g.name])
        if g.name in evaluated
        else GateResult(g.name, Verdict.SKIP, not_run[g.name]).with_timing(
            0.0, settings.gate(g.name).optional
        )
        for g in gates
    )
    report = terms.report(build_report(settings, facts, results))
    if args.report is not None:
        from pytest_tddgate.report import write_json

        write_json(report, args.report.resolve())
    print_report(report, color=_use_color())
    return 0 if report.passed else 1


def why_not_run(gate: Gate, settings: Settings) -> str | None:
    """Why `tddgate check` does not run `gate`, in its own options' terms; None: it runs.

    `--only` replaces `check_gates`; a gate that needs a test run never runs here."""
    project = settings.project
    unknown = [name for name in project.check_gates if name not in BUILTIN_GATES]
    if unknown:
        raise UsageError(
            f"unknown gate `{unknown[0]}`",
            file=settings.config_file,
            key="check_gates",
            fix=f"name gates among: {', '.join(BUILTIN_GATES)}",
        )
    if project.only and gate.name not in project.only:
        return "not selected (--only)"
    if gate.name in project.skip:
        return "skipped (--skip)"
    if not settings.gate(gate.name).enabled:
        return f"disabled (gates.{gate.name}.enabled = false)"
    if not gate.static:
        return "needs a test run (use `pytest --tddgate`)"
    if not project.only and gate.name not in project.check_gates:
        return f"not in `check_gates` (run it with --only {gate.name}, or add it there)"
    return None


def _read_message(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(
            f"cannot read the commit message: {exc.strerror}",
            file=path,
            fix="pass the message file git gives the commit-msg hook",
        ) from None


def print_report(report: Report, *, color: bool) -> None:
    from pytest_tddgate.report import terminal

    for line in terminal.render(report):
        text = line.text
        if color and (line.color or line.bold):
            codes = ";".join(
                c for c in ("1" if line.bold else "", _COLORS.get(line.color or "")) if c
            )
            text = f"\x1b[{codes}m{text}\x1b[0m"
        print(text)
    sys.stdout.flush()


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()
