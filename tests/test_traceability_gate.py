"""The traceability gate over real files and constructed facts (outcomes, coverage)."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tddgate import engine
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import Facts, testrun
from pytest_tddgate.facts.covdata import CoverageFacts, FileCoverage
from pytest_tddgate.gates.traceability import TraceabilityGate
from pytest_tddgate.model import GateResult, Verdict
from pytest_tddgate.settings import resolve

if TYPE_CHECKING:
    from pathlib import Path

TEST_FILE = """\
import pytest

@pytest.mark.req("REQ-MARKED")
def test_marked():
    pass

def test_one():
    pass

def test_two():
    pass

class TestGroup:
    def test_in_group(self):
        pass

@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "pyproject.toml": '[tool.tddgate]\nsource = ["src"]\ntests = ["tests"]\n',
        "src/app/__init__.py": "",
        "src/app/login.py": "def login():\n    return 1\n",
        "src/app/util.py": "def helper():\n    return 2\n",
        "tests/test_login.py": TEST_FILE,
        "tests/unit/test_deep.py": "def test_deep():\n    pass\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def write_matrix(root: Path, requirements: list[dict[str, Any]]) -> None:
    text = json.dumps({"requirements": requirements}, indent=2)
    (root / "traceability_matrix.json").write_text(text, encoding="utf-8")


def outcome(nodeid: str, result: str = "passed", *reqs: str) -> testrun.TestOutcome:
    return testrun.TestOutcome(
        nodeid,
        result,
        path=nodeid.split("::", maxsplit=1)[0],
        line=4,
        requirements=reqs,
        message="assert 1 == 2" if result == "failed" else None,
    )


def evaluate(
    root: Path,
    outcomes: list[testrun.TestOutcome] | None = None,
    coverage: CoverageFacts | None = None,
) -> GateResult:
    settings = resolve(root)
    run = testrun.TestRun.build(tuple(outcomes), (), 0, False) if outcomes is not None else None
    facts = Facts(settings, test_run=run)
    if coverage is not None:
        facts.provided["coverage"] = coverage
    (result,) = engine.evaluate([TraceabilityGate()], settings, facts, static_only=outcomes is None)
    return result


def statuses(result: GateResult) -> dict[str, str]:
    return {r["id"]: r["status"] for r in result.details["requirements"]}


def rules(result: GateResult) -> list[tuple[str, str | None]]:
    return [(f.rule, f.requirement) for f in result.findings]


ALL_TESTS = [
    outcome("tests/test_login.py::test_marked", "passed", "REQ-MARKED"),
    outcome("tests/test_login.py::test_one"),
    outcome("tests/test_login.py::test_two"),
    outcome("tests/test_login.py::TestGroup::test_in_group"),
    outcome("tests/test_login.py::test_param[1]"),
    outcome("tests/test_login.py::test_param[2]"),
    outcome("tests/unit/test_deep.py::test_deep"),
]


def test_missing_matrix_skips_with_the_reason(project: Path) -> None:
    result = evaluate(project, ALL_TESTS)
    assert result.status is Verdict.SKIP
    assert result.summary == "no traceability matrix (traceability_matrix.json does not exist)"


def test_every_kind_of_tests_entry_links(project: Path) -> None:
    write_matrix(
        project,
        [
            {"id": "REQ-FILE", "tests": ["tests/test_login.py"], "code": ["src/app/login.py"]},
            {"id": "REQ-NODE", "tests": ["tests/test_login.py::test_one"]},
            {"id": "REQ-CLASS", "tests": ["tests/test_login.py::TestGroup"]},
            {"id": "REQ-PARAM", "tests": ["tests/test_login.py::test_param"]},
            {"id": "REQ-ONE-PARAM", "tests": ["tests/test_login.py::test_param[2]"]},
            {"id": "REQ-FOLDER", "tests": ["tests/unit"], "code": ["src/app"]},
            {"id": "REQ-MARKED", "title": "marked only"},
        ],
    )
    result = evaluate(project, ALL_TESTS)
    assert result.status is Verdict.PASS, result.findings
    assert set(statuses(result).values()) == {"passing"}
    assert result.summary == "7 requirement(s): 7 passing"
    assert result.metrics["passing"] == 7
    marked = result.details["requirements"][-1]
    assert marked == {
        "id": "REQ-MARKED",
        "title": "marked only",
        "status": "passing",
        "tests": ["tests/test_login.py::test_marked"],
        "code": [],
        "coverage_percent": None,
    }


