from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import pytest_tddgate
from tests.gitrepo import GitRepo

# pytester's in-process runs restore sys.modules after each run, so a module first
# imported inside one run would be imported afresh in the next, with new exception
# classes that no longer match the old ones. Importing every module up front keeps
# one copy of each for the whole test session.
for _module in pkgutil.walk_packages(pytest_tddgate.__path__, "pytest_tddgate."):
    importlib.import_module(_module.name)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """An empty git repository on branch `main`."""
    return GitRepo(tmp_path / "repo")
