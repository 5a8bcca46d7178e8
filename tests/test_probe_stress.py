"""The probes never turn a passing test into a failing one (issue 17, points 1 and 6).

- Generated modules far larger or deeper than hand-written code (1,000-branch `elif`
  chains, deep nesting, a 20,000-line module, very long expressions) import with
  probes, and coverage.py's analysis says of the probed run what it says of a traced
  one, lines and branches.
- A file the probes cannot be compiled into is imported without them, and the tracer
  measures it, with a note: the gate's numbers are then `coverage run`'s.
- `no_probes` leaves chosen files to the tracer, for code that inspects its own code
  objects (`co_names`), which the probes change.

The stress cases are the slow ones here (about a second each): marked `stress` in
their ids.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo
from tests.test_coverage_run import (  # noqa: F401  (an autouse fixture, used by name)
    same_plugin_in_subprocesses,
    tool,
)

SRC = str(Path(__file__).resolve().parent.parent / "src")


# -- generated modules ------------------------------------------------------------------


def elif_chain(branches: int) -> str:
    """`def f(x)` with one `if x == 0: ... elif x == 1: ...` chain."""
    lines = ["def f(x):"]
    for i in range(branches):
        lines += [f"    {'if' if i == 0 else 'elif'} x == {i}:", f"        return {i}"]
    return "\n".join([*lines, "    return -1", ""])


def nested_ifs(depth: int) -> str:
    """One `if` inside another, `depth` deep (Python allows 100 levels of indentation)."""
    lines = ["def deep(x):"]
    for i in range(depth):
        lines += [f"{'    ' * (i + 1)}if x > {i}:", f"{'    ' * (i + 2)}x -= 0"]
    return "\n".join([*lines, "    return x", ""])


def nested_functions(depth: int) -> str:
    """`f0` defines `f1`, which defines `f2`, ... each calling the next."""
    lines = []
    for i in range(depth):
        pad = "    " * i
        lines += [f"{pad}def f{i}(x):", f"{pad}    if x < 0:", f"{pad}        return {i}"]
    lines.append(f"{'    ' * depth}return x")
    for i in reversed(range(depth - 1)):
        lines.append(f"{'    ' * (i + 1)}return f{i + 1}(x)")
    return "\n".join([*lines, ""])


def long_module(lines: int) -> str:
    """Many small functions with branches and loops, `lines` lines in all."""
    chunk = textwrap.dedent("""\
        def g{i}(x, items):
            total = 0
            for item in items:
                if item > x:
                    break
                total += item
            else:
                total = -total
            return total if x else {i}

        """)
    count = lines // chunk.count("\n")
    return (
        "".join(chunk.format(i=i) for i in range(count))
        + "def call_all(x, items):\n"
        + ("    return [" + ", ".join(f"g{i}" for i in range(0, count, 2)) + "]\n")
    )


def long_sum(terms: int) -> str:
    return "a = 1\n\n\ndef total():\n    return " + " + ".join(["a"] * terms) + "\n"


def big_dict(entries: int) -> str:
    items = ",\n".join(f"    {i}: ({i}, 'v{i}')" for i in range(entries))
    getter = "def get(k):\n    if k in TABLE:\n        return TABLE[k]\n"
    return f"TABLE = {{\n{items},\n}}\n\n\n{getter}"


# each: the module, and what the driver does with it (`sample` is the module)
STRESS = {
    "elif-chain-1000": (elif_chain(1000), "for i in range(0, 1000, 7): sample.f(i)\nsample.f(-1)"),
    "nested-ifs-90": (nested_ifs(90), "sample.deep(40)"),
    "nested-functions-50": (nested_functions(50), "sample.f0(1)"),
    # 20,000 lines: in the test through pytest below, this size keeps this one quick
    "module-2000-lines": (
        long_module(2_000),
        "for g in sample.call_all(0, []): g(1, [1, 5, 2]); g(0, [0])",
    ),
    # Python 3.11 itself refuses to compile a sum of 5,000 terms (a RecursionError
    # "during compilation"), so no module has one: 2,500 is near its limit
    "sum-2500-terms": (long_sum(2_500), "sample.total()"),
    "dict-5000-entries": (big_dict(5_000), "sample.get(3); sample.get(-3)"),
}

# so that every module is partly run: both sides of each comparison count
NEVER_CALLED = "\n\ndef never_called(x):\n    if x:\n        return 1\n    return 0\n"

# coverage.py's own analysis recurses once per `elif`: at Python's default limit its
# report fails on a 1,000-branch chain (pytest-cov's as well), so the comparison lifts
# the limit for the analysis of both runs alike
_ANALYSIS = """
def analyse(cov, path):
    sys.setrecursionlimit(20_000)
    a = cov._analyze(path)
    n = a.numbers
    return {"numbers": [n.n_statements, n.n_missing, n.n_branches, n.n_partial_branches,
                        n.n_missing_branches],
            "missing": sorted(a.missing),
            "arcs": sorted([k, sorted(v)] for k, v in a.missing_branch_arcs().items())}
