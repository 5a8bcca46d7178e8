"""Sets of line numbers as bytes, in coverage.py's numbits format.

Bit `n % 8` of byte `n // 8` is set when line `n` is in the set; the bytes end at the
byte that holds the highest line. coverage.py stores per-context lines this way and
documents the format (`coverage.numbits`); per-test lines (covcontexts.py) are kept in
it too.

Why not `coverage.numbits` itself: importing it imports the whole `coverage` package
(about 25 ms, and 77 modules). With `scope = "changed"` the test process otherwise
never needs coverage.py (facts/covremote.py), and every module it holds is walked by
tools like freezegun at each `freeze_time()`.
"""

from __future__ import annotations

from collections.abc import Collection

# the bit positions set in each byte value, so that decoding is one lookup per byte
_SET_BITS = tuple(tuple(bit for bit in range(8) if value >> bit & 1) for value in range(256))


def from_lines(lines: Collection[int]) -> bytes:
    """The numbits of a set of (positive) line numbers."""
    if not lines:
        return b""
    bits = bytearray(max(lines) // 8 + 1)
    for line in lines:
        bits[line >> 3] |= 1 << (line & 7)
    return bytes(bits)


def to_lines(bits: bytes) -> list[int]:
    """The line numbers of numbits, ascending."""
    return [i * 8 + bit for i, value in enumerate(bits) if value for bit in _SET_BITS[value]]


def union(first: bytes, second: bytes) -> bytes:
    """The numbits of the lines in either (Python's integers do the work in C)."""
    value = int.from_bytes(first, "little") | int.from_bytes(second, "little")
    return value.to_bytes(max(len(first), len(second)), "little")
