"""The traceability matrix (`traceability_matrix.json`): loaded, validated, located.

Two forms are accepted: `{"requirements": [...], ...}` and a bare list of
requirement objects. Each requirement has an `id` and optional `title`, `tests`
(test files, folders or node ids) and `code` (files or folders); every other key is
kept as found. A broken matrix is a user's mistake: `UsageError` (exit 4) naming the
file, the line and column, and the JSON path (`requirements[3].code[0]`) of the
first problem, followed by the others, so one run shows everything to fix.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import jsonspans

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.jsonspans import JsonPath

KNOWN_KEYS = ("id", "title", "tests", "code")
MAX_PROBLEMS_SHOWN = 10
_DRIVE = re.compile(r"^[A-Za-z]:")
# relative, `/`-separated, no `.` or `..` parts, no doubled or trailing slash, no spaces
_PLAIN_PATH = re.compile(r"(?:[\w-][\w.+@=,-]*/)*[\w-][\w.+@=,-]*")
_BOM = "\ufeff"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_HALF = "holds a lone surrogate escape (half of a character, e.g. `\\ud800`)"
_HALF_FIX = "write the whole character, or both halves of its escape"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement; `tests` and `code` are normalized (`/`, no leading `./`)."""

    id: str
    index: int  # position in the file's list
    title: str | None = None
    tests: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown keys, as found


@dataclass(frozen=True, slots=True)
class Matrix:
    """A valid matrix and the text it came from (for lines and in-place edits)."""

    path: Path
    display: str  # as shown to the user: relative to the project root
    text: str  # the file's text without a byte-order mark
    requirements: tuple[Requirement, ...]
    bare_list: bool = False
    bom: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # unknown top-level keys
    # offsets of each requirement object, computed on first use (findings are rare)
    _starts: list[int] = field(default_factory=list, compare=False, repr=False)

    def json_path(self, index: int, *rest: str | int) -> JsonPath:
        """The JSON path of requirement `index` (and of a part of it)."""
        return (index, *rest) if self.bare_list else ("requirements", index, *rest)

    def by_id(self) -> dict[str, Requirement]:
        return {r.id: r for r in self.requirements}

    def requirement_start(self, index: int) -> int:
        """The offset of requirement `index`'s `{`: one scan of the list, then cached."""
        if not self._starts:
            where = jsonspans.locate(self.text, () if self.bare_list else ("requirements",))
            self._starts.extend(e.start for e in jsonspans.elements(self.text, where))
        return self._starts[index]

    def line_of(self, index: int, key: str | None = None, item: int | None = None) -> int:
        """The line of requirement `index`, or of its `key`, or of `key[item]`."""
        offset = self.requirement_start(index)
        if key is not None:
            path = (key,) if item is None else (key, item)
            offset = jsonspans.locate(self.text, path, start=offset)
        return jsonspans.line_col(self.text, offset)[0]


@dataclass(frozen=True, slots=True)
class Problem:
    path: JsonPath
    message: str
    fix: str | None = None


def matrix(facts: Facts) -> Matrix | None:
    """The project's matrix; None when the file does not exist. A fact for Facts.get."""
    settings = facts.settings
    pattern = compile_id_pattern(settings.traceability.id_pattern, settings.config_file)
    return load(settings.path(settings.project.matrix), settings.root, id_pattern=pattern)


