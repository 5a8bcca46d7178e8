"""Branch probes (facts/branches.py) against coverage.py's own tracer.

Each comparison runs the same code twice in fresh processes, once under coverage.py's
tracer and once with probes, and compares what coverage.py's analysis says of the two
data files: statements run, branches, partial branches, and every arc not taken.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo
from tests.test_coverage_run import tool

SRC = str(Path(__file__).resolve().parent.parent / "src")

# every shape coverage.py calls a branch, and the jumps around them
SHAPES = textwrap.dedent('''\
    import typing


    def shapes(x, items):
        out = []
        if x > 1:
            out.append(1)
        elif x < -5:
            out.append(2)
        else:
            out.append(3)
        for i in items:
            if i == 3:
                continue
            if i == 7:
                break
            out.append(i)
        else:
            out.append("done")
        while x > 0:
            x -= 1
            if x == 5: break
        n = 0
        while True:
            n += 1
            if n > 2:
                break
        match [x] if x == -1 else x:
            case 0:
                out.append("zero")
            case [y] if y > 2:
                out.append(y)
            case int():
                out.append("int")
        match out:
            case []:
                pass
            case _:
                out.append("any")
        try:
            if x:
                out.append("t")
        finally:
            out.append("f")
        with open(__file__) as fh:
            if items:
                out.append("w")
        if x == 100: return out
        for j in items: out.append(j)
        return out


    @typing.overload
    def over(a: int) -> int: ...
    @typing.overload
    def over(a: str) -> str: ...
    def over(a): return a


    class C: pass


    class D:
        def m(self): return 1

        def n(self):
            """Doc."""
            if self:
                return 2
            return 3


    def gen(k):
        for i in range(k):
            yield i
        if k:
            yield -1


    async def agen(items):
        async for i in items:
            if i:
                return i
        return None


    def one_line_bodies(a):
        for i in range(a):
            if i == 1: continue
            if i == 2: a += 1
        if a > 1000: raise ValueError("x")
        for i in range(a):
            if i == 2: break
        return a


    def annotated(flag):
        if flag:
            return 0
        # a bare annotation in a function compiles to nothing: the branch skips it
        local: int
        local = 1
        return local


    def annotated_bodies(value, flag):
        if value:
            return 1
        elif flag:
            a: int
            if value is None:
                a = 1
            else:
                a = 2
            return a
        else:
            b: int
            b = 3
        for i in range(flag):
            c: int
        while flag > 5:
            d: int
            flag -= 1
        match flag:
            case 1:
                e: int
                flag = 2
            case _:
                f: int
        return flag


    class Annotated:
        if typing.TYPE_CHECKING:
            pass
        field: int  # in a class it runs
''')

DRIVER = textwrap.dedent("""\
    import asyncio, sample
    for x, items in [(0, []), (2, [1, 3, 5]), (-9, [7]), (6, [1]), (-1, [3]), (100, [1])]:
        sample.shapes(x, items)
    sample.over(1)
    sample.D().n()
    list(sample.gen(2)); list(sample.gen(0))
    sample.one_line_bodies(3)
    sample.annotated(0); sample.annotated(1)
    for v, f in [(1, 0), (0, 1), (None, 1), (0, 0), (0, 7)]:
        sample.annotated_bodies(v, f)
    async def items(v):
        for i in v: yield i
    asyncio.run(sample.agen(items([0, 0])))
""")

_TRACED = """
import coverage, runpy, sys
cov = coverage.Coverage(data_file=".traced", branch=True, include=["sample.py"])
cov.start()
sys.path.insert(0, ".")
runpy.run_path("driver.py")
cov.stop()
cov.save()
"""

_PROBED = """
import os, runpy, sys
sys.path.insert(0, {src!r})
from pytest_tddgate.facts.branches import to_arcs
from pytest_tddgate.facts.probes import Probes
path = os.path.realpath("sample.py")
probes = Probes([path], branches=True)
probes.install()
sys.path.insert(0, ".")
runpy.run_path("driver.py")
import coverage
arcs, unknown = to_arcs(path, probes.data[path], probes.sides[path], probes.bodies[path])
data = coverage.CoverageData(basename=".probed")
data.add_arcs({{path: arcs}})
data.write()
print(unknown)
"""

_ANALYSE = """
import coverage, json, sys
cov = coverage.Coverage(data_file=sys.argv[1])
cov.load()
[name] = cov.get_data().measured_files()
a = cov._analyze(name)
n = a.numbers
print(json.dumps({"numbers": [n.n_statements, n.n_missing, n.n_branches, n.n_partial_branches,
                              n.n_missing_branches],
                  "missing": sorted(a.missing),
                  "arcs": sorted(map(list, ((k, sorted(v))
                                     for k, v in a.missing_branch_arcs().items())))}))
