"""`pytest --tddgate` measuring a real project in a real git repository.

Each run is a subprocess with real coverage.py, and its numbers are checked against
the tools the gate replaces: `coverage report` for the total, diff-cover for the
coverage of new code, on the very data file the run wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pytest_tddgate
from tests.gitrepo import GitRepo

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
filterwarnings = ["error"]

[tool.coverage.run]
branch = true
source = ["src"]
{tddgate}
"""
PRICES = """\
RATE = 0.2
ROUNDING = 2


def gross(net):
    return round(net * (1 + RATE), ROUNDING)
"""
CART = """\
from shop.prices import gross


def total(items):
    return sum(gross(price) for price in items)


def empty(items):
    if not items:
        return True
    return False
"""
CART_CHANGE = """

def discount(items, percent):
    if percent > 50:
        raise ValueError("too much")
    return total(items) * (100 - percent) / 100


def unused_helper():
    return None
"""
LABELS = """\
def label(name):
    return name.title()


def shout(name):
    return name.upper()
"""
TESTS = """\
from shop.cart import discount, empty, total
from shop.labels import label


def test_label():
    assert label("tea") == "Tea"


def test_total():
    assert total([10, 20]) == 36.0


def test_empty():
    assert empty([])


def test_discount():
    assert discount([10], 50) == 6.0
"""
# imported by conftest.py: at import time, before any test, as many projects do
SETUP = "import shop.prices\n"
TAX = """\
def vat(amount):
    if amount < 0:
        raise ValueError(amount)
    return amount * 0.2
"""
REPORT = ".tddgate/report.json"
IMPL_FILES = ["src/shop/cart.py", "src/shop/labels.py", "src/shop/prices.py"]