"""

_TRACED = (
    "import coverage, json, os, runpy, sys\n"
    + _ANALYSIS
    + """
branch = sys.argv[1] == "1"
path = os.path.realpath("sample.py")
cov = coverage.Coverage(data_file=None, branch=branch, include=[path])
cov.start()
sys.path.insert(0, ".")
runpy.run_path("driver.py")
cov.stop()
print(json.dumps(analyse(cov, path)))
"""
)

_PROBED = (
    "import coverage, json, os, runpy, sys\n"
    + _ANALYSIS
    + """
sys.path.insert(0, SRC)
from pytest_tddgate.facts.branches import to_arcs
from pytest_tddgate.facts.probes import Probes
branch = sys.argv[1] == "1"
path = os.path.realpath("sample.py")
probes = Probes([path], branches=branch)
probes.install()
sys.path.insert(0, ".")
runpy.run_path("driver.py")
assert path in probes.compiled and not probes.failed, probes.failed  # probed, for real
cov = coverage.Coverage(data_file=None, branch=branch, include=[path])
data = cov.get_data()
if branch:
    arcs, unknown = to_arcs(path, probes.data[path], probes.sides[path], probes.bodies[path])
    assert not unknown, unknown
    data.add_arcs({path: arcs})
else:
    data.add_lines({path: probes.data[path]})
print(json.dumps(analyse(cov, path)))
"""
)


def _python(folder: Path, code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("branch", [True, False], ids=["branches", "lines"])
@pytest.mark.parametrize("shape", list(STRESS), ids=[f"stress:{name}" for name in STRESS])
def test_generated_modules_import_with_probes_and_measure_as_the_tracer(
    tmp_path: Path, shape: str, branch: bool
) -> None:
    source, driver = STRESS[shape]
    source += NEVER_CALLED
    compile(source, "sample.py", "exec")  # Python itself imports it
    (tmp_path / "sample.py").write_text(source, encoding="utf-8")
    (tmp_path / "driver.py").write_text(f"import sample\n{driver}\n", encoding="utf-8")
    flag = "1" if branch else "0"

    traced = _python(tmp_path, _TRACED, flag)
    probed = _python(tmp_path, f"SRC = {SRC!r}\n{_PROBED}", flag)

    assert probed == traced
    statements, missing = traced["numbers"][:2]
    assert 0 < missing < statements


# -- through pytest ------------------------------------------------------------------------

CHAIN_TEST = "from pkg.chain import f\n\n\ndef test_f():\n    assert f(3) == 3\n"


def _gate(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / ".tddgate/report.json").read_text("utf-8"))
    gate: dict[str, Any] = next(g for g in report["gates"] if g["name"] == "coverage")
    return gate


def _coverage_run(pytester: pytest.Pytester, *options: str) -> dict[str, Any]:
    """`coverage run -m pytest` (no tddgate), as `coverage json` reports it."""
    tool(pytester, "coverage", "run", *options, "-m", "pytest", "-p", "no:tddgate",
         "-p", "no:cacheprovider", "-p", "no:randomly")  # fmt: skip
    tool(pytester, "coverage", "json", "-o", "traced.json")
    report: dict[str, Any] = json.loads((pytester.path / "traced.json").read_text("utf-8"))
    return report


def _tddgate(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tests,coverage", "-p", "no:cacheprovider",
        "-p", "no:randomly", *args,
    )  # fmt: skip


def test_a_400_branch_elif_chain_leaves_a_passing_test_passing(pytester: pytest.Pytester) -> None:
    """Zero configuration: the module imports with probes, the test passes, and the
    numbers are coverage.py's."""
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    repo.write(".gitignore", ".coverage\n.tddgate/\n*.json\n")
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/chain.py", elif_chain(400))
    repo.write("tests/test_chain.py", CHAIN_TEST)
    repo.commit("chain")

    result = _tddgate(pytester)
    gate = _gate(pytester)
    traced = _coverage_run(pytester, "--source=pkg")

    result.assert_outcomes(passed=1)
    assert result.ret == 0
    assert gate["details"]["core"] == "probes"
    assert gate["metrics"]["statements"] == traced["totals"]["num_statements"] == 802
    assert gate["metrics"]["missing"] == traced["totals"]["missing_lines"]


