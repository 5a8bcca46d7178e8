"""What the learnings are derived from, read out of the ledger in a few queries.

Only what can matter is loaded: the outcomes of tests that failed at least once (a
partial index finds them), gate statuses, the ruff / mypy / tdd / roles findings and
requirement statuses. File contents are compared run against run on demand.
"""

from __future__ import annotations

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
        files: Mapping[int, Mapping[str, bytes]] | None = None,
    ) -> None:
        self._conn = conn
        self.runs = runs
        self.by_id = {run.run_id: run for run in runs}
        self.tests = tests
        self.gates = gates
        self.findings = findings
        self.requirements = requirements
        self._files: dict[int, Mapping[str, bytes]] = dict(files or {})

    def date(self, run_id: int) -> str:
        run = self.by_id.get(run_id)
        return run.date if run else "????-??-??"

    def changed(self, before: int, after: int) -> tuple[str, ...]:
        """Files added, removed or edited between two runs, sorted."""
        old, new = self._files_of(before), self._files_of(after)
        return tuple(sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p)))

    def _files_of(self, run_id: int) -> Mapping[str, bytes]:
        if run_id not in self._files and self._conn is not None:
            self._files[run_id] = {
                path: bytes(blob)
                for path, blob in self._conn.execute(
                    "SELECT p.path, f.blob FROM files f JOIN paths p ON p.path_id = f.path_id"
                    " WHERE f.run_id = ?",
                    (run_id,),
                )
            }
        return self._files.get(run_id, {})


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
    nodeids = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT nodeid FROM tests WHERE outcome IN ('failed', 'error')"
        )
    ]
    found: dict[str, list[TestPoint]] = defaultdict(list)
    blobs: dict[str, dict[int, bytes]] = {}
    for nodeid in sorted(nodeids):
        rows = conn.execute(
            "SELECT run_id, outcome, signature, message, file FROM tests WHERE nodeid = ?"
            " ORDER BY run_id",
            (nodeid,),
        ).fetchall()
        for run_id, outcome, signature, message, file in rows:
            if file not in blobs:
                blobs[file] = _blobs_of(conn, file)
            found[nodeid].append(
                TestPoint(run_id, outcome, signature, message, blobs[file].get(run_id))
            )
    return {nodeid: tuple(points) for nodeid, points in found.items()}


def _blobs_of(conn: sqlite3.Connection, path: str) -> dict[int, bytes]:
    return {
        run_id: bytes(blob)
        for run_id, blob in conn.execute(
            "SELECT f.run_id, f.blob FROM files f JOIN paths p ON p.path_id = f.path_id"
            " WHERE p.path = ?",
            (path,),
        )
    }


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
