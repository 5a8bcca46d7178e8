"""Gate `mypy` through `pytest --tddgate`, with the real mypy on small projects."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.gates.mypy import MypyGate
from pytest_tddgate.model import Verdict
from pytest_tddgate.settings import Overrides, resolve
from tests.tooltesting import gate, make_project, write

if TYPE_CHECKING:
    from pathlib import Path

ONLY_MYPY = "--tddgate-only=tests,mypy"
TYPED = "def add(a: int, b: int) -> int:\n    return a + b\n"
WRONG = 'def name() -> int:\n    return "x"\n'


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(autouse=True)
def warm_mypy(monkeypatch: pytest.MonkeyPatch, mypy_cache: Path) -> None:
    """One mypy cache for this module's projects: typeshed is analysed once, not per test.

    mypy re-checks any module whose file changed, so sharing it changes no verdict.
    Tests about the project's own cache folder remove the variable again.
    """
    monkeypatch.setenv("MYPY_CACHE_DIR", str(mypy_cache))


def test_a_type_error_fails_the_run_with_path_line_and_code(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MYPY_CACHE_DIR")
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/calc.py": WRONG})

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "mypy*fail*1 error",
            '*src/app/calc.py:2: Incompatible return value type (got "str", expected "int") '
            "[[]return-value[]]",
            "tddgate: FAILED: mypy*",
        ]
    )
    mypy = gate(root, "mypy")
    assert mypy["metrics"]["errors"] == 1
    [finding] = mypy["findings"]
    assert (finding["path"], finding["line"], finding["rule"]) == (
        "src/app/calc.py",
        2,
        "return-value",
    )
    assert (root / ".mypy_cache").is_dir()  # the project's own incremental cache


def test_a_well_typed_project_passes(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/calc.py": TYPED})

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["mypy*pass*no errors"])
    assert gate(root, "mypy")["metrics"] == {
        "errors": 0,
        "baselined": 0,
        "new": 0,
        "baseline_fixed": 0,
    }


def test_by_default_only_the_source_roots_are_checked(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/calc.py": WRONG, "tests/helpers.py": WRONG})

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    assert [f["path"] for f in gate(root, "mypy")["findings"]] == ["src/app/calc.py"]


def test_the_files_of_the_mypy_config_are_the_targets(pytester: pytest.Pytester) -> None:
    config = '[tool.mypy]\nfiles = ["src", "tests"]\n'
    root = make_project(pytester, {"src/app/calc.py": WRONG, "tests/helpers.py": WRONG}, config)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    paths = [f["path"] for f in gate(root, "mypy")["findings"]]
    assert paths == ["src/app/calc.py", "tests/helpers.py"]


def test_the_projects_mypy_config_decides_what_is_an_error(pytester: pytest.Pytester) -> None:
    untyped = "def add(a, b):\n    return a + b\n"
    files = {"src/app/calc.py": untyped}
    root = make_project(pytester, files, "[tool.mypy]\ndisallow_untyped_defs = true\n")

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    assert [(f["rule"], f["line"]) for f in gate(root, "mypy")["findings"]] == [
        ("no-untyped-def", 1)
    ]


def test_a_mypy_ini_is_read_too(pytester: pytest.Pytester) -> None:
    files = {"lib/calc.py": WRONG, "src/app/calc.py": TYPED, "mypy.ini": "[mypy]\nfiles = lib\n"}
    root = make_project(pytester, files)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    assert [f["path"] for f in gate(root, "mypy")["findings"]] == ["lib/calc.py"]


def test_option_args_keep_the_default_targets(pytester: pytest.Pytester) -> None:
    untyped = "def add(a, b):\n    return a + b\n"
    config = '[tool.tddgate.gates.mypy]\nargs = ["--strict"]\n'
    root = make_project(pytester, {"src/app/calc.py": untyped, "tests/helpers.py": untyped}, config)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    findings = gate(root, "mypy")["findings"]
    assert {(f["path"], f["rule"]) for f in findings} == {("src/app/calc.py", "no-untyped-def")}


def test_targets_in_args_replace_the_default_ones(pytester: pytest.Pytester) -> None:
    config = '[tool.tddgate.gates.mypy]\nargs = ["tests"]\n'
    root = make_project(pytester, {"src/app/calc.py": WRONG, "tests/helpers.py": WRONG}, config)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    assert [f["path"] for f in gate(root, "mypy")["findings"]] == ["tests/helpers.py"]


def test_a_syntax_error_is_a_finding_not_a_crash(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/broken.py": "def f(:\n    pass\n"})

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    mypy = gate(root, "mypy")
    assert mypy["status"] == "fail"
    assert {(f["path"], f["rule"]) for f in mypy["findings"]} == {("src/app/broken.py", "syntax")}


def test_a_mypy_that_cannot_start_its_check_is_an_error_with_stderr(
    pytester: pytest.Pytester,
) -> None:
    # mypy exits 2 and explains on stderr: a crash of the check, not a finding
    config = '[tool.tddgate.gates.mypy]\nargs = ["no_such_folder"]\n'
    root = make_project(pytester, {"src/app/calc.py": TYPED}, config)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "mypy*error*`mypy` failed (exit 2): no_such_folder: error: Cannot read file*",
            "*fix: run `*mypy* --output=json * no_such_folder` by hand to see the whole error",
        ]
    )
    assert gate(root, "mypy")["status"] == "error"


def test_mypy_runs_while_the_tests_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MYPY_CACHE_DIR")
    # the test waits for mypy's cache folder: it appears only if mypy was started at
    # session start; a gate that started mypy at the end would make this test time out
    waiting_test = """\
        import pathlib
        import time


        def test_mypy_already_runs():
            deadline = time.monotonic() + 60
            while not pathlib.Path(".mypy_cache").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert pathlib.Path(".mypy_cache").exists()
    """
    files = {"src/app/calc.py": TYPED, "tests/test_wait.py": textwrap.dedent(waiting_test)}
    root = make_project(pytester, files)

    result = pytester.runpytest("--tddgate", ONLY_MYPY)

    assert result.ret == 0, result.stdout.str()
    assert gate(root, "tests")["metrics"]["passed"] == 2
    assert gate(root, "mypy")["status"] == "pass"


def test_under_xdist_the_gate_runs_once_on_the_controller(pytester: pytest.Pytester) -> None:
    files = {"src/app/calc.py": WRONG, "tests/test_more.py": "def test_a() -> None:\n    pass\n"}
    root = make_project(pytester, files)

    result = pytester.runpytest("-n", "2", "--tddgate", ONLY_MYPY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(["mypy*fail*1 error"])
    assert result.stdout.str().count("Incompatible return value type") == 1
    assert gate(root, "mypy")["metrics"]["errors"] == 1


def test_ruff_and_mypy_together_with_a_failing_test(pytester: pytest.Pytester) -> None:
    files = {
        "src/app/calc.py": WRONG,
        "src/app/util.py": "import os\n",
        "tests/test_fail.py": "def test_no() -> None:\n    assert False\n",
    }
    root = make_project(pytester, files)

    result = pytester.runpytest("--tddgate", "--tddgate-only=tests,ruff,mypy")

    assert result.ret == 1
    result.stdout.fnmatch_lines(["tests*fail*", "ruff*fail*1 violation", "mypy*fail*1 error"])
    assert gate(root, "ruff")["metrics"]["violations"] == 1
    assert gate(root, "mypy")["metrics"]["errors"] == 1


def test_without_a_session_the_gate_starts_mypy_itself(tmp_path: Path) -> None:
    # `tddgate check` runs no session: nothing called prepare(), evaluate() starts mypy
    write(tmp_path, {"src/app/calc.py": WRONG})
    # `tddgate check --only mypy`: slow gates run in the check only when selected
    settings = resolve(tmp_path, overrides=Overrides(values={"only": ("mypy",)}))

    [result] = engine.evaluate([MypyGate()], settings, Facts(settings), static_only=True)

    assert result.status is Verdict.FAIL
    assert [(f.path, f.line, f.rule) for f in result.findings] == [
        ("src/app/calc.py", 2, "return-value")
    ]


def test_mypy_is_not_measured_by_a_coverage_subprocess_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # coverage measures subprocesses when COVERAGE_PROCESS_START is set (pytest-cov and
    # the coverage gate may set it); `python -m mypy` must not become one of them:
    # that would slow it down and leave data files in the project
    write(
        tmp_path,
        {"src/app/calc.py": TYPED, "cov.ini": "[run]\ndebug = process\ndebug_file = probe.log\n"},
    )
    monkeypatch.setenv("COVERAGE_PROCESS_START", str(tmp_path / "cov.ini"))
    # `tddgate check --only mypy`: slow gates run in the check only when selected
    settings = resolve(tmp_path, overrides=Overrides(values={"only": ("mypy",)}))

    [result] = engine.evaluate([MypyGate()], settings, Facts(settings), static_only=True)

    assert result.status is Verdict.PASS
    # coverage, started in a process, writes its debug log there: none means not started
    assert not (tmp_path / "probe.log").exists()
