"""`tddgate combine`'s work: judge every gate once over a set of shard files.

The shards' tests and measurements become the facts a `pytest --tddgate` run's
session would have at its end (`facts.test_run`, the coverage facts); the static
gates read git and run ruff and mypy here, in a checkout of the same commit. Then
the same end of run as the session's: `engine.judge`, `report.publish`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.gates import builtin_gates
from pytest_tddgate.report import Published, publish
from pytest_tddgate.shard import Shard, ShardError, read
from pytest_tddgate.shard.covmerge import combined_coverage
from pytest_tddgate.shard.merge import check_set, merge_tests, verdict
from pytest_tddgate.shard.record import checkout

if TYPE_CHECKING:
    from pytest_tddgate.model import Report
    from pytest_tddgate.projectroot import ProjectRoot
    from pytest_tddgate.settings import Settings

_OK, _FAILED, _NO_TESTS = 0, 1, 5


@dataclass(frozen=True, slots=True)
class Combined:
    """The judged set: the report, what was written, and the exit status."""

    report: Report
    published: Published
    exitstatus: int
    facts: Facts
    shards: int
    notes: tuple[str, ...] = ()  # status lines about the command itself


def combine(
    paths: Sequence[Path],
    settings: Settings,
    *,
    found: ProjectRoot | None = None,
    expect: int | None = None,
    environ: Mapping[str, str],
) -> Combined:
    """Read, check and merge the shard files, judge, write every output. Raises
    `UsageError` for a user's mistake in the settings or input files (exit 4)."""
    gates = builtin_gates()
    facts = Facts(settings)
    if found is not None:  # the report says how the root was found
        facts.provided["project_root"] = found
    engine.validate(gates, settings, facts)
    # ruff and mypy start now and run while the shards are read and merged
    engine.prepare(gates, settings, facts)
    try:
        shards, unreadable = _read_all(paths)
        problems = check_set(shards, unreadable, checkout(settings, environ), expect)
        facts.test_run, unrun = merge_tests(shards)
        provided, uncovered = combined_coverage(settings, facts, shards)
    except BaseException:
        facts.cancel_background()
        raise
    facts.provided.update(provided)
    problems += unrun + uncovered
    extra = (verdict(problems, len(paths)),) if problems else ()
    report = engine.judge(gates, settings, facts, extra)
    published = publish(report, settings, facts.test_run, environ)
    status = facts.test_run.exitstatus
    if (not report.passed or not published.complete) and status in (_OK, _NO_TESTS):
        status = _FAILED
    notes = tuple(_untracked(paths, settings.root))
    return Combined(report, published, status, facts, len(shards), notes)


def _untracked(paths: Sequence[Path], root: Path) -> list[str]:
    """Shard files in the checkout that git sees as new: the tdd and roles gates judged
    them as uncommitted changes, which the shards did not have."""
    from pytest_tddgate.errors import ToolError
    from pytest_tddgate.facts.git import git

    real = Path(os.path.realpath(root))
    inside = [str(p) for p in paths if Path(os.path.realpath(p)).is_relative_to(real)]
    if not inside:
        return []
    try:
        done = git(["ls-files", "-z", "--others", "--exclude-standard", "--", *inside], root)
    except ToolError:
        return []
    return [
        f"tddgate: note: {name} is an untracked file of the checkout, judged as an "
        "uncommitted change; keep shard files outside it (or git-ignore them)"
        for name in done.text.split("\0")
        if name
    ]


def _read_all(paths: Sequence[Path]) -> tuple[list[Shard], list[ShardError]]:
    shards: list[Shard] = []
    unreadable: list[ShardError] = []
    for path in paths:
        try:
            shards.append(read(path))
        except ShardError as exc:
            unreadable.append(exc)
    return shards, unreadable
