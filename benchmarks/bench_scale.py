"""Benchmark: the gates' own time and memory grow linearly with the input.

    PYTHONPATH=src python benchmarks/bench_scale.py [--quick] [--only matrix,diff,tests]

Three inputs, each at three sizes that double (the largest is what issue 9 asks for):

- matrix: a traceability matrix of 12,500 / 25,000 / 50,000 requirements, validated
  and evaluated after a simulated run of one test per requirement with per-test
  coverage (benchmarks/bench_matrix.py builds it), then `--update`'s splice of one
  new test into every tenth requirement;
- diff: a branch whose commit and working tree each change 25,000 / 50,000 / 100,000
  lines (in files of 1,000 lines), read by the history fact and judged by the tdd gate;
- tests: a suite of 12,500 / 25,000 / 50,000 parametrized tests, run by pytest with and
  without `--tddgate` (only the tests and traceability gates, so ruff and mypy do not
  blur the numbers): the difference is the gate's cost (recording the outcomes, the
  report, the ledger, the learnings).

Time is wall time (for the pytest runs: the time of the session's end, where the
gates run and the report, ledger and learnings are written; the whole runs are in
the note); memory is the peak of Python allocations during the step (tracemalloc, in
a separate pass so it does not slow the timed one), and for the pytest runs the peak
resident size the gate adds. Each line shows the ratio to the size before: with
doubling sizes, about 2 is linear, about 4 quadratic.
The project folders live in benchmarks/_work/scale (git-ignored).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench_matrix, next to this file

import bench_matrix  # noqa: E402

from pytest_tddgate import engine  # noqa: E402
from pytest_tddgate.facts import Facts, matrix_edit  # noqa: E402
from pytest_tddgate.facts.history import history  # noqa: E402
from pytest_tddgate.facts.matrix import matrix  # noqa: E402
from pytest_tddgate.gates.tdd import TddGate  # noqa: E402
from pytest_tddgate.gates.traceability import TraceabilityGate  # noqa: E402
from pytest_tddgate.settings import Overrides, resolve  # noqa: E402

WORK = HERE / "_work" / "scale"
SIZES = {
    "matrix": (12_500, 25_000, 50_000),
    "diff": (25_000, 50_000, 100_000),
    "tests": (12_500, 25_000, 50_000),
}
LINES_PER_FILE = 1000


@dataclass(frozen=True, slots=True)
class Measured:
    scenario: str
    size: int
    seconds: float
    peak_mb: float
    note: str = ""


def timed_and_traced(step: Callable[[], str]) -> tuple[float, float, str]:
    """(seconds, peak MB of Python allocations, note) of `step`, run three times: timed,
    timed without the cyclic garbage collector, traced.

    The second timing is in the note: on a heap of millions of objects the collector's
    full passes cost time that grows faster than the heap; without them the gate's
    own work shows its true growth.
    """
    started = time.perf_counter()
    note = step()
    seconds = time.perf_counter() - started
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        step()
        without_gc = time.perf_counter() - started
    finally:
        gc.enable()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak / 1e6, f"{without_gc:.2f} s without gc; {note}"


# -- matrix -----------------------------------------------------------------------------


def matrix_scenario(size: int) -> Measured:
    root = WORK / f"matrix-{size}"
    run, coverage = bench_matrix.build(root, size)

    def step() -> str:
        settings = resolve(root, environ={})
        facts = Facts(settings, test_run=run)
        facts.provided["coverage"] = coverage
        gates = [TraceabilityGate()]
        engine.validate(gates, settings, facts)
        (result,) = engine.evaluate(gates, settings, facts)
        loaded = facts.get(matrix)
        assert loaded is not None
        additions = [
            matrix_edit.Additions(r, (f"tests/test_new.py::test_{r.index}",))
            for r in loaded.requirements[::10]
        ]
        text = matrix_edit.apply(loaded, additions)
        return f"{result.status.value}; update +{len(additions)} ({len(text) / 1e6:.1f} MB)"

    seconds, peak, note = timed_and_traced(step)
    return Measured("matrix", size, seconds, peak, note)


# -- diff -------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def write_lines(root: Path, total: int, word: str) -> None:
    for number in range(max(1, total // LINES_PER_FILE)):
        text = "".join(f"{word}_{number}_{i} = {i}\n" for i in range(LINES_PER_FILE))
        (root / "src" / "pkg" / f"mod_{number}.py").write_text(text, encoding="utf-8")


def diff_repository(size: int) -> Path:
    root = WORK / f"diff-{size}"
    if root.exists():
        shutil.rmtree(root)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text('[tool.tddgate]\nsource = ["src"]\n', encoding="utf-8")
    (root / "src" / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "Bench")
    write_lines(root, size, "old")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    write_lines(root, size, "new")
    for number in range(max(1, size // LINES_PER_FILE)):
        (root / "tests" / f"test_mod_{number}.py").write_text(
            f"from pkg.mod_{number} import *\n\ndef test_it():\n    pass\n", encoding="utf-8"
        )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "rewrite every line")
    write_lines(root, size, "newer")  # and the same again, uncommitted
    return root


def diff_scenario(size: int) -> Measured:
    root = diff_repository(size)

    def step() -> str:
        settings = resolve(root, overrides=Overrides(values={"base": "main"}), environ={})
        facts = Facts(settings)
        hist = facts.get(history)
        (result,) = engine.evaluate([TddGate()], settings, facts, static_only=True)
        changed = sum(len(c.changes) for c in hist.commits)
        return f"{changed} file changes; tdd {result.status.value}: {result.summary[:50]}"

    seconds, peak, note = timed_and_traced(step)
    return Measured("diff", size, seconds, peak, note)


# -- tests ------------------------------------------------------------------------------

SUITE = """\
import pytest


