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
    from pathlib import Path

LINT_GATES = ("ruff", "mypy")
VIOLATION_GATES = ("tdd", "roles")


@dataclass(frozen=True, slots=True)
class Run:
    run_id: int
    date: str  # YYYY-MM-DD of the run
    code_digest: str | None  # implementation files and conftest.py, see filehash
    head: str | None = None  # the commit checked out
    branch: str | None = None  # None: detached HEAD, no git, or recorded before schema 2
    settings_digest: str | None = None  # None: recorded before schema 2
    env: str | None = None  # JSON object of the relevant environment variables


@dataclass(frozen=True, slots=True)
class Violation:
    """One finding of the `tdd` or `roles` gate in one recorded run."""

    run_id: int
    gate: str
    rule: str
    path: str | None
    commit: str | None  # abbreviated to 8 characters; None: uncommitted or unknown
    message: str


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
        violations: tuple[Violation, ...] = (),
        ancestry: Ancestry | None = None,
    ) -> None:
        self._conn = conn
        self.runs = runs
        self.by_id = {run.run_id: run for run in runs}
        self.tests = tests
        self.gates = gates
        self.findings = findings
        self.requirements = requirements
        self.violations = violations
        self._ancestry = ancestry

    def same_line(self, before: int, after: int) -> bool:
        """True when both runs are on one line of work: the same branch (or both outside
        git) with the same settings; their commits may still be unrelated."""
        a, b = self.by_id.get(before), self.by_id.get(after)
        if a is None or b is None or a.settings_digest is None:
            return False
        if a.settings_digest != b.settings_digest or a.branch != b.branch:
            return False
        return a.branch is not None or (a.head is None and b.head is None)

    def comparable(self, before: int, after: int) -> bool:
        """True when run `after` differs from run `before` by the code alone.

        Both ran on the same branch, with the same settings (and roles file and
        relevant environment), and `after`'s commit is `before`'s or descends from it.
        Only then can a difference between them be put down to the files that changed.
        A run recorded without a branch or settings digest is comparable with none.
        """
        if before > after or not self.same_line(before, after):
            # no git at all (no branch, no commit) is one line of work; a detached
            # HEAD is not: its runs may be anywhere in the history
            return False
        a, b = self.by_id[before], self.by_id[after]
        if a.head is None or a.head == b.head:
            return True  # the same commit, or the branch's first commit after none
        if b.head is None or self._ancestry is None:
            return False
        return self._ancestry.is_ancestor(a.head, b.head)

    def difference(self, before: int, after: int) -> str:
        """How run `after` differs from run `before` other than by the code, in words."""
        a, b = self.by_id.get(before), self.by_id.get(after)
        if a is None or b is None:
            return "in a run that cannot be compared"
        if a.settings_digest is None or b.settings_digest is None:
            return "in a run recorded before branches were recorded"
        if a.branch is None and b.branch is None:
            return "on a detached HEAD, where runs are not compared"
        if a.branch != b.branch:
            where = f"on branch `{b.branch}`" if b.branch else "on a detached HEAD"
            since = f"`{a.branch}`" if a.branch else "a detached HEAD"
            return f"{where}, not on {since} like run #{before}"
        if a.settings_digest != b.settings_digest:
            return f"with other settings or environment than run #{before}{_env_change(a, b)}"
        return f"on a commit that does not descend from the one of run #{before}"

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


def _env_change(a: Run, b: Run) -> str:
    old, new = _env(a.env), _env(b.env)
    changed = [
        f"{name} {'unset' if name not in new else repr(new[name])}"
        for name in sorted({*old, *new})
        if old.get(name) != new.get(name)
    ]
    return f" ({', '.join(changed)})" if changed else ""


def _env(text: str | None) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


class Ancestry:
    """`git merge-base --is-ancestor`, asked once per pair of commits.

    Answers are kept in the ledger's `ancestry` table (written inside the learnings'
    write transaction): ancestry between two commits never changes. A commit git
    does not know (pruned, or a ledger from another clone) is no ancestor and is not
    remembered, so it is asked again once it is known.
    """

    def __init__(self, conn: sqlite3.Connection | None, root: Path) -> None:
        self._conn = conn
        self._root = root
        self._known: dict[tuple[str, str], bool] = {}
        if conn is not None:
            for ancestor, descendant, answer in conn.execute(
                "SELECT ancestor, descendant, answer FROM ancestry"
            ):
                self._known[str(ancestor), str(descendant)] = bool(answer)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return True
        pair = (ancestor, descendant)
        if pair not in self._known:
            answer = self._ask(ancestor, descendant)
            if answer is None:
                return False
            self._known[pair] = answer
            if self._conn is not None:
                self._conn.execute(
                    "INSERT OR REPLACE INTO ancestry VALUES (?, ?, ?)", (*pair, int(answer))
                )
        return self._known[pair]

    def _ask(self, ancestor: str, descendant: str) -> bool | None:
        from pytest_tddgate.errors import ToolError
        from pytest_tddgate.facts.git import git

        try:
            done = git(
                ["merge-base", "--is-ancestor", ancestor, descendant],
                self._root,
                ok_codes=(0, 1, 128),
            )
        except ToolError:
            return None
        return {0: True, 1: False}.get(done.returncode)


def load(conn: sqlite3.Connection, root: Path | None = None) -> History:
    """Read everything the learnings need from a ledger connection.

    `root`: the project, where git answers which commits descend from which;
    without it no two runs on different commits are comparable.
    """
    runs = tuple(
        Run(run_id, started[:10], digest, head, branch, settings, env)
        for run_id, started, digest, head, branch, settings, env in conn.execute(
            "SELECT run_id, started_at, code_digest, head, branch, settings_digest, env"
            " FROM runs ORDER BY run_id"
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
        violations=_violations(conn),
        ancestry=Ancestry(conn, root) if root is not None else None,
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


def _violations(conn: sqlite3.Connection) -> tuple[Violation, ...]:
    marks = ", ".join("?" * len(VIOLATION_GATES))
    rows = conn.execute(
        "SELECT run_id, gate, rule, path, commit_sha, message FROM findings"
        f" WHERE waived = 0 AND gate IN ({marks}) ORDER BY run_id, gate, rule, path",
        VIOLATION_GATES,
    )
    return tuple(
        # the tdd gate names a commit by 8 characters, the roles gate by all 40
        Violation(run_id, gate, rule, path, commit[:8].lower() if commit else None, message)
        for run_id, gate, rule, path, commit, message in rows
    )


def _strings(text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, list) else ()
