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
   statement of the old version, as many times;
4. it extracts a function: the only new statements are new functions holding moved
   statements, each called by exactly one new statement.

Anything else adds behaviour, and `added` names the first new statement: "a new
function `parse`", "a new branch (line 12)", "a new statement (line 7)".
A version that does not parse adds behaviour (it would fail at import), unless the
old one did not parse either and nothing else can be told.
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter

_BRANCHES = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith)
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")
# no behaviour of their own: an import is judged where its names are used
_INERT = (ast.Pass, ast.Import, ast.ImportFrom)


def added(old: str | None, new: str) -> str | None:
    """What `new` adds to `old` (None: `old` does not exist), or None when it adds no
    behaviour. `old` and `new` are the file's text.

    Only the part that differs is read (facts/behaviour.py's `region`: whole
    top-level statements around the change), so an edit costs its size, not the
    file's."""
    new_tree = _parse(new)
    if new_tree is None:
        return "code that does not parse (it would fail at import)"
    if old is None:
        return _added(ast.parse(""), new_tree, "", new, 0)
    part = _region(old, new)
    if part is not None:
        old_part, new_part, offset = part
        old_tree, new_part_tree = _parse(old_part), _parse(new_part)
        if old_tree is not None and new_part_tree is not None:
            return _added(old_tree, new_part_tree, old_part, new_part, offset)
    return _added(_parse(old) or ast.parse(""), new_tree, old, new, 0)


def _region(old: str, new: str) -> tuple[str, str, int] | None:
    """The differing parts and the line the new one starts after; None: everything."""
    from pytest_tddgate.facts.behaviour import region

    old_bytes, new_bytes = _bytes(old), _bytes(new)
    pair = region(old_bytes, new_bytes)
    if pair is None:
        return None
    old_part, new_part = pair
    position = new_bytes.find(new_part)
    while position >= 0:  # the occurrence after the lines both versions share
        if old_bytes.startswith(new_bytes[:position]) and old_bytes[position:].startswith(old_part):
            offset = new_bytes.count(b"\n", 0, position)
            return _text(old_part), _text(new_part), offset
        position = new_bytes.find(new_part, position + 1)
    return None


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def _added(
    old_tree: ast.Module, new_tree: ast.Module, old: str, new: str, offset: int
) -> str | None:
    # the cheapest test first: a move or a deletion leaves no statement new
    have = Counter(_shapes(old_tree))
    fresh = []
    for statement, shape in _shaped(new_tree):
        if have[shape] > 0:
            have[shape] -= 1
        else:
            fresh.append(statement)
    if not fresh:
        return None
    said = _describe(fresh[0], offset)
    if old and _same_fingerprint(old, new):
        return None
    # a rename keeps the tree's shape: only trees of the same size are compared
    if _size(old_tree) == _size(new_tree) and _renamed(old_tree) == _renamed(new_tree):
        return None
    return None if _extracted(fresh, old_tree) else said


def _extracted(fresh: list[ast.stmt], old_tree: ast.Module) -> bool:
    """An extract-function refactor: the only new statements are new functions whose
    bodies hold statements the old version had (moved there, not copied), and one
    statement calling each of them (where those statements were)."""
    known = {n.name for n in ast.walk(old_tree) if isinstance(n, _DEFINITIONS)}
    defs = [s for s in fresh if isinstance(s, _FUNCTIONS) and s.name not in known]
    if not defs:
        return False
    new_ids = {id(s) for s in fresh}
    for function in defs:
        moved = [n for n in ast.walk(function) if isinstance(n, ast.stmt) and n is not function]
        if not moved or any(id(n) in new_ids for n in moved):
            return False
    names = {f.name for f in defs}
    calls: Counter[str] = Counter()
    for statement in fresh:
        if statement in defs:
            continue
        called = {name for node in _own_nodes(statement) if (name := _called(node)) in names}
        if not called:
            return False
        calls.update(called)
    return all(calls[name] == 1 for name in names)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _own_nodes(statement: ast.stmt) -> list[ast.AST]:
    """The nodes of a statement's own expressions, not of the statements in it."""
    found: list[ast.AST] = []
    for name, value in ast.iter_fields(statement):
        if name in _BODIES:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast.AST):
                found += ast.walk(item)
    return found


