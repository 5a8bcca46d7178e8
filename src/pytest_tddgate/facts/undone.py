"""Changes that the range itself undoes: net nothing, so nothing to judge.

`git revert` of a forbidden commit, restoring a file by hand (`git checkout sha~1 --
path`), deleting a file that was added: each leaves the file as it was before the
change. A run of changes to one path, from change m to change j, nets nothing when
the content after j equals the content before m (both "absent" counts). Every change
inside such a run is undone, the revert as much as what it reverts.

Contents compare by git object id, which the history already carries for commits and
the index. The working tree's new content has no id until hashed: it is hashed here,
as `git hash-object` would without filters (a checkout with `core.autocrlf` or a clean
filter may then differ, and the change simply counts as not undone).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

from pytest_tddgate.facts.history import WORKTREE

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_tddgate.facts.history import Change, Commit

State = object  # an object id, None (absent), or a fresh object (unknown: equals nothing)
Step = tuple[int, State, State]  # (position of the commit in the range, before, after)


def undone_changes(commits: Sequence[Commit], toplevel: Path) -> frozenset[tuple[int, str]]:
    """(position of the commit in `commits`, path) of every change the range undoes."""
    steps: dict[str, list[Step]] = {}
    for index, commit in enumerate(commits):
        for change in commit.changes:
            for path, before, after in _states(commit, change, toplevel):
                steps.setdefault(path, []).append((index, before, after))
    return frozenset(
        (index, path) for path, run in steps.items() if len(run) > 1 for index in _net_nothing(run)
    )


def _states(commit: Commit, change: Change, toplevel: Path) -> list[tuple[str, State, State]]:
    """(path, content before, content after) for each path a change touches: a rename
    removes the old path and adds the new one, a copy adds the new one."""
    after: State = None
    if change.status != "D":
        after = change.new_blob or _worktree_id(commit, change, toplevel)
    if change.status == "R" and change.old_path:
        return [(change.old_path, change.old_blob, None), (change.path, None, after)]
    before = None if change.status in ("A", "C") else change.old_blob
    return [(change.path, before, after)]


def _net_nothing(run: list[Step]) -> set[int]:
    """Positions of the steps inside some stretch whose end equals its start.

    For each step, the earliest earlier step that started from its result gives the
    longest such stretch ending there; the stretches are then marked in one sweep.
    A single step from a content to itself (a mode change) is not a stretch.
    """
    first: dict[State, int] = {}
    marks = [0] * (len(run) + 1)
    for position, (_, before, after) in enumerate(run):
        first.setdefault(before, position)
        start = first.get(after)
        if start is not None and start < position:
            marks[start] += 1
            marks[position + 1] -= 1
    found: set[int] = set()
    depth = 0
    for position, (index, _, _) in enumerate(run):
        depth += marks[position]
        if depth > 0:
            found.add(index)
    return found


def _worktree_id(commit: Commit, change: Change, toplevel: Path) -> State:
    """The object id git would give the working tree's file; unknown elsewhere."""
    if commit.sha != WORKTREE:
        return object()  # the index always names its blobs: this is no content we know
    file = toplevel / change.path
    try:
        data = os.fsencode(file.readlink()) if file.is_symlink() else file.read_bytes()
    except OSError:
        return object()
    # a SHA-256 repository names its objects with 64 hex digits
    algorithm = hashlib.sha256 if len(change.old_blob or "") == 64 else hashlib.sha1
    return algorithm(b"blob %d\0" % len(data) + data).hexdigest()
