"""The `coverage` gate's `new_functions` condition: no new function goes untested.

An aggregate such as "new code 88 %" can hide a whole function no test calls. This
condition looks at each function, method and class that has a line changed since the
base (its decorators, signature or body) and asks whether a test ran at least one of
its lines, whatever the percentages.

What counts as "a line run", as coverage.py counts lines:
- a function: a line of its body. The `def` line and its decorators run when the
  module is imported, which proves nothing about the function;
- a class: a line of one of its methods' bodies; a class without method code (an
  exception, an enum, a dataclass of fields) needs only its own lines to have run.
  An untested class is reported once, not once per method; but a class with fields
  and methods (a dataclass, an enum) may be used through code it generates, which
  has no line in the file, so its unrun methods are reported, one by one.

A module imported before the measurement started (a pytest plugin, loaded by a
`pytest11` entry point or `-p`) ran its module-level and class-body lines unseen: a
class without method code cannot be seen to run there, whatever the tests do with it,
so it is not judged (`Judged.unseen`, which the gate names in a note). The module's
functions are judged as anywhere: their bodies run in the tests.

Not judged, because no test could or should run them: definitions whose body has no
line coverage.py counts (a `# pragma: no cover` on the `def`, the project's
`exclude_lines`, a docstring only), a body of `...`, `@abstractmethod` and
`@overload` definitions, the members of a `Protocol`, anything under
`if TYPE_CHECKING:`, and the side of a `sys.platform` / `os.name` /
`sys.version_info` test that is false here (for another platform or Python).
A function nested in an untested one is not reported apart.
"""

from __future__ import annotations

import ast
import copy
import os
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from pytest_tddgate.facts.covdata import FileCoverage

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
BaseSource = Callable[[str], bytes | None]  # a file's text at the base (None: none)
_NOT_JUDGED_DECORATORS = frozenset({"abstractmethod", "overload"})


@dataclass(frozen=True, slots=True)
class UntestedDefinition:
    """A new or changed function, method or class none of whose lines a test ran."""

    path: str
    line: int  # the `def` / `class` line
    name: str  # qualified: `Cart.total`
    kind: str  # function | method | class


@dataclass(frozen=True, slots=True)
class Judged:
    """The condition's answer: what no test ran, and what the measurement could not see
    (new or changed method-less classes of modules imported before it started)."""

    untested: tuple[UntestedDefinition, ...] = ()
    unseen: tuple[UntestedDefinition, ...] = ()


def untested_definitions(
    root: Path,
    files: Mapping[str, FileCoverage],
    changed: Mapping[str, frozenset[int]],
    skip: tuple[str, ...] = (),
    base: BaseSource | None = None,
) -> Judged:
    """Per measured Python file with changed lines (outside the `skip` folders).
    `base`: a file's text at the base, to tell a change of annotations only."""
    found: list[UntestedDefinition] = []
    unseen: list[UntestedDefinition] = []
    for path in sorted(changed):
        measured = files.get(path)
        if measured is None or not path.endswith(".py") or _inside(path, skip):
            continue
        if measured.executable <= measured.executed:
            continue  # every line ran: nothing to find, no need to parse
        tree = _parse(root / path)
        if tree is not None:
            blind = _imported_unseen(root / path, tree, measured)
            judge = _FileJudge(path, measured, changed[path], imported_unseen=blind, base=base)
            found += judge.body(tree.body, "", in_class=False)
            unseen += judge.unseen
    return Judged(tuple(found), tuple(unseen))


def unseen_import_lines(
    root: Path, files: Mapping[str, FileCoverage], changed: Mapping[str, frozenset[int]]
) -> dict[str, frozenset[int]]:
    """Per changed file imported before the measurement started: its changed lines
    that ran at import (imports, constants, `def` and `class` lines, class bodies),
    unseen by the measurement, so neither covered nor missing."""
    found: dict[str, frozenset[int]] = {}
    for path in sorted(changed):
        measured = files.get(path)
        if measured is None or not path.endswith(".py"):
            continue
        if not (changed[path] & measured.executable) - measured.executed:
            continue  # every changed line ran: nothing unseen to leave out
        tree = _parse(root / path)
        if tree is None or not _imported_unseen(root / path, tree, measured):
            continue
        lines = changed[path] & _import_time(tree, measured.executable)
        if lines:
            found[path] = frozenset(lines)
    return found