"""


def python(folder: Path, code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def compare(
    folder: Path, source: str, driver: str = DRIVER
) -> tuple[dict[str, Any], dict[str, Any], str]:
    (folder / "sample.py").write_text(source, encoding="utf-8")
    (folder / "driver.py").write_text(driver, encoding="utf-8")
    python(folder, _TRACED)
    unknown = python(folder, _PROBED.format(src=SRC)).strip()
    traced = json.loads(python(folder, _ANALYSE, ".traced"))
    probed = json.loads(python(folder, _ANALYSE, ".probed"))
    return traced, probed, unknown


def test_probes_and_the_tracer_agree_on_every_branch_shape(tmp_path: Path) -> None:
    traced, probed, unknown = compare(tmp_path, SHAPES)

    assert probed == traced
    assert traced["numbers"][2] > 40  # the sample does have branches, partly taken
    assert traced["arcs"]
    assert unknown == "[]"


def test_a_jump_out_of_a_with_block_on_the_header_line_is_never_counted_high(
    tmp_path: Path,
) -> None:
    """`if x: return` inside `with` leaves through the block's exit, which the tracer
    sees and coverage.py's arcs do not: the probes say they cannot tell, and count it
    as not taken rather than taken."""
    source = SHAPES + textwrap.dedent("""

        def jumps(x):
            with open(__file__):
                if x == 1: return 1
            return 0
    """)
    traced, probed, unknown = compare(
        tmp_path, source, DRIVER + "sample.jumps(1); sample.jumps(2)\n"
    )

    line = source.splitlines().index("        if x == 1: return 1") + 1
    assert unknown == f"[{line}]"
    assert probed["numbers"][4] >= traced["numbers"][4]  # missing branches: never fewer
    assert probed["missing"] == traced["missing"]


PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
branch = true
source = ["src"]
"""

CODE = """\
def kind(n):
    if n == 0:
        return "zero"
    if n < 0:
        return "negative"
    for d in range(2, n):
        if n % d == 0:
            return "composite"
    return "prime" if n > 1 else "unit"


def never(x):
    while x:
        x -= 1
    return x
"""

# a docstring and a future import first: pytest's assertion rewriting then puts its
# imports on line 3, without end lines, which the probes must leave alone
TESTS = """\
\"\"\"The numbers.\"\"\"
from __future__ import annotations

from pkg.numbers import kind


def test_kinds():
    assert kind(-1) == "negative"
    assert kind(4) == "composite"


def test_prime():
    assert kind(7) == "prime"
"""


def _project(pytester: pytest.Pytester, source: str) -> None:
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", PYPROJECT.replace('["src"]', source))
    repo.write(".gitignore", ".coverage*\n.tddgate/\n*.json\n")
    repo.write("src/pkg/__init__.py", "")
    repo.write("src/pkg/numbers.py", CODE)
    repo.write("src/pkg/unused.py", "def f():\n    if f:\n        return 1\n")
    repo.write("tests/test_numbers.py", TESTS)
    repo.commit("numbers")


def _coverage_json(pytester: pytest.Pytester) -> dict[str, Any]:
    tool(pytester, "coverage", "run", "-m", "pytest", "-p", "no:tddgate", "-p", "no:cacheprovider")
    tool(pytester, "coverage", "json", "-o", "traced.json")
    report = json.loads((pytester.path / "traced.json").read_text("utf-8"))
    totals: dict[str, Any] = report["totals"]
    return totals


@pytest.mark.parametrize(
    ("workers", "source"),
    [((), '["src"]'), (("-n", "2"), '["src"]'), ((), '["src", "tests"]')],
    ids=["one process", "xdist", "tests measured"],
)
def test_the_gate_total_with_probes_equals_coverage_run(
    pytester: pytest.Pytester, workers: tuple[str, ...], source: str
) -> None:
    _project(pytester, source)
    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tests,coverage", "-p", "no:cacheprovider", *workers
    )
    report = json.loads((pytester.path / ".tddgate/report.json").read_text("utf-8"))
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    totals = _coverage_json(pytester)

    result.assert_outcomes(passed=2)
    assert gate["details"]["core"] == "probes"
    assert gate["details"]["branch"] is True
    metrics = gate["metrics"]
    assert metrics["total_percent"] == round(totals["percent_covered"], 2)
    assert metrics["statements"] == totals["num_statements"]
    assert metrics["missing"] == totals["missing_lines"]
    assert metrics["branches"] == totals["num_branches"]
    assert metrics["partial_branches"] == totals["num_partial_branches"]
    assert totals["num_partial_branches"] > 0  # the project does have partial branches


BRANCHY = """\
def f(x, items):
    if x:
        return 1
    for i in items:
        if i:
            break
    return 2
"""


def _probe_import(folder: Path, name: str) -> tuple[Any, Any]:
    from pytest_tddgate.facts.probes import Probes

    path = os.path.realpath(folder / f"{name}.py")
    probes = Probes([path], branches=True)
    probes.install()
    try:
        module = importlib.import_module(name)
    finally:
        probes.uninstall()
    return probes, module


def test_sides_become_the_arcs_coverage_would_measure_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through this process's import system, twice: the second import takes
    the probed code kept in `__pycache__`."""
    from pytest_tddgate.facts.branches import to_arcs

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "branchy.py").write_text(BRANCHY, encoding="utf-8")
    path = os.path.realpath(tmp_path / "branchy.py")
    found = []
    for _ in range(2):
        probes, module = _probe_import(tmp_path, "branchy")
        sys.modules.pop("branchy", None)
        module.f(0, [0, 1])
        found.append(to_arcs(path, probes.data[path], probes.sides[path], probes.bodies[path]))

    arcs, unknown = found[0]
    assert found[1] == found[0]
    assert list(tmp_path.glob("__pycache__/branchy.*-tddgate-branches.pyc"))
    assert unknown == []
    assert {(2, 4), (4, 5), (5, 4), (5, 6)} <= arcs  # every side taken
    assert not {(2, 3), (4, 7)} & arcs  # x was false; the loop ended by `break`
