"""Check: line probes see the same lines as coverage.py's tracer, on whole test suites.

    python benchmarks/probe_equivalence.py PROJECT_DIR [--python PATH] [--source src]

`scope = "changed"` measures changed files with line probes compiled into them
(src/pytest_tddgate/facts/probes.py) instead of coverage.py's tracer. This runs a
project's test suite twice in fresh processes: once under `coverage run` (its C
tracer, or `sysmon` where the project's settings pick it), once with probes in every
Python file under the source folder, as if every file had changed. Then it asks
coverage.py's analysis, for every file, which statements each run executed, and
prints the files where the two differ (none, when the probes are right).

The Python given must have pytest, coverage and the project installed (the
virtualenvs bench_pipeline.py makes in benchmarks/_work do).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

# runs in the project's Python: probes in every file, pytest, then the lines as data
_PROBED = """
import importlib.util, os, sys
# loaded under another name: pytest would warn that its plugin package was imported
probes_py = {src!r} + "/pytest_tddgate/facts/probes.py"
spec = importlib.util.spec_from_file_location("_probes", probes_py)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
Probes = module.Probes
files = [os.path.realpath(os.path.join(d, f)) for d, _, names in os.walk({source!r})
         for f in names if f.endswith(".py")]
probes = Probes(files)
probes.install()
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:tddgate", "--no-header"])
probes.uninstall()
import coverage
data = coverage.CoverageData(basename={data!r})
data.add_lines(probes.lines())
data.write()
print("pytest exit", int(code))
"""

_ANALYSE = """
import json, sys, coverage
cov = coverage.Coverage(data_file=sys.argv[1])
cov.load()
out = {}
for name in cov.get_data().measured_files():
    _, statements, _, missing, _ = cov.analysis2(name)
    out[name] = sorted(set(statements) - set(missing))
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--source", default="src", help="folder of the code, in the project")
    args = parser.parse_args(argv)
    project = args.project.resolve()
    source = str(project / args.source)
    with tempfile.TemporaryDirectory() as tmp:
        traced, probed = f"{tmp}/traced", f"{tmp}/probed"
        subprocess.run(
            [args.python, "-m", "coverage", "run", f"--data-file={traced}", f"--source={source}",
             "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"],
            cwd=project, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # a project with `parallel = true` writes traced.<suffix>: one file again
        subprocess.run(
            [args.python, "-m", "coverage", "combine", f"--data-file={traced}"],
            cwd=project, check=False, capture_output=True,
        )  # fmt: skip
        script = _PROBED.format(src=str(SRC), source=source, data=probed)
        run = subprocess.run(
            [args.python, "-c", script], cwd=project, check=False, capture_output=True, text=True
        )
        print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:])
        lines = [_executed(args.python, path, project) for path in (traced, probed)]
    return _compare(*lines)


def _executed(python: str, data: str, project: Path) -> dict[str, list[int]]:
    import json

    out = subprocess.run(
        [python, "-c", _ANALYSE, data], cwd=project, check=True, capture_output=True, text=True
    )
    result: dict[str, list[int]] = json.loads(out.stdout)
    return result


def _compare(traced: dict[str, list[int]], probed: dict[str, list[int]]) -> int:
    differ = 0
    statements = 0
    for name in sorted(set(traced) | set(probed)):
        a, b = set(traced.get(name, ())), set(probed.get(name, ()))
        statements += len(a | b)
        if a != b:
            differ += 1
            print(f"{name}: tracer only {sorted(a - b)[:20]}, probes only {sorted(b - a)[:20]}")
    print(f"{len(set(traced) | set(probed))} files, {statements} executed statements, "
          f"{differ} file(s) differ")  # fmt: skip
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
