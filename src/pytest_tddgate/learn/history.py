"""What the learnings are derived from, read out of the ledger in a few queries.

Only what can matter is loaded: the outcomes of tests that failed at least once (a
partial index finds them), gate statuses, the ruff / mypy / tdd / roles findings and
requirement statuses. File contents are compared run against run on demand.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping

LINT_GATES = ("ruff", "mypy")
VIOLATION_GATES = ("tdd", "roles")


@dataclass(frozen=True, slots=True)
class Run:
    run_id: int
    date: str  # YYYY-MM-DD of the run
    code_digest: str | None  # implementation files and conftest.py, see filehash


@dataclass(frozen=True, slots=True)
class TestPoint:
    """One recorded outcome of a test."""

    run_id: int
    outcome: str
    signature: str | None
    message: str | None
    file_blob: bytes | None  # the test file's own hash in that run


@dataclass(frozen=True, slots=True)
class FindingSeen:
    """One distinct finding (gate, rule, path, message) and the runs it appeared in."""

    gate: str
    rule: str
    path: str | None
    message: str
    first_run: int
    last_run: int


@dataclass(frozen=True, slots=True)
class RequirementPoint:
    run_id: int
    status: str
    title: str | None
    code: tuple[str, ...]


class History:
    """The recorded runs as learnings need them; `changed` compares two runs' files."""

    def __init__(
        self,
        conn: sqlite3.Connection | None,
        runs: tuple[Run, ...],
        *,
        tests: Mapping[str, tuple[TestPoint, ...]],
        gates: Mapping[str, tuple[tuple[int, str], ...]],
        findings: tuple[FindingSeen, ...],
        requirements: Mapping[str, tuple[RequirementPoint, ...]],
    ) -> None:
        self._conn = conn
        self.runs = runs
        self.by_id = {run.run_id: run for run in runs}
        self.tests = tests
        self.gates = gates
        self.findings = findings
        self.requirements = requirements

    def date(self, run_id: int) -> str:
        run = self.by_id.get(run_id)
        return run.date if run else "????-??-??"

    def changed(self, before: int, after: int) -> tuple[str, ...]:
        """Files added, removed or edited between two runs, sorted.

        Only files with a row between the two runs can differ; for those the hash
        in each run (the newest row up to it) is compared, so a file edited and
        edited back is not counted.
        """
        if self._conn is None:
            return ()
        rows = self._conn.execute(
            "SELECT p.path, ("
            + _BLOB_AT.format(run="?")
            + "), ("
            + _BLOB_AT.format(run="?")
            + ") FROM (SELECT DISTINCT path_id FROM files WHERE run_id > ? AND run_id <= ?) d"
            " JOIN paths p ON p.path_id = d.path_id ORDER BY p.path",
            (before, after, before, after),
        )
        return tuple(path for path, old, new in rows if old != new)


# the hash a file had in a run: its row with the highest run_id up to that run
_BLOB_AT = (
    "SELECT g.blob FROM files g WHERE g.path_id = d.path_id AND g.run_id <= {run}"
    " ORDER BY g.run_id DESC LIMIT 1"
)


def load(conn: sqlite3.Connection) -> History:
    """Read everything the learnings need from a ledger connection."""
    runs = tuple(
        Run(run_id, started[:10], digest)
        for run_id, started, digest in conn.execute(
            "SELECT run_id, started_at, code_digest FROM runs ORDER BY run_id"
        )
    )
    gates: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for run_id, gate, status in conn.execute(
        "SELECT run_id, gate, status FROM gates ORDER BY run_id, position"
    ):
        gates[gate].append((run_id, status))
    requirements: dict[str, list[RequirementPoint]] = defaultdict(list)
    for run_id, req_id, status, title, code in conn.execute(
        "SELECT run_id, req_id, status, title, code FROM requirements ORDER BY run_id, req_id"
    ):
        requirements[req_id].append(RequirementPoint(run_id, status, title, _strings(code)))
    return History(
        conn,
        runs,
        tests=_failing_tests(conn),
        gates={gate: tuple(points) for gate, points in gates.items()},
        findings=_findings(conn),
        requirements={req: tuple(points) for req, points in requirements.items()},
    )


def _failing_tests(conn: sqlite3.Connection) -> dict[str, tuple[TestPoint, ...]]:
    """The whole recorded history of every test that failed at least once."""
    failing = conn.execute(
        "SELECT n.node_id, n.nodeid, n.file FROM nodes n WHERE n.node_id IN"
        " (SELECT node_id FROM tests WHERE outcome IN ('failed', 'error')) ORDER BY n.nodeid"
    ).fetchall()
    found: dict[str, tuple[TestPoint, ...]] = {}
    blobs: dict[str, list[tuple[int, bytes | None]]] = {}
    for node_id, nodeid, file in failing:
        if file not in blobs:
            blobs[file] = _changes_of(conn, file)
        found[nodeid] = tuple(
            TestPoint(run_id, outcome, signature, message, _state(blobs[file], run_id))
            for run_id, outcome, signature, message in conn.execute(
                "SELECT run_id, outcome, signature, message FROM tests WHERE node_id = ?"
                " ORDER BY run_id",
                (node_id,),
            )
        )
    return found


def _changes_of(conn: sqlite3.Connection, path: str) -> list[tuple[int, bytes | None]]:
    """(run_id, hash) of every run in which `path` changed, oldest first."""
    return [
        # bytes(n) of an int edited or damaged into the column would allocate n bytes
        (run_id, blob if isinstance(blob, bytes) else None)
        for run_id, blob in conn.execute(
            "SELECT f.run_id, f.blob FROM files f JOIN paths p ON p.path_id = f.path_id"
            " WHERE p.path = ? ORDER BY f.run_id",
            (path,),
        )
    ]


def _state(changes: list[tuple[int, bytes | None]], run_id: int) -> bytes | None:
    """The hash in run `run_id`: the last change at or before it."""
    index = bisect.bisect_right(changes, run_id, key=lambda change: change[0])
    return changes[index - 1][1] if index else None


def _findings(conn: sqlite3.Connection) -> tuple[FindingSeen, ...]:
    gates = (*LINT_GATES, *VIOLATION_GATES)
    marks = ", ".join("?" * len(gates))
    rows = conn.execute(
        "SELECT gate, rule, path, message, MIN(run_id), MAX(run_id) FROM findings"
        f" WHERE waived = 0 AND gate IN ({marks})"
        " GROUP BY gate, rule, path, message ORDER BY gate, rule, path, message",
        gates,
    )
    return tuple(FindingSeen(*row) for row in rows)


def _strings(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()
