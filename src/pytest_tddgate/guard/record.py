"""Records the outcome of every test file a pytest run ran, for the guard's red
evidence, in projects where the guard is set up (the folder `.tddgate/guard/`
exists; `tddgate init --agent claude` and the guard's first event create it).

A pytest plugin that costs one folder check in other projects: without that folder
nothing is registered, and pytest stays plain pytest. It writes one small JSON file
(guard/outcomes.py) at the end of the session, on the controller only (xdist
workers send their reports to it). pytest is not imported: the hooks are plain
functions, which pluggy matches by name.

Loaded by `-p pytest_tddgate.guard.record` (the environment `tddgate init --agent
claude` gives the agent sets it in `PYTEST_ADDOPTS`), or by `register(config)`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.guard.outcomes import STORE, FileRun, digest, merge, read_store

if TYPE_CHECKING:
    import pytest

GUARD_DIR = ".tddgate/guard"
PLUGIN_NAME = "tddgate-guard-record"


def set_up(root: Path) -> bool:
    return (root / GUARD_DIR).is_dir()


def register(config: pytest.Config) -> None:
    """Record outcomes in this run when the project has the guard set up."""
    if hasattr(config, "workerinput"):
        return  # the controller sees every report and writes the record once
    if config.pluginmanager.has_plugin(PLUGIN_NAME) or not set_up(config.rootpath):
        return
    config.pluginmanager.register(Recorder(config.rootpath), PLUGIN_NAME)


def pytest_configure(config: pytest.Config) -> None:
    register(config)


class Recorder:
    """Collects which test files ran and which of their tests failed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started = time.time()
        self.failed: dict[str, list[str]] = {}
        self.ran: dict[str, set[str]] = {}

    def _file(self, nodeid: str) -> str:
        return nodeid.split("::", 1)[0]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.ran.setdefault(self._file(report.nodeid), set()).add(report.nodeid)
        failed = self.failed.setdefault(self._file(report.nodeid), [])
        if report.failed and report.nodeid not in failed:
            failed.append(report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # a test module that fails to import (the module it tests does not exist yet)
        # is a red test: its collection error counts as its failure
        if report.failed and report.nodeid.endswith(".py"):
            self.failed.setdefault(report.nodeid, []).append(report.nodeid)

    def pytest_sessionfinish(self, session: Any) -> None:
        runs = {}
        for test, failed in self.failed.items():
            try:
                data = (self.root / test).read_bytes()
            except OSError:
                continue  # a node id that is not a file of this project
            ran = frozenset(self.ran.get(test, ()))
            runs[test] = FileRun(self.started, digest(data), ran, tuple(failed))
        if not runs:
            return
        import json

        from pytest_tddgate.fsutil import atomic_write_text

        text = json.dumps(merge(read_store(self.root), runs), indent=1, sort_keys=True)
        try:
            atomic_write_text(self.root / STORE, text + "\n")
        except OSError as exc:  # a read-only checkout: the run itself must not fail
            print(f"tddgate guard: could not record test outcomes: {exc}", file=sys.stderr)
