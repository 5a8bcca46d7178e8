"""Check: the coverage gate's probes and coverage.py's tracer agree, on projects the
plugin was not built on.

    python benchmarks/cores_check.py [--python PATH] [--project NAME ...] [-- PYTEST_ARGS]

For each project (its PyPI sdist, unpacked into benchmarks/_work/cores and made a git
repository) this runs `pytest --tddgate --tddgate-only=tests,coverage` twice: with the
default probes, and with `probes = false` (coverage.py's tracer, as `pytest --cov`
measures). Then it compares the two data files through `coverage json`, file by file:
lines run, lines missing, branches missing. It prints one line per run (time, tests,
the core, the total) and every difference; exit 1 when a project differs.

Seconds are from one run each: read them as rough. docs/performance.md holds a table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_pipeline import make_venv, unpack_sdist  # this folder's, beside it

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "cores"
PROJECTS = {
    # name: requirement; the test dependencies of all of them go into one virtualenv
    "markupsafe": "markupsafe==3.0.4",
    "boltons": "boltons==26.2.0",
    "jinja2": "jinja2==3.1.6",
    "marshmallow": "marshmallow==4.4.0",
    "more-itertools": "more-itertools==11.2.1",
    "python-dateutil": "python-dateutil==4.0.0",
    "tomlkit": "tomlkit==0.15.2",
    "toolz": "toolz==1.2.0",
}
# what the tracer measures and probes cannot see, as docs/gates/coverage.md says: code
# run under names that are not Python files of the project (a zip import, templates)
EXPECTED = {"jinja2": "tests/res/"}
# time-machine imports dateutil before the tests: its modules are probed in place
TEST_DEPS = (
    "hypothesis",
    "freezegun",
    "pretend",
    "pyyaml",
    "pytz",
    "simplejson",
    "trio",
    "time-machine",
)
TOOLS = ("pytest", "pytest-xdist", "pytest-cov", "coverage")
GATE = "\n[tool.tddgate.gates.coverage]\ntotal = 1\n"
OFF = "\n[tool.tddgate.gates.coverage]\ntotal = 1\nprobes = false\n"


def venv_for(python: str) -> Path:
    return make_venv(python, WORK, (*TOOLS, *TEST_DEPS), [fetch(name) for name in PROJECTS])


def fetch(name: str) -> Path:
    """The sdist, unpacked, one commit: the run then judges no new code, only totals."""
    target = WORK / "projects" / name
    if not (target / ".git").exists():
        unpack_sdist(PROJECTS[name], WORK, target, ".coverage*\n.tddgate/\ncores.json\n")
    return target


def measure(venv: Path, project: Path, gate: str, args: list[str]) -> dict[str, Any]:
    """One gate run; its summary, and the data file as `coverage json` reports it."""
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text("utf-8") if pyproject.exists() else ""
    python = str(venv / "bin" / "python")
    if not _has_pytest_config(project):
        # or pytest takes the first ini file above: this repository's own
        gate = "\n[tool.pytest.ini_options]\n" + gate
    try:
        pyproject.write_text(original + gate, encoding="utf-8")
        start = time.perf_counter()
        subprocess.run(
            [python, "-m", "pytest", "--tddgate", "--tddgate-only=tests,coverage",
             "-p", "no:cacheprovider", "-q", *args],
            cwd=project, check=False, capture_output=True,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    finally:
        if original:
            pyproject.write_text(original, encoding="utf-8")
        else:
            pyproject.unlink()
    report = json.loads((project / ".tddgate" / "report.json").read_text("utf-8"))
    gates = {g["name"]: g for g in report["gates"]}
    coverage = gates["coverage"]
    data = coverage["details"].get("data_file") or ".coverage"
    subprocess.run(
        [python, "-m", "coverage", "json", "-q", "--ignore-errors", f"--data-file={data}",
         "-o", "cores.json"],
        cwd=project, check=False, capture_output=True,
    )  # fmt: skip
    files = json.loads((project / "cores.json").read_text("utf-8"))["files"]
    return {
        "seconds": seconds,
        "tests": gates["tests"]["summary"],
        "core": coverage["details"].get("core"),
        "metrics": coverage["metrics"],
        "notes": coverage["details"].get("notes", []),
        "files": files,
    }


def _has_pytest_config(project: Path) -> bool:
    sections = {
        "pytest.ini": "",
        "pyproject.toml": "[tool.pytest.ini_options]",
        "tox.ini": "[pytest]",
        "setup.cfg": "[tool:pytest]",
    }
    for name, section in sections.items():
        path = project / name
        if path.is_file() and section in path.read_text("utf-8", errors="replace"):
            return True
    return False


def compare(probed: dict[str, Any], traced: dict[str, Any]) -> list[str]:
    found = []
    a, b = probed["files"], traced["files"]
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            found.append(f"  only {'traced' if name not in a else 'probed'}: {name}")
            continue
        for key in ("executed_lines", "missing_lines", "missing_branches"):
            x, y = a[name].get(key, []), b[name].get(key, [])
            if x != y:
                only_p = [v for v in x if v not in y][:10]
                only_t = [v for v in y if v not in x][:10]
                found.append(f"  {name} {key}: probes only {only_p}, tracer only {only_t}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS))
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    pytest_args = argv[cut + 1 :]
    venv = venv_for(args.python)
    differ = 0
    for name in args.project or PROJECTS:
        project = fetch(name)
        runs = {"probes": measure(venv, project, GATE, pytest_args)}
        runs["tracer"] = measure(venv, project, OFF, pytest_args)
        for label, run in runs.items():
            total = run["metrics"].get("total_percent")
            print(f"{name:16} {label:6} {run['seconds']:6.1f} s  {run['tests'][:44]:46}"
                  f"core {run['core']:7} total {total}")  # fmt: skip
            for note in run["notes"]:
                print(f"  note: {note}")
        found = compare(runs["probes"], runs["tracer"])
        expected = EXPECTED.get(name)
        if expected:
            known = [f for f in found if f.startswith(f"  only traced: {expected}")]
            found = [f for f in found if f not in known]
            print(f"  {len(known)} file(s) only traced under {expected}, as documented")
        for line in found:
            print(line)
        print(f"  {len(runs['tracer']['files'])} files, {len(found)} difference(s)")
        differ += bool(found)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
