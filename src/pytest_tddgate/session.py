"""The gated pytest session: records outcomes, runs the gates once at the end.

Registered by plugin.py only with `--tddgate`, and only on the controller: under
pytest-xdist the workers run `WorkerRecorder`, and every side effect (reports,
ledger, learnings) happens here, once.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate import engine
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.testrun import CollectError, TestOutcome, TestRun
from pytest_tddgate.gates import builtin_gates
from pytest_tddgate.model import Report
from pytest_tddgate.projectroot import NodeIds, ProjectRoot, project_testpaths, pytest_project_root
from pytest_tddgate.report import closing_lines, display_path, publish
from pytest_tddgate.settings import BUILTIN_GATES, Overrides, Settings, resolve
from pytest_tddgate.shard import Collection

_REQ_ATTR = "tddgate_reqs"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


class WorkerRecorder:
    """On xdist workers and serial runs: copy `@pytest.mark.req` ids onto the report;
    in a shard (`--tddgate-shard`), note which tests were collected and deselected.

    Reports cross from worker to controller as JSON of their `__dict__`, so a plain
    attribute survives the trip; markers themselves do not.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.sharded = bool(config.getoption("tddgate_shard", None))
        self.selected: list[str] | None = None  # None: collection did not finish here
        self.deselected: list[str] = []

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if self.sharded:  # `-k`, `-m`, pytest-split: the tests other shards run
            self.deselected += [item.nodeid for item in items]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.sharded:
            self.selected = [item.nodeid for item in session.items]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        output = getattr(self.config, "workeroutput", None)
        if output is not None and self.sharded and self.selected is not None:
            collection = {"selected": self.selected, "deselected": self.deselected}
            output.setdefault("tddgate", {})["collection"] = collection

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        ids = [str(arg) for mark in item.iter_markers("req") for arg in mark.args]
        if ids:
            setattr(report, _REQ_ATTR, ids)
        return report


class CoverageHooks:
    """The coverage gate's hooks in every process that runs tests (covrun.CoverageRun
    does the work): per-test lines, stop after the last test, data to the controller."""

    def __init__(self, run: Any) -> None:
        self.run = run  # covrun.CoverageRun
        # per-test lines are keyed by node ids relative to the project root
        self.ids = NodeIds.between(run.config.rootpath, run.settings.root)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        self.run.begin_test()
        try:
            return (yield)
        finally:
            self.run.end_test(self.ids.project(item.nodeid))

    # trylast: the innermost wrapper, so the recorded lines are back in the tracer
    # before pytest-cov's own wrapper stops and saves its measurement
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        finally:
            self.run.stop()

    # with scope `changed`, coverage.py's helper process answers by now (covremote.py);
    # tryfirst: a configuration it rejects exits 4 before anything else looks at items
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        try:
            self.run.ready()
        except UsageError as exc:
            raise pytest.UsageError(f"tddgate: {exc.render()}") from None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(session.config, "workeroutput", None)
        if output is not None:  # an xdist worker: send the data to the controller
            payload = self.run.worker_payload()
            if session.config.getoption("tddgate_shard", None):
                # a shard's file names project files relative to the root: each worker
                # renames its own, while the others still run
                from pytest_tddgate.shard.portable import portable

                payload = portable(payload, self.run.settings.root)
            output.setdefault("tddgate", {})["coverage"] = payload


COVERAGE_KEY = pytest.StashKey[CoverageHooks]()


def start_coverage(config: pytest.Config) -> None:
    """Start measuring now, if the coverage gate will run (plugin.py calls this before
    conftests are imported; a second call does nothing)."""
    from pytest_tddgate import covrun

    if COVERAGE_KEY in config.stash:
        return
    try:
        run = covrun.CoverageRun.start(config)
    except UsageError as exc:  # a broken coverage configuration: exit 4, no traceback
        raise pytest.UsageError(f"tddgate: {exc.render()}") from None
    if run is not None:
        hooks = CoverageHooks(run)
        config.stash[COVERAGE_KEY] = hooks
        config.pluginmanager.register(hooks, "tddgate-coverage")


