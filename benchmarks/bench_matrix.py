"""Benchmark: validate and evaluate a traceability matrix of 5,000 requirements.

    PYTHONPATH=src python benchmarks/bench_matrix.py [--requirements 5000] [--repeat 5] [--cpu]

Builds a project in benchmarks/_work/matrix (git-ignored): N requirements over N/5
source modules and N/5 test files of 5 tests each. Half the requirements list their
tests in the matrix (files and node ids alternately), the other half are linked by
`@pytest.mark.req` in the test files. The run is simulated with one outcome per test
and per-test coverage contexts, so every check of the gate runs, orphan detection
included. The target is < 0.5 s for validate + evaluate; the first evaluation is the
cold one (each test file with a marker is parsed once).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts, testrun
from pytest_tddgate.facts.covdata import CoverageFacts, FileCoverage
from pytest_tddgate.facts.matrix import matrix
from pytest_tddgate.gates.traceability import TraceabilityGate
from pytest_tddgate.settings import resolve

if TYPE_CHECKING:
    from collections.abc import Callable

WORK = Path(__file__).parent / "_work" / "matrix"
TESTS_PER_FILE = 5
TARGET_S = 0.5


def build(root: Path, count: int) -> tuple[testrun.TestRun, CoverageFacts]:
    """Write the project; return the simulated run and its coverage."""
    if root.exists():
        shutil.rmtree(root)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pyproject.toml").write_text('[tool.tddgate]\nsource = ["src"]\ntests = ["tests"]\n')
    files = count // TESTS_PER_FILE
    requirements, outcomes, contexts, measured = [], [], {}, {}
    for f in range(files):
        module = f"src/pkg/mod_{f}.py"
        (root / module).write_text("".join(f"def f{n}():\n    return {n}\n" for n in range(5)))
        measured[module] = FileCoverage(module, frozenset(range(1, 11)), frozenset(range(1, 11)))
        lines = ["import pytest\n"]
        for t in range(TESTS_PER_FILE):
            number = f * TESTS_PER_FILE + t
            req_id = f"REQ-{number:05d}"
            test_file, name = f"tests/test_mod_{f}.py", f"test_case_{t}"
            nodeid = f"{test_file}::{name}"
            marked = number % 2 == 1
            if marked:
                lines.append(f'\n@pytest.mark.req("{req_id}")\n')
            lines.append(f"def {name}():\n    assert True\n")
            entry = [] if marked else [test_file if number % 4 == 0 else nodeid]
            requirements.append(
                {
                    "id": req_id,
                    "title": f"Requirement number {number}",
                    "tests": entry,
                    "code": [module],
                    "priority": "high",
                }
            )
            outcomes.append(
                testrun.TestOutcome(
                    nodeid,
                    "passed",
                    0.001,
                    path=test_file,
                    line=3,
                    requirements=(req_id,) if marked else (),
                )
            )
            contexts[f"{nodeid}|run"] = {module: frozenset({2 * t + 1, 2 * t + 2})}
        (root / test_file).write_text("".join(lines))
    text = json.dumps({"requirements": requirements}, indent=2)
    (root / "traceability_matrix.json").write_text(text)
    run = testrun.TestRun.build(tuple(outcomes), (), 0, False)
    return run, CoverageFacts(measured, contexts)


def once(
    root: Path,
    run: testrun.TestRun | None,
    coverage: CoverageFacts | None,
    clock: Callable[[], float],
) -> tuple[float, float, str]:
    """Seconds to validate, then to evaluate, on fresh facts (nothing cached)."""
    settings = resolve(root)
    facts = Facts(settings, test_run=run)
    if coverage is not None:
        facts.provided["coverage"] = coverage
    started = clock()
    engine.validate([TraceabilityGate()], settings, facts)
    validated = clock()
    (result,) = engine.evaluate([TraceabilityGate()], settings, facts, static_only=run is None)
    done = clock()
    assert facts.get(matrix) is not None
    return validated - started, done - validated, f"{result.status.value}: {result.summary}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu", action="store_true", help="measure CPU time, not wall time")
    args = parser.parse_args()
    # CPU seconds of this process are steadier than wall time on a busy machine
    clock = time.process_time if args.cpu else time.perf_counter
    run, coverage = build(WORK, args.requirements)
    size = (WORK / "traceability_matrix.json").stat().st_size
    print(f"clock: {'CPU' if args.cpu else 'wall'} time")
    print(
        f"{args.requirements} requirements, {len(run.outcomes)} tests in "
        f"{args.requirements // TESTS_PER_FILE} files, matrix {size / 1e6:.1f} MB"
    )
    for title, with_run in (
        ("after a test run (pytest --tddgate)", True),
        ("without a test run (tddgate check)", False),
    ):
        timings = [
            once(WORK, run if with_run else None, coverage if with_run else None, clock)
            for _ in range(args.repeat)
        ]
        print(f"\n{title}\nverdict: {timings[0][2]}")
        for label, values in (
            ("validate", [t[0] for t in timings]),
            ("evaluate", [t[1] for t in timings]),
            ("total", [t[0] + t[1] for t in timings]),
        ):
            print(
                f"{label:9} first {values[0]:.3f} s  median {statistics.median(values):.3f} s"
                f"  best {min(values):.3f} s"
            )
        median = statistics.median(t[0] + t[1] for t in timings)
        print(
            f"target < {TARGET_S} s: {'met' if median < TARGET_S else 'MISSED'} "
            f"(median {median:.3f} s)"
        )


if __name__ == "__main__":
    main()
