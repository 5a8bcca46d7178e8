"""Recording one run in the ledger: one transaction, then pruning.

Storage is kept small on purpose, because a ledger holds hundreds of runs of suites
with thousands of tests: test node ids and file paths are stored once (`nodes`,
`paths`) and referred to by number, and a file's hash is stored only in the runs
where it changed (the oldest kept run holds every file's hash).
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
from pytest_tddgate.facts.ledger_context import RunContext, branch_of, run_context, start_branch
from pytest_tddgate.facts.ledger_store import (
    RUN_TABLES,
    Foreign,
    LedgerError,
    check,
    connect,
    create_schema,
    is_corrupt,
    set_aside,
    upgrade,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.facts.testrun import TestRun
    from pytest_tddgate.model import Report
    from pytest_tddgate.settings import Settings

_PSEUDO_COMMITS = frozenset({"WORKTREE", "INDEX"})  # facts.history's pseudo-commits
_TEXT_LIMIT = 500  # characters kept of a message: enough to recognise it again


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
        except UnicodeDecodeError:  # a damaged schema: see ledger_store
            notes.append(set_aside(path, "its schema is damaged"))
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
        # hashing and git happen outside the write lock, so concurrent runs overlap here;
        # git reads the branch while the files are hashed
        probe = start_branch(settings.root)
        try:
            files = filehash.snapshot(settings, cache)
        except BaseException:
            probe.cancel()  # leave no process behind
            raise
        context = run_context(settings, branch_of(probe))
        conn.execute("BEGIN IMMEDIATE")
        try:
            if _identity(path) != identity:
                raise _Moved
            if not check(conn):
                create_schema(conn)
            upgrade(conn)
            run_id = _insert_run(conn, report, test_run, files, context)
            _insert_files(conn, run_id, files)
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
    context: RunContext,
) -> int:
    started = report.generated_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    cursor = conn.execute(
        "INSERT INTO runs (started_at, head, base, role, passed, exitstatus, tool_version,"
        " code_digest, branch, settings_digest, env) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            started,
            report.head,
            report.base,
            report.role,
            int(report.passed),
            test_run.exitstatus if test_run else None,
            report.tool_version,
            filehash.code_digest(files),
            context.branch,
            context.settings_digest,
            context.env,
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
        "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                g.name,
                f.rule,
                f.path,
                f.line,
                f.message[:_TEXT_LIMIT],
                int(f.waived),
                _commit(f.commit),
            )
            for g in report.gates
            for f in g.findings
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO requirements VALUES (?, ?, ?, ?, ?)",
        [(run_id, r.id, r.status, r.title, json.dumps(list(r.code))) for r in report.requirements],
    )
    if test_run is not None:
        _insert_tests(conn, run_id, test_run)
    return run_id


def _insert_tests(conn: sqlite3.Connection, run_id: int, test_run: TestRun) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO nodes (nodeid, file) VALUES (?, ?)",
        [(o.nodeid, o.nodeid.split("::", 1)[0]) for o in test_run.outcomes],
    )
    nodeids = [o.nodeid for o in test_run.outcomes]
    node_ids = _ids(conn, "SELECT node_id, nodeid FROM nodes", nodeids)
    conn.executemany(
        "INSERT OR REPLACE INTO tests VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                run_id,
                node_ids[o.nodeid],
                o.outcome,
                o.signature,
                (o.message or None) and o.message[:_TEXT_LIMIT],
                round(o.duration_s * 1000),
            )
            for o in test_run.outcomes
        ],
    )


def _insert_files(conn: sqlite3.Connection, run_id: int, files: tuple[FileHash, ...]) -> None:
    """Record the files that changed since the newest recorded run, and update the cache.

    `hash_cache` holds the files of the newest committed run; read inside the write
    transaction, it is exact even when another run committed while this one hashed.
    """
    cache = _hash_cache(conn)
    current = {f.path: f for f in files}
    changed = [f for f in files if (old := cache.get(f.path)) is None or old.blob != f.blob]
    gone = sorted(p for p in cache if p not in current)
    path_ids = _ids(
        conn, "SELECT path_id, path FROM paths", [f.path for f in changed] + gone, insert="paths"
    )
    conn.executemany(
        "INSERT INTO files VALUES (?, ?, ?, ?)",
        [(run_id, path_ids[f.path], f.kind, f.blob) for f in changed]
        + [(run_id, path_ids[p], "gone", None) for p in gone],
    )
    conn.executemany("DELETE FROM hash_cache WHERE path = ?", [(p,) for p in gone])
    stale = [
        f
        for f in files
        if (old := cache.get(f.path)) is None
        or (old.blob, old.size, old.mtime_ns, old.hashed_ns)
        != (f.blob, f.size, f.mtime_ns, f.hashed_ns)
    ]
    conn.executemany(
        "INSERT OR REPLACE INTO hash_cache VALUES (?, ?, ?, ?, ?)",
        [(f.path, f.size, f.mtime_ns, f.hashed_ns, f.blob) for f in stale],
    )


def _ids(
    conn: sqlite3.Connection, query: str, names: list[str], *, insert: str | None = None
) -> dict[str, int]:
    """name -> id from an interning table (`nodes`, `paths`), adding missing paths first."""
    if insert == "paths":
        conn.executemany("INSERT OR IGNORE INTO paths (path) VALUES (?)", [(n,) for n in names])
    wanted = set(names)
    return {name: number for number, name in conn.execute(query) if name in wanted}


def _commit(commit: str | None) -> str | None:
    """A finding's commit as the gate named it; NULL for uncommitted or staged changes."""
    if commit is None or commit in _PSEUDO_COMMITS:
        return None
    return commit


