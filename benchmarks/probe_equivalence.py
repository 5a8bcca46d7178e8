"""Check: line probes see the same lines as coverage.py's tracer, on whole test suites.

    python benchmarks/probe_equivalence.py PROJECT_DIR [--python PATH] [--source src]
        [--branch] [-- PYTEST_ARGS]

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
import os, sys
sys.path.insert(0, {src!r})
from pytest_tddgate.facts.branches import to_arcs
from pytest_tddgate.facts.probes import Probes
files = [os.path.realpath(os.path.join(d, f)) for d, _, names in os.walk({source!r})
         for f in names if f.endswith(".py")]
probes = Probes(files, branches={branch!r})
import pytest


class Install:
    # when pytest has put its assertion rewriting hook in place, as the plugin does:
    # the probes then go first, and rewrite and probe the test modules themselves
    @pytest.hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(self):
        probes.install()


# this package is imported already: pytest would warn that it cannot rewrite it
code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:tddgate", "--no-header",
                    "-W", "ignore::pytest.PytestAssertRewriteWarning", *{args!r}],
                   plugins=[Install()])
probes.uninstall()
import coverage
from coverage.files import find_python_files
# the files coverage.py reports as never run: those of the folder's packages
unrun = [os.path.realpath(f) for f in find_python_files({source!r}, False)]
data = coverage.CoverageData(basename={data!r})
if {branch!r}:
    arcs, unknown = {{}}, 0
    for path in files:
        found, unsure = to_arcs(path, probes.data[path], probes.sides[path],
                                probes.bodies.get(path, {{}}))
        unknown += len(unsure)
        if found:
            arcs[path] = found
    data.add_arcs(arcs)
    data.touch_files(unrun)  # never imported: all lines and branches missing, as traced
    print("branch lines whose sides could not be told:", unknown)
else:
    data.add_lines(probes.lines())
    data.touch_files(unrun)
data.write()
print("pytest exit", int(code))
"""

# per file: the statements run, and the branch arcs not taken
_ANALYSE = """
import json, sys, coverage
cov = coverage.Coverage(data_file=sys.argv[1])
cov.load()
out = {}
for name in cov.get_data().measured_files():
    analysis = cov._analyze(name)
    run = sorted(set(analysis.statements) - set(analysis.missing))
    missing = sorted(f"{a}->{b}" for a, ends in analysis.missing_branch_arcs().items()
                     for b in ends)
    out[name] = [f"line {n}" for n in run] + [f"not taken {arc}" for arc in missing]
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--source", default="src", help="folder of the code, in the project")
    parser.add_argument("--branch", action="store_true", help="compare branches too")
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1 :]  # for pytest
    branch = ["--branch"] if args.branch else []
    project = args.project.resolve()
    source = str(project / args.source)
    with tempfile.TemporaryDirectory() as tmp:
        traced, probed = f"{tmp}/traced", f"{tmp}/probed"
        subprocess.run(
            [args.python, "-m", "coverage", "run", f"--data-file={traced}", f"--source={source}",
             *branch, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:tddgate",
             "--no-header", *args.pytest_args],
            cwd=project, check=False, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # a project with `parallel = true` writes traced.<suffix>: one file again
        subprocess.run(
            [args.python, "-m", "coverage", "combine", f"--data-file={traced}"],
            cwd=project, check=False, capture_output=True,
        )  # fmt: skip
        script = _PROBED.format(
            src=str(SRC), source=source, data=probed, branch=args.branch, args=args.pytest_args
        )
        run = subprocess.run(
            [args.python, "-c", script], cwd=project, check=False, capture_output=True, text=True
        )
        print("\n".join(run.stdout.strip().splitlines()[-2:]) or run.stderr[-2000:])
        lines = [_executed(args.python, path, project) for path in (traced, probed)]
    return _compare(*lines)


def _executed(python: str, data: str, project: Path) -> dict[str, list[str]]:
    import json

    out = subprocess.run(
        [python, "-c", _ANALYSE, data], cwd=project, check=True, capture_output=True, text=True
    )
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


def _compare(traced: dict[str, list[str]], probed: dict[str, list[str]]) -> int:
    differ = 0
    statements = 0
    for name in sorted(set(traced) | set(probed)):
        a, b = set(traced.get(name, ())), set(probed.get(name, ()))
        statements += len(a | b)
        if a != b:
            differ += 1
            print(f"{name}: tracer only {sorted(a - b)[:20]}, probes only {sorted(b - a)[:20]}")
    files = len(set(traced) | set(probed))
    print(f"{files} files, {statements} facts (lines run, arcs not taken), {differ} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
