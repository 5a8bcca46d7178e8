"""Where things are in a JSON text: spans of values, JSON paths, line and column.

The stdlib parser keeps no positions. We need them twice: to say on which line a
problem in the traceability matrix is, and to edit a matrix in place (`tddgate
matrix --update`) so that everything a person wrote — order, indentation, inline
lists, unknown keys — stays byte-for-byte as it was. The scanner below walks a text
that `json.loads` already accepted, using the stdlib decoder for every value, so it
never disagrees with the parser about where a value ends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

JsonPath = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True, slots=True)
class Member:
    """One `"key": value` of an object: where the key starts, where the value is."""

    key: str
    key_start: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Element:
    """One value of an array, as the half-open span `[start, end)`."""

    start: int
    end: int


def skip_ws(text: str, index: int) -> int:
    match = _WS.match(text, index)
    return match.end() if match else index


def value_end(text: str, index: int) -> int:
    """The end of the JSON value that starts at `index`."""
    return _DECODER.raw_decode(text, index)[1]


def members(text: str, index: int) -> list[Member]:
    """The members of the object whose `{` is at `index`, in the order written."""
    found: list[Member] = []
    i = skip_ws(text, index + 1)
    while text[i] != "}":
        key, after_key = _DECODER.raw_decode(text, i)
        start = skip_ws(text, skip_ws(text, after_key) + 1)  # past the colon
        end = value_end(text, start)
        found.append(Member(str(key), i, start, end))
        i = skip_ws(text, end)
        if text[i] == ",":
            i = skip_ws(text, i + 1)
    return found


def elements(text: str, index: int) -> list[Element]:
    """The values of the array whose `[` is at `index`, in order."""
    found: list[Element] = []
    i = skip_ws(text, index + 1)
    while text[i] != "]":
        end = value_end(text, i)
        found.append(Element(i, end))
        i = skip_ws(text, end)
        if text[i] == ",":
            i = skip_ws(text, i + 1)
    return found


def locate(text: str, path: Sequence[str | int], start: int = 0) -> int:
    """The offset of the value at `path` (from the value at `start`), or of the deepest
    part of it that exists."""
    index = skip_ws(text, start)
    for part in path:
        opener = text[index] if index < len(text) else ""
        if isinstance(part, int) and opener == "[":
            items = elements(text, index)
            if not 0 <= part < len(items):
                return index
            index = items[part].start
        elif isinstance(part, str) and opener == "{":
            member = next((m for m in members(text, index) if m.key == part), None)
            if member is None:
                return index
            index = member.start
        else:
            return index
    return index


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` (the way editors and JSONDecodeError count)."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def render_path(path: Sequence[str | int]) -> str:
    """`("requirements", 3, "code", 0)` -> `requirements[3].code[0]`; a bare list -> `[3]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


def indent_before(text: str, offset: int) -> str | None:
    """The whitespace between the start of the line and `offset`, if only whitespace."""
    line_start = text.rfind("\n", 0, offset) + 1
    prefix = text[line_start:offset]
    return prefix if not prefix.strip() else None