def _called(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _size(tree: ast.Module) -> int:
    return sum(1 for _ in ast.walk(tree))


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
    # the project's own coverage exclusions are not read: that would import coverage.py
    # on the edit path; the default `# pragma: no cover` is
    from pytest_tddgate.facts.behaviour import Fingerprints
    from pytest_tddgate.facts.behaviour_cache import DEFAULT_EXCLUDE

    prints = Fingerprints(DEFAULT_EXCLUDE)
    try:
        before, after = prints.of(old.encode()), prints.of(new.encode())
        return before is not None and after is not None and prints.same(before, after)
    except (RecursionError, ValueError):  # a fingerprint cannot be told: compare shapes
        return False


def _renamed(tree: ast.Module) -> str:
    """The tree with docstrings dropped and the names the file binds numbered by
    first use: a function's parameters and locals within the function (so that
    renaming one function's `x` is a rename), the other bound names (functions,
    classes, module globals, imports) across the file. Names the file does not bind
    (builtins, attributes of other objects) stay as written: replacing `sum` by
    `max` everywhere is no rename. The tree is changed in place: it was parsed for
    this question alone."""
    tree = _without_docstrings(tree)
    bound = _bound(tree)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, _DEFINITIONS)}
    shared: dict[str, str] = {}
    _rename(tree, None, bound, defined, shared)
    return ast.dump(tree)


_FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _bound(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).partition(".")[0])
    return names


def _locals(function: ast.AST) -> set[str]:
    """The parameters and the names assigned in `function`'s own body."""
    arguments = getattr(function, "args", None)
    names = {a.arg for a in ast.walk(arguments) if isinstance(a, ast.arg)} if arguments else set()
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        if not isinstance(node, (*_FUNCTION_NODES, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return names


def _rename(
    node: ast.AST,
    scope: tuple[set[str], dict[str, str]] | None,
    bound: set[str],
    defined: set[str],
    shared: dict[str, str],
) -> None:
    def name(text: str) -> str:
        if scope is not None and text in scope[0]:
            return scope[1].setdefault(text, f"l{len(scope[1])}")
        if text in bound:
            return shared.setdefault(text, f"g{len(shared)}")
        return text

    for child in ast.iter_child_nodes(node):
        if isinstance(child, _FUNCTION_NODES):
            decorators: list[ast.expr] = []
            if not isinstance(child, ast.Lambda):
                child.name = name(child.name)
                # decorators run in the enclosing scope: renamed there, and once
                decorators, child.decorator_list = child.decorator_list, []
                for decorator in decorators:
                    _rename(decorator, scope, bound, defined, shared)
            inner: tuple[set[str], dict[str, str]] = (_locals(child), {})
            _rename(child, inner, bound, defined, shared)
            if not isinstance(child, ast.Lambda):
                child.decorator_list = decorators
            continue
        if isinstance(child, ast.ClassDef):
            child.name = name(child.name)
        elif isinstance(child, ast.Name):
            child.id = name(child.id)
        elif isinstance(child, ast.arg):
            child.arg = name(child.arg)
        elif isinstance(child, ast.Attribute) and child.attr in defined:
            child.attr = shared.setdefault(child.attr, f"g{len(shared)}")
        _rename(child, scope, bound, defined, shared)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        for name in _BODIES:
            body = getattr(node, name, None)
            if isinstance(body, list):
                kept = [s for s in body if not _bare_string(s)]
                setattr(node, name, kept or ([ast.Pass()] if name == "body" else []))
    return tree


def _bare_string(statement: object) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _shaped(tree: ast.Module) -> list[tuple[ast.stmt, str]]:
    """Every statement at any depth, with its shape: the statement without the
    statements nested in it (bare strings, `pass` and imports are no behaviour, nor
    is an `if TYPE_CHECKING:` block, which never runs)."""
    found: list[tuple[ast.stmt, str]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.stmt) and not (_bare_string(node) or isinstance(node, _INERT)):
            found.append((node, _shape(node)))
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


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


def _describe(statement: ast.stmt, offset: int) -> str:
    line = getattr(statement, "lineno", 0) + offset
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"a new function `{statement.name}` (line {line})"
    if isinstance(statement, ast.ClassDef):
        return f"a new class `{statement.name}` (line {line})"
    if isinstance(statement, (*_BRANCHES, ast.Match)):
        return f"a new branch (line {line})"
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return f"a new import (line {line})"
    return f"a new statement (line {line})"
