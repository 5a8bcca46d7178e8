"""Reading mypy's output (both forms) and finding the targets its config names."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.facts.toolparse import (
    ToolFinding,
    UnparsableOutputError,
    mypy_config_has_targets,
    mypy_config_name,
    parse_mypy,
)
from pytest_tddgate.facts.tools import mypy_arguments
from pytest_tddgate.settings import resolve
from tests.tooltesting import write

if TYPE_CHECKING:
    from pathlib import Path

TEXT_FLAGS = (
    "--show-error-codes",
    "--no-error-summary",
    "--no-pretty",
    "--show-column-numbers",
    "--no-color-output",
)
SOURCE = """\
import nonexistent_mod


def f(a: int) -> str:
    return a


x: int = "s"
reveal_type(x)
"""

# the text form as mypy 1.10.1 (no JSON output yet) printed it for SOURCE
MYPY_1_10_TEXT = b"""\
src/pkg/m.py:1:1: error: Cannot find implementation or library stub for module named "nonexistent_mod"  [import-not-found]
src/pkg/m.py:1:1: note: See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports
src/pkg/m.py:5:12: error: Incompatible return value type (got "int", expected "str")  [return-value]
src/pkg/m.py:8:10: error: Incompatible types in assignment (expression has type "str", variable has type "int")  [assignment]
src/pkg/m.py:9:13: note: Revealed type is "builtins.int"
"""  # noqa: E501


def _mypy(root: Path, *flags: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *flags, *TEXT_FLAGS, "src"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    return done.stdout


def test_json_and_text_forms_give_the_same_findings(tmp_path: Path) -> None:
    write(tmp_path, {"src/pkg/__init__.py": "", "src/pkg/m.py": SOURCE})

    from_json = parse_mypy(_mypy(tmp_path, "--output=json"), tmp_path)
    from_text = parse_mypy(_mypy(tmp_path), tmp_path)

    def key(f: ToolFinding) -> tuple[str, int | None, str, str]:
        return f.path, f.line, f.code, f.message

    assert [key(f) for f in from_json] == [key(f) for f in from_text]
    assert [(f.line, f.code) for f in from_json] == [
        (1, "import-not-found"),
        (5, "return-value"),
        (8, "assignment"),
    ]
    assert from_json[0].hint is not None and "missing-imports" in from_json[0].hint


def test_the_text_form_of_an_older_mypy_is_read(tmp_path: Path) -> None:
    findings = parse_mypy(MYPY_1_10_TEXT, tmp_path)

    assert [(f.path, f.line, f.code) for f in findings] == [
        ("src/pkg/m.py", 1, "import-not-found"),
        ("src/pkg/m.py", 5, "return-value"),
        ("src/pkg/m.py", 8, "assignment"),
    ]
    assert findings[1].message == 'Incompatible return value type (got "int", expected "str")'


def test_errors_about_a_whole_file_have_no_line(tmp_path: Path) -> None:
    text = b'src/a.py: error: Duplicate module named "a" (also at "lib/a.py")\n'

    [finding] = parse_mypy(text, tmp_path)

    assert (finding.path, finding.line, finding.code) == ("src/a.py", None, "misc")


def test_absolute_paths_below_the_root_become_relative(tmp_path: Path) -> None:
    text = f'{tmp_path}/src/a.py:3:1: error: Name "y" is not defined  [name-defined]\n'

    [finding] = parse_mypy(text.encode(), tmp_path)

    assert (finding.path, finding.line) == ("src/a.py", 3)


def test_a_broken_json_line_is_unparsable(tmp_path: Path) -> None:
    with pytest.raises(UnparsableOutputError):
        parse_mypy(b'{"file": "a.py", "line": 1,\n', tmp_path)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, False),
        ({"mypy.ini": "[mypy]\nfiles = src\n"}, True),
        (
            {
                "mypy.ini": "[mypy]\nstrict = True\n",
                "pyproject.toml": "[tool.mypy]\nfiles = ['a']\n",
            },
            False,
        ),  # mypy.ini wins, as in mypy
        ({".mypy.ini": "[mypy]\npackages = app\n"}, True),
        ({"pyproject.toml": "[tool.mypy]\nfiles = ['src']\n"}, True),
        ({"pyproject.toml": "[tool.mypy]\nstrict = true\n"}, False),
        ({"pyproject.toml": "[tool.black]\n", "setup.cfg": "[mypy]\nfiles = src\n"}, True),
        ({"setup.cfg": "[flake8]\nfiles = src\n"}, False),
        ({"mypy.ini": "not an ini file"}, False),  # mypy itself reports the broken file
    ],
)
def test_config_targets_are_read_as_mypy_reads_them(
    tmp_path: Path, files: dict[str, str], expected: bool
) -> None:
    write(tmp_path, files)

    assert mypy_config_has_targets(tmp_path) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ("src",)),
        (("--strict",), ("--strict", "src")),
        (("--python-version=3.11", "lib"), ("--python-version=3.11", "lib")),
    ],
)
def test_default_targets_are_added_unless_args_name_targets(
    tmp_path: Path, args: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    quoted = ", ".join(f'"{a}"' for a in args)
    write(
        tmp_path,
        {"src/app.py": "", "pyproject.toml": f"[tool.tddgate.gates.mypy]\nargs = [{quoted}]\n"},
    )

    assert mypy_arguments(resolve(tmp_path)) == expected


def test_the_mypy_configuration_is_found_up_to_the_repository_top(tmp_path: Path) -> None:
    (tmp_path / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # outside the repo
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "app").mkdir()
    assert mypy_config_name(repo / "app") is None
    (repo / "setup.cfg").write_text("[mypy]\nstrict = True\n", encoding="utf-8")
    assert mypy_config_name(repo / "app") == "[mypy] in ../setup.cfg"
    (repo / "app" / "pyproject.toml").write_text("[tool.mypy]\n", encoding="utf-8")
    assert mypy_config_name(repo / "app") == "[tool.mypy] in pyproject.toml"
