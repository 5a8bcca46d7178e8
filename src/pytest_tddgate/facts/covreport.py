"""A finished measurement as plain data: per-file lines, the total, per-test contexts.

The total is computed the way `coverage report` computes it (coverage.py's own
`get_analysis_to_report` over every measured file, its `report` include / omit and
`[paths]` settings, statements and branches summed in `Numbers`), so the two agree
on the same data. Each file is analysed once; the `FileCoverage` of the files
inside the project come from the same analysis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts import numbits
from pytest_tddgate.facts.covcontexts import OUTSIDE, ContextLines, Store, from_json, merge
from pytest_tddgate.facts.covdata import TEST_MAP, CoverageFacts, FileCoverage, load_test_map
from pytest_tddgate.facts.coverage import Measurement, inside, quiet
from pytest_tddgate.facts.pyast import function_lines
from pytest_tddgate.fsutil import atomic_write_text

if TYPE_CHECKING:
    from pytest_tddgate.facts.covremote import RemoteMeasurement
    from pytest_tddgate.settings import Settings

# warnings of a controller that ran no test itself, while its workers did
_WORKER_NOISE = ("module-not-imported", "no-data-collected", "module-not-measured")


@dataclass(frozen=True, slots=True)
class CoverageSummary:
    """What the coverage gate needs beyond `CoverageFacts`: totals and how it was measured."""

    scope: str  # "all" | "changed"
    measured_by: str  # "tddgate" | "pytest-cov"
    core: str  # ctrace | sysmon | pytrace
    branch: bool
    total_percent: float | None = None  # None: not measured (scope changed)
    statements: int = 0
    missing: int = 0
    branches: int = 0
    partial_branches: int = 0
    contexts: bool = False  # per-test contexts were recorded
    data_file: str | None = None
    config_file: str | None = None  # where coverage.py read its settings; None: defaults
    notes: tuple[str, ...] = ()
    error: str | None = None  # the measurement could not be used; the gate says error
    fix: str | None = None
    traced: frozenset[str] = field(default_factory=frozenset)  # scope changed: these files


def analyse(cov: Any, root: Path, notes: list[str]) -> tuple[dict[str, FileCoverage], Any]:
    """Per-file lines of the files inside `root`, and coverage.py's `Numbers` total."""
    from coverage.exceptions import NoDataError
    from coverage.report_core import get_analysis_to_report
    from coverage.results import Numbers

    total = Numbers(precision=cov.config.precision)
    files: dict[str, FileCoverage] = {}
    with inside(root), quiet(notes):
        # `coverage report` maps paths through `[paths]` first ("implicit combine")
        prepare = getattr(cov, "_prepare_data_for_reporting", None)
        if prepare is not None:
            prepare()
        cov.get_data().set_query_contexts(cov.config.report_contexts)
        # as pytest-cov reports: a measured file that does not parse (test data
        # broken on purpose, a template whose code ran under its own name) is left
        # out with a note; `coverage report` would stop at it
        cov.config.ignore_errors = True
        try:
            for _, analysis in get_analysis_to_report(cov, None):
                total += analysis.numbers
                rel = relative(analysis.filename, root)
                if rel is not None:
                    statements = frozenset(analysis.statements)
                    files[rel] = FileCoverage(rel, statements, statements - analysis.missing)
        except NoDataError:
            pass  # nothing measured: no files, total of nothing
    return files, total


def relative(filename: str, root: Path) -> str | None:
    """Project-relative `a/b.py`, or None for a file outside the project."""
    path = os.path.realpath(filename) if Path(filename).is_absolute() else str(root / filename)
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return None


def context_lines(store: Store, root: Path) -> ContextLines:
    """Per-test numbits keyed by tracer file names -> keyed by project-relative paths."""
    names: dict[str, str | None] = {}
    mapped: dict[str, dict[str, bytes]] = {}
    for context, files in store.items():
        target = mapped.setdefault(context, {})
        for name, bits in files.items():
            if name not in names:
                names[name] = relative(name, root)
            rel = names[name]
            if rel is not None:
                target[rel] = bits
    return ContextLines(mapped)


