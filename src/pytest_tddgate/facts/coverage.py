"""Coverage measurement with the coverage.py API: what to measure, start, stop, merge.

plugin.py starts a `Measurement` before pytest imports any conftest, so lines that
run when the project is imported (module level: `def`, `class`, constants) count.
The project's own coverage configuration (`.coveragerc`, `setup.cfg`, `tox.ini`,
`[tool.coverage]`) is read from the project root, and only what the gate's
conditions need is changed on top of it (`Plan`):

- no `source` / `source_pkgs` / `include` configured: the source roots are the
  source, so test files do not count and never-imported modules count as 0 %;
- `scope = "changed"` without a `total` condition: only the changed Python files are
  measured, without branch measurement (new-code coverage counts lines), by line
  probes compiled into them (facts/probes.py) rather than by a tracer, which would
  slow down every other module too; the tracer, limited to those files, when the
  configuration needs what probes cannot see (forked processes, plugins, ...);
- scope `all`: every Python file of the measured folders gets line probes, and branch
  probes when the project measures branches (facts/branches.py), rather than a
  tracer; the tracer when the configuration needs what probes cannot see, or the
  `probes` setting is off;
- Python 3.12+: the `sysmon` core, when the configuration allows it and a tracer
  runs.

The measurement is kept in memory; the data file is written once at the end, like
`pytest --cov` writes it, so `coverage report` / `coverage html` read the same run.
"""

from __future__ import annotations

import base64
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_tddgate.errors import FactError, UsageError

if TYPE_CHECKING:
    import coverage

    from pytest_tddgate.facts.filetracer import FileTracer
    from pytest_tddgate.facts.probes import Probes

ChangedLines = Mapping[str, frozenset[int]]
_ASYNC_LIBS = ("greenlet", "eventlet", "gevent")  # sysmon cannot follow their switches
_PROCESS_CONFIG = "COVERAGE_PROCESS_CONFIG"  # how coverage.py configures subprocesses
_BRANCH_EVENTS: bool = sys.version_info >= (3, 14)  # sysmon measures branches from 3.14


@contextlib.contextmanager
def quiet(notes: list[str]) -> Iterator[None]:
    """Turn coverage.py's warnings into notes for the report.

    A project with `filterwarnings = error` would otherwise fail on a warning that
    is about the measurement, not about its code.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for item in caught:
                text = str(item.message).split("; see https://", 1)[0]
                if text not in notes:
                    notes.append(text)


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """coverage.py resolves its config file and relative paths from the current folder."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _rejected() -> Iterator[None]:
    """coverage.py rejecting the project's configuration is the user's to fix: exit 4."""
    import coverage

    try:
        yield
    except (coverage.CoverageException, ImportError) as exc:  # ImportError: a plugin
        raise UsageError(
            f"coverage.py cannot use the project's coverage configuration: {exc}",
            fix="correct [tool.coverage] (or .coveragerc, setup.cfg, tox.ini), or "
            "turn the gate off: [tool.tddgate.gates.coverage] enabled = false",
        ) from None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to measure, as coverage.py options set over the project's own config."""

    scope: str = "all"  # "changed": only the changed files are traced
    options: Mapping[str, Any] = field(default_factory=dict)
    touch: tuple[str, ...] = ()  # changed files that count as unexecuted if never run
    trace: bool = True  # False: nothing to trace (scope changed, no changed code)
    probes: bool = False  # probes compiled into the measured files, no tracer
    files: tuple[str, ...] = ()  # scope all with probes: the files probed
    notes: tuple[str, ...] = ()
    # with probes: measured files the tracer measures instead (the `no_probes` setting)
    traced: tuple[str, ...] = ()


class Where(Protocol):
    """What the measurement needs to know of the project: `Settings` has it, and so
    has the helper process (facts/covhelper.py), which never reads the settings."""

    @property
    def root(self) -> Path: ...

    @property
    def source_roots(self) -> tuple[str, ...]: ...