def test_untested_requirement_fails(project: Path) -> None:
    write_matrix(project, [{"id": "REQ-1", "title": "Login"}, {"id": "REQ-MARKED"}])
    result = evaluate(project, ALL_TESTS)
    assert result.status is Verdict.FAIL
    assert statuses(result) == {"REQ-1": "untested", "REQ-MARKED": "passing"}
    (finding,) = result.findings
    assert finding.rule == "untested"
    assert finding.message == "REQ-1 (Login) has no test"
    assert (finding.path, finding.line) == ("traceability_matrix.json", 3)
    assert finding.hint is not None and '@pytest.mark.req("REQ-1")' in finding.hint


def test_failing_test_fails_its_requirement(project: Path) -> None:
    write_matrix(project, [{"id": "REQ-1", "tests": ["tests/test_login.py"]}, {"id": "REQ-MARKED"}])
    outcomes = [
        outcome("tests/test_login.py::test_marked", "passed", "REQ-MARKED"),
        outcome("tests/test_login.py::TestGroup::test_in_group", "error"),
        outcome("tests/test_login.py::test_two", "failed"),
    ]
    result = evaluate(project, outcomes)
    assert statuses(result) == {"REQ-1": "failing", "REQ-MARKED": "passing"}
    assert [f.message for f in result.findings] == [
        "REQ-1: tests/test_login.py::TestGroup::test_in_group error",
        "REQ-1: tests/test_login.py::test_two failed: assert 1 == 2",
    ]
    assert {f.rule for f in result.findings} == {"test-failed"}
    assert result.findings[1].path == "tests/test_login.py"


def test_linked_tests_that_did_not_run(project: Path) -> None:
    write_matrix(
        project,
        [
            {"id": "REQ-NONE", "tests": ["tests/unit/test_deep.py"]},
            {"id": "REQ-PART", "tests": ["tests/test_login.py::test_one", "tests/unit"]},
            {"id": "REQ-SKIP", "tests": ["tests/test_login.py::test_two"]},
            {"id": "REQ-MARKED"},
        ],
    )
    ran = [
        outcome("tests/test_login.py::test_one"),
        outcome("tests/test_login.py::test_two", "skipped"),
    ]
    result = evaluate(project, ran)
    assert statuses(result) == {
        "REQ-NONE": "not-run",
        "REQ-PART": "not-run",
        "REQ-SKIP": "not-run",
        "REQ-MARKED": "not-run",
    }
    assert [f.message for f in result.findings] == [
        "REQ-NONE linked tests did not run: tests/unit/test_deep.py",
        "REQ-PART linked tests did not run: tests/unit",
        "REQ-SKIP linked tests did not run: tests/test_login.py::test_two",
        # known only from the static scan of the marker: it was deselected
        "REQ-MARKED linked tests did not run: tests/test_login.py::test_marked",
    ]
    assert result.status is Verdict.FAIL
    assert result.metrics["not_run"] == 4


def test_missing_files_and_tests(project: Path) -> None:
    write_matrix(
        project,
        [
            {
                "id": "REQ-1",
                "tests": [
                    "tests/test_login.py::test_one",
                    "tests/test_gone.py",
                    "tests/test_login.py::test_renamed",
                    "tests/test_login.py::TestGroup::nope",
                ],
                "code": ["src/app/login.py", "src/app/gone.py"],
            },
            {"id": "REQ-MARKED"},
        ],
    )
    result = evaluate(project, ALL_TESTS)
    assert result.status is Verdict.FAIL
    assert [(f.rule, f.message, f.line) for f in result.findings] == [
        (
            "missing-file",
            "REQ-1: test file `tests/test_gone.py` does not exist (requirements[0].tests[1])",
            7,
        ),
        (
            "missing-test",
            "REQ-1: test `tests/test_login.py::test_renamed` is not defined in "
            "`tests/test_login.py` (requirements[0].tests[2])",
            8,
        ),
        (
            "missing-test",
            "REQ-1: test `tests/test_login.py::TestGroup::nope` is not defined in "
            "`tests/test_login.py` (requirements[0].tests[3])",
            9,
        ),
        (
            "missing-file",
            "REQ-1: code `src/app/gone.py` does not exist (requirements[0].code[1])",
            13,
        ),
    ]
    # the test that exists ran and passed; the broken entries are reported once, above
    assert statuses(result) == {"REQ-1": "passing", "REQ-MARKED": "passing"}
    assert result.summary == "2 requirement(s): 2 passing; 2 missing-file, 2 missing-test"