def store_from_data(data: Any) -> Store:
    """pytest-cov's `--cov-context=test` contexts (`nodeid|run`, ...) as one per test."""
    lines: dict[str, dict[str, set[int]]] = {}
    for filename in data.measured_files():
        for line, contexts in data.contexts_by_lineno(filename).items():
            for context in contexts:
                test = context.split("|", 1)[0]
                lines.setdefault(test, {}).setdefault(filename, set()).add(line)
    return {
        test: {name: numbits.from_lines(found) for name, found in files.items()}
        for test, files in lines.items()
    }


def test_map_entries(
    contexts: Mapping[str, Mapping[str, frozenset[int]]],
    impl: Mapping[str, FileCoverage],
    root: Path | None = None,
) -> dict[str, set[str]]:
    """test file -> the implementation files its tests executed in this run. With
    `root`, only those where a test ran a line inside one of the file's functions:
    a module's other lines run once, in whichever test imports it first, so they
    would make the links depend on the test order (`import-time` links those)."""
    found: dict[str, set[str]] = {}
    bodies: dict[str, frozenset[int]] = {}
    for context, files in contexts.items():
        if context == OUTSIDE:
            continue
        test_file = context.split("::", 1)[0]
        target = found.setdefault(test_file, set())
        for path, lines in files.items():
            if path not in impl or path == test_file:
                continue
            if root is not None and path not in bodies:
                bodies[path] = _function_bodies(root / path)
            if root is None or lines & bodies[path]:
                target.add(path)
    return found


def _function_bodies(path: Path) -> frozenset[int]:
    """The lines inside a file's functions (none when it cannot be read or parsed)."""
    try:
        return function_lines(path.read_bytes())[0]
    except OSError:
        return frozenset()


def write_test_map(
    root: Path,
    contexts: Mapping[str, Mapping[str, frozenset[int]]],
    impl: Mapping[str, FileCoverage],
    traced: frozenset[str] | None,
) -> Path:
    """Update `.tddgate/test-map.json` with this run (atomically).

    Test files that did not run keep their entries. A test file that ran keeps the
    files this run could not see (with `scope = "changed"` only the changed files
    were traced) and gets the traced files it executed now.
    """
    entries = {test: set(files) for test, files in load_test_map(root).items()}
    for test, executed in test_map_entries(contexts, impl, root).items():
        kept = {f for f in entries.get(test, set()) if traced is not None and f not in traced}
        entries[test] = kept | executed
    target = root / TEST_MAP
    document = {"tests": {test: sorted(files) for test, files in sorted(entries.items())}}
    atomic_write_text(target, json.dumps(document, indent=1) + "\n")
    return target


@dataclass(frozen=True, slots=True)
class Source:
    """Where the run's measurement is: ours, or pytest-cov's (`--cov`)."""

    measurement: Measurement | None = None
    external: Any = None  # pytest-cov's finished coverage.Coverage
    remote: RemoteMeasurement | None = None  # ours, analysed by a helper process
    external_contexts: bool = False  # pytest-cov recorded `--cov-context=test`
    store: Store = field(default_factory=dict)  # this process's per-test lines
    contexts: bool = True


