"""What a Python file says about its imports, read with `ast`, never by importing it.

The `tdd` gate maps tests to implementation files partly by the modules a test
imports. Importing the project to find out would run its code (and start coverage
late), so the source is parsed instead. A file that does not parse yields nothing:
it is somebody else's job (the tests themselves) to report a syntax error.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_IMPORT_CALLS = frozenset({"import_module", "importorskip", "__import__"})


@dataclass(frozen=True, slots=True)
class ImportRef:
    """One import: `import a.b` is ("a.b", 0, ()); `from ..m import x as y` is
    ("m", 2, (("x", "y"),)); `from . import m` is ("", 1, (("m", "m"),))."""

    module: str
    level: int = 0
    names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """The parts of a module the mapping needs."""

    imports: tuple[ImportRef, ...] = ()
    requirements: tuple[str, ...] = ()  # ids of `pytest.mark.req("REQ-1")` marks
    defines: frozenset[str] = frozenset()  # top-level names defined here
    has_code: bool = True  # False: only a docstring, imports and dunder assignments
    parsed: bool = True


def summarize(source: bytes) -> Summary:
    """Parse `source` once and collect imports, requirement marks and definitions."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return Summary(parsed=False)
    imports: list[ImportRef] = []
    requirements: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports += [ImportRef(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = tuple((a.name, a.asname or a.name) for a in node.names)
            imports.append(ImportRef(node.module or "", node.level, names))
        elif isinstance(node, ast.Call):
            imports += _dynamic_import(node)
            requirements += _requirement_mark(node)
    return Summary(
        imports=tuple(imports),
        requirements=tuple(dict.fromkeys(requirements)),
        defines=frozenset(_top_level_names(tree.body)),
        has_code=not all(_not_code(statement) for statement in tree.body),
    )


def _dynamic_import(call: ast.Call) -> list[ImportRef]:
    """`importlib.import_module("pkg.mod")`, `pytest.importorskip("pkg")`."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in _IMPORT_CALLS or not call.args:
        return []
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        module = first.value
        if module and not module.startswith("."):
            return [ImportRef(module)]
    return []


def _requirement_mark(call: ast.Call) -> list[str]:
    """Ids of `pytest.mark.req("REQ-1", "REQ-2")` / `mark.req(...)`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "req"):
        return []
    owner = func.value
    owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    if owner_name != "mark":
        return []
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _top_level_names(body: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            if isinstance(statement.target, ast.Name):
                names.add(statement.target.id)
        elif isinstance(statement, (ast.If, ast.Try)):
            names |= _top_level_names(statement.body)
            names |= _top_level_names(statement.orelse)
    return names


def _not_code(statement: ast.stmt) -> bool:
    """True for what an `__init__.py` holds without being code worth a test: a
    docstring, imports, `pass`, dunder assignments (`__all__`, `__version__ =
    version(...)`, a namespace `__path__`), and `if` / `try` blocks of those."""
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return all(isinstance(t, ast.Name) and _is_dunder(t.id) for t in targets)
    if isinstance(statement, ast.If):
        return all(_not_code(s) for s in (*statement.body, *statement.orelse))
    if isinstance(statement, ast.Try):
        blocks = [*statement.body, *statement.orelse, *statement.finalbody]
        blocks += [s for handler in statement.handlers for s in handler.body]
        return all(_not_code(s) for s in blocks)
    return False


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")
