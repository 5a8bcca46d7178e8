"""Does a new version of a Python file add behaviour to the old one? Read with `ast`,
never run.

An edit adds no behaviour when (checked in this order):

1. the behaviour fingerprints are equal (facts/behaviour.py: docstrings, comments,
   formatting, import order, `# pragma: no cover` code, `if TYPE_CHECKING:` and
   unread annotations set aside);
2. it is a rename: the two versions are equal once every name is replaced by the
   order in which it first appears;
3. it is a move or a deletion: every statement of the new version (a `def`, a `class`,
   an `if`, an assignment..., each judged without the statements nested in it) is a
   statement of the old version, as many times.

Anything else adds behaviour, and `added` names the first new statement: "a new
function `parse`", "a new branch (line 12)", "a new statement (line 7)".
A version that does not parse adds behaviour (it would fail at import), unless the
old one did not parse either and nothing else can be told.
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter

from pytest_tddgate.facts.behaviour import DEFAULT_EXCLUDE, Fingerprints

_BRANCHES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith)
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
# no behaviour of their own: an import is judged where its names are used
_INERT = (ast.Pass, ast.Import, ast.ImportFrom)


def added(old: str | None, new: str) -> str | None:
    """What `new` adds to `old` (None: `old` does not exist), or None when it adds no
    behaviour. `old` and `new` are the file's text."""
    new_tree = _parse(new)
    if new_tree is None:
        return "code that does not parse (it would fail at import)"
    old_tree = _parse(old) if old is not None else ast.parse("")
    if old_tree is None:
        old_tree = ast.parse("")
    if old is not None and _same_fingerprint(old, new):
        return None
    if _renamed(old_tree) == _renamed(new_tree):
        return None
    have = Counter(_shapes(old_tree))
    for statement, shape in _shaped(new_tree):
        if have[shape] > 0:
            have[shape] -= 1
            continue
        return _describe(statement)
    return None


def _parse(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning of an invalid escape
            return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _same_fingerprint(old: str, new: str) -> bool:
    prints = Fingerprints(DEFAULT_EXCLUDE)
    try:
        before, after = prints.of(old.encode()), prints.of(new.encode())
        return before is not None and after is not None and prints.same(before, after)
    except (RecursionError, ValueError):  # a fingerprint cannot be told: compare shapes
        return False


def _renamed(tree: ast.Module) -> str:
    """The tree with docstrings dropped and every identifier numbered by first use."""
    names: dict[str, str] = {}

    def canonical(name: str) -> str:
        return names.setdefault(name, f"n{len(names)}")

    tree = _without_docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            node.id = canonical(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            node.name = canonical(node.name)
        elif isinstance(node, ast.arg):
            node.arg = canonical(node.arg)
        elif isinstance(node, ast.Attribute):
            node.attr = canonical(node.attr)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            node.arg = canonical(node.arg)
    return ast.dump(tree)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    copy = ast.parse(ast.unparse(tree))
    for node in ast.walk(copy):
        for name in _BODIES:
            body = getattr(node, name, None)
            if isinstance(body, list):
                kept = [s for s in body if not _bare_string(s)]
                setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
    return copy


def _bare_string(statement: object) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _shaped(tree: ast.Module) -> list[tuple[ast.stmt, str]]:
    """Every statement at any depth, with its shape: the statement without the
    statements nested in it (bare strings, `pass` and imports are no behaviour)."""
    found: list[tuple[ast.stmt, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or _bare_string(node) or isinstance(node, _INERT):
            continue
        found.append((node, _shape(node)))
    return found


def _shapes(tree: ast.Module) -> list[str]:
    return [shape for _, shape in _shaped(tree)]


def _shape(statement: ast.stmt) -> str:
    fields = []
    for name, value in ast.iter_fields(statement):
        if name in _BODIES:
            continue
        if isinstance(value, list):
            fields.append(f"{name}=[{', '.join(_dump(v) for v in value)}]")
        else:
            fields.append(f"{name}={_dump(value)}")
    return f"{type(statement).__name__}({', '.join(fields)})"


def _dump(value: object) -> str:
    return ast.dump(value) if isinstance(value, ast.AST) else repr(value)


def _describe(statement: ast.stmt) -> str:
    line = getattr(statement, "lineno", 0)
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"a new function `{statement.name}` (line {line})"
    if isinstance(statement, ast.ClassDef):
        return f"a new class `{statement.name}` (line {line})"
    if isinstance(statement, (*_BRANCHES, ast.Match)):
        return f"a new branch (line {line})"
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return f"a new import (line {line})"
    return f"a new statement (line {line})"
