"""Which tests map to which implementation file, and why (facts/layout.py says which
files are which).

A test T maps to an implementation file F through any of four sources, and every
link says which ones:

- `matrix`: a requirement of the traceability matrix lists F in `code` and T in
  `tests`, or T marks itself with `@pytest.mark.req` for that requirement;
- `naming`: T's name follows `gates.tdd.naming` for F's stem (`test_{stem}.py`), with
  or without the leading underscores of a private module's stem;
- `imports`: T imports F's module (read with `ast`: absolute, relative and
  `importlib.import_module("...")` imports, and names an `__init__.py` re-exports),
  or F is the `__init__.py` of a package holding a module T imports,
  or a module T imports loads F by a computed name (`import_module(f".t{v}", __name__)`);
- `import-time`: all of F's code runs when it is imported (no function in it), and
  T's imports load it, through the project's modules' own top-level imports;
- `coverage`: T executed lines of F in the last recorded run (per-test contexts).

The work is proportional to the files a range touches: each test file is read and
parsed at most once, and the test folders are only listed when a question needs
every test (`all_links`, for `mode = "existence"` and for refactors).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.facts.covdata import CoverageFacts, load_test_map
from pytest_tddgate.facts.layout import (
    Layout,
    Resolver,
    basename,
    normalize,
    under,
)
from pytest_tddgate.facts.pyast import CACHE as PARSE_CACHE
from pytest_tddgate.facts.pyast import ImportRef, Summary, SummaryCache, function_lines
from pytest_tddgate.globs import compiled

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.settings import Settings

SOURCES = ("matrix", "naming", "imports", "import-time", "coverage")
_REEXPORT_DEPTH = 3
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True, slots=True)
class Link:
    """Test `test` maps to an implementation file through `sources` (in SOURCES order)."""

    test: str
    sources: tuple[str, ...]
    requirements: tuple[str, ...] = ()  # the requirements behind a `matrix` link

    def label(self) -> str:
        """`naming, imports` or `matrix REQ-1, naming` for findings."""
        parts = [
            f"matrix {', '.join(self.requirements)}" if s == "matrix" and self.requirements else s
            for s in self.sources
        ]
        return ", ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "test": self.test,
            "sources": list(self.sources),
            "requirements": list(self.requirements),
        }


@dataclass(frozen=True, slots=True)
class Matrix:
    """The parts of the traceability matrix the mapping needs, read leniently: the
    traceability gate validates the file and reports what is wrong with it."""

    code: Mapping[str, tuple[str, ...]]  # requirement id -> code paths (or folders)
    tests: Mapping[str, tuple[str, ...]]  # requirement id -> test files

    @classmethod
    def read(cls, path: Path) -> Matrix:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls({}, {})
        items = data.get("requirements") if isinstance(data, dict) else data
        code: dict[str, tuple[str, ...]] = {}
        tests: dict[str, tuple[str, ...]] = {}
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            code[item["id"]] = _strings(item.get("code"))
            tests[item["id"]] = tuple(t.split("::", 1)[0] for t in _strings(item.get("tests")))
        return cls(code, tests)

    def requirements_of(self, impl: str) -> tuple[str, ...]:
        return tuple(r for r, paths in self.code.items() if under(impl, paths))


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(normalize(v) for v in value if isinstance(v, str) and v.strip())


class Mapper:
    """Answers "which tests map to F, and through which sources" with cached reads."""

    def __init__(
        self,
        settings: Settings,
        *,
        coverage: CoverageFacts | None = None,
        run_requirements: Mapping[str, tuple[str, ...]] | None = None,
        changed: Callable[[], Mapping[str, frozenset[int]]] | None = None,
    ) -> None:
        self._parsed = SummaryCache(settings.root / PARSE_CACHE)
        self.layout = Layout(settings, self._parsed)
        self.root = settings.root
        self.resolver = Resolver(self.root, self.layout.source_roots)
        self.matrix = Matrix.read(settings.path(settings.project.matrix))
        self._covered = _coverage_map(self.root, coverage)
        self._run_lines = _RunLines(coverage, changed)
        # set by the tdd gate: the lines (as the file is now) a test must have run to be
        # credited with the change it judges
        self.change_lines: Callable[[str], frozenset[int] | None] | None = None
        self._bodies: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
        self._run_requirements = dict(run_requirements or {})
        self._summaries: dict[str, Summary] = {}
        self._texts: dict[str, bytes] = {}
        self._imports: dict[str, frozenset[str]] = {}
        self._loaded: dict[str, frozenset[str]] = {}
        self._inits: dict[str, tuple[str, ...]] = {}  # folder -> its packages' __init__.py
        self._exports: dict[tuple[str, str, int], frozenset[str]] = {}
        self._universe: tuple[str, ...] | None = None
        self._covering: dict[str, set[str]] | None = None
        self._universe_index: TestIndex | None = None
        self._flat_naming = tuple(t for t in self.layout.naming if "/" not in t)
        self._folder_naming = tuple(t for t in self.layout.naming if "/" in t)
        self._names: dict[str, frozenset[str]] = {}

    def warm(self) -> None:
        """Load the parse cache now (the `tdd` gate does it while git reads the range)."""
        self._parsed.load()

    def prepare(self, paths: Iterable[str]) -> None:
        """Read the imports of the test modules among `paths` now, so that an index of
        them later costs dictionary reads (the `tdd` gate does it while git writes
        the log that names them)."""
        layout = self.layout
        for path in paths:
            if path not in self._imports and layout.is_test(path) and layout.is_test_module(path):
                self.import_targets(path)

    def links(self, impl: str, tests: Iterable[str]) -> dict[str, Link]:
        """The tests among `tests` that map to `impl`, with their sources."""
        return TestIndex(self, tests, cheap=False).links(impl)

    def index(self, tests: Iterable[str]) -> TestIndex:
        """An index of `tests`, to ask for the tests of many files at one cost."""
        return TestIndex(self, tests, cheap=False)

    def known_links(self, impl: str) -> dict[str, Link]:
        """Tests under the test roots that map to `impl` by a source that needs no
        parsing (naming, matrix lists, coverage): cheap enough for every finding."""
        return self.known_index().links(impl)

    def known_index(self) -> TestIndex:
        """The index `known_links` reads: every test under the test roots, listed once
        (the `tdd` gate builds it while git is still writing the log)."""
        if self._universe_index is None:
            self._universe_index = TestIndex(self, self.universe(), cheap=True)
        return self._universe_index

    def all_links(self, impl: str) -> dict[str, Link]:
        """Every existing test that maps to `impl` (lists the test folders once)."""
        requirements = self.matrix.requirements_of(impl)
        explicit = {t for r in requirements for t in self.matrix.tests.get(r, ())}
        explicit |= self.covering(impl)
        tokens = self._tokens(impl, requirements)
        names = self.expected_names(impl)
        candidates = [
            test
            for test in sorted(set(self.universe()) | {t for t in explicit if self._exists(t)})
            # a test that neither names nor mentions the module cannot map to it: not parsed
            if test in explicit
            or basename(test) in names
            or any(token in self._text(test) for token in tokens)
        ]
        return TestIndex(self, candidates, cheap=False).links(impl)

    def universe(self) -> tuple[str, ...]:
        """Every test module under the test roots, listed once."""
        if self._universe is None:
            found: list[str] = []
            for folder in self.layout.test_roots:
                for dirpath, dirnames, filenames in os.walk(self.root / folder):
                    dirnames[:] = [
                        d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS
                    ]
                    rel = normalize(os.path.relpath(dirpath, self.root))
                    names = self.layout.test_modules(filenames)
                    found += [f"{rel}/{n}" for n in names] if rel not in ("", ".") else names
            self._universe = tuple(sorted(set(found)))
        return self._universe

    def expected_names(self, impl: str) -> frozenset[str]:
        """Test file names the naming convention gives `impl` (templates without `/`)."""
        stem = _stem(impl)
        names = self._names.get(stem)
        if names is None:  # asked for each file twice or more, and many share a stem
            names = frozenset(
                t.replace("{stem}", s) for s in _stems(stem) for t in self._flat_naming
            )
            self._names[stem] = names
        return names

    def path_templates(self, impl: str) -> tuple[str, ...]:
        """Naming templates with a folder, as globs for `impl`'s whole test path."""
        if not self._folder_naming:  # the usual case
            return ()
        stems = _stems(_stem(impl))
        return tuple(t.replace("{stem}", s) for s in stems for t in self._folder_naming)

    def covering(self, impl: str) -> set[str]:
        """Tests that executed `impl` in the recorded run or in this one."""
        if self._covering is None:
            self._covering = {}
            for test, files in self._covered.items():
                for file in files:
                    self._covering.setdefault(file, set()).add(test)
        return self._covering.get(impl, set()) | self._run_lines.tests(
            impl, self.function_lines, self.change_lines
        )

    def function_lines(self, impl: str) -> tuple[frozenset[int], frozenset[int]]:
        """The lines inside `impl`'s functions (those that run when they are called),
        and those of the statements outside them (they run at import)."""
        if impl not in self._bodies:
            self._bodies[impl] = function_lines(self._text(impl))
        return self._bodies[impl]

    def marks(self, test: str, *, cheap: bool) -> tuple[str, ...]:
        """Requirement ids the test claims: `@pytest.mark.req` in its source or its run."""
        marks = self._run_requirements.get(test, ())
        if not cheap and self.layout.is_test_module(test):
            marks = (*marks, *self.summary(test).requirements)
        return marks

    def _tokens(self, impl: str, requirements: tuple[str, ...]) -> set[bytes]:
        """Strings a test must contain to import `impl` or mark one of its requirements."""
        tokens = {_stem(impl), *requirements}
        module = self.resolver.module_name(impl)
        if module and "." in module:  # names its package re-exports from it
            package = self.resolver.absolute(module.rsplit(".", 1)[0])
            if package and package.endswith("__init__.py"):
                tokens |= {
                    alias
                    for ref in self.summary(package).imports
                    for name, alias in ref.names
                    if name != "*"
                }
                tokens |= set(self.summary(impl).defines)
        return {t.encode("utf-8") for t in tokens if t}

    def import_targets(self, test: str) -> frozenset[str]:
        """Implementation-side files the test imports (before classification), and
        those the test or the modules it imports load by a computed name."""
        if test not in self._imports:
            targets = self._targets(test, self.summary(test).imports)
            for source in (test, *targets):
                targets |= self._computed(source)
            self._imports[test] = frozenset(targets)
        return self._imports[test]

    def imported(self, test: str) -> frozenset[str]:
        """`import_targets` and the packages' `__init__.py` Python runs before any of
        them (cattrs a829300d: a test of `pkg.sub` tests what `pkg/__init__.py`
        defines as much as what `sub` does): the files the `imports` source maps."""
        targets = self.import_targets(test)
        packages = {init for target in targets for init in self._packages(target)}
        return targets | packages

    def _direct(self, test: str) -> set[str]:
        """The files the test module's own top-level imports load."""
        return self._targets(test, self.summary(test).loads)

    def _targets(self, path: str, refs: Iterable[ImportRef]) -> set[str]:
        folder = normalize(path.rpartition("/")[0])  # no Path: this runs for every test
        targets: set[str] = set()
        for ref in refs:
            targets |= self._resolve(ref, "" if folder == "." else folder, _REEXPORT_DEPTH)
        return targets

    def loaded(self, test: str) -> frozenset[str]:
        """The project's files that importing the test module runs: what it imports at
        its top, their packages' `__init__.py`, and, transitively, what those import at
        their top (not in functions, not under `if TYPE_CHECKING:`). A computed import
        runs when called, not at import: it is not followed."""
        if test not in self._loaded:
            seen: set[str] = set()
            todo = list(self._direct(test))
            while todo:
                path = todo.pop()
                if path in seen:
                    continue
                seen.add(path)
                todo += self._packages(path)
                todo += self._targets(path, self.summary(path).loads)
            self._loaded[test] = frozenset(seen)
        return self._loaded[test]

    def _packages(self, path: str) -> tuple[str, ...]:
        """The `__init__.py` files Python runs before it runs `path`."""
        folder = path.rpartition("/")[0]
        if path.endswith("/__init__.py"):
            folder = folder.rpartition("/")[0]
        found = self._inits.get(folder)
        if found is None:  # asked for every module each test imports: one stat a folder
            init = self.resolver.package_init(folder) if folder else None
            found = (init, *self._packages(init)) if init is not None else ()
            self._inits[folder] = found
        return found

    def runs_at_import(self, impl: str) -> bool:
        """Whether all of `impl`'s code runs when it is imported (no function)."""
        text = self._text(impl)
        if b"def" not in text and b"lambda" not in text:
            return True  # a table or constants: known without parsing it
        return self.summary(impl).import_time_only

    def _computed(self, path: str) -> set[str]:
        """The project's files `path` may load by a computed name: those of the package
        the name is relative to whose names start with the name's constant start."""
        text = self._text(path)
        if b"import_module" not in text and b"__import__" not in text:
            return set()  # most modules: read, never parsed for this
        computed = self.summary(path).computed
        if not computed:
            return set()
        own = self.resolver.module_name(path) or ""
        found: set[str] = set()
        for package, prefix in computed:
            full = _absolute_prefix(own, path.endswith("__init__.py"), package, prefix)
            if full is None or "." not in full:
                continue
            parent, _, start = full.rpartition(".")
            init = self.resolver.absolute(parent)
            if init is None or not init.endswith("__init__.py"):
                continue
            folder = init.rpartition("/")[0]
            found |= {
                f"{folder}/{name}"
                for name in self._listing(folder)
                if name.startswith(start) and name.endswith(".py") and name != "__init__.py"
            }
        return found

    def _listing(self, folder: str) -> list[str]:
        try:
            return sorted(os.listdir(self.root / folder))  # noqa: PTH208 (names, not paths)
        except OSError:
            return []

    def _resolve(self, ref: ImportRef, folder: str, depth: int) -> set[str]:
        """Files an import loads: the module, or the submodules / re-exports it names."""
        if ref.level:
            parts = folder.split("/") if folder else []
            up = ref.level - 1
            if up > len(parts):
                return set()
            base = "/".join(parts[: len(parts) - up])
            module = (
                self.resolver.module_file(base, ref.module)
                if ref.module
                else self.resolver.package_init(base)
            )
            package_dir = "/".join(p for p in (base, ref.module.replace(".", "/")) if p)
        else:
            module = self.resolver.absolute(ref.module)
            if module is None:  # not the project's (stdlib, a dependency)
                return set()
            package_dir = module.rsplit("/", 1)[0]
        if not ref.names:
            return {module} if module else set()
        targets: set[str] = set()
        package = module is None or module.endswith("__init__.py")
        for name, _ in ref.names:
            # only a package has submodules: `from pkg.mod import name` needs no lookup
            sub = self.resolver.module_file(package_dir, name) if package and name != "*" else None
            if sub:
                targets.add(sub)
            elif module:
                targets.add(module)
                if module.endswith("__init__.py") and depth > 0:
                    targets |= self._reexported(module, name, depth - 1)
        return targets

    def _reexported(self, init: str, name: str, depth: int) -> frozenset[str]:
        """The files an `__init__.py` takes `name` from (`from .mod import name`)."""
        key = (init, name, depth)
        if key not in self._exports:
            self._exports[key] = frozenset()  # guards against import cycles
            folder = init.rsplit("/", 1)[0]
            found: set[str] = set()
            for ref in self.summary(init).imports:
                for original, alias in ref.names:
                    if alias == name or original == "*":
                        chosen = ImportRef(ref.module, ref.level, ((original, alias),))
                        files = self._resolve(chosen, folder, depth)
                        if original == "*":
                            files = {f for f in files if name in self.summary(f).defines}
                        found |= files
            self._exports[key] = frozenset(found - {init})
        return self._exports[key]

    def summary(self, path: str) -> Summary:
        if path not in self._summaries:
            text = self._texts.get(path)
            self._summaries[path] = (
                self._parsed.summarize(text)
                if text is not None
                # a file's stat, not its text, when the last run saw it unchanged
                else self._parsed.summarize_file(os.path.join(self.root, path))  # noqa: PTH118
            )
        return self._summaries[path]

    def save(self) -> None:
        """Keep this run's parse results for the next run (see pyast.SummaryCache)."""
        self._parsed.save()

    def _text(self, path: str) -> bytes:
        if path not in self._texts:
            try:
                self._texts[path] = (self.root / path).read_bytes()
            except OSError:
                self._texts[path] = b""
        return self._texts[path]

    def _exists(self, path: str) -> bool:
        return (self.root / path).is_file()


