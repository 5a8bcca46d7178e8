"""Git facts: the repository, HEAD and the base of the range the gates judge.

Every call goes through `git()`: an argument list, a timeout, `-z` where paths are
printed, and configuration that keeps the repository under check from running code
of its own through git (fsmonitor) or rewriting output (quotepath, pager).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.facts import Facts
from pytest_tddgate.proc import Completed, run

DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "master")
_SAFE_CONFIG = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotepath=false",
    "-c",
    "core.pager=cat",
    "-c",
    "color.ui=false",
)
_ENV_KEEP = ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "GIT_EXEC_PATH")


def git(
    args: Sequence[str], cwd: Path, *, ok_codes: tuple[int, ...] = (0,), timeout: float = 120.0
) -> Completed:
    """Run one git command; a missing git or a failure raises `ToolError`."""
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith("GIT_")}
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    return run(["git", *_SAFE_CONFIG, *args], cwd=cwd, ok_codes=ok_codes, timeout=timeout, env=env)


@dataclass(frozen=True, slots=True)
class Revisions:
    """Where the range starts and ends."""

    toplevel: Path
    head: str | None  # None: the repository has no commits yet
    base: str | None  # None: no commits yet
    base_note: str  # how the base was chosen, for the report
    shallow: bool
    base_is_root: bool = False  # no base ref: the range includes the root commit itself


def revisions(facts: Facts) -> Revisions:
    """Resolve HEAD and the base: explicit, else the merge-base with a default branch."""
    root = facts.settings.root
    try:
        probe = git(["rev-parse", "--show-toplevel", "--is-shallow-repository"], root)
    except ToolError as exc:
        if exc.returncode == 127:
            raise FactError("git is not installed", fix="install git") from None
        raise FactError(
            f"{root} is not inside a git repository",
            fix="run inside a git checkout (`git init`), or skip the gate with --tddgate-skip",
        ) from None
    toplevel_text, shallow_text = probe.text.splitlines()[:2]
    toplevel, shallow = Path(toplevel_text), shallow_text.strip() == "true"
    head = _rev(root, "HEAD")
    if head is None:
        return Revisions(toplevel, None, None, "no commits yet", shallow)
    explicit = facts.settings.project.base
    if explicit:
        base = _rev(root, explicit)
        if base is None:
            raise _missing_base(explicit, shallow)
        return Revisions(toplevel, head, base, f"{explicit} ({base[:8]})", shallow)
    for candidate in DEFAULT_BASES:
        if _rev(root, candidate) is None:
            continue
        merge_base = git(["merge-base", "HEAD", candidate], root, ok_codes=(0, 1)).text.strip()
        if not merge_base:
            raise _missing_base(f"merge-base of HEAD and {candidate}", shallow)
        note = f"merge-base with {candidate} ({merge_base[:8]})"
        if merge_base == head:
            note += "; HEAD is on it, so only uncommitted changes are judged"
        return Revisions(toplevel, head, merge_base, note, shallow)
    if shallow:
        raise _missing_base("a base (no origin/HEAD, origin/main, main or master)", shallow)
    root_commit = git(["rev-list", "--max-parents=0", "--first-parent", "HEAD"], root)
    first = root_commit.text.split()[-1]
    return Revisions(
        toplevel,
        head,
        first,
        f"root commit {first[:8]} (no origin/HEAD, origin/main, main or master branch found)",
        shallow,
        base_is_root=True,
    )


def _rev(root: Path, rev: str) -> str | None:
    done = git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        root,
        ok_codes=(0, 1, 128),
    )
    return done.text.strip() or None if done.returncode == 0 else None


def _missing_base(what: str, shallow: bool) -> FactError:
    if shallow:
        return FactError(
            f"{what} is not in this shallow clone",
            fix="fetch the history: `git fetch --unshallow` "
            "(GitHub Actions: `fetch-depth: 0` in actions/checkout)",
        )
    return FactError(
        f"{what} was not found",
        fix="fetch it (`git fetch origin`) or pass an existing revision with "
        "--tddgate-base / TDDGATE_BASE",
    )
