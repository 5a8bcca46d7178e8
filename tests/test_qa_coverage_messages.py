"""QA: what the coverage gate says when no line of the measured source ran under scope
`all` (not "scope = changed", which the project did not choose), and when the tests
imported the project from an installed copy (P1: an error, not a pass)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    import pytest


def test_no_source_line_ran_is_not_called_scope_changed(pytester: pytest.Pytester) -> None:
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/app/__init__.py", "")
    repo.write("src/app/mod.py", "def f():\n    return 1\n")
    repo.write("tests/test_x.py", "def test_x():\n    assert True\n")
    repo.commit("base")

    result = pytester.runpytest(
        "--tddgate", "--tddgate-only=coverage", "--tddgate-no-learn", "-p", "no:randomly"
    )

    line = next(s for s in result.stdout.lines if s.startswith("coverage "))
    assert "scope = changed" not in line, line
    # as coverage.py's tracer reports a source no test imported
    assert "total 0%" in line, line


def test_a_project_imported_from_elsewhere_is_an_error_not_a_pass(
    pytester: pytest.Pytester,
) -> None:
    # QA P1: the tests import `nipkg` from an installed copy (tox, `pip install .`), so
    # nothing under src/ runs; the new untested function must not pass unseen
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["../installed"]\n')
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/nipkg/__init__.py", "def f(x):\n    return x + 1\n")
    repo.write("tests/test_f.py", "from nipkg import f\n\n\ndef test_f():\n    assert f(1) == 2\n")
    repo.commit("base")
    installed = pytester.path.parent / "installed" / "nipkg"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("def f(x):\n    return x + 1\n")
    repo.write(
        "src/nipkg/__init__.py",
        "def f(x):\n    return x + 1\n\n\ndef g(x):\n    if x:\n        return 1\n    return 2\n",
    )

    result = pytester.runpytest(
        "--tddgate", "--tddgate-only=coverage", "--tddgate-no-learn", "-p", "no:randomly"
    )

    result.stdout.fnmatch_lines(
        [
            "coverage*error*imported `nipkg` from *installed*, not from src/: nothing of it "
            "was measured",
            "tddgate: FAILED: coverage*",
        ]
    )
    assert result.ret == 1


def test_a_changed_module_no_test_imports_counts_as_not_run_when_nothing_else_ran(
    pytester: pytest.Pytester,
) -> None:
    # no test imports the project at all: its new lines are missing, as coverage.py's
    # tracer has them (never-imported source files count as 0 %)
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["src"]\n')
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/app/__init__.py", "")
    repo.write("tests/test_x.py", "def test_x():\n    assert True\n")
    repo.commit("base")
    repo.write("src/app/mod.py", "def f():\n    return 1\n")

    result = pytester.runpytest(
        "--tddgate", "--tddgate-only=coverage", "--tddgate-no-learn", "-p", "no:randomly"
    )

    result.stdout.fnmatch_lines(["coverage*fail*total 0%; new code 0% of 2 lines*"])
