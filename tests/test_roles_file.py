"""The role file: every mistake is a UsageError naming the file, the key, the line and
the fix (the same errors exit 4 through pytest: see test_roles_plugin.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.roles import load_roles, parse_roles, writers
from pytest_tddgate.settings import resolve
from tests.rolerepo import RULES

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

FILE = "tddgate-roles.yaml"


def error(text: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse_roles(text, FILE)
    return caught.value


def test_the_documented_example_loads() -> None:
    rules = parse_roles(RULES, FILE)

    assert list(rules.roles) == ["qa", "backend", "dba"]
    assert rules.members["bob@example.com"] == "backend"
    assert [str(rule) for rule in rules.order] == ["order: qa before backend"]
    backend = rules.roles["backend"]
    assert backend.forbidding_rule("tests/test_x.py") == ("role-never", "never: tests/**")
    assert backend.forbidding_rule("db/schema.sql") is None  # `*.sql` matches at any depth
    assert backend.forbidding_rule("README.md") == ("role-owns", "not in owns: src/**, *.sql")
    assert writers(rules, "migrations/0002.sql") == ("dba",)


def test_the_deciding_never_pattern_is_named() -> None:
    rules = parse_roles("roles:\n  dev: {never: ['docs/**', '*.lock']}\n", FILE)

    assert rules.roles["dev"].forbidding_rule("poetry.lock") == ("role-never", "never: *.lock")


def test_an_empty_owns_list_allows_nothing() -> None:
    rules = parse_roles("roles:\n  reviewer: {owns: []}\n", FILE)

    assert rules.roles["reviewer"].forbidding_rule("src/a.py") == ("role-owns", "not in owns: []")


def test_a_syntax_error_names_line_and_column() -> None:
    exc = error("roles:\n  qa: {owns: [tests/**]\n  backend: {}\n")

    assert (exc.file, exc.line, exc.column) == (FILE, 3, 3)
    assert exc.render().startswith(
        f"{FILE}:3:3: not valid YAML (expected ',' or '}}', but got '<scalar>')\n"
        "  fix: correct the syntax at line 3, column 3; the file is YAML, e.g."
    )


def test_a_tab_is_a_syntax_error_with_its_position() -> None:
    exc = error("roles:\n\tqa: {}\n")

    assert (exc.line, exc.column) == (2, 1)
    assert "found character '\\t' that cannot start any token" in exc.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "roles:\n  qa: {}\nmember: {}\n",
            f"{FILE}:3:1: member: unknown key `member`; did you mean `members`?\n"
            "  fix: use only: roles, members, order",
            id="unknown-top-key",
        ),
        pytest.param(
            "roles:\n  qa:\n    own: ['tests/**']\n",
            f"{FILE}:3:5: roles.qa.own: unknown key `own`; did you mean `owns`?\n"
            "  fix: use only: owns, never",
            id="unknown-role-key",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  b: {}\norder: [{before: qa, after: b, strict: true}]\n",
            f"{FILE}:4:32: order[0].strict: unknown key `strict`; valid: before, after\n"
            "  fix: use only: before, after",
            id="unknown-order-key",
        ),
        pytest.param(
            "roles:\n  qa:\n    owns: 'tests/**'\n",
            f"{FILE}:3:11: roles.qa.owns: must be a list of gitignore-style globs, got a "
            'string\n  fix: write e.g. `owns: ["src/**", "docs/*.md"]`',
            id="owns-not-a-list",
        ),
        pytest.param(
            "roles:\n  qa:\n    never: ['tests/**', 3]\n",
            f"{FILE}:3:25: roles.qa.never[1]: must be a non-empty glob string, got a number\n"
            '  fix: write e.g. `never: ["src/**", "docs/*.md"]`',
            id="glob-not-a-string",
        ),
        pytest.param(
            "roles:\n  qa: [tests]\n",
            f"{FILE}:2:7: roles.qa: must be a mapping with `owns` and/or `never`, got a list\n"
            '  fix: write e.g. `qa: {owns: ["src/**"], never: ["tests/**"]}`',
            id="role-not-a-mapping",
        ),
        pytest.param(
            "roles:\n  1: {}\n",
            f"{FILE}:2:3: roles[1]: a role name must be a word, got a number\n"
            "  fix: name roles like `qa`, `backend`, `dba`",
            id="role-name-not-a-string",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  backend: {}\nmembers:\n  'a@x.com': backnd\n",
            f'{FILE}:5:14: members["a@x.com"]: unknown role `backnd`; did you mean '
            "`backend`?\n  fix: use one of: qa, backend, or define `backnd` under `roles:`",
            id="unknown-role-in-members",
        ),
        pytest.param(
            "roles:\n  qa: {}\nmembers: {alice: qa}\n",
            f"{FILE}:3:11: members.alice: must be an author email, got a string 'alice'\n"
            "  fix: use the email git records (`git log --format=%ae`)",
            id="member-not-an-email",
        ),
        pytest.param(
            "roles:\n  qa: {}\nmembers: ['a@x.com']\n",
            f"{FILE}:3:10: members: must be a mapping of author email to role, got a list\n"
            '  fix: write e.g. `members: {"alice@example.com": qa}`',
            id="members-not-a-mapping",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  backend: {}\norder:\n  - {before: qa, after: backnd}\n",
            f"{FILE}:5:25: order[0].after: unknown role `backnd`; did you mean `backend`?\n"
            "  fix: use one of: qa, backend, or define `backnd` under `roles:`",
            id="unknown-role-in-order",
        ),
        pytest.param(
            "roles:\n  qa: {}\norder: [{before: qa}]\n",
            f"{FILE}:3:9: order[0]: has no `after` role\n"
            "  fix: write e.g. `order: [{before: qa, after: backend}]`",
            id="order-without-after",
        ),
        pytest.param(
            "roles:\n  qa: {}\norder: [{before: qa, after: qa}]\n",
            f"{FILE}:3:9: order[0]: `before` and `after` are both `qa`\n"
            "  fix: name two different roles",
            id="order-same-role",
        ),
        pytest.param(
            "roles:\n  qa: {}\norder: {before: qa}\n",
            f"{FILE}:3:8: order: must be a list of {{before, after}} rules, got a mapping\n"
            "  fix: write e.g. `order: [{before: qa, after: backend}]`",
            id="order-not-a-list",
        ),
        pytest.param(
            "roles:\n  qa: {owns: ['!']}\n",
            f"{FILE}:2:15: roles.qa.owns[0]: is not a valid gitignore-style glob (Invalid git "
            "pattern: '!')\n  fix: write a glob such as `tests/**`, `*.sql` or `docs/*.md`",
            id="invalid-glob",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  qa: {owns: []}\n",
            f"{FILE}:3:3: roles.qa: `qa` appears twice (first on line 2); YAML would silently "
            "keep only the last one\n  fix: merge the two entries into one",
            id="duplicate-role",
        ),
    ],
)
def test_a_mistake_names_file_line_key_and_fix(text: str, expected: str) -> None:
    assert error(text).render() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty: it defines no roles"),
        ("# roles come later\n", "is empty: it defines no roles"),
        ("- qa\n", "must be a mapping with the keys roles, members, order, got a list"),
        ("members: {}\n", "has no `roles` key"),
        ("roles: {}\n", "must be a mapping of role names to their rules, got an empty mapping"),
    ],
)
def test_a_file_without_roles_is_a_usage_error(text: str, message: str) -> None:
    exc = error(text)

    assert exc.message == message
    assert exc.file == FILE
    assert exc.fix is not None and 'qa: {owns: ["tests/**"]}' in exc.fix


def test_load_roles_returns_none_when_the_file_is_missing(repo: GitRepo) -> None:
    assert Facts(resolve(repo.path, environ={})).get(load_roles) is None


def test_load_roles_reads_the_configured_file_once(repo: GitRepo) -> None:
    repo.write("pyproject.toml", '[tool.tddgate]\nroles = "ci/roles.yaml"\n')
    repo.write("ci/roles.yaml", RULES)
    facts = Facts(resolve(repo.path, environ={}))

    rules = facts.get(load_roles)
    (repo.path / "ci/roles.yaml").write_text("broken: [", encoding="utf-8")

    assert rules is not None and rules.file == "ci/roles.yaml"
    assert facts.get(load_roles) is rules  # cached: parsed once per run


def test_a_folder_in_place_of_the_role_file_is_a_usage_error(repo: GitRepo) -> None:
    (repo.path / FILE).mkdir()

    with pytest.raises(UsageError) as caught:
        Facts(resolve(repo.path, environ={})).get(load_roles)

    assert caught.value.render() == (
        f"{FILE}: is not a file\n  fix: point `roles` in [tool.tddgate] at a YAML file"
    )


def test_a_role_file_that_is_not_utf8_is_a_usage_error(repo: GitRepo) -> None:
    (repo.path / FILE).write_bytes(b"roles:\n  q\xe4: {}\n")

    with pytest.raises(UsageError) as caught:
        Facts(resolve(repo.path, environ={})).get(load_roles)

    assert caught.value.message.startswith("cannot be read (")
    assert caught.value.fix == "save it as UTF-8 text readable by this user"
