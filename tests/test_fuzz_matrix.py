"""Fuzzing the traceability matrix: loading, locating, and `--update`'s in-place edit.

Any bytes in traceability_matrix.json end in a `Matrix` or a `UsageError` that names
the file and a line inside it. A valid matrix in any layout loads with exactly the
requirements written. `matrix_edit.apply` only inserts: the old text survives as a
subsequence, the result parses, and it holds the old entries plus the new ones.
"""

from __future__ import annotations

import json
import posixpath
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import matrix_edit
from pytest_tddgate.facts.matrix import Matrix, load
from tests import fuzzkit

NAME = "traceability_matrix.json"


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def loaded(root: Path, data: bytes) -> Matrix | UsageError:
    """The matrix, or the UsageError after checking what the user would read."""
    path = root / NAME
    path.write_bytes(data)
    try:
        matrix = load(path, root)
    except UsageError as exc:
        text = exc.render()
        assert text.startswith(NAME), text
        text.encode("utf-8")  # printable: no lone surrogate reaches the terminal
        if exc.line is not None:
            assert 1 <= exc.line <= data.count(b"\n") + 1, (exc.line, data)
        fuzzkit.outcome(f"usage error: {' '.join(exc.message.split(' ')[:2])}")
        return exc
    assert matrix is not None
    for req in matrix.requirements:  # what reports and the terminal will print
        json.dumps([req.id, req.title, req.tests, req.code], ensure_ascii=False).encode()
    fuzzkit.outcome("matrix")
    return matrix


# -- any bytes, any JSON ------------------------------------------------------------


@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_matrix_or_a_usage_error(root: Path, data: bytes) -> None:
    fuzzkit.ran("matrix: random bytes")
    loaded(root, data)


@given(doc=fuzzkit.json_values())
def test_any_json_gives_a_matrix_or_a_usage_error(root: Path, doc: Any) -> None:
    fuzzkit.ran("matrix: any JSON")
    loaded(root, json.dumps(doc).encode())


@given(doc=fuzzkit.json_values())
def test_any_json_as_requirements_gives_a_matrix_or_a_usage_error(root: Path, doc: Any) -> None:
    fuzzkit.ran("matrix: any JSON under requirements")
    loaded(root, json.dumps({"requirements": doc if isinstance(doc, list) else [doc]}).encode())


# -- valid matrices in every layout, and their near misses ----------------------------

ids = st.from_regex(r"[A-Z]{2,5}-[0-9]{1,5}", fullmatch=True) | fuzzkit.odd_text(min_size=1)
paths = st.lists(
    st.sampled_from(["tests", "src", "a b", "é", "x.py", "..", ".", "", "test_a.py::t[1]"]),
    min_size=1,
    max_size=4,
).map("/".join) | fuzzkit.odd_text(min_size=1, max_size=20)
requirement = st.fixed_dictionaries(
    {"id": ids},
    optional={
        "title": fuzzkit.odd_text(),
        "tests": st.none() | st.lists(paths, max_size=3),
        "code": st.none() | st.lists(paths, max_size=3),
        "status": fuzzkit.json_values(surrogates=False),
        "owner": fuzzkit.odd_text(),
    },
)
requirement_lists = st.lists(requirement, max_size=6, unique_by=lambda r: r["id"])


@st.composite
def layouts(draw: st.DrawFn, requirements: list[dict[str, Any]]) -> str:
    """The same matrix the way different people and tools write it."""
    bare = draw(st.booleans())
    doc: Any = requirements if bare else {"version": 1, "requirements": requirements}
    indent = draw(st.sampled_from([None, 0, 1, 2, 4, "\t"]))
    ascii_only = draw(st.booleans())
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return ("\ufeff" if draw(st.booleans()) else "") + text + draw(st.sampled_from(["", "\n"]))


@st.composite
def matrices(draw: st.DrawFn) -> tuple[list[dict[str, Any]], str]:
    """(the requirements, a matrix text that holds them)."""
    requirements = draw(requirement_lists)
    return requirements, draw(layouts(requirements))


def valid_expected(requirements: list[dict[str, Any]]) -> bool:
    """Whether the loader must accept these requirements (ids and paths all fine)."""
    for item in requirements:
        if item["id"] != item["id"].strip() or not item["id"].strip():
            return False
        for key in ("tests", "code"):
            for entry in item.get(key) or ():
                part = entry.partition("::")[0] if key == "tests" else entry
                clean = posixpath.normpath(part.strip().replace("\\", "/") or ".")
                outside = clean == ".." or clean.startswith(("../", "/"))
                if not entry.strip() or outside or re.match("[A-Za-z]:", clean):
                    return False
    return True