def _import_time(tree: ast.Module, executable: frozenset[int]) -> set[int]:
    """The executable lines outside every function body: those an import runs."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(range(_first_line(node.body[0]), _end(node) + 1))
    return set(executable) - inside


def _imported_unseen(path: Path, tree: ast.Module, measured: FileCoverage) -> bool:
    """Whether the module was imported before the measurement started: none of its
    module-level lines ran, yet it was imported (a line of a function ran, or it is
    loaded in this process: a plugin whose functions no test called)."""
    top = {line for node in tree.body for line in (node.lineno, _first_line(node))}
    top &= measured.executable
    if not top or top & measured.executed:
        return False
    return bool(measured.executed) or _loaded(path)


def _loaded(path: Path) -> bool:
    """Whether a module of this process was loaded from `path`."""
    real = os.path.realpath(path)
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        # the base name first: a realpath of each of thousands of modules costs
        if isinstance(name, str) and name.endswith(path.name) and os.path.realpath(name) == real:
            return True
    return False


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    return any(path.startswith(folder.rstrip("/") + "/") for folder in folders if folder)


def _parse(path: Path) -> ast.Module | None:
    """The file's tree; None when it cannot be read or parsed (coverage notes those)."""
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None


class _FileJudge:
    """Walks one file's definitions, nested ones included."""

    def __init__(
        self,
        path: str,
        measured: FileCoverage,
        changed: frozenset[int],
        *,
        imported_unseen: bool = False,
        base: BaseSource | None = None,
    ) -> None:
        self.path = path
        self._base = base
        self._base_tree: ast.Module | None = None
        self._base_read = False
        # its class-body lines ran before the measurement: a method-less class is not judged
        self.imported_unseen = imported_unseen
        self.unseen: list[UntestedDefinition] = []
        # sorted, so that the lines of a definition are one bisection away
        self.executable = sorted(measured.executable)
        self.executed = measured.executed
        self.changed = sorted(changed)

    def body(
        self, statements: list[ast.stmt], prefix: str, *, in_class: bool
    ) -> list[UntestedDefinition]:
        found: list[UntestedDefinition] = []
        for node in _definitions(statements):
            if _not_judged(node):
                continue
            name = prefix + node.name
            if isinstance(node, ast.ClassDef):
                found += self._class(node, name)
            else:
                found += self._function(node, name, "method" if in_class else "function")
        return found

    def _function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, name: str, kind: str
    ) -> list[UntestedDefinition]:
        body = self._lines(_first_line(node.body[0]), _end(node))
        if not body:
            return []  # nothing coverage.py would count: excluded, or a docstring only
        if not body & self.executed:
            # its nested functions cannot have run either: one finding says it all
            return self._untested(node, name, kind)
        return self.body(node.body, name + ".", in_class=False)

    def _class(self, node: ast.ClassDef, name: str) -> list[UntestedDefinition]:
        if _is_protocol(node):
            return []
        method_lines: set[int] = set()
        for method in _definitions(node.body):
            if not isinstance(method, ast.ClassDef) and not _not_judged(method):
                method_lines |= self._lines(_first_line(method.body[0]), _end(method))
        lines = method_lines or self._lines(_start(node), _end(node))
        if lines and not method_lines and self.imported_unseen:
            if self._new(node):
                self.unseen.append(UntestedDefinition(self.path, node.lineno, name, "class"))
            return self.body(node.body, name + ".", in_class=True)
        # a class with fields (a dataclass, an enum) may be used by every test through
        # code it generates, which has no line here: its unrun methods are the finding
        if lines and not lines & self.executed and not (method_lines and _has_fields(node)):
            return self._untested(node, name, "class")
        return self.body(node.body, name + ".", in_class=True)

    def _untested(self, node: _Def, name: str, kind: str) -> list[UntestedDefinition]:
        """The finding, when the definition is new or changed since the base, by more
        than the annotations of its signature (a typing clean-up changes no behaviour)."""
        if not self._new(node) or self._annotations_only(node, name):
            return []
        return [UntestedDefinition(self.path, node.lineno, name, kind)]

    def _annotations_only(self, node: _Def, name: str) -> bool:
        # a decorator may read the annotations (functools.singledispatch, pydantic)
        if isinstance(node, ast.ClassDef) or node.decorator_list or self._base is None:
            return False
        old = _find(self._old_tree(), name.split("."))
        return old is not None and _unannotated(old) == _unannotated(node)

    def _old_tree(self) -> ast.Module | None:
        if not self._base_read and self._base is not None:
            self._base_read = True
            text = self._base(self.path)
            try:
                self._base_tree = ast.parse(text) if text is not None else None
            except (SyntaxError, ValueError):
                self._base_tree = None
        return self._base_tree

    def _lines(self, first: int, last: int) -> set[int]:
        return set(_between(self.executable, first, last))

    def _new(self, node: _Def) -> bool:
        return bool(_between(self.changed, _start(node), _end(node)))


def _find(tree: ast.Module | None, names: list[str]) -> _Def | None:
    """The definition of this qualified name (`Cart.total`) in a module's tree."""
    statements: list[ast.stmt] = tree.body if tree is not None else []
    found: _Def | None = None
    for name in names:
        found = next((d for d in _definitions(statements) if d.name == name), None)
        if found is None:
            return None
        statements = found.body
    return found


