"""Benchmark: the plugin's fixed cost, what `--tddgate` adds to a run beyond the tests.

    PYTHONPATH=src python benchmarks/bench_fixed.py [--rounds 7] [--tests 20] [--project PATH]
        [--src PATH --src OTHER_PATH]

The design's budget is 0.3 s for everything the plugin adds beyond pytest and
coverage (settings, git, reports, ledger, learnings). bench_pipeline.py shows it as
its `tests-only - plain` column on real projects, where the test run's own noise is
seconds; this script measures it on a project so small that the fixed cost is all
there is: by default a fresh git repository in benchmarks/_work/fixed (git-ignored)
with one module and a test file of `--tests` tests, or the project at `--project`.
`--src` names the plugin's source folder (twice: compare two versions, e.g. a
checkout of `main` and this one).

Rows, each a fresh process, interleaved round by round in a rotating order:

- `no-plugin`: `pytest -p no:tddgate` (the plugin not loaded at all)
- `plain`: `pytest` (the plugin loaded, `--tddgate` not given: should cost ~nothing)
- `tests-only`: `pytest --tddgate --tddgate-only=tests` (settings, git, the JSON
  report, the ledger and the learnings; no coverage, ruff or mypy)
- `all-reports`: the same with the Markdown, SARIF and HTML reports written

Bytecode is cached as in a project (PYTHONDONTWRITEBYTECODE is dropped from the
environment), and the ledger and the reports are kept from run to run (a first,
uncounted round creates them). The table gives the best and the median CPU time
(user + system of the process and its children) of each row and its difference to
`plain`; the best run is the one that other work on a shared machine disturbed least.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work" / "fixed"
# CI turns the learnings off; PYTHONDONTWRITEBYTECODE makes every run compile (and
# pytest assertion-rewrite) each of the plugin's modules again, a cost a project
# with a normal bytecode cache never pays
DROPPED_ENV = ("CI", "GITHUB_ACTIONS", "PYTHONDONTWRITEBYTECODE")
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
PYPROJECT = """\
[project]
name = "pkg"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
"""


def build(root: Path, tests: int) -> Path:
    """A git repository with one module, `tests` tests and one commit on `main`."""
    if root.exists():
        shutil.rmtree(root)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "src" / "pkg" / "__init__.py").write_text(MODULE)
    (root / "tests" / "test_double.py").write_text(
        "from pkg import double\n\n"
        + "".join(
            f"\ndef test_double_{n}():\n    assert double({n}) == {2 * n}\n" for n in range(tests)
        )
    )
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text(".tddgate/\ndocs/expertise.md\n")
    git = ("git", "-c", "user.name=bench", "-c", "user.email=bench@example.com")
    for step in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "init")):
        subprocess.run((*git, *step), cwd=root, check=True)
    return root


def cpu_of(command: tuple[str, ...], cwd: Path, src: str | None) -> float:
    """CPU seconds of `command` and its children, measured in a child of its own."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(u.ru_utime + u.ru_stime)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    # absolute: the commands run in the project, where a relative `src` is its own
    paths = [src] if src else env.get("PYTHONPATH", "").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in paths if p)
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(command)],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


def bench(root: Path, rounds: int, trees: list[str | None]) -> dict[str, list[float]]:
    """Every row for every plugin source tree, interleaved in a rotating order."""
    runs = {(tree, name): ROWS[name] for tree in trees for name in ROWS}
    keys = list(runs)
    for key in keys:  # warm-up: bytecode compiled, the ledger created; not counted
        cpu_of(runs[key], root, key[0])
    samples: dict[str, list[float]] = {_label(*key): [] for key in keys}
    for number in range(rounds):
        for key in keys[number % len(keys) :] + keys[: number % len(keys)]:
            samples[_label(*key)].append(cpu_of(runs[key], root, key[0]))
    return samples


def _label(tree: str | None, name: str) -> str:
    return f"{tree} {name}" if tree else name


def table(samples: dict[str, list[float]], trees: list[str | None]) -> str:
    lines = [
        "| plugin | row | best CPU (s) | minus plain | median CPU (s) | minus plain |",
        "|---|---|---|---|---|---|",
    ]
    for tree in trees:
        plain = samples[_label(tree, "plain")]
        for name in ROWS:
            values = samples[_label(tree, name)]
            best, median = min(values), statistics.median(values)
            lines.append(
                f"| {tree or 'as installed'} | {name} | {best:.3f} | {best - min(plain):+.3f} "
                f"| {median:.3f} | {median - statistics.median(plain):+.3f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tests", type=int, default=20, help="tests in the new project")
    parser.add_argument("--project", type=Path, help="an existing project (default: a new one)")
    parser.add_argument(
        "--src",
        action="append",
        metavar="PATH",
        help="the plugin's source folder to measure (repeatable, to compare two versions; "
        "default: the plugin PYTHONPATH or the installation gives)",
    )
    args = parser.parse_args()
    root = args.project.resolve() if args.project else build(WORK, args.tests)
    trees: list[str | None] = list(args.src or [None])
    print(table(bench(root, args.rounds, trees), trees))


if __name__ == "__main__":
    main()
