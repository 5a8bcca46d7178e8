"""`tddgate matrix --update`: what to add to the matrix, and adding it in place.

Discovery only adds, never removes: a `tests` or `code` entry a person wrote stays,
and a stale one is the gate's finding to report, not ours to delete.

- Tests: tests that mark themselves `@pytest.mark.req` (read statically), and the
  marked tests the last run recorded (the report's requirement list, which also
  sees markers set at run time).
- Code: the implementation files a requirement's own tests executed. From the last
  report when that run had per-test coverage contexts (`discovered_code` of the
  traceability gate), else from the test -> code map of the last recorded run
  (`.tddgate/test-map.json`, per test file, so coarser).

The new entries are spliced into the original text: order, indentation, inline or
one-per-line lists, key order, unknown keys and line endings stay as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_tddgate.facts import jsonspans
from pytest_tddgate.facts.matrix import Matrix, Requirement, entry_file
from pytest_tddgate.facts.tracing import base_nodeid, covers, under

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from pytest_tddgate.facts.reqmarks import MarkedTest
    from pytest_tddgate.model import Report


@dataclass(frozen=True, slots=True)
class Additions:
    """New entries for one requirement."""

    requirement: Requirement
    tests: tuple[str, ...] = ()
    code: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Discovery:
    """Everything known about links outside the matrix."""

    marked: Sequence[MarkedTest] = ()
    report: Report | None = None
    test_map: Mapping[str, frozenset[str]] = field(default_factory=dict)
    source_roots: Sequence[str] = ()
    test_roots: Sequence[str] = ()


def plan(matrix: Matrix, discovery: Discovery, root: Path) -> list[Additions]:
    """The additions for every requirement that gains something, in matrix order."""
    marked: dict[str, list[str]] = {}
    for test in discovery.marked:
        for req_id in test.requirements:
            marked.setdefault(req_id, []).append(test.nodeid)
    reported = {r.id: r for r in discovery.report.requirements} if discovery.report else {}
    executed = _executed_code(discovery.report)
    planned = []
    for requirement in matrix.requirements:
        candidates = [*marked.get(requirement.id, ())]
        if requirement.id in reported:
            candidates += [base_nodeid(t) for t in reported[requirement.id].tests if "::" in t]
        tests = _new_tests(requirement.tests, candidates)
        if executed is not None:
            code_candidates: Iterable[str] = executed.get(requirement.id, ())
        else:
            test_files = {entry_file(t) for t in (*requirement.tests, *tests)}
            code_candidates = _mapped_code(test_files, discovery.test_map)
        code = _new_code(requirement.code, code_candidates, discovery, root)
        if tests or code:
            planned.append(Additions(requirement, tests, code))
    return planned


def _executed_code(report: Report | None) -> dict[str, list[str]] | None:
    gate = report.gate("traceability") if report else None
    found = gate.details.get("discovered_code") if gate else None
    return found if isinstance(found, dict) else None


def _new_tests(existing: Sequence[str], candidates: Iterable[str]) -> tuple[str, ...]:
    added: list[str] = []
    for nodeid in candidates:
        if not any(covers(entry, nodeid) for entry in (*existing, *added)):
            added.append(nodeid)
    return tuple(added)


def _mapped_code(test_files: Iterable[str], test_map: Mapping[str, frozenset[str]]) -> set[str]:
    code: set[str] = set()
    for test_file in test_files:
        if test_file in test_map:
            code |= test_map[test_file]
            continue
        folder = test_file.rstrip("/") + "/"  # a folder entry: every test file below it
        for mapped, files in test_map.items():
            if mapped.startswith(folder):
                code |= files
    return code


def _new_code(
    existing: Sequence[str], candidates: Iterable[str], discovery: Discovery, root: Path
) -> tuple[str, ...]:
    def wanted(path: str) -> bool:
        return (
            not any(under(path, entry) for entry in existing)
            and any(under(path, src) for src in discovery.source_roots)
            and not any(under(path, tests) for tests in discovery.test_roots)
            and (root / path).is_file()
        )

    return tuple(sorted({p for p in candidates if isinstance(p, str) and wanted(p)}))


def apply(matrix: Matrix, additions: Sequence[Additions]) -> str:
    """The matrix text with the additions spliced in; everything else byte-identical."""
    text = matrix.text
    style = _Style.of(text)
    edits: list[tuple[int, int, int, str]] = []  # start, sequence, end, replacement
    for item in additions:
        start = matrix.requirement_start(item.requirement.index)
        members = jsonspans.members(text, start)
        for key, values in (("tests", item.tests), ("code", item.code)):
            if not values:
                continue
            member = next((m for m in members if m.key == key), None)
            if member is None:
                at, piece = _new_member(text, start, members, key, values, style=style)
                edits.append((at, len(edits), at, piece))
            elif text[member.start] == "[":
                at, end, piece = _extend_array(text, member, values, style)
                edits.append((at, len(edits), end, piece))
            else:  # `null`: becomes the list
                edits.append((member.start, len(edits), member.end, style.inline(values)))
    # one pass over the text: splicing the edits one by one copied all of it per edit
    # (quadratic: 25 s for 5,000 additions to a matrix of 50,000 requirements)
    parts, done = ["\ufeff" if matrix.bom else ""], 0
    for at, _, end, piece in sorted(edits):
        parts += [text[done:at], piece]
        done = end
    parts.append(text[done:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Style:
    newline: str
    ensure_ascii: bool

    @classmethod
    def of(cls, text: str) -> _Style:
        # a file that escapes non-ASCII characters keeps doing so
        return cls("\r\n" if "\r\n" in text else "\n", text.isascii() and "\\u" in text)

    def dump(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=self.ensure_ascii)

    def inline(self, values: Sequence[str], comma: str = ", ") -> str:
        return "[" + comma.join(self.dump(v) for v in values) + "]"


def _extend_array(
    text: str, member: jsonspans.Member, values: Sequence[str], style: _Style
) -> tuple[int, int, str]:
    """Append to an existing list in its own layout: inline or one item per line."""
    items = jsonspans.elements(text, member.start)
    if not items:
        return member.start, member.end, style.inline(values)
    if len(items) > 1:
        separator = text[items[0].end : items[1].start]
    elif "\n" in text[member.start : member.end]:
        separator = "," + style.newline + (jsonspans.indent_before(text, items[0].start) or "")
    else:
        separator = ", "
    piece = "".join(separator + style.dump(v) for v in values)
    return items[-1].end, items[-1].end, piece


def _new_member(
    text: str,
    start: int,
    members: Sequence[jsonspans.Member],
    key: str,
    values: Sequence[str],
    *,
    style: _Style,
) -> tuple[int, str]:
    """Add `"key": [...]` after the object's last member, in the object's layout."""
    last = members[-1]
    if len(members) > 1:
        separator = text[members[-2].end : last.key_start]
    elif "\n" in text[start : last.key_start]:
        separator = "," + style.newline + (jsonspans.indent_before(text, last.key_start) or "")
    else:
        separator = ", "
    colon = text[jsonspans.value_end(text, last.key_start) : last.start]
    comma = ", " if " " in colon or "\n" in separator else ","
    return last.end, separator + style.dump(key) + colon + style.inline(values, comma)