def make_plan(
    where: Where,
    config: Any,
    changed: Callable[[], ChangedLines] | None,
    *,
    probes_in_tests: bool = False,
    probes: bool = True,
) -> Plan:
    """Decide the options; `config` is the project's `CoverageConfig`, read already.
    `changed`: the changed lines, for `scope = "changed"`; None for scope `all`.
    `probes_in_tests`: the test process can probe the test modules pytest rewrites
    (facts/probes.py `pytest_rewriter`). `probes`: the user allows probes (the
    `probes` setting); False: coverage.py's tracer measures."""
    options: dict[str, Any] = {}
    configured = bool(
        config.source or config.source_pkgs or config.run_include or _source_dirs_option(config)
    )
    if not configured:
        roots = [str(d) for d in _source_dirs(where)]
        if roots:
            options["run:source"] = roots
    plan = Plan(options=options)
    if changed is not None:
        plan = _changed_plan(
            where, config, changed, options, probes_in_tests=probes_in_tests, probes=probes
        )
    elif probes:
        plan = _probed_plan(where, config, options, probes_in_tests)
    branch = plan.options.get("run:branch", config.branch)
    if not plan.probes and sysmon_allowed(config, branch=bool(branch)):
        plan = replace(plan, options={**plan.options, "run:core": "sysmon"})
    return plan


def _changed_plan(
    where: Where,
    config: Any,
    changed: Callable[[], ChangedLines],
    options: dict[str, Any],
    *,
    probes_in_tests: bool,
    probes: bool = True,
) -> Plan:
    try:
        files = changed_sources(where, config, changed())
    except FactError as exc:
        return Plan(options=options, notes=(f"scope `changed` measured all: {exc.message}",))
    if files is None:
        return Plan(
            options=options,
            notes=(
                "scope `changed` measured all: a changed file "
                "name cannot be written as a coverage pattern",
            ),
        )
    # a file the project's `source` would report unexecuted is reported unexecuted here
    # too, so both scopes judge the same new lines; with `include` it is not
    touch = tuple(files) if (config.source or config.source_pkgs or "run:source" in options) else ()
    narrowed = {
        **options,
        "run:source": [],
        "run:source_pkgs": [],
        "run:include": files,
        "run:branch": False,
    }
    why = _no_probes(config) or ("" if probes_in_tests else _rewritten(files))
    if not probes:
        why = "the `probes` setting is off"
    notes = () if not why or not files else (f"scope `changed` traced: {why}",)
    return Plan(
        scope="changed",
        options=narrowed,
        touch=touch,
        trace=bool(files),
        probes=not why,
        notes=notes,
        traced=tuple(not_probed(where, files)) if not why else (),
    )


def _probed_plan(where: Where, config: Any, options: dict[str, Any], probes_in_tests: bool) -> Plan:
    """Scope `all` measured by probes in every file of the measured folders, when the
    configuration allows them; otherwise the tracer, as `pytest --cov` measures.
    Probes need the files before they are imported, so a configuration that names them
    by `include` patterns alone is traced."""
    plain = Plan(options=options)
    why = _no_probes(config)
    if why:  # said, since the tracer makes the run slower
        return replace(plain, notes=(f"measured by coverage.py's tracer, not probes: {why}",))
    area = _measured_area(where, config, options.get("run:source"))
    if not area:  # no folder to search: everything imported is measured
        return plain
    files = _python_files(area, config)
    if not probes_in_tests and _rewritten(files):
        return plain
    traced = not_probed(where, files)
    probed = tuple(f for f in files if f not in set(traced))
    return Plan(options=options, probes=True, files=probed, traced=tuple(traced))


def not_probed(where: Where, files: Sequence[str]) -> list[str]:
    """The files of `files` (real paths) that the `no_probes` setting leaves to the
    tracer. `where` is the settings in the test process; the helper process's has no
    such setting (a project that uses it is measured in the test process)."""
    from pytest_tddgate.globs import compiled

    patterns = getattr(getattr(where, "coverage", None), "no_probes", ())
    if not patterns:
        return []
    globs = compiled(tuple(patterns))
    root = os.path.realpath(where.root)
    found = []
    for path in files:
        relative = os.path.relpath(path, root)
        if not relative.startswith("..") and globs.matches(relative.replace(os.sep, "/")):
            found.append(path)
    return found


# folders never searched for measured files: nobody imports their code as the project's
_NOT_SOURCE = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


def _python_files(area: Sequence[Path], config: Any) -> list[str]:
    """Every Python file under the measured folders that the `omit` setting keeps, as
    coverage.py's tracer would measure them when imported."""
    from coverage.files import GlobMatcher, prep_patterns

    omit = GlobMatcher(prep_patterns(config.run_omit)) if config.run_omit else None
    found: list[str] = []
    for folder in area:
        for parent, folders, names in os.walk(folder):
            folders[:] = [f for f in folders if not f.startswith(".") and f not in _NOT_SOURCE]
            for name in names:
                if name.endswith((".py", ".pyw")):
                    path = os.path.realpath(os.path.join(parent, name))  # noqa: PTH118
                    if omit is None or not omit.match(path):
                        found.append(path)
    return sorted(set(found))


