"""Loading and validating traceability_matrix.json: both forms, every error, exit 4."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts.matrix import compile_id_pattern, load

if TYPE_CHECKING:
    from pathlib import Path


def write(tmp_path: Path, text: str, name: str = "traceability_matrix.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, pattern: str | None = None) -> UsageError:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load(path, tmp_path, id_pattern=re.compile(pattern) if pattern else None)
    return info.value


def test_object_form_with_unknown_keys_kept(tmp_path: Path) -> None:
    doc = {
        "version": 2,
        "requirements": [
            {
                "id": "REQ-001",
                "title": "Login",
                "tests": ["./tests/test_login.py", "tests\\test_x.py::TestA::test_b[1]"],
                "code": ["src/auth/login.py"],
                "status": "approved",
                "owner": {"team": "auth"},
            },
            {"id": "REQ-002"},
        ],
    }
    matrix = load(write(tmp_path, json.dumps(doc, indent=2)), tmp_path)
    assert matrix is not None
    assert not matrix.bare_list
    assert matrix.extra == {"version": 2}
    first, second = matrix.requirements
    assert first.id == "REQ-001"
    assert first.title == "Login"
    assert first.tests == ("tests/test_login.py", "tests/test_x.py::TestA::test_b[1]")
    assert first.code == ("src/auth/login.py",)
    assert first.extra == {"status": "approved", "owner": {"team": "auth"}}
    assert (second.id, second.title, second.tests, second.code) == ("REQ-002", None, (), ())
    assert second.index == 1


def test_bare_list_form(tmp_path: Path) -> None:
    text = '[{"id": "A", "tests": ["tests/test_a.py"]}, {"id": "B", "code": null}]'
    matrix = load(write(tmp_path, text), tmp_path)
    assert matrix is not None
    assert matrix.bare_list
    assert [r.id for r in matrix.requirements] == ["A", "B"]
    assert matrix.json_path(1, "code", 0) == (1, "code", 0)


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert load(tmp_path / "traceability_matrix.json", tmp_path) is None


def test_a_folder_instead_of_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "traceability_matrix.json").mkdir()
    with pytest.raises(UsageError, match="cannot read the traceability matrix"):
        load(tmp_path / "traceability_matrix.json", tmp_path)


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    # A bare word, not a trailing comma: Python 3.13 reports a trailing comma at the
    # comma, earlier versions at the brace after it.
    error = error_of(tmp_path, '{"requirements": [\n  {"id": A}\n]}')
    assert (error.file, error.line, error.column) == ("traceability_matrix.json", 2, 10)
    rendered = error.render()
    assert rendered.startswith("traceability_matrix.json:2:10: not valid JSON: Expecting value")
    assert "fix: correct the syntax" in rendered


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "traceability_matrix.json"
    path.write_bytes(b'{"requirements": [\n {"id": "caf\xe9"}]}')
    with pytest.raises(UsageError) as info:
        load(path, tmp_path)
    assert info.value.line == 2
    assert "not UTF-8" in info.value.message


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "traceability_matrix.json"
    path.write_bytes(b'\xef\xbb\xbf{"requirements": [{"id": "A"}]}')
    matrix = load(path, tmp_path)
    assert matrix is not None and matrix.bom and matrix.requirements[0].id == "A"


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('"just text"', "(top level)", 'must be an object or a list, got a string "just text"'),
        ('{"reqs": []}', "(top level)", "has no `requirements` list"),
        ('{"requirements": {"id": "A"}}', "requirements", "must be a list, got an object"),
        ('{"requirements": [3]}', "requirements[0]", "must be an object, got a number 3"),
        ('{"requirements": [{"title": "x"}]}', "requirements[0]", "has no `id`"),
        (
            '{"requirements": [{"id": 7}]}',
            "requirements[0].id",
            "must be a non-empty string, got a number 7",
        ),
        ('{"requirements": [{"id": ""}]}', "requirements[0].id", "must be a non-empty string"),
        ('{"requirements": [{"id": " A"}]}', "requirements[0].id", "leading or trailing spaces"),
        (
            '{"requirements": [{"id": "A", "title": ["x"]}]}',
            "requirements[0].title",
            "must be a string, got a list",
        ),
        (
            '{"requirements": [{"id": "A", "tests": "tests/t.py"}]}',
            "requirements[0].tests",
            'must be a list of paths, got a string "tests/t.py"',
        ),
        (
            '{"requirements": [{"id": "A", "code": [""]}]}',
            "requirements[0].code[0]",
            "must be a non-empty path string",
        ),
        (
            '{"requirements": [{"id": "A", "code": ["src/a.py", true]}]}',
            "requirements[0].code[1]",
            "must be a non-empty path string, got a boolean true",
        ),
        (
            '{"requirements": [{"id": "A", "code": ["../etc/passwd"]}]}',
            "requirements[0].code[0]",
            "path `../etc/passwd` is outside the repository",
        ),
        (
            '{"requirements": [{"id": "A", "code": ["/etc/passwd"]}]}',
            "requirements[0].code[0]",
            "is outside the repository",
        ),
        (
            '{"requirements": [{"id": "A", "code": ["C:\\\\x.py"]}]}',
            "requirements[0].code[0]",
            "is outside the repository",
        ),
        (
            '{"requirements": [{"id": "A", "tests": ["src/../../t.py::test_a"]}]}',
            "requirements[0].tests[0]",
            "is outside the repository",
        ),
        ('[{"id": "A"}, {"id": "A"}]', "[1].id", "duplicate id `A` (first at [0])"),
        (
            '{"requirements": [{"id": "A", "id": "B"}]}',
            "requirements[0].id",
            "the key `id` appears twice in one object",
        ),
    ],
)
def test_each_error_names_the_json_path(tmp_path: Path, text: str, key: str, message: str) -> None:
    error = error_of(tmp_path, text)
    assert error.key == key
    assert message in error.message
    assert error.file == "traceability_matrix.json"
    assert error.line is not None and error.fix


def test_error_line_and_column_point_at_the_value(tmp_path: Path) -> None:
    text = (
        '{\n  "requirements": [\n    {"id": "A", "code": ["src/a.py"]},\n'
        '    {"id": "B",\n     "code": ["src/b.py", 5]}\n  ]\n}\n'
    )
    error = error_of(tmp_path, text)
    assert error.key == "requirements[1].code[1]"
    assert (error.line, error.column) == (5, 27)
    assert error.render().startswith(
        "traceability_matrix.json:5:27: requirements[1].code[1]: must be a non-empty path "
        "string, got a number 5"
    )


def test_id_pattern(tmp_path: Path) -> None:
    error = error_of(
        tmp_path, '{"requirements": [{"id": "REQ-1"}, {"id": "FOO-2"}]}', pattern=r"REQ-\d+"
    )
    assert error.key == "requirements[1].id"
    assert "`FOO-2` does not match the id pattern `REQ-\\d+`" in error.message
    assert error.fix is not None and "gates.traceability.id_pattern" in error.fix


def test_invalid_id_pattern_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        compile_id_pattern("REQ-(", tmp_path / "pyproject.toml")
    assert info.value.key == "[tool.tddgate] gates.traceability.id_pattern"
    assert "not a valid regular expression" in info.value.message


def test_every_problem_is_listed(tmp_path: Path) -> None:
    items = [{"id": "A", "code": [n]} for n in range(15)]
    error = error_of(tmp_path, json.dumps({"requirements": items}, indent=1))
    lines = error.message.splitlines()
    assert lines[0] == "must be a non-empty path string, got a number 0"
    assert lines[1].startswith("  also traceability_matrix.json:")
    assert "requirements[1].code[0]" in lines[1]
    assert "requirements[1].id: duplicate id `A`" in lines[2]
    assert lines[-1] == "  ... and 19 more problem(s)"
