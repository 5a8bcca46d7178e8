"""Fuzzing the run ledger: whatever lies at .tddgate/ledger.sqlite3, a run is recorded.

The file may be random bytes, a real ledger cut short or with flipped bytes (a disk
or a copy gone wrong), another program's SQLite database, or a ledger whose
bookkeeping rows were edited. For each, recording a run either succeeds (a broken
file is moved aside, said in a note) or raises `LedgerError` (a `FactError`, shown
as a status line); reading the ledger and learning from it end in a result or a
`TddGateError`. Nothing else may escape: the session only catches those.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tddgate.errors import TddGateError
from pytest_tddgate.facts import ledger
from pytest_tddgate.learn import update_expertise
from tests import fuzzkit
from tests.ledgerkit import Project, gate, outcome

COSTLY = settings(max_examples=fuzzkit.examples(ci=60, long=10_000))


class Healthy(bytes):
    """A real ledger's bytes, with a short repr for Hypothesis' failure reports."""

    def __repr__(self) -> str:
        return f"<a healthy ledger of {len(self)} bytes>"


@pytest.fixture(scope="module")
def healthy() -> Iterator[Healthy]:
    """The bytes of a real ledger with a few runs, failures and findings."""
    with tempfile.TemporaryDirectory() as name:
        project = Project(Path(name) / "proj")
        for index in range(4):
            project.record(
                outcome("tests/test_calc.py::test_add", "failed" if index < 3 else "passed"),
                outcome(f"tests/test_calc.py::test_{index}", "passed"),
                gates=[gate("ruff", "fail", metrics={"violations": index})],
            )
        yield Healthy(project.ledger.read_bytes())


@pytest.fixture(scope="module")
def project() -> Iterator[Project]:
    with tempfile.TemporaryDirectory() as name:
        yield Project(Path(name) / "proj")


def survives(project: Project, content: bytes | None, *, sidecar: bytes | None = None) -> None:
    """Put `content` where the ledger lives, record a run, read, learn."""
    folder = project.ledger.parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    project.day = 0  # each input starts the month again
    if content is not None:
        project.ledger.write_bytes(content)
    if sidecar is not None:
        project.ledger.with_name(project.ledger.name + "-wal").write_bytes(sidecar)
    try:
        recorded = project.record(outcome("tests/test_calc.py::test_add", "failed"))
    except ledger.LedgerError as exc:
        assert "ledger" in str(exc)
        fuzzkit.outcome("not recorded: LedgerError")
        return
    aside = list(folder.glob("ledger.sqlite3.broken-*"))
    assert len(aside) == (1 if recorded.notes else 0), recorded.notes
    fuzzkit.outcome("set aside, recorded" if recorded.notes else "recorded")
    try:
        runs = ledger.recent_runs(project.ledger, 10)
        assert runs[-1].run_id == recorded.run_id
        ledger.last_outcomes(project.ledger, "tests/test_calc.py::test_add", 5)
        ledger.test_outcomes(project.ledger, ["tests/test_calc.py"], "src/pkg/calc.py")
        update_expertise(project.settings)
    except TddGateError:
        fuzzkit.outcome("recorded; read back: TddGateError")


@COSTLY
@given(content=st.binary(max_size=2000))
def test_random_bytes(project: Project, content: bytes) -> None:
    fuzzkit.ran("ledger: random bytes")
    survives(project, content)


@COSTLY
@given(data=st.data())
def test_a_real_ledger_cut_short(project: Project, healthy: Healthy, data: st.DataObject) -> None:
    fuzzkit.ran("ledger: truncated")
    survives(project, healthy[: data.draw(st.integers(0, len(healthy)))])


@COSTLY
@given(
    flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=8)
)
def test_a_real_ledger_with_damaged_bytes(
    project: Project, healthy: Healthy, flips: list[tuple[int, int]]
) -> None:
    fuzzkit.ran("ledger: damaged bytes")
    content = bytearray(healthy)
    for where, value in flips:
        content[where % len(content)] = value
    survives(project, bytes(content))


@COSTLY
@given(sidecar=st.binary(max_size=600))
def test_a_garbage_write_ahead_log_beside_a_real_ledger(
    project: Project, healthy: Healthy, sidecar: bytes
) -> None:
    fuzzkit.ran("ledger: garbage -wal file")
    survives(project, healthy, sidecar=sidecar)


sql_values = (
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10) | st.binary(max_size=10)
)


@COSTLY
@given(
    statement=st.sampled_from(
        [
            "UPDATE schema_version SET app = ?",
            "UPDATE schema_version SET version = ?",
            "UPDATE schema_version SET created_at = ?",
            "INSERT INTO schema_version VALUES (?, 1, 'x')",
            "DELETE FROM schema_version WHERE ? IS NULL OR 1",
            "UPDATE runs SET started_at = ?",
            "UPDATE runs SET head = ?",
            "UPDATE tests SET outcome = ?",
            "UPDATE tests SET signature = ?",
            "UPDATE tests SET message = ?",
            "UPDATE nodes SET nodeid = ? WHERE node_id = 1",
            "UPDATE gates SET status = ?",
            "UPDATE metrics SET value = ?",
            "UPDATE findings SET message = ?",
            "UPDATE findings SET path = ?",
            "UPDATE hash_cache SET blob = ?",
            "UPDATE hash_cache SET mtime_ns = ?",
            "UPDATE files SET blob = ?",
            "UPDATE requirements SET code = ?",
            "DROP TABLE IF EXISTS tests -- ?",
            "CREATE TABLE IF NOT EXISTS extra (x) -- ?",
        ]
    ),
    value=sql_values,
)
@example(statement="UPDATE files SET blob = ?", value=25_276_589_393)  # 25 GB of bytes(n)
@example(statement="UPDATE nodes SET nodeid = ? WHERE node_id = 1", value=b"")
def test_a_ledger_someone_edited(
    project: Project, healthy: Healthy, statement: str, value: object
) -> None:
    fuzzkit.ran("ledger: edited rows")
    folder = project.ledger.parent
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    project.ledger.write_bytes(healthy)
    params = () if "--" in statement else (value,)
    with sqlite3.connect(project.ledger) as conn:
        try:
            conn.execute(statement.replace("-- ?", ""), params)
        except sqlite3.IntegrityError:  # a NOT NULL or UNIQUE column refused the value
            return
    conn.close()
    survives(project, project.ledger.read_bytes())


@pytest.mark.parametrize(
    "content",
    [b"", b"SQLite format 3\x00", b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["empty", "header-only", "header-then-garbage"],
)
def test_odd_files_are_handled(project: Project, content: bytes) -> None:
    survives(project, content)


def test_another_programs_database(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE schema_version (app, version)")
        conn.execute("INSERT INTO schema_version VALUES ('someone else', 1)")
    conn.close()
    survives(project, other.read_bytes())
    (aside,) = project.ledger.parent.glob("ledger.sqlite3.broken-*")
    assert aside.read_bytes() == other.read_bytes()
