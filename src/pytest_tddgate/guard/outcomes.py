"""The latest recorded outcome of each test file, for the guard's red evidence.

Two records are read, and the newer one counts for a file:

- the guard's own, `.tddgate/guard/outcomes.json`, which every pytest run of a
  project with the guard set up writes (guard/record.py): per test file the time of
  the run, the digest of the file's content then, and the node ids that failed;
- the run ledger of `pytest --tddgate` runs (facts/ledger.py), where a test file
  counts as unchanged since a run when it was last modified before that run began.

A test file's state: `red` (it failed in its latest recorded run and has not
changed since), `green` (it passed then and has not changed since), `changed` (it
changed after its latest recorded run: that run says nothing about it now) or
`never-run`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

STORE = ".tddgate/guard/outcomes.json"
_CHUNK = 500  # bound parameters per query, under SQLite's oldest limit of 999
# the ledger keeps whole seconds: a file written within the second a run started
# was read by that run
_LEDGER_SLACK_S = 1.0


@dataclass(frozen=True, slots=True)
class Latest:
    """A test file's latest recorded run: when, whether it failed, and whether the
    file is the one that ran."""

    at: float  # seconds since the epoch
    failed: tuple[str, ...]  # node ids that failed or errored
    unchanged: bool


@dataclass(frozen=True, slots=True)
class TestState:
    """One mapped test file's state now (see the module docstring)."""

    __test__ = False  # not a pytest test class, whatever its name

    test: str
    state: str  # red | green | changed | never-run
    failed: tuple[str, ...] = ()


def digest(data: bytes) -> str:
    import hashlib  # here: the edit path without a test lookup does not need it

    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def read_store(root: Path) -> dict[str, Any]:
    """The guard's outcome record; {} when there is none or it cannot be read (a
    broken record is rewritten by the next run)."""
    try:
        data = json.loads((root / STORE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def states(
    root: Path, tests: Iterable[str], *, ledger: Path | None, impl: str = ""
) -> tuple[TestState, ...]:
    """The state of each test file in `tests` (paths relative to `root`)."""
    wanted = sorted(set(tests))
    store = read_store(root)
    recorded = {test: _from_store(root, test, store.get(test)) for test in wanted}
    # the ledger is opened only for tests the guard's record does not know since the
    # ledger was last written (in an agent's session, the usual case is none)
    written = _written(ledger)
    asked = [t for t in wanted if written is not None and _older(recorded[t], written)]
    from_ledger = _from_ledger(root, asked, ledger)
    return tuple(_state(t, _newer(recorded[t], from_ledger.get(t))) for t in wanted)


def _written(ledger: Path | None) -> float | None:
    """When the ledger (or its write-ahead log) was last written; None: no ledger."""
    if ledger is None:
        return None
    times = []
    for path in (ledger, ledger.with_name(ledger.name + "-wal")):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return max(times) if times else None


def _older(latest: Latest | None, written: float) -> bool:
    return latest is None or latest.at <= written


def _state(test: str, latest: Latest | None) -> TestState:
    if latest is None:
        return TestState(test, "never-run")
    if not latest.unchanged:
        return TestState(test, "changed")
    return TestState(test, "red" if latest.failed else "green", latest.failed)


def _newer(a: Latest | None, b: Latest | None) -> Latest | None:
    if a is None or b is None:
        return a or b
    return a if a.at >= b.at else b


def _from_store(root: Path, test: str, entry: object) -> Latest | None:
    if not isinstance(entry, dict):
        return None
    at, failed, recorded = entry.get("at"), entry.get("failed"), entry.get("digest")
    if not isinstance(at, (int, float)) or not isinstance(failed, list):
        return None
    try:
        now = digest((root / test).read_bytes())
    except OSError:
        now = ""  # the test file is gone: the run says nothing about it now
    return Latest(float(at), tuple(str(f) for f in failed), now == recorded)


def _from_ledger(root: Path, tests: Sequence[str], ledger: Path | None) -> dict[str, Latest]:
    """Each test file's latest run in the ledger: two indexed queries a file, on one
    read-only connection (the ledger's `test_outcomes` returns every run's outcome,
    which for 500 runs costs the guard ten times its budget)."""
    if not tests or ledger is None or not ledger.is_file():
        return {}
    import sqlite3

    from pytest_tddgate.facts.ledger import LedgerError, reader

    found: dict[str, Latest] = {}
    try:
        with reader(ledger) as conn:
            if conn is None:
                return {}
            for test in tests:
                latest = _latest_run(conn, root, test)
                if latest is not None:
                    found[test] = latest
    except (LedgerError, sqlite3.Error):
        return {}  # a damaged ledger is reported by the gates; the guard's record remains
    return found


def _latest_run(conn: sqlite3.Connection, root: Path, test: str) -> Latest | None:
    nodes = dict(conn.execute("SELECT node_id, nodeid FROM nodes WHERE file = ?", (test,)))
    ids = list(nodes)[:_CHUNK]
    if not ids:
        return None
    marks = ", ".join("?" * len(ids))
    (last,) = conn.execute(
        f"SELECT MAX(run_id) FROM tests WHERE node_id IN ({marks})", ids
    ).fetchone()
    if not isinstance(last, int):
        return None
    rows = conn.execute(
        f"SELECT node_id FROM tests WHERE run_id = ? AND node_id IN ({marks})"
        " AND outcome IN ('failed', 'error')",
        (last, *ids),
    )
    failed = tuple(sorted(nodes[node] for (node,) in rows))
    started = conn.execute("SELECT started_at FROM runs WHERE run_id = ?", (last,)).fetchone()
    at = _epoch(started[0]) if started and isinstance(started[0], str) else 0.0
    try:
        modified = (root / test).stat().st_mtime
    except OSError:
        return Latest(at, (), unchanged=False)
    return Latest(at, failed, modified <= at + _LEDGER_SLACK_S)


def _epoch(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


@dataclass(frozen=True, slots=True)
class FileRun:
    """One test file in a run: when, its content's digest, the node ids that ran
    and those that failed."""

    at: float
    digest: str
    ran: frozenset[str]
    failed: tuple[str, ...]


def merge(store: Mapping[str, Any], runs: Mapping[str, FileRun]) -> dict[str, Any]:
    """The record after a run; files that did not run keep their entry. A run of
    some of a file's tests (`-k`, a node id) keeps the failures of the others it did
    not run, while the file is unchanged: a red test stays red until it runs again."""
    files = dict(store)
    for test, run in runs.items():
        failed = list(run.failed)
        previous = files.get(test)
        if isinstance(previous, dict) and previous.get("digest") == run.digest:
            kept = previous.get("failed")
            if isinstance(kept, list):
                # the file itself (a collection error) is judged again by this run
                failed += [f for f in kept if f not in run.ran and f not in failed and f != test]
        files[test] = {"at": run.at, "digest": run.digest, "failed": failed}
    return {"version": 1, "files": files}
