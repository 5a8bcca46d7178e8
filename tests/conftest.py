from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import pytest_tddgate
from tests import fuzzkit
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


# Hypothesis profiles for the fuzz tests (tests/test_fuzz_*.py): "ci" by default, a
# few hundred inputs per target so the suite stays fast; TDDGATE_FUZZ=long runs
# 100,000 per parser (TDDGATE_FUZZ_EXAMPLES changes that; benchmarks/fuzz_long.py
# drives it and prints the counts).
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=fuzzkit.long_examples(),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("long" if fuzzkit.long_run() else "ci")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """After a fuzz run: how many inputs each target ran (also written as JSON when
    TDDGATE_FUZZ_COUNTS names a file), so a long run's coverage is on record."""
    if not fuzzkit.COUNTS:
        return
    fuzzkit.save_counts()
    if fuzzkit.long_run() or os.environ.get(fuzzkit.COUNTS_ENV):
        terminalreporter.section("fuzz inputs per target")
        for target, count in sorted(fuzzkit.COUNTS.items()):
            terminalreporter.write_line(f"{target:<40} {count:>9,}")
