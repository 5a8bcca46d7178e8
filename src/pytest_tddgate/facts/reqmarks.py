"""Tests as written, read statically: `@pytest.mark.req` links and which tests exist.

We read test files with `ast` and never import them: importing the project under test
from the plugin would run its code before coverage starts, and `tddgate check` must
work without a test run. Files are parsed only when needed and at most once, and a
file without the letters `req` is never parsed for markers (the scan's cost is the
parse, and most test files have no marker).

Recognised: `@pytest.mark.req("A", "B")` / `@mark.req(...)` on test functions and
`Test*` classes, `pytestmark = pytest.mark.req(...)` (or a list of marks) in a module
or class, `pytest.param(..., marks=pytest.mark.req(...))` inside a decorator, and a
module-level alias `req = pytest.mark.req`. Ids that are not string literals are
computed at run time and only the pytest run sees them.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from pytest_tddgate.facts import Facts

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv"}
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_TEST_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+test", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class MarkedTest:
    """A test that links itself to requirements; `nodeid` has no parameters."""

    nodeid: str
    path: str
    line: int
    requirements: tuple[str, ...]


class StaticTests:
    """The test files under the test roots, parsed lazily and once each."""

    def __init__(self, root: Path, test_roots: Iterable[str]) -> None:
        self.root = root
        self.test_roots = tuple(test_roots)
        self._trees: dict[str, ast.Module | None] = {}

    def tree(self, relpath: str, source: bytes | None = None) -> ast.Module | None:
        """The parsed file, or None when it is missing or does not parse."""
        if relpath not in self._trees:
            try:
                if source is None:
                    source = (self.root / relpath).read_bytes()
                self._trees[relpath] = ast.parse(source, filename=relpath)
            except (OSError, SyntaxError, ValueError):
                self._trees[relpath] = None
        return self._trees[relpath]

    def test_files(self) -> Iterator[str]:
        """Repo-relative paths of `test_*.py` / `*_test.py` files under the test roots."""
        for test_root in self.test_roots:
            top = self.root / test_root
            if top.is_file():
                yield Path(test_root).as_posix()
                continue
            for folder, dirs, files in os.walk(top):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                rel = Path(folder).relative_to(self.root).as_posix()
                for name in sorted(files):
                    if name.endswith(".py") and (
                        name.startswith("test_") or name.endswith("_test.py")
                    ):
                        yield f"{rel}/{name}" if rel != "." else name

    def marked(self, ran: Mapping[str, int] | None = None) -> tuple[MarkedTest, ...]:
        """Every test with a `req` marker in a string literal, in file order.

        `ran` (test file -> how many of its tests ran, parameters folded) lets a run
        skip the files whose every test ran: the run recorded their markers already,
        and parsing is the whole cost of this scan. Counting `def test` lines errs on
        the safe side: a file with more of them than tests that ran is parsed.
        """
        found: list[MarkedTest] = []
        for relpath in self.test_files():
            try:
                source = (self.root / relpath).read_bytes()
            except OSError:
                continue
            if b"req" not in source:
                continue
            if ran is not None and ran.get(relpath, 0) >= len(_TEST_DEF.findall(source)):
                continue
            tree = self.tree(relpath, source)
            if tree is not None:
                found.extend(_marked_in(tree, relpath))
        return tuple(found)

    def has_node(self, nodeid: str) -> bool | None:
        """Whether `file::Class::test` names a test defined in the file.

        None when that cannot be judged statically: not a Python file, or it does not
        parse (the tests gate reports that). A name bound by an import or assignment,
        and a method a class may inherit from a base class, count as present.
        """
        file_part, _, rest = nodeid.partition("::")
        if not file_part.endswith(".py") or not rest:
            return None
        tree = self.tree(file_part)
        if tree is None:
            return None
        parts = [p.split("[", 1)[0] for p in rest.split("::")]
        body: list[ast.stmt] = tree.body
        for depth, name in enumerate(parts):
            node = _binding(body, name)
            if node is None:
                return False
            if depth == len(parts) - 1:
                return True
            if not isinstance(node, ast.ClassDef):
                return False
            if node.bases and _binding(node.body, parts[depth + 1]) is None:
                return True  # may be inherited from a base class we cannot see
            body = node.body
        return True


def static_tests(facts: Facts) -> StaticTests:
    """The project's test files (a fact for `Facts.get`, shared by every user)."""
    return StaticTests(facts.settings.root, facts.settings.test_roots)


def _binding(body: list[ast.stmt], name: str) -> ast.stmt | None:
    for stmt in body:
        if isinstance(stmt, (*_FUNCS, ast.ClassDef)) and stmt.name == name:
            return stmt
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and any(
            (alias.asname or alias.name).split(".")[0] == name for alias in stmt.names
        ):
            return stmt
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return stmt
    return None


def _marked_in(tree: ast.Module, relpath: str) -> Iterator[MarkedTest]:
    aliases = _aliases(tree.body)
    module_ids = _pytestmark_ids(tree.body, aliases)
    yield from _walk(tree.body, relpath, relpath, module_ids, aliases)


def _walk(
    body: list[ast.stmt],
    relpath: str,
    prefix: str,
    inherited: tuple[str, ...],
    aliases: frozenset[str],
) -> Iterator[MarkedTest]:
    for stmt in body:
        if isinstance(stmt, _FUNCS) and stmt.name.startswith("test"):
            ids = _unique((*inherited, *_decorator_ids(stmt, aliases)))
            if ids:
                # pytest reports a test at its first decorator; so do we
                line = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                yield MarkedTest(f"{prefix}::{stmt.name}", relpath, line, ids)
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            ids = (*inherited, *_decorator_ids(stmt, aliases), *_pytestmark_ids(stmt.body, aliases))
            yield from _walk(stmt.body, relpath, f"{prefix}::{stmt.name}", ids, aliases)


def _aliases(body: list[ast.stmt]) -> frozenset[str]:
    """Module-level names bound to the marker itself: `req = pytest.mark.req`."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.Assign) and _is_req(stmt.value, frozenset()):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return frozenset(names)


def _is_req(node: ast.expr, aliases: frozenset[str]) -> bool:
    """`pytest.mark.req`, `mark.req` or an alias of it (the callee, not the call)."""
    if isinstance(node, ast.Name):
        return node.id in aliases
    if not isinstance(node, ast.Attribute) or node.attr != "req":
        return False
    owner = node.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )


def _ids_in(node: ast.AST, aliases: frozenset[str]) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and _is_req(sub.func, aliases):
            for arg in sub.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.value


def _decorator_ids(
    stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, aliases: frozenset[str]
) -> tuple[str, ...]:
    return tuple(i for decorator in stmt.decorator_list for i in _ids_in(decorator, aliases))


def _pytestmark_ids(body: list[ast.stmt], aliases: frozenset[str]) -> tuple[str, ...]:
    ids: list[str] = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets
        ):
            ids.extend(_ids_in(stmt.value, aliases))
    return tuple(ids)


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
