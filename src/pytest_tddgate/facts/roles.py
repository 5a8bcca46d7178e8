"""Role rules: `tddgate-roles.yaml` loaded, validated and compiled once per run.

The file says which role may change which files (`owns` / `never`, gitignore-style
globs), who has which role (`members`, by author email) and which role must come
first (`order`). It is read with `yaml.safe_load`; every mistake in it is a
`UsageError` (exit 4) naming the file, the key, the line and the fix, so a broken
rule file can never look like a broken rule.

The role of a commit is decided here too (`role_of`): its `Role:` trailer, else its
author's entry in `members`, else `--tddgate-role` / `TDDGATE_ROLE` / `role` in
pyproject.toml (`option_origin` says which one, for messages). Uncommitted or staged
changes take that role. `writers` says whom a hint should send a change to.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import FactError, UsageError, position
from pytest_tddgate.globs import Globs, compiled
from pytest_tddgate.settings import load_pyproject

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    import yaml

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.history import Commit
    from pytest_tddgate.options import Settings

TOP_KEYS = ("roles", "members", "order")
ROLE_KEYS = ("owns", "never")
ORDER_KEYS = ("before", "after")
OPTION = "--tddgate-role / TDDGATE_ROLE"
# the option has another name in `tddgate check`; a gate cannot tell which command runs it
CLI_OPTION = "--tddgate-role (`tddgate check --role`)"
ENV = "TDDGATE_ROLE"
GUIDE = "docs/gates/roles.md"
_EXAMPLE = 'roles:\n    qa: {owns: ["tests/**"]}\n    backend: {never: ["tests/**"]}'

Key = tuple[str | int, ...]  # a path into the YAML document: ("roles", "qa", "owns", 0)


@dataclass(frozen=True, slots=True)
class Role:
    """One role: `owns` allows (None: everything), `never` denies and wins."""

    name: str
    owns: Globs | None
    never: Globs

    def forbidding_rule(self, path: str) -> tuple[str, str] | None:
        """(finding rule, the rule as written) that forbids changing `path`; None: allowed."""
        if self.never.matches(path):
            return "role-never", f"never: {_deciding_pattern(self.never, path)}"
        if self.owns is not None and not self.owns.matches(path):
            return "role-owns", f"not in owns: {', '.join(self.owns.patterns) or '[]'}"
        return None


@dataclass(frozen=True, slots=True)
class OrderRule:
    """`{before: qa, after: backend}`: backend's code needs a qa test earlier."""

    before: str
    after: str

    def __str__(self) -> str:
        return f"order: {self.before} before {self.after}"


@dataclass(frozen=True, slots=True)
class RoleRules:
    file: str  # as configured, relative to the project root
    roles: Mapping[str, Role]
    members: Mapping[str, str]  # lower-case author email -> role name
    order: tuple[OrderRule, ...] = ()


def writers(rules: RoleRules, path: str, role: str | None = None) -> tuple[str, ...]:
    """The roles a hint should send a change of `path` to; () when `role` may change
    it itself, or when no role may.

    The roles whose `owns` names the path come alone: a role without `owns` may change
    anything outside its `never`, and a fix that sent every change to such a catch-all
    would only teach an agent to relabel its commits. It is named when nobody owns the
    path.
    """
    own = rules.roles.get(role) if role is not None else None
    if own is not None and own.forbidding_rule(path) is None:
        return ()
    allowed = [r for r in rules.roles.values() if r.forbidding_rule(path) is None]
    owners = tuple(r.name for r in allowed if r.owns is not None)
    return owners or tuple(r.name for r in allowed)


def test_writers(facts: Facts, test: str, commit: Commit | None) -> tuple[str, ...]:
    """The roles to ask for `test` (a path relative to the project root) when the role
    of `commit` (None: of the option / environment) may not write it itself; () when it
    may, or when there are no role rules to tell. For the `tdd` gate's fix."""
    # imported here: the guard and `check --staged` load this module on every event,
    # and only this function reads the history (6-8 ms of imports)
    from pytest_tddgate.facts.history import history

    try:
        rules = facts.get(load_roles)
        toplevel = facts.get(history).revisions.toplevel.resolve()
    except (UsageError, FactError):  # the roles gate reports a broken file itself
        return ()
    if rules is None:
        return ()
    option = facts.settings.project.role
    role = role_of(commit, rules, option).name if commit is not None else option
    if role is None or role not in rules.roles:
        return ()  # nobody to compare with: the usual wording is right
    try:
        path = facts.settings.path(test).relative_to(toplevel).as_posix()
    except ValueError:  # pragma: no cover - the project is inside its checkout
        return ()
    return writers(rules, path, role)


