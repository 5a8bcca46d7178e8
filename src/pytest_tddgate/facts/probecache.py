"""The probed code of a file, kept in `__pycache__` for the next run.

Compiling a file with probes means parsing it, adding the probes and compiling the
tree: on click (76 files, 28,000 lines, its tests included) that took 1.2-1.5 s at
every run, against nothing for a plain import, which loads `__pycache__`. So the
probed code is kept there too, under a name of its own that no import system looks
for: `name.cpython-311-tddgate-<variant>.pyc` (pytest keeps its rewritten test modules
the same way, as `name.cpython-311-pytest-9.2.0.pyc`).

An entry is used only for the same source bytes at the same path (the probes name
builtins after the path), with the same probes (lines, or lines and branches), the
same pytest rewriting, and this package's version; anything else compiles afresh and
replaces it. Writing is atomic (a temporary file, then a rename), and is skipped
where `__pycache__` cannot be written or Python is told not to write bytecode
(`PYTHONDONTWRITEBYTECODE`).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

from pytest_tddgate import __version__

FORMAT = 1  # the probes' code and what is stored with it; raise when either changes


def entry(source_path: str, variant: str) -> Path | None:
    """Where the probed code of `source_path` is kept (None: no cache for this Python)."""
    tag = getattr(sys.implementation, "cache_tag", None)  # None: caching is off
    if not isinstance(tag, str):
        return None
    path = Path(source_path)
    return path.parent / "__pycache__" / f"{path.stem}.{tag}-tddgate-{variant}.pyc"


def key(source: bytes, real: str, variant: str) -> bytes:
    digest = hashlib.sha256(source)
    for part in (real, variant, __version__, str(FORMAT)):
        digest.update(b"\0" + part.encode())
    return digest.digest()


def load(where: Path | None, expected: bytes) -> tuple[CodeType, Any] | None:
    """The code and the extras stored for `expected`; None when there is no such entry."""
    if where is None:
        return None
    try:
        stored = marshal.loads(where.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(stored, tuple) or len(stored) != 3 or stored[0] != expected:
        return None
    code, extras = stored[1], stored[2]
    return (code, extras) if isinstance(code, CodeType) else None


def store(where: Path | None, expected: bytes, code: CodeType, extras: Any) -> None:
    """Keep the entry; a folder that cannot be written is no error (nothing is kept)."""
    if where is None or sys.dont_write_bytecode:
        return
    temporary = where.with_name(f"{where.name}.{os.getpid()}.tmp")
    try:
        where.parent.mkdir(exist_ok=True)
        temporary.write_bytes(marshal.dumps((expected, code, extras)))
        temporary.replace(where)
    except (OSError, ValueError):  # ValueError: extras marshal cannot write
        with contextlib.suppress(OSError):
            temporary.unlink()
