"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    # the only portable way to read the umask is to set it; done once, at import
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same folder, fsync, rename.

    The temp file lives beside the target so `os.replace` is a same-filesystem rename,
    which is atomic on POSIX and Windows. On any failure the temp file is removed and
    the previous content of `path` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            # mkstemp creates 0600; keep the mode a person gave the file, or give a new
            # file the mode open() would have (0666 less the umask)
            mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK
            Path(tmp_name).chmod(mode)
        Path(tmp_name).replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp_name).unlink()
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a failed write() names no file: say which one
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text, keeping the newlines exactly as given."""
    atomic_write_bytes(path, text.encode("utf-8"))
