"""`tddgate combine FILE... [--expect N]`: judge a suite split across CI machines.

Each shard job runs `pytest --tddgate --tddgate-shard=PATH` on its part of the tests;
this command, run once in a checkout of the same commit, merges their files and
judges every gate once, as one unsharded `pytest --tddgate` run would: it writes the
same outputs (JSON, Markdown, SARIF, HTML, GitHub annotations and job summary, the
ledger row) and exits as that run would: 0 every gate passed, 1 a gate failed or
could not judge (a shard set that does not add up is an `error`), 4 a usage error.
See docs/sharding.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.commands.check import _gate_list

if TYPE_CHECKING:
    from pytest_tddgate.projectroot import ProjectRoot
    from pytest_tddgate.settings import Settings

_COLORS = {"red": "31", "green": "32", "yellow": "33"}
_OUTPUTS = ("report", "markdown", "sarif", "html")


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a number of shards (1 or more), got {value!r}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", nargs="+", metavar="FILE", type=Path, help="the shard files to combine"
    )
    parser.add_argument(
        "--expect",
        metavar="N",
        type=_positive,
        help="the number of shards the suite was split into: fewer (or more) is an error",
    )
    parser.add_argument(
        "--base", metavar="REV", help="as --tddgate-base of the shards (env TDDGATE_BASE)"
    )
    parser.add_argument(
        "--role", metavar="NAME", help="as --tddgate-role of the shards (env TDDGATE_ROLE)"
    )
    parser.add_argument("--only", metavar="G1,G2", type=_gate_list, help="run only these gates")
    parser.add_argument("--skip", metavar="G1,G2", type=_gate_list, help="do not run these gates")
    parser.add_argument("--report", metavar="PATH", help="JSON report path")
    parser.add_argument("--markdown", metavar="PATH", help="also write a Markdown report")
    parser.add_argument("--sarif", metavar="PATH", help="also write a SARIF 2.1.0 report")
    parser.add_argument("--html", metavar="DIR", help="also write the HTML report into DIR")
    parser.add_argument(
        "--no-learn", action="store_true", help="do not update the expertise learnings"
    )


def run(args: argparse.Namespace) -> int:
    from pytest_tddgate.shard.combine import combine

    settings, found = _settings(args)
    combined = combine(args.files, settings, found=found, expect=args.expect, environ=os.environ)
    _print(combined, color=_use_color())
    return combined.exitstatus


def _settings(args: argparse.Namespace) -> tuple[Settings, ProjectRoot]:
    """The settings as the shards' `pytest --tddgate` resolved them: the project root by
    the same rule, from the folder this runs in."""
    from pytest_tddgate.commands import pytest_testpaths
    from pytest_tddgate.projectroot import find_project_root
    from pytest_tddgate.settings import BUILTIN_GATES, Overrides, load_pyproject, resolve

    here = Path.cwd()
    found = find_project_root(here, here)
    values: dict[str, Any] = {
        "base": args.base,
        "role": args.role,
        "only": args.only,
        "skip": args.skip,
    }
    for name in _OUTPUTS:  # paths the user typed are relative to where this runs
        given = getattr(args, name)
        if given is not None:
            values[name] = os.fspath((here / given).resolve())
    overrides = Overrides(values=values, learn=False if args.no_learn else None)
    testpaths = pytest_testpaths(found.path)
    if testpaths is None:  # pytest's configuration is elsewhere: as the shards found it
        from pytest_tddgate.shard import first_testpaths

        testpaths = first_testpaths(args.files)
    table, _, _ = load_pyproject(found.path)
    gates = table.get("gates", {})
    # gates of pytest plugins: their sections are theirs; combine runs the built-in ones
    plugins = [str(n) for n in (gates if isinstance(gates, dict) else ()) if n not in BUILTIN_GATES]
    settings = resolve(found.path, overrides=overrides, testpaths=testpaths, plugin_gates=plugins)
    return settings, found


def _print(combined: Any, *, color: bool) -> None:
    from pytest_tddgate.report import closing_lines

    facts = combined.facts
    lines, workflow = closing_lines(
        combined.report,
        facts.settings,
        facts.test_run,
        combined.published.report_path,
        here=Path.cwd(),
        environ=os.environ,
    )
    print(f"tddgate combine: {combined.shards} shard(s), judged as one run")
    for line in lines:
        text = line.text
        if color and (line.color or line.bold):
            codes = ";".join(
                c for c in ("1" if line.bold else "", _COLORS.get(line.color or "")) if c
            )
            text = f"\x1b[{codes}m{text}\x1b[0m"
        print(text)
    for problem in (*combined.published.problems, *combined.notes):
        print(problem)
    for command in workflow:  # read by GitHub Actions
        print(command)
    sys.stdout.flush()


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()
