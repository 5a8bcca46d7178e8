"""`tddgate baseline`: record today's ruff and mypy findings so only new ones fail.

The ratchet only tightens: re-running it drops findings that were fixed and never
adds one that the baseline does not already hold, unless `--force` says so. See
docs/baseline.md.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.commands import project_settings
from pytest_tddgate.engine import selected
from pytest_tddgate.errors import FactError, UsageError
from pytest_tddgate.facts import Facts, tools
from pytest_tddgate.facts import baseline as bl

if TYPE_CHECKING:
    import argparse

GATES = ("ruff", "mypy")
SHOWN = 20  # refused findings listed one by one; the rest are counted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate",
        dest="gates",
        action="append",
        choices=GATES,
        metavar="GATE",
        help="record only this gate's findings (ruff or mypy; repeatable); the other "
        "gate's entries are kept as they are. Default: every enabled one.",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="record every current finding, also new ones and even when the existing "
        "baseline file is broken (this loosens the ratchet: use it to adopt the gates, "
        "or after a deliberate decision)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project root (default: the folder of pytest's configuration file, from the current "
        "folder upwards within the checkout)",
    )
    parser.epilog = (
        "exit status: 0 baseline written (or already up to date); 1 new "
        "findings were kept out, or a tool could not run; 4 usage error "
        "(bad settings or a broken baseline file)."
    )


def run(args: argparse.Namespace) -> int:
    settings = project_settings(args.root)
    target = settings.path(settings.project.baseline)
    old = _previous(target, force=args.force)
    gates = [g for g in (args.gates or GATES) if args.gates or selected(settings, g) is None]
    facts = Facts(settings)
    for gate in gates:  # start every tool before waiting on any
        try:
            tools.start_gate(facts, gate)
        except FactError:
            continue  # reported below, with the other gate's result
    current: Counter[bl.Fingerprint] = Counter()
    try:
        for gate in gates:
            current += bl.fingerprints(tools.findings_of(facts, gate), settings.root)
    except FactError as exc:
        print(f"tddgate baseline: {exc.message}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        print("  nothing was written", file=sys.stderr)
        return 1
    finally:
        facts.cancel_background()
    # no baseline yet: this run adopts every current finding
    scope = bl.Scope(frozenset(gates), tools.unmeasured(settings))
    result = bl.ratchet(old, current, scope, accept_new=args.force or not old.exists)
    changed = bl.save(target, result.counts)
    _print_result(result, target, settings.root, changed)
    return 1 if result.refused else 0


def _previous(target: Path, *, force: bool) -> bl.Baseline:
    """The baseline on disk; with --force a broken one is replaced instead of refused."""
    try:
        return bl.load(target)
    except UsageError:
        if force:
            return bl.Baseline(target)
        raise


def _print_result(result: bl.Ratchet, target: Path, root: Path, changed: bool) -> None:
    shown = target.relative_to(root) if target.is_relative_to(root) else target
    per_gate = Counter(dict.fromkeys(GATES, 0))
    for key, n in result.counts.items():
        per_gate[key.gate] += n
    total = sum(per_gate.values())
    split = ", ".join(f"{g} {n}" for g, n in per_gate.items())
    verb = "wrote" if changed else "unchanged:"
    print(f"tddgate baseline: {verb} {shown}: {total} finding(s) ({split})")
    if result.dropped:
        print(f"  dropped {result.dropped} fixed finding(s)")
    if not result.refused:
        return
    refused = sum(n for _, n in result.refused)
    print(
        f"  kept out {refused} new finding(s); fix them, or record them with "
        "`tddgate baseline --force`:"
    )
    for key, n in result.refused[:SHOWN]:
        times = f" (x{n})" if n > 1 else ""
        print(f"    {key.path}: {key.rule} {key.message}{times}")
    if len(result.refused) > SHOWN:
        print(f"    ... and {len(result.refused) - SHOWN} more")