@pytest.fixture(autouse=True)
def same_plugin_in_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest subprocesses load the plugin these tests imported, not another copy."""
    package_root = str(Path(pytest_tddgate.__file__).resolve().parent.parent)
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


def build(pytester: pytest.Pytester, tddgate: str = "") -> GitRepo:
    """Branch `feature` with one committed, one staged, one unstaged and one untracked
    change to the `main` it started from."""
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", PYPROJECT.format(tddgate=tddgate))
    repo.write(".gitignore", ".coverage\n.tddgate/\ncoverage.xml\n*.json\nrunpytest-*\n")
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/prices.py", PRICES)
    repo.write("src/shop/cart.py", CART)
    repo.write("src/shop/labels.py", LABELS)  # never changed
    repo.write("tests/conftest.py", SETUP)
    repo.write("tests/test_cart.py", TESTS.replace(", discount", "").split("\n\n\ndef test_d")[0])
    repo.commit("shop")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/shop/cart.py", CART + CART_CHANGE)  # committed
    repo.write("tests/test_cart.py", TESTS)
    repo.commit("discount")
    repo.write("src/shop/prices.py", PRICES.replace("ROUNDING = 2", "ROUNDING = 2\nCENTS = 100"))
    repo.git("add", "src/shop/prices.py")  # staged
    repo.write("src/shop/__init__.py", '"""The shop."""\n')  # unstaged
    repo.write("src/shop/tax.py", TAX)  # untracked, never imported: 0 %
    return repo


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest_subprocess("--tddgate", "-p", "no:cacheprovider", *args)
    report = json.loads((pytester.path / REPORT).read_text(encoding="utf-8"))
    gate = next(g for g in report["gates"] if g["name"] == "coverage")
    return result, gate


def tool(pytester: pytest.Pytester, *command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def coverage_report_total(pytester: pytest.Pytester) -> float:
    tool(pytester, "coverage", "json", "-q", "-o", "cov.json")
    data = json.loads((pytester.path / "cov.json").read_text(encoding="utf-8"))
    return round(float(data["totals"]["percent_covered"]), 2)


def diff_cover(pytester: pytest.Pytester) -> dict[str, Any]:
    pytest.importorskip("diff_cover")
    tool(pytester, "coverage", "xml", "-q", "-o", "coverage.xml")
    tool(
        pytester,
        "diff_cover.diff_cover_tool",
        "coverage.xml",
        "--compare-branch=main",
        "--include-untracked",
        "--total-percent-float",
        "--json-report",
        "diff.json",
    )
    return dict(json.loads((pytester.path / "diff.json").read_text(encoding="utf-8")))


def test_total_and_new_code_equal_coverage_report_and_diff_cover(
    pytester: pytest.Pytester,
) -> None:
    build(pytester)
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    result.assert_outcomes(passed=4)
    expected = diff_cover(pytester)
    metrics = gate["metrics"]
    assert metrics["total_percent"] == coverage_report_total(pytester)
    assert metrics["new_lines"] == expected["total_num_lines"] == 11
    assert metrics["new_lines"] - metrics["new_covered"] == expected["total_num_violations"]
    assert metrics["new_percent"] == expected["total_percent_covered"]
    assert gate["details"]["branch"] is True
    assert gate["details"]["data_file"] == ".coverage"


def test_findings_list_the_uncovered_new_lines_per_file(pytester: pytest.Pytester) -> None:
    build(pytester)
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert result.ret == 1  # 45.45 % of new code is below the default 80 %
    result.stdout.fnmatch_lines(
        [
            "coverage*fail*total 62.5%; new code 45.45% of 11 lines; 2 new function(s) or "
            "class(es) not run by any test",
            "*src/shop/cart.py:20: function `unused_helper` is new or changed, and no test runs "
            "any line of it [[]untested-new-function[]]",
            "*src/shop/tax.py:1: function `vat` is new or changed, and no test runs any line of "
            "it [[]untested-new-function[]]",
            "*coverage of new code 45.45% (5 of 11 lines) is below 80% [[]new-code-coverage[]]",
            "*src/shop/cart.py:16: new lines not covered: 16, 21 (2 of 6) [[]uncovered-new*",
            "*src/shop/tax.py:1: new lines not covered: 1-4 (4 of 4) [[]uncovered-new-lines[]]",
        ]
    )
    missing = {f["path"]: f["missing"] for f in gate["details"]["files"]}
    assert missing == {
        "src/shop/cart.py": "16, 21",
        "src/shop/prices.py": "",
        "src/shop/tax.py": "1-4",
    }


def test_module_level_lines_count(pytester: pytest.Pytester) -> None:
    """conftest.py imports shop.prices before collection; its constants were run."""
    build(pytester)
    run(pytester, "--tddgate-only=tests,coverage")

    missing = json.loads(tool(pytester, "coverage", "json", "-q", "-o", "-"))
    prices = missing["files"]["src/shop/prices.py"]
    assert prices["missing_lines"] == []
    assert 1 in prices["executed_lines"]  # RATE = 0.2, run when conftest imported it


def test_thresholds_pass_and_fail(pytester: pytest.Pytester) -> None:
    # unused_helper and vat never run: new_functions would fail it (test_untested_functions)
    build(pytester, "[tool.tddgate.gates.coverage]\ntotal = 60\nnew = 45\nnew_functions = false\n")
    result, gate = run(pytester, "--tddgate-only=tests,coverage")
    assert result.ret == 0, result.stdout.str()
    assert gate["status"] == "pass"

    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(
            tddgate="[tool.tddgate.gates.coverage]\ntotal = 95\nnew_per_file = 90\nnew = 40\n"
        ),
        encoding="utf-8",
    )
    result, gate = run(pytester, "--tddgate-only=tests,coverage")
    assert result.ret == 1
    rules = [f["rule"] for f in gate["findings"]]
    assert rules.count("total-coverage") == 1
    assert sorted(f["path"] for f in gate["findings"] if f["rule"] == "new-file-coverage") == [
        "src/shop/cart.py",
        "src/shop/tax.py",
    ]
    assert "new-code-coverage" not in rules


def test_min_new_lines_leaves_a_small_change_unjudged(pytester: pytest.Pytester) -> None:
    build(pytester, "[tool.tddgate.gates.coverage]\nmin_new_lines = 20\nnew_functions = false\n")
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert result.ret == 0
    assert gate["summary"].endswith("new code 45.45% of 11 lines; `new` not applied below 20 lines")


def test_xdist_gives_the_serial_numbers(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    build(pytester)
    _, serial = run(pytester, "--tddgate-only=tests,coverage")
    serial_map = (pytester.path / ".tddgate/test-map.json").read_text(encoding="utf-8")
    (pytester.path / ".tddgate/test-map.json").unlink()
    result, parallel = run(pytester, "--tddgate-only=tests,coverage", "-n", "2")

    result.stdout.fnmatch_lines(["*2 workers*"])
    assert parallel["metrics"] == serial["metrics"]
    assert parallel["findings"] == serial["findings"]
    assert (pytester.path / ".tddgate/test-map.json").read_text(encoding="utf-8") == serial_map
    assert parallel["metrics"]["total_percent"] == coverage_report_total(pytester)


@pytest.mark.parametrize("context", [(), ("--cov-context=test",)])
def test_beside_pytest_cov_the_run_is_measured_once(
    pytester: pytest.Pytester, context: tuple[str, ...]
) -> None:
    pytest.importorskip("pytest_cov")
    build(pytester)
    _, own = run(pytester, "--tddgate-only=tests,coverage")
    result, reused = run(pytester, "--tddgate-only=tests,coverage", "--cov", *context)

    result.stdout.fnmatch_lines(["*coverage: platform*", "TOTAL*"])  # pytest-cov's report
    assert reused["details"]["measured_by"] == "pytest-cov"
    assert own["details"]["measured_by"] == "tddgate"
    assert reused["metrics"] == own["metrics"]
    assert reused["metrics"]["total_percent"] == coverage_report_total(pytester)
    test_map = json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))
    assert test_map == {"tests": {"tests/test_cart.py": IMPL_FILES}}


def test_scope_changed_traces_only_changed_files(pytester: pytest.Pytester) -> None:
    build(pytester)
    _, full = run(pytester, "--tddgate-only=tests,coverage")
    (pytester.path / ".coverage").unlink()
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate='[tool.tddgate.gates.coverage]\nscope = "changed"\n'),
        encoding="utf-8",
    )
    result, changed = run(pytester, "--tddgate-only=tests,coverage")

    result.stdout.fnmatch_lines(["coverage*total not measured (scope = changed); new code 45.45%*"])
    assert changed["metrics"]["total_percent"] is None
    for key in ("new_percent", "new_lines", "new_covered", "new_files"):
        assert changed["metrics"][key] == full["metrics"][key]
    assert changed["details"]["scope"] == "changed"
    assert changed["details"]["branch"] is False
    # src/shop/__init__.py changed too, but only by a docstring: 1 statement
    # cart.py 10 + prices.py 5 + tax.py 4 + __init__.py 1 ... but not the unchanged tests
    assert changed["metrics"]["statements"] < full["metrics"]["statements"]
    assert not (pytester.path / ".coverage").exists()  # a partial measurement is not saved


def test_scope_changed_with_a_total_is_a_usage_error(pytester: pytest.Pytester) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\ntotal = 80\n')
    result = pytester.runpytest_subprocess("--tddgate", "-p", "no:cacheprovider")

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            '*pyproject.toml: [[]tool.tddgate.gates.coverage[]] total: scope = "changed" *',
            '*fix: remove `total`, or set `scope = "all"`',
        ]
    )


def test_core_is_sysmon_where_the_settings_allow_it(pytester: pytest.Pytester) -> None:
    """With `probes = false` coverage.py's tracer measures: sysmon where it can."""
    build(pytester, tddgate="[tool.tddgate.gates.coverage]\nprobes = false")
    _, branchy = run(pytester, "--tddgate-only=tests,coverage")
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate="[tool.tddgate.gates.coverage]\nprobes = false").replace(
            "branch = true", "branch = false"
        ),
        encoding="utf-8",
    )
    _, lines_only = run(pytester, "--tddgate-only=tests,coverage")

    sysmon = hasattr(sys, "monitoring")
    assert branchy["details"]["core"] == ("sysmon" if sys.version_info >= (3, 14) else "ctrace")
    assert lines_only["details"]["core"] == ("sysmon" if sysmon else "ctrace")
    # per-test lines are complete with either core: every test maps to what it ran
    test_map = json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))
    assert test_map["tests"]["tests/test_cart.py"] == IMPL_FILES
    assert lines_only["metrics"]["new_percent"] == branchy["metrics"]["new_percent"]


