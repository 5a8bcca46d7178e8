"""Fuzzing `[tool.tddgate]`: any TOML under the table ends in Settings or exit 4.

Three kinds of input: generated tables (known keys with values of every TOML type,
unknown keys, nested gate sections, waivers), mutations of a valid pyproject.toml
(what a half-finished edit looks like), and path options aimed outside the project.
Whatever the input, `resolve` returns `Settings` whose paths stay in the project, or
raises `UsageError` naming pyproject.toml; nothing else escapes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tddgate.errors import UsageError
from pytest_tddgate.settings import GATE_SECTIONS, ProjectOptions, Settings, resolve
from tests import fuzzkit

PROJECT_KEYS = [f.name for f in dataclasses.fields(ProjectOptions)]
PATH_KEYS = [f.name for f in dataclasses.fields(ProjectOptions) if f.metadata["path"]]
WAIVER_KEYS = ["gate", "path", "rule", "reason", "owner", "expires"]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

VALID = """\
[project]
name = "demo"

[tool.tddgate]
source = ["src"]
matrix = "docs/traceability_matrix.json"
only = ["tests", "ruff"]

[tool.tddgate.gates.coverage]
total = 85
new = 90.5
scope = "changed"

[tool.tddgate.gates.tdd]
mode = "red-green"
exempt = ["src/gen/**"]

[[tool.tddgate.waivers]]
gate = "ruff"
path = "src/legacy/**"
reason = "old code"
owner = "alice"
expires = 2030-01-31
"""


@pytest.fixture(scope="module")
def project() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name) / "project"
        (root / "src").mkdir(parents=True)
        yield root


# -- a TOML writer for generated values (tomllib only reads) -------------------------


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def pyproject(table: dict[str, Any]) -> str:
    lines = ["[tool.tddgate]"]
    lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# -- strategies ------------------------------------------------------------------------

offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
toml_leaves = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    fuzzkit.odd_text(),
    st.dates(),
    st.datetimes(timezones=st.none() | offsets),
    st.times(),
    st.sampled_from(["order", "red-green", "all", "changed", "src", "tests/**", "", ".."]),
)
toml_values = st.recursive(
    toml_leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(fuzzkit.odd_text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def kind_values(f: dataclasses.Field[Any]) -> Any:
    """Values of the option's own kind (mostly valid), or of any TOML type."""
    meta = f.metadata
    right = {
        "bool": st.booleans(),
        "int": st.integers(-(2**63), 2**63 - 1),
        "float": st.floats() | st.integers(-1000, 1000),
        "str": st.sampled_from(meta["choices"] or ("x",)) | fuzzkit.odd_text(),
        "strs": st.lists(
            fuzzkit.odd_text(max_size=12) | st.sampled_from(list(GATE_SECTIONS)), max_size=4
        ),
    }[meta["kind"]]
    return st.one_of(right, right, toml_values)


def table_of(fields: list[dataclasses.Field[Any]], *, unknown: int = 1) -> Any:
    """A table of known keys with values mostly of their kind, and a few unknown keys."""
    known = st.fixed_dictionaries({}, optional={f.name: kind_values(f) for f in fields})
    strangers = st.dictionaries(fuzzkit.odd_text(max_size=8), toml_values, max_size=unknown)
    return st.tuples(known, st.just({}) | strangers).map(lambda pair: {**pair[1], **pair[0]})


def section_of(gate: str) -> Any:
    return table_of(list(dataclasses.fields(GATE_SECTIONS.get(gate, GATE_SECTIONS["tests"]))))


