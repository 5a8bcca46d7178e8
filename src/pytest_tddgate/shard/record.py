"""The shard run's side: what identifies the checkout it ran in, and the file.

A shard set adds up only when every shard ran the same code with the same settings:
the commit and the settings' digest (the one the ledger compares runs by) say so,
and the project root's place in the checkout tells one project of a monorepo from
another.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate import __version__
from pytest_tddgate.errors import ToolError
from pytest_tddgate.shard import Collection, Shard, write

if TYPE_CHECKING:
    from pytest_tddgate.facts.testrun import TestRun
    from pytest_tddgate.settings import Settings


@dataclass(frozen=True, slots=True)
class Checkout:
    """Where a shard ran, or where `tddgate combine` runs."""

    commit: str | None  # None: no git, or no commit yet
    project: str  # the project root relative to the top of the checkout ("." at the top)
    settings_digest: str


def checkout(settings: Settings, environ: Mapping[str, str] | None = None) -> Checkout:
    """The commit, the project's place in the checkout, and the settings' digest."""
    from pytest_tddgate.facts.git import git
    from pytest_tddgate.facts.ledger_context import run_context

    root = Path(os.path.realpath(settings.root))
    commit, top = None, root
    try:
        done = git(["rev-parse", "--show-toplevel", "HEAD"], root, ok_codes=(0, 128))
        lines = done.text.splitlines()
        if lines:
            top = Path(os.path.realpath(lines[0]))
        if done.returncode == 0 and len(lines) > 1:
            commit = lines[1].strip() or None
    except ToolError:  # no git: a shard set without commits to compare
        pass
    try:
        project = root.relative_to(top).as_posix()
    except ValueError:
        project = "."
    digest = run_context(settings, None, environ).settings_digest
    return Checkout(commit, project, digest)


def write_shard(
    path: Path,
    settings: Settings,
    tests: TestRun,
    *,
    collection: Collection,
    coverage: Mapping[str, Any] | None,
    label: str,
    testpaths: Sequence[str] = (),
) -> Shard:
    """Write the shard file for this run and return what it holds. Raises OSError."""
    where = checkout(settings)
    shard = Shard(
        source=str(path),
        shard_id=uuid.uuid4().hex,
        commit=where.commit,
        project=where.project,
        settings_digest=where.settings_digest,
        label=label,
        tests=tests,
        collection=collection,
        coverage=coverage,
        tool_version=__version__,
        testpaths=tuple(testpaths),
    )
    write(shard, path)
    return shard
