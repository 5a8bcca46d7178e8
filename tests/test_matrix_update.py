"""`tddgate matrix --update` internals: what is discovered, and in-place edits that keep
every byte a person wrote."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.facts.matrix import load
from pytest_tddgate.facts.matrix_edit import Additions, Discovery, apply, plan
from pytest_tddgate.facts.reqmarks import MarkedTest
from pytest_tddgate.model import GateResult, Report, RequirementStatus, Verdict

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from pytest_tddgate.facts.matrix import Matrix


def loaded(tmp_path: Path, text: str | bytes) -> Matrix:
    path = tmp_path / "traceability_matrix.json"
    if isinstance(text, str):
        path.write_bytes(text.encode("utf-8"))
    else:
        path.write_bytes(text)
    matrix = load(path, tmp_path)
    assert matrix is not None
    return matrix


def add(matrix: Matrix, index: int, tests: tuple[str, ...] = (), code: tuple[str, ...] = ()) -> str:
    return apply(matrix, [Additions(matrix.requirements[index], tests, code)])


INDENTED = """\
{
  "version": 3,
  "requirements": [
    {
      "id": "REQ-001",
      "title": "Login",
      "tests": [
        "tests/test_login.py"
      ],
      "code": [
        "src/auth/login.py",
        "src/auth/session.py"
      ],
      "owner": "alice"
    }
  ]
}
"""


def test_one_item_per_line_lists_stay_so(tmp_path: Path) -> None:
    text = add(loaded(tmp_path, INDENTED), 0, ("tests/test_x.py::test_y",), ("src/auth/a.py",))
    assert text == INDENTED.replace(
        '"tests/test_login.py"\n', '"tests/test_login.py",\n        "tests/test_x.py::test_y"\n'
    ).replace('"src/auth/session.py"\n', '"src/auth/session.py",\n        "src/auth/a.py"\n')


INLINE = """\
{"requirements": [
  {"id": "REQ-001", "title": "Login", "tests": ["tests/test_login.py"],
   "code": ["src/auth/login.py", "src/auth/x.py"], "status": "approved"},
  {"id": "REQ-002", "tests": [], "code": null}
]}
"""


def test_inline_lists_stay_inline(tmp_path: Path) -> None:
    matrix = loaded(tmp_path, INLINE)
    text = apply(
        matrix,
        [
            Additions(matrix.requirements[0], ("tests/a.py::test_b",), ("src/auth/y.py",)),
            Additions(matrix.requirements[1], ("tests/c.py", "tests/d.py"), ("src/e.py",)),
        ],
    )
    assert (
        text
        == """\
{"requirements": [
  {"id": "REQ-001", "title": "Login", "tests": ["tests/test_login.py", "tests/a.py::test_b"],
   "code": ["src/auth/login.py", "src/auth/x.py", "src/auth/y.py"], "status": "approved"},
  {"id": "REQ-002", "tests": ["tests/c.py", "tests/d.py"], "code": ["src/e.py"]}
]}
"""
    )


def test_missing_keys_are_added_in_the_objects_layout(tmp_path: Path) -> None:
    source = """\
[
    {
        "id": "REQ-001",
        "title": "Login"
    },
    {"id": "REQ-002"}
]
"""
    matrix = loaded(tmp_path, source)
    text = apply(
        matrix,
        [
            Additions(matrix.requirements[0], ("tests/a.py",), ("src/a.py",)),
            Additions(matrix.requirements[1], ("tests/b.py",)),
        ],
    )
    assert (
        text
        == """\
