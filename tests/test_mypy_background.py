"""Tools run in the background without stalling, whatever they print.

mypy prints its errors module by module while it works, and ruff prints hundreds of
kilobytes of JSON for a legacy project. Nothing reads their output until the
session ends, so it must not go through a pipe that fills up and stops them.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from pytest_tddgate.proc import Background

if TYPE_CHECKING:
    from pathlib import Path

LOUD = """\
import pathlib, sys
sys.stdout.write("x" * 1_000_000)
sys.stdout.flush()
sys.stderr.write("done printing\\n")
pathlib.Path("finished").touch()
"""


def test_a_tool_printing_a_megabyte_finishes_before_anyone_reads_it(tmp_path: Path) -> None:
    task = Background([sys.executable, "-c", LOUD], cwd=tmp_path, timeout=60)

    deadline = time.monotonic() + 30
    while not (tmp_path / "finished").exists() and time.monotonic() < deadline:
        time.sleep(0.02)

    assert (tmp_path / "finished").exists(), "the tool stalled on its own output"
    done = task.result()
    assert len(done.stdout) == 1_000_000
    assert done.stderr == "done printing\n"


def test_a_cancelled_tool_is_stopped(tmp_path: Path) -> None:
    task = Background(
        [sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path, timeout=60
    )
    started = time.monotonic()

    task.cancel()

    assert time.monotonic() - started < 10