def compile_id_pattern(pattern: str | None, config_file: Path | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(
            f"not a valid regular expression: {exc}",
            file=config_file or "pyproject.toml",
            key="[tool.tddgate] gates.traceability.id_pattern",
            fix='write e.g. `id_pattern = "REQ-[0-9]{3,}"`',
        ) from None


def load(path: Path, root: Path, *, id_pattern: re.Pattern[str] | None = None) -> Matrix | None:
    """Read and validate the matrix at `path`; None if there is no such file."""
    display = _display(path, root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(
            f"cannot read the traceability matrix: {exc.strerror or exc}",
            file=display,
            fix="make it a readable JSON file",
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(
            "not UTF-8 text", file=display, line=line, fix="save the file as UTF-8"
        ) from None
    return parse(text, path=path, display=display, root=root, id_pattern=id_pattern)


def parse(
    text: str,
    *,
    path: Path,
    display: str,
    root: Path,
    id_pattern: re.Pattern[str] | None = None,
) -> Matrix:
    """Validate a matrix text; raise `UsageError` listing every problem found."""
    bom = text.startswith(_BOM)
    text = text.removeprefix(_BOM)
    duplicate_keys: list[tuple[dict[str, Any], str]] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            keys = [k for k, _ in pairs]
            duplicate_keys.append((obj, next(k for k in keys if keys.count(k) > 1)))
        return obj

    try:
        doc = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"not valid JSON: {exc.msg}",
            file=display,
            line=exc.lineno,
            column=exc.colno,
            fix="correct the syntax (a trailing comma or a missing quote or "
            "comma is the usual cause)",
        ) from None
    except (ValueError, RecursionError) as exc:  # a number of 4300+ digits; deep nesting
        raise UsageError(
            f"not a JSON file this tool can read: {exc}",
            file=display,
            fix="shorten the number or flatten the nesting",
        ) from None
    problems = [_duplicate_key_problem(doc, obj, key) for obj, key in duplicate_keys]
    halves = _lone_surrogates(doc) if _SURROGATE_ESCAPE.search(text) else []
    if halves:  # alone: other messages would quote the unprintable text
        raise _usage_error(halves, text, display)
    bare = isinstance(doc, list)
    items, extra = _requirement_list(doc, problems)
    prefix: JsonPath = () if bare else ("requirements",)
    requirements = _requirements(items, prefix, id_pattern, problems)
    if problems:
        raise _usage_error(problems, text, display)
    return Matrix(
        path=path,
        display=display,
        text=text,
        requirements=tuple(requirements),
        bare_list=bare,
        bom=bom,
        extra=extra,
    )


def _requirement_list(doc: Any, problems: list[Problem]) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(doc, list):
        return doc, {}
    if not isinstance(doc, dict):
        problems.append(
            Problem(
                (),
                f"must be an object or a list, got {_kind(doc)}",
                'write `{"requirements": [{"id": "REQ-001", ...}]}`',
            )
        )
        return [], {}
    extra = {k: v for k, v in doc.items() if k != "requirements"}
    if "requirements" not in doc:
        problems.append(
            Problem(
                (),
                "has no `requirements` list",
                'write `{"requirements": [{"id": "REQ-001", ...}]}`',
            )
        )
        return [], extra
    if not isinstance(doc["requirements"], list):
        problems.append(
            Problem(
                ("requirements",),
                f"must be a list, got {_kind(doc['requirements'])}",
                'write `"requirements": [{"id": "REQ-001", ...}]`',
            )
        )
        return [], extra
    return doc["requirements"], extra


def _requirements(
    items: list[Any], prefix: JsonPath, pattern: re.Pattern[str] | None, problems: list[Problem]
) -> list[Requirement]:
    found: list[Requirement] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        here = (*prefix, index)
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    here,
                    f"must be an object, got {_kind(item)}",
                    'write `{"id": "REQ-001", "tests": [...], "code": [...]}`',
                )
            )
            continue
        req_id = _check_id(item.get("id"), (*here, "id"), pattern, problems)
        title = item.get("title")
        if title is not None and not isinstance(title, str):
            problems.append(
                Problem(
                    (*here, "title"),
                    f"must be a string, got {_kind(title)}",
                    'write e.g. `"title": "Login with a password"`',
                )
            )
        tests = _paths(item.get("tests"), (*here, "tests"), problems, node_ids=True)
        code = _paths(item.get("code"), (*here, "code"), problems, node_ids=False)
        if req_id is None:
            continue
        if req_id in first_index:
            problems.append(
                Problem(
                    (*here, "id"),
                    f"duplicate id `{req_id}` (first at "
                    f"{jsonspans.render_path((*prefix, first_index[req_id]))})",
                    "give each requirement its own id, or merge the two",
                )
            )
            continue
        first_index[req_id] = index
        extra = {k: v for k, v in item.items() if k not in KNOWN_KEYS}
        found.append(
            Requirement(
                req_id, index, title if isinstance(title, str) else None, tests, code, extra
            )
        )
    return found


def _check_id(
    value: Any, here: JsonPath, pattern: re.Pattern[str] | None, problems: list[Problem]
) -> str | None:
    if value is None:
        problems.append(Problem(here[:-1], "has no `id`", 'add `"id": "REQ-001"`'))
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(
                here,
                f"must be a non-empty string, got {_kind(value)}",
                'write e.g. `"id": "REQ-001"`',
            )
        )
        return None
    if value != value.strip():
        problems.append(
            Problem(here, f"`{value}` has leading or trailing spaces", "remove the spaces")
        )
        return None
    if pattern is not None and not pattern.fullmatch(value):
        problems.append(
            Problem(
                here,
                f"`{value}` does not match the id pattern `{pattern.pattern}`",
                "rename the requirement, or change [tool.tddgate] gates.traceability.id_pattern",
            )
        )
        return None
    return value


