"""How long `tddgate guard` takes to answer, Python start included.

Builds a click-sized project (17 modules of ~500 lines under src/, 20 test files
naming and importing them, one commit) with a run ledger of 500 recorded runs of
1200 tests each, a role file and the guard's outcome record, then times:

- PreToolUse, an Edit that adds a function to src/clicky/core.py (the costly path:
  the file judged with ast, its mapped tests found, their outcomes read from the
  guard's record, then once more from the 500-run ledger alone);
- PreToolUse, an Edit that only adds a docstring (no test lookup needed);
- PreToolUse, a Write of a test file by a role that may not (roles only);
- Stop, against `tddgate check` on the same tree.

Each event is run `--repeat` times as a fresh process (what an agent's hook does);
p50 and p95 are printed as a Markdown table. The project lives under
benchmarks/_work/guard_latency (gitignored), rebuilt with `--rebuild`.

    python benchmarks/guard_latency.py [--repeat 40] [--rebuild]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "guard_latency"
MODULES = 17
FUNCTIONS = 45  # ~500 lines a module
TEST_FILES = 20
TESTS = 1200
RUNS = 500


def _tddgate() -> list[str]:
    script = Path(sys.executable).with_name("tddgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pytest_tddgate.cli"]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _module(index: int) -> str:
    parts = [f'"""Module {index}."""\n\nimport os\n']
    for n in range(FUNCTIONS):
        parts.append(
            f"\n\ndef function_{n}(value, flag=False):\n"
            f"    if flag:\n        return value * {n}\n"
            f"    result = []\n    for item in range(value):\n"
            f"        if item % {n + 2} == 0:\n            result.append(item)\n"
            f"    return os.sep.join(str(r) for r in result)\n"
        )
    return "".join(parts)


def build(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "src/clicky").mkdir(parents=True)
    (root / "tests").mkdir()
    names = ["core", *(f"mod{i}" for i in range(1, MODULES))]
    (root / "src/clicky/__init__.py").write_text("")
    for index, name in enumerate(names):
        (root / f"src/clicky/{name}.py").write_text(_module(index))
    per_file = TESTS // TEST_FILES
    for index in range(TEST_FILES):
        target = names[index % len(names)]
        body = [f"from clicky.{target} import function_1\n"]
        body += [
            f"\n\ndef test_{n}():\n    assert function_1(3) is not None\n" for n in range(per_file)
        ]
        (root / f"tests/test_{target if index < len(names) else f'extra{index}'}.py").write_text(
            "".join(body)
        )
    (root / "pyproject.toml").write_text(
        '[project]\nname = "clicky"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
        'testpaths = ["tests"]\npythonpath = ["src"]\n'
    )
    (root / "tddgate-roles.yaml").write_text(
        'roles:\n  qa: {owns: ["tests/**"]}\n  backend: {owns: ["src/**"], never: ["tests/**"]}\n'
    )
    (root / ".gitignore").write_text(".tddgate/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "-c", "user.email=b@e.ch", "-c", "user.name=B", "add", "-A")
    _git(root, "-c", "user.email=b@e.ch", "-c", "user.name=B", "commit", "-q", "-m", "start")
    _ledger(root, names)
    _record(root)


def _ledger(root: Path, names: list[str]) -> None:
    from pytest_tddgate.facts.ledger_store import create_schema

    path = root / ".tddgate/ledger.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        create_schema(conn)
        tests = sorted((root / "tests").glob("test_*.py"))
        per_file = TESTS // len(tests)
        nodes = [
            (i * per_file + n + 1, f"tests/{t.name}::test_{n}", f"tests/{t.name}")
            for i, t in enumerate(tests)
            for n in range(per_file)
        ]
        conn.executemany("INSERT INTO nodes VALUES (?, ?, ?)", nodes)
        paths = [(i + 1, f"src/clicky/{n}.py") for i, n in enumerate(names)]
        conn.executemany("INSERT INTO paths VALUES (?, ?)", paths)
        for run in range(1, RUNS + 1):
            when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(1.7e9 + run * 600))
            conn.execute(
                "INSERT INTO runs (run_id, started_at, head, passed, branch)"
                " VALUES (?, ?, ?, ?, 'main')",
                (run, when, "0" * 40, run % 7 != 0),
            )
            outcome = [
                "failed" if run % 7 == 0 and node % 97 == 0 else "passed" for node, *_ in nodes
            ]
            conn.executemany(
                "INSERT INTO tests (run_id, node_id, outcome) VALUES (?, ?, ?)",
                [(run, node[0], outcome[i]) for i, node in enumerate(nodes)],
            )
            changed = paths if run == 1 else [paths[run % len(paths)]]
            conn.executemany(
                "INSERT INTO files VALUES (?, ?, 'impl', ?)",
                [(run, p[0], os.urandom(20)) for p in changed],
            )
    conn.close()


def _record(root: Path) -> None:
    from pytest_tddgate.guard.outcomes import digest

    files = {
        f"tests/{t.name}": {"at": time.time(), "digest": digest(t.read_bytes()), "failed": []}
        for t in (root / "tests").glob("test_*.py")
    }
    (root / ".tddgate/guard").mkdir(parents=True, exist_ok=True)
    (root / ".tddgate/guard/outcomes.json").write_text(json.dumps({"version": 1, "files": files}))


def _event(root: Path, name: str, **fields: object) -> str:
    return json.dumps({"session_id": "bench", "cwd": str(root), "hook_event_name": name, **fields})


def events(root: Path) -> dict[str, str]:
    core = str(root / "src/clicky/core.py")
    new_function = {
        "file_path": core,
        "old_string": '"""Module 0."""\n',
        "new_string": '"""Module 0."""\n\n\ndef added(value):\n    return value + 1\n',
    }
    docstring = {**new_function, "new_string": '"""Module 0, documented."""\n'}
    test_write = {
        "file_path": str(root / "tests/test_new.py"),
        "content": "def test_x():\n    pass\n",
    }
    return {
        "PreToolUse Edit, new function (mapped tests, outcomes from the record)": _event(
            root, "PreToolUse", tool_name="Edit", tool_input=new_function
        ),
        "PreToolUse Edit, docstring only": _event(
            root, "PreToolUse", tool_name="Edit", tool_input=docstring
        ),
        "PreToolUse Write, test file by backend (roles)": _event(
            root, "PreToolUse", tool_name="Write", tool_input=test_write
        ),
    }


def environment() -> dict[str, str]:
    """The hook's environment as an installed package has it: bytecode is cached (pip
    compiles it at install; a checkout with PYTHONDONTWRITEBYTECODE would compile every
    module on every event), here under _work/ so the checkout stays clean."""
    env = {**os.environ, "TDDGATE_ROLE": "backend", "PYTHONPYCACHEPREFIX": str(WORK / "pycache")}
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(
    command: list[str], root: Path, stdin: str, repeat: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run; the first run, which fills the
    bytecode cache, is not counted."""
    env = environment()
    walls, cpus = [], []
    for attempt in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            command, input=stdin, cwd=root, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if attempt:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    root = WORK / "project"
    if args.rebuild or not (root / ".tddgate/ledger.sqlite3").exists():
        build(root)
    guard = [*_tddgate(), "guard"]
    _record(root)  # the agent's last pytest run is newer than the ledger's last run
    runs = {label: timed(guard, root, stdin, args.repeat) for label, stdin in events(root).items()}
    record = root / ".tddgate/guard/outcomes.json"
    record.unlink()  # now only the 500-run ledger knows the outcomes
    new_function = next(iter(events(root).values()))
    runs["PreToolUse Edit, new function, outcomes from the ledger only"] = timed(
        guard, root, new_function, args.repeat
    )
    _record(root)
    runs["python -c pass (interpreter start alone)"] = timed(
        [sys.executable, "-c", "pass"], root, "", args.repeat
    )
    stop_repeat = max(3, args.repeat // 8)
    stop = _event(root, "Stop", stop_hook_active=False)
    runs[f"Stop ({stop_repeat} runs)"] = timed(guard, root, stop, stop_repeat)
    runs[f"tddgate check, same tree ({stop_repeat} runs)"] = timed(
        [*_tddgate(), "check"], root, "", stop_repeat
    )
    print(f"{MODULES} modules, {TEST_FILES} test files, ledger of {RUNS} runs x {TESTS} tests")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| event | wall p50 (ms) | wall p95 (ms) | CPU p50 (ms) | CPU p95 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for label, (walls, cpus) in runs.items():
        cells = [statistics.median(walls), _p95(walls), statistics.median(cpus), _p95(cpus)]
        print(f"| {label} | " + " | ".join(f"{c * 1000:.0f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
