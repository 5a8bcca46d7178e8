"""The coverage gate's part of a pytest run: start, per-test lines, hand-over.

session.py holds the pytest hooks (`CoverageHooks`) and calls this, which imports no
pytest: it decides before any conftest is imported whether the coverage gate runs
and who measures (this plugin, or pytest-cov when `--cov` is given), records which
lines each test ran, and at the end turns the measurement into the facts the gates
read. Under pytest-xdist every worker has one, and sends its data to the
controller's, which merges.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_tddgate import engine
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import Facts
from pytest_tddgate.settings import BUILTIN_GATES, Overrides, Settings, load_pyproject, resolve

# the measurement's modules are imported only once the coverage gate is known to run:
# every `--tddgate` run imports this module to decide that
if TYPE_CHECKING:
    from pytest_tddgate.facts.coverage import Measurement
    from pytest_tddgate.facts.covremote import RemoteMeasurement
    from pytest_tddgate.facts.probes import Probes


class CoverageRun:
    """One process's part of the coverage measurement."""

    def __init__(
        self,
        config: Any,
        settings: Settings,
        measurement: Measurement | None,
        facts: Facts | None = None,
        remote: RemoteMeasurement | None = None,
    ) -> None:
        self.config = config  # the pytest Config
        self.settings = settings
        self.measurement = measurement  # None: pytest-cov measures, or `remote`
        self.remote = remote  # ours, with coverage.py in a helper process
        self.facts = facts  # what the measurement learnt at its start (changed lines)
        self._problem: UsageError | None = None  # from a measurement started late
        self._replaced: RemoteMeasurement | None = None  # `remote`, once this process measures
        from pytest_tddgate.facts.covcontexts import Recorder

        self.recorder = Recorder(self._running_collector) if settings.coverage.contexts else None

    @classmethod
    def start(cls, config: Any) -> CoverageRun | None:
        """Start measuring if the coverage gate will run; None if it will not."""
        settings = early_settings(config)
        if settings is not None and engine.selected(settings, "coverage") is not None:
            from pytest_tddgate.facts.covcontexts import for_tdd

            settings = for_tdd(settings)  # the tdd gate's per-test lines, changed files only
        if settings is None:
            return None
        measurement = remote = facts = None
        if not pytest_cov_measures(config):
            from pytest_tddgate.facts import diff

            facts = Facts(settings)
            early = settings.coverage.changed_only
            if early:
                # the measurement needs the changed files before any test runs: git
                # reads them while coverage.py imports
                facts.get(diff.start_changes)
                if _one_process(config) and settings.coverage.probes:
                    from pytest_tddgate.facts.covremote import RemoteMeasurement

                    remote = RemoteMeasurement.start(settings, facts)
            if remote is None:
                measurement = _local(settings, facts)
        run = cls(config, settings, measurement, facts, remote)
        if remote is not None:
            remote.fallback = run._measure_here
        return run

    def ready(self) -> None:
        """Before the first test runs: with the helper process, its plan is in. Raises
        `UsageError` for a configuration coverage.py rejects; when the plan needs a
        tracer, this process measures from now on."""
        remote = self.remote  # None after `decide`, when this process measures instead
        if remote is not None:
            remote.decide()
            if remote.problem is not None:
                raise remote.problem
        if self._problem is not None:
            raise self._problem

    def _measure_here(self) -> None:
        """The helper's plan needs a tracer (or the helper failed): measure in this
        process, starting now. Called during an import: an error waits for `ready`."""
        assert self.facts is not None and self.remote is not None
        remote, self.remote = self.remote, None
        self._replaced = remote  # its import hook goes when the measurement stops
        try:
            self.measurement = _local(self.settings, self.facts, remote.probes)
        except UsageError as exc:
            self._problem = exc

    def close(self) -> None:
        """End the helper process, if one still runs, and close the measurement's data
        (the session ends: nothing reads them after this)."""
        if self.remote is not None:
            self.remote.close()
        if self.measurement is not None:
            self.measurement.close()

    def begin_test(self) -> None:
        if self.recorder is not None:
            self.recorder.begin_test()

    def end_test(self, nodeid: str) -> None:
        if self.recorder is not None:
            self.recorder.end_test(nodeid)

    def stop(self) -> None:
        """After the last test; again on the way out, which then does nothing."""
        if self.recorder is not None:
            self.recorder.end_run()
        if self.measurement is not None:
            self.measurement.stop()
        for remote in (self.remote, self._replaced):
            if remote is not None:
                remote.stop()

    def worker_payload(self) -> dict[str, Any]:
        """An xdist worker's data for `workeroutput`, JSON-safe."""
        from pytest_tddgate.facts.covcontexts import to_json

        self.stop()
        sent: dict[str, Any] = {"contexts": to_json(self.recorder.store) if self.recorder else {}}
        if self.measurement is not None:
            from pytest_tddgate.facts.covreport import touch_imported

            touch_imported(self.measurement)
            sent.update(self.measurement.payload())
        return sent

    def shard_coverage(self, workers: list[dict[str, Any]]) -> dict[str, Any]:
        """A shard's measurement for its shard file (controller only): this process's
        payload and each worker's, as xdist workers send them, with paths relative to
        the project root; `tddgate combine` merges them as the controller would."""
        from pytest_tddgate.shard.portable import portable

        self.stop()
        payloads: list[dict[str, Any]] = []
        measured_by = "tddgate"
        if self.measurement is not None:
            self.measurement.finish()  # subprocesses' data files are on this machine only
            payloads.append(self.worker_payload())
        else:
            measured_by = "pytest-cov"
            payloads += self._pytest_cov_payload()
        outputs = [w["coverage"] for w in workers if isinstance(w.get("coverage"), dict)]
        silent = [str(w.get("worker")) for w in workers if not isinstance(w.get("coverage"), dict)]
        root = self.settings.root
        return {
            "measured_by": measured_by,
            "payloads": [portable(p, root) for p in (*payloads, *outputs)],
            "silent": silent if self.measurement is not None else [],
        }

    def _pytest_cov_payload(self) -> list[dict[str, Any]]:
        """pytest-cov's finished measurement (its workers' data combined) as one payload,
        with the per-test lines recorded here or by `--cov-context=test`."""
        import base64

        from pytest_tddgate.facts.covcontexts import to_json
        from pytest_tddgate.facts.covreport import store_from_data

        cov = getattr(self._pytest_cov(), "cov", None)
        if cov is None:
            return []
        data = cov.get_data()
        store = self.recorder.store if self.recorder else {}
        if self._pytest_cov_contexts():
            store = store_from_data(data)
        encoded = base64.b64encode(data.dumps()).decode("ascii")
        return [{"data": encoded, "core": "pytest-cov", "notes": [], "contexts": to_json(store)}]

    def hand_over(self, workers: list[dict[str, Any]]) -> dict[str, Any]:
        """The run's coverage facts for `facts.provided` (controller only; writes the
        data file and the test map)."""
        from pytest_tddgate.facts import covreport

        self.stop()
        ours = self.measurement is not None or self.remote is not None
        controller = None if ours else self._pytest_cov()
        source = covreport.Source(
            measurement=self.measurement,
            external=getattr(controller, "cov", None),
            remote=self.remote,
            external_contexts=not ours and self._pytest_cov_contexts(),
            store=self.recorder.store if self.recorder else {},
        )
        if not ours and source.external is None:
            summary = covreport.CoverageSummary(
                "all", "pytest-cov", "unknown", False,
                error="pytest-cov (--cov) did not measure this run",
                fix="run without --no-cov, or without --cov to let tddgate measure",
            )  # fmt: skip
            return {"coverage_summary": summary}
        outputs = [w["coverage"] for w in workers if isinstance(w.get("coverage"), dict)]
        provided = covreport.collect(self.settings, source, outputs)
        silent = [str(w.get("worker")) for w in workers if not isinstance(w.get("coverage"), dict)]
        if silent and self.measurement is not None:  # its lines are missing: numbers too low
            provided["coverage_summary"] = replace(
                provided["coverage_summary"],
                error=f"worker(s) {', '.join(silent)} sent no coverage data",
                fix="see the worker's crash above; the measurement is incomplete",
            )
        return provided

    def _pytest_cov(self) -> Any:
        plugin = self.config.pluginmanager.getplugin("_cov")
        return getattr(plugin, "cov_controller", None)

    def _pytest_cov_contexts(self) -> bool:
        """pytest-cov's `--cov-context=test` records per-test contexts itself."""
        plugin = self.config.pluginmanager.getplugin("_cov")
        return getattr(getattr(plugin, "options", None), "cov_context", None) == "test"

    def _running_collector(self) -> Any:
        if self.remote is not None:
            return self.remote.collector
        if self.measurement is not None:
            return self.measurement.collector
        controller = self._pytest_cov()
        if controller is None or not getattr(controller, "started", False):
            return None
        if self._pytest_cov_contexts():
            return None
        return getattr(controller.cov, "_collector", None)