def _absolute_prefix(own: str, package_init: bool, package: str, prefix: str) -> str | None:
    """The absolute dotted start of a computed module name, as `import_module` resolves
    it (None when it cannot tell)."""
    if package in ("__name__", "__package__"):
        package = own if package_init or package == "__name__" else own.rpartition(".")[0]
    if not prefix.startswith("."):
        return prefix if not package or prefix else package + "."
    level = len(prefix) - len(prefix.lstrip("."))
    if not package:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{prefix[level:]}"


def _stem(impl: str) -> str:
    """`pkg/foo.py` -> `foo`; a package's `pkg/__init__.py` -> `pkg`."""
    folder, _, name = impl.rpartition("/")
    if name == "__init__.py":
        return basename(folder)
    return name[:-3] if name.endswith(".py") else name.rpartition(".")[0] or name


def _stems(stem: str) -> tuple[str, ...]:
    """The stems a test name may use: a private module's `_calc` is tested in
    `test_calc.py` as often as in `test__calc.py` (httpx, pytest-mock, build)."""
    public = stem.lstrip("_")
    return (stem, public) if public and public != stem else (stem,)


class TestIndex:
    """A set of tests grouped by what links them to files, so that finding the tests
    of one file takes a few dictionary reads, not a pass over every test."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, mapper: Mapper, tests: Iterable[str], *, cheap: bool) -> None:
        self.mapper = mapper
        self.tests = frozenset(tests)
        self.by_name: dict[str, list[str]] = {}
        self.by_import: dict[str, list[str]] = {}
        self.by_mark: dict[str, list[str]] = {}
        self._links: dict[str, dict[str, Link]] = {}  # the gate asks twice per file
        self.cheap = cheap
        self.modules: list[str] = []  # the test modules, whose imports are read
        for test in sorted(self.tests):
            self.by_name.setdefault(basename(test), []).append(test)
            if not cheap and mapper.layout.is_test_module(test):
                self.modules.append(test)
                for target in mapper.imported(test):
                    self.by_import.setdefault(target, []).append(test)
            for requirement in mapper.marks(test, cheap=cheap):
                self.by_mark.setdefault(requirement, []).append(test)

    def links(self, impl: str) -> dict[str, Link]:
        if impl not in self._links:
            self._links[impl] = self._find(impl)
        return self._links[impl]

    def _find(self, impl: str) -> dict[str, Link]:
        mapper = self.mapper
        found: dict[str, set[str]] = {}
        requirements: dict[str, list[str]] = {}
        for requirement in mapper.matrix.requirements_of(impl):
            listed = [t for t in mapper.matrix.tests.get(requirement, ()) if t in self.tests]
            for test in (*listed, *self.by_mark.get(requirement, ())):
                found.setdefault(test, set()).add("matrix")
                if requirement not in requirements.setdefault(test, []):
                    requirements[test].append(requirement)
        named = [t for name in mapper.expected_names(impl) for t in self.by_name.get(name, ())]
        for template in mapper.path_templates(impl):
            named += [t for t in self.tests if compiled((template,)).matches(t)]
        for test in named:
            found.setdefault(test, set()).add("naming")
        for test in self.by_import.get(impl, ()):
            found.setdefault(test, set()).add("imports")
        if not self.cheap and mapper.runs_at_import(impl):
            for test in self.modules:
                if impl in mapper.loaded(test):
                    found.setdefault(test, set()).add("import-time")
        for test in mapper.covering(impl) & self.tests:
            found.setdefault(test, set()).add("coverage")
        return {
            test: Link(
                test, tuple(s for s in SOURCES if s in sources), tuple(requirements.get(test, ()))
            )
            for test, sources in sorted(found.items())
        }


def _coverage_map(root: Path, coverage: CoverageFacts | None) -> dict[str, set[str]]:
    """test file -> implementation files it executed, from the last recorded run. The
    files this run measured are left to this run's per-test lines (`_RunLines`) for
    the tests it ran; a test it did not run keeps what it ran last time, as
    `.tddgate/test-map.json` does (a run of one test file that imports F must not
    forget the tests of F it left out: build 48a62585)."""
    measured: set[str] = set()
    ran: set[str] = set()
    if coverage is not None:
        measured = {normalize(f) for f in coverage.files}
        ran = {normalize(nodeid.split("::", 1)[0]) for nodeid in coverage.contexts}
    mapped: dict[str, set[str]] = {}
    for test, files in load_test_map(root).items():
        key = normalize(test)
        mapped[key] = {normalize(f) for f in files} - (measured if key in ran else set())
    return mapped


class _RunLines:
    """This run's per-test lines, credited by file: a test is credited with a file
    when it ran what the change judged (the tdd gate's: the file's first change in
    the range; otherwise what the range changed) changed there: a changed line
    inside one of the file's functions, or, when the change was outside its
    functions (a constant, a class attribute the functions read), any line inside
    them.

    Lines outside functions are never credited: a module runs them when it is
    imported, once per process, in whichever test imports it first (or during
    collection, in none), so crediting them would make the mapping depend on the
    test order; the `import-time` source credits such code instead. And a test that
    ran only the file's other functions did not run its change: crediting it would
    let a test changed for something else stand for the change (rich 96dd4b60)."""

    def __init__(
        self,
        coverage: CoverageFacts | None,
        changed: Callable[[], Mapping[str, frozenset[int]]] | None,
    ) -> None:
        self._by_file: dict[str, list[tuple[str, frozenset[int]]]] = {}
        for nodeid, files in (coverage.contexts if coverage is not None else {}).items():
            test = normalize(nodeid.split("::", 1)[0])
            for file, lines in files.items():
                if lines:
                    self._by_file.setdefault(normalize(file), []).append((test, lines))
        self._changed_source = changed
        self._changed: Mapping[str, frozenset[int]] | None = None

    def tests(
        self,
        impl: str,
        regions: Callable[[str], tuple[frozenset[int], frozenset[int]]],
        judged: Callable[[str], frozenset[int] | None] | None = None,
    ) -> set[str]:
        """The tests credited with `impl`; `judged` gives the lines a test must have
        run for the change being judged, when known (otherwise what the range
        changed decides)."""
        runs = self._by_file.get(impl)
        if not runs:
            return set()
        inside, at_import = regions(impl)
        lines = judged(impl) if judged is not None else None
        if lines is not None:  # the lines that count, as the judge resolved them
            return {test for test, ran in runs if not ran.isdisjoint(lines)}
        changed = self._changed_lines(impl)
        if changed is None or not changed.isdisjoint(at_import):
            wanted = inside  # a constant the functions read changed: any of them counts
        else:
            wanted = changed & inside
        return {test for test, lines in runs if not lines.isdisjoint(wanted)}

    def _changed_lines(self, impl: str) -> frozenset[int] | None:
        """The lines the range changed in `impl` (None: unknown, every line counts)."""
        if self._changed is None:
            try:
                self._changed = self._changed_source() if self._changed_source else {}
            except (FactError, ToolError):
                self._changed = {}
        return self._changed.get(impl)


def mapper(facts: Facts) -> Mapper:
    """The run's mapper, shared by every gate that asks which tests cover a file."""
    coverage = facts.provided.get("coverage")
    run_requirements: dict[str, tuple[str, ...]] = {}
    if facts.test_run is not None:
        for outcome in facts.test_run.outcomes:
            if outcome.requirements:
                test = normalize(outcome.nodeid.split("::", 1)[0])
                run_requirements[test] = (*run_requirements.get(test, ()), *outcome.requirements)
    from pytest_tddgate.facts import diff

    return Mapper(
        facts.settings,
        coverage=coverage if isinstance(coverage, CoverageFacts) else None,
        run_requirements=run_requirements,
        changed=lambda: facts.get(diff.changed_lines),
    )