@dataclass(frozen=True, slots=True)
class CommitRole:
    """The role a commit was judged under, and where that came from."""

    name: str | None  # None: no trailer, no member entry, no option
    source: str  # "Role: trailer", "members", an `Origin.label`, or "" when unknown
    defined: bool  # False: a trailer names a role the file does not define


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the role of uncommitted changes (and of commits without a trailer or a
    member entry) came from: an error about it must send the user to that place."""

    label: str  # "TDDGATE_ROLE", "`role` in pyproject.toml", CLI_OPTION
    file: str | None = None  # the pyproject file, when the value is written there
    line: int | None = None
    fix: str = ""  # what else to do than defining the role


def option_origin(settings: Settings) -> Origin:
    """Where `settings.project.role` came from: the command line wins over
    `TDDGATE_ROLE`, which wins over pyproject.toml (settings.py resolves it so).

    Settings keep the value, not its source; the environment and the file still
    tell, except when two of them give the same value, where naming either is true.
    """
    value = settings.project.role
    env = os.environ.get(ENV) or None
    if env is not None:
        return Origin(ENV) if env == value else Origin(CLI_OPTION)
    file = settings.config_file
    if file is not None and _pyproject_role(file) == value:
        name = file.name if file.parent == settings.root else str(file)
        return Origin(
            f"`role` in {name}",
            file=name,
            line=_role_line(file),
            fix=f"; or delete the `role =` line and give each person or agent its role with {ENV}",
        )
    return Origin(CLI_OPTION)


def _pyproject_role(file: Path) -> object:
    try:
        return load_pyproject(file.parent)[0].get("role")
    except UsageError:  # pragma: no cover - settings were read from it a moment ago
        return None


def _role_line(file: Path) -> int | None:
    """The line of `role =` under `[tool.tddgate]` (tomllib keeps no positions)."""
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").split("\n")
    except OSError:  # pragma: no cover - read a moment ago
        return None
    table = ""
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[([^\[\]]+)\]", line)
        if header:
            table = header.group(1).replace(" ", "").replace('"', "")
        elif table == "tool.tddgate" and re.match(r"^\s*\"?role\"?\s*=", line):
            return number
    return None


def load_roles(facts: Facts) -> RoleRules | None:
    """The project's role rules, or None when the file does not exist (gate skips)."""
    settings = facts.settings
    name = settings.project.roles
    path = settings.path(name)
    if not path.exists():
        return None
    if not path.is_file():
        raise UsageError(
            "is not a file", file=name, fix="point `roles` in [tool.tddgate] at a YAML file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot be read ({exc})", file=name, fix="save it as UTF-8 text readable by this user"
        ) from None
    return parse_roles(text, name)


def parse_roles(text: str, file: str) -> RoleRules:
    """Validate and compile the text of a role file; raise `UsageError` on any mistake."""
    import yaml  # here, not at the top: only projects with a role file pay for it

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, file) from None
    except RecursionError:
        raise UsageError(
            "is nested too deeply to read",
            file=file,
            fix=f"a role file is three levels deep, e.g.\n  {_EXAMPLE}\n  (see {GUIDE})",
        ) from None
    if data is not None:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), text, file)
    return _Parser(text, file).rules(data)


def check_role_name(rules: RoleRules, settings: Settings) -> None:
    """The role from the command line, the environment or pyproject must be defined;
    the error names the one it came from."""
    name = settings.project.role
    if name is None or name in rules.roles:
        return
    origin = option_origin(settings)
    raise UsageError(
        f"unknown role `{name}`; {did_you_mean(name, rules.roles)}",
        file=origin.file,
        line=origin.line,
        key="[tool.tddgate] role" if origin.file else origin.label,
        fix=f"use one of: {', '.join(rules.roles)} (defined in {rules.file}),"
        f" or add `{name}` under `roles:` there{origin.fix}",
    )


def role_of(
    commit: Commit, rules: RoleRules, option_role: str | None, option_source: str = OPTION
) -> CommitRole:
    """Trailer, else members by author email, else the option / environment role.

    Staged changes carry trailers only when `tddgate check --message-file` gives the
    message of the commit being made (the commit-msg hook): then its `Role:` applies.
    """
    trailer = commit.trailer("Role")
    if trailer:
        return CommitRole(trailer, "Role: trailer", trailer in rules.roles)
    member = None if commit.pseudo else rules.members.get(commit.author_email.lower())
    if member is not None:
        return CommitRole(member, "members", True)
    if option_role:
        return CommitRole(option_role, option_source, option_role in rules.roles)
    return CommitRole(None, "", False)


