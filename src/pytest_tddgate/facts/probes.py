"""Line probes: measure a few changed files without a tracer.

With `scope = "changed"` only the changed files need measuring, but a tracer cannot be
limited to them: on Python 3.11 and older, `sys.settrace` slows every line of every
module once it is on (measured: 1.55x-1.7x plain pytest on click, attrs and
itsdangerous even when one small file is traced), and on 3.12+ the per-test restart
of `sys.monitoring` events costs 0.15x-0.3x more. So the changed files are compiled
with a probe before each statement instead, at import, by an import hook, and nothing
else in the process is touched: the other modules run at full speed.

A probe adds the line numbers a tracer would report for that statement to a set
(`Probes.data[file]`); the `coverage` facts then hand the sets to coverage.py as
measured lines (`CoverageData.add_lines`), and coverage.py's own analysis (its
statements, exclusions and multi-line statements) judges them exactly as it judges a
tracer's lines. What makes the two agree:

- a statement's lines are recorded before it runs, as a tracer records its first line;
  coverage.py maps every line of a multi-line statement to its first line;
- headers with code of their own are probed where that code runs: an `except X:`
  line when its type is tested (also when it does not match), `case` lines in order
  until one matches, decorators with the definition;
- docstrings and `from __future__` imports keep their place at the top.

benchmarks/probe_equivalence.py compares the two on whole test suites.

The probes never make a module fail to import: a file they cannot be compiled into
(an error while adding them or compiling the tree) is loaded as a plain import loads
it, and `Probes.on_failure` hands it to a tracer before its code runs
(facts/filetracer.py). tests/test_probe_stress.py probes generated modules far
larger and deeper than hand-written ones.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import fnmatch
import hashlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, SourceFileLoader
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from pytest_tddgate.facts.branches import (
    Bodies,
    elif_of,
    instrument_branches,
    irrefutable,
    is_docstring,
    is_probe,
    probe,
)


class Probes:
    """The probed files' lines, and the import hook that compiles probes into them.

    Has the attributes `covcontexts.Recorder` reads from a coverage.py collector
    (`data`, `branch`, `tracer_name()`), so per-test lines are recorded the same way.
    """

    branch = False

    def __init__(self, files: Iterable[str], *, branches: bool = False) -> None:
        # realpath -> lines run; the sets are shared with the probes and never replaced
        self.data: dict[str, set[int]] = {name: set() for name in files}
        # realpath -> the builtins name its probes add to. A builtin, not a module
        # global: code run outside its module's namespace (`runpy`, `exec` of the
        # module's code) still finds it. Named after the path, so that the probed code
        # can be kept for the next run (facts/probecache.py); a later `Probes` of the
        # same file in this process takes its probes over
        self.names = {path: _builtin_name(path) for path in self.data}
        # branches: realpath -> the sides of branches taken (facts/branches.py) and,
        # filled as files are compiled, where each branch line's body starts
        self.branches = branches
        self.sides: dict[str, set[int]] = {name: set() for name in self.data} if branches else {}
        self.side_names = {path: n.replace("lines", "sides") for path, n in self.names.items()}
        self.bodies: dict[str, Bodies] = {}
        self.compiled: set[str] = set()  # realpaths compiled with probes
        # realpaths the probes could not be compiled into (imported without them), and
        # why; `on_failure` is told of each at once, before the module's code runs, so
        # that a tracer can be started for it
        self.failed: dict[str, str] = {}
        self.on_failure: Callable[[str], None] | None = None
        self._finder = _Finder(self)

    def tracer_name(self) -> str:
        return "Probes"

    def imported(self) -> list[str]:
        """Probed files that were imported before the hook was installed: their code
        has no probes, so they cannot be measured this way."""
        return sorted({_real(m.__file__) for m in self.loaded()})

    def unprobed(self) -> list[str]:
        """Probed files that were loaded without probes all the same: by a loader of
        their own (`spec_from_file_location`, pytest's assertion rewriting, ...)."""
        loaded = {_real(m.__file__) for m in self.loaded()}
        return sorted(loaded - self.compiled - set(self.failed))

    def cannot_probe(self, path: str, why: str) -> None:
        """`path` was imported without probes (`why`: the error compiling them in)."""
        self.failed[path] = why
        if self.on_failure is None:
            return
        try:
            self.on_failure(path)
        except Exception as exc:  # the import goes on: it is the user's code that runs
            self.failed[path] = f"{why}; and the tracer could not take over: {exc}"

    def loaded(self) -> list[Any]:
        """The modules of `sys.modules` loaded from probed files (with probes or not)."""
        names = {Path(path).name for path in self.data}
        found = []
        for module in list(sys.modules.values()):
            origin = getattr(module, "__file__", None)
            # the name first: resolving every module's path would cost milliseconds
            if not isinstance(origin, str) or os.path.basename(origin) not in names:  # noqa: PTH119
                continue
            if _real(origin) in self.data:
                found.append(module)
        return found

    def install(self, *, hook: bool = True) -> None:
        """Make the probes' sets reachable and put the import hook first. `hook=False`:
        the caller's own import hook, already in place, asks `find_spec` instead
        (changing `sys.meta_path` during an import would skip a finder)."""
        for path, name in self.names.items():
            setattr(builtins, name, self.data[path])
        for path, name in self.side_names.items():
            if path in self.sides:
                setattr(builtins, name, self.sides[path])
        if hook and self._finder not in sys.meta_path:
            sys.meta_path.insert(0, self._finder)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """The import hook's answer: a probed file's spec with a `ProbeLoader`, or None."""
        return self._finder.find_spec(fullname, path, target)

    def uninstall(self) -> None:
        """Modules imported already keep their probes, and so the builtins they add to
        stay (code can run after the tests: at exit, say)."""
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def lines(self) -> dict[str, set[int]]:
        return {name: set(lines) for name, lines in self.data.items() if lines}

    def taken(self) -> dict[str, set[int]]:
        """The sides of branches taken, per file (`branches=True`; facts/branches.py)."""
        return {name: set(sides) for name, sides in self.sides.items() if sides}


class _Finder(MetaPathFinder):
    """Hands the probed files to `ProbeLoader`; every other import is untouched.

    The module's last name part is compared with the probed files' names first, so an
    import of anything else costs one set lookup.
    """

    def __init__(self, probes: Probes) -> None:
        self._probes = probes
        self._names = {module_name(path) for path in probes.data}
        self._asking = threading.local()  # per thread: imports in threads do not mix

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.rpartition(".")[2] not in self._names:
            return None
        if getattr(self._asking, "busy", False):
            return None
        self._asking.busy = True  # the finders after this one are asked; not this one again
        try:
            spec = _spec_from_others(self, fullname, path, target)
        finally:
            self._asking.busy = False
        if spec is None or not isinstance(spec.origin, str):
            return None
        origin = _real(spec.origin)
        if origin not in self._probes.data:
            return None
        loader = probe_loader(self._probes, fullname, spec.origin, spec.loader)
        if loader is None:
            return None  # another loader (zip, extension, a project's own) stays in charge
        spec.loader = loader
        return spec


def probe_loader(probes: Probes, fullname: str, path: str, loader: object) -> ProbeLoader | None:
    """The loader that compiles `path` with probes where `loader` would have loaded it:
    Python's own source loader, or pytest's (a test module or conftest.py, its asserts
    rewritten too); None for any other loader."""
    if type(loader) is SourceFileLoader:
        return ProbeLoader(fullname, path, probes, _real(path))
    rewriter = pytest_rewriter(loader)
    if rewriter is None:
        return None
    return ProbeLoader(fullname, path, probes, _real(path), rewriter)


def _spec_from_others(
    finder: _Finder, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> ModuleSpec | None:
    for other in list(sys.meta_path):
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec: ModuleSpec | None = other.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


class ProbeLoader(SourceFileLoader):
    """Compiles the file with probes, or takes the probed code kept from an earlier run
    (facts/probecache.py). Never where plain imports look: a later plain run must not
    find probed code."""

    def __init__(
        self,
        fullname: str,
        path: str,
        probes: Probes,
        real: str,
        rewriter: Rewriter | None = None,
    ) -> None:
        super().__init__(fullname, path)
        self._probes = probes
        self._real = real
        self._rewriter = rewriter  # pytest's assertion rewriting, for its test modules

    def get_code(self, fullname: str) -> CodeType:
        from pytest_tddgate.facts import probecache

        path = self.get_filename(fullname)
        probes, real, rewriter = self._probes, self._real, self._rewriter
        source = self.get_data(path)
        variant = ("branches" if probes.branches else "lines") + (
            f"-{rewriter.variant}" if rewriter is not None else ""
        )
        where = probecache.entry(path, variant)
        expected = probecache.key(source, real, variant)
        found = probecache.load(where, expected)
        if found is None:
            try:
                code, bodies = self._compile(source, path)
            except Exception as exc:  # whatever it is, the module must load
                return self._unprobed(fullname, source, path, exc)
            probecache.store(where, expected, code, bodies)
        else:
            code, bodies = found
        if probes.branches:
            probes.bodies[real] = bodies
        if rewriter is not None:
            rewriter.register(fullname, path)
        probes.compiled.add(real)
        return code

    def _unprobed(self, fullname: str, source: bytes, path: str, exc: Exception) -> CodeType:
        """The module's code without probes, as a plain import (or pytest's) makes it,
        when the probes could not be compiled in: the probes never make a module fail
        to import. A broken source raises here what a plain import raises. The file is
        then the tracer's to measure (`Probes.cannot_probe`)."""
        if self._rewriter is None:
            code = super().get_code(fullname)
        else:
            tree = ast.parse(source, path)
            self._rewriter.rewrite(tree, source, path)
            code = compile(tree, path, "exec", dont_inherit=True)
            self._rewriter.register(fullname, path)
        if code is None:  # mypy: a source file always has code
            raise ImportError(f"no code for {fullname}", name=fullname)
        self._probes.cannot_probe(self._real, f"{type(exc).__name__}: {exc}")
        return code

    def _compile(self, source: bytes, path: str) -> tuple[CodeType, Bodies]:
        probes, real = self._probes, self._real
        bodies: Bodies = {}
        # compiling warns of things like an invalid escape; a plain import warns once,
        # when it writes __pycache__, and this compiles on other runs too: never warn
        # here, or `filterwarnings = error` would fail the run
        with warnings.catch_warnings(), headroom():
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source, path)
            # branches first: the `if`s pytest's rewriting makes of asserts are not
            # branches of the source (coverage.py's parser never sees them)
            if probes.branches:
                bodies = instrument_branches(tree, probes.side_names[real])
            if self._rewriter is not None:  # before the line probes: it reads the asserts
                self._rewriter.rewrite(tree, source, path)
            code = compile(instrument(tree, probes.names[real]), path, "exec", dont_inherit=True)
        return code, bodies


@dataclass(frozen=True)
class Rewriter:
    """pytest's assertion rewriting, applied by `ProbeLoader` to a test module or
    conftest.py (see `pytest_rewriter`)."""

    rewrite_asserts: Callable[[ast.Module, bytes, str, Any], None]
    config: Any  # pytest's Config, as its loader passes it
    names: Any  # pytest's loader's record of the modules it rewrote
    variant: str  # what the rewritten code depends on: pytest's version, its options

    def rewrite(self, tree: ast.Module, source: bytes, path: str) -> None:
        self.rewrite_asserts(tree, source, path, self.config)

    def register(self, fullname: str, path: str) -> None:
        if isinstance(self.names, dict):  # as pytest's loader records it, for its checks
            self.names[fullname] = Path(path)


def pytest_rewriter(loader: object) -> Rewriter | None:
    """pytest's assertion rewriting, when `loader` is pytest's rewriting import hook;
    None for any other loader, or a pytest whose rewriting is not where this looks.

    pytest loads test modules and conftest.py with its own loader, which rewrites their
    asserts (so that a failure shows the values) and compiles them. Probes need to
    compile them too, and a module has one loader: so this loader does both, with
    pytest's own `rewrite_asserts` (not a documented API: when it is not found, the
    measurement uses a tracer for such a file, facts/coverage.py `_rewritten`).
    """
    rewriting = sys.modules.get("_pytest.assertion.rewrite")
    hook_type = getattr(rewriting, "AssertionRewritingHook", None)
    rewrite_asserts = getattr(rewriting, "rewrite_asserts", None)
    if hook_type is None or rewrite_asserts is None or not isinstance(loader, hook_type):
        return None
    config = getattr(loader, "config", None)
    try:
        passes = bool(config.getini("enable_assertion_pass_hook")) if config else False
    except (AttributeError, ValueError):
        passes = False
    version = getattr(sys.modules.get("pytest"), "__version__", "unknown")
    variant = f"pytest{version}{'-passhook' if passes else ''}"
    return Rewriter(rewrite_asserts, config, getattr(loader, "_rewritten_names", None), variant)


def loaded_by_pytest(path: str) -> bool:
    """Whether pytest imports this file with its own loader: conftest.py, and files
    named like its test modules."""
    from pytest_tddgate.facts.layout import PYTEST_TEST_FILES

    name = os.path.basename(path)  # noqa: PTH119 (a str in, a str out)
    return name == "conftest.py" or any(fnmatch.fnmatch(name, p) for p in PYTEST_TEST_FILES)


def rewrites_tests() -> bool:
    """Whether `pytest_rewriter` can work in this process (pytest is loaded, and its
    rewriting is where it looks)."""
    rewriting = sys.modules.get("_pytest.assertion.rewrite")
    return all(hasattr(rewriting, n) for n in ("AssertionRewritingHook", "rewrite_asserts"))


def module_name(path: str) -> str:
    """The last part of the name a file is imported by (`pkg` for `pkg/__init__.py`)."""
    file = Path(path)
    return file.parent.name if file.stem == "__init__" else file.stem


def _real(path: str) -> str:
    return os.path.realpath(path)


def _builtin_name(path: str) -> str:
    return f"__tddgate_lines_{hashlib.sha256(path.encode()).hexdigest()[:16]}__"


# -- instrumenting --------------------------------------------------------------------


def instrument(tree: ast.Module, name: str) -> ast.Module:
    """The module with probes that add to the set called `name`; line numbers and
    everything else as they were."""
    _Instrumenter(name).visit(tree)
    return tree


class _Instrumenter(ast.NodeVisitor):
    """Puts a probe before every statement of every body, depth first."""

    def __init__(self, name: str) -> None:
        self.name = name

    def visit_Module(self, node: ast.Module) -> None:
        if node.body:  # an empty file (an `__init__.py`) has nothing to probe
            node.body = self._body(node.body, module=True)

    def generic_visit(self, node: ast.AST) -> None:
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                setattr(node, field, self._body(body))
        for handler in getattr(node, "handlers", ()):
            self._handler(handler)
        if isinstance(node, ast.Match):
            self._match(node)

    def visit_If(self, node: ast.If) -> None:
        # an `elif` chain in a loop, not by recursion (see facts/branches.py `visit_If`)
        current: ast.If | None = node
        while current is not None:
            following = elif_of(current)
            current.body = self._body(current.body)
            if current.orelse:
                current.orelse = self._body(current.orelse, later=following)
            current = following

    def _body(
        self, body: list[ast.stmt], *, module: bool = False, later: ast.stmt | None = None
    ) -> list[ast.stmt]:
        """`body` with a probe before each statement, each visited but `later` (the
        caller visits it: the next `if` of an `elif` chain)."""
        # a docstring (and in a module, `from __future__` imports) must stay first:
        # they are probed right after themselves
        keep = 1 if is_docstring(body[0]) else 0
        while module and keep < len(body) and _is_future(body[keep]):
            keep += 1
        out: list[ast.stmt] = list(body[:keep])
        if keep:
            out.append(probe(self.name, [s.lineno for s in body[:keep]], body[keep - 1]))
        for statement in body[keep:]:
            if is_probe(statement):  # a branch's side probe (facts/branches.py)
                out.append(statement)
                continue
            out.append(probe(self.name, _header_lines(statement), statement))
            if statement is not later:
                self.visit(statement)
            out.append(statement)
        return out

    def _handler(self, handler: ast.ExceptHandler) -> None:
        # a typed `except` line runs its test whether or not it matches: probe the test
        if handler.type is not None:
            handler.type = _mark(self.name, handler.lineno, handler.type)
        handler.body = self._body(handler.body)
        handler.body.insert(0, probe(self.name, [handler.lineno], handler))

    def _match(self, node: ast.Match) -> None:
        # patterns are tried in order: reaching a case body means every case line up to
        # it ran; no case matching means every one ran
        seen: list[int] = []
        for case in node.cases:
            seen.append(case.pattern.lineno)
            case.body = self._body(case.body)
            case.body.insert(0, probe(self.name, seen, case.pattern))
        last = node.cases[-1]
        if last.guard is not None or not irrefutable(last.pattern):
            fallthrough = probe(self.name, seen, last.pattern)
            fallback = ast.match_case(ast.MatchAs(), None, [fallthrough])
            node.cases.append(ast.copy_location(fallback, last.pattern))
            ast.copy_location(fallback.pattern, last.pattern)


@contextlib.contextmanager
def headroom() -> Iterator[None]:
    """Room for compiling a tree as deep as the source Python compiles.

    `compile(source)` allows three times the recursion limit in nesting depth (CPython
    scales it for its compiler), `compile(tree)` only the limit itself, counted from
    the current depth: a 1,000-branch `elif` chain imports, but its tree would not
    compile. Walking the tree recurses over nested blocks too (an import can start
    deep in pytest's stack). On Python 3.11+ calls between Python functions take no C
    stack, and the compiler's own depth stays within what the source compile allows."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit * 3)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _mark(name: str, line: int, value: ast.expr) -> ast.expr:
    """`(<name>.add(line), value)[1]`: records the line, then is `value`."""
    probe = ast.Call(
        ast.Attribute(ast.Name(name, ast.Load()), "add", ast.Load()), [ast.Constant(line)], []
    )
    pair = ast.Tuple([probe, value], ast.Load())
    index = ast.Constant(1)
    marked = ast.Subscript(pair, index, ast.Load())
    for new in (pair, marked, index, *ast.walk(probe)):
        ast.copy_location(new, value)
    return marked


def _header_lines(statement: ast.stmt) -> list[int]:
    lines = [statement.lineno]
    decorators: list[Any] = getattr(statement, "decorator_list", [])
    lines.extend(d.lineno for d in decorators)
    return lines


def _is_future(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.ImportFrom) and statement.module == "__future__"
