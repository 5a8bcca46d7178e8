"""The changed files' measurement, with coverage.py in a helper process.

With `scope = "changed"` and line probes (facts/probes.py) nothing in the test
process traces: coverage.py is needed only to read the project's configuration (which
of the changed files the project measures, and whether probes can measure them) and
to analyse the probed lines after the tests. A helper process started with the
session does both, on another core (facts/covhelper.py), so that the test process
never imports coverage.py:

- its import (about 25 ms) and the analysis run beside the tests, not before and
  after them;
- its 77 modules are not in the test process, where tools like freezegun walk every
  loaded module at each `freeze_time()`. Measured on itsdangerous, whose suite freezes
  time 104 times: importing coverage.py costs that run 60-80 ms, three times its
  import.

The helper needs about 0.1 s of CPU to answer, longer than pytest takes to import the
project, so the test process does not wait for it: every changed module is compiled
with probes as it is imported, and the helper's answer is read when the collection
is done, before the first test runs. A configuration coverage.py rejects exits 4
there. When the answer is that a tracer must measure (facts/coverage.py `_no_probes`
says when), or the helper failed, the test process starts its own measurement there
and the probes go on measuring the modules they were compiled into. Changed test
modules are probed with their asserts rewritten as pytest does (facts/probes.py
`pytest_rewriter`); only where that cannot be done is the answer awaited before one
is imported, in case the tracer must see it run.

Under pytest-xdist every worker measures in its own process (covrun.py).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import FactError, ToolError, UsageError
from pytest_tddgate.facts.coverage import not_probed, unprobed_note
from pytest_tddgate.facts.probes import Probes, loaded_by_pytest, module_name, rewrites_tests
from pytest_tddgate.proc import Exchange

if TYPE_CHECKING:
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.covdata import FileCoverage
    from pytest_tddgate.facts.coverage import Plan
    from pytest_tddgate.facts.covreport import CoverageSummary
    from pytest_tddgate.settings import Settings

_PLAN_TIMEOUT_S = 60.0  # reading a configuration; a helper that takes longer is stuck
_REPORT_TIMEOUT_S = 600.0  # analysing the changed files
_PROCESS_CONFIG = "COVERAGE_PROCESS_CONFIG"  # as in facts/coverage.py


class RemoteMeasurement:
    """The test process's side: the probes, and the helper that plans and analyses."""

    def __init__(self, helper: Exchange, probes: Probes, tests: Sequence[str]) -> None:
        self.helper: Exchange | None = helper
        self.probes = probes  # the changed modules (test modules: see `start`)
        self.plan: Plan | None = None
        self.notes: list[str] = []
        self.problem: UsageError | None = None  # coverage.py rejected the configuration
        self.local = False  # a tracer in the test process must measure
        # called the moment `local` turns true: that measurement must start before the
        # import that asked for the answer goes on
        self.fallback: Callable[[], None] = lambda: None
        self._decided = False
        self._running = True
        self._lock = threading.Lock()
        self._patched = False  # `_PROCESS_CONFIG` set for subprocesses
        self._environ: str | None = None  # its value before
        self._hook = _Hook(self, {module_name(path) for path in tests})

    @classmethod
    def start(cls, settings: Settings, facts: Facts) -> RemoteMeasurement | None:
        """Start the helper and probe the changed modules from now on. None: the test
        process measures (the helper did not start, git could not tell the changes,
        or a changed module was imported already, which only a tracer still sees)."""
        from pytest_tddgate.facts import diff

        try:
            # first: the helper imports coverage.py while git reads the changes
            helper = Exchange("pytest_tddgate.facts.covhelper", cwd=settings.root)
        except OSError:
            return None
        in_tests = rewrites_tests()  # else a changed test module needs the answer first
        try:
            helper.send((str(settings.root), settings.source_roots, in_tests))
            changed = facts.get(diff.changed_lines)
            helper.send(dict(changed))
        except FactError:  # the test process's own measurement says why
            helper.close()
            return None
        paths = sorted(
            os.path.realpath(settings.root / rel) for rel in changed if rel.endswith(".py")
        )
        tests = [] if in_tests else [path for path in paths if loaded_by_pytest(path)]
        probes = Probes([path for path in paths if path not in tests])
        # `no_probes` files need a tracer, which only this process can run
        if probes.imported() or Probes(tests).imported() or not_probed(settings, paths):
            helper.close()
            return None
        measurement = cls(helper, probes, tests)
        probes.on_failure = measurement._cannot_probe
        probes.install(hook=False)  # `_Hook` asks it
        sys.meta_path.insert(0, measurement._hook)
        return measurement

    def decide(self) -> None:
        """Read the helper's answer (once)."""
        with self._lock:
            if self._decided:
                return
            self._decided = True
            answer = self._answer(_PLAN_TIMEOUT_S)
            kind = answer[0]
            if kind == "plan" and answer[1].probes:
                _, self.plan, process_config = answer
                self._patch_subprocess(process_config)
                return
            # no more probes; the hook stays until `stop`: this may run inside an
            # import, and taking a finder out of `sys.meta_path` then skips the next one
            self._running = False
            self.close()
            if kind == "error":  # the configuration: the session exits 4
                self.problem = UsageError(answer[1], fix=answer[2])
            else:  # the plan needs a tracer, or the helper failed
                self.local = True
                self.fallback()

    def _cannot_probe(self, path: str) -> None:
        """A changed module the probes could not be compiled into is about to run: only
        a tracer sees it now, so this process measures from here on, as when the plan
        needs a tracer (the modules probed so far stay so). Called during its import."""
        with self._lock:
            if self.local or self.problem is not None:
                return
            self._decided = True
            self._running = False
            self.local = True
        self.close()
        self.fallback()

    def _answer(self, timeout: float) -> Any:
        if self.helper is None:
            return ("failed", "the helper was closed")
        try:
            return self.helper.receive(timeout)
        except ToolError as exc:
            return ("failed", exc.message)

    def _patch_subprocess(self, process_config: str | None) -> None:
        """As coverage.py's `patch = ["subprocess"]`: Python subprocesses find the
        configuration (the changed files only) in the environment."""
        if process_config is not None:
            self._patched = True
            self._environ = os.environ.get(_PROCESS_CONFIG)
            os.environ[_PROCESS_CONFIG] = process_config

    @property
    def collector(self) -> Probes | None:
        """The probes, while they measure (per-test lines are drained from them)."""
        return self.probes if self._running else None

    @property
    def core(self) -> str:
        return "probes" if self.plan is not None and self.plan.trace else "none"

    def _measured(self) -> set[str]:
        """The changed files the project measures, as the plan says (none before it)."""
        return set(self.plan.options.get("run:include", ())) if self.plan is not None else set()

    def stop(self) -> None:
        """After the last test: no more probes in what is imported from now on."""
        if self._hook in sys.meta_path:
            sys.meta_path.remove(self._hook)
        if not self._running:
            return
        self._running = False
        if self._patched:
            os.environ.pop(_PROCESS_CONFIG, None)
            if self._environ is not None:
                os.environ[_PROCESS_CONFIG] = self._environ
        note = unprobed_note(self.probes, self._measured())
        if note:
            self.notes.append(note)

    def report(self, notes: list[str]) -> tuple[CoverageSummary, dict[str, FileCoverage]]:
        """The helper's analysis of the probed lines, as `covreport.measure` gives it.
        Raises `ToolError` when the helper cannot give it."""
        self.decide()  # read already, unless the collection failed
        self.stop()
        if self.helper is None or self.plan is None:
            raise ToolError(
                (), None, "", message="coverage.py's helper process is gone or gave no plan"
            )
        measured = self._measured()
        self.helper.send(
            {path: found for path, found in self.probes.lines().items() if path in measured}
        )
        answer = self._answer(_REPORT_TIMEOUT_S)  # its end is awaited in `close`, later
        if answer[0] != "report":
            raise ToolError((), None, "", message=f"coverage.py's helper process: {answer[1]}")
        _, summary, files, their_notes = answer
        notes[:0] = [*their_notes, *self.notes]
        return replace(summary, core=self.core), files

    def close(self) -> None:
        if self.helper is not None:
            self.helper.close()
            self.helper = None


class _Hook(MetaPathFinder):
    """Hands changed modules to the probes; before a changed test module is imported,
    reads the helper's answer. Stays in `sys.meta_path` until the measurement stops:
    changing the list during an import would skip a finder."""

    def __init__(self, measurement: RemoteMeasurement, tests: set[str]) -> None:
        self._measurement = measurement
        self._tests = tests  # last name parts of the changed test modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.rpartition(".")[2] in self._tests:
            self._measurement.decide()
        probes = self._measurement.collector
        return probes.find_spec(fullname, path, target) if probes is not None else None
