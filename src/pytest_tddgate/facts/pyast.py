"""What a Python file says about its imports, read with `ast`, never by importing it.

The `tdd` gate maps tests to implementation files partly by the modules a test
imports. Importing the project to find out would run its code (and start coverage
late), so the source is parsed instead. A file that does not parse yields nothing:
it is somebody else's job (the tests themselves) to report a syntax error.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_tddgate.fsutil import atomic_write_text

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CACHE = ".tddgate/pyast-cache.json"
CACHE_VERSION = 4  # raise it whenever what `summarize` records (or the file's form) changes
CACHE_SIZE = 20_000  # entries kept: the most recently added
# a file's stat is trusted as its content's key only once it is older than this: a file
# rewritten within the file system's clock tick, at the same size, would look unchanged
# (git's "racy clean" problem); such a file is read and hashed until it settles
_SETTLED_NS = 2_000_000_000

_IMPORT_CALLS = frozenset({"import_module", "importorskip", "__import__"})
_CALLABLES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


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
    # the imports that run when the module is imported (not in a function, not under
    # `if TYPE_CHECKING:`)
    loads: tuple[ImportRef, ...] = ()
    # modules loaded by a computed name: (package, name prefix), the package being a
    # dotted name, `__name__` or `__package__` (of this module), or "" when the
    # prefix is absolute: `import_module(f".table{v}", __name__)` is ("__name__", ".table")
    computed: tuple[tuple[str, str], ...] = ()
    # no function body outside `if __name__ == "__main__":`: all its code runs at import
    import_time_only: bool = False


def summarize(source: bytes) -> Summary:
    """Parse `source` once and collect imports, requirement marks and definitions."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return Summary(parsed=False)
    imports: list[ImportRef] = []
    requirements: list[str] = []
    # statements only, never every expression: a test module's tree is mostly
    # expressions, and walking them costs more than parsing
    for statement in _statements(tree.body):
        if isinstance(statement, ast.Import):
            imports += [ImportRef(alias.name) for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            names = tuple((a.name, a.asname or a.name) for a in statement.names)
            imports.append(ImportRef(statement.module or "", statement.level, names))
        for call in _statement_calls(statement):
            imports += _dynamic_import(call)
            requirements += _requirement_mark(call)
    return Summary(
        imports=tuple(imports),
        requirements=tuple(dict.fromkeys(requirements)),
        defines=frozenset(_top_level_names(tree.body)),
        has_code=not all(_not_code(statement) for statement in tree.body),
        loads=tuple(_loads(tree.body)),
        computed=tuple(dict.fromkeys(_computed(tree))) if _may_compute(source) else (),
        import_time_only=_import_time_only(source, tree),
    )


def function_lines(source: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """(the lines inside function bodies, the lines of the other statements that run
    at import: assignments, expressions, class attributes; not `def` or `class`
    headers). Both empty when `source` does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return frozenset(), frozenset()
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            inside.update(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.Lambda):
            inside.update(range(node.body.lineno, (node.body.end_lineno or node.lineno) + 1))
    return frozenset(inside), frozenset(_import_time_lines(tree.body))


def changed_functions(old: bytes, new: bytes) -> tuple[frozenset[str], bool] | None:
    """What a change touched: the qualified names of the functions it added or
    changed (`Class.method`), and whether it changed code outside functions (None:
    a version does not parse)."""
    try:
        before, after = ast.parse(old), ast.parse(new)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    old_functions, old_rest = _split(before)
    new_functions, new_rest = _split(after)
    changed = frozenset(n for n, dump in new_functions.items() if old_functions.get(n) != dump)
    return changed, old_rest != new_rest


def function_spans(source: bytes) -> dict[str, frozenset[int]]:
    """The lines of each function's body by qualified name (empty: does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return {}
    return {
        name: frozenset(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))
        for name, node in _functions(tree.body, "")
    }


def _functions(
    body: list[ast.stmt], prefix: str
) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + statement.name
            yield name, statement
            yield from _functions(statement.body, name + ".")
        elif isinstance(statement, ast.ClassDef):
            yield from _functions(statement.body, prefix + statement.name + ".")
        elif isinstance(statement, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _functions(getattr(statement, block, []), prefix)


def _split(tree: ast.Module) -> tuple[dict[str, str], list[str]]:
    """(qualified name -> the function's dump, the dumps of the statements outside
    functions: at the top and in class bodies)."""
    functions = {name: ast.dump(node) for name, node in _functions(tree.body, "")}
    return functions, list(_rest(tree.body))


def _rest(body: list[ast.stmt]) -> Iterator[str]:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.ClassDef):
            yield f"class {statement.name}"
            yield from _rest(statement.body)
        else:
            yield ast.dump(statement)


def _import_time_lines(body: list[ast.stmt]) -> Iterator[int]:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.ClassDef):
            yield from _import_time_lines(statement.body)
        elif isinstance(statement, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody"):
                yield from _import_time_lines(getattr(statement, name, []))
            for handler in getattr(statement, "handlers", ()):
                yield from _import_time_lines(handler.body)
        else:
            yield from range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)