@pytest.mark.req("REQ-1")
@pytest.mark.parametrize("number", range({size}))
def test_number(number):
    assert number >= 0
"""
# pytest in a fresh interpreter; prints its wall time, the time of the session's end
# (where the gates run, the report, ledger and learnings are written) and its peak
# resident size (VmHWM: unlike ru_maxrss it does not inherit the parent's peak)
RUNNER = """\
import re, sys, time
import pytest

class Finish:
    seconds = 0.0
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self):
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            Finish.seconds = time.perf_counter() - started

started = time.perf_counter()
code = pytest.main(sys.argv[1:], plugins=[Finish()])
seconds = time.perf_counter() - started
status = open("/proc/self/status").read()
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
print("MEASURED", seconds, Finish.seconds, peak_kb, int(code))
"""


def suite(size: int) -> Path:
    root = WORK / f"tests-{size}"
    if root.exists():
        shutil.rmtree(root)
    (root / "tests").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n'
        '[tool.tddgate]\nonly = ["tests", "traceability"]\n',
        encoding="utf-8",
    )
    (root / "traceability_matrix.json").write_text(
        json.dumps({"requirements": [{"id": "REQ-1", "title": "all of them"}]}), encoding="utf-8"
    )
    (root / "tests" / "test_many.py").write_text(SUITE.format(size=size), encoding="utf-8")
    return root


def pytest_run(root: Path, *args: str) -> tuple[float, float, float]:
    """(seconds, seconds at the session's end, peak resident MB) of one pytest run."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    env.pop("CI", None)
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("MEASURED")), None)
    if line is None or line.split()[4] != "0":
        raise SystemExit(f"pytest failed in {root}:\n{done.stdout[-2000:]}\n{done.stderr}")
    _, seconds, finish, peak_kb, _ = line.split()
    return float(seconds), float(finish), int(peak_kb) / 1024


def tests_scenario(size: int) -> Measured:
    """The gate's time is its work at the session's end; its memory, the peak it adds."""
    root = suite(size)
    plain_s, _, plain_mb = pytest_run(root)
    gated_s, finish_s, gated_mb = pytest_run(root, "--tddgate")
    note = (
        f"whole run: pytest {plain_s:.1f} s / {plain_mb:.0f} MB, "
        f"with --tddgate {gated_s:.1f} s / {gated_mb:.0f} MB"
    )
    return Measured("tests", size, finish_s, gated_mb - plain_mb, note)


SCENARIOS: dict[str, Callable[[int], Measured]] = {
    "matrix": matrix_scenario,
    "diff": diff_scenario,
    "tests": tests_scenario,
}


def report(rows: list[Measured]) -> None:
    print(f"{'scenario':8} {'size':>8} {'time s':>8} {'x':>5} {'peak MB':>8} {'x':>5}  note")
    previous: Measured | None = None
    for row in rows:
        same = previous is not None and previous.scenario == row.scenario
        time_ratio = f"{row.seconds / previous.seconds:5.2f}" if same and previous else "    -"
        mem_ratio = (
            f"{row.peak_mb / previous.peak_mb:5.2f}"
            if same and previous and previous.peak_mb > 0
            else "    -"
        )
        print(
            f"{row.scenario:8} {row.size:>8,} {row.seconds:8.2f} {time_ratio} "
            f"{row.peak_mb:8.1f} {mem_ratio}  {row.note}"
        )
        previous = row
    print("\nsizes double from line to line: a ratio near 2 is linear, near 4 quadratic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes a tenth as large")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios to run")
    args = parser.parse_args()
    rows = []
    for name in args.only.split(","):
        for full in SIZES[name]:
            size = full // 10 if args.quick else full
            rows.append(SCENARIOS[name](size))
            print(f"  measured {name} at {size:,}", file=sys.stderr, flush=True)
    report(rows)


if __name__ == "__main__":
    main()