def did_you_mean(name: str, valid: Sequence[str] | Mapping[str, Any]) -> str:
    same_case = [v for v in valid if v.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"did you mean `{close[0]}`?" if close else f"valid: {', '.join(valid)}"


def _deciding_pattern(globs: Globs, path: str) -> str:
    """The last pattern that matches decides in gitignore semantics; name it."""
    for pattern in reversed(globs.patterns):
        if not pattern.startswith("!") and compiled((pattern,)).matches(path):
            return pattern
    return ", ".join(globs.patterns)  # pragma: no cover - a match has a deciding pattern


def _syntax_error(exc: yaml.YAMLError, text: str, file: str) -> UsageError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    line, column = position(text, mark.index) if mark is not None else (None, None)
    where = f"line {line}, column {column}" if line else "the marked place"
    return UsageError(
        f"not valid YAML ({problem})",
        file=file,
        line=line,
        column=column,
        fix=f"correct the syntax at {where}; the file is YAML, e.g.\n  {_EXAMPLE}\n  (see {GUIDE})",
    )


class _Parser:
    """Checks the loaded document key by key; errors point at the key's line."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def rules(self, data: Any) -> RoleRules:
        if data is None:
            raise UsageError(
                "is empty: it defines no roles",
                file=self.file,
                fix=f"define the roles, e.g.\n  {_EXAMPLE}\n  (see {GUIDE}), "
                "or delete the file to turn the gate off",
            )
        if not isinstance(data, dict):
            raise self.error(
                (),
                f"must be a mapping with the keys {', '.join(TOP_KEYS)}, got {_kind(data)}",
                fix=f"start with\n  {_EXAMPLE}",
            )
        self.known_keys(data, (), TOP_KEYS)
        if "roles" not in data:
            raise self.error((), "has no `roles` key", fix=f"define the roles, e.g.\n  {_EXAMPLE}")
        roles = self.roles(data["roles"])
        return RoleRules(
            self.file,
            roles,
            self.members(data.get("members"), roles),
            self.order(data.get("order"), roles),
        )

    def roles(self, value: Any) -> dict[str, Role]:
        key: Key = ("roles",)
        if not isinstance(value, dict) or not value:
            got = _kind(value) if not isinstance(value, dict) else "an empty mapping"
            raise self.error(
                key,
                f"must be a mapping of role names to their rules, got {got}",
                fix=f"write e.g.\n  {_EXAMPLE}",
            )
        roles: dict[str, Role] = {}
        for name, spec in value.items():
            if not isinstance(name, str) or not name.strip():
                raise self.error(
                    (*key, name),
                    f"a role name must be a word, got {_kind(name)}",
                    at_key=True,
                    fix="name roles like `qa`, `backend`, `dba`",
                )
            roles[name] = self.role(name, {} if spec is None else spec, (*key, name))
        return roles

    def role(self, name: str, spec: Any, key: Key) -> Role:
        if not isinstance(spec, dict):
            raise self.error(
                key,
                f"must be a mapping with `owns` and/or `never`, got {_kind(spec)}",
                fix=f'write e.g. `{name}: {{owns: ["src/**"], never: ["tests/**"]}}`',
            )
        self.known_keys(spec, key, ROLE_KEYS)
        owns = spec.get("owns")
        return Role(
            name,
            None if owns is None else self.globs(owns, (*key, "owns")),
            self.globs(spec.get("never") or [], (*key, "never")),
        )

    def globs(self, value: Any, key: Key) -> Globs:
        example = f'`{key[-1]}: ["src/**", "docs/*.md"]`'
        if not isinstance(value, list):
            raise self.error(
                key,
                f"must be a list of gitignore-style globs, got {_kind(value)}",
                fix=f"write e.g. {example}",
            )
        for index, pattern in enumerate(value):
            if not isinstance(pattern, str) or not pattern.strip():
                raise self.error(
                    (*key, index),
                    f"must be a non-empty glob string, got {_kind(pattern)}",
                    fix=f"write e.g. {example}",
                )
            try:
                compiled((pattern,))
            except (ValueError, re.error) as exc:  # pathspec passes on re's own errors
                raise self.error(
                    (*key, index),
                    f"is not a valid gitignore-style glob ({exc})",
                    fix="write a glob such as `tests/**`, `*.sql` or `docs/*.md`",
                ) from None
        return compiled(tuple(value))

    def members(self, value: Any, roles: Mapping[str, Role]) -> dict[str, str]:
        key: Key = ("members",)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(
                key,
                f"must be a mapping of author email to role, got {_kind(value)}",
                fix='write e.g. `members: {"alice@example.com": qa}`',
            )
        members: dict[str, str] = {}
        for email, role in value.items():
            if not isinstance(email, str) or "@" not in email:
                raise self.error(
                    (*key, email),
                    f"must be an author email, got {_kind(email)} {email!r}",
                    at_key=True,
                    fix="use the email git records (`git log --format=%ae`)",
                )
            self.role_name(role, (*key, email), roles)
            members[email.strip().lower()] = role
        return members

    def order(self, value: Any, roles: Mapping[str, Role]) -> tuple[OrderRule, ...]:
        key: Key = ("order",)
        example = "write e.g. `order: [{before: qa, after: backend}]`"
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error(
                key, f"must be a list of {{before, after}} rules, got {_kind(value)}", fix=example
            )
        rules = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(
                    (*key, index),
                    f"must be a mapping with `before` and `after`, got {_kind(item)}",
                    fix=example,
                )
            self.known_keys(item, (*key, index), ORDER_KEYS)
            for needed in ORDER_KEYS:
                if needed not in item:
                    raise self.error((*key, index), f"has no `{needed}` role", fix=example)
                self.role_name(item[needed], (*key, index, needed), roles)
            if item["before"] == item["after"]:
                raise self.error(
                    (*key, index),
                    f"`before` and `after` are both `{item['before']}`",
                    fix="name two different roles",
                )
            rules.append(OrderRule(item["before"], item["after"]))
        return tuple(rules)

    def role_name(self, value: Any, key: Key, roles: Mapping[str, Role]) -> None:
        if not isinstance(value, str):
            raise self.error(
                key,
                f"must be a role name, got {_kind(value)}",
                fix=f"use one of: {', '.join(roles)}",
            )
        if value not in roles:
            raise self.error(
                key,
                f"unknown role `{value}`; {did_you_mean(value, roles)}",
                fix=f"use one of: {', '.join(roles)}, or define `{value}` under `roles:`",
            )

    def known_keys(self, data: Mapping[Any, Any], key: Key, valid: Sequence[str]) -> None:
        for name in data:
            if name not in valid:
                raise self.error(
                    (*key, name),
                    f"unknown key `{name}`; {did_you_mean(str(name), valid)}",
                    at_key=True,
                    fix=f"use only: {', '.join(valid)}",
                )

    def error(self, key: Key, message: str, *, fix: str, at_key: bool = False) -> UsageError:
        line, column = _locate(self.text, key, at_key=at_key)
        return UsageError(
            message, file=self.file, key=_dotted(key) or None, line=line, column=column, fix=fix
        )


def _locate(text: str, key: Key, *, at_key: bool) -> tuple[int | None, int | None]:
    """Line and column of `key` in the document, found only when reporting an error.

    The data comes from `yaml.safe_load`, which keeps no positions; composing the node
    tree (no objects are constructed, so it is as safe) recovers them.
    """
    import yaml  # here, not at the top: only projects with a role file pay for it

    if not key:
        return None, None
    node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    mark = None
    for depth, part in enumerate(key, start=1):
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            mark = pair[0].start_mark
            node = pair[1]
            if not (at_key and depth == len(key)):
                mark = node.start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
    return position(text, mark.index) if mark is not None else (None, None)


def _reject_duplicate_keys(root: Any, text: str, file: str) -> None:
    """YAML keeps the last of two equal keys; a role defined twice must not lose rules.

    Walks the node tree without recursion and visits each node once: an alias points
    at its anchor's node, so a document of nested aliases (a "billion laughs") or an
    alias inside its own anchor costs one visit per node, not one per path.
    """
    import yaml  # here, not at the top: only projects with a role file pay for it

    found: list[tuple[Any, str, Key, Any]] = []  # (mark, name, key, mark of the first)
    seen: set[int] = set()
    stack: list[tuple[Any, Key]] = [(root, ())]
    while stack:
        node, key = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*key, index)) for index, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, Any] = {}
            for name_node, value in node.value:
                name = str(name_node.value)
                if name in first:
                    found.append((name_node.start_mark, name, key, first[name]))
                else:
                    first[name] = name_node.start_mark
                stack.append((value, (*key, name)))
    if found:  # the first one in the document, as a reader meets it
        mark, name, key, first_mark = min(found, key=lambda f: f[0].index)
        line, column = position(text, mark.index)
        raise UsageError(
            f"`{name}` appears twice (first on line {position(text, first_mark.index)[0]}); "
            "YAML would silently keep only the last one",
            file=file,
            key=_dotted((*key, name)),
            line=line,
            column=column,
            fix="merge the two entries into one",
        )


def _dotted(key: Key) -> str:
    """`roles.qa.owns[0]`; keys with dots or `@` (emails) are quoted."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part and all(c.isalnum() or c in "_-" for c in part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]' if isinstance(part, str) else f"[{part!r}]"
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    names = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }
    return names.get(type(value), type(value).__name__)