GENERATED_TESTS = """\
from gen import chain, functions, ifs, long, sums, table


def test_chain():
    assert chain.f(7) == 7
    assert chain.f(-1) == -1


def test_ifs():
    assert ifs.deep(40) == 40


def test_functions():
    assert functions.f0(1) == 1


def test_long():
    assert [g(1, [1, 5, 2]) for g in long.call_all(0, [])]


def test_sums():
    assert sums.total() == 2500


def test_table():
    assert table.get(3) == (3, "v3")
    assert table.get(-3) is None
"""


# coverage.py's analysis of each file of a data file; its reports (`coverage json`
# too) recurse once per `elif` and give up on long chains at the default limit
_PER_FILE = (
    "import coverage, json, sys\n"
    + _ANALYSIS
    + """
cov = coverage.Coverage(data_file=sys.argv[1])
cov.load()
print(json.dumps({p: analyse(cov, p) for p in sorted(cov.get_data().measured_files())}))
"""
)


# coverage.py's analysis of branches gives up on a chain of a few hundred branches
# (docs/gates/coverage.md): 200 with branches, 1,000 with lines only
@pytest.mark.parametrize(
    ("branch", "chain"), [(True, 200), (False, 1000)], ids=["stress:branches", "stress:lines"]
)
def test_generated_modules_through_pytest_give_coverage_run_numbers_file_by_file(
    pytester: pytest.Pytester, branch: bool, chain: int
) -> None:
    repo = GitRepo(pytester.path)
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\npythonpath = ["src"]\n\n'
        f'[tool.coverage.run]\nbranch = {str(branch).lower()}\nsource = ["src"]\n',
    )
    repo.write(".gitignore", ".coverage\n.tddgate/\n*.json\n")
    modules = {
        "chain": elif_chain(chain),
        "ifs": nested_ifs(90),
        "functions": nested_functions(50),
        "long": long_module(20_000),
        "sums": long_sum(2_500),
        "table": big_dict(5_000),
    }
    repo.write("src/gen/__init__.py", "")
    for name, source in modules.items():
        repo.write(f"src/gen/{name}.py", source + NEVER_CALLED)
    repo.write("tests/test_gen.py", GENERATED_TESTS)
    repo.commit("generated")

    result = _tddgate(pytester)
    gate = _gate(pytester)
    tool(pytester, "coverage", "run", "--data-file=.traced", "-m", "pytest", "-p", "no:tddgate",
         "-p", "no:cacheprovider", "-p", "no:randomly")  # fmt: skip
    probed = _python(pytester.path, _PER_FILE, ".coverage")  # the data file the gate wrote
    traced = _python(pytester.path, _PER_FILE, ".traced")

    result.assert_outcomes(passed=6)
    assert gate["details"]["core"] == "probes"
    assert not gate["details"]["notes"]  # every file probed, none left out
    assert len(traced) == 7
    assert probed == traced


