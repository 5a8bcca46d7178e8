"""Merge learnings into expertise.md without touching a byte a person wrote.

The file is handled as a list of lines, each with its own line ending. tddgate owns
exactly the lines that carry an entry marker `<!-- tddgate:KIND:DIGEST -->`, plus
the `last_updated` line of the front matter; it adds headings that are missing and
new entry lines, and changes nothing else. An entry a person moved to another
section is updated where it now is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import UsageError, position
from pytest_tddgate.learn.derive import SECTIONS, Learning, code

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

MARKER = re.compile(r"<!-- tddgate:([a-z-]+:[0-9a-f]{12}) -->")
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LAST_UPDATED = re.compile(r"^last_updated\s*:")
_LIST_ITEM = re.compile(r"^\s{0,3}([-*+]|\d+[.)])\s")

INTRO = (
    "# Expertise\n",
    "\n",
    "What this project's test runs have taught so far. pytest-tddgate derives the entries\n",
    "marked `<!-- tddgate:... -->` from its run ledger and updates them in place; write\n",
    "your own notes anywhere on lines of their own: they are kept exactly as written.\n",
)


# Kinds of entries earlier versions wrote and this one no longer derives. A `violation`
# entry told the story of one commit and called it "resolved" after any later run that
# lacked it, a branch switch included: such lines are removed, the rules replace them.
RETIRED = frozenset({"violation"})


@dataclass(frozen=True, slots=True)
class Merged:
    """The new text (None: nothing to change) and what changed."""

    text: str | None
    added: int
    updated: int
    removed: int = 0


def merge(old: str | None, learnings: Sequence[Learning], as_of: str, path: Path) -> Merged:
    """Apply `learnings` to the text of expertise.md (None: the file does not exist)."""
    text = old or ""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    lines = _LINES.findall(text[len(bom) :])
    newline = "\r\n" if "\r\n" in text else "\n"
    front = _front_matter(lines, path)
    where = _entry_lines(lines, front)
    added, updated, fresh = 0, 0, []
    for item in learnings:
        line = render(item)
        index = where.get(item.key)
        if index is None:
            fresh.append(item)
            continue
        ending = lines[index][len(lines[index].rstrip("\r\n")) :] or newline
        if lines[index] != line + ending:
            lines[index] = line + ending
            updated += 1
    wanted = {item.key for item in learnings}
    retired = sorted(
        (index for key, index in where.items() if _retired(key, lines[index], wanted)),
        reverse=True,
    )
    for index in retired:
        del lines[index]
    if fresh:
        added = len(fresh)
        lines = _insert(lines, fresh, front, newline)
    if not added and not updated and not retired:
        return Merged(None, 0, 0)
    _check_front_matter(lines, front, path)
    lines = _stamp(lines, as_of, newline, path)
    return Merged(bom + "".join(lines), added, updated, len(retired))


def _retired(key: str, line: str, wanted: set[str]) -> bool:
    """An entry line of a retired kind, as tddgate wrote it (a list item ending in its
    marker): a line a person wrote around a marker is theirs and stays."""
    text = line.rstrip("\r\n")
    return (
        key.split(":", 1)[0] in RETIRED
        and key not in wanted
        and text.startswith("- ")
        and text.endswith(f"<!-- tddgate:{key} -->")
    )


def render(item: Learning) -> str:
    return f"- {item.date} · {code(item.component)} · {item.text} <!-- tddgate:{item.key} -->"


def _front_matter(lines: list[str], path: Path) -> int:
    """Index of the closing `---` of the front matter, or -1 when there is none."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return -1
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") in ("---", "..."):
            return index
    return -1


def _check_front_matter(lines: list[str], front: int, path: Path) -> None:
    """The front matter must be YAML before the file is written; checked only then, so
    that a run with nothing new to write does not load a YAML parser."""
    if front < 0:
        return
    import yaml

    text = "".join(lines[1:front])
    try:
        data: Any = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: deep nesting
        mark = getattr(exc, "problem_mark", None)
        raise UsageError(
            f"the front matter is not valid YAML ({getattr(exc, 'problem', exc)})",
            file=path,
            line=position(text, mark.index)[0] + 1 if mark is not None else None,
            fix="correct it (the learnings are not updated until then)",
        ) from None
    if data is not None and not isinstance(data, dict):
        raise UsageError(
            "the front matter must be a mapping of keys",
            file=path,
            line=2,
            fix="write e.g. `last_updated: 2026-01-31`",
        )


def _body(lines: list[str], front: int) -> Iterator[int]:
    """Indexes of the lines after the front matter that are not inside a code fence
    (an example a person quotes in a fence is text, not an entry or a heading)."""
    fence = ""
    for index in range(front + 1, len(lines)):
        fence, fence_line = _next_fence(fence, lines[index])
        if not fence and not fence_line:
            yield index