def _metric(value: object) -> float | int | str | None:
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def _hash_cache(conn: sqlite3.Connection) -> dict[str, FileHash]:
    rows = conn.execute("SELECT path, size, mtime_ns, hashed_ns, blob FROM hash_cache")
    return {
        path: FileHash(path, "", blob, size, mtime_ns, hashed_ns)
        for path, size, mtime_ns, hashed_ns, blob in rows
        # a cache: a row damaged or edited into other types only means hashing again
        if isinstance(path, str)
        and isinstance(blob, bytes)
        and all(isinstance(n, int) for n in (size, mtime_ns, hashed_ns))
    }


def _prune(conn: sqlite3.Connection, keep: int) -> int:
    """Delete all but the newest `keep` runs (at least the one just recorded)."""
    row = conn.execute(
        "SELECT run_id FROM runs ORDER BY run_id DESC LIMIT 1 OFFSET ?", (max(keep, 1) - 1,)
    ).fetchone()
    if row is None:
        return 0
    pruned = conn.execute("DELETE FROM runs WHERE run_id < ?", row).rowcount
    if not pruned:
        return 0
    oldest = row[0]
    # the oldest kept run must hold the full state: carry each file's last hash forward
    conn.execute(
        "INSERT OR IGNORE INTO files (run_id, path_id, kind, blob)"
        " SELECT ?, f.path_id, f.kind, f.blob FROM files f"
        " WHERE f.run_id < ? AND f.blob IS NOT NULL AND f.run_id ="
        " (SELECT MAX(g.run_id) FROM files g WHERE g.path_id = f.path_id AND g.run_id < ?)",
        (oldest, oldest, oldest),
    )
    for table in RUN_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE run_id < ?", row)
    conn.execute(
        "DELETE FROM ancestry WHERE ancestor NOT IN (SELECT head FROM runs WHERE head IS NOT NULL)"
        " OR descendant NOT IN (SELECT head FROM runs WHERE head IS NOT NULL)"
    )
    conn.execute(
        "DELETE FROM paths WHERE NOT EXISTS"
        " (SELECT 1 FROM files WHERE files.path_id = paths.path_id)"
        " AND path NOT IN (SELECT path FROM hash_cache)"
    )
    conn.execute(
        "DELETE FROM nodes WHERE NOT EXISTS"
        " (SELECT 1 FROM tests WHERE tests.node_id = nodes.node_id)"
    )
    return pruned