def test_probes_measure_by_default_with_the_same_numbers(pytester: pytest.Pytester) -> None:
    build(pytester)
    _, probed = run(pytester, "--tddgate-only=tests,coverage")
    probed_map = (pytester.path / ".tddgate/test-map.json").read_text("utf-8")
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate="[tool.tddgate.gates.coverage]\nprobes = false"),
        encoding="utf-8",
    )
    _, traced = run(pytester, "--tddgate-only=tests,coverage")

    assert probed["details"]["core"] == "probes"
    assert traced["details"]["core"] != "probes"
    assert probed["metrics"] == traced["metrics"]
    assert probed["findings"] == traced["findings"]
    assert (
        json.loads(probed_map)["tests"]
        == json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))["tests"]
    )


def test_coverage_warnings_become_notes_not_failures(pytester: pytest.Pytester) -> None:
    """`filterwarnings = error` projects: coverage.py's warnings must not fail the run."""
    build(pytester)
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate="").replace('source = ["src"]', 'source_pkgs = ["shop", "nope"]'),
        encoding="utf-8",
    )
    result, gate = run(pytester, "--tddgate-only=tests,coverage", "-W", "error")

    result.assert_outcomes(passed=4)
    assert "Warning" not in result.stderr.str()
    assert any("nope was never imported" in n for n in gate["details"]["notes"])
    assert gate["status"] == "fail"  # judged as usual: 45.45 % < 80 %