def _local(settings: Settings, facts: Facts, earlier: Probes | None = None) -> Measurement:
    """This process's own measurement (coverage.py imported here); `earlier`: the
    probes the helper's measurement compiled into changed modules until now."""
    from pytest_tddgate.facts import diff
    from pytest_tddgate.facts.coverage import Measurement
    from pytest_tddgate.facts.probes import rewrites_tests

    changed_only = settings.coverage.changed_only
    try:
        return Measurement.start(
            settings,
            (lambda: facts.get(diff.changed_lines)) if changed_only else None,
            probes_in_tests=rewrites_tests(),
            probes=settings.coverage.probes,
            earlier=earlier,
        )
    finally:
        if changed_only and not facts.known(diff.changed_lines):
            diff.stop_changes(facts)  # a configuration error: nobody reads them


def _one_process(config: Any) -> bool:
    """Whether the tests run in this process alone: no pytest-xdist workers, whose
    measurements the controller merges as coverage.py data, and a system whose pipes
    `select` can wait on (not Windows)."""
    options = config.known_args_namespace
    if hasattr(config, "workerinput") or os.name == "nt":
        return False
    if getattr(options, "tddgate_shard", None):  # the shard file holds this process's data
        return False
    return not getattr(options, "numprocesses", None) and getattr(options, "dist", "no") == "no"


