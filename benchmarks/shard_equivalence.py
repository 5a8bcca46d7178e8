"""Check and time issue 22: a suite split in shards, judged by `tddgate combine`,
gives the report one unsharded `pytest --tddgate` run gives.

    python benchmarks/shard_equivalence.py [--project click --project attrs]
        [--shards 4] [--xdist] [--combine-shards 8]

For each project (click and attrs, downloaded as source distributions with their tests
by bench_pipeline.py into benchmarks/_work/projects, a git repository whose branch
`feature` adds one function), it runs:

1. `pytest --tddgate` once, unsharded;
2. the suite split in N with pytest-split (`--splits N --group G`), each group
   `pytest --tddgate --tddgate-shard=...` (with `--xdist`, also `-n 2` in each shard);
3. `tddgate combine --expect N` of those files;

and compares the two reports gate by gate (status, summary, metrics, findings,
details): the table says `equal` or names what differs. Then the timings: each shard
against the same group run without `--tddgate-shard` but with only the gates that a
shard's measurement feeds (`--tddgate-only=tests,coverage`), so the difference is the
shard file's own cost; `tddgate combine` with and without ruff and mypy; and combine
of `--combine-shards` shards (click split in that many).

The projects run from their source folders with this Python (`PYTHONPATH=src`, and a
stub of their installed metadata, which their tests read), so nothing is installed.
Hypothesis runs with one seed, so every run draws the same examples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_pipeline  # noqa: E402  (the downloads and the feature branch)

WORK = HERE / "_work" / "shards"
VERSIONS = {"click": "8.5.1", "attrs": "26.1.0"}
BASE = ("-p", "no:cacheprovider", "-p", "no:randomly", "-q")


def environment(root: Path, name: str) -> dict[str, str]:
    """The project importable from its source, with metadata its tests can read."""
    meta = WORK / "metadata" / name
    info = meta / f"{name}-{VERSIONS[name]}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSIONS[name]}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "COVERAGE_CORE", "TDDGATE_BASE")}
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(meta)])
    return env


def pytest_args(root: Path) -> list[str]:
    seed = ["--hypothesis-seed=0"] if bench_pipeline._uses_hypothesis(root) else []
    return [sys.executable, "-m", "pytest", *BASE, *seed, "--tddgate", "--tddgate-no-learn"]


def timed(command: list[str], root: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-3000:]}"
                         f"\n{done.stderr[-3000:]}")  # fmt: skip
    return elapsed, done.stdout


def fresh(root: Path) -> None:
    shutil.rmtree(WORK / "files", ignore_errors=True)
    for stale in (".tddgate", "shards"):
        shutil.rmtree(root / stale, ignore_errors=True)
    for data in root.glob(".coverage*"):
        data.unlink()


def verdicts(root: Path) -> dict[str, Any]:
    document = json.loads((root / ".tddgate/report.json").read_text(encoding="utf-8"))
    gates = {
        g["name"]: {k: v for k, v in g.items() if k != "duration_s"} for g in document["gates"]
    }
    details = gates.get("coverage", {}).get("details", {})
    if str(details.get("data_file") or "").count(".") > 1:
        # `parallel = true` (attrs): every run, sharded or not, names its data file
        # with its own host, pid and random suffix
        details["data_file"] = details["data_file"].split(".", 2)[1] + ".<parallel suffix>"
    return gates | {"requirements": document["requirements"], "passed": document["passed"]}


def differences(one: dict[str, Any], other: dict[str, Any]) -> list[str]:
    found = []
    for name in sorted(set(one) | set(other)):
        a, b = one.get(name), other.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            found.append(f"{name}: {', '.join(keys)}")
        else:
            found.append(name)
    return found


def shards(
    root: Path, env: dict[str, str], count: int, extra: list[str]
) -> tuple[list[str], list[float]]:
    files, times = [], []
    for group in range(1, count + 1):
        # outside the checkout: combine would judge files in it as uncommitted changes
        target = str(WORK / "files" / f"shard-{group}.json.gz")
        split = ["--splits", str(count), "--group", str(group)]
        elapsed, _ = timed(
            [*pytest_args(root), f"--tddgate-shard={target}", *split, *extra], root, env
        )
        files.append(target)
        times.append(elapsed)
    return files, times


def combine(root: Path, env: dict[str, str], files: list[str], *extra: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest_tddgate.cli", "combine", "--no-learn", *extra, *files]
    return timed(command, root, env)


def equivalence(name: str, count: int, xdist: bool) -> dict[str, Any]:
    root = bench_pipeline.fetch(name)
    env = environment(root, name)
    fresh(root)
    unsharded_s, out = timed(pytest_args(root), root, env)
    expected = verdicts(root)
    rows = {}
    for label, extra in [("split", []), *([("split, -n 2", ["-n", "2"])] if xdist else [])]:
        fresh(root)
        files, times = shards(root, env, count, extra)
        combine_s, _ = combine(root, env, files, "--expect", str(count))
        found = differences(expected, verdicts(root))
        rows[label] = {"shards_s": times, "combine_s": combine_s, "differences": found}
        print(f"{name} {label}: {found or 'equal'}", file=sys.stderr)
    fresh(root)
    files, _ = shards(root, env, count, [])
    static_s, _ = combine(root, env, files, "--skip", "ruff,mypy")
    overhead = [shard_overhead(root, env, count, group) for group in (1, 2)]
    return {
        "unsharded_s": unsharded_s,
        "rows": rows,
        "combine_without_ruff_mypy_s": static_s,
        "shard_overhead_s": overhead,
        "gates": {k: v.get("status") for k, v in expected.items() if isinstance(v, dict)},
        "tests": expected["tests"]["metrics"],
        "coverage": expected["coverage"]["metrics"],
        "last_lines": out.strip().splitlines()[-1],
    }


def cpu_of(command: list[str], root: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one run: steadier than wall time on a busy machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timed(command, root, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def shard_overhead(root: Path, env: dict[str, str], count: int, group: int) -> dict[str, float]:
    """A shard's own cost: the same group measured with the same gates' data, once
    judged (`--tddgate-only=tests,coverage`) and once written to a shard file; the
    best of three runs each, alternating."""
    split = ["--splits", str(count), "--group", str(group)]
    plain = [*pytest_args(root), "--tddgate-only=tests,coverage", *split]
    shard = [*plain, f"--tddgate-shard={WORK}/files/o{group}.json.gz"]
    plain_cpu, shard_cpu, plain_wall, shard_wall = [], [], [], []
    for _ in range(3):
        started = time.perf_counter()
        plain_cpu.append(cpu_of(plain, root, env))
        plain_wall.append(time.perf_counter() - started)
        started = time.perf_counter()
        shard_cpu.append(cpu_of(shard, root, env))
        shard_wall.append(time.perf_counter() - started)
    return {
        "judged_cpu_s": min(plain_cpu),
        "shard_cpu_s": min(shard_cpu),
        "judged_wall_s": min(plain_wall),
        "shard_wall_s": min(shard_wall),
    }


def stages(root: Path, env: dict[str, str], files: list[str]) -> dict[str, float]:
    """Where combine's time goes (ruff and mypy skipped), timed in one process."""
    probe = (
        "import json, sys, time\n"
        "from pytest_tddgate.shard import combine as sc\n"
        "from pytest_tddgate.facts import covreport\n"
        "from pytest_tddgate import engine\n"
        "spent = {}\n"
        "def timed(module, name):\n"
        "    real = getattr(module, name)\n"
        "    def run(*a, **k):\n"
        "        t = time.perf_counter()\n"
        "        try:\n"
        "            return real(*a, **k)\n"
        "        finally:\n"
        "            spent[name] = spent.get(name, 0) + time.perf_counter() - t\n"
        "    setattr(module, name, run)\n"
        "for module, name in ((sc, '_read_all'), (sc, 'merge_tests'), (sc, 'combined_coverage'),"
        " (covreport, 'analyse'), (engine, 'evaluate'), (sc, 'publish')):\n"
        "    timed(module, name)\n"
        "from pytest_tddgate.cli import main\n"
        "t = time.perf_counter()\n"
        "main(sys.argv[1:])\n"
        "spent['combine'] = time.perf_counter() - t\n"
        "print(json.dumps(spent), file=sys.stderr)\n"
    )
    command = [sys.executable, "-c", probe, "combine", "--no-learn", "--skip", "ruff,mypy", *files]
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    return dict(json.loads(done.stderr.strip().splitlines()[-1]))


def many(count: int) -> dict[str, Any]:
    """combine of click split in `count` shards, with and without ruff and mypy."""
    root = bench_pipeline.fetch("click")
    env = environment(root, "click")
    fresh(root)
    files, _ = shards(root, env, count, [])
    static = min(combine(root, env, files, "--skip", "ruff,mypy")[0] for _ in range(2))
    full = combine(root, env, files)[0]
    tools = min(combine(root, env, files, "--only", "ruff,mypy")[0] for _ in range(2))
    return {
        "combine_s": full,
        "without_ruff_mypy_s": static,
        "ruff_mypy_only_s": tools,
        "stages_s": stages(root, env, files),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", choices=sorted(VERSIONS))
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--xdist", action="store_true", help="also -n 2 inside each shard")
    parser.add_argument("--combine-shards", type=int, default=8)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name in args.project or sorted(VERSIONS):
        results[name] = equivalence(name, args.shards, args.xdist)
    if args.combine_shards:
        results["combine_many"] = {args.combine_shards: many(args.combine_shards)}
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
