"""The project root: where the settings, the source roots, the coverage configuration,
the report and the ledger are found. One rule, used by every part of a run.

pytest's own rootdir is not it: pytest takes the folder of the first ini file it meets
above the paths it is given, so `pytest tests` in a project with a `tests/pytest.ini`
has `tests/` as its rootdir, and `pytest -k x` the top of the project. The gates must
judge the same project either way. The rule:

1. start from the folder that holds every path pytest was given (the folder pytest
   runs in when it was given none);
2. walk up to the nearest folder whose `pyproject.toml` has a `[tool.tddgate]` table
   (explicit settings win: a monorepo configured once at its top is one project);
3. else to the nearest folder with project files (`pyproject.toml`, `setup.py`,
   `setup.cfg`, `tox.ini`): each project of a monorepo is its own root;
4. else to the nearest `pytest.ini` (last: projects keep one in `tests/` too);
5. the walk stops at the top of the git checkout (the folder holding `.git`), which is
   the root when nothing nearer is; outside git, it goes up to the file system's root;
6. nothing found: pytest's rootdir (the folder of its ini file).

Imports no pytest: `tddgate` commands use the same rule from the current folder.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini")
PYTEST_FILES = ("pytest.ini", ".pytest.ini")
SETTINGS_MARKER = "pyproject.toml [tool.tddgate]"
# a pyproject.toml that is not valid TOML still says where the settings are meant to
# be; settings.resolve reports the syntax error with its line
_TABLE = re.compile(r"^\s*\[\[?\s*tool\s*\.\s*tddgate\b", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ProjectRoot:
    """The folder judged as the project, and what made it the root."""

    path: Path
    marker: str | None  # e.g. "pyproject.toml", ".git"; None: pytest's rootdir

    def describe(self) -> str:
        if self.marker is None:
            return "pytest's rootdir: no project file or git checkout above"
        if self.marker == ".git":
            return "the top of the git checkout"
        return f"nearest {self.marker}"


def find_project_root(start: Path, fallback: Path) -> ProjectRoot:
    """The project root for the tests under `start` (see the module docstring);
    `fallback` (pytest's rootdir) when no folder above `start` marks a project."""
    start = Path(os.path.realpath(start))
    chain: list[Path] = []
    for folder in (start, *start.parents):
        chain.append(folder)
        if (folder / ".git").exists():  # a folder, or a file in worktrees and submodules
            break
    for folder in chain:
        if has_settings(folder / "pyproject.toml"):
            return ProjectRoot(folder, SETTINGS_MARKER)
    for names in (PROJECT_FILES, PYTEST_FILES):
        for folder in chain:
            marker = next((name for name in names if (folder / name).is_file()), None)
            if marker is not None:
                return ProjectRoot(folder, marker)
    if (chain[-1] / ".git").exists():
        return ProjectRoot(chain[-1], ".git")
    return ProjectRoot(Path(os.path.realpath(fallback)), None)


def has_settings(pyproject: Path) -> bool:
    try:
        text = pyproject.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return False
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        return _TABLE.search(text) is not None
    return isinstance(tool, dict) and "tddgate" in tool


def pytest_project_root(config: Any) -> ProjectRoot:
    """The project root of a pytest run (`config`: pytest's Config, early or not)."""
    fallback = config.inipath.parent if config.inipath else config.rootpath
    return find_project_root(tests_folder(config), Path(fallback))


def tests_folder(config: Any) -> Path:
    """The folder holding every path pytest was given; where it runs, given none.

    Read from the command line as given, not from pytest's rootdir, so that `-k`, a
    path and an ini file in a subfolder all lead to the same project.
    """
    here = Path(config.invocation_params.dir)
    given = getattr(config.known_args_namespace, "file_or_dir", None) or []
    paths = []
    for arg in given:
        candidate = here / str(arg).split("::", 1)[0]
        if candidate.exists():  # not a path: `--pyargs` module names
            paths.append(os.path.realpath(candidate if candidate.is_dir() else candidate.parent))
    if not paths:
        return here
    try:
        return Path(os.path.commonpath(paths))
    except ValueError:  # Windows: paths on different drives
        return here


def project_testpaths(config: Any, root: Path) -> list[str]:
    """pytest's `testpaths` relative to the project root: the root's own pytest
    configuration first (the same whichever ini pytest picked), else the picked one's,
    whose entries are relative to pytest's rootdir."""
    from pytest_tddgate.commands import pytest_testpaths

    own = pytest_testpaths(root)
    if own is not None:
        return own
    rootdir = Path(config.rootpath)
    mapped = []
    for entry in config.getini("testpaths") or []:
        rel = os.path.relpath(os.path.normpath(rootdir / entry), root)
        if not rel.startswith(".."):
            mapped.append(rel.replace(os.sep, "/"))
    return mapped


@dataclass(frozen=True, slots=True)
class NodeIds:
    """pytest's node ids and locations are relative to its rootdir; the gates read
    them relative to the project root (`tests/test_a.py::t`, whatever the rootdir)."""

    rootdir: str
    root: str

    @classmethod
    def between(cls, rootdir: Path, root: Path) -> NodeIds:
        return cls(os.path.realpath(rootdir), os.path.realpath(root))

    def project(self, nodeid: str) -> str:
        """`nodeid` relative to the project root; unchanged when outside it."""
        if self.rootdir == self.root or not nodeid:
            return nodeid
        path, sep, rest = nodeid.partition("::")
        rel = os.path.relpath(os.path.normpath(Path(self.rootdir, path)), self.root)
        if rel == ".." or rel.startswith(".." + os.sep):
            return nodeid
        return rel.replace(os.sep, "/") + sep + rest
