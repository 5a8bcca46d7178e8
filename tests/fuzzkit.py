"""Shared pieces of the fuzz tests: input counts, profile-aware sizes, strategies.

Each fuzz target calls `ran(target)` once per input, so a run can say how many
inputs each parser saw (conftest prints them; benchmarks/fuzz_long.py collects them).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

FUZZ_ENV = "TDDGATE_FUZZ"
COUNTS_ENV = "TDDGATE_FUZZ_COUNTS"
COUNTS: Counter[str] = Counter()
_UNSAVED: Counter[str] = Counter()
SAVE_EVERY = 2000  # inputs: a long run that is stopped keeps what it counted so far


def long_run() -> bool:
    return os.environ.get(FUZZ_ENV) == "long"


def long_examples() -> int:
    """Inputs per parser in a long run: TDDGATE_FUZZ_EXAMPLES, else 100,000."""
    return int(os.environ.get("TDDGATE_FUZZ_EXAMPLES") or 100_000)


def examples(ci: int, long: int) -> int:
    """`max_examples` of a costly target (one with real files, git or a subprocess):
    `long` scales down with TDDGATE_FUZZ_EXAMPLES like the cheap targets."""
    if not long_run():
        return ci
    return max(ci, long * long_examples() // 100_000)


def ran(target: str) -> None:
    """Count one input of a fuzz target."""
    COUNTS[target] += 1
    _UNSAVED[target] += 1
    if _UNSAVED.total() >= SAVE_EVERY:
        save_counts()


def outcome(label: str) -> None:
    """Tally what an input ended in (shown by --hypothesis-show-statistics), so a run
    shows whether inputs got past the first check or all died at the door."""
    if currently_in_test_context():
        event(label.partition("`")[0].strip()[:40])  # the kind of outcome, not the value


def save_counts() -> None:
    """Add the inputs counted since the last save to the JSON file TDDGATE_FUZZ_COUNTS
    names, if any."""
    name = os.environ.get(COUNTS_ENV)
    if not name or not _UNSAVED:
        return
    path = Path(name)
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    total = Counter({str(k): int(v) for k, v in old.items()} if isinstance(old, dict) else {})
    total.update(_UNSAVED)
    _UNSAVED.clear()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(total.items())), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# Characters that break naive parsers: separators git and our formats use, line
# breaks of every kind, quotes, escapes, NUL, a BOM, combining marks, emoji, and
# the non-characters and private use code points editors leave in files.
ODD_CHARS = (
    "\x00\x01\x1e\x1f\x7f\t\n\r\x0b\x0c\x85\u2028\u2029\ufeff\ufffe\uffff"
    " \"'`\\/:;,.#[]{}=*?!-_~$%&<>|^@+"
    "\u00e9\u0301\u4e2d\u0627\U0001f600\U0010fffd"
)


def odd_text(*, min_size: int = 0, max_size: int = 40, surrogates: bool = False) -> Any:
    """Text mixing ordinary letters with `ODD_CHARS` (and lone surrogates if asked:
    JSON can spell them, TOML and UTF-8 files cannot)."""
    alphabet = st.one_of(
        st.sampled_from(ODD_CHARS),
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from("abcxyz019"),
        *([st.sampled_from("\ud800\udbff\udc00\udfff")] if surrogates else []),
    )
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def json_values(*, surrogates: bool = True) -> Any:
    """Any JSON value, deep and wide enough to reach every branch of a validator."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        odd_text(surrogates=surrogates),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.dictionaries(odd_text(max_size=10, surrogates=surrogates), children, max_size=5),
        ),
        max_leaves=25,
    )


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` with a few edits a person or a broken tool makes: a deleted span, an
    inserted character, a doubled span, a truncation."""
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("delete", "insert", "double", "truncate")))
        at = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(ODD_CHARS + '{}[]",:0n')) + text[at:]
        elif kind == "double":
            end = min(len(text), at + draw(st.integers(1, 20)))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at]
    return text
