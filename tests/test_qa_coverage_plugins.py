"""QA W1: a coverage.py plugin that configures the run (covdefaults sets `source` to the
project folder, `branch`, `omit`) decides what is measured, as under `pytest --cov`:
the gate's total is the one `pytest --cov` prints on the same tests, child processes
included."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING

import pytest

from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from pathlib import Path

pytest.importorskip("covdefaults")

GATE = ("--tddgate", "--tddgate-only=coverage", "--tddgate-no-learn", "-p", "no:randomly")
PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src", "."]

[tool.coverage.run]
plugins = ["covdefaults"]
"""
CHILDREN = 'concurrency = ["multiprocessing"]\nparallel = true\n'
MOD = "def f(x):\n    if x:\n        return 1\n    return 2\n\n\ndef g():\n    return 3\n"
TESTS = """\
import multiprocessing

from pkg.mod import f
from tests.helper import h


def test_f():
    assert f(1) == 1


def test_child():
    child = multiprocessing.get_context("spawn").Process(target=h)
    child.start()
    child.join()
    assert child.exitcode == 0
"""


def project(path: Path, pyproject: str) -> None:
    repo = GitRepo(path)
    repo.write("pyproject.toml", pyproject)
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/pkg/__init__.py", "")
    repo.write("src/pkg/mod.py", MOD)
    repo.write("tests/__init__.py", "")
    repo.write("tests/helper.py", "def h():\n    return 2\n")
    repo.write("tests/test_mod.py", TESTS)
    repo.commit("base")


def pytest_cov_total(pytester: pytest.Pytester) -> str:
    """The TOTAL line's percentage `pytest --cov` prints."""
    result = pytester.runpytest_subprocess("--cov", "-p", "no:randomly")
    found = re.search(r"^TOTAL\s.*?(\d+)%\s*$", result.stdout.str(), re.MULTILINE)
    assert found, result.stdout.str()
    for data in pytester.path.glob(".coverage*"):
        data.unlink()
    return found.group(1) + "%"


def gate_total(pytester: pytest.Pytester) -> tuple[str, float]:
    result = pytester.runpytest_subprocess(*GATE)
    line = next(s for s in result.stdout.lines if s.startswith("coverage "))
    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    return line, gate["metrics"]["total_percent"]


@pytest.mark.parametrize("children", [False, True], ids=["one-process", "spawned-child"])
def test_a_configuring_plugin_measures_what_pytest_cov_measures(
    pytester: pytest.Pytester, children: bool
) -> None:
    project(pytester.path, PYPROJECT + (CHILDREN if children else ""))
    expected = pytest_cov_total(pytester)

    line, total = gate_total(pytester)

    # coverage.py prints whole percents here (covdefaults measures the test files too,
    # and branches); the gate the same number, to two decimals
    assert f"{round(total)}%" == expected, line


def test_children_measure_what_the_run_measures_when_the_project_names_no_source(
    pytester: pytest.Pytester,
) -> None:
    # no plugin, no `source`: the gate measures the source roots; the children, which
    # coverage.py starts from the configuration file, measured the test files too
    project(
        pytester.path,
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src", "."]\n\n'
        "[tool.coverage.run]\n" + CHILDREN,
    )

    line, total = gate_total(pytester)

    # src/pkg/mod.py: 4 of 6 lines; tests/helper.py, half run in the child, is no source
    assert round(total, 2) == 66.67, line
    data = sorted(pytester.path.glob(".coverage*"))
    assert data, "the gate wrote no data file"
    listed = pytester.run(
        sys.executable, "-m", "coverage", "report", f"--data-file={data[0]}"
    ).stdout.str()
    assert "helper.py" not in listed, listed


def test_the_report_says_why_the_tracer_measures(pytester: pytest.Pytester) -> None:
    # QA (filelock's timings): a run measured by the slower tracer says so, and why
    project(pytester.path, PYPROJECT)

    gate_total(pytester)

    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    assert gate["details"]["core"] != "probes"
    assert any(
        "coverage.py's tracer" in note and "plugins" in note for note in gate["details"]["notes"]
    ), gate["details"]["notes"]