# A conftest that breaks the probes of the modules that say so, as an error the probes
# do not expect would: the one way to reach the fallback now that every construct
# Python compiles is probed (the tests above)
BREAK_PROBES = """\
import pytest_tddgate.facts.probes as probes

real = probes.instrument


def instrument(tree, name):
    names = {getattr(t, "id", None) for s in tree.body for t in getattr(s, "targets", ())}
    if "NOT_PROBED" in names:
        raise RecursionError("maximum recursion depth exceeded (on purpose)")
    return real(tree, name)


probes.instrument = instrument
"""

BROKEN = """\
NOT_PROBED = True


def kind(n, items):
    if n < 0:
        return "negative"
    for item in items:
        if item == n:
            break
    else:
        return "absent"
    return "present"
"""

FINE = """\
def double(n):
    if n:
        return 2 * n
    return 0
"""

TESTS = """\
from pkg.broken import kind
from pkg.fine import double


def test_kind():
    assert kind(1, [1, 2]) == "present"
    assert kind(-1, []) == "negative"


def test_double():
    assert double(2) == 4
"""


def _two_modules(pytester: pytest.Pytester, tddgate: str = "", *, branch: bool = True) -> GitRepo:
    repo = GitRepo(pytester.path)
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\npythonpath = ["src"]\n\n'
        f'[tool.coverage.run]\nbranch = {str(branch).lower()}\nsource = ["src"]\n' + tddgate,
    )
    repo.write(".gitignore", ".coverage\n.tddgate/\n*.json\n")
    repo.write("src/pkg/__init__.py", "")
    repo.write("src/pkg/fine.py", FINE)
    repo.write("src/pkg/broken.py", BROKEN)
    repo.write("tests/test_pkg.py", TESTS)
    repo.commit("pkg")
    return repo


def _same_totals(gate: dict[str, Any], traced: dict[str, Any]) -> None:
    totals, metrics = traced["totals"], gate["metrics"]
    assert metrics["statements"] == totals["num_statements"]
    assert metrics["missing"] == totals["missing_lines"]
    assert metrics["branches"] == totals.get("num_branches", 0)
    assert metrics["partial_branches"] == totals.get("num_partial_branches", 0)
    assert metrics["total_percent"] == round(totals["percent_covered"], 2)


@pytest.mark.parametrize(
    ("workers", "branch"),
    [((), True), (("-n", "2"), True), ((), False)],
    ids=["one process", "xdist", "lines only"],
)
def test_a_file_the_probes_cannot_instrument_is_measured_by_the_tracer(
    pytester: pytest.Pytester, workers: tuple[str, ...], branch: bool
) -> None:
    _two_modules(pytester, branch=branch)
    pytester.makeconftest(BREAK_PROBES)

    result = _tddgate(pytester, *workers)
    gate = _gate(pytester)
    traced = _coverage_run(pytester)

    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert gate["details"]["core"] == "probes"
    _same_totals(gate, traced)
    assert traced["totals"]["missing_lines"] > 0
    assert traced["totals"].get("num_partial_branches", 0) > 0 or not branch
    assert any(
        "broken.py: the probes could not be compiled into it (RecursionError" in note
        and "tracer measured it" in note
        for note in gate["details"]["notes"]
    ), gate["details"]["notes"]