def stop_coverage(config: pytest.Config) -> None:
    hooks = config.stash.get(COVERAGE_KEY, None)
    if hooks is not None:
        del config.stash[COVERAGE_KEY]
        hooks.run.stop()
        hooks.run.close()
        config.pluginmanager.unregister(hooks)


class GateSession(WorkerRecorder):
    """Collects facts during the run; evaluates and reports the gates at its end."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        gates: list[engine.Gate],
        found: ProjectRoot | None = None,
    ) -> None:
        super().__init__(config)
        self.settings = settings
        self.gates = gates
        self.facts = Facts(settings)
        if found is not None:  # the report says how the root was found
            self.facts.provided["project_root"] = found
        # pytest's node ids are relative to its rootdir, the gates' to the project root
        self.ids = NodeIds.between(config.rootpath, settings.root)
        self.report: Report | None = None
        self.report_path: Path | None = None
        given = config.getoption("tddgate_shard", None)
        # a shard run judges nothing: it writes this file for `tddgate combine`
        self.shard_path = Path(config.invocation_params.dir, given) if given else None
        self.shard_note: str | None = None
        self.problems: list[str] = []  # status lines about the gate itself
        self._phases: dict[str, dict[str, Any]] = {}
        self._collect_errors: list[CollectError] = []
        self._collect_skips: set[str] = set()  # `pytest.skip(allow_module_level=True)`

    @classmethod
    def create(cls, config: pytest.Config, overrides: dict[str, Any]) -> GateSession:
        """Resolve settings and gates; a user's mistake becomes pytest's exit 4."""
        extra: list[engine.Gate] = [
            gate for gates in config.hook.pytest_tddgate_gates(config=config) for gate in gates
        ]
        names = [g.name for g in extra]
        for name in names:
            if name in BUILTIN_GATES or names.count(name) > 1:
                raise pytest.UsageError(
                    f"tddgate: a plugin gate is named `{name}`, which is "
                    "already taken; give the gate a unique `name`"
                )
        found = pytest_project_root(config)
        try:
            settings = resolve(
                found.path,
                overrides=Overrides(
                    values=overrides,
                    learn=False if config.getoption("tddgate_no_learn") else None,
                ),
                testpaths=project_testpaths(config, found.path),
                plugin_gates=names,
            )
        except UsageError as exc:
            raise pytest.UsageError(f"tddgate: {exc.render()}") from None
        gate_session = cls(config, settings, [*builtin_gates(), *extra], found)
        try:
            engine.validate(gate_session.gates, settings, gate_session.facts)
        except UsageError as exc:
            raise pytest.UsageError(f"tddgate: {exc.render()}") from None
        return gate_session

    def close(self) -> None:
        self.facts.cancel_background()

    def pytest_report_header(self) -> str:
        if self.shard_path is not None:
            return f"tddgate: shard run, judged by `tddgate combine` (shard file {self.shard_path})"
        names = [g.name for g in self.gates if engine.selected(self.settings, g.name) is None]
        return f"tddgate: gates {', '.join(names) or '(none)'}"

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # start slow tools (ruff, mypy) now, so they run while the tests run; a shard
        # leaves them to `tddgate combine`, which runs them once for every shard
        if self.shard_path is None:
            engine.prepare(self.gates, self.settings, self.facts)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        nodeid = self.ids.project(report.nodeid)
        if report.failed:
            message = _first_line(str(report.longrepr)) or "collection failed"
            path = nodeid.split("::")[0] or None
            self._collect_errors.append(CollectError(nodeid, message, path))
        elif report.skipped:  # pytest counts a module skipped at collection as skipped
            self._collect_skips.add(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._phases.setdefault(report.nodeid, {})[report.when] = report

    # trylast: pytest-cov and xdist finish combining their data in their own
    # sessionfinish; the gates must see the final numbers
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            return
        self.facts.test_run = TestRun.build(
            tuple(_fold(phases, self.settings.root, self.ids) for phases in self._phases.values()),
            tuple(self._collect_errors),
            int(exitstatus),
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED and not self._collect_errors,
            collect_skips=tuple(sorted(self._collect_skips)),
        )
        if self.shard_path is not None:
            self._write_shard(session, self.shard_path)
            return
        coverage = self.config.stash.get(COVERAGE_KEY, None)
        if coverage is not None:  # the coverage, tdd and traceability gates read it
            if coverage.run.facts is not None:  # no second diff for the same answer
                from pytest_tddgate.facts.diff import changed_lines
                from pytest_tddgate.facts.git import revisions

                self.facts.adopt(coverage.run.facts, (revisions, changed_lines))
            workers = self.facts.provided.get("worker_outputs", [])
            self.facts.provided.update(coverage.run.hand_over(workers))
        try:
            self.report = engine.judge(self.gates, self.settings, self.facts)
        except UsageError as exc:
            self.problems.append(f"tddgate: {exc.render()}")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        self.config.hook.pytest_tddgate_report(config=self.config, report=self.report)
        # side effects on the controller only (this class is never registered on workers)
        published = publish(self.report, self.settings, self.facts.test_run, os.environ)
        self.report_path = published.report_path
        self.problems += published.problems
        # a required check whose report could not be written must not look green
        if (not self.report.passed or not published.complete) and exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_shard(self, session: pytest.Session, path: Path) -> None:
        """Write this shard's file; one that cannot be written fails the job, since
        `tddgate combine` would judge the suite without its tests."""
        from pytest_tddgate.shard import record

        workers = self.facts.provided.get("worker_outputs", [])
        coverage = self.config.stash.get(COVERAGE_KEY, None)
        measured = coverage.run.shard_coverage(workers) if coverage is not None else None
        assert self.facts.test_run is not None
        try:
            shard = record.write_shard(
                path,
                self.settings,
                self.facts.test_run,
                collection=self._collection(workers),
                coverage=measured,
                label=_shard_label(self.config),
                testpaths=project_testpaths(self.config, self.settings.root),
            )
        except OSError as exc:
            self.problems.append(f"tddgate: could not write the shard file {path}: {exc}")
            if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        shown = display_path(path, Path(self.config.invocation_params.dir))
        self.shard_note = (
            f"tddgate: shard file {shown} written ({len(shard.tests.outcomes)} test(s)); "
            "the gates judge all shards at once in `tddgate combine`"
        )

    def _collection(self, workers: list[dict[str, Any]]) -> Collection:
        """What this shard collected: here, or as its xdist workers (which all collect
        the same) said; pytest's node ids made relative to the project root."""
        selected, deselected = self.selected, self.deselected
        sent = [w["collection"] for w in workers if isinstance(w.get("collection"), dict)]
        if sent:
            selected, deselected = list(sent[0]["selected"]), list(sent[0]["deselected"])
        known = selected is not None and (not workers or len(sent) == len(workers))
        return Collection(
            selected=tuple(self.ids.project(n) for n in selected or ()),
            deselected=tuple(self.ids.project(n) for n in deselected),
            # no test paths given: pytest collected the whole suite before deselecting
            whole=not _paths_given(self.config),
            known=known,
            keyword=str(self.config.getoption("keyword", "") or ""),
            markexpr=str(self.config.getoption("markexpr", "") or ""),
            splits=_split_option(self.config, "splits"),
            group=_split_option(self.config, "group"),
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None and not self.problems and self.shard_note is None:
            return
        terminalreporter.section("tddgate", sep="=", bold=True)
        if self.shard_note is not None:
            terminalreporter.write_line(self.shard_note)
        workflow: list[str] = []
        if self.report is not None:
            here = Path(self.config.invocation_params.dir)
            lines, workflow = closing_lines(
                self.report,
                self.settings,
                self.facts.test_run,
                self.report_path,
                here=here,
                environ=os.environ,
            )
            for line in lines:
                markup = {line.color: True} if line.color else {}
                if line.bold:
                    markup["bold"] = True
                terminalreporter.write_line(line.text, **markup)
        for problem in self.problems:
            terminalreporter.write_line(problem, red=True)
        for command in workflow:  # read by GitHub Actions
            terminalreporter.write_line(command)


def _shard_label(config: pytest.Config) -> str:
    """How this shard chose its tests, for messages about the shard set."""
    parts = [str(arg) for arg in config.args] if _paths_given(config) else []
    for flag, dest in (("-k", "keyword"), ("-m", "markexpr")):
        value = config.getoption(dest, None)
        if value:
            parts.append(f"{flag} {value!r}")
    splits, group = config.getoption("splits", None), config.getoption("group", None)
    if splits and group:  # pytest-split
        parts.append(f"--splits {splits} --group {group}")
    return " ".join(parts) or "all tests"


def _split_option(config: pytest.Config, name: str) -> int | None:
    """pytest-split's `--splits` / `--group`, when it is installed and given."""
    try:
        value = config.getoption(name, None)
    except ValueError:  # another plugin's option of that name, of another type
        return None
    return value if isinstance(value, int) else None


def _paths_given(config: pytest.Config) -> bool:
    return getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS


def _fold(phases: dict[str, Any], root: Path, ids: NodeIds) -> TestOutcome:
    """setup / call / teardown reports -> one outcome, as pytest's own summary counts."""
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    some = setup or call or teardown
    assert some is not None
    failing = None
    if setup is not None and setup.failed:
        outcome, failing = "error", setup
    elif call is not None and call.failed:
        outcome, failing = "failed", call
    elif teardown is not None and teardown.failed:
        outcome, failing = "error", teardown
    elif any(r is not None and r.skipped for r in (setup, call)):
        skipped = call if call is not None and call.skipped else setup
        outcome = "xfailed" if hasattr(skipped, "wasxfail") else "skipped"
    elif call is not None and hasattr(call, "wasxfail"):
        outcome = "xpassed"
    else:
        outcome = "passed"
    path, line = some.location[0], some.location[1]
    signature, message = _signature(failing, root) if failing is not None else (None, None)
    duration = sum(r.duration for r in (setup, call, teardown) if r is not None)
    requirements = tuple(getattr(call or setup, _REQ_ATTR, ()) or ())
    return TestOutcome(
        nodeid=ids.project(some.nodeid),
        outcome=outcome,
        duration_s=round(duration, 6),
        signature=signature,
        message=message,
        path=ids.project(path.replace("\\", "/")) if path else None,
        line=line + 1 if isinstance(line, int) else None,
        requirements=requirements,
    )


def _signature(report: Any, root: Path) -> tuple[str, str]:
    """Exception type + digest of the message + crash location: stable across runs
    and across checkouts (the location is relative to the project root)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "") or _first_line(str(report.longrepr)))
    exc_type = message.split(":", 1)[0].strip() if ":" in message else "Failure"
    if message.startswith("assert "):  # pytest rewrites bare asserts without the type
        exc_type = "AssertionError"
    if not exc_type.replace(".", "").replace("_", "").isalnum():
        exc_type = "Failure"
    digest = hashlib.sha1(_ADDRESS.sub("0x?", message).encode()).hexdigest()[:12]
    where = f"{_portable(str(getattr(crash, 'path', '?')), root)}:{getattr(crash, 'lineno', '?')}"
    return f"{exc_type}|{digest}|{where}", _first_line(message)


def _portable(path: str, root: Path) -> str:
    """A crash location that does not depend on where the project or venv lives."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        # library code: keep what follows site-packages, e.g. `requests/models.py`
        parts = Path(path).parts
        if "site-packages" in parts:
            return "/".join(parts[parts.index("site-packages") + 1 :])
        return path


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:300]
