"""Three processes writing one ledger at once: real SQLite, real processes, nothing lost."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

import pytest_tddgate
from pytest_tddgate.learn import update_expertise
from tests.ledgerkit import Project

WORKERS = ("alpha", "beta", "gamma")
ROOT = Path(__file__).resolve().parents[1]


def start_workers(project: Project, runs: int, *extra: str) -> list[subprocess.Popen[str]]:
    src = Path(pytest_tddgate.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    start = time.time() + 1.5  # time for all three interpreters to import
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ledgerkit",
                str(project.root),
                worker,
                str(runs),
                str(start),
                *extra,
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for worker in WORKERS
    ]


def finish(workers: list[subprocess.Popen[str]]) -> None:
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], outputs
    assert outputs == ["", "", ""]


def recorded_tests(project: Project) -> list[str]:
    with contextlib.closing(sqlite3.connect(project.ledger)) as conn, conn:
        found = [
            row[0] for row in conn.execute("SELECT nodeid FROM tests JOIN nodes USING (node_id)")
        ]
    conn.close()
    return sorted(found)


def expected_tests(runs: int) -> list[str]:
    return sorted(f"tests/test_{w}.py::test_{i}" for w in WORKERS for i in range(runs))


def test_three_runs_at_once_on_a_new_ledger_lose_nothing(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj")

    finish(start_workers(project, 15))

    assert recorded_tests(project) == expected_tests(15)
    with contextlib.closing(sqlite3.connect(project.ledger)) as conn, conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT run_id) FROM runs").fetchone() == (
            45,
            45,
        )
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_three_runs_at_once_on_a_corrupt_ledger_move_it_aside_once(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj")
    project.ledger.parent.mkdir(parents=True)
    project.ledger.write_bytes(b"\x00garbage, not SQLite\n" * 500)

    finish(start_workers(project, 5))

    assert len(list(project.ledger.parent.glob("ledger.sqlite3.broken-*"))) == 1
    assert recorded_tests(project) == expected_tests(5)


def test_three_runs_learning_at_once_keep_every_entry_and_a_persons_note(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path / "proj")
    project.write("docs/expertise.md", "---\nteam: core\n---\n\nOur own notes.\n")

    finish(start_workers(project, 8, "learn"))

    text = project.expertise.read_text(encoding="utf-8")
    # each worker's violation stays one uncommitted violation in every run: after the
    # first learning, later runs teach nothing new and leave the date as it was
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["team"] == "core" and str(front["last_updated"]).startswith("2026-03-0")
    assert text.split("---\n", 2)[2].startswith("\nOur own notes.\n")
    for worker in WORKERS:  # each worker's tdd violation is one entry, none lost or doubled
        assert sum(f"`src/{worker}.py`" in line for line in text.splitlines()) == 1, text
    assert text.count("<!-- tddgate:rule:") == 3
    # the last writer merged what the whole ledger says: learning again changes nothing
    assert update_expertise(project.settings).written is False