def test_unknown_marker_ids(project: Path) -> None:
    write_matrix(project, [{"id": "REQ-1", "tests": ["tests/test_login.py"]}])
    ran = [*ALL_TESTS, outcome("tests/test_login.py::test_one", "passed", "REQ-TYPO")]
    result = evaluate(project, ran)
    assert rules(result) == [
        ("unknown-requirement", "REQ-MARKED"),
        ("unknown-requirement", "REQ-TYPO"),
    ]
    first = result.findings[0]
    assert first.message == (
        "tests/test_login.py::test_marked is marked "
        '@pytest.mark.req("REQ-MARKED"), but `REQ-MARKED` is not in '
        "traceability_matrix.json"
    )
    assert (first.path, first.line) == ("tests/test_login.py", 4)
    assert result.status is Verdict.FAIL


def test_without_a_test_run_the_static_checks_still_run(project: Path) -> None:
    write_matrix(
        project,
        [
            {"id": "REQ-1", "tests": ["tests/test_login.py"]},
            {"id": "REQ-2", "code": ["src/app/gone.py"]},
        ],
    )
    (project / "tests/test_extra.py").write_text(
        'import pytest\n\n@pytest.mark.req("REQ-404")\ndef test_x():\n    pass\n'
    )
    result = evaluate(project, outcomes=None)
    assert result.summary == (
        "2 requirement(s): 1 linked to tests, 1 untested; outcomes not judged: no test run "
        "(`pytest --tddgate` judges them); 1 missing-file, 2 unknown-requirement"
    )
    assert sorted(rules(result)) == [
        ("missing-file", "REQ-2"),
        ("unknown-requirement", "REQ-404"),
        ("unknown-requirement", "REQ-MARKED"),
        ("untested", "REQ-2"),
    ]
    unknown = next(f for f in result.findings if f.requirement == "REQ-404")
    assert (unknown.path, unknown.line) == ("tests/test_extra.py", 3)
    assert statuses(result) == {"REQ-1": "not-run", "REQ-2": "untested"}


def test_static_pass(project: Path) -> None:
    write_matrix(project, [{"id": "REQ-MARKED"}, {"id": "REQ-1", "tests": ["tests/unit"]}])
    result = evaluate(project, outcomes=None)
    assert result.status is Verdict.PASS
    assert result.findings == ()


def test_broken_matrix_is_a_usage_error_in_validate_and_evaluate(project: Path) -> None:
    (project / "traceability_matrix.json").write_text('{"requirements": [{"id": 1}]}')
    settings = resolve(project)
    with pytest.raises(UsageError, match=r"requirements\[0\]\.id: must be a non-empty string"):
        engine.validate([TraceabilityGate()], settings, Facts(settings))
    with pytest.raises(UsageError):
        evaluate(project, ALL_TESTS)


