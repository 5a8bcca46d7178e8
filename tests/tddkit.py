"""Building blocks for the tdd gate's tests: a small project in a real git repo."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.testrun import TestOutcome, TestRun
from pytest_tddgate.gates.tdd import TddGate
from pytest_tddgate.settings import Overrides, Settings, resolve

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.model import GateResult
    from tests.gitrepo import GitRepo

PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
IMPL = "def area(width, height):\n    return width * height\n"
TEST = "from pkg.shapes import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n"


def start_project(repo: GitRepo, tdd: str = "", extra: str = "") -> str:
    """A src-layout project committed on `main`, then a `feature` branch to work on.

    `tdd` holds lines for `[tool.tddgate.gates.tdd]`; returns the base commit."""
    text = PYPROJECT + (f"[tool.tddgate.gates.tdd]\n{tdd}\n" if tdd else "") + extra
    repo.write("pyproject.toml", text)
    repo.write("src/pkg/__init__.py", '"""The package."""\n')
    base = repo.commit("project skeleton")
    repo.git("checkout", "-q", "-b", "feature")
    return base


def settings_at(path: Path, **values: Any) -> Settings:
    """Settings of the project in `path`, unaffected by the environment of the test run."""
    return resolve(path, overrides=Overrides(values=values), environ={})


def settings_of(repo: GitRepo, **values: Any) -> Settings:
    return settings_at(repo.path, **values)


def judge(
    repo: GitRepo,
    *,
    staged: bool = False,
    test_run: TestRun | None = None,
    provided: dict[str, Any] | None = None,
    **values: Any,
) -> GateResult:
    """The tdd gate's result for the repository as it is, through the engine (so
    waivers and error handling apply exactly as in a real run)."""
    settings = settings_of(repo, **values)
    facts = Facts(settings, staged=staged, test_run=test_run)
    facts.provided.update(provided or {})
    return engine.evaluate([TddGate()], settings, facts)[0]


def run_of(*outcomes: tuple[str, str]) -> TestRun:
    """A test run with these (node id, outcome) pairs."""
    return TestRun.build(
        tuple(
            TestOutcome(nodeid, outcome, path=nodeid.split("::")[0]) for nodeid, outcome in outcomes
        ),
        (),
        0,
        interrupted=False,
    )


def git_logger(folder: Path) -> tuple[str, Path]:
    """A `git` wrapper in `folder` that logs each git subcommand to a file: (a PATH with
    the wrapper first, the log file)."""
    calls = folder / "git-calls.log"
    shim = folder / "git-shim" / "git"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(
        f'#!/bin/sh\nfor a in "$@"; do case "$a" in -c|*=*|--*) ;; *) echo "$a" >> {calls}; '
        f'break;; esac; done\nexec {shutil.which("git")} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    calls.write_text("", encoding="utf-8")
    return f"{shim.parent}{os.pathsep}{os.environ['PATH']}", calls


def git_commands(tmp_path: Path, code: str) -> tuple[str, list[str]]:
    """Run Python `code` in a new process with a `git` wrapper first on PATH that logs
    each git subcommand: (the process's output, the subcommands in order)."""
    path, calls = git_logger(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout, calls.read_text(encoding="utf-8").split()
