"""Where and how a run ran, as the ledger records it: the branch, the settings, the env.

Learnings compare runs. A comparison is only true when the two runs differ by the
code alone: the same branch, a later commit of it, and the same settings. This module
reads what makes that checkable, at the moment a run is recorded: the checked-out
branch (read with git here, so nothing upstream has to pass it), a digest of the
settings that decide verdicts, and the environment variables that set them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import ToolError
from pytest_tddgate.facts.git import git_start
from pytest_tddgate.options import ProjectOptions

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_tddgate.proc import Background
    from pytest_tddgate.settings import Settings

# options that say where outputs go or which gates run: they change no gate's verdict
_NOT_JUDGING = frozenset(
    {
        "report",
        "markdown",
        "sarif",
        "html",
        "ledger",
        "ledger_keep",
        "learn",
        "expertise",
        "only",
        "skip",
    }
)
ENV_NAMES = (
    "CI",
    *sorted(
        {str(f.metadata["env"]) for f in dataclasses.fields(ProjectOptions) if f.metadata["env"]}
    ),
)


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a recorded run ran under, besides the code."""

    branch: str | None  # None: detached HEAD, or not a git checkout
    settings_digest: str  # the settings that decide verdicts, and the roles file
    env: str  # JSON object: the environment variables of ENV_NAMES that were set


def run_context(
    settings: Settings, branch: str | None, environ: Mapping[str, str] | None = None
) -> RunContext:
    """Digest the settings and the relevant environment of this run on `branch`."""
    environ = os.environ if environ is None else environ
    env = {name: environ[name] for name in ENV_NAMES if environ.get(name)}
    env_text = json.dumps(env, sort_keys=True)
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(json.dumps(_judging(settings), sort_keys=True, default=str).encode())
    digest.update(b"\0" + env_text.encode())
    digest.update(b"\0" + _roles_file(settings))
    return RunContext(branch, digest.hexdigest()[:16], env_text)


def start_branch(root: Path) -> Background:
    """Start reading the checked-out branch, so git runs while the caller hashes files."""
    return git_start(["symbolic-ref", "--quiet", "--short", "HEAD"], root, ok_codes=(0, 1, 128))


def branch_of(probe: Background) -> str | None:
    """The branch `start_branch` read; None when HEAD is detached or there is no git."""
    try:
        done = probe.result()
    except ToolError:  # no git: no branch
        return None
    finally:
        probe.cancel()
    name = done.text.strip()
    return name if done.returncode == 0 and name else None


def current_branch(root: Path) -> str | None:
    """The checked-out branch; None when HEAD is detached or there is no git checkout."""
    return branch_of(start_branch(root))


def _judging(settings: Settings) -> dict[str, Any]:
    project = {
        f.name: _plain(getattr(settings.project, f.name))
        for f in dataclasses.fields(settings.project)
        if f.name not in _NOT_JUDGING
    }
    return {
        "project": project,
        "gates": {name: _plain(value) for name, value in sorted(settings.gates.items())},
        "waivers": _plain(settings.waivers),
        "source_roots": list(settings.source_roots),
        "test_roots": list(settings.test_roots),
    }


def _plain(value: Any) -> Any:
    """JSON-able form of a settings value (dataclasses, mappings, tuples, paths)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _roles_file(settings: Settings) -> bytes:
    """The roles file decides the `roles` verdict as much as any setting does."""
    try:
        return settings.path(settings.project.roles).read_bytes()
    except OSError:
        return b""
