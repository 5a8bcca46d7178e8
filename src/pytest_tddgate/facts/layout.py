"""Which files of a project are implementation, which are tests, and which module is
which file: the vocabulary the `tdd` and `roles` gates share (facts/mapping.py maps
tests to implementation files with it). Paths are relative to the project root and
`/`-separated; nothing here imports the project.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from pytest_tddgate.facts.pyast import summarize
from pytest_tddgate.globs import compiled

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from pytest_tddgate.facts.pyast import SummaryCache
    from pytest_tddgate.settings import Settings

PYTEST_TEST_FILES = ("test_*.py", "*_test.py")


def normalize(path: str) -> str:
    """A path as the gates compare them: `/`-separated, no leading `./`."""
    text = path.replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/")


def under(path: str, folders: Iterable[str]) -> bool:
    """True when `path` is one of `folders` or inside one (`""` and `.` hold everything)."""
    everything, exact, prefixes = _folders(tuple(folders))
    return everything or path in exact or path.startswith(prefixes)


@functools.lru_cache(maxsize=64)
def _folders(folders: tuple[str, ...]) -> tuple[bool, frozenset[str], tuple[str, ...]]:
    # asked for every path of the range, with the same few folders each time
    everything = any(f in ("", ".") for f in folders)
    return everything, frozenset(folders), tuple(f + "/" for f in folders)


class Layout:
    """Classifies root-relative paths: implementation file, test file, exempt."""

    def __init__(self, settings: Settings, parsed: SummaryCache | None = None) -> None:
        tdd = settings.tdd
        self._parsed = parsed
        self.root = settings.root
        self.source_roots = tuple(normalize(r) for r in settings.source_roots)
        self.test_roots = tuple(normalize(r) for r in settings.test_roots)
        # `testpaths = ["."]` makes every folder a test folder; then only test-named
        # files are tests, or nothing would be implementation
        self._test_folders = tuple(r for r in self.test_roots if r not in ("", "."))
        self.naming = tuple(tdd.naming)
        self.exempt = compiled(tuple(tdd.exempt))
        name_globs = [t.replace("{stem}", "*") for t in self.naming if "/" not in t]
        self._test_names = re.compile(
            "|".join(fnmatch.translate(g) for g in (*PYTEST_TEST_FILES, *name_globs))
        )
        self._init_code: dict[str, bool] = {}
        self._test_modules: dict[str, bool] = {}

    def is_test_module(self, path: str) -> bool:
        """A file pytest would collect tests from: `test_*.py`, `*_test.py`, or a name
        of the naming convention."""
        known = self._test_modules.get(path)
        if known is None:
            known = self._test_modules[path] = (
                path.endswith(".py") and self._test_names.match(basename(path)) is not None
            )
        return known

    def test_modules(self, names: Iterable[str]) -> list[str]:
        """The file names among `names` (no folder) that `is_test_module` accepts: one
        pass, for a folder listing of perhaps thousands."""
        match = self._test_names.match
        return [name for name in names if name.endswith(".py") and match(name) is not None]

    def is_test(self, path: str) -> bool:
        """Test code: a test module anywhere, or any Python file under the test roots."""
        return path.endswith(".py") and (
            under(path, self._test_folders) or self.is_test_module(path)
        )

    def exempt_reason(self, path: str) -> str | None:
        """Why an implementation candidate needs no test, or None."""
        if self.exempt.matches(path):
            return "matches gates.tdd.exempt"
        if basename(path) == "__init__.py" and not self.init_has_code(path):
            return "__init__.py without code"
        return None

    def is_source(self, path: str) -> bool:
        return path.endswith(".py") and under(path, self.source_roots)

    def is_implementation(self, path: str) -> bool:
        """A Python file under the source roots that is not a test and not exempt."""
        return self.is_source(path) and not self.is_test(path) and self.exempt_reason(path) is None

    def init_has_code(self, path: str) -> bool:
        if path not in self._init_code:
            # a file gone from the working tree summarizes as empty: nothing to test in it
            file = os.path.join(self.root, path)  # noqa: PTH118
            if self._parsed is not None:
                summary = self._parsed.summarize_file(file)
            else:
                try:
                    summary = summarize((self.root / path).read_bytes())
                except OSError:
                    summary = summarize(b"")
            self._init_code[path] = summary.has_code
        return self._init_code[path]


class Resolver:
    """Module names <-> root-relative files under the source roots, found by `stat`."""

    def __init__(self, root: Path, source_roots: tuple[str, ...]) -> None:
        self.root = root
        self._top = str(root) + os.sep  # string paths: this runs for every import of a test
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
            if under(candidate, self.source_roots) and is_file(self._top + candidate):
                return candidate
        return None

    def package_init(self, folder: str) -> str | None:
        candidate = f"{folder}/__init__.py" if folder else "__init__.py"
        if under(candidate, self.source_roots) and is_file(self._top + candidate):
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


def is_file(path: str) -> bool:
    # a string test, not Path.is_file(): it runs for every import of every test read
    return os.path.isfile(path)  # noqa: PTH113


def basename(path: str) -> str:
    return path.rpartition("/")[2]