def _paths(
    value: Any, here: JsonPath, problems: list[Problem], *, node_ids: bool
) -> tuple[str, ...]:
    if value is None:
        return ()
    example = "tests/test_login.py" if node_ids else "src/app/login.py"
    if not isinstance(value, list):
        problems.append(
            Problem(
                here,
                f"must be a list of paths, got {_kind(value)}",
                f'write e.g. `"{here[-1]}": ["{example}"]`',
            )
        )
        return ()
    paths = []
    for number, entry in enumerate(value):
        at = (*here, number)
        if not isinstance(entry, str) or not entry.strip():
            problems.append(
                Problem(
                    at,
                    f"must be a non-empty path string, got {_kind(entry)}",
                    f'write e.g. `"{example}"`',
                )
            )
            continue
        file_part, sep, node = entry.partition("::") if node_ids else (entry, "", "")
        normalized = normalize_path(file_part)
        if normalized is None:
            problems.append(
                Problem(
                    at,
                    f"path `{entry}` is outside the repository",
                    "use a path relative to the project root, without `..`",
                )
            )
            continue
        paths.append(normalized + sep + node)
    return tuple(paths)


def normalize_path(value: str) -> str | None:
    """`./tests\\a.py` -> `tests/a.py`; None for a path outside the project root."""
    if _PLAIN_PATH.fullmatch(value):
        return value  # the common case, already normal: no need for normpath
    text = value.strip().replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text):
        return None
    normalized = posixpath.normpath(text)
    if normalized == ".." or normalized.startswith("../"):
        return None
    return normalized


def entry_file(entry: str) -> str:
    """The file (or folder) part of a `tests` entry: `tests/a.py::test_x` -> `tests/a.py`."""
    return entry.partition("::")[0]


def _lone_surrogates(doc: Any) -> list[Problem]:
    """Strings holding half a character: JSON can spell one (`"\\ud800"`), but no UTF-8
    file, report or terminal can hold it, so it would crash every later step."""
    problems = []
    stack: list[tuple[JsonPath, Any]] = [((), doc)]
    while stack:
        path, node = stack.pop()
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in children:
            if isinstance(key, str) and not _encodable(key):
                problems.append(Problem(path, f"a key {_HALF}", _HALF_FIX))
            elif isinstance(child, str) and not _encodable(child):
                problems.append(Problem((*path, key), _HALF, _HALF_FIX))
            elif isinstance(child, (dict, list)):
                stack.append(((*path, key), child))
    return sorted(problems, key=lambda p: [str(part) for part in p.path])


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _duplicate_key_problem(doc: Any, obj: dict[str, Any], key: str) -> Problem:
    path = _find(doc, obj, ()) or ()
    return Problem(
        (*path, key),
        f"the key `{key}` appears twice in one object (JSON keeps only the last)",
        "remove or rename one of them",
    )


def _find(node: Any, target: object, path: JsonPath) -> JsonPath | None:
    if node is target:
        return path
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        if isinstance(child, (dict, list)):
            found = _find(child, target, (*path, key))
            if found is not None:
                return found
    return None


def _usage_error(problems: list[Problem], text: str, display: str) -> UsageError:
    first, rest = problems[0], problems[1:]
    line, column = jsonspans.line_col(text, jsonspans.locate(text, first.path))
    message = first.message
    for other in rest[: MAX_PROBLEMS_SHOWN - 1]:
        other_line = jsonspans.line_col(text, jsonspans.locate(text, other.path))[0]
        message += (
            f"\n  also {display}:{other_line}: {jsonspans.render_path(other.path)}: {other.message}"
        )
    if len(rest) > MAX_PROBLEMS_SHOWN - 1:
        message += f"\n  ... and {len(rest) - MAX_PROBLEMS_SHOWN + 1} more problem(s)"
    return UsageError(
        message,
        file=display,
        key=jsonspans.render_path(first.path),
        line=line,
        column=column,
        fix=first.fix,
    )


def _kind(value: Any) -> str:
    """`a number 3`, `a string "x"`, `an object`: what the user wrote, briefly."""
    if value is None:
        return "null"
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    name = names.get(type(value), type(value).__name__)
    return name if isinstance(value, (dict, list)) else f"{name} {json.dumps(value)[:40]}"


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
