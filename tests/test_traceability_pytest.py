"""`pytest --tddgate` with a traceability matrix, as a user runs it."""

from __future__ import annotations

import json
from typing import Any

import pytest

GATE = ("--tddgate", "--tddgate-only=tests,traceability", "-p", "no:cacheprovider")

TESTS = """\
import pytest

@pytest.mark.req("REQ-002")
def test_logout():
    pass

def test_login():
    pass

def test_login_wrong_password():
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    pytester.mkpydir("src")
    (pytester.path / "src" / "auth.py").write_text("def login():\n    return True\n")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_auth.py").write_text(TESTS)
    return pytester


def match(output: pytest.LineMatcher, patterns: list[str]) -> None:
    """`fnmatch_lines`, with `[` taken literally (JSON paths and rule tags have them)."""
    output.fnmatch_lines([p.replace("[", "[[]") for p in patterns])


def write_matrix(pytester: pytest.Pytester, data: Any) -> None:
    text = json.dumps(data, indent=2)
    (pytester.path / "traceability_matrix.json").write_text(text, encoding="utf-8")


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / ".tddgate" / "report.json").read_text())
    return data


MATRIX = {
    "requirements": [
        {
            "id": "REQ-001",
            "title": "Login",
            "tests": ["tests/test_auth.py::test_login"],
            "code": ["src/auth.py"],
            "priority": "high",
        },
        {"id": "REQ-002", "title": "Logout"},
    ]
}


def test_all_requirements_passing(project: pytest.Pytester) -> None:
    write_matrix(project, MATRIX)
    result = project.runpytest(*GATE)
    assert result.ret == 0
    match(result.stdout, ["traceability  pass   2 requirement(s): 2 passing"])
    assert report(project)["requirements"] == [
        {
            "id": "REQ-001",
            "title": "Login",
            "status": "passing",
            "tests": ["tests/test_auth.py::test_login"],
            "code": ["src/auth.py"],
            "coverage_percent": None,
        },
        {
            "id": "REQ-002",
            "title": "Logout",
            "status": "passing",
            "tests": ["tests/test_auth.py::test_logout"],
            "code": [],
            "coverage_percent": None,
        },
    ]


def test_the_bare_list_form(project: pytest.Pytester) -> None:
    write_matrix(project, MATRIX["requirements"])
    result = project.runpytest(*GATE)
    assert result.ret == 0
    assert [r["status"] for r in report(project)["requirements"]] == ["passing", "passing"]


def test_failing_untested_and_unknown(project: pytest.Pytester) -> None:
    (project.path / "tests" / "test_more.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.req('REQ-001')\ndef test_login_fails():\n    assert 1 == 2\n\n"
        "@pytest.mark.req('REQ-999')\ndef test_typo():\n    pass\n"
    )
    write_matrix(project, {"requirements": [*MATRIX["requirements"], {"id": "REQ-003"}]})
    result = project.runpytest(*GATE)
    assert result.ret == 1
    match(
        result.stdout,
        [
            "traceability  fail   3 requirement(s): 1 passing, 1 failing, 1 untested; "
            "1 unknown-requirement",
            "traceability (fail):",
            "  tests/test_more.py:7: tests/test_more.py::test_typo is marked "
            '@pytest.mark.req("REQ-999"), but `REQ-999` is not in traceability_matrix.json '
            "[unknown-requirement]",
            "  tests/test_more.py:3: REQ-001: tests/test_more.py::test_login_fails failed: "
            "assert 1 == 2 [test-failed]",
            "  traceability_matrix.json:18: REQ-003 has no test [untested]",
        ],
    )
    statuses = {r["id"]: r["status"] for r in report(project)["requirements"]}
    assert statuses == {"REQ-001": "failing", "REQ-002": "passing", "REQ-003": "untested"}


def test_deselected_tests_are_not_run(project: pytest.Pytester) -> None:
    write_matrix(project, MATRIX)
    result = project.runpytest(*GATE, "-k", "wrong_password")
    assert result.ret == 1
    match(
        result.stdout,
        [
            "traceability  fail   2 requirement(s): 2 not-run",
            "*REQ-001 (Login) linked tests did not run: tests/test_auth.py::test_login [not-run]",
            "*REQ-002 (Logout) linked tests did not run: tests/test_auth.py::test_logout [not-run]",
        ],
    )
    assert {r["status"] for r in report(project)["requirements"]} == {"not-run"}


def test_missing_files_and_tests(project: pytest.Pytester) -> None:
    write_matrix(
        project,
        {
            "requirements": [
                {
                    "id": "REQ-001",
                    "tests": [
                        "tests/test_auth.py::test_login",
                        "tests/test_old.py",
                        "tests/test_auth.py::test_renamed",
                    ],
                    "code": ["src/auth.py", "src/gone.py"],
                },
                {"id": "REQ-002"},
            ]
        },
    )
    result = project.runpytest(*GATE)
    assert result.ret == 1
    match(
        result.stdout,
        [
            "traceability  fail   2 requirement(s): 2 passing; 2 missing-file, 1 missing-test",
            "*: REQ-001: test file `tests/test_old.py` does not exist (requirements[0].tests[1]) "
            "[missing-file]",
            "*: REQ-001: test `tests/test_auth.py::test_renamed` is not defined in "
            "`tests/test_auth.py` (requirements[0].tests[2]) [missing-test]",
            "*: REQ-001: code `src/gone.py` does not exist (requirements[0].code[1]) "
            "[missing-file]",
        ],
    )


def test_no_matrix_skips(project: pytest.Pytester) -> None:
    result = project.runpytest(*GATE)
    assert result.ret == 0
    match(
        result.stdout,
        ["traceability  skip   no traceability matrix (traceability_matrix.json does not exist)"],
    )
    assert report(project)["requirements"] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"requirements": [\n  {"id": "REQ-001",}\n]}',
            # Python 3.13 names the comma (2:19, "Illegal trailing comma"), earlier
            # versions the brace after it (2:20, "Expecting property name")
            "ERROR: tddgate: traceability_matrix.json:2:*: not valid JSON: *",
        ),
        (
            '{"requirements": [\n  {"id": "REQ-001", "code": ["src/auth.py", 4]}\n]}',
            "ERROR: tddgate: traceability_matrix.json:2:45: requirements[0].code[1]: must be a "
            "non-empty path string, got a number 4",
        ),
        (
            '[{"id": "REQ-001"}, {"id": "REQ-001"}]',
            "ERROR: tddgate: traceability_matrix.json:1:28: [1].id: duplicate id `REQ-001` "
            "(first at [0])",
        ),
        (
            '{"requirements": [{"id": "REQ-001", "tests": ["../elsewhere/test_x.py"]}]}',
            "ERROR: tddgate: traceability_matrix.json:1:47: requirements[0].tests[0]: path "
            "`../elsewhere/test_x.py` is outside the repository",
        ),
    ],
)
def test_broken_matrix_exits_4_before_any_test(
    project: pytest.Pytester, text: str, message: str
) -> None:
    (project.path / "traceability_matrix.json").write_text(text)
    (project.path / "tests" / "test_side_effect.py").write_text(
        "from pathlib import Path\n\ndef test_touch():\n    Path('ran.txt').write_text('x')\n"
    )
    result = project.runpytest(*GATE)
    assert result.ret == 4
    match(result.stderr, [message, "  fix: *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (project.path / "ran.txt").exists()


def test_id_pattern_is_enforced(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
        '[tool.tddgate.gates.traceability]\nid_pattern = "REQ-[0-9]{3}"\n'
    )
    write_matrix(project, {"requirements": [{"id": "REQ-001"}, {"id": "LOGIN"}]})
    result = project.runpytest(*GATE)
    assert result.ret == 4
    match(
        result.stderr,
        [
            "ERROR: tddgate: traceability_matrix.json:7:13: requirements[1].id: `LOGIN` does not "
            "match the id pattern `REQ-[0-9]{3}`",
        ],
    )


def test_skipping_the_gate_skips_validation(project: pytest.Pytester) -> None:
    (project.path / "traceability_matrix.json").write_text("{broken")
    result = project.runpytest("--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider")
    assert result.ret == 0


def test_marker_is_registered_for_strict_markers(project: pytest.Pytester) -> None:
    result = project.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_xdist_gives_the_same_requirements(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    (project.path / "tests" / "test_more.py").write_text(
        "import pytest\n\n@pytest.mark.req('REQ-001')\n"
        "@pytest.mark.parametrize('n', range(4))\ndef test_many(n):\n    pass\n"
    )
    write_matrix(project, MATRIX)
    serial = project.runpytest(*GATE)
    assert serial.ret == 0
    serial_requirements = report(project)["requirements"]
    parallel = project.runpytest(*GATE, "-n", "2")
    assert parallel.ret == 0
    assert report(project)["requirements"] == serial_requirements
    assert serial_requirements[0]["tests"] == [
        "tests/test_auth.py::test_login",
        "tests/test_more.py::test_many",
    ]