def _source_dirs_option(config: Any) -> list[str]:
    """coverage.py 7.9's `source_dirs` (folders only), empty before."""
    return list(getattr(config, "source_dirs", None) or ())


def changed_sources(where: Where, config: Any, changed: ChangedLines) -> list[str] | None:
    """Absolute paths of the changed Python files the project measures (None: the
    paths cannot be expressed as coverage include patterns)."""
    from coverage.files import GlobMatcher, prep_patterns

    area = _measured_area(where, config)
    include = GlobMatcher(prep_patterns(config.run_include)) if config.run_include else None
    omit = GlobMatcher(prep_patterns(config.run_omit)) if config.run_omit else None
    files = []
    for rel in sorted(changed):
        path = where.root / rel
        if not rel.endswith(".py") or not path.is_file():
            continue
        name = os.path.realpath(path)
        if area is not None and not any(Path(name).is_relative_to(d) for d in area):
            continue
        if (include and not include.match(name)) or (omit and omit.match(name)):
            continue
        if not GlobMatcher([name]).match(name):
            return None
        files.append(name)
    return files


def _measured_area(
    where: Where, config: Any, roots: Sequence[str] | None = None
) -> list[Path] | None:
    """The folders the project measures, or None when that cannot be told from paths.
    `roots`: the source folders this plugin sets when the project sets none."""
    entries = list(config.source or ()) + list(config.source_pkgs or ())
    entries += _source_dirs_option(config)
    if not entries:
        if roots is not None:
            return [Path(r) for r in roots]
        return None if config.run_include else _source_dirs(where)
    area = []
    for entry in entries:
        found = _package_dir(where, entry)
        if found is None:
            return None  # an installed package outside the project, or a typo
        area.append(found)
    return area


def _package_dir(where: Where, entry: str) -> Path | None:
    direct = where.root / entry
    if direct.is_dir():
        return Path(os.path.realpath(direct))
    relative = Path(*entry.split("."))
    for base in (where.root, *(where.root / r for r in where.source_roots)):
        if (base / relative).is_dir():
            return Path(os.path.realpath(base / relative))
        if (base / relative).with_suffix(".py").is_file():
            return Path(os.path.realpath(base))
    return None


def _source_dirs(where: Where) -> list[Path]:
    return [
        Path(os.path.realpath(where.root / r))
        for r in where.source_roots
        if (where.root / r).is_dir()
    ]


def _rewritten(files: list[str]) -> str:
    """Why a changed file must be traced ("" when none must): pytest imports test
    modules and conftests with its own loader, which rewrites their asserts, and a
    module has one loader: the probes could not get into them."""
    from pytest_tddgate.facts.probes import loaded_by_pytest

    for path in files:
        if loaded_by_pytest(path):
            return f"{Path(path).name} is a changed test module the project measures"
    return ""


def unprobed_note(probes: Probes, measured: Collection[str] | None = None) -> str | None:
    """The note for measured files loaded past the probes (their lines count as not
    run, so the numbers are low); None when there are none."""
    missed = [n for n in probes.unprobed() if measured is None or n in measured]
    if not missed:
        return None
    names = ", ".join(Path(n).name for n in missed[:3])
    return f'scope `changed`: {names} loaded by its own loader, not measured; use scope = "all"'


def _no_probes(config: Any) -> str:
    """Why the project's coverage configuration needs a tracer ("" when it does not)."""
    # `subprocess`: the children trace the changed files themselves (see `_begin`)
    patches = set(getattr(config, "patch", ())) - {"subprocess", "_exit"}
    if patches or "multiprocessing" in config.concurrency:
        return "the configuration measures forked processes (`patch`, `concurrency`)"
    if "subprocess" in getattr(config, "patch", ()) and not hasattr(config, "serialize"):
        return "this coverage.py cannot hand its configuration to subprocesses"
    if config.plugins:
        return "the configuration uses coverage.py plugins"
    if config.core or config.timid:
        return "the configuration chooses a core (`core`, `timid`)"
    if config.dynamic_context and config.dynamic_context != "none":
        return "the configuration records dynamic contexts"
    return ""


