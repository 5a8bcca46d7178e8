"""Benchmark: the plugin's fixed cost, what `--tddgate` adds to a run beyond the tests.

    PYTHONPATH=src python benchmarks/bench_fixed.py [--rounds 7] [--project PATH]

The design's budget is 0.3 s for everything the plugin adds beyond pytest and
coverage (settings, git, reports, ledger, learnings). bench_pipeline.py shows it as
its `tests-only - plain` column on real projects, where the test run's own noise is
seconds; this script measures it on a project so small that the fixed cost is all
there is: by default a fresh git repository in benchmarks/_work/fixed (git-ignored)
with one module and a test file of 20 tests, or the project at `--project`.

Rows, each a fresh process, interleaved round by round in a rotating order:

- `no-plugin`: `pytest -p no:tddgate` (the plugin not loaded at all)
- `plain`: `pytest` (the plugin loaded, `--tddgate` not given: should cost ~nothing)
- `tests-only`: `pytest --tddgate --tddgate-only=tests` (settings, git, the JSON
  report, the ledger and the learnings; no coverage, ruff or mypy)
- `all-reports`: the same with the Markdown, SARIF and HTML reports written

The ledger and the reports are kept from run to run, as in a project (a first,
uncounted round creates them). The table gives the best CPU time (user + system of
the process and its children) of each row and its difference to `plain`; the best
run is the one that other work on a shared machine disturbed least.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "fixed"
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")
ROWS: dict[str, tuple[str, ...]] = {
    "no-plugin": (*PYTEST, "-p", "no:tddgate"),
    "plain": PYTEST,
    "tests-only": (*PYTEST, "--tddgate", "--tddgate-only=tests"),
    "all-reports": (
        *PYTEST,
        "--tddgate",
        "--tddgate-only=tests",
        "--tddgate-markdown=.tddgate/report.md",
        "--tddgate-sarif=.tddgate/report.sarif",
        "--tddgate-html=.tddgate/html",
    ),
}
MODULE = "def double(value):\n    return value * 2\n"
TESTS = "from pkg import double\n\n" + "".join(
    f"\ndef test_double_{n}():\n    assert double({n}) == {2 * n}\n" for n in range(20)
)
PYPROJECT = """\
[project]
name = "pkg"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
"""


def build(root: Path) -> Path:
    """A git repository with one module, 20 tests and one commit on `main`."""
    if root.exists():
        shutil.rmtree(root)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "src" / "pkg" / "__init__.py").write_text(MODULE)
    (root / "tests" / "test_double.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text(".tddgate/\ndocs/expertise.md\n")
    git = ("git", "-c", "user.name=bench", "-c", "user.email=bench@example.com")
    for step in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "init")):
        subprocess.run((*git, *step), cwd=root, check=True)
    return root


def cpu_of(command: tuple[str, ...], cwd: Path) -> float:
    """CPU seconds of `command` and its children, measured in a child of its own."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(u.ru_utime + u.ru_stime)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_ACTIONS")}
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(command)],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


def bench(root: Path, rounds: int) -> dict[str, list[float]]:
    names = list(ROWS)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: byte code compiled, the ledger created, not counted
        cpu_of(ROWS[name], root)
    for number in range(rounds):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            samples[name].append(cpu_of(ROWS[name], root))
    return samples


def table(samples: dict[str, list[float]]) -> str:
    plain = min(samples["plain"])
    lines = ["| row | best CPU (s) | minus plain (s) |", "|---|---|---|"]
    for name, values in samples.items():
        lines.append(f"| {name} | {min(values):.3f} | {min(values) - plain:+.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--project", type=Path, help="an existing project (default: a new one)")
    args = parser.parse_args()
    root = args.project.resolve() if args.project else build(WORK)
    print(table(bench(root, args.rounds)))


if __name__ == "__main__":
    main()
