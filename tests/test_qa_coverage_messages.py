"""QA: what the coverage gate's summary says when no line of the measured source ran
under scope `all`: not "scope = changed", which the project did not choose."""

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
    assert "total not measured: no line of the measured files ran" in line, line