def sysmon_allowed(config: Any, *, branch: bool) -> bool:
    """Python 3.12's `sys.monitoring` core costs a fraction of ctrace; use it unless the
    project chose a core, or needs what sysmon cannot do (branches before 3.14, plugins,
    greenlet-style concurrency, coverage's own dynamic contexts)."""
    if not hasattr(sys, "monitoring") or config.core or config.timid or config.plugins:
        return False
    if branch and not _BRANCH_EVENTS:
        return False
    if config.dynamic_context and config.dynamic_context != "none":
        return False
    return not any(lib in config.concurrency for lib in _ASYNC_LIBS)


def _run_configurers(cov: coverage.Coverage) -> None:
    """Let the project's coverage.py plugins configure the run before the plan reads
    the configuration. A configuring plugin (covdefaults sets `source` to the project
    folder, `branch`, `omit`, ...) changes it only when coverage.py initialises; read
    before that, the plan would set the source roots as `source`, the plugin would then
    keep them, and the run would measure less than `pytest --cov` does, while child
    processes, configured by coverage.py itself, measured what the plugin says."""
    if cov.config.plugins:
        # coverage.py's own first step of `start()` / `report()`; it has no public name
        cov._init()


class Measurement:
    """One coverage.py measurement owned by this plugin, in this process."""

    def __init__(self, cov: coverage.Coverage, plan: Plan, root: Path, notes: list[str]) -> None:
        self.cov = cov
        self.plan = plan
        self.root = root
        self.notes = notes
        self.started_at = time.time()
        self.probes: Probes | None = None  # line probes instead of coverage's tracer
        self._environ: str | None = None  # _PROCESS_CONFIG before `_patch_subprocess`
        self._running = False
        # line probes compiled into changed modules before this measurement started
        # (covremote.py); their lines are theirs, not the tracer's
        self.earlier: Probes | None = None
        # with probes: the tracer of the files they leave to it (facts/filetracer.py),
        # and the notes naming those files (an xdist worker sends them to the controller)
        self.tracer: FileTracer | None = None
        self.traced_notes: list[str] = []

    @classmethod
    def start(
        cls,
        where: Where,
        changed: Callable[[], ChangedLines] | None,
        *,
        probes_in_tests: bool = False,
        probes: bool = True,
        earlier: Probes | None = None,
    ) -> Measurement:
        """Read the configuration, decide the plan (`changed`, `probes_in_tests`,
        `probes`: as for `make_plan`) and start measuring. `earlier`: probes compiled
        into modules imported before now; they go on measuring those, and the tracer
        leaves them alone (it would see the probes' own code). Raises `UsageError` for a coverage
        configuration coverage.py rejects."""
        measurement = cls.configure(where, changed, probes_in_tests=probes_in_tests, probes=probes)
        measurement.earlier = earlier
        if measurement.plan.trace:
            with inside(where.root), quiet(measurement.notes), _rejected():
                measurement._begin()
        return measurement

    @classmethod
    def configure(
        cls,
        where: Where,
        changed: Callable[[], ChangedLines] | None,
        *,
        probes_in_tests: bool = False,
        probes: bool = True,
    ) -> Measurement:
        """Read the project's configuration and decide the plan; nothing is measured
        yet. Raises `UsageError` as `start` does."""
        import coverage

        notes: list[str] = []
        with inside(where.root), quiet(notes), _rejected():
            # in memory: written once at the end, never half-written by a crash
            cov = coverage.Coverage(data_file=None)
            _run_configurers(cov)
            plan = make_plan(
                where, cov.config, changed, probes_in_tests=probes_in_tests, probes=probes
            )
            for name, value in plan.options.items():
                cov.set_option(name, value)
            if not plan.trace:  # nothing to trace: load the configured plugins now all
                cov.get_data()  # the same, so that a missing one exits 4 before the tests
        return cls(cov, plan, where.root, [*plan.notes, *notes])

    def _begin(self) -> None:
        self._running = True
        probed_earlier = self.earlier.compiled if self.earlier is not None else set()
        if self.plan.probes:
            from pytest_tddgate.facts.probes import Probes

            plan = self.plan
            files = plan.files if plan.scope == "all" else plan.options.get("run:include", ())
            files = [f for f in files if f not in set(plan.traced)]
            probes = Probes(files, branches=bool(self.cov.config.branch))
            early = probes.imported()
            if early and self.earlier is None:
                from pytest_tddgate.facts.adopt import adopt, adopted_note

                if adopt(probes, early):  # their functions now run probed code
                    self.notes.append(adopted_note(early))
                    early = []
            if not early:
                self._with_probes(probes)
                return
            # their code ran without probes: only a tracer still sees their functions
            failed = self.earlier.failed if self.earlier is not None else {}
            self.notes += [_failed_note(path, why) for path, why in failed.items()]
            unprobed = [n for n in early if n not in probed_earlier and n not in failed]
            if unprobed:
                names = ", ".join(Path(n).name for n in unprobed[:3])
                self.notes.append(f"scope `{plan.scope}` traced: {names} imported before the run")
            # the tracer `make_plan` would have picked had it known
            config = self.cov.config
            if sysmon_allowed(config, branch=bool(config.branch)):
                self.cov.set_option("run:core", "sysmon")
        if probed_earlier:  # the probes go on measuring those; the tracer would see them
            self.cov.set_option("run:omit", [*self.cov.config.run_omit, *sorted(probed_earlier)])
        self.cov.start()

    def _with_probes(self, probes: Probes) -> None:
        """Measure with `probes`; the tracer measures the files they leave to it."""
        from pytest_tddgate.facts.filetracer import FileTracer

        config = self.cov.config
        self.tracer = FileTracer(config, sysmon=sysmon_allowed(config, branch=bool(config.branch)))
        probes.on_failure = self._trace_unprobed
        probes.install()
        self.probes = probes
        self._patch_subprocess()
        if self.plan.traced:
            self.tracer.add(self.plan.traced)  # a tracer's start fails here: exit 4
            names = ", ".join(Path(n).name for n in self.plan.traced[:3])
            more = " and more" if len(self.plan.traced) > 3 else ""
            self._traced_note(f"measured by coverage.py's tracer (`no_probes`): {names}{more}")

    def _trace_unprobed(self, path: str) -> None:
        """A measured module the probes could not be compiled into, about to run: the
        tracer measures it. Called during its import: this never raises."""
        assert self.probes is not None and self.tracer is not None
        why = self.probes.failed.get(path, "")
        try:
            self.tracer.add([path])
        except Exception as exc:  # the import goes on, whatever the tracer does
            then = f"coverage.py's tracer could not start ({exc}): its lines count as not run"
            self._traced_note(_failed_note(path, why, then))
            return
        self._traced_note(_failed_note(path, why))

    def _traced_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)
            self.traced_notes.append(note)

    def _patch_subprocess(self) -> None:
        """What coverage.py's `patch = ["subprocess"]` does when it starts: Python
        subprocesses find the configuration (changed files only) in the environment and
        trace those files themselves; `finish` combines their data files."""
        config = self.cov.config
        if "subprocess" in config.patch:
            self._environ = os.environ.get(_PROCESS_CONFIG)
            os.environ[_PROCESS_CONFIG] = config.serialize()

    @property
    def collector(self) -> Any:
        """What collects the lines while tests run (for per-test lines)."""
        if self.probes is not None:
            return self.probes if self._running else None
        tracer = getattr(self.cov, "_collector", None)
        if tracer is not None and self.earlier is not None and self.earlier.compiled:
            # the files probed before the tracer started are the probes' (the tracer
            # omits them): their per-test lines come from there
            return _Both(tracer, self.earlier)
        return tracer

    @property
    def core(self) -> str:
        if self.probes is not None:
            return "probes"
        collector = getattr(self.cov, "_collector", None)
        name = collector.tracer_name() if collector is not None else ""
        return {"CTracer": "ctrace", "SysMonitor": "sysmon", "PyTracer": "pytrace"}.get(
            name, name or "none"
        )

    def close(self) -> None:
        """Close coverage.py's data (an SQLite connection, in memory) once the session
        is over: Python 3.13 warns about a connection left to the garbage collector, and
        a `filterwarnings = error` project turns the warning into a failed test."""
        self.stop()
        data = getattr(self.cov, "_data", None)  # None: the data was never read
        if data is not None:
            with inside(self.root), quiet(self.notes):
                data.close(force=True)

    def stop(self) -> None:
        """Stop tracing and move the collected lines into the coverage data."""
        if not self._running:
            return
        self._running = False
        with inside(self.root), quiet(self.notes):
            if self.probes is None:
                self.cov.stop()
                data = self.cov.get_data()
                if self.earlier is not None and self.plan.scope == "changed":
                    measured = set(self.plan.options.get("run:include", ()))
                    lines = self.earlier.lines().items()
                    data.add_lines({path: found for path, found in lines if path in measured})
            else:
                self.probes.uninstall()
                if "subprocess" in self.cov.config.patch:
                    os.environ.pop(_PROCESS_CONFIG, None)
                    if self._environ is not None:
                        os.environ[_PROCESS_CONFIG] = self._environ
                if self.tracer is not None:  # first: `_add_probed` touches the files not run
                    self.tracer.stop()
                    self.tracer.measured(self.cov.get_data(), skip=self.probes.compiled)
                self._add_probed(self.probes)

    def _add_probed(self, probes: Probes) -> None:
        """The probes' lines (and branches) into the coverage data; with scope `all`,
        the measured files never imported, as the tracer's measurement has them."""
        data = self.cov.get_data()
        if probes.branches:
            from pytest_tddgate.facts.branches import to_arcs

            arcs, unsure = {}, []
            for path, lines in probes.data.items():
                bodies = probes.bodies.get(path, {})
                found, unknown = to_arcs(path, lines, probes.sides[path], bodies)
                if found:
                    arcs[path] = found
                unsure += [f"{Path(path).name}:{line}" for line in unknown]
            data.add_arcs(arcs)
            if unsure:
                self.notes.append(
                    f"branch probes could not tell the sides of {', '.join(unsure[:3])}"
                    f"{' and more' if len(unsure) > 3 else ''} (a body on the header's "
                    "line): counted as not taken; set `probes = false` to trace them"
                )
        else:
            data.add_lines(probes.lines())
        note = unprobed_note(probes)
        if note:
            self.notes.append(note)
        # as coverage.py's tracer does, also when nothing ran: a never-imported source
        # file counts as 0 % (`add_lines` / `add_arcs` above chose the data's kind)
        if self.plan.scope == "all":
            measured = set(data.measured_files())
            data.touch_files([n for n in unexecuted_files(self.cov.config) if n not in measured])

    def payload(self) -> dict[str, Any]:
        """An xdist worker's measurement, JSON-safe, for the controller to merge."""
        self.stop()
        with quiet(self.notes):
            blob = self.cov.get_data().dumps()
        return {
            "data": base64.b64encode(blob).decode("ascii"),
            "core": self.core,
            "notes": self.traced_notes,
        }

    def absorb(self, payloads: Sequence[Mapping[str, Any]]) -> None:
        """Merge the workers' measurements into this (the controller's) one."""
        from coverage import CoverageData

        for payload in payloads:
            for note in payload.get("notes", ()):
                if isinstance(note, str) and note not in self.notes:
                    self.notes.append(note)
        with inside(self.root), quiet(self.notes):
            data = self.cov.get_data()
            for payload in payloads:
                other = CoverageData(no_disk=True)
                try:
                    other.loads(base64.b64decode(payload["data"]))
                    data.update(other)
                finally:
                    other.close(force=True)

    def finish(self) -> None:
        """Child processes' data files, then never-run changed files, into the data."""
        with inside(self.root), quiet(self.notes):
            children = self._child_files()
            if children:
                self._combine(children)
            data = self.cov.get_data()
            measured = set(data.measured_files())
            unrun = [name for name in self.plan.touch if name not in measured]
            if unrun:
                data.touch_files(unrun)

    def _combine(self, children: list[str]) -> None:
        """The children's data files into this measurement, then removed. When the
        project names no `source`, processes started by `concurrency = multiprocessing`
        read the configuration file, not the source this plugin chose, and measure the
        test files too (only what ran in them): their files outside that source are
        left out, as this process measured none of them."""
        roots = self.plan.options.get("run:source")
        if self.plan.scope != "all" or not roots:
            self.cov.combine(data_paths=children, keep=False)
            return
        from coverage import CoverageData
        from coverage.exceptions import CoverageException

        folders = tuple(os.path.join(os.path.realpath(r), "") for r in roots)  # noqa: PTH118
        data = self.cov.get_data()
        for path in children:
            child = CoverageData(basename=path)
            try:
                child.read()
                kept = _within(child, folders)
                try:
                    data.update(kept)
                finally:
                    kept.close(force=True)  # an SQLite connection: 3.13 warns if left open
            except CoverageException as exc:  # as `coverage combine`: said, and skipped
                self.notes.append(f"Couldn't use data file {path!r}: {exc}")
                continue
            finally:
                child.close(force=True)
            Path(path).unlink(missing_ok=True)

    def _child_files(self) -> list[str]:
        """Data files that subprocesses (coverage's `patch = subprocess`) wrote during
        this run; older leftovers, and other runs' files, are not this run's."""
        config = self.cov.config
        if (
            "subprocess" not in getattr(config, "patch", ())
            and "multiprocessing" not in config.concurrency
        ):
            return []
        target = self.data_file()
        prefix = target.name + "."
        try:
            candidates = list(target.parent.iterdir())
        except OSError:
            return []
        return [
            str(path)
            for path in candidates
            if path.name.startswith(prefix) and _mtime(path) >= self.started_at - 1
        ]

    def data_file(self) -> Path:
        return self.root / str(self.cov.config.data_file)

    def save(self) -> Path | None:
        """Write the data file atomically, where `pytest --cov` would; a measurement of
        only the changed files is not saved over a full one."""
        from coverage import CoverageData
        from coverage.sqldata import filename_suffix

        if self.plan.scope != "all":
            return None
        target = self.data_file()
        if self.cov.config.parallel:
            target = target.with_name(f"{target.name}.{filename_suffix(True)}")
        temporary = target.with_name(f".tddgate-{os.getpid()}-{target.name}.tmp")
        with inside(self.root), quiet(self.notes):
            written = CoverageData(basename=str(temporary))
            try:
                written.update(self.cov.get_data())
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
            finally:
                written.close(force=True)
        if not temporary.exists():  # nothing was measured: coverage wrote no file
            return None
        temporary.replace(target)
        return target


