"""SIGKILL in the middle of every write: the previous file survives, byte for byte.

Each writer runs in a child process (tests/faultkit.py) that is killed exactly
between writing its new content and putting it in place: the report of a
`pytest --tddgate` run, `tddgate matrix --update`, `tddgate baseline`, `tddgate
learn` (expertise.md), and the ledger's transaction. Afterwards the old file is
intact, and the next run of the same writer succeeds (no lock or debris in its way).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.faultkit import kill_mid_write, run_to_end
from tests.ledgerkit import Project, outcome

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.tddgate]
only = ["tests", "traceability"]
"""
PASSING = "import pytest\n\n\n@pytest.mark.req('R-1')\ndef test_one():\n    assert True\n"
FAILING = "def test_one():\n    assert 1 == 2\n"


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "src").mkdir()
    (root / "tests").mkdir()
    (root / "tests" / "test_one.py").write_text(PASSING, encoding="utf-8")
    (root / "traceability_matrix.json").write_text(
        '{"requirements": [\n  {"id": "R-1", "title": "One"}\n]}\n', encoding="utf-8"
    )
    return root


def debris(folder: Path) -> list[str]:
    """Temporary files a killed atomic write leaves (hidden, never the target)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_run_killed_while_writing_its_report_keeps_the_previous_report(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "proj")
    code, output = run_to_end("pytest", project)
    assert code == 0, output
    report = project / ".tddgate" / "report.json"
    before = report.read_bytes()
    (project / "tests" / "test_one.py").write_text(FAILING, encoding="utf-8")

    kill_mid_write("pytest", project, at=1)

    assert report.read_bytes() == before
    assert json.loads(before)["passed"] is True
    assert [name.startswith(".report.json.") for name in debris(report.parent)] == [True]
    code, output = run_to_end("pytest", project)
    assert code == 1, output
    assert json.loads(report.read_bytes())["passed"] is False


def test_a_killed_matrix_update_keeps_the_previous_matrix(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    matrix = project / "traceability_matrix.json"
    before = matrix.read_bytes()

    kill_mid_write("matrix", project)

    assert matrix.read_bytes() == before
    code, output = run_to_end("matrix", project)
    assert code == 0, output
    assert json.loads(matrix.read_bytes())["requirements"][0]["tests"] == [
        "tests/test_one.py::test_one"
    ]


def test_a_killed_baseline_keeps_the_previous_baseline(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    (project / "pyproject.toml").write_text(
        PYPROJECT + '[tool.ruff]\nsrc = ["src"]\n', encoding="utf-8"
    )
    (project / "src" / "mod.py").write_text("import os\n", encoding="utf-8")
    code, output = run_to_end("baseline", project)
    assert code == 0, output
    baseline = project / ".tddgate-baseline.json"
    before = baseline.read_bytes()
    (project / "src" / "more.py").write_text("import sys\n", encoding="utf-8")

    kill_mid_write("baseline", project)

    assert baseline.read_bytes() == before
    code, output = run_to_end("baseline", project)
    assert code == 0, output
    assert b"more.py" in baseline.read_bytes()


def test_a_killed_learn_keeps_expertise_md_and_the_persons_notes(tmp_path: Path) -> None:
    kit = Project(tmp_path / "proj")
    notes = "---\nteam: core\n---\n\n# Our notes\n\nKeep every word of this.\n"
    kit.write("docs/expertise.md", notes)
    for _ in range(3):
        kit.record(outcome("tests/test_calc.py::test_add", "failed"))

    kill_mid_write("learn", kit.root)

    assert kit.expertise.read_text(encoding="utf-8") == notes
    code, output = run_to_end("learn", kit.root)
    assert code == 0, output
    merged = kit.expertise.read_text(encoding="utf-8")
    assert "# Our notes\n\nKeep every word of this.\n" in merged
    assert "is stuck" in merged


def ledger_rows(path: Path) -> list[tuple[int, int]]:
    """(run id, tests recorded) of every run; [] for a ledger whose first run died."""
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone():
            return []
        rows = conn.execute(
            "SELECT r.run_id, COUNT(t.node_id) FROM runs r LEFT JOIN tests t USING (run_id)"
            " GROUP BY r.run_id ORDER BY r.run_id"
        ).fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("runs_before", [0, 2])
def test_a_run_killed_inside_the_ledger_transaction_loses_no_earlier_run(
    tmp_path: Path, runs_before: int
) -> None:
    project = make_project(tmp_path / "proj")
    for _ in range(runs_before):
        code, output = run_to_end("pytest", project)
        assert code == 0, output
    path = project / ".tddgate" / "ledger.sqlite3"
    before = ledger_rows(path)
    assert len(before) == runs_before

    kill_mid_write("pytest", project, at=-1)

    assert ledger_rows(path) == before
    code, output = run_to_end("pytest", project)
    assert code == 0, output
    assert "not recorded" not in output
    assert ledger_rows(path) == [*before, (len(before) + 1, 1)]