gate_names = st.sampled_from([*GATE_SECTIONS, "tdd "]) | fuzzkit.odd_text(max_size=8)
gates = st.one_of(
    toml_values,
    st.lists(gate_names, max_size=3, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: section_of(name) for name in names})
    ),
)
waiver = st.fixed_dictionaries(
    {},
    optional={
        "gate": st.sampled_from(list(GATE_SECTIONS)) | toml_values,
        "path": st.sampled_from(["src/**", "*.py", "[z-a]", "\\", "a[", ""]) | toml_values,
        "rule": fuzzkit.odd_text(),
        "reason": fuzzkit.odd_text(),
        "owner": fuzzkit.odd_text(),
        "expires": st.dates() | toml_values,
    },
)
waivers = st.one_of(
    toml_values,
    st.lists(
        st.tuples(
            waiver,
            st.just({}) | st.dictionaries(fuzzkit.odd_text(max_size=6), toml_values, max_size=1),
        ).map(lambda pair: {**pair[1], **pair[0]}),
        max_size=3,
    ),
)
_tables = st.tuples(
    table_of(list(dataclasses.fields(ProjectOptions))),
    st.fixed_dictionaries({}, optional={"gates": gates, "waivers": waivers}),
).map(lambda pair: {**pair[0], **pair[1]})


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    """A `[tool.tddgate]` table (composite: a short repr for Hypothesis' reports)."""
    return draw(_tables)


def resolved(root: Path, text: str) -> Settings | UsageError:
    """Settings, or the UsageError, after checking everything the user would see."""
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    try:
        settings = resolve(root, environ={})
    except UsageError as exc:
        rendered = exc.render()
        assert "pyproject.toml" in rendered, rendered
        assert exc.key is None or exc.key.startswith("[tool.tddgate]"), exc.key
        if exc.line is not None:
            assert 1 <= exc.line <= text.count("\n") + 1, (exc.line, text)
        fuzzkit.outcome(f"usage error: {re.split(r'[`,(]', exc.message)[0][:30]}")
        return exc
    fuzzkit.outcome("settings")
    assert_inside(settings)
    return settings


def assert_inside(settings: Settings) -> None:
    for key in PATH_KEYS:
        value = getattr(settings.project, key)
        if value is not None:
            assert settings.path(value).is_relative_to(settings.root), (key, value)


# -- targets ---------------------------------------------------------------------------


@given(table=tables())
def test_any_table_gives_settings_or_a_usage_error(project: Path, table: dict[str, Any]) -> None:
    fuzzkit.ran("settings: generated tables")
    resolved(project, pyproject(table))


@given(text=fuzzkit.mutated(VALID))
@example(text="\r\x00")  # found by the long run: the error named line 2 of a 1-line file
def test_a_half_edited_pyproject_gives_settings_or_a_usage_error(project: Path, text: str) -> None:
    fuzzkit.ran("settings: mutated pyproject.toml")
    resolved(project, text)


path_parts = st.sampled_from(["..", ".", "", "a", "src", "~", "/", "\\", "..\\..", "\x00", "C:"])
path_values = st.lists(path_parts, min_size=1, max_size=6).map("/".join) | fuzzkit.odd_text()


@given(key=st.sampled_from(PATH_KEYS), value=path_values)
def test_path_options_never_point_outside_the_project(project: Path, key: str, value: str) -> None:
    fuzzkit.ran("settings: path options")
    outcome = resolved(project, pyproject({key: value}))
    if isinstance(outcome, UsageError):
        assert outcome.key == f"[tool.tddgate] {key}", outcome.render()


def test_a_lone_carriage_return_is_invalid_toml_as_for_every_other_tool(project: Path) -> None:
    """TOML ends lines with LF or CRLF only; pip and tomllib.load reject a lone CR.
    Reading the file with Python's universal newlines turned it into LF, so the gate
    accepted a file the other tools refuse and counted lines differently from them."""
    (project / "pyproject.toml").write_bytes(b'[tool.tddgate]\rsource = ["src"]\n')

    with pytest.raises(UsageError) as caught:
        resolve(project, environ={})

    assert caught.value.render().startswith(f"{project / 'pyproject.toml'}:1:15: not valid TOML")


def test_crlf_line_endings_are_valid_toml(project: Path) -> None:
    (project / "pyproject.toml").write_bytes(b'[tool.tddgate]\r\nsource = ["lib"]\r\n')

    assert resolve(project, environ={}).source_roots == ("lib",)


def test_the_valid_example_is_valid(project: Path) -> None:
    """The seed of the mutations must itself pass, or the mutations prove little."""
    settings = resolved(project, VALID)
    assert isinstance(settings, Settings)
    assert settings.coverage.scope == "changed"
    assert settings.waivers[0].expires == "2030-01-31"
