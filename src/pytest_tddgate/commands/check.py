"""`tddgate check`: the static gates (tdd, roles, traceability) with no test run.

It is the pre-commit hook (`tddgate check --staged`), so it starts fast: pytest is
never imported on this path (pytest's `testpaths` are read from the configuration
files here), and the gate machinery is imported only once the arguments parsed.

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

if TYPE_CHECKING:
    from pytest_tddgate.model import Report

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
        help="judge the index (what `git commit` would record) instead of "
        "the working tree; for the pre-commit hook",
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
        help="role of uncommitted changes and of commits without a Role: "
        "trailer (env TDDGATE_ROLE)",
    )
    parser.add_argument("--only", metavar="G1,G2", type=_gate_list, help="run only these gates")
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
    # imported here, after parsing: `tddgate --help` and the other commands stay fast
    from pytest_tddgate import engine
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.history import COMMIT_MESSAGE
    from pytest_tddgate.gates import builtin_gates
    from pytest_tddgate.report.build import build_report
    from pytest_tddgate.settings import Overrides

    overrides = {"base": args.base, "role": args.role, "only": args.only, "skip": args.skip}
    settings = project_settings(None, Overrides(values=overrides))
    facts = Facts(settings, staged=args.staged)
    if args.message_file is not None:
        facts.provided[COMMIT_MESSAGE] = _read_message(args.message_file)
    gates = builtin_gates()
    engine.validate(gates, settings, facts)
    results = engine.evaluate(gates, settings, facts, static_only=True)
    report = build_report(settings, facts, results)
    if args.report is not None:
        from pytest_tddgate.report import write_json

        write_json(report, args.report.resolve())
    print_report(report, color=_use_color())
    return 0 if report.passed else 1


def _read_message(path: Path) -> str:
    from pytest_tddgate.errors import UsageError

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
