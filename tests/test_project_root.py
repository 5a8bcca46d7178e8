"""The project root: the same whatever paths or `-k` the user gives, whichever ini
file pytest picks, and from wherever pytest is run inside the project.

The project is built like rich: packaging and `.coveragerc` at the top, and a
`tests/pytest.ini` that pytest takes as its rootdir when given a path under `tests/`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.model import ProjectInfo, Report
from pytest_tddgate.projectroot import find_project_root
from pytest_tddgate.report.json_report import load, render
from tests.gitrepo import GitRepo

PYPROJECT = """\
[project]
name = "pkg"
version = "1.0"

[tool.pytest.ini_options]
pythonpath = ["src"]
"""
COVERAGERC = "[run]\nbranch = True\n"
PYTEST_INI = "[pytest]\npythonpath = ../src\n"
CORE = "def double(x):\n    if x < 0:\n        return 0\n    return x * 2\n"
CORE_CHANGED = CORE.replace("return 0", "return -1")
TEST = "from pkg.core import double\n\n\ndef test_double():\n    assert double(2) == 4\n"
TEST_CHANGED = TEST + "\n\ndef test_negative():\n    assert double(-1) == -1\n"


def rich_like(pytester: pytest.Pytester) -> str:
    """A project whose implementation changed before its test; returns the base."""
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".coveragerc", COVERAGERC)
    repo.write(".gitignore", ".coverage\n.tddgate/\n")
    repo.write("src/pkg/__init__.py", "")
    repo.write("src/pkg/core.py", CORE)
    repo.write("tests/pytest.ini", PYTEST_INI)
    repo.write("tests/test_core.py", TEST)
    base = repo.commit("start")
    repo.write("src/pkg/core.py", CORE_CHANGED)
    repo.commit("implementation first")
    repo.write("tests/test_core.py", TEST_CHANGED)
    repo.commit("then its test")
    return base


def gated(pytester: pytest.Pytester, base: str, *args: str) -> tuple[pytest.RunResult, Any]:
    """One gated run in a fresh process; the report read from the project root."""
    for stale in (pytester.path / ".tddgate", pytester.path / "tests" / ".tddgate"):
        report = stale / "report.json"
        report.unlink(missing_ok=True)
    for data in (pytester.path / ".coverage", pytester.path / "tests" / ".coverage"):
        data.unlink(missing_ok=True)
    result = pytester.runpytest_subprocess(
        "--tddgate",
        "--tddgate-only=tests,tdd,coverage",
        f"--tddgate-base={base}",
        "--tddgate-no-learn",
        "-p",
        "no:cacheprovider",
        *args,
    )
    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text("utf-8"))
    return result, report


def verdicts(report: Any) -> dict[str, str]:
    return {gate["name"]: gate["status"] for gate in report["gates"] if gate["status"] != "skip"}


def measured_files(pytester: pytest.Pytester) -> list[str]:
    """The files `coverage report` lists for the data file the run wrote."""
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-q", "-o", "-"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(json.loads(done.stdout)["files"])


@pytest.mark.parametrize(
    "args",
    [("tests",), ("tests/test_core.py",), ("-k", "double or negative"), ("-n", "2", "tests")],
)
def test_a_path_under_tests_judges_the_same_project(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    base = rich_like(pytester)
    plain, expected = gated(pytester, base)
    expected_files = measured_files(pytester)

    result, report = gated(pytester, base, *args)

    assert (result.ret, plain.ret) == (1, 1)
    assert (
        verdicts(report)
        == verdicts(expected)
        == {
            "tests": "pass",
            "tdd": "fail",
            "coverage": "pass",
        }
    )
    tdd = next(g for g in report["gates"] if g["name"] == "tdd")
    assert [f["path"] for f in tdd["findings"]] == ["src/pkg/core.py"]
    assert not (pytester.path / "tests" / ".tddgate").exists()
    assert not (pytester.path / "tests" / ".coverage").exists()
    coverage = next(g for g in report["gates"] if g["name"] == "coverage")
    assert coverage["details"]["branch"] is True  # the repository's .coveragerc
    assert coverage["details"]["data_file"] == ".coverage"
    assert measured_files(pytester) == expected_files == ["src/pkg/__init__.py", "src/pkg/core.py"]
    test_map = json.loads((pytester.path / ".tddgate" / "test-map.json").read_text("utf-8"))
    assert test_map["tests"] == {"tests/test_core.py": ["src/pkg/core.py"]}  # node ids
    root = str(pytester.path.resolve())
    assert report["project"] == expected["project"]
    assert report["project"]["root"] == root
    assert report["project"]["settings_file"] is None  # no [tool.tddgate]: defaults
    assert report["project"]["coverage_config"] == ".coveragerc"
    result.stdout.fnmatch_lines(
        [f"project: {root} (*)", "tddgate: FAILED: tdd (report: .tddgate/report.json)"]
    )


def test_run_from_the_tests_folder_judges_the_same_project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = rich_like(pytester)
    monkeypatch.chdir(pytester.path / "tests")

    result, report = gated(pytester, base)

    assert result.ret == 1
    assert verdicts(report) == {"tests": "pass", "tdd": "fail", "coverage": "pass"}
    assert report["project"]["root"] == str(pytester.path.resolve())
    assert not (pytester.path / "tests" / ".coverage").exists()
    # shown relative to where the user stands
    result.stdout.fnmatch_lines(["tddgate: FAILED: tdd (report: ../.tddgate/report.json)"])


def test_report_option_is_relative_to_where_pytest_runs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = rich_like(pytester)
    monkeypatch.chdir(pytester.path / "tests")

    result = pytester.runpytest_subprocess(
        "--tddgate",
        "--tddgate-only=tests",
        f"--tddgate-base={base}",
        "--tddgate-report=out/gate.json",
        "--tddgate-no-learn",
        "-p",
        "no:cacheprovider",
    )

    assert result.ret == 0
    assert (pytester.path / "tests" / "out" / "gate.json").is_file()
    result.stdout.fnmatch_lines(["tddgate: all gates passed (report: out/gate.json)"])


def test_a_monorepo_project_run_from_the_top(pytester: pytest.Pytester) -> None:
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n")
    # one pytest configuration for the whole repository: pytest's rootdir is the top
    repo.write("pytest.ini", "[pytest]\npythonpath = one/src\n")
    for name in ("one", "two"):
        repo.write(f"{name}/pyproject.toml", f'[project]\nname = "{name}"\n')
        repo.write(f"{name}/src/pkg/__init__.py", "")
        repo.write(f"{name}/src/pkg/core.py", CORE)
        repo.write(f"{name}/tests/test_core.py", TEST)
    base = repo.commit("two projects")
    repo.write("one/src/pkg/core.py", CORE_CHANGED)
    repo.commit("one: implementation first")

    result = pytester.runpytest(
        "--tddgate",
        "--tddgate-only=tests,tdd",
        f"--tddgate-base={base}",
        "--tddgate-no-learn",
        "-p",
        "no:cacheprovider",
        "one/tests",
    )

    assert result.ret == 1
    report = json.loads((pytester.path / "one/.tddgate/report.json").read_text("utf-8"))
    assert report["project"]["root"] == str((pytester.path / "one").resolve())
    tdd = next(g for g in report["gates"] if g["name"] == "tdd")
    assert [f["path"] for f in tdd["findings"]] == ["src/pkg/core.py"]
    tests = next(g for g in report["gates"] if g["name"] == "tests")
    assert tests["metrics"]["passed"] == 1
    result.stdout.fnmatch_lines(["tddgate: FAILED: tdd (report: one/.tddgate/report.json)"])


# ---- the rule itself, on folders (no pytest run) ----------------------------------


def make(path: Path, *files: str, git: bool = False) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
        text = "[tool.tddgate]\n" if name == "tddgate" else ""
        (path / ("pyproject.toml" if name == "tddgate" else name)).write_text(text, "utf-8")
    if git:
        (path / ".git").mkdir()
    return path


def test_nearest_packaging_above_the_tests(tmp_path: Path) -> None:
    top = make(tmp_path / "rich", "pyproject.toml", git=True)
    tests = make(top / "tests", "pytest.ini")

    found = find_project_root(tests, fallback=tests)

    assert found.path == top
    assert found.marker == "pyproject.toml"


def test_monorepo_projects_are_their_own_roots(tmp_path: Path) -> None:
    top = make(tmp_path / "mono", "pytest.ini", git=True)
    one = make(top / "one", "tddgate")
    two = make(top / "two", "setup.py")
    make(one / "tests")
    make(two / "tests")

    assert find_project_root(one / "tests", fallback=top).path == one
    assert find_project_root(two / "tests", fallback=top).path == two
    # both at once: what holds them both, the top with its pytest.ini
    found = find_project_root(top, fallback=top)
    assert (found.path, found.marker) == (top, "pytest.ini")


def test_a_tox_ini_marks_a_project_a_pytest_ini_does_not(tmp_path: Path) -> None:
    top = make(tmp_path / "repo", git=True)
    app = make(top / "app", "tox.ini")
    unit = make(app / "tests" / "unit", "pytest.ini")

    assert find_project_root(unit, fallback=unit).path == app


def test_tddgate_settings_above_win_over_nearer_packaging(tmp_path: Path) -> None:
    top = make(tmp_path / "mono", "tddgate", git=True)
    one = make(top / "one", "pyproject.toml")

    found = find_project_root(one, fallback=one)

    assert (found.path, found.marker) == (top, "pyproject.toml [tool.tddgate]")


def test_the_walk_stops_at_the_git_checkout(tmp_path: Path) -> None:
    make(tmp_path, "tddgate")  # above the checkout: another project's settings
    top = make(tmp_path / "repo", git=True)
    inner = make(top / "sub")

    found = find_project_root(inner, fallback=inner)

    assert (found.path, found.marker) == (top, ".git")


def test_a_pytest_ini_marks_a_project_where_nothing_else_does(tmp_path: Path) -> None:
    top = make(tmp_path / "repo", git=True)
    app = make(top / "app", "pytest.ini")

    assert find_project_root(make(app / "deep"), fallback=app).path == app


def test_outside_git_and_packaging_pytest_decides(tmp_path: Path) -> None:
    lonely = make(tmp_path / "a" / "b")

    found = find_project_root(lonely, fallback=tmp_path / "a")

    assert found.path == tmp_path / "a"
    assert found.marker is None


def test_the_project_survives_a_report_read_back(tmp_path: Path) -> None:
    project = ProjectInfo("/work/shop", "nearest pyproject.toml", None, ".coveragerc")
    path = tmp_path / "report.json"
    path.write_text(render(Report(gates=(), project=project)), "utf-8")
    older = tmp_path / "older.json"
    older.write_text(render(Report(gates=())).replace('"project": null,', ""), "utf-8")

    assert load(path).project == project
    assert load(older).project is None
    assert project.describe() == (
        "project: /work/shop (nearest pyproject.toml; settings: defaults; "
        "coverage config: .coveragerc)"
    )
