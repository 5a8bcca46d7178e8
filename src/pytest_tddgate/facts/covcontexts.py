"""Which lines each test executed: per-test contexts, recorded cheaply.

coverage.py's own dynamic contexts (`switch_context`, pytest-cov's `--cov-context
test`) store every test's lines or arcs in SQLite at every switch. Measured on
click (2,400 tests, branch coverage) that made the run 2.8x slower than plain
`--cov`, and the `sysmon` core cannot record them at all. So the `Recorder` does
what a switch does, without the database: at the end of each test it takes the
lines the tracer collected since the test began (the tracer's in-memory sets),
keeps them per test as numbits (one bit per line), and empties the sets; after the
last test it puts everything back, so coverage.py saves and reports exactly the
data it would have had. With `sysmon`, which stops reporting a line once seen,
`sys.monitoring.restart_events()` at each test start makes every test see its own
lines again.

Lines are kept in coverage.py's numbits format (facts/numbits.py), without importing
coverage.py: with line probes the test process never needs it.

With line probes (`scope = "changed"`, facts/probes.py) there is no tracer: the
probes' sets are drained the same way.

This reads two attributes coverage.py does not document (`Coverage._collector`,
`Collector.data`); when they are not what this module expects, recording turns
itself off and says so, and the measurement itself is untouched.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_tddgate.facts import numbits

if TYPE_CHECKING:
    from pytest_tddgate.settings import Settings

OUTSIDE = ""  # the context of lines run outside any test (imports, collection)
_LINE = 0xFFFFFFF  # ctrace packs an arc (l1, l2) into one int: 28 bits per line
_L2_NEGATIVE = 1 << 57  # the sign of the second line

# context -> file (as the tracer names it) -> numbits
Store = dict[str, dict[str, bytes]]


class Recorder:
    """Moves the tracer's lines into per-test numbits at test boundaries."""

    def __init__(self, collector: Callable[[], Any]) -> None:
        # returns what collects the lines: coverage.py's running collector, the
        # line probes (facts/probes.py), or None
        self._source = collector
        self.store: Store = {}
        self.problem: str | None = None
        self._taken: dict[str, set[Any]] = {}  # everything moved out, to put back
        self._finished = False

    def begin_test(self) -> None:
        collector = self._collector()
        if collector is None:
            return
        self._drain(collector, OUTSIDE)
        if collector.tracer_name() == "SysMonitor":
            sys.monitoring.restart_events()  # type: ignore[attr-defined,unused-ignore]

    def end_test(self, nodeid: str) -> None:
        collector = self._collector()
        if collector is not None:
            self._drain(collector, nodeid)

    def end_run(self) -> None:
        """Give the tracer back every line taken from it, before coverage saves.

        Called once more on the way out (session finish, unconfigure); the first call
        ends the recording, or the lines given back would all land in one context.
        """
        collector = self._collector()
        self._finished = True
        if collector is not None:
            self._drain(collector, OUTSIDE)
            for name, values in self._taken.items():
                collector.data.setdefault(name, set()).update(values)
        self._taken = {}

    def _collector(self) -> Any:
        if self.problem is not None or self._finished:
            return None
        collector = self._source()
        if collector is None:
            return None
        if not isinstance(getattr(collector, "data", None), dict) or not hasattr(
            collector, "tracer_name"
        ):
            self.problem = "per-test contexts are not available with this coverage.py version"
            return None
        return collector

    def _drain(self, collector: Any, context: str) -> None:
        branch = bool(getattr(collector, "branch", False))
        target = self.store.setdefault(context, {})
        for name, values in _items(collector.data):
            if not values:
                continue
            taken = values.copy()
            # not clear(): a thread may have added a line since the copy
            values.difference_update(taken)
            self._taken.setdefault(name, set()).update(taken)
            bits = numbits.from_lines(executed_lines(taken, branch))
            if name in target:
                bits = numbits.union(target[name], bits)
            target[name] = bits
        if not target:
            del self.store[context]


def _items(data: dict[str, set[Any]]) -> list[tuple[str, set[Any]]]:
    for _ in range(3):  # another thread adding a file can break one attempt
        try:
            return list(data.items())
        except RuntimeError:
            continue
    return []


def executed_lines(values: set[Any], branch: bool) -> set[int]:
    """Line numbers from a tracer's raw set: lines, packed arcs (ctrace), or arc tuples.

    Every line that ran is the end of an arc (from the line before it, or from the
    negative first line of its code object when it starts one); arcs to a negative
    line leave a code object. So the positive ends are exactly the lines that ran.
    """
    if not branch or not values:
        return {line for line in values if line > 0}
    if isinstance(next(iter(values)), int):
        return {(arc >> 28) & _LINE for arc in values if not arc & _L2_NEGATIVE} - {0}
    return {end for _, end in values if end > 0}


def merge(into: Store, other: Store) -> None:
    for context, files in other.items():
        target = into.setdefault(context, {})
        for name, bits in files.items():
            target[name] = numbits.union(target[name], bits) if name in target else bits


def to_json(store: Store) -> dict[str, dict[str, str]]:
    """JSON-safe form for `workeroutput` (numbits as base64)."""
    return {
        context: {name: base64.b64encode(bits).decode("ascii") for name, bits in files.items()}
        for context, files in store.items()
    }


def from_json(raw: Mapping[str, Mapping[str, str]]) -> Store:
    return {
        str(context): {str(name): base64.b64decode(bits) for name, bits in files.items()}
        for context, files in raw.items()
    }


class ContextLines(Mapping[str, Mapping[str, frozenset[int]]]):
    """`CoverageFacts.contexts` over compact numbits: lines are decoded when read.

    A run of thousands of tests keeps a few bits per line per test instead of a
    Python set of ints, which would cost more memory than the measurement itself.
    """

    __slots__ = ("_store",)

    def __init__(self, store: Mapping[str, Mapping[str, bytes]]) -> None:
        self._store = store

    def __getitem__(self, context: str) -> Mapping[str, frozenset[int]]:
        return _FileLines(self._store[context])

    def __iter__(self) -> Iterator[str]:
        return iter(self._store)

    def __len__(self) -> int:
        return len(self._store)


class _FileLines(Mapping[str, frozenset[int]]):
    __slots__ = ("_files",)

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._files = files

    def __getitem__(self, path: str) -> frozenset[int]:
        return frozenset(numbits.to_lines(self._files[path]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


def for_tdd(settings: Settings) -> Settings | None:
    """The settings of a measurement for the `tdd` gate alone, when the coverage gate
    is not selected (`--tddgate-only`, `--tddgate-skip`) but `tdd` is (None: no
    measurement, also when `gates.coverage.enabled = false` or `contexts = false`).
    The `tdd` gate's verdict must not depend on which other gates run, and its
    `coverage` source reads per-test lines: so they are recorded for the changed
    files only (`scope = "changed"`, by line probes where the project's
    configuration allows them), which is all the mapping asks about, at a fraction
    of a whole measurement's cost; a measurement of the changed files is never saved
    over the project's coverage data file."""
    from pytest_tddgate import engine

    coverage = settings.coverage
    if engine.selected(settings, "tdd") is not None or not coverage.contexts:
        return None
    if not coverage.enabled:  # turned off in the configuration: nothing is measured
        return None
    narrowed = replace(coverage, scope="changed", total=None)
    return replace(settings, gates={**settings.gates, "coverage": narrowed})
