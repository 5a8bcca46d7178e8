"""Reading what ruff and mypy print, and what the project's mypy config asks for.

Pure functions of bytes and paths, so each parser is tested on the real output of
the real tools. Every path a tool prints becomes a `/`-separated path relative to the
project root, the form every other gate uses.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


@dataclass(frozen=True, slots=True)
class ToolFinding:
    """One violation or type error, as the tool reported it."""

    tool: str  # the gate: ruff | mypy
    path: str  # relative to the project root, `/`-separated
    line: int | None
    code: str  # F401, unformatted, invalid-syntax, arg-type, ...
    message: str
    hint: str | None = None
    # about the whole file (an unformatted file): `line` only points at the first
    # difference, so the baseline must not tie the finding to that line's text
    whole_file: bool = False


class UnparsableOutputError(ValueError):
    """The tool printed something that is not the form we asked for."""


def relative(name: str, root: Path) -> str:
    """A path the tool printed, relative to the root when it lies below it."""
    path = Path(name)
    if not path.is_absolute():
        path = root / path
    for base in (root, root.resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _json_list(stdout: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(stdout.decode("utf-8", errors="replace") or "[]")
    except json.JSONDecodeError as exc:
        raise UnparsableOutputError(f"not JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a 4300+ digit number; deep nesting
        raise UnparsableOutputError(f"JSON we cannot read: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnparsableOutputError("expected a JSON list of objects")
    return data


def _row(item: dict[str, Any]) -> int | None:
    location = item.get("location")
    row = location.get("row") if isinstance(location, dict) else None
    return row if isinstance(row, int) and row > 0 else None


def parse_ruff_check(stdout: bytes, root: Path) -> tuple[ToolFinding, ...]:
    """`ruff check --output-format=json`: a list of violations."""
    findings = []
    for item in _json_list(stdout):
        try:
            filename, message = str(item["filename"]), str(item["message"])
        except KeyError as exc:
            raise UnparsableOutputError(f"a violation without {exc}") from None
        code = _ruff_rule(item)
        findings.append(
            ToolFinding(
                "ruff", relative(filename, root), _row(item), code, message, _ruff_hint(item)
            )
        )
    return tuple(findings)


def _ruff_rule(item: dict[str, Any]) -> str:
    """The rule's code; its name when it has none (a preview rule: `"code": null`,
    `"name": "pytest-fixture-autouse"`). ruff before 0.10 gave syntax errors neither."""
    for key in ("code", "name"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return "invalid-syntax"


def _ruff_hint(item: dict[str, Any]) -> str | None:
    fix = item.get("fix")
    if isinstance(fix, dict) and fix.get("message"):
        automatic = fix.get("applicability") == "safe"
        return str(fix["message"]) + (" (`ruff check --fix` does it)" if automatic else "")
    url = item.get("url")
    return f"see {url}" if url else None


def parse_ruff_format(stdout: bytes, root: Path) -> tuple[ToolFinding, ...]:
    """`ruff format --check`: JSON (ruff >= 0.14), else its `Would reformat:` lines."""
    text = stdout.decode("utf-8", errors="replace")
    if text.lstrip().startswith("["):
        return tuple(
            _unformatted(relative(str(item.get("filename", "")), root), _row(item))
            if item.get("code") == "unformatted"
            else ToolFinding(
                "ruff",
                relative(str(item.get("filename", "")), root),
                _row(item),
                _ruff_rule(item),
                str(item.get("message", "")),
            )
            for item in _json_list(stdout)
        )
    prefix = "Would reformat: "
    return tuple(
        _unformatted(relative(line[len(prefix) :].strip(), root), None)
        for line in text.splitlines()
        if line.startswith(prefix)
    )


def _unformatted(path: str, line: int | None) -> ToolFinding:
    return ToolFinding(
        "ruff",
        path,
        line,
        "unformatted",
        "file is not formatted",
        hint=f"run `ruff format {path}`",
        whole_file=True,
    )


# `path:line:column: error: message  [code]`; line and column are absent for errors
# about a whole file, the code for the few errors that have none
_MYPY_TEXT = re.compile(
    r"^(?P<path>.+?):(?:(?P<line>\d+):)?(?:\d+:)? (?P<severity>error|warning|note): "
    r"(?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$"
)


def parse_mypy(stdout: bytes, root: Path) -> tuple[ToolFinding, ...]:
    """mypy's errors, from `--output=json` lines (mypy >= 1.11) or from its text form.

    Notes are context for the error before them, not findings of their own.
    """
    findings = []
    for raw in stdout.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("{"):
            entry = _mypy_json(line)
        else:
            match = _MYPY_TEXT.match(line)
            if match is None:
                continue  # a summary or a blank line
            entry = match.groupdict()
        if entry.get("severity") != "error":
            continue
        number = int(entry["line"]) if entry.get("line") not in (None, "") else None
        hint = entry.get("hint")
        findings.append(
            ToolFinding(
                "mypy",
                relative(str(entry["path"]), root),
                number if number is not None and number > 0 else None,
                str(entry.get("code") or "misc"),
                str(entry["message"]),
                hint=str(hint) if hint else None,
            )
        )
    return tuple(findings)


def _mypy_json(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UnparsableOutputError(f"not a JSON line: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a 4300+ digit number; deep nesting
        raise UnparsableOutputError(f"a JSON line we cannot read: {exc}") from None
    if not isinstance(data, dict) or "file" not in data or "message" not in data:
        raise UnparsableOutputError("a JSON line without `file` and `message`")
    if data.get("line") is not None and not isinstance(data["line"], int):
        raise UnparsableOutputError(f"a JSON line whose `line` is {data['line']!r}")
    return {
        "path": data["file"],
        "line": data.get("line"),
        "code": data.get("code"),
        "message": data["message"],
        "severity": data.get("severity"),
        "hint": data.get("hint"),
    }


_TARGET_KEYS = ("files", "modules", "packages")


def mypy_config_has_targets(root: Path) -> bool:
    """True when the config mypy reads in `root` sets `files`, `modules` or `packages`.

    mypy takes the first of mypy.ini, .mypy.ini, pyproject.toml (with [tool.mypy]) and
    setup.cfg (with [mypy]); so do we. A config we cannot read counts as none: mypy
    itself then reports the broken file, which is the better message.
    """
    for name in ("mypy.ini", ".mypy.ini"):
        if (root / name).is_file():
            return _ini_targets(root / name)
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            table = {}
        mypy_table = table.get("mypy") if isinstance(table, dict) else None
        if isinstance(mypy_table, dict):
            return any(mypy_table.get(key) for key in _TARGET_KEYS)
    setup_cfg = root / "setup.cfg"
    return setup_cfg.is_file() and _ini_targets(setup_cfg)


def _ini_targets(path: Path) -> bool:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return False
    if not parser.has_section("mypy"):
        return False
    return any(parser.get("mypy", key, fallback="").strip() for key in _TARGET_KEYS)


# ruff looks for these in a folder, in this order; pyproject.toml only with [tool.ruff]
_RUFF_FILES = (".ruff.toml", "ruff.toml", "pyproject.toml")


def ruff_config(root: Path) -> tuple[str, dict[str, Any]] | None:
    """(file, settings) of the ruff configuration that applies in `root`: the first
    found in `root` or a folder above it, as ruff looks; the file is named relative to
    `root`. None when there is none (ruff then runs with its default rules).
    Unreadable counts as none here: ruff itself reports a broken file, which is the
    better message."""
    for folder in (root, *root.parents):
        for name in _RUFF_FILES:
            found = _ruff_table(folder / name)
            if found is not None:
                return os.path.relpath(folder / name, root), found
    return None


def _ruff_table(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return None
    if path.name != "pyproject.toml":
        return data
    tool = data.get("tool")
    table: object = tool.get("ruff") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def names_markdown(root: Path) -> bool:
    """Whether the project's ruff configuration asks for Markdown files by name in
    `include` or `extend-include` (then the gate judges them too)."""
    found = ruff_config(root)
    if found is None:
        return False
    patterns = [*_strings(found[1].get("include")), *_strings(found[1].get("extend-include"))]
    return any(".md" in pattern for pattern in patterns)


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def ruff_config_name(root: Path) -> str | None:
    """Where the project configures ruff, in words, or None (ruff's default rules)."""
    found = ruff_config(root)
    if found is None:
        return None
    return f"[tool.ruff] in {found[0]}" if found[0].endswith("pyproject.toml") else found[0]


def mypy_config_name(root: Path) -> str | None:
    """Where the project configures mypy, in words (the file mypy reads first), or
    None. mypy looks in the folder it runs in, then in the folders above it up to the
    top of the repository; files above `root` are named relative to it."""
    for folder in (root, *root.parents):
        found = _mypy_config_in(folder)
        if found is not None:
            name, label = found
            return label.format(os.path.relpath(folder / name, root))
        if (folder / ".git").exists() or (folder / ".hg").exists():
            return None
    return None


def _mypy_config_in(folder: Path) -> tuple[str, str] | None:
    """(file name, how to name it: a format string) of mypy's configuration in `folder`."""
    for name in ("mypy.ini", ".mypy.ini"):
        if (folder / name).is_file():
            return name, "{}"
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            tool = {}
        if isinstance(tool, dict) and isinstance(tool.get("mypy"), dict):
            return "pyproject.toml", "[tool.mypy] in {}"
    parser = configparser.RawConfigParser()
    try:
        parser.read(folder / "setup.cfg", encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    return ("setup.cfg", "[mypy] in {}") if parser.has_section("mypy") else None
