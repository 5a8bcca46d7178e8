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
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.facts.ledger_store import Foreign, LedgerError, check, connect, upgrade
from pytest_tddgate.facts.ledger_write import Recorded, record

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

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
    branch: str | None = None  # None: detached HEAD, no git, or recorded before version 2


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
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # see ledger_store.UNREADABLE
        raise LedgerError(
            f"could not read the run ledger {path}: {exc}",
            fix="the next `pytest --tddgate` run moves a damaged ledger aside; or delete it",
        ) from None


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the ledger's write lock for the block; yields a connection to read it.

    Other runs wait to record (up to the busy timeout) until the block ends, so
    work that must not interleave between runs, such as merging learnings into
    expertise.md, is serialized without a separate lock file. A ledger of an older
    schema is upgraded first; what the block writes (the learnings' cache of commit
    ancestry) is committed when it ends without an exception, and dropped otherwise.
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
                upgrade(conn)
                yield conn
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
    except Foreign as exc:
        raise LedgerError(
            f"{path} is not a pytest-tddgate run ledger ({exc.reason})",
            fix="the next `pytest --tddgate` run moves it aside",
        ) from None
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # see ledger_store.UNREADABLE
        raise LedgerError(
            f"could not read the run ledger {path}: {exc}",
            fix="the next `pytest --tddgate` run moves a damaged ledger aside; or delete it",
        ) from None


def recent_runs(path: Path, limit: int, *, branch: str | None = None) -> list[RunRecord]:
    """The newest `limit` runs, oldest first, with each gate's status and metrics.

    `branch`: only the runs recorded on that branch (for trends that do not mix
    branches); None: the runs of every branch.
    """
    with reader(path) as conn:
        if conn is None or limit < 1:
            return []
        # a ledger of version 1 (read-only readers do not upgrade it) has no branch
        column = "branch" if _has_column(conn, "runs", "branch") else "NULL"
        where = f"WHERE {column} = ?" if branch is not None else ""
        runs = conn.execute(
            f"SELECT run_id, started_at, head, passed, {column} FROM runs {where}"
            " ORDER BY run_id DESC LIMIT ?",
            (*([branch] if branch is not None else []), limit),
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
        RunRecord(
            run_id,
            started,
            head,
            bool(passed),
            gates.get(run_id, {}),
            on if isinstance(on, str) else None,
        )
        for run_id, started, head, passed, on in reversed(runs)
    ]


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


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
                "SELECT t.run_id, r.started_at, n.nodeid, t.outcome, ("
                # a file's hash in a run: its row with the highest run_id up to that run
                "  SELECT f.blob FROM files f WHERE f.path_id = p.path_id"
                "  AND f.run_id <= t.run_id ORDER BY f.run_id DESC LIMIT 1)"
                " FROM nodes n JOIN tests t ON t.node_id = n.node_id"
                " JOIN runs r ON r.run_id = t.run_id LEFT JOIN paths p ON p.path = ?"
                f" WHERE n.file IN ({marks}) OR n.nodeid IN ({marks})",
                (impl_path, *chunk, *chunk),
            )
            found += [
                RecordedOutcome(
                    run_id,
                    started,
                    nodeid,
                    outcome,
                    blob.hex() if isinstance(blob, bytes) else None,  # damaged: unknown
                )
                for run_id, started, nodeid, outcome, blob in rows
                if isinstance(run_id, int) and isinstance(nodeid, str)  # else damaged
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
            " JOIN runs r ON r.run_id = t.run_id"
            " WHERE t.node_id = (SELECT node_id FROM nodes WHERE nodeid = ?)"
            " ORDER BY t.run_id DESC LIMIT ?",
            (nodeid, max(limit, 0)),
        ).fetchall()
    return [TestRecord(*row) for row in reversed(rows)]