def test_id_pattern_from_settings(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('[tool.tddgate.gates.traceability]\nid_pattern = "REQ-[0-9]+"\n')
    write_matrix(project, [{"id": "REQ-1"}, {"id": "req-2"}])
    with pytest.raises(UsageError) as info:
        evaluate(project, ALL_TESTS)
    assert info.value.key == "requirements[1].id"


def coverage(contexts: dict[str, dict[str, set[int]]]) -> CoverageFacts:
    files = {
        "src/app/login.py": FileCoverage("src/app/login.py", frozenset({1, 2}), frozenset({1, 2})),
        "src/app/util.py": FileCoverage("src/app/util.py", frozenset({1, 2}), frozenset({1})),
        "src/app/__init__.py": FileCoverage("src/app/__init__.py", frozenset(), frozenset()),
    }
    return CoverageFacts(
        files, {k: {p: frozenset(v) for p, v in f.items()} for k, f in contexts.items()}
    )


def test_orphan_code_and_coverage_of_each_requirement(project: Path) -> None:
    write_matrix(
        project,
        [
            {
                "id": "REQ-1",
                "tests": ["tests/test_login.py::test_one"],
                "code": ["src/app/login.py", "src/app/util.py"],
            },
            {"id": "REQ-2", "tests": ["tests/test_login.py::test_two"], "code": ["src/app"]},
            {"id": "REQ-MARKED"},
        ],
    )
    cov = coverage(
        {
            # pytest-cov style contexts carry the phase after a `|`
            "tests/test_login.py::test_one|run": {"src/app/login.py": {1, 2}},
            "tests/test_login.py::test_two|run": {"src/app/util.py": {1}},
            "tests/test_login.py::test_two|setup": {"src/app/login.py": {1}},
            "tests/test_login.py::test_marked|run": {"src/app/util.py": {1, 2}},
        }
    )
    result = evaluate(project, ALL_TESTS, cov)
    assert [(f.rule, f.requirement, f.path, f.message) for f in result.findings] == [
        (
            "orphan-code",
            "REQ-1",
            "src/app/util.py",
            "REQ-1: none of its tests executes `src/app/util.py`",
        ),
    ]
    percents = {r["id"]: r["coverage_percent"] for r in result.details["requirements"]}
    # REQ-MARKED has no code: nothing to measure
    assert percents == {"REQ-1": 50.0, "REQ-2": 50.0, "REQ-MARKED": None}
    assert result.metrics["orphan_code"] == 1
    # files a requirement's tests ran that its `code` does not list: for `matrix --update`
    assert result.details["discovered_code"] == {"REQ-MARKED": ["src/app/util.py"]}


def test_discovered_code_lists_implementation_files_not_in_code(project: Path) -> None:
    write_matrix(
        project,
        [{"id": "REQ-1", "tests": ["tests/test_login.py::test_one"], "code": ["src/app/login.py"]}],
    )
    cov = coverage(
        {
            "tests/test_login.py::test_one": {
                "src/app/login.py": {1},
                "src/app/util.py": {1},
                "tests/conftest.py": {1},
            }
        }
    )
    result = evaluate(project, ALL_TESTS, cov)
    assert result.details["discovered_code"] == {"REQ-1": ["src/app/util.py"]}


# REQ-1's only test does not execute its only code file
UTIL_BY_TEST_ONE: list[dict[str, Any]] = [
    {"id": "REQ-1", "tests": ["tests/test_login.py::test_one"], "code": ["src/app/util.py"]},
    {"id": "REQ-MARKED"},
]


def test_orphan_check_can_be_turned_off(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("[tool.tddgate.gates.traceability]\norphan_code = false\n")
    write_matrix(project, UTIL_BY_TEST_ONE)
    result = evaluate(project, ALL_TESTS, coverage({"tests/test_login.py::test_one": {}}))
    assert result.status is Verdict.PASS
    assert result.details["requirements"][0]["coverage_percent"] == 0.0


def test_coverage_without_per_test_contexts_judges_no_orphans(project: Path) -> None:
    write_matrix(project, UTIL_BY_TEST_ONE)
    result = evaluate(project, ALL_TESTS, coverage({}))
    assert result.status is Verdict.PASS
    assert "orphan_code" not in result.metrics
    assert result.details["requirements"][0]["coverage_percent"] is None
    assert "discovered_code" not in result.details


def test_finding_lines_point_into_the_matrix(project: Path) -> None:
    text = textwrap.dedent("""\
        [
          {"id": "REQ-1", "tests": ["tests/test_login.py"]},

          {
            "id": "REQ-2",
            "code": [
              "src/app/login.py",
              "src/app/nope.py"
            ]
          },
          {"id": "REQ-MARKED"}
        ]
        """)
    (project / "traceability_matrix.json").write_text(text)
    result = evaluate(project, ALL_TESTS)
    assert [(f.rule, f.line) for f in result.findings] == [("missing-file", 8), ("untested", 4)]
    assert "([1].code[1])" in result.findings[0].message
