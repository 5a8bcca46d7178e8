"""What the guard keeps between hook events, under `.tddgate/guard/` (the tool's own
folder, never judged as anyone's change), one file per session and written
atomically:

- the working tree before a command (PreToolUse), read back and removed after it
  (PostToolUse): per file that differs from HEAD, the digest of its content and, for
  Python files, the content itself, so that the change a command made can be judged
  and undone;
- the session's stop memory (guard/decide.py's `StopMemory`).

The working tree is read with one `git status`; a file git does not list is as in
HEAD.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.guard.decide import StopMemory
from pytest_tddgate.guard.judge import GitUnavailable
from pytest_tddgate.guard.outcomes import digest
from pytest_tddgate.guard.record import GUARD_DIR

if TYPE_CHECKING:
    from pathlib import Path

_GIT_TIMEOUT_S = 20.0
_KEEP_TEXT = 1 << 20  # Python files up to 1 MiB keep their text in a snapshot


@dataclass(frozen=True, slots=True)
class FileState:
    digest: str | None  # None: the file does not exist
    text: str | None = None  # kept for Python files


Tree = dict[str, FileState]  # path relative to the git top folder -> its state


def git(toplevel: Path, *args: str) -> bytes:
    import subprocess  # here: only commands and stops read the working tree

    try:
        done = subprocess.run(
            ["git", *args],
            cwd=toplevel,
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitUnavailable(f"git could not run: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise GitUnavailable(message[0] if message else f"git {args[0]} failed")
    return done.stdout


def toplevel_of(folder: Path) -> Path:
    from pathlib import Path

    out = git(folder, "rev-parse", "--show-toplevel").decode(errors="surrogateescape")
    return Path(out.strip())


def working_tree(toplevel: Path) -> Tree:
    """Every file that differs from HEAD (or is untracked), with its state now."""
    out = git(toplevel, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames")
    tree: Tree = {}
    for entry in out.split(b"\0"):
        if len(entry) < 4:
            continue
        path = entry[3:].decode(errors="surrogateescape")
        tree[path] = read_state(toplevel, path)
    return tree


def read_state(toplevel: Path, path: str) -> FileState:
    """A Python file by its content (kept, to judge and undo a change); any other
    file by its size and modification time, so that an untracked folder of large
    files costs a `stat` each, not a read."""
    full = toplevel / path
    if not path.endswith(".py"):
        try:
            stat = full.stat()
        except (FileNotFoundError, NotADirectoryError):
            return FileState(None)
        except OSError:
            return FileState("unreadable")
        return FileState(f"stat:{stat.st_size}:{stat.st_mtime_ns}")
    try:
        data = full.read_bytes()
    except (IsADirectoryError, FileNotFoundError, NotADirectoryError):
        return FileState(None)
    except OSError:
        return FileState("unreadable")
    text = data.decode(errors="surrogateescape") if len(data) <= _KEEP_TEXT else None
    return FileState(digest(data), text)


def head_text(toplevel: Path, path: str) -> str | None:
    """The file's text in HEAD; None when HEAD has no such file (or no commit)."""
    try:
        return git(toplevel, "show", f"HEAD:{path}").decode(errors="surrogateescape")
    except GitUnavailable:
        return None


def changed_by_command(before: Tree, after: Tree) -> list[str]:
    """Files whose state differs between the two snapshots (absent: as in HEAD)."""
    paths = sorted(set(before) | set(after))
    return [p for p in paths if _digest(before.get(p)) != _digest(after.get(p))]


def _digest(state: FileState | None) -> str:
    return "HEAD" if state is None else str(state.digest)


def _session_file(root: Path, session: str, what: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", session)[:100] or "session"
    return root / GUARD_DIR / f"{what}-{safe}.json"


def save_snapshot(root: Path, session: str, tool_use_id: str, tree: Tree) -> None:
    """One file per tool call: commands that run in parallel never overwrite one
    another's snapshot."""
    data = {p: {"digest": s.digest, "text": s.text} for p, s in tree.items()}
    text = json.dumps({"version": 1, "tree": data})
    atomic_write_text(_snapshot_file(root, session, tool_use_id), text)


def take_snapshot(root: Path, session: str, tool_use_id: str) -> Tree | None:
    """The snapshot saved before this tool call, removed; None: there is none."""
    path = _snapshot_file(root, session, tool_use_id)
    raw = _read_json(path).get("tree")
    path.unlink(missing_ok=True)
    if not isinstance(raw, dict):
        return None  # none, or a damaged one: comparing with it would blame old changes
    return {
        p: FileState(_str(v.get("digest")), _str(v.get("text")))
        for p, v in raw.items()
        if isinstance(v, dict)
    }


def _snapshot_file(root: Path, session: str, tool_use_id: str) -> Path:
    call = re.sub(r"[^A-Za-z0-9_.-]", "_", tool_use_id)[:100] or "last"
    return _session_file(root, session, f"before-{call}")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def load_memory(root: Path, session: str) -> StopMemory:
    data = _read_json(_session_file(root, session, "stops"))
    blocks, last, repeats = data.get("blocks"), data.get("last"), data.get("repeats")
    if isinstance(blocks, int) and isinstance(last, str) and isinstance(repeats, int):
        return StopMemory(blocks, last, repeats)
    return StopMemory()


def save_memory(root: Path, session: str, memory: StopMemory) -> None:
    data = {"blocks": memory.blocks, "last": memory.last, "repeats": memory.repeats}
    atomic_write_text(_session_file(root, session, "stops"), json.dumps(data))


def atomic_write_text(path: Path, text: str) -> None:
    # imported when written: the edit path catches this module's error, nothing more
    from pytest_tddgate.fsutil import atomic_write_text as write

    write(path, text)


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
