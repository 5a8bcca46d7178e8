"""git must not run code that the repository under check configures.

Each case configures one way git can run a program: the file system monitor, an
external diff, a pager, a diff driver's textconv or command chosen by
.gitattributes, hooks (also through core.hooksPath), and clean / smudge filters.
The program only creates a marker file. Then the gates run over the repository, in
the commands that read git: `tddgate check` (tdd, roles, traceability) and the
red-green replays, which check commits out into a temporary worktree. No marker may
appear. The exception, documented in docs/untrusted-code.md and pinned by the last
test: clean / smudge filters, which git config (not the checked-out files) defines.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[1]
HOOKS = (
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-commit",
    "post-commit",
    "pre-auto-gc",
    "post-rewrite",
    "fsmonitor-watchman",
)


def evil_script(folder: Path, name: str, marker: Path) -> Path:
    """A program that leaves `marker` behind and otherwise behaves like `cat`."""
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "$0 $*" >> "{marker}"\ncat\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def configure(repo: GitRepo, vector: str, marker: Path) -> None:
    tools = repo.path.parent / "tools"
    tools.mkdir(exist_ok=True)
    script = evil_script(tools, f"evil-{vector}", marker)
    if vector == "fsmonitor":
        repo.git("config", "core.fsmonitor", str(script))
    elif vector == "external-diff":
        repo.git("config", "diff.external", str(script))
    elif vector == "pager":
        repo.git("config", "core.pager", str(script))
        repo.git("config", "pager.log", str(script))
        repo.git("config", "pager.diff", str(script))
    elif vector == "diff-driver":
        repo.write(".gitattributes", "*.py diff=evil\n")
        repo.git("config", "diff.evil.textconv", str(script))
        repo.git("config", "diff.evil.command", str(script))
    elif vector == "hooks-path":
        hooks = tools / "hooks"
        hooks.mkdir()
        for hook in HOOKS:
            evil_script(hooks, hook, marker)
        repo.git("config", "core.hooksPath", str(hooks))
    elif vector == "hooks":
        for hook in HOOKS:
            evil_script(repo.path / ".git" / "hooks", hook, marker)
    elif vector == "filter":
        repo.write(".gitattributes", "*.py filter=evil\n")
        repo.git("config", "filter.evil.clean", str(script))
        repo.git("config", "filter.evil.smudge", str(script))
    else:
        raise AssertionError(vector)


VECTORS = ("fsmonitor", "external-diff", "pager", "diff-driver", "hooks-path", "hooks")


def project(repo: GitRepo, tdd_mode: str = "order") -> None:
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n\n'
        f'[tool.tddgate]\nonly = ["tests", "tdd", "roles", "traceability"]\n\n'
        f'[tool.tddgate.gates.tdd]\nmode = "{tdd_mode}"\n',
    )
    repo.write("src/pkg/__init__.py", "")
    repo.write("tddgate-roles.yaml", 'roles:\n  dev: {owns: ["**"]}\n')
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")


def develop(repo: GitRepo) -> None:
    """A test first (red against a stub), then the code, then uncommitted work."""
    repo.write("src/pkg/calc.py", "def add(a, b):\n    return 0\n")
    repo.write(
        "tests/test_calc.py",
        "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    )
    repo.commit("red: a failing test")
    repo.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    repo.commit("green")
    repo.write("src/pkg/calc.py", "def add(a, b):\n    return b + a\n")  # uncommitted
    repo.write("src/pkg/new.py", "x = 1\n")  # untracked


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TDDGATE_ROLE": "dev"}
    for name in ("CI", "TDDGATE_BASE", "PYTEST_ADDOPTS", "GIT_DIR", "GIT_WORK_TREE"):
        env.pop(name, None)
    return env


def run(repo: GitRepo, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=repo.path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("vector", VECTORS)
def test_tddgate_check_runs_nothing_the_repository_configures(
    repo: GitRepo, tmp_path: Path, vector: str
) -> None:
    marker = tmp_path / "ran"
    project(repo)
    develop(repo)
    configure(repo, vector, marker)

    done = run(repo, "pytest_tddgate.cli", "check", "--skip", "ruff,mypy")
    staged = run(repo, "pytest_tddgate.cli", "check", "--staged", "--skip", "ruff,mypy")

    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "tdd " in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert staged.returncode in (0, 1), staged.stdout + staged.stderr
    assert not marker.exists(), marker.read_text(encoding="utf-8")


@pytest.mark.parametrize("vector", VECTORS)
def test_red_green_replays_run_nothing_the_repository_configures(
    repo: GitRepo, tmp_path: Path, vector: str
) -> None:
    """Replays check commits out into a worktree: hooks and smudge filters would run."""
    marker = tmp_path / "ran"
    project(repo, tdd_mode="red-green")
    develop(repo)
    configure(repo, vector, marker)

    done = run(repo, "pytest", "--tddgate", "-p", "no:cacheprovider", "-p", "no:xdist")

    assert "replay" in done.stdout.lower() or "red-green" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert not marker.exists(), marker.read_text(encoding="utf-8")


def test_filters_defined_in_git_config_do_run(repo: GitRepo, tmp_path: Path) -> None:
    """git applies a clean filter whenever it compares a working tree file, and a
    smudge filter when it checks one out. Turning filters off would make every
    git-lfs file look changed, so they stay on: a filter runs only when git config
    defines it (.gitattributes alone cannot), and the config of a checkout is as
    trusted as the checkout. docs/untrusted-code.md says so; this pins it."""
    marker = tmp_path / "ran"
    project(repo)
    develop(repo)
    configure(repo, "filter", marker)
    repo.git("config", "--unset", "filter.evil.clean")
    repo.git("config", "--unset", "filter.evil.smudge")

    quiet = run(repo, "pytest_tddgate.cli", "check", "--skip", "ruff,mypy")
    assert quiet.returncode in (0, 1), quiet.stderr
    assert not marker.exists()  # named in .gitattributes but not defined: nothing runs

    configure(repo, "filter", marker)
    run(repo, "pytest_tddgate.cli", "check", "--skip", "ruff,mypy")
    assert marker.exists()
    docs = (ROOT / "docs" / "untrusted-code.md").read_text(encoding="utf-8")
    assert "filter" in docs and "fresh clone" in docs
