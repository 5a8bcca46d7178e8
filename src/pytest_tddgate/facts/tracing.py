"""Requirements linked to tests and code: the pure core of the `traceability` gate.

A requirement's tests come from two places: its `tests` entries in the matrix (a
file, a folder, a node id or a node-id prefix such as `file::TestClass`), and tests
that link themselves with `@pytest.mark.req`, seen both in the run (the marker ids
pytest recorded) and statically (for marked tests that did not run). Each source is
one `Link`; the requirement's status follows from its links' outcomes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_tddgate.facts.covdata import CoverageFacts
    from pytest_tddgate.facts.matrix import Requirement
    from pytest_tddgate.facts.reqmarks import MarkedTest
    from pytest_tddgate.facts.testrun import TestOutcome

PASSING, FAILING, UNTESTED, NOT_RUN = "passing", "failing", "untested", "not-run"
_RAN = frozenset({"passed", "xpassed", "failed", "error"})
_FAILED = frozenset({"failed", "error"})


def base_nodeid(nodeid: str) -> str:
    """The node id without parameters: `f.py::test_a[x::y]` -> `f.py::test_a`."""
    file_part, sep, rest = nodeid.partition("::")
    return file_part + sep + rest.split("[", 1)[0]


def covers(entry: str, nodeid: str) -> bool:
    """Whether the `tests` entry (file, folder, node id or prefix) includes `nodeid`."""
    if nodeid == entry or nodeid.startswith((entry + "::", entry + "[")):
        return True
    return "::" not in entry and nodeid.startswith(entry.rstrip("/") + "/")


def under(path: str, entry: str) -> bool:
    """Whether `path` is `entry` or inside the folder `entry` (`.` is everything)."""
    entry = entry.rstrip("/")
    return entry in ("", ".") or path == entry or path.startswith(entry + "/")


class OutcomeIndex:
    """The run's outcomes, looked up by a `tests` entry in constant time."""

    __slots__ = ("_by_key", "_files", "_tests_per_file")

    def __init__(self, outcomes: Iterable[TestOutcome]) -> None:
        self._by_key: dict[str, list[TestOutcome]] = defaultdict(list)
        tests: dict[str, set[str]] = defaultdict(set)
        for outcome in outcomes:
            base = base_nodeid(outcome.nodeid)
            tests[base.partition("::")[0]].add(base)
            for key in _keys(outcome.nodeid, base):
                self._by_key[key].append(outcome)
        self._files: list[str] | None = None
        self._tests_per_file = {path: len(names) for path, names in tests.items()}

    def tests_per_file(self) -> dict[str, int]:
        """test file -> how many of its tests ran (parameters folded into one)."""
        return self._tests_per_file

    def match(self, entry: str) -> tuple[TestOutcome, ...]:
        found = self._by_key.get(entry)
        if found is not None:
            return tuple(found)
        if "::" in entry:
            return ()
        # a folder: every file below it (rare, so the file list is built on demand)
        if self._files is None:
            self._files = [k for k in self._by_key if "::" not in k]
        folder = entry.rstrip("/") + "/"
        return tuple(o for f in self._files if f.startswith(folder) for o in self._by_key[f])


def _keys(nodeid: str, base: str) -> Iterable[str]:
    """`f.py::C::t[1]` -> itself, `f.py::C::t`, `f.py::C`, `f.py` (each once)."""
    parts = base.split("::")
    keys = {"::".join(parts[: n + 1]) for n in range(len(parts))}
    keys.add(nodeid)
    return keys


@dataclass(frozen=True, slots=True)
class Link:
    """One way a requirement reaches tests, and the outcomes of those tests."""

    label: str  # the matrix entry, or the node id of a marked test
    source: str  # "matrix" | "marker"
    outcomes: tuple[TestOutcome, ...] = ()
    broken: bool = False  # names a file or test that does not exist (reported apart)

    @property
    def ran(self) -> bool:
        return any(o.outcome in _RAN for o in self.outcomes)

    @property
    def failures(self) -> tuple[TestOutcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome in _FAILED)