def _next_fence(fence: str, line: str) -> tuple[str, bool]:
    """The fence open after `line` ('' for none), and whether `line` opens or closes one."""
    opening = _FENCE.match(line)
    if not opening:
        return fence, False
    marker = opening.group(1)
    if not fence:
        return marker, True
    if marker[0] == fence[0] and len(marker) >= len(fence):
        return "", True
    return fence, True


def _open_fence(lines: list[str], front: int) -> str:
    """The fence a person opened and never closed, or ''."""
    fence = ""
    for index in range(front + 1, len(lines)):
        fence = _next_fence(fence, lines[index])[0]
    return fence


def _entry_lines(lines: list[str], front: int) -> dict[str, int]:
    """key -> line index of every tddgate entry (the first one where a key repeats)."""
    found: dict[str, int] = {}
    for index in _body(lines, front):
        match = MARKER.search(lines[index])
        if match and match.group(1) not in found:
            found[match.group(1)] = index
    return found


def _headings(lines: list[str], front: int) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading."""
    found = []
    for index in _body(lines, front):
        heading = _HEADING.match(lines[index].rstrip("\r\n"))
        if heading:
            found.append((index, len(heading.group(1)), heading.group(2).strip()))
    return found


def _insert(lines: list[str], fresh: list[Learning], front: int, newline: str) -> list[str]:
    """Add new entries at the end of their section, creating missing headings."""
    fence = _open_fence(lines, front)
    if fence:  # a fence left open runs to the end of the file: what follows would be code
        lines = [*_ensure_final_newline(lines, newline), fence + newline]
    if not any(level == 2 and title == "Learnings" for _, level, title in _headings(lines, front)):
        lines = _ensure_final_newline(lines, newline)
        if not lines or (front >= 0 and len(lines) == front + 1):
            lines += [newline] if lines else []
            lines += [part.replace("\n", newline) for part in INTRO]
        if lines and lines[-1].strip():
            lines.append(newline)
        lines.append("## Learnings" + newline)
    for section in SECTIONS:
        items = [item for item in fresh if item.section == section]
        heads = _headings(lines, front)
        start, end = _section_span(heads, len(lines), "Learnings", 2)
        own = next(
            (i for i, level, title in heads if start < i < end and level == 3 and title == section),
            None,
        )
        if own is None:
            lines = _ensure_final_newline(lines, newline)
            block = [newline, f"### {section}{newline}"]
            block += [newline] + [render(i) + newline for i in items] if items else []
            at = end
            if at > 0 and not lines[at - 1].strip():
                at -= 1  # keep the blank line that separates it from what follows
            lines[at:at] = block
            continue
        if items:
            lines[:] = _add_to_section(lines, heads, own, end=end, items=items, newline=newline)
    return lines


def _section_span(
    heads: list[tuple[int, int, str]], total: int, title: str, level: int
) -> tuple[int, int]:
    start = next(i for i, lvl, name in heads if lvl == level and name == title)
    end = next((i for i, lvl, _ in heads if i > start and lvl <= level), total)
    return start, end


def _add_to_section(
    lines: list[str],
    heads: list[tuple[int, int, str]],
    own: int,
    *,
    end: int,
    items: list[Learning],
    newline: str,
) -> list[str]:
    end = next((i for i, level, _ in heads if own < i and level <= 3), end)
    body = set(_body(lines, own))
    entries = [i for i in range(own + 1, end) if i in body and MARKER.search(lines[i])]
    new = [render(item) + newline for item in items]
    if entries:
        at = entries[-1] + 1
        lines = _ensure_newline_at(lines, entries[-1], newline)
        return lines[:at] + new + lines[at:]
    # no entries yet: after whatever a person wrote in the section, before its blank lines
    at = end
    while at - 1 > own and not lines[at - 1].strip():
        at -= 1
    lines = _ensure_newline_at(lines, at - 1, newline)
    before = [] if at - 1 > own and _LIST_ITEM.match(lines[at - 1]) else [newline]
    after = [newline] if at < len(lines) and lines[at].strip() else []
    return [*lines[:at], *before, *new, *after, *lines[at:]]


def _ensure_newline_at(lines: list[str], index: int, newline: str) -> list[str]:
    if not lines[index].endswith("\n"):
        lines = list(lines)
        lines[index] += newline
    return lines


def _ensure_final_newline(lines: list[str], newline: str) -> list[str]:
    return _ensure_newline_at(lines, len(lines) - 1, newline) if lines else lines


def _stamp(lines: list[str], as_of: str, newline: str, path: Path) -> list[str]:
    """Set `last_updated` in the front matter, adding a front matter if there is none."""
    close = _front_matter(lines, path)
    stamp = f"last_updated: {as_of}"
    if close < 0:
        head = ["---" + newline, stamp + newline, "---" + newline]
        return head + ([newline] if lines and lines[0].strip() else []) + lines
    for index in range(1, close):
        if _LAST_UPDATED.match(lines[index]):
            ending = lines[index][len(lines[index].rstrip("\r\n")) :]
            lines[index] = stamp + ending
            return lines
    return [*lines[:close], stamp + newline, *lines[close:]]