def test_with_scope_changed_a_file_the_probes_cannot_instrument_is_traced(
    pytester: pytest.Pytester,
) -> None:
    """scope = "changed" with the helper process: the test process measures instead,
    from the moment the probes fail, and the new lines are counted as the tracer's."""
    repo = _two_modules(pytester, '\n[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    pytester.makeconftest(BREAK_PROBES)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/pkg/broken.py", BROKEN + "\n\ndef unused():\n    return 1\n")
    repo.write("src/pkg/fine.py", FINE + "\n\ndef triple(n):\n    return 3 * n\n")
    repo.commit("more")

    result = _tddgate(pytester, "--tddgate-base=main")
    gate = _gate(pytester)

    result.assert_outcomes(passed=2)
    missing = {f["path"]: f["missing"] for f in gate["details"]["files"]}
    # traced broken.py: its changed `def` line ran at import, its body did not
    assert missing == {"src/pkg/broken.py": "16", "src/pkg/fine.py": "8"}
    assert gate["metrics"]["new_lines"] == 4
    assert gate["metrics"]["new_covered"] == 2
    # from the failure on, this process traced: with sys.monitoring where Python has it
    assert gate["details"]["core"] == ("sysmon" if sys.version_info >= (3, 12) else "ctrace")
    assert any("broken.py: the probes could not" in n for n in gate["details"]["notes"])


# -- no_probes: code that inspects its own code objects -----------------------------------

NAMES = """\
def size(items):
    if items:
        return len(items)
    return 0
"""

NAMES_TEST = """\
from pkg.names import size


def test_size_calls_only_len():
    assert size([1]) == 1
    assert size.__code__.co_names == ("len",)
"""


def _names_project(pytester: pytest.Pytester, tddgate: str) -> GitRepo:
    repo = GitRepo(pytester.path)
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\npythonpath = ["src"]\n\n'
        '[tool.coverage.run]\nbranch = true\nsource = ["src"]\n' + tddgate,
    )
    repo.write(".gitignore", ".coverage\n.tddgate/\n*.json\n")
    repo.write("src/pkg/__init__.py", "")
    repo.write("src/pkg/names.py", NAMES)
    repo.write("src/pkg/fine.py", FINE)
    repo.write("tests/test_names.py", NAMES_TEST)
    repo.commit("names")
    return repo


def test_probed_code_objects_name_the_probes(pytester: pytest.Pytester) -> None:
    """What docs/gates/coverage.md warns of: a test of `co_names` fails under probes."""
    _names_project(pytester, "")

    result = _tddgate(pytester)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*__tddgate_lines_*"])


def test_no_probes_leaves_chosen_files_to_the_tracer(pytester: pytest.Pytester) -> None:
    _names_project(pytester, '\n[tool.tddgate.gates.coverage]\nno_probes = ["src/pkg/names.py"]\n')

    result = _tddgate(pytester)
    gate = _gate(pytester)
    traced = _coverage_run(pytester)

    result.assert_outcomes(passed=1)
    assert gate["details"]["core"] == "probes"  # the other files keep their probes
    _same_totals(gate, traced)
    assert "measured by coverage.py's tracer (`no_probes`): names.py" in gate["details"]["notes"]


def test_no_probes_with_scope_changed(pytester: pytest.Pytester) -> None:
    """The changed files named by `no_probes` are traced in the test process (the
    helper process's probes cannot leave them to a tracer), the others probed."""
    repo = _names_project(
        pytester,
        '\n[tool.tddgate.gates.coverage]\nscope = "changed"\nno_probes = ["names.py"]\n',
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/pkg/names.py", NAMES + "\n\ndef unused():\n    return 1\n")
    repo.write("src/pkg/fine.py", FINE + "\n\ndef triple(n):\n    return 3 * n\n")
    repo.write("tests/test_names.py", NAMES_TEST + "\n\nimport pkg.fine  # noqa: E402\n")
    repo.commit("more")

    result = _tddgate(pytester, "--tddgate-base=main")
    gate = _gate(pytester)

    result.assert_outcomes(passed=1)
    assert gate["details"]["core"] == "probes"
    missing = {f["path"]: f["missing"] for f in gate["details"]["files"]}
    assert missing == {"src/pkg/names.py": "8", "src/pkg/fine.py": "8"}
    assert "measured by coverage.py's tracer (`no_probes`): names.py" in gate["details"]["notes"]