def pytest_cov_measures(config: Any) -> bool:
    """Whether pytest-cov (`--cov`) measures this run. Its own early hook may run before
    or after this one: before, it has registered `_cov`; after, `--cov` is still in the
    options as given."""
    options = config.known_args_namespace
    if getattr(options, "no_cov", False):
        return False
    plugin = config.pluginmanager.get_plugin("_cov")
    if plugin is not None:
        return not getattr(plugin, "_disabled", False)
    return bool(getattr(options, "cov_source", None))


def early_settings(config: Any) -> Settings | None:
    """The settings as far as they are known before conftests load; None when they are
    broken (the session reports that at configure time, with exit 4)."""
    from pytest_tddgate.projectroot import project_testpaths, pytest_project_root

    options = config.known_args_namespace
    root = pytest_project_root(config).path
    chosen = {
        "base": getattr(options, "tddgate_base", None),
        "only": getattr(options, "tddgate_only", None),
        "skip": getattr(options, "tddgate_skip", None),
    }
    try:
        table, _, _ = load_pyproject(root)
        gates = table.get("gates", {})
        # plugin gates register later; their names must not look like typos now
        named = [*(gates if isinstance(gates, dict) else ()), *(chosen["only"] or ()),
                 *(chosen["skip"] or ())]  # fmt: skip
        return resolve(
            root,
            overrides=Overrides(values=chosen),
            testpaths=project_testpaths(config, root),
            plugin_gates=[str(n) for n in named if n not in BUILTIN_GATES],
        )
    except UsageError:
        return None
