"""Whole `pytest --tddgate` runs at once, serial and `-n 2`, and `tddgate matrix
--update` racing them: no ledger row, no learning and no matrix byte is lost.

tests/test_ledger_concurrency.py proves the ledger itself under concurrent writers;
these run the real plugin in separate processes, as parallel CI jobs or a developer's
two terminals do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKERS = ("alpha", "beta", "gamma")
PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.tddgate]
only = ["tests", "traceability"]
"""
TESTS = """\
import pytest


@pytest.mark.req("R-{name}")
def test_{name}_works():
    assert True


def test_{name}_is_stuck():
    assert "{name}" == "fixed"
"""


def make_project(root: Path, *, requirements: int = 0) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    for name in WORKERS:
        (root / "tests" / f"test_{name}.py").write_text(TESTS.format(name=name), encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "expertise.md").write_text("# Team notes\n\nAsk Ada first.\n", "utf-8")
    items = [{"id": f"R-{name}", "title": name} for name in WORKERS]
    items += [{"id": f"R-{i:05d}", "title": "padding " * 8} for i in range(requirements)]
    (root / "traceability_matrix.json").write_text(
        json.dumps({"requirements": items}, indent=2) + "\n", encoding="utf-8"
    )
    return root


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in (
        "CI",
        "TDDGATE_BASE",
        "TDDGATE_ROLE",
        "PYTEST_ADDOPTS",
        "PYTEST_XDIST_AUTO_NUM_WORKERS",
    ):
        env.pop(name, None)
    return env


def start_pytest(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "--tddgate", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(runs: list[subprocess.Popen[str]]) -> list[str]:
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 1, output  # the stuck tests fail, nothing else
        assert "Traceback" not in output and "INTERNALERROR" not in output, output
        assert "not recorded" not in output and "not updated" not in output, output
    return outputs


def recorded(project: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(project / ".tddgate" / "ledger.sqlite3") as conn:
        rows = conn.execute(
            "SELECT t.run_id, n.nodeid FROM tests t JOIN nodes n USING (node_id)"
            " ORDER BY t.run_id, n.nodeid"
        ).fetchall()
    conn.close()
    return rows


def test_parallel_runs_lose_no_ledger_row_and_no_learning(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    waves = 3  # three failing runs in a row make a test "stuck": a learning each
    for _ in range(waves):
        finish([start_pytest(project, "-p", "no:xdist", f"tests/test_{w}.py") for w in WORKERS])

    rows = recorded(project)
    assert len({run for run, _ in rows}) == waves * len(WORKERS)
    by_test: dict[str, int] = {}
    for _, nodeid in rows:
        by_test[nodeid] = by_test.get(nodeid, 0) + 1
    assert by_test == {
        f"tests/test_{w}.py::test_{w}_{kind}": waves
        for w in WORKERS
        for kind in ("works", "is_stuck")
    }
    notes = (project / "docs" / "expertise.md").read_text(encoding="utf-8")
    assert "# Team notes\n\nAsk Ada first.\n" in notes
    for worker in WORKERS:
        assert notes.count(f"test_{worker}.py::test_{worker}_is_stuck") == 1, notes
    learn = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "learn", "--root", str(project)],
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert learn.returncode == 0, learn.stderr
    assert "up to date" in learn.stdout  # the last writer merged the whole ledger


def test_parallel_xdist_runs_lose_no_ledger_row(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    project = make_project(tmp_path / "proj")

    finish([start_pytest(project, "-n", "2") for _ in range(2)])

    rows = recorded(project)
    assert len({run for run, _ in rows}) == 2
    assert len(rows) == 2 * 2 * len(WORKERS)


def test_matrix_update_racing_test_runs_never_tears_the_matrix(tmp_path: Path) -> None:
    """`--update` rewrites a large matrix while runs read it and a reader polls it."""
    project = make_project(tmp_path / "proj", requirements=5000)
    matrix = project / "traceability_matrix.json"
    pristine = matrix.read_bytes()
    finish([start_pytest(project, "-p", "no:xdist")])  # a report for --update to read
    torn: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                json.loads(matrix.read_bytes())
            except ValueError as exc:
                torn.append(str(exc))

    reader = threading.Thread(target=poll)
    reader.start()
    updates = 0
    try:
        runs = [start_pytest(project, "-p", "no:xdist") for _ in range(2)]
        while any(run.poll() is None for run in runs) or updates < 4:
            tmp = matrix.with_name("reset.tmp")
            tmp.write_bytes(pristine)
            tmp.replace(matrix)  # back to the file without links, so --update writes again
            done = subprocess.run(
                [sys.executable, "-m", "pytest_tddgate.cli", "matrix", "--update"],
                cwd=project,
                env=environment(),
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "updated traceability_matrix.json" in done.stdout, done.stdout
            updates += 1
        outputs = finish(runs)
    finally:
        stop.set()
        reader.join()
    assert not torn, torn[:3]
    for output in outputs:
        assert "traceability_matrix.json" not in output or "not valid JSON" not in output
    final = json.loads(matrix.read_bytes())["requirements"]
    assert final[0]["tests"] == ["tests/test_alpha.py::test_alpha_works"]
    assert len(final) == 5000 + len(WORKERS)
