"""The ledger file itself: schema, connections, and recovery from a broken file.

The schema is documented in docs/ledger.md; `SCHEMA_VERSION` names it. Every writer
opens the file through `connect_for_write`, which turns a corrupt file, or an SQLite
database some other program wrote, into a fresh ledger after moving the old file
aside, so a broken ledger costs its history but never a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import sys
import time
from typing import IO, TYPE_CHECKING

from pytest_tddgate.errors import FactError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

APP = "pytest-tddgate ledger"
SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0  # a run's write takes milliseconds; three at once never wait this long

# Each statement is idempotent, so concurrent first runs may all execute it.
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " app TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs ("
    " run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL,"
    " head TEXT, base TEXT, role TEXT, passed INTEGER NOT NULL, exitstatus INTEGER,"
    " tool_version TEXT, code_digest TEXT, branch TEXT, settings_digest TEXT, env TEXT)",
    "CREATE TABLE IF NOT EXISTS gates ("
    " run_id INTEGER NOT NULL, gate TEXT NOT NULL, position INTEGER NOT NULL,"
    " status TEXT NOT NULL, summary TEXT NOT NULL, duration_s REAL,"
    " optional INTEGER NOT NULL,"
    " PRIMARY KEY (run_id, gate)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS metrics ("
    " run_id INTEGER NOT NULL, gate TEXT NOT NULL, key TEXT NOT NULL, value,"
    " PRIMARY KEY (run_id, gate, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS findings ("
    " run_id INTEGER NOT NULL, gate TEXT NOT NULL, rule TEXT NOT NULL, path TEXT,"
    " line INTEGER, message TEXT NOT NULL, waived INTEGER NOT NULL, commit_sha TEXT)",
    "CREATE INDEX IF NOT EXISTS findings_by_run ON findings (run_id)",
    "CREATE INDEX IF NOT EXISTS findings_by_rule ON findings (gate, rule, run_id)",
    "CREATE TABLE IF NOT EXISTS nodes ("
    " node_id INTEGER PRIMARY KEY, nodeid TEXT NOT NULL UNIQUE, file TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS nodes_by_file ON nodes (file)",
    "CREATE TABLE IF NOT EXISTS tests ("
    " run_id INTEGER NOT NULL, node_id INTEGER NOT NULL, outcome TEXT NOT NULL,"
    " signature TEXT, message TEXT, duration_ms INTEGER,"
    " PRIMARY KEY (run_id, node_id)) WITHOUT ROWID",
    # "the last N outcomes of test X" is one range scan of this index
    "CREATE INDEX IF NOT EXISTS tests_by_node ON tests (node_id, run_id)",
    # failures are few: learnings start from them without scanning every outcome
    "CREATE INDEX IF NOT EXISTS tests_failing ON tests (node_id)"
    " WHERE outcome IN ('failed', 'error')",
    "CREATE TABLE IF NOT EXISTS paths (path_id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)",
    # one row where a file is new, changed or deleted (blob NULL) since the previous run;
    # the oldest kept run holds the full state, so a file's hash in run R is its row
    # with the highest run_id <= R
    "CREATE TABLE IF NOT EXISTS files ("
    " run_id INTEGER NOT NULL, path_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    " blob BLOB, PRIMARY KEY (run_id, path_id)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS files_by_path ON files (path_id, run_id)",
    "CREATE TABLE IF NOT EXISTS requirements ("
    " run_id INTEGER NOT NULL, req_id TEXT NOT NULL, status TEXT NOT NULL, title TEXT,"
    " code TEXT NOT NULL, PRIMARY KEY (run_id, req_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS hash_cache ("
    " path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " hashed_ns INTEGER NOT NULL, blob BLOB NOT NULL) WITHOUT ROWID",
    # `git merge-base --is-ancestor` answers never change: asked once per pair of commits
    "CREATE TABLE IF NOT EXISTS ancestry ("
    " ancestor TEXT NOT NULL, descendant TEXT NOT NULL, answer INTEGER NOT NULL,"
    " PRIMARY KEY (ancestor, descendant)) WITHOUT ROWID",
)
# version 1 -> 2: the columns added to existing tables (new tables come from SCHEMA)
_ADDED_COLUMNS = (
    ("runs", "branch", "TEXT"),
    ("runs", "settings_digest", "TEXT"),
    ("runs", "env", "TEXT"),
    ("findings", "commit_sha", "TEXT"),
)
RUN_TABLES = ("gates", "metrics", "findings", "tests", "files", "requirements")

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
# A damaged schema makes SQLite's error message itself invalid UTF-8: Python then
# raises UnicodeDecodeError instead of a DatabaseError. Both mean "unreadable".
_CORRUPT_TEXT = ("file is not a database", "malformed", "disk image", "file is encrypted")


class LedgerError(FactError):
    """The ledger cannot be read or written; the message says why and how to fix it."""


class Foreign(Exception):
    """The file is not (or no longer) a pytest-tddgate ledger: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """True for a damaged or non-SQLite file; False for busy, locked or read-only."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in _CORRUPT_CODES
    return any(text in str(exc) for text in _CORRUPT_TEXT)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit `BEGIN IMMEDIATE`."""
    if readonly:
        # `mode=rw` where we may write: a read-only connection cannot remove the WAL
        # files when it closes last, and would leave -wal and -shm beside the ledger;
        # `query_only` keeps it a reader all the same. `rw` never creates the file.
        writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode={'rw' if writable else 'ro'}",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if readonly:
            conn.execute("PRAGMA query_only = ON")
        else:
            check(conn)  # raises Foreign first: another program's file stays as it was
            _use_wal(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    # Switching to WAL takes an exclusive lock without calling the busy handler, so
    # first runs started at the same moment retry here instead of failing.
    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 99:
                raise
            time.sleep(0.05)


def check(conn: sqlite3.Connection) -> int:
    """The schema version when the file is ours (current or older); 0 for an empty database.

    Raises `Foreign` for another program's database or an unknown version, and
    `LedgerError` for a ledger written by a newer pytest-tddgate (kept as it is).
    """
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise Foreign("it has no schema_version table")
    row = conn.execute("SELECT app, version FROM schema_version").fetchone()
    if row is None or row[0] != APP:
        raise Foreign(f"its schema_version names {row[0] if row else 'nothing'!r}")
    if not isinstance(row[1], int) or row[1] < 1:
        raise Foreign(f"its schema version {row[1]!r} is unknown")
    if row[1] > SCHEMA_VERSION:
        raise LedgerError(
            f"the ledger has schema version {row[1]}, newer than this pytest-tddgate "
            f"understands ({SCHEMA_VERSION}); runs are not recorded",
            fix="upgrade pytest-tddgate, or move the ledger aside to start a new one",
        )
    missing = {"runs", "tests", "nodes", "files", "hash_cache"} - tables
    if missing:
        raise Foreign(f"tables are missing: {', '.join(sorted(missing))}")
    return row[1]


def upgrade(conn: sqlite3.Connection) -> None:
    """Bring an older ledger to SCHEMA_VERSION inside the caller's write transaction.

    Old runs keep every fact they had; what they did not record (the branch, the
    settings digest, a finding's commit) stays NULL, and the learnings never compare
    a run that lacks them with another, so an old run cannot make a learning untrue.
    """
    version = check(conn)
    if not version or version >= SCHEMA_VERSION:
        return
    for table, column, kind in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables inside the caller's transaction."""
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_version (app, version, created_at) SELECT ?, ?, ?"
        " WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
        (APP, SCHEMA_VERSION, _now()),
    )


