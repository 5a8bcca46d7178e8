"""Fuzzing what ruff and mypy print: any output is findings or `UnparsableOutputError`.

The gate turns `UnparsableOutputError` into an `error` verdict with the command to
run by hand; any other exception would be an internal error. Findings generated as
the real tools print them (JSON, and mypy's text form) read back exactly, and a
truncated JSON output is never read as "fewer findings".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tddgate.facts.toolparse import (
    ToolFinding,
    UnparsableOutputError,
    parse_mypy,
    parse_ruff_check,
    parse_ruff_format,
)
from tests import fuzzkit

ROOT = Path("/proj")
PARSERS = {"ruff check": parse_ruff_check, "ruff format": parse_ruff_format, "mypy": parse_mypy}


def parsed(parser: str, output: bytes) -> tuple[ToolFinding, ...] | None:
    """The findings, or None for output the gate reports as unreadable."""
    try:
        findings = PARSERS[parser](output, ROOT)
    except UnparsableOutputError:
        fuzzkit.outcome("unparsable")
        return None
    for finding in findings:
        assert isinstance(finding.path, str)
        assert finding.line is None or (isinstance(finding.line, int) and finding.line > 0)
        assert isinstance(finding.code, str)
        assert isinstance(finding.message, str)
    fuzzkit.outcome(f"{len(findings)} finding(s)" if len(findings) < 3 else "3+ findings")
    return findings


# -- anything at all -------------------------------------------------------------------


@given(parser=st.sampled_from(list(PARSERS)), output=st.binary(max_size=400))
@example(
    parser="mypy", output=b'{"file": "a.py", "message": "m", "severity": "error", "line": "x"}'
)
@example(parser="mypy", output=b'{"file": "/b\\u0000.py", "message": "m", "severity": "error"}')
@example(parser="ruff check", output=b"[" + b"1" * 5000 + b"]")
@example(parser="ruff check", output=b"[" * 100_000)
def test_any_bytes_are_findings_or_unparsable(parser: str, output: bytes) -> None:
    fuzzkit.ran("tools: random bytes")
    parsed(parser, output)


locations = st.one_of(
    fuzzkit.json_values(),
    st.fixed_dictionaries({"row": st.integers() | fuzzkit.json_values(), "column": st.integers()}),
)
ruff_items = st.fixed_dictionaries(
    {},
    optional={
        "filename": fuzzkit.odd_text(surrogates=True) | fuzzkit.json_values(),
        "message": fuzzkit.odd_text(surrogates=True) | fuzzkit.json_values(),
        "code": st.none() | fuzzkit.odd_text() | fuzzkit.json_values(),
        "location": locations,
        "fix": st.none()
        | st.fixed_dictionaries({"message": fuzzkit.json_values(), "applicability": st.text()})
        | fuzzkit.json_values(),
        "url": st.none() | fuzzkit.json_values(),
    },
)
mypy_items = st.fixed_dictionaries(
    {},
    optional={
        "file": fuzzkit.odd_text(surrogates=True) | fuzzkit.json_values(),
        "message": fuzzkit.odd_text(surrogates=True) | fuzzkit.json_values(),
        "line": st.integers() | fuzzkit.json_values(),
        "column": st.integers(),
        "code": st.none() | fuzzkit.json_values(),
        "severity": st.sampled_from(["error", "note", "warning"]) | fuzzkit.json_values(),
        "hint": st.none() | fuzzkit.json_values(),
    },
)


@given(items=st.lists(ruff_items | fuzzkit.json_values(), max_size=5))
def test_ruff_json_of_any_shape_is_findings_or_unparsable(items: list[Any]) -> None:
    fuzzkit.ran("tools: ruff JSON of any shape")
    output = json.dumps(items).encode()
    parsed("ruff check", output)
    parsed("ruff format", output)


@given(items=st.lists(mypy_items | fuzzkit.json_values(), max_size=5))
def test_mypy_json_lines_of_any_shape_are_findings_or_unparsable(items: list[Any]) -> None:
    fuzzkit.ran("tools: mypy JSON lines of any shape")
    parsed("mypy", b"\n".join(json.dumps(item).encode() for item in items))


# -- what the tools really print, whole and cut short ----------------------------------

names = st.lists(
    st.sampled_from(["src", "pkg", "a b", "é", "x.py", "-dash.py", "tab\t.py", "q'\"uote.py"])
    | st.from_regex(r"[a-z_]{1,8}\.py", fullmatch=True),
    min_size=1,
    max_size=4,
).map("/".join)
findings = st.lists(
    st.tuples(
        names,
        st.integers(1, 10**6),
        st.from_regex(r"[A-Z]{1,3}[0-9]{1,4}|[a-z]+(-[a-z]+)*", fullmatch=True),
        fuzzkit.odd_text(min_size=1).filter(lambda m: m.strip() == m and "\n" not in m),
    ),
    max_size=6,
)


def ruff_output(rows: list[tuple[str, int, str, str]]) -> bytes:
    items = [
        {
            "cell": None,
            "code": code,
            "end_location": {"column": 2, "row": line},
            "filename": f"{ROOT}/{path}",
            "fix": None,
            "location": {"column": 1, "row": line},
            "message": message,
            "noqa_row": line,
            "url": f"https://docs.astral.sh/ruff/rules/{code}",
        }
        for path, line, code, message in rows
    ]
    return json.dumps(items, indent=2).encode()


def mypy_output(rows: list[tuple[str, int, str, str]]) -> bytes:
    items = [
        {
            "file": path,
            "line": line,
            "column": 0,
            "message": message,
            "hint": None,
            "code": code,
            "severity": "error",
        }
        for path, line, code, message in rows
    ]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


@given(rows=findings)
def test_ruff_json_reads_back_exactly(rows: list[tuple[str, int, str, str]]) -> None:
    fuzzkit.ran("tools: ruff JSON round trip")
    got = parsed("ruff check", ruff_output(rows))
    assert got is not None
    assert [(f.path, f.line, f.code, f.message) for f in got] == rows


@given(rows=findings)
def test_mypy_json_lines_read_back_exactly(rows: list[tuple[str, int, str, str]]) -> None:
    fuzzkit.ran("tools: mypy JSON round trip")
    got = parsed("mypy", mypy_output(rows))
    assert got is not None
    assert [(f.path, f.line, f.code, f.message) for f in got] == rows


@given(rows=findings.filter(bool), data=st.data())
def test_truncated_json_is_never_read_as_fewer_findings(
    rows: list[tuple[str, int, str, str]], data: st.DataObject
) -> None:
    fuzzkit.ran("tools: truncated JSON")
    for parser, output in (("ruff check", ruff_output(rows)), ("mypy", mypy_output(rows))):
        cut = data.draw(st.integers(1, len(output) - 1), label=f"cut {parser}")
        got = parsed(parser, output[:cut])
        if parser == "ruff check":
            assert got is None, "a cut JSON list must not parse"
        elif got is not None:
            # mypy prints one object per line: a cut on a line boundary loses whole
            # lines, which the gate sees as exit 1 with fewer findings; never a
            # half-read finding
            assert [(f.path, f.line, f.code, f.message) for f in got] == rows[: len(got)]
            assert output[:cut].rstrip(b"\n").count(b"\n") + 1 == len(got)


text_paths = st.from_regex(r"[a-z_]{1,8}(/[a-z_][a-z_ .-]{0,7}){0,3}\.py", fullmatch=True)
# what mypy prints: one line, printable (it shows reprs of odd characters)
text_messages = st.from_regex(r"[A-Za-z\"'(][ -Z^-~\u00e9\u4e2d]{0,40}[a-z)\"']", fullmatch=True)


@given(
    rows=st.lists(
        st.tuples(text_paths, st.integers(1, 10**5), st.sampled_from(["arg-type", "misc"])).flatmap(
            lambda row: text_messages.map(lambda message: (*row, message))
        ),
        max_size=5,
    ),
)
def test_mypy_text_lines_read_back_exactly(rows: list[tuple[str, int, str, str]]) -> None:
    fuzzkit.ran("tools: mypy text round trip")
    output = "".join(
        f"{path}:{line}:5: error: {message}  [{code}]\n"
        f"{path}:{line}:5: note: See https://mypy.readthedocs.io\n"
        for path, line, code, message in rows
    ).encode()
    got = parsed("mypy", output)
    assert got is not None
    assert [(f.path, f.line, f.code, f.message) for f in got] == rows


@pytest.mark.parametrize(
    "output",
    [
        b'{"file": "a.py", "message": "m", "severity": "error", "line": "x"}',
        b'{"file": "a.py", "message": "m", "severity": "error", "line": [1]}',
        b'{"file": "/elsewhere/a\\u0000.py", "message": "m", "severity": "error", "line": 1}',
    ],
    ids=["line-text", "line-list", "nul-in-path"],
)
def test_odd_mypy_json_lines_do_not_crash(output: bytes) -> None:
    parsed("mypy", output)