def _unannotated(node: _Def) -> str:
    """The definition as a tree without its signature's annotations, positions left out."""
    bare = copy.deepcopy(node)
    if not isinstance(bare, ast.ClassDef):
        arguments = bare.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        for argument in [*every, arguments.vararg, arguments.kwarg]:
            if argument is not None:
                argument.annotation = None
        bare.returns = None
    return ast.dump(bare)


def _between(lines: list[int], first: int, last: int) -> list[int]:
    """The lines in `first..last` of a sorted list."""
    return lines[bisect_left(lines, first) : bisect_right(lines, last)]


def _definitions(statements: list[ast.stmt]) -> Iterator[_Def]:
    """Definitions among these statements, inside `if` / `try` / `with` blocks too,
    but not under `if TYPE_CHECKING:` (never run)."""
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node
        elif isinstance(node, ast.If):
            # a platform or version test decides on this interpreter: the other side's
            # definitions are for another one, which no test here can run
            truth = _on_this_python(node.test)
            if not _type_checking(node.test) and truth is not False:
                yield from _definitions(node.body)
            if truth is not True:
                yield from _definitions(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _definitions(block)
            for handler in node.handlers:
                yield from _definitions(handler.body)
        elif isinstance(node, ast.With | ast.AsyncWith):
            yield from _definitions(node.body)


_PLATFORM = {
    ("sys", "platform"): sys.platform,
    ("os", "name"): os.name,
    ("sys", "version_info"): tuple(sys.version_info),
}


def _on_this_python(test: ast.expr) -> bool | None:
    """The value on this interpreter of a test of `sys.platform`, `os.name` or
    `sys.version_info` (compared, `startswith`, `not`, `and`, `or`); None for any
    other test."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _on_this_python(test.operand)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        values = [_on_this_python(v) for v in test.values]
        if any(v is None for v in values):
            return None
        return all(values) if isinstance(test.op, ast.And) else any(values)
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute):
        value = _platform_value(test.func.value)
        prefix = _constant(test.args[0]) if len(test.args) == 1 else None
        if test.func.attr == "startswith" and isinstance(value, str) and prefix is not None:
            return value.startswith(prefix) if isinstance(prefix, str | tuple) else None
        return None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        return _compare(_platform_value(test.left), test.ops[0], _constant(test.comparators[0]))
    return None


def _platform_value(expr: ast.expr) -> Any:
    """`sys.platform`, `os.name`, `sys.version_info` (or `sys.version_info[:2]`, `[0]`)."""
    if isinstance(expr, ast.Subscript):
        whole = _platform_value(expr.value)
        index = expr.slice
        if not isinstance(whole, tuple):
            return None
        if isinstance(index, ast.Constant) and isinstance(index.value, int):
            return whole[index.value]
        if isinstance(index, ast.Slice) and index.lower is None and index.step is None:
            upper = _constant(index.upper) if index.upper is not None else None
            return whole[:upper] if isinstance(upper, int) else None
        return None
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return _PLATFORM.get((expr.value.id, expr.attr))
    return None


def _constant(expr: ast.expr) -> Any:
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None


def _compare(left: Any, op: ast.cmpop, right: Any) -> bool | None:
    if isinstance(op, ast.In | ast.NotIn) and isinstance(left, str):
        if not isinstance(right, tuple | list | set | frozenset):
            return None
        return (left in right) == isinstance(op, ast.In)
    if left is None or right is None or type(left) is not type(right):
        return None
    try:
        if isinstance(op, ast.Eq):
            return bool(left == right)
        if isinstance(op, ast.NotEq):
            return bool(left != right)
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        if isinstance(op, ast.GtE):
            return bool(left >= right)
    except TypeError:
        return None
    return None


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _not_judged(node: _Def) -> bool:
    """Stubs: abstract methods, overloads, and functions whose body is only `...`."""
    if any(_name_of(d) in _NOT_JUDGED_DECORATORS for d in node.decorator_list):
        return True
    if isinstance(node, ast.ClassDef):
        return False
    body = node.body[1:] if _is_docstring(node.body[0]) else node.body
    return all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is ...
        for s in body
    )


def _has_fields(node: ast.ClassDef) -> bool:
    """Class-level assignments: fields, enum members, constants."""
    return any(isinstance(s, ast.AnnAssign | ast.Assign) for s in node.body)


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(_name_of(base) == "Protocol" for base in node.bases)


def _name_of(expr: ast.expr) -> str:
    """`abc.abstractmethod` -> `abstractmethod`; `Protocol[T]` -> `Protocol`."""
    if isinstance(expr, ast.Subscript | ast.Call):
        return _name_of(expr.value if isinstance(expr, ast.Subscript) else expr.func)
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _start(node: _Def) -> int:
    """The first line of a definition: its first decorator, else the `def` line."""
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _first_line(statement: ast.stmt) -> int:
    """Where a statement starts, decorators included."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return _start(statement)
    return statement.lineno


def _end(node: _Def) -> int:
    return node.end_lineno or node.lineno
