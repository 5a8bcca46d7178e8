"""Tests first with a matrix: code to come is planned, and a collection error is named.

A qa engineer writes the test and the matrix entry before the module exists. The
matrix must accept the `code` path while the requirement's tests are new or failing,
and refuse it (`missing-file`) once they pass. When the new test cannot even be
collected, every gate that it affects says so, instead of asking to run the tests
without filters.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.gates.traceability import TraceabilityGate
from pytest_tddgate.settings import resolve
from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.model import GateResult

GATE = (
    "--tddgate",
    "--tddgate-only=tests,traceability,coverage",
    "--tddgate-no-learn",
    "-p",
    "no:cacheprovider",
)
PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
MATRIX = {
    "requirements": [
        {"id": "REQ-001", "tests": ["tests/test_base.py"], "code": ["src/shop/base.py"]},
        {
            "id": "REQ-004",
            "title": "Discounts",
            "tests": ["tests/test_discounts.py"],
            "code": ["src/shop/discounts.py"],
        },
    ]
}
IMPORTS_FIRST = (
    "from shop.discounts import discount\n\n\n"
    "def test_discount():\n"
    "    assert discount(100) == 90\n"
)
IMPORTS_INSIDE = (
    "def test_discount():\n"
    "    from shop.discounts import discount\n\n"
    "    assert discount(100) == 90\n"
)


def start(path: Path) -> GitRepo:
    """The shop project on `main`, one requirement tested and passing, then `feature`."""
    repo = GitRepo(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/base.py", "def price():\n    return 100\n")
    repo.write(
        "tests/test_base.py",
        "from shop.base import price\n\n\ndef test_price():\n    assert price() == 100\n",
    )
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n")
    repo.commit("shop with prices")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def write_matrix(repo: GitRepo, data: Any = MATRIX) -> None:
    repo.write("traceability_matrix.json", json.dumps(data, indent=2))


def gate_of(report_path: Path) -> dict[str, Any]:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    gate: dict[str, Any] = next(g for g in report["gates"] if g["name"] == "traceability")
    return gate


def rules(gate: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["rule"], f["requirement"]) for f in gate["findings"]]


def test_a_failing_test_first_plans_its_code(pytester: pytest.Pytester) -> None:
    repo = start(pytester.path)
    repo.write("tests/test_discounts.py", IMPORTS_INSIDE)
    write_matrix(repo)
    repo.commit("qa: discounts test first", trailers={"Role": "qa"})
    result = pytester.runpytest(*GATE)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "traceability  fail   2 requirement(s): 1 passing, 1 failing; "
            "1 code file(s) planned, not written yet (REQ-004)"
        ]
    )
    result.stdout.no_fnmatch_line("*missing-file*")
    gate = gate_of(pytester.path / ".tddgate" / "report.json")
    assert rules(gate) == [("test-failed", "REQ-004")]
    assert gate["details"]["planned_code"] == {"REQ-004": ["src/shop/discounts.py"]}


def test_passing_tests_with_code_that_does_not_exist_fail(pytester: pytest.Pytester) -> None:
    repo = start(pytester.path)
    # the test passes without the module: the requirement claims its code works
    repo.write("tests/test_discounts.py", "def test_discount():\n    assert 100 * 0.9 == 90\n")
    write_matrix(repo)
    repo.commit("qa: discounts test")
    result = pytester.runpytest(*GATE)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "traceability  fail   2 requirement(s): 2 passing; 1 missing-file",
            "*REQ-004: code `src/shop/discounts.py` does not exist*missing-file*",
        ]
    )


def test_the_code_arrives_and_the_requirement_passes(pytester: pytest.Pytester) -> None:
    repo = start(pytester.path)
    repo.write("tests/test_discounts.py", IMPORTS_FIRST)
    write_matrix(repo)
    repo.commit("qa: discounts test first")
    repo.write("src/shop/discounts.py", "def discount(price):\n    return price * 9 // 10\n")
    repo.commit("backend: discounts")
    result = pytester.runpytest(*GATE)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["traceability  pass   2 requirement(s): 2 passing"])


def test_a_collection_error_is_named_in_every_gate_it_affects(
    pytester: pytest.Pytester,
) -> None:
    repo = start(pytester.path)
    repo.write("tests/test_discounts.py", IMPORTS_FIRST)
    write_matrix(repo)
    result = pytester.runpytest(*GATE)
    # pytest's own status for a collection error; the gates do not change it
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "traceability  fail   2 requirement(s): 2 not-run (collection failed in "
            "tests/test_discounts.py); 1 code file(s) planned, not written yet (REQ-004)",
            "coverage      skip   no tests ran: collection failed in tests/test_discounts.py",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*REQ-001 linked tests did not run because collection failed in "
            "tests/test_discounts.py: tests/test_base.py ?not-run?",
            "    fix: fix the collection error in tests/test_discounts.py first *",
        ]
    )
    result.stdout.no_fnmatch_line("*without -k / -m / path filters*")
    result.stdout.no_fnmatch_line("*missing-file*")


def test_only_the_tests_of_the_broken_file_when_collection_goes_on(
    pytester: pytest.Pytester,
) -> None:
    repo = start(pytester.path)
    repo.write("tests/test_discounts.py", IMPORTS_FIRST)
    write_matrix(repo)
    result = pytester.runpytest(*GATE, "--continue-on-collection-errors")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "traceability  fail   2 requirement(s): 1 passing, 1 not-run (collection failed in "
            "tests/test_discounts.py); 1 code file(s) planned, not written yet (REQ-004)",
            "*REQ-004 (Discounts) linked tests did not run because collection failed in "
            "tests/test_discounts.py: tests/test_discounts.py ?not-run?",
            "    fix: *the tests in that file cannot run until then",
        ]
    )
    gate = gate_of(pytester.path / ".tddgate" / "report.json")
    assert rules(gate) == [("not-run", "REQ-004")]


def judge_without_run(repo: GitRepo) -> GateResult:
    """The gate as `tddgate check` judges it: no test run, the static checks only."""
    settings = resolve(repo.path, environ={})
    facts = Facts(settings)
    (result,) = engine.evaluate([TraceabilityGate()], settings, facts, static_only=True)
    return result


def test_without_a_run_new_tests_plan_their_code(tmp_path: Path) -> None:
    repo = start(tmp_path / "shop")
    repo.write("tests/test_discounts.py", IMPORTS_FIRST)
    write_matrix(repo)
    result = judge_without_run(repo)
    assert [f.rule for f in result.findings] == []
    assert "1 code file(s) planned, not written yet (REQ-004)" in result.summary


def test_without_a_run_old_tests_need_their_code(tmp_path: Path) -> None:
    repo = start(tmp_path / "shop")
    repo.write("tests/test_discounts.py", IMPORTS_FIRST)
    write_matrix(repo)
    repo.commit("discounts test and matrix")
    repo.git("branch", "-f", "main", "HEAD")  # merged: nothing is new on the branch
    result = judge_without_run(repo)
    assert [(f.rule, f.requirement) for f in result.findings] == [("missing-file", "REQ-004")]