def collect(
    settings: Settings, source: Source, workers: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The run's coverage facts for `facts.provided`: `coverage` (CoverageFacts, absent
    when nothing could be measured) and `coverage_summary` (CoverageSummary)."""
    root = settings.root
    notes: list[str] = []
    try:
        if source.remote is not None:
            summary, files = source.remote.report(notes)
        else:
            summary, files = measure(root, source, workers, notes)
    except read_errors() as exc:  # evaluated only when something was raised
        scope = source.measurement.plan.scope if source.measurement else "all"
        scope = "changed" if source.remote is not None else scope
        failed = CoverageSummary(
            scope,
            _by(source),
            "unknown",
            False,
            notes=tuple(notes),
            error=f"coverage data could not be read: {exc}",
            fix="run again; if it persists, report it with the output",
        )
        return {"coverage_summary": failed}
    store: Store = {}
    merge(store, source.store)
    for output in workers:
        merge(store, from_json(output.get("contexts", {})))
    if source.external_contexts:
        store = store_from_data(source.external.get_data())
    contexts = context_lines(store, root) if any(c != OUTSIDE for c in store) else None
    if contexts is not None:
        impl = {path: f for path, f in files.items() if not _test_file(path, settings)}
        traced = summary.traced if summary.scope == "changed" else None
        try:
            write_test_map(root, contexts, impl, traced)
        except OSError as exc:
            notes.append(f"could not write {TEST_MAP}: {exc}")
    summary = replace(summary, contexts=contexts is not None, notes=tuple(notes))
    return {"coverage": CoverageFacts(files, contexts or {}), "coverage_summary": summary}


def read_errors() -> tuple[type[Exception], ...]:
    """What reading a measurement can raise that is not a bug of ours."""
    import sqlite3

    from coverage.exceptions import CoverageException

    return (CoverageException, OSError, sqlite3.Error, ValueError, FactError)


def _by(source: Source) -> str:
    ours = source.measurement is not None or source.remote is not None
    return "tddgate" if ours else "pytest-cov"


def measure(
    root: Path, source: Source, workers: Sequence[Mapping[str, Any]], notes: list[str]
) -> tuple[CoverageSummary, dict[str, FileCoverage]]:
    measurement = source.measurement
    data_file = None
    if measurement is not None:
        measurement.stop()
        touch_imported(measurement)
        measurement.absorb([w for w in workers if w.get("data")])
        measurement.finish()
        cov, scope, core = measurement.cov, measurement.plan.scope, measurement.core
        if workers:
            core = next((str(w["core"]) for w in workers if w.get("core")), core)
    else:
        cov, scope, core = source.external, "all", "pytest-cov"
    files, total = analyse(cov, root, notes)
    if measurement is not None:
        saved = measurement.save()
        data_file = relative(str(saved), root) if saved else None
        notes[:0] = measurement.notes
        if workers:  # the controller traced no test: its "never imported" says nothing
            notes[:] = [n for n in notes if not any(s in n for s in _WORKER_NOISE)]
    traced: frozenset[str] = frozenset()
    if measurement is not None and scope == "changed":
        included = measurement.plan.options.get("run:include", ())
        traced = frozenset(r for r in (relative(n, root) for n in included) if r)
    summary = CoverageSummary(
        scope=scope,
        measured_by=_by(source),
        core=core,
        branch=bool(cov.get_data().has_arcs()),
        total_percent=round(total.pc_covered, 2) if scope == "all" and total.n_files else None,
        statements=total.n_statements,
        missing=total.n_missing,
        branches=total.n_branches,
        partial_branches=total.n_partial_branches,
        data_file=data_file,
        config_file=_config_file(cov, root),
        traced=traced,
    )
    return summary, files


def touch_imported(measurement: Measurement) -> None:
    """Probed files imported without running a line (an empty `__init__.py`) into the
    data with no lines, as coverage.py's tracer records them: `coverage report` lists
    them. Called once the measurement stopped, before its data is saved or sent."""
    probes = measurement.probes
    if probes is None or measurement.plan.scope != "all":
        return
    data = measurement.cov.get_data()
    measured = set(data.measured_files())
    quiet_files = sorted(path for path in probes.compiled if path not in measured)
    # coverage.py touches files only in data that knows lines from arcs
    if quiet_files and (data.has_arcs() or measured):
        data.touch_files(quiet_files)


def _config_file(cov: Any, root: Path) -> str | None:
    """The file coverage.py took its settings from, relative to the project root."""
    used = getattr(cov.config, "config_file", None)
    if not used:
        return None
    return relative(str(used), root) or str(used)


def _test_file(path: str, settings: Settings) -> bool:
    """Test code is not implementation: under a test root, or named like pytest's tests."""
    name = path.rsplit("/", 1)[-1]
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(
        path == t.rstrip("/") or path.startswith(t.rstrip("/") + "/") for t in settings.test_roots
    )
