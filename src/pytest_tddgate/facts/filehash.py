"""Content hashes of the project's Python files, as the ledger records them per run.

A hash is the git blob id of the file's bytes (`git hash-object FILE` prints the same
when no filters apply), so a recorded hash can be looked up in the history. Hashing
is skipped for a file whose size and modification time match the previous run's
record: re-hashing only the edited files keeps this at a few milliseconds even for
projects with thousands of files.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from pytest_tddgate.settings import Settings

# A file written within this window of being hashed may change again within the
# same mtime tick; its cached hash is not trusted (git's "racy clean" rule).
_RACY_NS = 2_000_000_000
_SKIP_DIRS = {"__pycache__", "node_modules", "build", "dist"}


@dataclass(frozen=True, slots=True)
class FileHash:
    """One file's content hash in one run."""

    path: str  # relative to the project root, `/`-separated
    kind: str  # "impl" (implementation) or "test" (test files and conftest.py)
    blob: bytes  # 20-byte git blob id
    size: int
    mtime_ns: int
    hashed_ns: int  # when the bytes were last read, for the racy-clean rule


def blob_id(data: bytes) -> bytes:
    """The git blob id of `data`: sha1 of `blob <size>\\0` followed by the bytes."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.digest()


def is_test_file(relpath: str, settings: Settings) -> bool:
    """Files under a test root, `test_*.py`, `*_test.py` and `conftest.py` are tests."""
    name = relpath.rsplit("/", 1)[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(_under(relpath, root) for root in settings.test_roots)


def project_files(settings: Settings) -> Iterator[tuple[str, str, str]]:
    """(relative path, kind, absolute path) of every Python file under the source and
    test roots, each once, in a stable order. Plain strings: this runs for every file
    of the project on every run, and `pathlib` would triple its cost."""
    seen: set[str] = set()
    prefix = len(str(settings.root)) + 1
    for root in sorted({*settings.source_roots, *settings.test_roots}):
        top = settings.path(root)
        if not top.is_dir() or not top.is_relative_to(settings.root):
            continue
        for folder, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
            for name in sorted(names):
                if not name.endswith(".py"):
                    continue
                absolute = f"{folder}{os.sep}{name}"
                rel = absolute[prefix:].replace(os.sep, "/")
                if rel not in seen:
                    seen.add(rel)
                    yield rel, "test" if is_test_file(rel, settings) else "impl", absolute


def snapshot(settings: Settings, cache: Mapping[str, FileHash]) -> tuple[FileHash, ...]:
    """Hash every project file, reusing `cache` (the last recorded hashes) when safe."""
    hashes = []
    for rel, kind, absolute in project_files(settings):
        try:
            stat = os.stat(absolute)  # noqa: PTH116 - strings are 3x faster here
            known = cache.get(rel)
            if (
                known is not None
                and known.size == stat.st_size
                and known.mtime_ns == stat.st_mtime_ns
                and stat.st_mtime_ns < known.hashed_ns - _RACY_NS
            ):
                hashes.append(
                    FileHash(rel, kind, known.blob, known.size, known.mtime_ns, known.hashed_ns)
                )
                continue
            hashed_ns = time.time_ns()
            with open(absolute, "rb") as handle:  # noqa: PTH123 - as above
                data = handle.read()
        except OSError:
            continue  # deleted while we walked, or unreadable: nothing to record
        hashes.append(FileHash(rel, kind, blob_id(data), stat.st_size, stat.st_mtime_ns, hashed_ns))
    return tuple(hashes)


def code_digest(hashes: tuple[FileHash, ...]) -> str:
    """One digest of the code a test runs against: implementation files and conftest.py.

    Two runs with the same digest ran every test against the same code (apart from
    the test's own file, which the ledger keeps separately).
    """
    digest = hashlib.sha1(usedforsecurity=False)
    for item in sorted(hashes, key=lambda h: h.path):
        if item.kind == "impl" or item.path.rsplit("/", 1)[-1] == "conftest.py":
            digest.update(f"{item.path}\0{item.blob.hex()}\n".encode())
    return digest.hexdigest()


def _under(relpath: str, root: str) -> bool:
    root = root.strip("/").removeprefix("./")
    return root in ("", ".") or relpath == root or relpath.startswith(root + "/")
