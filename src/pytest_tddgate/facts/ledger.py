"""The run ledger: every gated run, recorded in `.tddgate/ledger.sqlite3`.

Writing: `record(settings, report, test_run)` adds one run in one transaction and
prunes the oldest runs beyond `ledger_keep`. It runs on the controller only, after
the report is written. Concurrent runs serialize on SQLite's write lock, so none is
lost; a corrupt or foreign file is moved aside and a fresh ledger started (the
returned `Recorded.notes` say so).

Reading (the public query API other parts build on): `recent_runs` for trends,
`test_outcomes` for the tdd gate's red-green evidence, `last_outcomes` for one
test's history. They never write, return `[]` when there is no ledger yet and raise
`LedgerError` (a `FactError`) when the file cannot be read. The schema is in
docs/ledger.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.facts import filehash
from pytest_tddgate.facts.filehash import FileHash
from pytest_tddgate.facts.ledger_store import (
    RUN_TABLES,
    Foreign,
    LedgerError,
    check,
    connect,
    create_schema,
    is_corrupt,
    set_aside,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from pytest_tddgate.facts.testrun import TestRun
    from pytest_tddgate.model import Report
    from pytest_tddgate.settings import Settings

__all__ = [
    "GateRecord",
    "LedgerError",
    "Recorded",
    "RecordedOutcome",
    "RunRecord",
    "TestRecord",
    "last_outcomes",
    "recent_runs",
    "record",
    "test_outcomes",
    "write_lock",
]

MetricValue = float | int | str | None
_TEXT_LIMIT = 500  # characters kept of a message: enough to recognise it again
_CHUNK = 500  # bound parameters per query, under SQLite's oldest limit of 999


@dataclass(frozen=True, slots=True)
class GateRecord:
    """One gate's verdict in a recorded run."""

    status: str
    metrics: Mapping[str, MetricValue]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One recorded run; `gates` in the order of the report."""

    run_id: int
    started_at: str
    head: str | None
    passed: bool
    gates: Mapping[str, GateRecord]


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    """A test's outcome in a recorded run, with the recorded hash of one file then."""

    run_id: int
    started_at: str
    nodeid: str
    outcome: str
    impl_hash: str | None  # git blob id (hex) of the asked-for file in that run


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One test's outcome in a recorded run, with its failure signature."""

    run_id: int
    started_at: str
    outcome: str
    signature: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a run did: its id, how many old runs were pruned, status lines."""

    run_id: int
    pruned: int
    notes: tuple[str, ...] = ()


def record(settings: Settings, report: Report, test_run: TestRun | None) -> Recorded:
    """Add this run to the ledger; a broken ledger is set aside and a fresh one used.

    Raises `LedgerError` when the ledger cannot be written even then (disk full,
    read-only folder, a ledger of a newer version).
    """
    path = settings.path(settings.project.ledger)
    notes: list[str] = []
    for _attempt in range(3):
        try:
            run_id, pruned = _record_once(path, settings, report, test_run)
            return Recorded(run_id, pruned, tuple(notes))
        except Foreign as exc:
            notes.append(set_aside(path, exc.reason))
        except _Moved:
            continue  # another run set the file aside while we hashed: use the new one
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise LedgerError(
                    f"could not write the run ledger {path}: {exc}",
                    fix="check that the folder is writable and the disk not full",
                ) from None
            notes.append(set_aside(path, str(exc)))
        except OSError as exc:
            raise LedgerError(
                f"could not write the run ledger {path}: {exc}",
                fix="check that the folder is writable",
            ) from None
    raise LedgerError(
        f"could not record the run in {path}: it kept changing under us", fix="run again"
    )


class _Moved(Exception):
    """The ledger file was replaced between opening it and writing to it."""


def _record_once(
    path: Path, settings: Settings, report: Report, test_run: TestRun | None
) -> tuple[int, int]:
    with contextlib.closing(connect(path)) as conn:
        identity = _identity(path)
        cache = _hash_cache(conn) if check(conn) else {}
        # hashing happens outside the write lock, so concurrent runs overlap here
        files = filehash.snapshot(settings, cache)
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _identity(path) != identity:
                raise _Moved
            if not check(conn):
                create_schema(conn)
            run_id = _insert_run(conn, report, test_run, files)
            _update_cache(conn, cache, files)
            pruned = _prune(conn, settings.project.ledger_keep)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return run_id, pruned


def _identity(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0, 0
    return stat.st_dev, stat.st_ino


def _insert_run(
    conn: sqlite3.Connection,
    report: Report,
    test_run: TestRun | None,
    files: tuple[FileHash, ...],
) -> int:
    started = report.generated_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    cursor = conn.execute(
        "INSERT INTO runs (started_at, head, base, role, passed, exitstatus, tool_version,"
        " code_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            started,
            report.head,
            report.base,
            report.role,
            int(report.passed),
            test_run.exitstatus if test_run else None,
            report.tool_version,
            filehash.code_digest(files),
        ),
    )
    run_id = cursor.lastrowid
    assert run_id is not None
    conn.executemany(
        "INSERT INTO gates VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, g.name, i, g.status.value, g.summary, g.duration_s, int(g.optional))
            for i, g in enumerate(report.gates)
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)",
        [
            (run_id, g.name, key, _metric(value))
            for g in report.gates
            for key, value in g.metrics.items()
        ],
    )
    conn.executemany(
        "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (run_id, g.name, f.rule, f.path, f.line, f.message[:_TEXT_LIMIT], int(f.waived))
            for g in report.gates
            for f in g.findings
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO requirements VALUES (?, ?, ?, ?, ?)",
        [(run_id, r.id, r.status, r.title, json.dumps(list(r.code))) for r in report.requirements],
    )
    if test_run is not None:
        conn.executemany(
            "INSERT OR REPLACE INTO tests VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    o.nodeid,
                    o.nodeid.split("::", 1)[0],
                    o.outcome,
                    o.signature,
                    (o.message or None) and o.message[:_TEXT_LIMIT],
                    o.duration_s,
                )
                for o in test_run.outcomes
            ],
        )
    path_ids = _path_ids(conn, [f.path for f in files])
    conn.executemany(
        "INSERT INTO files VALUES (?, ?, ?, ?)",
        [(run_id, path_ids[f.path], f.kind, f.blob) for f in files],
    )
    return run_id


def _metric(value: object) -> MetricValue:
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def _path_ids(conn: sqlite3.Connection, paths: list[str]) -> dict[str, int]:
    conn.executemany("INSERT OR IGNORE INTO paths (path) VALUES (?)", [(p,) for p in paths])
    wanted = set(paths)
    return {
        path: path_id
        for path_id, path in conn.execute("SELECT path_id, path FROM paths")
        if path in wanted
    }


def _hash_cache(conn: sqlite3.Connection) -> dict[str, FileHash]:
    return {
        path: FileHash(path, "", bytes(blob), size, mtime_ns, hashed_ns)
        for path, size, mtime_ns, hashed_ns, blob in conn.execute(
            "SELECT path, size, mtime_ns, hashed_ns, blob FROM hash_cache"
        )
    }


def _update_cache(
    conn: sqlite3.Connection, cache: Mapping[str, FileHash], files: tuple[FileHash, ...]
) -> None:
    """Store the stat data of hashed files; rows of files that are gone are dropped."""
    current = {f.path for f in files}
    conn.executemany(
        "DELETE FROM hash_cache WHERE path = ?", [(p,) for p in cache if p not in current]
    )
    changed = [
        f
        for f in files
        if (old := cache.get(f.path)) is None
        or (old.blob, old.size, old.mtime_ns, old.hashed_ns)
        != (f.blob, f.size, f.mtime_ns, f.hashed_ns)
    ]
    conn.executemany(
        "INSERT OR REPLACE INTO hash_cache VALUES (?, ?, ?, ?, ?)",
        [(f.path, f.size, f.mtime_ns, f.hashed_ns, f.blob) for f in changed],
    )


def _prune(conn: sqlite3.Connection, keep: int) -> int:
    """Delete all but the newest `keep` runs (at least the one just recorded)."""
    row = conn.execute(
        "SELECT run_id FROM runs ORDER BY run_id DESC LIMIT 1 OFFSET ?", (max(keep, 1) - 1,)
    ).fetchone()
    if row is None:
        return 0
    pruned = conn.execute("DELETE FROM runs WHERE run_id < ?", row).rowcount
    if pruned:
        for table in RUN_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE run_id < ?", row)
        conn.execute(
            "DELETE FROM paths WHERE NOT EXISTS"
            " (SELECT 1 FROM files WHERE files.path_id = paths.path_id)"
        )
    return pruned


@contextlib.contextmanager
def reader(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection, or None when there is no ledger yet."""
    if not path.is_file():
        yield None
        return
    try:
        with contextlib.closing(connect(path, readonly=True)) as conn:
            if not check(conn):
                yield None
                return
            yield conn
    except Foreign as exc:
        raise LedgerError(
            f"{path} is not a pytest-tddgate run ledger ({exc.reason})",
            fix="the next `pytest --tddgate` run moves it aside",
        ) from None
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"could not read the run ledger {path}: {exc}",
            fix="the next `pytest --tddgate` run moves a damaged ledger aside; or delete it",
        ) from None


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the ledger's write lock for the block; yields a connection to read it.

    Other runs wait to record (up to the busy timeout) until the block ends, so
    work that must not interleave between runs, such as merging learnings into
    expertise.md, is serialized without a separate lock file. Nothing is written.
    """
    if not path.is_file():
        raise LedgerError(
            f"there is no run ledger at {path} yet", fix="run `pytest --tddgate` first"
        )
    try:
        with contextlib.closing(connect(path)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not check(conn):
                    raise LedgerError(
                        f"{path} has no recorded runs", fix="run `pytest --tddgate` first"
                    )
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
    except Foreign as exc:
        raise LedgerError(
            f"{path} is not a pytest-tddgate run ledger ({exc.reason})",
            fix="the next `pytest --tddgate` run moves it aside",
        ) from None
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"could not read the run ledger {path}: {exc}",
            fix="the next `pytest --tddgate` run moves a damaged ledger aside; or delete it",
        ) from None


def recent_runs(path: Path, limit: int) -> list[RunRecord]:
    """The newest `limit` runs, oldest first, with each gate's status and metrics."""
    with reader(path) as conn:
        if conn is None or limit < 1:
            return []
        runs = conn.execute(
            "SELECT run_id, started_at, head, passed FROM runs ORDER BY run_id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        if not runs:
            return []
        first = runs[-1][0]
        metrics: dict[tuple[int, str], dict[str, MetricValue]] = {}
        for run_id, gate, key, value in conn.execute(
            "SELECT run_id, gate, key, value FROM metrics WHERE run_id >= ?", (first,)
        ):
            metrics.setdefault((run_id, gate), {})[key] = value
        gates: dict[int, dict[str, GateRecord]] = {}
        for run_id, gate, status in conn.execute(
            "SELECT run_id, gate, status FROM gates WHERE run_id >= ? ORDER BY run_id, position",
            (first,),
        ):
            gates.setdefault(run_id, {})[gate] = GateRecord(status, metrics.get((run_id, gate), {}))
    return [
        RunRecord(run_id, started, head, bool(passed), gates.get(run_id, {}))
        for run_id, started, head, passed in reversed(runs)
    ]


def test_outcomes(path: Path, test_files: Sequence[str], impl_path: str) -> list[RecordedOutcome]:
    """Every recorded outcome of the tests in `test_files`, oldest first.

    `test_files` are paths relative to the project root (`tests/test_x.py`) or node
    ids; `impl_hash` is the recorded hash of `impl_path` (same form) in that run, or
    None when the file did not exist or was not recorded then.
    """
    wanted = sorted(set(test_files))
    found: list[RecordedOutcome] = []
    with reader(path) as conn:
        if conn is None:
            return []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT t.run_id, r.started_at, t.nodeid, t.outcome, f.blob FROM tests t"
                " JOIN runs r ON r.run_id = t.run_id"
                " LEFT JOIN paths p ON p.path = ?"
                " LEFT JOIN files f ON f.run_id = t.run_id AND f.path_id = p.path_id"
                f" WHERE t.file IN ({marks}) OR t.nodeid IN ({marks})",
                (impl_path, *chunk, *chunk),
            )
            found += [
                RecordedOutcome(
                    run_id,
                    started,
                    nodeid,
                    outcome,
                    bytes(blob).hex() if blob is not None else None,
                )
                for run_id, started, nodeid, outcome, blob in rows
            ]
    unique = {(o.run_id, o.nodeid): o for o in found}
    return [unique[key] for key in sorted(unique)]


def last_outcomes(path: Path, nodeid: str, limit: int) -> list[TestRecord]:
    """The last `limit` recorded outcomes of one test, oldest first (one index scan)."""
    with reader(path) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT t.run_id, r.started_at, t.outcome, t.signature, t.message FROM tests t"
            " JOIN runs r ON r.run_id = t.run_id WHERE t.nodeid = ?"
            " ORDER BY t.run_id DESC LIMIT ?",
            (nodeid, max(limit, 0)),
        ).fetchall()
    return [TestRecord(*row) for row in reversed(rows)]
