"""The counts in the report are the ones pytest and coverage.py give for the same run.

Each test runs pytest (and coverage.py) itself and compares: the `tests` gate's
metrics with pytest's own summary line, the files of the coverage data the gate
wrote with the files `coverage report` lists for a plain `coverage run` of the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.gitrepo import GitRepo

ONLY_TESTS = "--tddgate-only=tests"
MODULE_SKIP = """\
import pytest

pytest.skip("needs a database", allow_module_level=True)


def test_never():
    pass
"""
XPASS = """\
import pytest


def test_plain():
    assert True


@pytest.mark.xfail(reason="fixed upstream since")
def test_fixed():
    assert True


@pytest.mark.xfail(reason="still broken")
def test_broken():
    assert False
"""


def gate_of(pytester: pytest.Pytester) -> Any:
    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text("utf-8"))
    return next(g for g in report["gates"] if g["name"] == "tests")


@pytest.fixture(params=[[], ["-n", "2"]], ids=["serial", "xdist"])
def xdist(request: pytest.FixtureRequest) -> list[str]:
    return list(request.param)


def test_a_module_skipped_at_collection_counts_as_skipped(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_db=MODULE_SKIP, test_ok="def test_ok():\n    pass\n")

    result = pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-no-learn", *xdist)

    assert result.parseoutcomes() == {"passed": 1, "skipped": 1}
    gate = gate_of(pytester)
    assert (gate["metrics"]["passed"], gate["metrics"]["skipped"]) == (1, 1)
    assert gate["status"] == "pass"
    result.stdout.fnmatch_lines(["tests * pass * 1 passed, 1 skipped"])


def test_only_a_skipped_module_says_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_db=MODULE_SKIP)

    pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-no-learn")

    gate = gate_of(pytester)
    assert (gate["status"], gate["summary"]) == ("skip", "1 skipped")


def test_xpassed_is_counted_apart_from_passed(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(test_fix=XPASS)

    result = pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-no-learn", *xdist)

    assert result.parseoutcomes() == {"passed": 1, "xpassed": 1, "xfailed": 1}
    metrics = gate_of(pytester)["metrics"]
    assert (metrics["passed"], metrics["xpassed"], metrics["xfailed"]) == (1, 1, 1)
    result.stdout.fnmatch_lines(["tests * pass * 1 passed, 1 xfailed, 1 xpassed"])


def test_a_strict_xpass_fails_as_pytest_says(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_fix=XPASS.replace('reason="fixed upstream since"', "strict=True"))

    result = pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-no-learn")

    assert result.parseoutcomes() == {"passed": 1, "failed": 1, "xfailed": 1}
    metrics = gate_of(pytester)["metrics"]
    assert (metrics["passed"], metrics["failed"], metrics["xpassed"]) == (1, 1, 0)


# ---- coverage: the files `coverage report` lists ----------------------------------

PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src", "tests/test_apps"]

[tool.coverage.run]
branch = true
source = ["src", "tests"]
"""
USES_APP = """\
import cliapp
from pkg.core import answer


def test_answer():
    assert answer() == 42
    assert cliapp.__name__ == "cliapp"
"""


def coverage_files(pytester: pytest.Pytester) -> dict[str, int]:
    """`coverage json` on the data file in the project: file -> statements."""
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-q", "-o", "-"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=True,
    )
    files = json.loads(done.stdout)["files"]
    return {name: data["summary"]["num_statements"] for name, data in files.items()}


@pytest.mark.parametrize("args", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_imported_empty_init_files_are_in_the_coverage_data(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    package = pytester.path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core.py").write_text("def answer():\n    return 42\n")
    app = pytester.path / "tests" / "test_apps" / "cliapp"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")  # empty, imported by the test
    (pytester.path / "tests" / "test_app.py").write_text(USES_APP)
    plain = pytester.run(
        sys.executable, "-m", "coverage", "run", "-m", "pytest", "-p", "no:randomly"
    )
    assert plain.ret == 0
    expected = coverage_files(pytester)
    assert expected["tests/test_apps/cliapp/__init__.py"] == 0
    (pytester.path / ".coverage").unlink()
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".coverage\n.tddgate/\n")
    repo.commit("the project")

    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tests,coverage", "--tddgate-no-learn", *args
    )

    assert result.ret == 0
    assert coverage_files(pytester) == expected
