"""Gate `ruff` through `pytest --tddgate`, with the real ruff on small projects."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.gates.ruff import RuffGate
from pytest_tddgate.model import Verdict
from pytest_tddgate.settings import Overrides, resolve
from tests.tooltesting import gate, make_project, write

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

ONLY_RUFF = "--tddgate-only=tests,ruff"
CLEAN = "def add(a: int, b: int) -> int:\n    return a + b\n"


def test_a_violation_fails_the_run_with_path_line_and_code(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/util.py": "import os\n"})

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*fail*1 violation",
            "*src/app/util.py:1: `os` imported but unused [[]F401[]]",
            "*Remove unused import*ruff check --fix*",
            "tddgate: FAILED: ruff*",
        ]
    )
    ruff = gate(root, "ruff")
    assert ruff["metrics"]["violations"] == 1
    assert ruff["metrics"]["unformatted"] == 0
    assert ruff["metrics"]["new"] == 1
    [finding] = ruff["findings"]
    assert (finding["path"], finding["line"], finding["rule"]) == ("src/app/util.py", 1, "F401")


def test_a_clean_project_passes(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/calc.py": CLEAN})

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["ruff*pass*no violations, all files formatted"])
    assert gate(root, "ruff")["metrics"] == {
        "violations": 0,
        "unformatted": 0,
        "baselined": 0,
        "new": 0,
        "baseline_fixed": 0,
    }


def test_an_unformatted_file_is_one_finding(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/calc.py": "x=1\ny  =  2\n"})

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*fail*1 unformatted file",
            "*src/app/calc.py:1: file is not formatted [[]unformatted[]]",
            "*fix: run `ruff format src/app/calc.py`",
        ]
    )
    assert gate(root, "ruff")["metrics"]["unformatted"] == 1
    assert (root / "src/app/calc.py").read_text() == "x=1\ny  =  2\n"  # checked, not rewritten


def test_format_false_switches_the_format_check_off(pytester: pytest.Pytester) -> None:
    root = make_project(
        pytester, {"src/app/calc.py": "x=1\n"}, "[tool.tddgate.gates.ruff]\nformat = false\n"
    )

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["ruff*pass*no violations (format check off)"])
    assert gate(root, "ruff")["metrics"]["unformatted"] is None


def test_the_projects_own_ruff_config_is_used(pytester: pytest.Pytester) -> None:
    config = """\
        [tool.ruff]
        line-length = 30
        fix = true
        [tool.ruff.lint]
        select = ["E501"]
    """
    source = "import os\nNAME = 'a string much longer than thirty'\n"
    root = make_project(pytester, {"src/app/calc.py": source}, config)

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    findings = gate(root, "ruff")["findings"]
    # E501 is selected, F401 is not; `fix = true` must not let the check rewrite files
    assert [(f["rule"], f["line"]) for f in findings if f["rule"] != "unformatted"] == [("E501", 2)]
    assert (root / "src/app/calc.py").read_text() == source


def test_args_are_passed_to_ruff_check(pytester: pytest.Pytester) -> None:
    root = make_project(
        pytester,
        {"src/app/calc.py": 'print("hi")\n'},
        '[tool.tddgate.gates.ruff]\nargs = ["--select", "T20"]\n',
    )

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    assert [f["rule"] for f in gate(root, "ruff")["findings"]] == ["T201"]


def test_a_syntax_error_is_one_finding_not_a_crash(pytester: pytest.Pytester) -> None:
    root = make_project(pytester, {"src/app/broken.py": "def f(:\n    pass\n"})

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    ruff = gate(root, "ruff")
    assert ruff["status"] == "fail"
    rules = {f["rule"] for f in ruff["findings"]}
    assert rules == {"invalid-syntax"}  # from `ruff check`; `ruff format` does not repeat it
    assert ruff["metrics"]["unformatted"] == 0


def test_a_ruff_usage_error_is_an_error_with_its_stderr(pytester: pytest.Pytester) -> None:
    root = make_project(
        pytester,
        {"src/app/calc.py": CLEAN},
        '[tool.tddgate.gates.ruff]\nargs = ["--select", "NOPE999"]\n',
    )

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*error*`ruff check` failed (exit 2)*NOPE999*",
            "*fix: run `*ruff check --no-fix --output-format=json --extend-exclude=*.md "
            "--select NOPE999` by hand*",
        ]
    )
    assert gate(root, "ruff")["status"] == "error"


def test_an_optional_ruff_gate_reports_but_does_not_fail(pytester: pytest.Pytester) -> None:
    make_project(
        pytester, {"src/app/util.py": "import os\n"}, "[tool.tddgate.gates.ruff]\noptional = true\n"
    )

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["ruff*fail (optional)*1 violation"])


def test_ruff_runs_while_the_tests_run(pytester: pytest.Pytester) -> None:
    # the test waits for ruff's cache folder: it can only appear if ruff was started at
    # session start; a gate that started ruff at the end would make this test time out
    waiting_test = """\
        import pathlib
        import time


        def test_ruff_already_ran():
            deadline = time.monotonic() + 60
            while not pathlib.Path(".ruff_cache").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert pathlib.Path(".ruff_cache").exists()
    """
    root = make_project(
        pytester, {"src/app/calc.py": CLEAN, "tests/test_wait.py": textwrap.dedent(waiting_test)}
    )

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 0, result.stdout.str()
    assert gate(root, "tests")["metrics"]["passed"] == 2
    assert gate(root, "ruff")["status"] == "pass"


def test_under_xdist_the_gate_runs_once_on_the_controller(pytester: pytest.Pytester) -> None:
    root = make_project(
        pytester,
        {"src/app/util.py": "import os\n", "tests/test_more.py": "def test_a():\n    pass\n"},
    )

    result = pytester.runpytest("-n", "2", "--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(["ruff*fail*1 violation"])
    assert result.stdout.str().count("`os` imported but unused") == 1
    assert gate(root, "ruff")["metrics"]["violations"] == 1


def test_without_a_session_the_gate_starts_ruff_itself(tmp_path: Path) -> None:
    # `tddgate check` runs no session: nothing called prepare(), evaluate() starts ruff
    write(tmp_path, {"src/app/util.py": "import os\n"})
    # `tddgate check --only ruff`: slow gates run in the check only when selected
    settings = resolve(tmp_path, overrides=Overrides(values={"only": ("ruff",)}))

    [result] = engine.evaluate([RuffGate()], settings, Facts(settings), static_only=True)

    assert result.status is Verdict.FAIL
    assert [(f.path, f.line, f.rule) for f in result.findings] == [("src/app/util.py", 1, "F401")]


def test_many_old_findings_point_to_the_baseline_and_the_missing_config(
    pytester: pytest.Pytester,
) -> None:
    """issue 17: rich, zero-config, 1,512 violations and 47 unformatted files, README
    files among them, and nothing said how to adopt the gate."""
    files = {f"src/app/old{n}.py": "import os\nx=1\n" for n in range(5)}
    readme = "# App\n\n```python\nx=1\n```\n"
    make_project(pytester, {"src/app/__init__.py": "", "README.md": readme, **files})

    result = pytester.runpytest("--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*fail*10 violations, 5 unformatted files; to adopt the gate on existing code, "
            "`tddgate baseline` records these so that only new ones fail (docs/baseline.md); "
            "no configuration found, so ruff's defaults apply (docs/gates/ruff.md)"
        ]
    )
    assert "README.md" not in result.stdout.str()
