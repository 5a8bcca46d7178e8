"""Reading ruff's output: today's JSON and the forms of older versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.facts.toolparse import (
    UnparsableOutputError,
    names_markdown,
    parse_ruff_check,
    parse_ruff_format,
    ruff_config_name,
)

# `ruff format --check` of ruff 0.5.7, which has no JSON output for the formatter
RUFF_0_5_FORMAT = b"""\
Would reformat: src/pkg/a.py
Would reformat: src/pkg/m.py
2 files would be reformatted, 3 files already formatted
"""
# `ruff check --output-format=json` of ruff 0.5.7 for a syntax error: no code yet
RUFF_0_5_SYNTAX = b"""[
  {"cell": null, "code": null, "end_location": {"column": 6, "row": 1},
   "filename": "/proj/src/pkg/bad.py", "fix": null, "location": {"column": 5, "row": 1},
   "message": "SyntaxError: Expected an identifier", "noqa_row": null, "url": null}
]"""


def test_the_text_form_of_an_older_ruff_format_is_read(tmp_path: Path) -> None:
    findings = parse_ruff_format(RUFF_0_5_FORMAT, tmp_path)

    assert [(f.path, f.line, f.code, f.whole_file) for f in findings] == [
        ("src/pkg/a.py", None, "unformatted", True),
        ("src/pkg/m.py", None, "unformatted", True),
    ]


def test_a_syntax_error_without_code_is_invalid_syntax() -> None:
    [finding] = parse_ruff_check(RUFF_0_5_SYNTAX, Path("/proj"))

    assert (finding.path, finding.line, finding.code) == ("src/pkg/bad.py", 1, "invalid-syntax")
    assert finding.message == "SyntaxError: Expected an identifier"


def test_no_violations_is_an_empty_list(tmp_path: Path) -> None:
    assert parse_ruff_check(b"[]", tmp_path) == ()
    assert parse_ruff_format(b"", tmp_path) == ()


@pytest.mark.parametrize("output", [b"All checks passed!", b'{"a": 1}', b'[{"code": "F401"}]'])
def test_anything_else_is_unparsable(tmp_path: Path, output: bytes) -> None:
    with pytest.raises(UnparsableOutputError):
        parse_ruff_check(output, tmp_path)


def test_the_ruff_configuration_is_found_where_ruff_looks(tmp_path: Path) -> None:
    """The adopt-the-gate summary names it; a file above the project counts too."""
    project = tmp_path / "app"
    project.mkdir()
    assert ruff_config_name(project) is None
    (tmp_path / "pyproject.toml").write_text("[tool.other]\n", encoding="utf-8")
    assert ruff_config_name(project) is None  # a pyproject.toml without [tool.ruff]
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n", encoding="utf-8")
    assert ruff_config_name(project) == "[tool.ruff] in ../pyproject.toml"
    (project / "ruff.toml").write_text('extend-include = ["*.md"]\n', encoding="utf-8")
    assert ruff_config_name(project) == "ruff.toml"
    assert names_markdown(project)
    assert not names_markdown(tmp_path)
