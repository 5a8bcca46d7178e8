"""Gate `ruff` when ruff cannot judge: missing, hanging, crashing, talking nonsense.

Each runs pytest in a real virtual environment without ruff, with a PATH that has no
ruff either, or only a stand-in process that hangs or crashes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.tooltesting import bare_python, fake_tool, gate, make_project, run_bare

if TYPE_CHECKING:
    from pathlib import Path

ONLY_RUFF = "--tddgate-only=tests,ruff"


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bare_python(tmp_path_factory.mktemp("env"))


def test_missing_ruff_is_an_error_naming_the_install_command(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    root = make_project(pytester, {"src/app/util.py": "import os\n"})

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*error*ruff is not installed (neither in the environment of *bare/bin/python "
            "nor on PATH); install it with pip install 'pytest-tddgate[[]ruff[]]'",
            "*fix: pip install 'pytest-tddgate[[]ruff[]]', or turn the gate off*",
            "tddgate: FAILED: ruff*",
        ]
    )
    assert gate(root, "ruff")["status"] == "error"
    assert gate(root, "tests")["status"] == "pass"


def test_missing_ruff_in_an_optional_gate_does_not_fail_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    make_project(pytester, {}, "[tool.tddgate.gates.ruff]\noptional = true\n")

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_RUFF)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["ruff*error (optional)*pip install 'pytest-tddgate[[]ruff[]]'"])


def test_a_hanging_ruff_is_stopped_at_its_timeout(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    root = make_project(pytester, {}, "[tool.tddgate.gates.ruff]\ntimeout = 1\n")
    fake_tool(pytester.path / "bin", "ruff", "import time\ntime.sleep(120)\n")

    started = time.monotonic()
    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_RUFF)

    assert time.monotonic() - started < 60
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*error*timed out after 1 s and was stopped",
            "*fix: raise `gates.ruff.timeout`, or run `*ruff check*` by hand to see why it hangs",
        ]
    )
    assert gate(root, "ruff")["status"] == "error"


def test_a_crashing_ruff_is_an_error_with_the_end_of_its_stderr(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    crash = """\
        import sys
        print("error: ruff crashed", file=sys.stderr)
        print("  Cause: panicked at crates/ruff/src/main.rs:1", file=sys.stderr)
        sys.exit(101)
    """
    make_project(pytester, {})
    fake_tool(pytester.path / "bin", "ruff", crash)

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*error*`ruff check` failed (exit 101): error: ruff crashed | "
            "Cause: panicked at crates/ruff/src/main.rs:1",
        ]
    )


def test_output_that_is_not_json_is_an_error_not_a_pass(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, python: Path
) -> None:
    make_project(pytester, {})
    fake_tool(pytester.path / "bin", "ruff", "print('All checks passed!')\n")

    result = run_bare(pytester, monkeypatch, python, pytester.path / "bin", "--tddgate", ONLY_RUFF)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["ruff*error*`ruff check` printed output we could not read (not JSON:*"]
    )