def marker_links(
    outcomes: Sequence[TestOutcome],
    marked: Sequence[MarkedTest],
    index: OutcomeIndex | None,
) -> dict[str, dict[str, list[TestOutcome]]]:
    """requirement id -> {base node id of a marked test -> its outcomes in this run}.

    Marked tests that did not run (deselected, or no run at all) appear with no
    outcomes, so their requirement is `not-run` rather than `untested`.
    """
    links: dict[str, dict[str, list[TestOutcome]]] = defaultdict(dict)
    for outcome in outcomes:
        for req_id in outcome.requirements:
            links[req_id].setdefault(base_nodeid(outcome.nodeid), []).append(outcome)
    for test in marked:
        for req_id in test.requirements:
            if test.nodeid not in links[req_id]:
                links[req_id][test.nodeid] = list(index.match(test.nodeid) if index else ())
    return links


def links_of(
    requirement: Requirement,
    index: OutcomeIndex | None,
    marked: Mapping[str, list[TestOutcome]],
    broken: frozenset[str],
) -> tuple[Link, ...]:
    """The requirement's links: its matrix entries, then marked tests they do not cover."""
    links = [
        Link(entry, "matrix", index.match(entry) if index else (), entry in broken)
        for entry in requirement.tests
    ]
    for nodeid in sorted(marked):
        if not any(covers(entry, nodeid) for entry in requirement.tests):
            links.append(Link(nodeid, "marker", tuple(marked[nodeid])))
    return tuple(links)


def status_of(links: Sequence[Link], have_run: bool) -> str:
    """`untested` without links; else `failing` / `passing` / `not-run` from outcomes."""
    if not links:
        return UNTESTED
    if not have_run:
        return NOT_RUN
    if any(link.failures for link in links):
        return FAILING
    if all(link.ran for link in links if not link.broken) and any(link.ran for link in links):
        return PASSING
    return NOT_RUN


@dataclass(frozen=True, slots=True)
class CodeCoverage:
    """How much of a requirement's `code` its own tests executed."""

    percent: float | None  # None: none of its code was measured
    orphans: tuple[str, ...]  # measured code files none of its tests executed
    executed: tuple[str, ...]  # every measured file its tests executed


class ContextIndex:
    """Per-test executed lines, keyed by node id (coverage phase suffixes merged).

    Lines run outside any test (the empty context: imports during collection, such
    as `def` and `class` statements) count for every requirement's percentage, as
    they do in coverage's own report, but never make a file "executed by its tests".
    """

    __slots__ = ("_by_test", "_outside_tests", "coverage")

    def __init__(self, coverage: CoverageFacts) -> None:
        self.coverage = coverage
        merged: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        for context, files in coverage.contexts.items():
            # pytest-cov style contexts are `nodeid|run`, `nodeid|setup`, ...
            target = merged[context.split("|", 1)[0]]
            for path, lines in files.items():
                target[path].update(lines)
        self._outside_tests = merged.pop("", {})
        self._by_test = merged

    def __bool__(self) -> bool:
        return bool(self._by_test)

    def code_coverage(self, code: Sequence[str], links: Sequence[Link]) -> CodeCoverage:
        executed: dict[str, set[int]] = defaultdict(set)
        for link in links:
            for outcome in link.outcomes:
                for path, lines in self._by_test.get(outcome.nodeid, {}).items():
                    executed[path].update(lines)
        measured = [f for entry in code for f in self._measured(entry)]
        total = hits = 0
        orphans = []
        for path in dict.fromkeys(measured):
            executable = self.coverage.files[path].executable
            own = executable & executed.get(path, set())
            if executable and not own:
                orphans.append(path)
            total += len(executable)
            hits += len(own | (executable & self._outside_tests.get(path, set())))
        percent = round(100.0 * hits / total, 1) if total else None
        return CodeCoverage(percent, tuple(orphans), tuple(sorted(executed)))

    def _measured(self, entry: str) -> list[str]:
        """The measured files a `code` entry names: the file, or files below a folder."""
        if entry in self.coverage.files:
            return [entry]
        folder = entry.rstrip("/") + "/"
        return sorted(f for f in self.coverage.files if f.startswith(folder))