def _loads(body: list[ast.stmt]) -> Iterator[ImportRef]:
    """The imports a module runs when it is imported: at its top, and in the `if`,
    `try` and `with` blocks there, but not under `if TYPE_CHECKING:`."""
    for statement in body:
        if isinstance(statement, ast.Import):
            yield from (ImportRef(alias.name) for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            names = tuple((a.name, a.asname or a.name) for a in statement.names)
            yield ImportRef(statement.module or "", statement.level, names)
        elif isinstance(statement, ast.If):
            if not _type_checking(statement.test):
                yield from _loads(statement.body)
            yield from _loads(statement.orelse)
        elif isinstance(statement, (ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody"):
                yield from _loads(getattr(statement, name, []))
            for handler in getattr(statement, "handlers", ()):
                yield from _loads(handler.body)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_only(source: bytes, tree: ast.Module) -> bool:
    if b"def" not in source and b"lambda" not in source:
        return True  # a table or a constant: no walk over its every expression
    return not any(_has_function(statement) for statement in tree.body)


def _has_function(statement: ast.stmt) -> bool:
    """Whether a top-level statement holds code that runs only when called."""
    if isinstance(statement, ast.If) and _is_main_check(statement.test):
        return False
    return any(isinstance(node, _CALLABLES) for node in ast.walk(statement))


def _is_main_check(test: ast.expr) -> bool:
    """`__name__ == "__main__"`: a demo or script block, never run by an import."""
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _may_compute(source: bytes) -> bool:
    """Whether a computed import is possible at all: most modules have none, and
    walking every expression costs more than parsing."""
    return b"import_module" in source or b"__import__" in source


def _computed(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(package, prefix) of each `import_module(<computed name>, <package>)`."""
    assigned: dict[str, str] = {}  # name -> the constant start of a string built for it
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                start = _constant_start(node.value)
                if start is not None:
                    assigned[target.id] = start
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name not in ("import_module", "__import__"):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant):
            continue  # a constant name: an ordinary import (`Summary.imports`)
        prefix = assigned.get(first.id) if isinstance(first, ast.Name) else _constant_start(first)
        package = _package_argument(node) if name == "import_module" else ""
        if prefix is None:
            prefix = ""
        if prefix.startswith(".") and not package:
            continue  # relative to an unknown package
        if package or "." in prefix:
            yield package, prefix


def _constant_start(value: ast.expr) -> str | None:
    """The constant text a computed string starts with: `f"pkg.mod{x}"`, `"pkg." + x`."""
    if isinstance(value, ast.JoinedStr):
        text = ""
        for part in value.values:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                break
            text += part.value
        return text
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        left = value.left
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            return left.value
        return _constant_start(left)
    return None


def _package_argument(call: ast.Call) -> str:
    given = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "package":
            given = keyword.value
    if isinstance(given, ast.Constant) and isinstance(given.value, str):
        return given.value
    if isinstance(given, ast.Name) and given.id in ("__name__", "__package__"):
        return given.id
    return ""


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included (function bodies, `if`, `try`, ...)."""
    for statement in body:
        yield statement
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                yield from _statements(block)


def _statement_calls(statement: ast.AST) -> Iterator[ast.Call]:
    """The calls a statement makes at its top: its decorators (`@pytest.mark.req(...)`)
    and its value (`mod = importlib.import_module("x")`, `pytest.importorskip("x")`,
    `pytestmark = [pytest.mark.req(...)]`)."""
    for decorator in getattr(statement, "decorator_list", ()):
        yield from _call_chain(decorator)
    value = getattr(statement, "value", None)
    if isinstance(value, ast.expr):
        yield from _call_chain(value)


def _call_chain(node: ast.expr) -> Iterator[ast.Call]:
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            yield from _call_chain(item)
    elif isinstance(node, ast.Call):
        yield node
        yield from _call_chain(node.func)
    elif isinstance(node, ast.Attribute):
        yield from _call_chain(node.value)


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


class SummaryCache:
    """Summaries by content hash, kept between runs in `.tddgate/pyast-cache.json`: the
    pre-commit hook runs on every commit, and parsing a large test module costs more
    than everything else the gate does with it. A missing or broken cache is empty.

    Each entry is kept as JSON text and decoded when asked for: a run asks for the
    few files its range touched, and decoding all of them would cost more than the
    rest of the cache's work (and leave many objects for the garbage collector)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, str] | None = None
        # file -> "size:mtime:ctime:inode content-key", as git keeps them in its index: a
        # file whose stat is unchanged is not read again (the gate reads ~100 per run)
        self._stats: dict[str, str] = {}
        self._dirty = False

    def summarize(self, source: bytes) -> Summary:
        key = hashlib.sha1(source, usedforsecurity=False).hexdigest()
        return self._known(key) or self._parse(key, source)

    def summarize_file(self, file: str) -> Summary:
        """The summary of the file at `file` (absolute); a missing or unreadable file
        summarizes as empty. A file whose size, inode and modification and change
        times match the last run's is not read (even restoring the modification time
        after an edit changes the change time)."""
        try:
            stat = os.stat(file)  # noqa: PTH116 (a string path: runs per test module)
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}"
            self.load()
            seen_stamp, _, seen_key = self._stats.get(file, "").partition(" ")
            known = self._known(seen_key) if seen_stamp == stamp else None
            if known is not None:
                return known
            with open(file, "rb") as handle:  # noqa: PTH123 (a string path: runs per test)
                source = handle.read()
        except OSError:
            return self.summarize(b"")
        key = hashlib.sha1(source, usedforsecurity=False).hexdigest()
        if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > _SETTLED_NS:
            self._stats[file] = f"{stamp} {key}"
            self._dirty = True
        return self._known(key) or self._parse(key, source)

    def _known(self, key: str) -> Summary | None:
        known = self.load().get(key)
        if isinstance(known, str):
            try:
                return _from_json(json.loads(known))
            except (TypeError, ValueError, IndexError):
                pass  # written by another version: parse again
        return None

    def _parse(self, key: str, source: bytes) -> Summary:
        summary = summarize(source)
        self.load()[key] = json.dumps(_to_json(summary), separators=(",", ":"))
        self._dirty = True
        return summary

    def save(self) -> None:
        """Write what was added (atomically); a cache that cannot be written is skipped."""
        if not self._dirty or self._entries is None:
            return
        self._dirty = False
        kept = dict(list(self._entries.items())[-CACHE_SIZE:])
        stats = {
            file: seen
            for file, seen in list(self._stats.items())[-CACHE_SIZE:]
            if seen.rpartition(" ")[2] in kept
        }
        text = json.dumps(
            {"version": CACHE_VERSION, "entries": kept, "stats": stats}, separators=(",", ":")
        )
        try:
            atomic_write_text(self.path, text + "\n")
        except OSError:
            return

    def load(self) -> dict[str, str]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                valid = isinstance(data, dict) and data.get("version") == CACHE_VERSION
                entries = data.get("entries") if valid else None
                self._entries = dict(entries) if isinstance(entries, dict) else {}
                stats = data.get("stats") if valid else None
                if isinstance(stats, dict):
                    self._stats = {k: v for k, v in stats.items() if isinstance(v, str)}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries


def _to_json(summary: Summary) -> list[object]:
    imports = [
        [ref.module, ref.level, [list(pair) for pair in ref.names]] for ref in summary.imports
    ]
    loads = [[ref.module, ref.level, [list(pair) for pair in ref.names]] for ref in summary.loads]
    return [
        imports,
        list(summary.requirements),
        sorted(summary.defines),
        summary.has_code,
        summary.parsed,
        loads,
        [list(pair) for pair in summary.computed],
        summary.import_time_only,
    ]


def _from_json(raw: list[object]) -> Summary:
    imports, requirements, defines, has_code, parsed, loads, computed, only = raw
    parts = (imports, requirements, defines, loads, computed)
    if not all(isinstance(part, list) for part in parts):
        raise ValueError("not a summary")
    assert isinstance(imports, list) and isinstance(requirements, list)  # for mypy
    assert isinstance(defines, list) and isinstance(loads, list) and isinstance(computed, list)
    return Summary(
        imports=_refs(imports),
        requirements=tuple(str(r) for r in requirements),
        defines=frozenset(str(d) for d in defines),
        has_code=bool(has_code),
        parsed=bool(parsed),
        loads=_refs(loads),
        computed=tuple((str(package), str(prefix)) for package, prefix in computed),
        import_time_only=bool(only),
    )


def _refs(raw: list[Any]) -> tuple[ImportRef, ...]:
    return tuple(
        ImportRef(str(m), int(level), tuple((str(a), str(b)) for a, b in names))
        for m, level, names in raw
    )