[
    {
        "id": "REQ-001",
        "title": "Login",
        "tests": ["tests/a.py"],
        "code": ["src/a.py"]
    },
    {"id": "REQ-002", "tests": ["tests/b.py"]}
]
"""
    )
    assert json.loads(text)[0]["code"] == ["src/a.py"]


def test_a_single_member_object_on_lines(tmp_path: Path) -> None:
    matrix = loaded(tmp_path, '[\n  {\n    "id": "A"\n  }\n]\n')
    assert add(matrix, 0, ("t.py",)) == '[\n  {\n    "id": "A",\n    "tests": ["t.py"]\n  }\n]\n'


def test_a_one_item_list_on_lines(tmp_path: Path) -> None:
    matrix = loaded(tmp_path, '[{"id": "A", "code": [\n\t\t"a.py"\n\t]}]')
    assert (
        add(matrix, 0, code=("b.py",)) == '[{"id": "A", "code": [\n\t\t"a.py",\n\t\t"b.py"\n\t]}]'
    )


def test_compact_files_stay_compact(tmp_path: Path) -> None:
    matrix = loaded(tmp_path, '{"requirements":[{"id":"A","tests":["a.py","b.py"]}]}')
    assert add(matrix, 0, ("c.py",), ("src/c.py",)) == (
        '{"requirements":[{"id":"A","tests":["a.py","b.py","c.py"],"code":["src/c.py"]}]}'
    )


def test_crlf_bom_and_non_ascii_are_kept(tmp_path: Path) -> None:
    source = '\ufeff[\r\n  {\r\n    "id": "A",\r\n    "title": "Café"\r\n  }\r\n]\r\n'
    matrix = loaded(tmp_path, source.encode("utf-8"))
    text = add(matrix, 0, ("tests/test_é.py",))
    assert text == (
        '\ufeff[\r\n  {\r\n    "id": "A",\r\n    "title": "Café",\r\n'
        '    "tests": ["tests/test_é.py"]\r\n  }\r\n]\r\n'
    )


def test_escaped_files_keep_escaping(tmp_path: Path) -> None:
    matrix = loaded(tmp_path, '[{"id": "A", "title": "Caf\\u00e9"}]')
    assert add(matrix, 0, ("tests/test_é.py",)) == (
        '[{"id": "A", "title": "Caf\\u00e9", "tests": ["tests/test_\\u00e9.py"]}]'
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in (
        "src/app/login.py",
        "src/app/util.py",
        "src/app/extra.py",
        "tests/test_login.py",
        "tests/conftest.py",
        "other/script.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    return tmp_path


def discovery(
    marked: Sequence[MarkedTest] = (),
    report: Report | None = None,
    test_map: Mapping[str, frozenset[str]] | None = None,
) -> Discovery:
    return Discovery(marked, report, test_map or {}, source_roots=("src",), test_roots=("tests",))


def test_plan_adds_marked_tests_not_yet_covered(project: Path) -> None:
    matrix = loaded(
        project,
        json.dumps(
            {
                "requirements": [
                    {"id": "A", "tests": ["tests/test_login.py::TestLogin"]},
                    {"id": "B", "tests": ["tests/test_login.py"]},
                    {"id": "C"},
                ]
            }
        ),
    )
    marked = [
        MarkedTest("tests/test_login.py::TestLogin::test_ok", "tests/test_login.py", 3, ("A",)),
        MarkedTest("tests/test_login.py::test_other", "tests/test_login.py", 9, ("A", "B", "C")),
        MarkedTest("tests/test_login.py::test_c2", "tests/test_login.py", 12, ("C", "Z")),
    ]
    planned = plan(matrix, discovery(marked=marked), project)
    assert [(a.requirement.id, a.tests, a.code) for a in planned] == [
        ("A", ("tests/test_login.py::test_other",), ()),
        ("C", ("tests/test_login.py::test_other", "tests/test_login.py::test_c2"), ()),
    ]


def test_plan_takes_marked_tests_from_the_last_report(project: Path) -> None:
    matrix = loaded(project, '[{"id": "A"}]')
    report = Report(
        gates=(),
        requirements=(
            RequirementStatus(
                "A",
                "passing",
                tests=(
                    "tests/test_login.py::test_p[1]",
                    "tests/test_login.py::test_p[2]",
                    "tests/test_login.py",
                ),
            ),
        ),
    )
    planned = plan(matrix, discovery(report=report), project)
    assert [(a.requirement.id, a.tests) for a in planned] == [
        ("A", ("tests/test_login.py::test_p",)),
    ]


def test_plan_maps_code_through_the_test_map(project: Path) -> None:
    matrix = loaded(
        project,
        json.dumps(
            [
                {"id": "A", "tests": ["tests/test_login.py"], "code": ["src/app/login.py"]},
                {"id": "B", "tests": ["tests"], "code": ["src/app"]},
            ]
        ),
    )
    test_map = {
        "tests/test_login.py": frozenset(
            {
                "src/app/login.py",
                "src/app/util.py",  # util.py is new for A
                "tests/conftest.py",  # a test file is not code
                "other/script.py",  # outside the source roots
                "src/app/deleted.py",  # no longer exists
            }
        )
    }
    planned = plan(matrix, discovery(test_map=test_map), project)
    assert [(a.requirement.id, a.code) for a in planned] == [("A", ("src/app/util.py",))]


def test_plan_prefers_per_test_coverage_from_the_last_report(project: Path) -> None:
    matrix = loaded(project, '[{"id": "A", "tests": ["tests/test_login.py"]}]')
    gate = GateResult(
        "traceability", Verdict.PASS, "", details={"discovered_code": {"A": ["src/app/extra.py"]}}
    )
    test_map = {"tests/test_login.py": frozenset({"src/app/util.py"})}
    planned = plan(matrix, discovery(report=Report(gates=(gate,)), test_map=test_map), project)
    assert [(a.requirement.id, a.code) for a in planned] == [("A", ("src/app/extra.py",))]
