"""The tdd gate inside `pytest --tddgate`: what a user sees at the end of a run."""

from __future__ import annotations

import json

import pytest

from tests.gitrepo import GitRepo
from tests.tddkit import IMPL, PYPROJECT, TEST, start_project

ONLY = "--tddgate-only=tests,tdd"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n")
    start_project(repo, extra='[tool.tddgate]\nsource = ["src"]\n')
    monkeypatch.syspath_prepend(str(pytester.path / "src"))
    return repo


def test_code_before_its_test_fails_the_run(pytester: pytest.Pytester, project: GitRepo) -> None:
    project.write("src/pkg/shapes.py", IMPL)
    sha = project.commit("code first")
    project.write("tests/test_shapes.py", TEST)
    project.commit("then the test")

    result = pytester.runpytest("--tddgate", ONLY, "-p", "no:cacheprovider")

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tests *pass *1 passed",
            "tdd *fail *1 of 1 implementation file(s) changed before their tests",
            f'*src/pkg/shapes.py: implementation changed first, in {sha[:8]} "code first"*'
            "[[]test-not-first]",
            "*fix: write a test for src/pkg/shapes.py*",
        ]
    )
    report = json.loads((pytester.path / ".tddgate/report.json").read_text(encoding="utf-8"))
    tdd = next(g for g in report["gates"] if g["name"] == "tdd")
    assert tdd["metrics"]["violations"] == 1
    # the run records which lines each test ran, with or without the coverage gate
    assert tdd["details"]["files"][0]["tests"][0]["sources"] == ["naming", "imports", "coverage"]


def test_a_refactor_whose_mapped_test_fails_is_refused(
    pytester: pytest.Pytester, project: GitRepo
) -> None:
    project.write("src/pkg/shapes.py", IMPL)
    project.write("tests/test_shapes.py", TEST)
    project.commit("area with its test")
    project.git("branch", "-f", "main")
    project.write("src/pkg/shapes.py", IMPL.replace("width * height", "width + height"))
    project.commit("simplify", trailers={"Tdd": "refactor"})

    result = pytester.runpytest("--tddgate", ONLY, "-p", "no:cacheprovider")

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*refactored in * (Tdd: refactor), but mapped tests fail: "
            "tests/test_shapes.py::test_area (naming, imports, coverage) [[]refactor-tests-failing]"
        ]
    )


def test_tests_first_passes(pytester: pytest.Pytester, project: GitRepo) -> None:
    project.write("tests/test_shapes.py", TEST)
    project.commit("test")
    project.write("src/pkg/shapes.py", IMPL)
    project.commit("code")

    result = pytester.runpytest("--tddgate", ONLY, "-p", "no:cacheprovider")

    assert result.ret == 0
    result.stdout.fnmatch_lines(["tdd *pass *1 implementation file(s) over 2 commit(s)*"])


def test_a_red_run_then_a_green_run_in_the_ledger_prove_red_first(
    pytester: pytest.Pytester, project: GitRepo
) -> None:
    """The run ledger is evidence: no replay is allowed here (replay_limit = 0)."""
    project.write(
        "pyproject.toml",
        PYPROJECT + '[tool.tddgate]\nsource = ["src"]\n[tool.tddgate.gates.tdd]\n'
        'mode = "red-green"\nreplay_limit = 0\n',
    )
    project.write("src/pkg/shapes.py", "def area(width, height):\n    return 0\n")
    project.write("tests/test_shapes.py", TEST)
    project.commit("stub and failing test")
    args = ("--tddgate", ONLY, "--tddgate-no-learn", "-p", "no:cacheprovider")

    red = pytester.runpytest(*args)
    project.write("src/pkg/shapes.py", IMPL)
    project.commit("implement area")
    green = pytester.runpytest(*args)

    assert red.ret == 1
    red.stdout.fnmatch_lines(["tdd *error *not proven red first*"])
    assert green.ret == 0
    green.stdout.fnmatch_lines(["tdd *pass *tests came first and were red first"])
    report = json.loads((pytester.path / ".tddgate/report.json").read_text(encoding="utf-8"))
    tdd = next(g for g in report["gates"] if g["name"] == "tdd")
    assert tdd["details"]["files"][0]["evidence"].startswith("ledger: a mapped test failed")
    assert tdd["metrics"]["replays"] == 0
