"""Which files are implementation, which are tests, and which tests map to which file.

A test T maps to an implementation file F through any of four sources, and every
link says which ones:

- `matrix`: a requirement of the traceability matrix lists F in `code` and T in
  `tests`, or T marks itself with `@pytest.mark.req` for that requirement;
- `naming`: T's name follows `gates.tdd.naming` for F's stem (`test_{stem}.py`);
- `imports`: T imports F's module (read with `ast`: absolute, relative and
  `importlib.import_module("...")` imports, and names an `__init__.py` re-exports);
- `coverage`: T executed lines of F in the last recorded run (per-test contexts).

The work is proportional to the files a range touches: each test file is read and
parsed at most once, and the test folders are only listed when a question needs
every test (`all_links`, for `mode = "existence"` and for refactors).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pytest_tddgate.facts.covdata import CoverageFacts, load_test_map
from pytest_tddgate.facts.pyast import ImportRef, Summary, summarize
from pytest_tddgate.globs import compiled

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.settings import Settings

SOURCES = ("matrix", "naming", "imports", "coverage")
PYTEST_TEST_FILES = ("test_*.py", "*_test.py")
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


def normalize(path: str) -> str:
    """A path as the gates compare them: `/`-separated, no leading `./`."""
    text = path.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/")


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(f in ("", ".") or path == f or path.startswith(f + "/") for f in folders)


class Layout:
    """Classifies root-relative paths: implementation file, test file, exempt."""

    def __init__(self, settings: Settings) -> None:
        tdd = settings.tdd
        self.root = settings.root
        self.source_roots = tuple(normalize(r) for r in settings.source_roots)
        self.test_roots = tuple(normalize(r) for r in settings.test_roots)
        # `testpaths = ["."]` makes every folder a test folder; then only test-named
        # files are tests, or nothing would be implementation
        self._test_folders = tuple(r for r in self.test_roots if r not in ("", "."))
        self.naming = tuple(tdd.naming)
        self.exempt = compiled(tuple(tdd.exempt))
        name_globs = [t.replace("{stem}", "*") for t in self.naming if "/" not in t]
        self._test_names = compiled((*PYTEST_TEST_FILES, *name_globs))
        self._init_code: dict[str, bool] = {}

    def is_test_module(self, path: str) -> bool:
        """A file pytest would collect tests from: `test_*.py`, `*_test.py`, or a name
        of the naming convention."""
        return path.endswith(".py") and self._test_names.matches(PurePosixPath(path).name)

    def is_test(self, path: str) -> bool:
        """Test code: a test module anywhere, or any Python file under the test roots."""
        return path.endswith(".py") and (
            _under(path, self._test_folders) or self.is_test_module(path)
        )

    def exempt_reason(self, path: str) -> str | None:
        """Why an implementation candidate needs no test, or None."""
        if self.exempt.matches(path):
            return "matches gates.tdd.exempt"
        if PurePosixPath(path).name == "__init__.py" and not self.init_has_code(path):
            return "__init__.py without code"
        return None

    def is_source(self, path: str) -> bool:
        return path.endswith(".py") and _under(path, self.source_roots)

    def is_implementation(self, path: str) -> bool:
        """A Python file under the source roots that is not a test and not exempt."""
        return self.is_source(path) and not self.is_test(path) and self.exempt_reason(path) is None

    def init_has_code(self, path: str) -> bool:
        if path not in self._init_code:
            try:
                source = (self.root / path).read_bytes()
            except OSError:  # gone from the working tree: nothing to test in it
                source = b""
            self._init_code[path] = summarize(source).has_code
        return self._init_code[path]


class Resolver:
    """Module names <-> root-relative files under the source roots, found by `stat`."""

    def __init__(self, root: Path, source_roots: tuple[str, ...]) -> None:
        self.root = root
        self.source_roots = source_roots
        bases: list[str] = []
        for source in source_roots:
            # a root that is itself a package (flat layout) holds its modules one level down
            base = (
                source
                if not (root / source / "__init__.py").is_file()
                else normalize(str(PurePosixPath(source).parent))
            )
            bases.append("" if base in (".", "") else base)
        self.bases = tuple(dict.fromkeys(bases))
        self._files: dict[str, str | None] = {}

    def module_file(self, folder: str, dotted: str) -> str | None:
        """`folder/a/b.py` or `folder/a/b/__init__.py` if it exists under a source root."""
        key = f"{folder}\0{dotted}"
        if key not in self._files:
            self._files[key] = self._find(folder, dotted)
        return self._files[key]

    def _find(self, folder: str, dotted: str) -> str | None:
        stem = "/".join(part for part in (folder, dotted.replace(".", "/")) if part)
        if not stem:
            return None
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if _under(candidate, self.source_roots) and (self.root / candidate).is_file():
                return candidate
        return None

    def package_init(self, folder: str) -> str | None:
        candidate = f"{folder}/__init__.py" if folder else "__init__.py"
        if _under(candidate, self.source_roots) and (self.root / candidate).is_file():
            return candidate
        return None

    def absolute(self, dotted: str) -> str | None:
        for base in self.bases:
            found = self.module_file(base, dotted)
            if found:
                return found
        return None

    def module_name(self, path: str) -> str | None:
        """`src/pkg/mod.py` -> `pkg.mod` (None outside the source roots)."""
        for base in self.bases:
            if base and not path.startswith(base + "/"):
                continue
            inner = PurePosixPath(path[len(base) + 1 :] if base else path)
            parts = list(inner.with_suffix("").parts)
            if parts and parts[-1] == "__init__":
                parts.pop()
            if parts:
                return ".".join(parts)
        return None


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
        return tuple(r for r, paths in self.code.items() if _under(impl, paths))


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
    ) -> None:
        self.layout = Layout(settings)
        self.root = settings.root
        self.resolver = Resolver(self.root, self.layout.source_roots)
        self.matrix = Matrix.read(settings.path(settings.project.matrix))
        self._covered = _coverage_map(self.root, coverage)
        self._run_requirements = dict(run_requirements or {})
        self._summaries: dict[str, Summary] = {}
        self._texts: dict[str, bytes] = {}
        self._imports: dict[str, frozenset[str]] = {}
        self._exports: dict[tuple[str, str, int], frozenset[str]] = {}
        self._universe: tuple[str, ...] | None = None

    def links(self, impl: str, tests: Iterable[str], *, cheap: bool = False) -> dict[str, Link]:
        """The tests among `tests` that map to `impl`, with their sources; `cheap`
        leaves out `imports` (and `req` marks), which would read every test."""
        requirements = self.matrix.requirements_of(impl)
        found: dict[str, Link] = {}
        for test in tests:
            link = self._link(impl, test, requirements, cheap=cheap)
            if link is not None:
                found[test] = link
        return found

    def all_links(self, impl: str) -> dict[str, Link]:
        """Every existing test that maps to `impl` (lists the test folders once)."""
        requirements = self.matrix.requirements_of(impl)
        explicit = {t for r in requirements for t in self.matrix.tests.get(r, ())}
        explicit |= {t for t, files in self._covered.items() if impl in files}
        tokens = self._tokens(impl, requirements)
        found: dict[str, Link] = {}
        for test in sorted(set(self.universe()) | {t for t in explicit if self._exists(t)}):
            if (
                test not in explicit
                and not self._naming(impl, test)
                and not any(token in self._text(test) for token in tokens)
            ):
                continue  # cannot import it or mark its requirement: no need to parse
            link = self._link(impl, test, requirements)
            if link is not None:
                found[test] = link
        return found

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
                    found += [
                        f"{rel}/{name}" if rel not in ("", ".") else name
                        for name in filenames
                        if self.layout.is_test_module(name)
                    ]
            self._universe = tuple(sorted(set(found)))
        return self._universe

    def _link(
        self, impl: str, test: str, requirements: tuple[str, ...], *, cheap: bool = False
    ) -> Link | None:
        sources: list[str] = []
        reqs = self._matrix_requirements(test, requirements, cheap)
        if reqs:
            sources.append("matrix")
        if self._naming(impl, test):
            sources.append("naming")
        if not cheap and self.layout.is_test_module(test) and impl in self.import_targets(test):
            sources.append("imports")
        if impl in self._covered.get(test, ()):
            sources.append("coverage")
        return Link(test, tuple(sources), reqs) if sources else None

    def _matrix_requirements(
        self, test: str, requirements: tuple[str, ...], cheap: bool
    ) -> tuple[str, ...]:
        if not requirements:
            return ()
        marked = set(self._run_requirements.get(test, ()))
        if not cheap and self.layout.is_test_module(test):
            marked |= set(self.summary(test).requirements)
        return tuple(r for r in requirements if test in self.matrix.tests.get(r, ()) or r in marked)

    def _naming(self, impl: str, test: str) -> bool:
        stem = _stem(impl)
        for template in self.layout.naming:
            expected = template.replace("{stem}", stem)
            if "/" in expected:
                if compiled((expected,)).matches(test):
                    return True
            elif PurePosixPath(test).name == expected:
                return True
        return False

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
        """Implementation-side files the test imports (before classification)."""
        if test not in self._imports:
            folder = normalize(str(PurePosixPath(test).parent))
            targets: set[str] = set()
            for ref in self.summary(test).imports:
                targets |= self._resolve(ref, "" if folder == "." else folder, _REEXPORT_DEPTH)
            self._imports[test] = frozenset(targets)
        return self._imports[test]

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
        for name, _ in ref.names:
            sub = self.resolver.module_file(package_dir, name) if name != "*" else None
            if sub and (module is None or module.endswith("__init__.py")):
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
            self._summaries[path] = summarize(self._text(path))
        return self._summaries[path]

    def _text(self, path: str) -> bytes:
        if path not in self._texts:
            try:
                self._texts[path] = (self.root / path).read_bytes()
            except OSError:
                self._texts[path] = b""
        return self._texts[path]

    def _exists(self, path: str) -> bool:
        return (self.root / path).is_file()


def _stem(impl: str) -> str:
    """`pkg/foo.py` -> `foo`; a package's `pkg/__init__.py` -> `pkg`."""
    path = PurePosixPath(impl)
    return path.parent.name if path.name == "__init__.py" else path.stem


def _coverage_map(root: Path, coverage: CoverageFacts | None) -> dict[str, set[str]]:
    """test file -> implementation files it executed: the last recorded run, plus the
    current run's per-test contexts when coverage ran with them."""
    covered = {
        normalize(t): {normalize(f) for f in files} for t, files in load_test_map(root).items()
    }
    if coverage is not None:
        for nodeid, files in coverage.contexts.items():
            test = normalize(nodeid.split("::", 1)[0])
            covered.setdefault(test, set()).update(
                normalize(f) for f, lines in files.items() if lines
            )
    return covered


def mapper(facts: Facts) -> Mapper:
    """The run's mapper, shared by every gate that asks which tests cover a file."""
    coverage = facts.provided.get("coverage")
    run_requirements: dict[str, tuple[str, ...]] = {}
    if facts.test_run is not None:
        for outcome in facts.test_run.outcomes:
            if outcome.requirements:
                test = normalize(outcome.nodeid.split("::", 1)[0])
                run_requirements[test] = (*run_requirements.get(test, ()), *outcome.requirements)
    return Mapper(
        facts.settings,
        coverage=coverage if isinstance(coverage, CoverageFacts) else None,
        run_requirements=run_requirements,
    )
