"""Benchmark: `pytest --tddgate` against the pipeline it replaces, on real projects.

    python benchmarks/bench_pipeline.py [--python PATH] [--rounds 2] [--project NAME ...]

The pipeline is what teams chain today, one tool after the other:

    pytest --cov --cov-report=term --cov-report=xml && ruff check \\
        && ruff format --check && mypy && diff-cover coverage.xml --compare-branch=main

The projects (click, attrs, itsdangerous) are downloaded as source distributions,
which include their tests, into benchmarks/_work (git-ignored, never committed),
unpacked, made a git repository whose branch `feature` adds one function, and
installed with their test dependencies into a virtualenv of the chosen Python
(`--python`, default: this one) next to them. Every command runs in a fresh
process; each round runs every command of a project once, in an order that rotates
from round to round, so that a busy machine slows all of them alike. The table
gives ratios of the best run of each command, not seconds (the fastest run is the
one that other work on the machine disturbed least): wall time, CPU time (user +
system, of the process and its children: steadier on a shared machine) and peak
memory (RSS of the largest process). mypy runs with a cold cache, as in CI. The raw
runs are saved in benchmarks/_work/results-<python>.json.

Rows: `plain` pytest; `cov`: pytest --cov (its terminal report, so the total is
computed as the gate computes it); `pipeline`: the chain above; `full`:
pytest --tddgate with every gate and a `total` and `new` condition; `gate-cov`:
only the coverage gate (scope all, per-test lines recorded); `changed`: only the
coverage gate with `scope = "changed"`; `tests-only`: only the tests gate, which
shows what the plugin's own work (settings, git, reports, ledger) costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "_work"
PROJECTS = {
    # name: (requirement, package, module that the feature branch extends)
    "click": ("click==8.5.1", "click", "src/click/utils.py"),
    "attrs": ("attrs==26.1.0", "attr", "src/attr/_funcs.py"),
    "itsdangerous": ("itsdangerous==2.2.0", "itsdangerous", "src/itsdangerous/encoding.py"),
}
TOOLS = ("pytest", "pytest-xdist", "pytest-cov", "coverage", "ruff", "mypy", "diff-cover")
TEST_DEPS = ("hypothesis", "freezegun", "cloudpickle", "pympler")
FEATURE = """

def _benchmark_added(value):
    if value:
        return value * 2
    return None
"""
FULL = "\n[tool.tddgate.gates.coverage]\ntotal = 1\nnew = 1\n"
CHANGED = '\n[tool.tddgate.gates.coverage]\nscope = "changed"\nnew = 1\n'
ROWS = ("plain", "cov", "pipeline", "full", "gate-cov", "changed", "tests-only")
PYTEST = ("-m", "pytest", "-q", "-p", "no:cacheprovider")


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float
    passed: int = -1  # tests the first step (pytest) passed; -1: not told


def sh(*command: str, cwd: Path | None = None) -> None:
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def venv_for(python: str) -> Path:
    """A virtualenv of `python` with the tools, the test deps, this plugin, the projects."""
    editables = [project_dir(name) for name in PROJECTS]
    return make_venv(python, WORK, (*TOOLS, *TEST_DEPS), editables)


def make_venv(python: str, folder: Path, packages: Sequence[str], projects: Sequence[Path]) -> Path:
    """`folder/venv-X.Y` with `packages`, this plugin and `projects` (without their
    dependencies) installed; made once, then reused."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    venv = folder / f"venv-{version}"
    marker = venv / "bench-ready"
    if marker.exists():
        return venv
    sh(python, "-m", "venv", "--clear", str(venv))
    pip = (str(venv / "bin" / "python"), "-m", "pip", "install", "-q")
    sh(*pip, *packages)
    sh(*pip, "-e", str(REPO))
    for project in projects:
        sh(*pip, "--no-deps", "-e", str(project))
    marker.write_text("ready\n")
    return venv


def project_dir(name: str) -> Path:
    return WORK / "projects" / name


