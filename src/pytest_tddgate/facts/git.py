"""Git facts: the repository, HEAD and the base of the range the gates judge.

Every call goes through `git()`: an argument list, a timeout, `-z` where paths are
printed, and configuration that keeps the repository under check from running code
of its own through git (fsmonitor, external diff drivers, hooks) or changing the output we
parse (quotepath, pager, signatures, relative paths).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.proc import Background, Completed, run

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_tddgate.facts import Facts

DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "master")
_DEFAULT_REFS = {
    "origin/HEAD": "refs/remotes/origin/HEAD",
    "origin/main": "refs/remotes/origin/main",
    "main": "refs/heads/main",
    "master": "refs/heads/master",
}
_SAFE_CONFIG = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotepath=false",
    "-c",
    "core.pager=cat",
    "-c",
    "color.ui=false",
    "-c",
    "log.showSignature=false",
    "-c",
    "diff.relative=false",
    # no hook runs: `git worktree add` (the red-green replays) would run post-checkout,
    # reference-transaction and post-index-change hooks of the checkout under judgement
    "-c",
    "core.hooksPath=/dev/null",
)
_ENV_KEEP = ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "GIT_EXEC_PATH")
# set by git for hooks (pre-commit runs inside one); they point at the checkout under
# check, so a command run in another worktree must not inherit them
REPOSITORY_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
)


def git(
    args: Sequence[str],
    cwd: Path,
    *,
    ok_codes: tuple[int, ...] = (0,),
    timeout: float = 120.0,
    isolated: bool = False,
    stdin: bytes | None = None,
) -> Completed:
    """Run one git command; a missing git or a failure raises `ToolError`.

    `isolated` drops the repository variables a git hook sets, for commands that
    work on another repository or worktree than the one being checked.
    """
    return run(
        ["git", *_SAFE_CONFIG, *args],
        cwd=cwd,
        ok_codes=ok_codes,
        timeout=timeout,
        env=_environment(isolated),
        stdin=stdin,
    )


def git_command(args: Sequence[str]) -> tuple[str, ...]:
    """The argument list `git()` runs, for a process driven by hand."""
    return ("git", *_SAFE_CONFIG, *args)


def git_environment() -> dict[str, str]:
    """The environment `git()` gives git (see `_environment`)."""
    return _environment(False)


def git_start(
    args: Sequence[str], cwd: Path, *, timeout: float = 120.0, ok_codes: tuple[int, ...] = (0,)
) -> Background:
    """Start one git command now and collect it later (`.result()`), so that it runs
    while another one does."""
    return Background(
        ["git", *_SAFE_CONFIG, *args],
        cwd=cwd,
        timeout=timeout,
        ok_codes=ok_codes,
        env=_environment(False),
    )


def _environment(isolated: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith("GIT_")}
    if isolated:
        for name in REPOSITORY_ENV:
            env.pop(name, None)
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
    return env


@dataclass(frozen=True, slots=True)
class Revisions:
    """Where the range starts and ends."""

    toplevel: Path
    head: str | None  # None: the repository has no commits yet
    base: str | None  # None: no commits yet
    base_note: str  # how the base was chosen, for the report
    shallow: bool
    base_is_root: bool = False  # no base ref: the range includes the root commit itself


@dataclass(frozen=True, slots=True)
class Probing:
    """The git processes `revisions` reads, started: see `start_revisions`."""

    probe: Background  # rev-parse: top folder, shallowness, HEAD (and the base)
    refs: Background | None  # for-each-ref of the default bases (no explicit base)
    with_base: bool  # `probe` resolves the explicit base too

    def cancel(self) -> None:
        for task in (self.probe, self.refs):
            if task is not None:
                task.cancel()


def start_revisions(facts: Facts) -> Probing:
    """Start the processes that resolve HEAD and the base, at once and side by side,
    so that they run while the caller works (the coverage measurement starts them
    before it imports coverage.py); `revisions` collects them."""
    root = facts.settings.root
    explicit = facts.settings.project.base
    if explicit:
        return Probing(git_start(_with_base_args(explicit), root, ok_codes=(0, 1, 128)), None, True)
    probe = git_start(_PROBE_ARGS, root, ok_codes=(0, 1))
    refs = git_start(_REFS_ARGS, root, ok_codes=(0, 1, 128))
    return Probing(probe, refs, False)


def revisions(facts: Facts) -> Revisions:
    """Resolve HEAD and the base: explicit, else the merge-base with a default branch."""
    probing = facts.get(start_revisions)
    try:
        return _resolve(facts, probing)
    finally:
        probing.cancel()  # only what was not read: a failure must leave no process


def _resolve(facts: Facts, probing: Probing) -> Revisions:
    root = facts.settings.root
    explicit = facts.settings.project.base
    known = None
    if probing.with_base and explicit:
        # a failed probe (no git, not a repository) is told apart by `_probe` below
        with contextlib.suppress(ToolError):
            known = _with_base(probing.probe.result(), explicit)
    if known is not None:  # the usual case with --tddgate-base: one process
        if known.shallow:
            _check_reachable(root, known.base or "", explicit or "")
        return known
    probe = (
        probing.probe if not probing.with_base else git_start(_PROBE_ARGS, root, ok_codes=(0, 1))
    )
    toplevel, shallow, head = _probe(root, probe)
    if head is None:
        return Revisions(
            toplevel, None, None, "no commits yet: the working tree is the whole range", shallow
        )
    if explicit:
        base = _rev(root, explicit)
        if base is None:
            raise _missing_base(explicit, shallow)
        if shallow:
            _check_reachable(root, base, explicit)
        return Revisions(toplevel, head, base, f"{explicit} ({base[:8]})", shallow)
    assert probing.refs is not None
    for candidate in _existing_defaults(probing.refs):
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


_PROBE_ARGS = ("rev-parse", "--show-toplevel", "--is-shallow-repository", "--verify", "-q", "HEAD")
_REFS_ARGS = ("for-each-ref", "--format=%(refname)", *_DEFAULT_REFS.values())


def _with_base_args(base: str) -> list[str]:
    """Top folder, shallowness, HEAD and the base in one process."""
    return [
        "rev-parse",
        "--show-toplevel",
        "--is-shallow-repository",
        "--end-of-options",
        "HEAD^{commit}",
        f"{base}^{{commit}}",
    ]


def _with_base(done: Completed, base: str) -> Revisions | None:
    """The revisions `_with_base_args` asked for; None when any of them is missing,
    for `_probe` and `_rev` to tell which and why."""
    # some git versions echo the separator back
    lines = [line for line in done.text.splitlines() if line != "--end-of-options"]
    if done.returncode != 0 or len(lines) != 4 or not lines[0]:
        return None
    sha = lines[3].strip()
    return Revisions(
        Path(lines[0]), lines[2].strip(), sha, f"{base} ({sha[:8]})", lines[1].strip() == "true"
    )


def _existing_defaults(refs: Background) -> list[str]:
    """The default bases that exist, in order of preference (one process for all)."""
    present = set(refs.result().text.split())
    return [name for name in DEFAULT_BASES if _DEFAULT_REFS[name] in present]


def _probe(root: Path, probe: Background) -> tuple[Path, bool, str | None]:
    """The top folder of the checkout, whether it is shallow, and HEAD (None before
    the first commit), from the `_PROBE_ARGS` process."""
    try:
        done = probe.result()
    except ToolError as exc:
        if exc.returncode == 127:
            raise FactError("git is not installed", fix="install git") from None
        if "dubious ownership" in exc.stderr:
            raise FactError(
                f"git refuses to read {root}: it belongs to another user",
                fix=f"git config --global --add safe.directory {root}",
            ) from None
        if exc.returncode is None:
            raise
        raise FactError(
            f"{root} is not inside a git repository",
            fix="run inside a git checkout (`git init`), or skip the gate with --tddgate-skip",
        ) from None
    lines = done.text.splitlines()
    if len(lines) < 2 or not lines[0]:
        raise FactError(
            f"{root} is inside a bare git repository or a .git folder",
            fix="run from the working tree of the checkout",
        )
    head = lines[2].strip() if done.returncode == 0 and len(lines) > 2 else None
    return Path(lines[0]), lines[1].strip() == "true", head or None


def _rev(root: Path, rev: str) -> str | None:
    done = git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        root,
        ok_codes=(0, 1, 128),
    )
    return done.text.strip() or None if done.returncode == 0 else None


def _check_reachable(root: Path, base: str, name: str) -> None:
    """In a shallow clone the base may exist while the history joining it to HEAD
    does not; `base..HEAD` would then silently list every commit down to the cut."""
    done = git(["merge-base", base, "HEAD"], root, ok_codes=(0, 1, 128))
    if done.returncode != 0:
        raise _missing_base(f"the history between {name} and HEAD", shallow=True)


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