def _within(data: Any, folders: tuple[str, ...]) -> Any:
    """A copy of coverage data holding only the files under `folders`."""
    from coverage import CoverageData

    kept = CoverageData(no_disk=True)
    files = [n for n in data.measured_files() if os.path.realpath(n).startswith(folders)]
    if data.has_arcs():
        kept.add_arcs({name: data.arcs(name) or [] for name in files})
    else:
        kept.add_lines({name: data.lines(name) or [] for name in files})
    tracers = {name: data.file_tracer(name) for name in files}
    kept.add_file_tracers({name: tracer for name, tracer in tracers.items() if tracer})
    return kept


class _Both:
    """The tracer's collector and the probes compiled before it started, as one
    collector to the per-test recorder (facts/covcontexts.py): `data` maps each file to
    the very set its collector fills, so what the recorder takes out is taken there."""

    def __init__(self, tracer: Any, probes: Probes) -> None:
        self._tracer = tracer
        self._probes = probes

    @property
    def data(self) -> dict[str, Any]:
        return {**self._probes.data, **self._tracer.data}

    @property
    def branch(self) -> bool:
        return bool(getattr(self._tracer, "branch", False))

    def tracer_name(self) -> str:
        return str(self._tracer.tracer_name())


def _failed_note(path: str, why: str, then: str = "coverage.py's tracer measured it") -> str:
    first = why.splitlines()[0][:120] if why else "an error"
    return f"{Path(path).name}: the probes could not be compiled into it ({first}); {then}"


def unexecuted_files(config: Any) -> list[str]:
    """The files coverage.py reports as never run when nothing imported them: every
    importable Python file of the `source` folders and of the imported `source_pkgs`,
    less `omit` (what its tracer adds when it saves its data)."""
    from coverage.files import GlobMatcher, canonical_filename, find_python_files, prep_patterns

    folders = _source_dirs_option(config)
    packages = list(config.source_pkgs or ())
    for entry in config.source or ():
        (folders if Path(entry).is_dir() else packages).append(entry)
    for name in packages:
        origin = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(origin, str) and os.path.basename(origin) == "__init__.py":  # noqa: PTH119
            folders.append(os.path.dirname(origin))  # noqa: PTH120
    omit = GlobMatcher(prep_patterns(config.run_omit)) if config.run_omit else None
    namespaces = bool(getattr(config, "include_namespace_packages", False))
    found = []
    for folder in folders:
        for path in find_python_files(canonical_filename(folder), namespaces):
            name = canonical_filename(path)
            if omit is None or not omit.match(name):
                found.append(name)
    return found


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