@given(case=matrices())
def test_a_valid_matrix_in_any_layout_loads_as_written(
    root: Path, case: tuple[list[dict[str, Any]], str]
) -> None:
    fuzzkit.ran("matrix: valid, any layout")
    requirements, text = case
    result = loaded(root, text.encode("utf-8"))
    if isinstance(result, UsageError):
        assert not valid_expected(requirements), result.render()
        return
    assert [r.id for r in result.requirements] == [r["id"] for r in requirements]
    for index, req in enumerate(result.requirements):
        assert result.line_of(index) >= 1
        assert req.title == requirements[index].get("title")


@given(text=matrices().flatmap(lambda case: fuzzkit.mutated(case[1])))
def test_a_damaged_matrix_gives_a_matrix_or_a_usage_error(root: Path, text: str) -> None:
    fuzzkit.ran("matrix: mutated text")
    loaded(root, text.encode("utf-8", errors="surrogatepass"))


# -- the in-place update --------------------------------------------------------------


def is_subsequence(small: str, big: str) -> bool:
    chars = iter(big)
    return all(char in chars for char in small)


new_entries = st.lists(
    st.sampled_from(["tests/test_new.py", "src/new.py", "tests/a b.py::t[x]", "é/ü.py"])
    | st.from_regex(r"[a-z]{1,8}(/[a-z_]{1,8}){0,3}\.py", fullmatch=True),
    max_size=3,
    unique=True,
)


@given(case=matrices(), data=st.data())
def test_update_only_inserts_and_keeps_everything_written(
    root: Path, case: tuple[list[dict[str, Any]], str], data: st.DataObject
) -> None:
    fuzzkit.ran("matrix: --update splice")
    requirements, text = case
    matrix = loaded(root, text.encode("utf-8"))
    if isinstance(matrix, UsageError) or not matrix.requirements:
        return
    additions = []
    for req in matrix.requirements:
        tests = tuple(t for t in data.draw(new_entries) if t not in req.tests)
        code = tuple(c for c in data.draw(new_entries) if c not in req.code)
        if tests or code:
            additions.append(matrix_edit.Additions(req, tests, code))
    new_text = matrix_edit.apply(matrix, additions)
    updated = loaded(root, new_text.encode("utf-8"))
    assert isinstance(updated, Matrix), new_text
    had_null = any(key in r and r[key] is None for r in requirements for key in ("tests", "code"))
    if not had_null:  # `null` is replaced by the list; everything else is insertion
        assert is_subsequence(text, new_text)
    added = {a.requirement.id: a for a in additions}
    for old, new in zip(matrix.requirements, updated.requirements, strict=True):
        extra = added.get(old.id)
        assert new.tests == old.tests + (extra.tests if extra else ())
        assert new.code == old.code + (extra.code if extra else ())
        assert (new.id, new.title, new.extra) == (old.id, old.title, old.extra)
    assert updated.extra == matrix.extra


# -- inputs the fuzzing found, kept as plain tests ------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"requirements": [{"id": "R\\ud800"}]}', "lone surrogate"),
        ('[{"id": "R-1", "title": "\\udc00x"}]', "lone surrogate"),
        ('[{"id": "R-1", "x": {"\\ud83d": 1}}]', "a key holds a lone surrogate"),
        ('[{"id": "R-1", "n": ' + "9" * 5000 + "}]", "not a JSON file this tool can read"),
        ("[" * 100_000 + "]" * 100_000, "not a JSON file this tool can read"),
    ],
    ids=["id", "title", "key", "huge-number", "deep-nesting"],
)
def test_json_python_cannot_carry_further_is_a_usage_error(
    tmp_path: Path, text: str, message: str
) -> None:
    result = loaded(tmp_path, text.encode("ascii"))
    assert isinstance(result, UsageError)
    assert message in result.message


def test_a_whole_escaped_character_is_fine(tmp_path: Path) -> None:
    result = loaded(tmp_path, b'[{"id": "R-\\ud83d\\ude00", "title": "\\u00e9"}]')
    assert isinstance(result, Matrix)
    assert result.requirements[0].id == "R-\U0001f600"


def test_pytest_tddgate_with_a_half_character_in_the_matrix_exits_4(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml("[tool.tddgate]\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    (pytester.path / NAME).write_text(
        '{"requirements": [{"id": "R\\ud800", "tests": ["test_a.py"]}]}', encoding="ascii"
    )
    result = pytester.runpytest("--tddgate", "--tddgate-only=traceability")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*traceability_matrix.json:1:*requirements[[]0[]].id*surrogate*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
