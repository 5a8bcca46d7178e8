"""Gate `mypy` when mypy cannot judge: missing or hanging.

Each runs pytest in a real virtual environment where mypy is not importable, with a
PATH that has no mypy either, or only a stand-in process that hangs or crashes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.tooltesting import bare_python, fake_tool, gate, make_project, run_bare

if TYPE_CHECKING:
    from pathlib import Path

ONLY_MYPY = "--tddgate-only=tests,mypy"


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_python(tmp_path_factory.mktemp("env"))


def test_missing_mypy_is_an_error_naming_the_install_command(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    root = make_project(pytester, {"src/app/calc.py": 'def f() -> int:\n    return "x"\n'})

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_MYPY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "mypy*error*mypy is not installed (neither importable by *bare/bin/python nor on "
            "PATH); install it with pip install 'pytest-tddgate[[]mypy[]]'",
            "*fix: pip install 'pytest-tddgate[[]mypy[]]', or turn the gate off*",
            "tddgate: FAILED: mypy*",
        ]
    )
    assert gate(root, "mypy")["status"] == "error"


def test_a_mypy_on_path_is_used_for_this_interpreter(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    # a stand-in that shows how it was called: the PATH mypy must be pointed at the
    # interpreter the tests run with, so it resolves imports as they do
    echo = """\
        import json, sys
        print(json.dumps({"file": "src/app/calc.py", "line": 1, "column": 0,
                          "message": " ".join(sys.argv[1:3]), "hint": None,
                          "code": "misc", "severity": "error"}))
        sys.exit(1)
    """
    root = make_project(pytester, {"src/app/calc.py": "X = 1\n"})
    fake_tool(pytester.path / "bin", "mypy", echo)

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_MYPY)

    assert result.ret == 1
    [finding] = gate(root, "mypy")["findings"]
    assert finding["message"] == f"--python-executable={python} --output=json"


def test_a_hanging_mypy_is_stopped_at_its_timeout(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    root = make_project(pytester, {}, "[tool.tddgate.gates.mypy]\ntimeout = 1.5\n")
    fake_tool(pytester.path / "bin", "mypy", "import time\ntime.sleep(120)\n")

    started = time.monotonic()
    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_MYPY)

    assert time.monotonic() - started < 60
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "mypy*error*`mypy` timed out after 1.5 s and was stopped",
            "*fix: raise `gates.mypy.timeout`, or run `*mypy --python-executable=*` by hand*",
        ]
    )
    assert gate(root, "mypy")["status"] == "error"


def test_a_mypy_killed_by_a_signal_is_an_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    crash = """\
        import os, signal, sys
        print("Traceback (most recent call last):", file=sys.stderr)
        print("MemoryError", file=sys.stderr)
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    """
    make_project(pytester, {})
    fake_tool(pytester.path / "bin", "mypy", crash)

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_MYPY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "mypy*error*`mypy` failed (exit -9): Traceback (most recent call last): | MemoryError",
        ]
    )