def fetch(name: str) -> Path:
    """Download the sdist, unpack it, make it a repo with a feature branch."""
    target = project_dir(name)
    if (target / ".git").exists():
        return target
    requirement, _, module = PROJECTS[name]
    ignore = ".coverage*\ncoverage.xml\n.tddgate/\n.mypy_cache/\n.ruff_cache/\ndocs/expertise.md\n"
    unpack_sdist(requirement, WORK, target, ignore)
    sh(*GIT, "checkout", "-q", "-b", "feature", cwd=target)
    with (target / module).open("a", encoding="utf-8") as handle:
        handle.write(FEATURE)
    sh(*GIT, "commit", "-q", "-am", "feature", cwd=target)
    return target


GIT = ("git", "-c", "user.name=bench", "-c", "user.email=bench@example.com")


def unpack_sdist(requirement: str, work: Path, target: Path, ignore: str) -> None:
    """The sdist of `requirement` (`name==version`), downloaded into `work/downloads`,
    unpacked as `target`: a git repository of one commit, `ignore` its .gitignore."""
    name, version = requirement.split("==")
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    sh(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
       "-d", str(downloads), requirement)  # fmt: skip
    # the file is named after the normalized name: python_dateutil-4.0.0.tar.gz
    archive = next(
        path
        for path in downloads.glob(f"*-{version}.tar.gz")
        if _normal(path.name.rsplit("-", 1)[0]) == _normal(name)
    )
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(target.parent, filter="data")  # no owners: git trusts the folder
    (target.parent / top).rename(target)
    (target / ".gitignore").write_text(ignore + "*.egg-info/\n")
    sh(*GIT, "init", "-q", "-b", "main", cwd=target)
    sh(*GIT, "add", "-A", cwd=target)
    sh(*GIT, "commit", "-q", "-m", "sdist", cwd=target)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def commands(venv: Path, root: Path) -> dict[str, list[tuple[str, ...]]]:
    python = str(venv / "bin" / "python")
    mypy_targets = () if _mypy_has_files(root) else ("src",)
    # Hypothesis draws new examples each run, so attrs' run time moved by about 5 %
    # from run to run; one seed for every command runs the same examples in each
    seed = ("--hypothesis-seed=0",) if _uses_hypothesis(root) else ()
    pytest = (*PYTEST, *seed)
    return {
        "plain": [(python, *pytest)],
        "cov": [(python, *pytest, "--cov")],
        "pipeline": [
            (python, *pytest, "--cov", "--cov-report=term", "--cov-report=xml"),
            (python, "-m", "ruff", "check", "--no-fix", "."),
            (python, "-m", "ruff", "format", "--check", "."),
            (python, "-m", "mypy", *mypy_targets),
            (python, "-m", "diff_cover.diff_cover_tool", "coverage.xml", "--compare-branch=main"),
        ],
        "full": [(python, *pytest, "--tddgate")],
        "gate-cov": [(python, *pytest, "--tddgate", "--tddgate-only=coverage")],
        "changed": [(python, *pytest, "--tddgate", "--tddgate-only=coverage")],
        "tests-only": [(python, *pytest, "--tddgate", "--tddgate-only=tests")],
    }


def _uses_hypothesis(root: Path) -> bool:
    return any("hypothesis" in p.read_text(encoding="utf-8") for p in root.glob("tests/*.py"))


