"""The run ledger: schema, what one run records, queries, pruning, recovery."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.facts import ledger
from pytest_tddgate.facts.ledger_store import APP, SCHEMA_VERSION
from pytest_tddgate.model import Finding, RequirementStatus
from tests.branchkit import GitProject
from tests.ledgerkit import Project, gate, outcome


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "proj")


def rows(path: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(sql, args).fetchall()


def git_blob(path: Path) -> str:
    done = subprocess.run(
        ["git", "hash-object", "--no-filters", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_first_run_creates_a_versioned_wal_ledger(project: Project) -> None:
    recorded = project.record(outcome("tests/test_calc.py::test_add", "passed"))

    assert recorded.run_id == 1
    assert recorded.notes == ()
    assert project.ledger == project.root / ".tddgate" / "ledger.sqlite3"
    assert rows(project.ledger, "SELECT app, version FROM schema_version") == [
        (APP, SCHEMA_VERSION)
    ]
    assert rows(project.ledger, "PRAGMA journal_mode") == [("wal",)]


def test_one_run_records_time_head_role_gates_findings_tests_and_hashes(
    project: Project,
) -> None:
    ruff = gate(
        "ruff",
        "fail",
        [Finding("E501", "Line too long (120 > 100)", "src/pkg/calc.py", 2)],
        {"violations": 1, "unformatted": 0},
    )
    req = RequirementStatus(
        "REQ-1", "failing", ("tests/test_calc.py",), ("src/pkg/calc.py",), title="Adding"
    )
    failing = outcome("tests/test_calc.py::test_add", "failed", "AssertionError: assert -1 == 3")
    project.record(
        failing,
        outcome("tests/test_calc.py::test_ok", "passed"),
        gates=[ruff],
        requirements=[req],
        head="c" * 40,
    )

    db = project.ledger
    assert rows(db, "SELECT run_id, started_at, head, base, role, passed FROM runs") == [
        (1, "2026-03-01T10:00:00+00:00", "c" * 40, "b" * 40, "backend", 0)
    ]
    assert rows(db, "SELECT gate, position, status FROM gates ORDER BY position") == [
        ("tests", 0, "fail"),
        ("ruff", 1, "fail"),
    ]
    assert rows(db, "SELECT key, value FROM metrics WHERE gate = 'ruff' ORDER BY key") == [
        ("unformatted", 0),
        ("violations", 1),
    ]
    assert rows(db, "SELECT gate, rule, path, line, message FROM findings") == [
        ("ruff", "E501", "src/pkg/calc.py", 2, "Line too long (120 > 100)")
    ]
    assert rows(
        db,
        "SELECT n.nodeid, n.file, t.outcome, t.signature, t.message FROM tests t"
        " JOIN nodes n USING (node_id) ORDER BY n.nodeid",
    ) == [
        (
            "tests/test_calc.py::test_add",
            "tests/test_calc.py",
            "failed",
            failing.signature,
            "AssertionError: assert -1 == 3",
        ),
        ("tests/test_calc.py::test_ok", "tests/test_calc.py", "passed", None, None),
    ]
    assert rows(db, "SELECT req_id, status, title, code FROM requirements") == [
        ("REQ-1", "failing", "Adding", '["src/pkg/calc.py"]')
    ]
    files = {
        path: (kind, bytes(blob).hex())
        for path, kind, blob in rows(
            db, "SELECT p.path, f.kind, f.blob FROM files f JOIN paths p USING (path_id)"
        )
    }
    assert files == {
        "src/pkg/__init__.py": ("impl", git_blob(project.root / "src/pkg/__init__.py")),
        "src/pkg/calc.py": ("impl", git_blob(project.root / "src/pkg/calc.py")),
        "tests/test_calc.py": ("test", git_blob(project.root / "tests/test_calc.py")),
    }


def test_recent_runs_oldest_first_with_gate_statuses_and_metrics(project: Project) -> None:
    for status, count in (("fail", 3), ("fail", 1), ("pass", 0)):
        project.record(
            gates=[gate("ruff", status, metrics={"violations": count, "ratio": 0.5, "note": "x"})]
        )

    runs = ledger.recent_runs(project.ledger, 2)

    assert [r.run_id for r in runs] == [2, 3]
    assert [r.started_at for r in runs] == [
        "2026-03-02T10:00:00+00:00",
        "2026-03-03T10:00:00+00:00",
    ]
    assert [list(r.gates) for r in runs] == [["tests", "ruff"], ["tests", "ruff"]]
    assert runs[0].gates["ruff"] == ledger.GateRecord(
        "fail", {"violations": 1, "ratio": 0.5, "note": "x"}
    )
    assert runs[1].gates["ruff"].status == "pass"
    assert runs[1].passed is True and runs[0].passed is False
    assert runs[1].head == "a" * 40
    assert ledger.recent_runs(project.ledger, 0) == []


def test_test_outcomes_carry_the_recorded_hash_of_the_implementation_file(
    project: Project,
) -> None:
    calc = project.root / "src/pkg/calc.py"
    project.record(
        outcome("tests/test_calc.py::test_add", "failed"),
        outcome("tests/test_other.py::test_x", "passed"),
    )
    red_hash = git_blob(calc)
    calc.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    project.record(outcome("tests/test_calc.py::test_add", "passed"))

    found = ledger.test_outcomes(project.ledger, ["tests/test_calc.py"], "src/pkg/calc.py")

    assert found == [
        ledger.RecordedOutcome(
            1, "2026-03-01T10:00:00+00:00", "tests/test_calc.py::test_add", "failed", red_hash
        ),
        ledger.RecordedOutcome(
            2, "2026-03-02T10:00:00+00:00", "tests/test_calc.py::test_add", "passed", git_blob(calc)
        ),
    ]
    by_nodeid = ledger.test_outcomes(
        project.ledger, ["tests/test_other.py::test_x"], "src/pkg/missing.py"
    )
    assert [(o.nodeid, o.impl_hash) for o in by_nodeid] == [("tests/test_other.py::test_x", None)]


def test_last_outcomes_of_one_test_is_one_indexed_query(project: Project) -> None:
    for result in ("failed", "failed", "passed", "failed"):
        project.record(outcome("tests/test_calc.py::test_add", result))

    last = ledger.last_outcomes(project.ledger, "tests/test_calc.py::test_add", 3)

    assert [(r.run_id, r.outcome) for r in last] == [(2, "failed"), (3, "passed"), (4, "failed")]
    assert last[0].signature is not None and last[1].signature is None
    plan = rows(
        project.ledger,
        "EXPLAIN QUERY PLAN SELECT run_id, outcome FROM tests"
        " WHERE node_id = (SELECT node_id FROM nodes WHERE nodeid = ?)"
        " ORDER BY run_id DESC LIMIT 3",
        "x",
    )
    assert any("tests_by_node" in str(step) for step in plan)
    assert not any("TEMP B-TREE" in str(step) for step in plan)


def test_pruning_keeps_the_newest_ledger_keep_runs(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj", "ledger_keep = 3\n")
    results = [project.record(outcome("tests/test_calc.py::test_add", "passed")) for _ in range(5)]

    assert [r.pruned for r in results] == [0, 0, 0, 1, 1]
    assert rows(project.ledger, "SELECT run_id FROM runs") == [(3,), (4,), (5,)]
    for table in ("gates", "tests", "files", "metrics"):
        assert rows(project.ledger, f"SELECT MIN(run_id) FROM {table}") == [(3,)]
    assert [r.run_id for r in ledger.recent_runs(project.ledger, 10)] == [3, 4, 5]


def test_readers_return_nothing_without_a_ledger(project: Project) -> None:
    assert ledger.recent_runs(project.ledger, 5) == []
    assert ledger.test_outcomes(project.ledger, ["tests/test_calc.py"], "src/pkg/calc.py") == []
    assert ledger.last_outcomes(project.ledger, "tests/test_calc.py::test_add", 5) == []
    assert not project.ledger.exists()  # reading never creates the file


def test_a_corrupt_ledger_is_moved_aside_and_a_fresh_one_started(project: Project) -> None:
    project.ledger.parent.mkdir(parents=True)
    garbage = b"this is not a database, just bytes someone wrote here\n" * 100
    project.ledger.write_bytes(garbage)
    with pytest.raises(ledger.LedgerError, match="could not read the run ledger"):
        ledger.recent_runs(project.ledger, 5)

    recorded = project.record(outcome("tests/test_calc.py::test_add", "passed"))

    aside = list(project.ledger.parent.glob("ledger.sqlite3.broken-*"))
    assert len(aside) == 1
    assert aside[0].read_bytes() == garbage  # kept, for whoever wants to look
    assert len(recorded.notes) == 1
    assert "could not be used" in recorded.notes[0]
    assert aside[0].name in recorded.notes[0]
    assert "started a fresh ledger" in recorded.notes[0]
    assert [r.run_id for r in ledger.recent_runs(project.ledger, 5)] == [1]


def test_another_programs_database_is_moved_aside_not_written_to(project: Project) -> None:
    project.ledger.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(project.ledger)) as conn, conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
        conn.execute("INSERT INTO customers VALUES ('Ada')")
    conn.close()

    recorded = project.record(outcome("tests/test_calc.py::test_add", "passed"))

    assert "no schema_version table" in recorded.notes[0]
    (aside,) = project.ledger.parent.glob("ledger.sqlite3.broken-*")
    assert rows(aside, "SELECT name FROM customers") == [("Ada",)]
    assert rows(project.ledger, "SELECT COUNT(*) FROM runs") == [(1,)]


def test_a_ledger_of_a_newer_version_is_left_alone(project: Project) -> None:
    project.record(outcome("tests/test_calc.py::test_add", "passed"))
    with contextlib.closing(sqlite3.connect(project.ledger)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.close()

    with pytest.raises(ledger.LedgerError, match="newer than this pytest-tddgate"):
        project.record(outcome("tests/test_calc.py::test_add", "passed"))

    assert rows(project.ledger, "SELECT COUNT(*) FROM runs") == [(1,)]
    assert not list(project.ledger.parent.glob("*.broken-*"))


def recorded_hashes(project: Project, path: str) -> list[str | None]:
    """The hash the ledger holds for `path` in each run, oldest first."""
    return [
        None if blob is None else bytes(blob).hex()
        for (blob,) in rows(
            project.ledger,
            "SELECT (SELECT f.blob FROM files f JOIN paths p USING (path_id) WHERE p.path = ?"
            " AND f.run_id <= r.run_id ORDER BY f.run_id DESC LIMIT 1) FROM runs r"
            " ORDER BY r.run_id",
            path,
        )
    ]


def test_a_files_hash_is_stored_only_in_runs_where_it_changed(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj", "ledger_keep = 3\n")
    calc, init = project.root / "src/pkg/calc.py", project.root / "src/pkg/__init__.py"
    for _ in range(3):
        project.record(outcome("tests/test_calc.py::test_add", "failed"))
    calc.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    init.unlink()
    project.record(outcome("tests/test_calc.py::test_add", "passed"))

    per_run = rows(project.ledger, "SELECT run_id, COUNT(*) FROM files GROUP BY run_id")
    # run 1 was pruned: run 2 now holds every file; run 4 the edit and the deletion
    assert per_run == [(2, 3), (4, 2)]
    assert recorded_hashes(project, "src/pkg/__init__.py")[-1] is None
    found = ledger.test_outcomes(project.ledger, ["tests/test_calc.py"], "src/pkg/calc.py")
    assert [(o.run_id, o.outcome) for o in found] == [(2, "failed"), (3, "failed"), (4, "passed")]
    assert found[0].impl_hash == found[1].impl_hash != found[2].impl_hash == git_blob(calc)


def test_unchanged_files_are_not_read_again(project: Project) -> None:
    calc = project.root / "src/pkg/calc.py"
    old = time.time() - 3600
    os.utime(calc, (old, old))
    project.record()
    first = git_blob(calc)
    # same size and modification time: like git, the recorded hash is trusted
    calc.write_text(calc.read_text().replace("a - b", "b - a"), encoding="utf-8")
    os.utime(calc, (old, old))
    project.record()
    # a real edit changes size or time, and is hashed again
    calc.write_text("def add(a, b):\n    return a + b  # fixed\n", encoding="utf-8")
    project.record()

    hashes = recorded_hashes(project, "src/pkg/calc.py")
    assert hashes == [first, first, git_blob(calc)]


def test_a_recently_written_file_is_hashed_again_even_with_the_same_stat(
    project: Project,
) -> None:
    calc = project.root / "src/pkg/calc.py"
    project.record()  # calc.py was written just now: its cache entry is "racy"
    stat = calc.stat()
    calc.write_text(calc.read_text().replace("a - b", "b - a"), encoding="utf-8")
    os.utime(calc, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    project.record()

    hashes = recorded_hashes(project, "src/pkg/calc.py")
    assert hashes[1] == git_blob(calc) != hashes[0]


def test_recent_runs_of_one_branch(tmp_path: Path) -> None:
    project = GitProject(tmp_path / "proj")
    project.record()
    project.repo.git("checkout", "-q", "-b", "feature")
    project.record()
    project.repo.git("checkout", "-q", "main")
    project.record()

    assert [r.run_id for r in ledger.recent_runs(project.ledger, 10, branch="main")] == [1, 3]
    assert [r.branch for r in ledger.recent_runs(project.ledger, 10)] == [
        "main",
        "feature",
        "main",
    ]
