"""The `tddgate` command itself: help, version, exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_tddgate import __version__
from pytest_tddgate.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tddgate {__version__}"


def test_help_explains_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "usage: tddgate" in out
    assert "exit status: 0 all gates passed, 1 a gate failed, 4 usage error" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: tddgate" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["report", "--format", "xml"], "tddgate report: error: argument --format"),
        (["check", "--bse", "main"], "unrecognized arguments: --bse main"),
    ],
)
def test_a_wrong_command_line_exits_4(argv: list[str], expected: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", *argv],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 4
    assert expected in done.stderr
    assert "usage: tddgate" in done.stderr