def _mypy_has_files(root: Path) -> bool:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.mypy]", 1)[1].split("\n[", 1)[0] if "[tool.mypy]" in text else ""
    return "files" in section


def measure(steps: list[tuple[str, ...]], cwd: Path) -> Sample:
    """Run the steps in a child that reports its children's CPU time and peak memory."""
    probe = (
        "import json, re, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "passed = -1\n"
        "for step in json.loads(sys.argv[1]):\n"
        "    out = subprocess.run(step, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout\n"
        "    found = re.findall(rb'(\\d+) passed', out[-2000:])\n"
        "    if passed < 0 and found:\n"
        "        passed = int(found[-1])\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps([time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss,"
        " passed]))\n"
    )
    # PYTHONDONTWRITEBYTECODE would make every run recompile (and assertion-rewrite)
    # the editable plugin and project: users have bytecode caches
    dropped = ("PYTHONPATH", "COVERAGE_CORE", "CI", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(steps)],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, cpu, rss_kb, passed = json.loads(done.stdout)
    return Sample(wall, cpu, rss_kb / 1024, passed)


def prepare(row: str, root: Path, pyproject: str) -> None:
    """Per row: the [tool.tddgate] variant, a cold mypy cache, no stale data."""
    extra = CHANGED if row == "changed" else FULL
    (root / "pyproject.toml").write_text(pyproject + extra, encoding="utf-8")
    for stale in (".mypy_cache", ".tddgate"):
        shutil.rmtree(root / stale, ignore_errors=True)
    for data in root.glob(".coverage*"):
        data.unlink()


def bench(name: str, venv: Path, rounds: int) -> dict[str, list[Sample]]:
    root = project_dir(name)
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8").split(FULL)[0]
    pyproject = pyproject.split(CHANGED)[0]
    steps = commands(venv, root)
    samples: dict[str, list[Sample]] = {row: [] for row in ROWS}
    for number in range(rounds):
        order = ROWS[number % len(ROWS) :] + ROWS[: number % len(ROWS)]
        for row in order:
            prepare(row, root, pyproject)
            samples[row].append(measure(steps[row], root))
            sample = samples[row][-1]
            print(
                f"  {name} round {number + 1} {row:<10} {sample.wall:6.2f} s"
                f"  {sample.passed} passed",
                file=sys.stderr,
            )
    # a row that ran fewer tests (a collection error, a crash) is not a faster row
    counts = {row: {s.passed for s in samples[row]} for row in ROWS}
    if len(set().union(*counts.values())) != 1:
        raise SystemExit(f"{name}: the rows did not pass the same tests: {counts}")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return samples


def best(samples: list[Sample], field: str) -> float:
    """The fastest run: the one a busy machine disturbed least (for memory: the peak
    is steady, the median)."""
    values = [float(getattr(s, field)) for s in samples]
    return statistics.median(values) if field == "rss_mb" else min(values)


def ratio(samples: dict[str, list[Sample]], row: str, base: str, field: str) -> float:
    return best(samples[row], field) / best(samples[base], field)


def table(results: dict[str, dict[str, list[Sample]]], python: str) -> str:
    rounds = min(len(r["plain"]) for r in results.values())
    lines = [
        f"Python {python}, {platform.machine()}, {os.cpu_count()} CPUs; ratios of the "
        f"best of {rounds} interleaved runs (wall / CPU)",
        "",
        "| project | full / pipeline | changed / plain | gate-cov / cov | cov / plain "
        "| peak RSS gate-cov / cov | tests-only - plain (s, wall / CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, samples in results.items():

        def pair(row: str, base: str, s: dict[str, list[Sample]] = samples) -> str:
            return f"{ratio(s, row, base, 'wall'):.2f} / {ratio(s, row, base, 'cpu'):.2f}"

        wall = best(samples["tests-only"], "wall") - best(samples["plain"], "wall")
        cpu = best(samples["tests-only"], "cpu") - best(samples["plain"], "cpu")
        lines.append(
            f"| {name} | {pair('full', 'pipeline')} | {pair('changed', 'plain')} "
            f"| {pair('gate-cov', 'cov')} | {pair('cov', 'plain')} "
            f"| {ratio(samples, 'gate-cov', 'cov', 'rss_mb'):.2f} | {wall:+.2f} / {cpu:+.2f} |"
        )
    plain = {n: best(r["plain"], "wall") for n, r in results.items()}
    lines += ["", "plain pytest, best wall seconds: " + ", ".join(
        f"{n} {v:.1f}" for n, v in plain.items())]  # fmt: skip
    return "\n".join(lines)


def load(path: Path) -> dict[str, dict[str, list[Sample]]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        n: {row: [Sample(**s) for s in runs] for row, runs in r.items()} for n, r in raw.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS))
    parser.add_argument(
        "--table",
        metavar="RESULTS",
        type=Path,
        help="print the table of a saved results-<python>.json, run nothing",
    )
    args = parser.parse_args()
    if args.table:
        print(table(load(args.table), args.table.stem.removeprefix("results-")))
        return
    started = time.perf_counter()
    for name in PROJECTS:
        fetch(name)
    venv = venv_for(args.python)
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-V"], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    results = {name: bench(name, venv, args.rounds) for name in args.project or PROJECTS}
    raw = WORK / f"results-{version}.json"
    raw.write_text(
        json.dumps(
            {
                n: {row: [vars(s) for s in runs] for row, runs in r.items()}
                for n, r in results.items()
            },
            indent=1,
        )
    )
    print(table(results, version))
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
