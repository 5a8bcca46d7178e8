"""Fuzzing the expertise.md merge with a person's arbitrary edits.

A person edits around and inside the generated sections: headings (also duplicate
or misspelt ones), fences, lists, front matter, odd characters, CRLF line endings,
no final newline. For every such text and every set of learnings, `merge`:

- returns a text or raises `UsageError` (front matter that is not a YAML mapping);
- keeps every line the person wrote, byte for byte and in order: only entry lines
  of the merged learnings and the `last_updated` stamp may change;
- contains every learning afterwards;
- given its own output and the same learnings, changes nothing (byte-identical).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tddgate.errors import UsageError
from pytest_tddgate.learn.derive import SECTIONS, Learning, code
from pytest_tddgate.learn.markdown import MARKER, RETIRED, merge
from tests import fuzzkit

FILE = Path("docs/expertise.md")
TIP = Learning("flaky:0123456789ab", "tips", "2026-01-01", "tests/t.py", "`t` is flaky.")
LINES_RE = r"[^\n]*\n|[^\n]+\Z"

learnings = st.lists(
    st.builds(
        Learning,
        key=st.tuples(
            st.sampled_from(["stuck", "flaky", "violation", "green", "ruff-code"]),
            st.sampled_from(["0123456789ab", "ba9876543210", "00000000ffff"]),
        ).map(":".join),
        section=st.sampled_from(SECTIONS),
        date=st.dates().map(str),
        component=fuzzkit.odd_text(max_size=20),
        text=st.tuples(st.sampled_from(["", "Ran ", "Fixed by "]), fuzzkit.odd_text()).map(
            lambda pair: pair[0] + code(pair[1])
        ),
    ),
    max_size=6,
    unique_by=lambda item: item.key,
)

# lines a person writes, and lines that look like structure
person_lines = st.one_of(
    fuzzkit.odd_text(max_size=30).map(lambda t: t.replace("\n", " ").replace("\r", " ")),
    st.sampled_from(
        [
            "",
            "---",
            "...",
            "# Expertise",
            "## Learnings",
            "##   Learnings  ##",
            "## learnings",
            "### tips",
            "### common_issues",
            "#### patterns_to_avoid",
            "### patterns_that_work ###",
            "```",
            "~~~",
            "````python",
            "   ```",
            "- a note of my own",
            "* another",
            "1. numbered",
            "last_updated: 1999-01-01",
            "owner: qa",
            "<!-- tddgate:stuck:0123456789ab -->",
            "- 2026-01-01 · `x` · copied entry <!-- tddgate:flaky:0123456789ab -->",
            "<!-- a comment -->",
            "\t indented",
        ]
    ),
)


@st.composite
def edited_files(draw: st.DrawFn) -> str | None:
    """None (no file yet), or lines a person wrote, maybe with a generated file mixed in."""
    if draw(st.integers(0, 20)) == 0:
        return None
    lines = draw(st.lists(person_lines, max_size=25))
    if draw(st.booleans()):  # start from what tddgate wrote, then edit it
        generated = merge(None, draw(learnings), "2026-01-01", FILE).text or ""
        base = generated.splitlines()
        for line in lines:
            at = draw(st.integers(0, len(base)))
            base.insert(at, line)
        for _ in range(draw(st.integers(0, 3))):
            if base:
                del base[draw(st.integers(0, len(base) - 1))]
        lines = base
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline]))
    return ("\ufeff" if draw(st.integers(0, 10)) == 0 else "") + text


def split_lines(text: str) -> list[str]:
    import re

    return re.findall(LINES_RE, text)


def may_change(line: str, keys: set[str]) -> bool:
    """Lines tddgate may rewrite: an entry of a merged learning, the stamp, and an entry
    line of a retired kind (removed: `markdown.RETIRED`)."""
    match = MARKER.search(line)
    if match and match.group(1).split(":", 1)[0] in RETIRED:
        text = line.rstrip("\r\n")
        if text.startswith("- ") and text.endswith(match.group(0)):
            return True
    return bool(match and match.group(1) in keys) or line.startswith("last_updated")


def assert_kept(old: str, new: str, keys: set[str]) -> None:
    """Every line of `old` tddgate does not own is in `new`, in order, byte for byte
    (a last line without a newline may have gained one)."""
    old_lines = split_lines(old.removeprefix("\ufeff"))
    new_lines = iter(split_lines(new.removeprefix("\ufeff")))
    for number, line in enumerate(old_lines):
        if may_change(line, keys):
            continue
        last = number == len(old_lines) - 1 and not line.endswith("\n")
        for candidate in new_lines:
            if candidate == line or (last and candidate.rstrip("\r\n") == line):
                break
        else:
            raise AssertionError(f"line {number + 1} lost or changed: {line!r}\n---\n{new}")


@given(old=edited_files(), items=learnings, as_of=st.dates().map(str))
@example(old="---\n[[[[\n---\n", items=[], as_of="2026-01-01")
@example(old="---\n" + "[" * 5000 + "\n---\n", items=[], as_of="2026-01-01")
@example(old="---\n!!python/object:os.system ls\n---\n", items=[], as_of="2026-01-01")
@example(old="```", items=[TIP], as_of="2026-01-01")
@example(old="## Learnings\n\n### tips\n\n~~~~\nnot closed\n", items=[TIP], as_of="2026-01-01")
def test_merge_keeps_every_persons_line_and_is_stable(
    old: str | None, items: list[Learning], as_of: str
) -> None:
    fuzzkit.ran("expertise.md: merge")
    try:
        merged = merge(old, items, as_of, FILE)
    except UsageError as exc:
        assert str(FILE) in exc.render()
        assert old is not None and old.removeprefix("\ufeff").startswith("---")
        fuzzkit.outcome("usage error")
        return
    new = old if merged.text is None else merged.text
    if new is None:  # no file and nothing to write
        assert not items
        fuzzkit.outcome("nothing to write")
        return
    fuzzkit.outcome("unchanged" if merged.text is None else "merged")
    keys = {item.key for item in items}
    if old is not None:
        assert_kept(old, new, keys)
        assert new.startswith("\ufeff") == old.startswith("\ufeff")
    for item in items:
        assert f"<!-- tddgate:{item.key} -->" in new
    again = merge(new, items, as_of, FILE)
    assert again.text is None, f"second merge changed the file:\n{new!r}\n{again.text!r}"
    if "\r\n" in (old or "") and "\n" not in (old or "").replace("\r\n", ""):
        assert "\n" not in new.replace("\r\n", ""), "mixed line endings"


def test_an_unclosed_fence_is_closed_before_the_learnings_are_added() -> None:
    """Found by fuzzing: the merge appended `## Learnings` inside a person's open
    fence, then could not find its own heading (StopIteration, a traceback)."""
    old = "# Notes\n\n```python\nprint('hi')\n"
    merged = merge(old, [TIP], "2026-01-02", FILE)
    assert merged.text is not None
    body = merged.text.split("---\n", 2)[2]
    assert body.startswith("\n" + old + "```\n\n## Learnings\n")
    assert merge(merged.text, [TIP], "2026-01-02", FILE).text is None


def test_a_front_matter_error_names_a_line_the_file_has() -> None:
    """Found by fuzzing the role file: PyYAML counts U+2028 as a line break, so an
    error in the front matter named a line past the end of the file."""
    with pytest.raises(UsageError) as caught:
        merge('---\nx: 1\u2028y: "\u2028\n---\n', [TIP], "2026-01-02", FILE)

    assert caught.value.line == 3  # the closing `---`, where the string is still open