@pytest.mark.parametrize("probes", ["true", "false"])
def test_files_that_do_not_parse_are_left_out_with_a_note(
    pytester: pytest.Pytester, probes: str
) -> None:
    """Test data broken on purpose, and a template whose code ran under its own name
    (jinja2's), inside a measured folder: `coverage report` stops at them, pytest-cov
    leaves them out; so does the gate, with a note, never an error."""
    build(pytester)
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate=f"[tool.tddgate.gates.coverage]\nprobes = {probes}").replace(
            'source = ["src"]', 'source = ["src", "tests"]'
        ),
        encoding="utf-8",
    )
    (pytester.path / "tests/data").mkdir()
    (pytester.path / "tests/data/__init__.py").write_text("", encoding="utf-8")
    (pytester.path / "tests/data/broken_case.py").write_text("def broken(:\n", encoding="utf-8")
    (pytester.path / "tests/data/page").write_text("<h1>{{ title }}</h1>\n", encoding="utf-8")
    (pytester.path / "tests/test_page.py").write_text(
        "from pathlib import Path\n\n\ndef test_page():\n"
        '    page = Path(__file__).parent / "data" / "page"\n'
        '    exec(compile("x = 1", str(page), "exec"), {})\n',
        encoding="utf-8",
    )
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    result.assert_outcomes(passed=5)
    assert gate["status"] == "fail"  # judged: the new code is not all covered
    assert gate["metrics"]["total_percent"] > 0
    notes = gate["details"]["notes"]
    assert any("broken_case.py" in n and "parse" in n for n in notes), notes
    if probes == "false":  # only the tracer sees the template's code run
        assert any("data/page" in n for n in notes), notes
    # pytest-cov's figure: its report ignores the errors, `coverage json` is told to
    tool(pytester, "pytest", "-p", "no:tddgate", "-p", "no:cacheprovider", "--cov")
    tool(pytester, "coverage", "json", "-q", "--ignore-errors", "-o", "cov.json")
    data = json.loads((pytester.path / "cov.json").read_text(encoding="utf-8"))
    assert gate["metrics"]["total_percent"] == round(data["totals"]["percent_covered"], 2)


