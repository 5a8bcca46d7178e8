"""Per-test lines are kept in coverage.py's numbits format without importing coverage.py
(facts/numbits.py): the bytes must be the ones coverage.py's own functions make."""

from __future__ import annotations

from coverage import numbits as theirs
from hypothesis import given
from hypothesis import strategies as st

from pytest_tddgate.facts import numbits

LINES = st.sets(st.integers(min_value=1, max_value=5_000), max_size=300)


@given(LINES)
def test_encoding_is_coverage_pys(lines: set[int]) -> None:
    assert numbits.from_lines(lines) == theirs.nums_to_numbits(lines)


@given(LINES)
def test_decoding_gives_the_lines_back_in_order(lines: set[int]) -> None:
    bits = theirs.nums_to_numbits(lines)
    assert numbits.to_lines(bits) == theirs.numbits_to_nums(bits) == sorted(lines)


@given(LINES, LINES)
def test_union_is_coverage_pys(first: set[int], second: set[int]) -> None:
    one, two = numbits.from_lines(first), numbits.from_lines(second)
    assert numbits.union(one, two) == theirs.numbits_union(one, two)
    assert numbits.to_lines(numbits.union(one, two)) == sorted(first | second)


def test_no_lines_are_no_bytes() -> None:
    assert numbits.from_lines(set()) == b""
    assert numbits.to_lines(b"") == []
    assert numbits.union(b"", numbits.from_lines({9})) == numbits.from_lines({9})