def set_aside(path: Path, reason: str) -> str:
    """Move a broken ledger out of the way and start a fresh one; returns a status line.

    Runs under a lock file beside the ledger and checks again once it holds it: when
    several runs find the same broken file, the first moves it and the others find
    the fresh ledger in its place instead of moving that one too.
    """
    with _sidecar_lock(path.with_name(path.name + ".lock")):
        if _usable(path):
            return ""
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        aside = path.with_name(f"{path.name}.broken-{stamp}-{os.getpid()}")
        if path.exists():
            path.replace(aside)
        # the WAL belongs to the old file: left beside a new one it would be replayed into it
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            wal.replace(aside.with_name(aside.name + "-wal"))
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + "-shm").unlink()
        _usable(path)  # creates the fresh ledger before others may look
    return (
        f"tddgate: the run ledger {path} could not be used ({reason}); moved it to "
        f"{aside.name} and started a fresh ledger"
    )


def _usable(path: Path) -> bool:
    """True when `path` is now a ledger (possibly one another run just started)."""
    try:
        with contextlib.closing(connect(path)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not check(conn):
                    create_schema(conn)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return True
    except (Foreign, UnicodeDecodeError):
        return False
    except sqlite3.DatabaseError as exc:
        if is_corrupt(exc):
            return False
        raise


@contextlib.contextmanager
def _sidecar_lock(lock_path: Path) -> Iterator[None]:
    """An exclusive lock on a small file, released when the block ends or the process dies."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+b") as handle:
        _lock(handle)
        try:
            yield
        finally:
            _unlock(handle)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle: IO[bytes]) -> None:
        handle.seek(0)
        for _ in range(600):
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.05)
        raise LedgerError(
            f"{handle.name} stayed locked for 30 s", fix="wait for the other run to finish"
        )

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