def test_not_a_git_repository_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT.format(tddgate=""))
    pytester.mkdir("tests")
    pytester.makepyfile(**{"tests/test_one": "def test_one():\n    assert True\n"})
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert result.ret == 1
    assert gate["status"] == "error"
    assert "not inside a git repository" in gate["summary"]


def test_only_selected_gate_measures(pytester: pytest.Pytester) -> None:
    build(pytester)
    pytester.runpytest_subprocess("--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider")

    assert not (pytester.path / ".coverage").exists()
    assert not (pytester.path / ".tddgate/test-map.json").exists()


PROBE = '''
from pytest_tddgate.model import GateResult, Verdict


class Probe:
    """Shows the per-test lines the tdd and traceability gates receive."""

    name = "probe"
    static = False

    def evaluate(self, ctx):
        contexts = ctx.facts.provided["coverage"].contexts
        shown = {test: {path: sorted(lines) for path, lines in files.items()}
                 for test, files in contexts.items()}
        return GateResult("probe", Verdict.PASS, "shown", details={"contexts": shown})


def pytest_tddgate_gates(config):
    return [Probe()]
'''


@pytest.mark.parametrize("xdist", [(), ("-n", "2")])
def test_per_test_lines_reach_the_other_gates(
    pytester: pytest.Pytester, xdist: tuple[str, ...]
) -> None:
    if xdist:
        pytest.importorskip("xdist")
    build(pytester)
    (pytester.path / "tests/conftest.py").write_text(SETUP + PROBE, encoding="utf-8")
    run(pytester, "--tddgate-only=tests,coverage,probe", *xdist)

    report = json.loads((pytester.path / REPORT).read_text(encoding="utf-8"))
    contexts = next(g for g in report["gates"] if g["name"] == "probe")["details"]["contexts"]
    assert contexts["tests/test_cart.py::test_label"] == {"src/shop/labels.py": [2]}
    assert contexts["tests/test_cart.py::test_empty"] == {"src/shop/cart.py": [9, 10]}
    assert contexts["tests/test_cart.py::test_discount"] == {
        "src/shop/cart.py": [5, 15, 17],
        "src/shop/prices.py": [7],
    }
    # lines run outside any test: imports, module level (here: `def`, constants)
    assert contexts[""]["src/shop/labels.py"] == [1, 5]
    assert contexts[""]["src/shop/prices.py"] == [1, 2, 3, 6]


def test_lines_run_in_subprocesses_count(pytester: pytest.Pytester) -> None:
    """coverage's `patch = ["subprocess"]`: a child's data file joins the run's data."""
    import coverage

    if not hasattr(coverage.Coverage().config, "patch"):
        pytest.skip("coverage.py before 7.10 has no `patch` setting")
    build(pytester)
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate="") + 'patch = ["subprocess"]\n', encoding="utf-8"
    )
    (pytester.path / "tests/test_child.py").write_text(
        "import os, subprocess, sys\n\n\n"
        "def test_child():\n"
        "    code = 'import shop.tax; print(shop.tax.vat(10))'\n"
        "    env = {**os.environ, 'PYTHONPATH': 'src'}\n"
        "    done = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True)\n"
        "    assert done.stdout == b'2.0\\n'\n",
        encoding="utf-8",
    )
    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    result.assert_outcomes(passed=5)
    missing = {f["path"]: f["missing"] for f in gate["details"]["files"]}
    assert missing["src/shop/tax.py"] == "3"  # run in the child, but for the raise
    assert gate["metrics"]["total_percent"] == coverage_report_total(pytester)


def test_contexts_can_be_turned_off(pytester: pytest.Pytester) -> None:
    build(pytester, "[tool.tddgate.gates.coverage]\ncontexts = false\n")
    _, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert gate["details"]["contexts"] is False
    assert not (pytester.path / ".tddgate/test-map.json").exists()
    assert gate["metrics"]["new_percent"] == 45.45  # the measurement itself is the same
