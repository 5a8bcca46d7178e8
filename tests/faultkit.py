"""Stopping a writer in the middle of its write, in a real child process.

`python -m tests.faultkit WRITER PROJECT READY AT` runs one writer of pytest-tddgate
on the project folder. Before it does, `os.fsync` (every atomic write calls it after
writing the temporary file and before renaming it over the target) is wrapped: at
its AT-th call it creates the file READY and sleeps, so the parent can SIGKILL the
process exactly between "new bytes written" and "file replaced". The ledger writes
through SQLite, which does its own fsync: there the wait is put inside the run's
transaction instead, after the run's rows are inserted and before COMMIT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 120.0


def arm(ready: Path, at: int) -> None:
    """Make the `at`-th fsync of this process signal `ready` and wait to be killed."""
    real = os.fsync
    calls = [0]

    def fsync(fd: int) -> None:
        real(fd)
        calls[0] += 1
        if calls[0] == at:
            ready.write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(WAIT_S)

    os.fsync = fsync  # type: ignore[assignment]  # a narrower signature: ints only here


def arm_ledger(ready: Path) -> None:
    """Wait inside the ledger's write transaction, after the rows went in."""
    from pytest_tddgate.facts import ledger_write

    real = ledger_write._insert_files

    def insert_files(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        ready.write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(WAIT_S)

    ledger_write._insert_files = insert_files


def run_writer(writer: str, project: Path) -> int:
    """The writers, as the product calls them."""
    if writer == "pytest":
        import pytest

        os.chdir(project)
        return int(pytest.main(["--tddgate", "-p", "no:cacheprovider", "-p", "no:xdist", "-q"]))
    from pytest_tddgate import cli

    command = {
        "matrix": ["matrix", "--update", "--root", str(project)],
        "baseline": ["baseline", "--root", str(project), "--force", "--gate", "ruff"],
        "learn": ["learn", "--root", str(project)],
    }[writer]
    return cli.main(command)


def main(argv: list[str]) -> int:
    writer, project, ready, at = argv[0], Path(argv[1]), Path(argv[2]), int(argv[3])
    if at > 0:
        arm(ready, at)
    elif at < 0:
        arm_ledger(ready)
    return run_writer(writer, project)


def kill_mid_write(writer: str, project: Path, *, at: int = 1) -> str:
    """Run `writer` in a child, SIGKILL it at the armed point; returns its output.

    `at` = N: at the N-th fsync; `at` = -1: inside the ledger transaction.
    """
    ready = project.parent / f"ready-{writer}-{at}"
    ready.unlink(missing_ok=True)
    child = start(writer, project, ready, at)
    deadline = time.monotonic() + WAIT_S
    while not ready.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            output = child.communicate()[0]
            raise AssertionError(f"{writer} never reached the armed point:\n{output}")
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    output = child.communicate(timeout=30)[0]
    assert child.returncode == -signal.SIGKILL, output
    return output


def start(writer: str, project: Path, ready: Path, at: int) -> subprocess.Popen[str]:
    src = ROOT / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    for name in ("CI", "TDDGATE_BASE", "TDDGATE_ROLE", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faultkit", writer, str(project), str(ready), str(at)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_to_end(writer: str, project: Path) -> tuple[int, str]:
    """Run `writer` in a child without any fault; (exit status, output)."""
    child = start(writer, project, project.parent / "unused", 0)
    output = child.communicate(timeout=300)[0]
    return child.returncode, output


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
