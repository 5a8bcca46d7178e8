"""Subcommands of the `tddgate` command, one module each (see cli.py), and what
they share: finding the project and reading its settings the way pytest would.

pytest is never imported here: `tddgate check` is a pre-commit hook, so pytest's
configuration files are read directly.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.settings import Overrides, Settings


def project_settings(root: Path | None, overrides: Overrides | None = None) -> Settings:
    """Settings of the project at `root` (a `--root` option), or of the project pytest
    would find from the current folder (see `find_root`)."""
    from pathlib import Path

    from pytest_tddgate.errors import UsageError
    from pytest_tddgate.settings import resolve

    if root is None:
        root, testpaths = find_root(Path.cwd())
    elif root.is_dir():
        testpaths = pytest_testpaths(root) or []
    else:
        raise UsageError(f"project root {root} is not a folder", fix="pass an existing --root")
    return resolve(root, overrides=overrides, testpaths=testpaths)


def find_root(start: Path) -> tuple[Path, list[str]]:
    """The project root as `pytest --tddgate` finds it (projectroot.py: the nearest
    `[tool.tddgate]`, else project files, within the git checkout) and pytest's
    `testpaths` there."""
    from pytest_tddgate.projectroot import find_project_root

    root = find_project_root(start, fallback=start).path
    return root, pytest_testpaths(root) or []


def pytest_testpaths(folder: Path) -> list[str] | None:
    """`testpaths` of the pytest configuration in `folder`, in pytest's order of
    precedence; None when `folder` holds no pytest configuration."""
    for name, section in (("pytest.ini", "pytest"), (".pytest.ini", "pytest")):
        if (folder / name).is_file():
            return _ini_testpaths(folder / name, section) or []
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        return _toml_testpaths(pyproject)
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        found = _ini_testpaths(folder / name, section) if (folder / name).is_file() else None
        if found is not None:
            return found
    return None


def _ini_testpaths(path: Path, section: str) -> list[str] | None:
    import configparser
    import shlex

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None  # pytest itself reports a broken ini file
    if not parser.has_section(section):
        return None
    return shlex.split(parser.get(section, "testpaths", fallback=""))


def _toml_testpaths(path: Path) -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # settings.resolve reads the same file and reports the error with exit 4
    value = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("testpaths", [])
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value] if isinstance(value, list) else []
