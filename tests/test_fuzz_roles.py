"""Fuzzing the role file (tddgate-roles.yaml): any text is `RoleRules` or exit 4.

Inputs: YAML dumped from arbitrary values (so every type lands under every key),
near-valid rule files with a person's mistakes, raw text, and the hostile classics:
deep nesting, self-referencing and exponential aliases, object-constructing tags.
`parse_roles` returns rules whose globs all compile, or raises `UsageError` naming
the file (and a line inside it where it gives one); never another exception, never
a hang.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts.roles import RoleRules, parse_roles
from tests import fuzzkit

FILE = "tddgate-roles.yaml"
VALID = """\
roles:
  qa: {owns: ["tests/**"]}
  backend:
    owns: ["src/**", "*.sql"]
    never: ["tests/**", "migrations/**"]
  dba: {owns: ["migrations/**"]}
members: {"alice@example.com": qa, "bob@example.com": backend}
order: [{before: qa, after: backend}]
"""
LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    + ["roles: {qa: {owns: *a9}}"]
)


def parsed(text: str) -> RoleRules | UsageError:
    try:
        rules = parse_roles(text, FILE)
    except UsageError as exc:
        rendered = exc.render()
        assert rendered.startswith(FILE), rendered
        if exc.line is not None:
            assert 1 <= exc.line <= text.count("\n") + 2, (exc.line, text)
        fuzzkit.outcome(f"usage error: {' '.join(exc.message.split()[:3])}")
        return exc
    for role in rules.roles.values():
        for globs in (role.owns, role.never):
            if globs is not None:
                globs.matches("src/a.py")
    fuzzkit.outcome("rules")
    return rules


@given(text=fuzzkit.odd_text(max_size=200))
@example(text="[" * 10_000)
@example(text="a: " + "[" * 10_000)
@example(text="roles: &r {qa: {owns: *r}}")
@example(text="roles: &r [*r]")
@example(text=LAUGHS)
@example(text="roles: !!python/object/apply:os.system ['echo hacked']")
@example(text="roles: {qa: {owns: ['[z-a]']}}")
@example(text="roles: {qa: {owns: ['\\\\']}}")
@example(text="? [a, b]\n: c\n")
@example(text="roles: {qa: {owns: !!set {a: null}}}")
@example(text="roles: {qa: {owns: [!!binary aGk=]}}")
def test_any_text_gives_rules_or_a_usage_error(text: str) -> None:
    fuzzkit.ran("roles: any text")
    parsed(text)


yaml_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    fuzzkit.odd_text(max_size=15),
    st.sampled_from(["qa", "backend", "dba", "tests/**", "src/**", "[z-a]", "\\", "a@b.c"]),
)
yaml_values = st.recursive(
    yaml_leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["roles", "members", "order", "owns", "never", "before", "after", "qa"])
            | fuzzkit.odd_text(max_size=8),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A role file's shape with anything in its places."""
    role = (
        st.fixed_dictionaries({}, optional={"owns": yaml_values, "never": yaml_values})
        | yaml_values
    )
    return draw(
        st.fixed_dictionaries(
            {},
            optional={
                "roles": st.dictionaries(
                    st.sampled_from(["qa", "backend", "dba"]) | yaml_leaves, role, max_size=3
                )
                | yaml_values,
                "members": st.dictionaries(
                    st.sampled_from(["alice@example.com", "bob"]) | yaml_leaves,
                    st.sampled_from(["qa", "backend", "nobody"]) | yaml_values,
                    max_size=3,
                )
                | yaml_values,
                "order": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "before": st.sampled_from(["qa", "dba"]) | yaml_values,
                            "after": st.sampled_from(["backend", "qa"]) | yaml_values,
                        },
                    )
                    | yaml_values,
                    max_size=3,
                )
                | yaml_values,
                "extra": yaml_values,
            },
        )
        | yaml_values
    )


@given(doc=documents(), flow=st.booleans())
def test_any_document_gives_rules_or_a_usage_error(doc: Any, flow: bool) -> None:
    fuzzkit.ran("roles: any document")
    try:
        text = yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True)
    except yaml.YAMLError:  # keys PyYAML cannot write
        return
    parsed(text)


@given(text=fuzzkit.mutated(VALID))
@example(text="\x85roles\x85:")  # found by fuzzing: the error said line 3 of a 1-line file
def test_a_half_edited_role_file_gives_rules_or_a_usage_error(text: str) -> None:
    fuzzkit.ran("roles: mutated file")
    parsed(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("\x85roles\x85:", "1:8"),  # a syntax error
        ("roles:\u2028  qa: {owns: 5}\n", "1:21"),  # a wrong value, located by key
        ("roles: {}\u2029roles: {}\n", "1:11"),  # a duplicate key
    ],
)
def test_error_positions_count_only_newlines_as_line_breaks(text: str, where: str) -> None:
    """Found by fuzzing: PyYAML also breaks lines at NEL, U+2028 and U+2029, which
    editors and git show inside a line, so errors named lines the file does not have."""
    with pytest.raises(UsageError) as caught:
        parse_roles(text, FILE)

    assert caught.value.render().startswith(f"{FILE}:{where}: "), caught.value.render()


def test_the_valid_example_is_valid() -> None:
    rules = parsed(VALID)
    assert isinstance(rules, RoleRules)
    assert list(rules.roles) == ["qa", "backend", "dba"]


@pytest.mark.parametrize(
    "text",
    ["roles: &r {qa: {owns: *r}}", "roles: &r [*r]", LAUGHS, "a: " + "[" * 10_000],
    ids=["self-alias-map", "self-alias-list", "billion-laughs", "deep"],
)
def test_hostile_yaml_is_a_usage_error_quickly(text: str) -> None:
    assert isinstance(parsed(text), UsageError)
