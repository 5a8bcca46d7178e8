"""What the roles gate costs: no git pass of its own, globs compiled once."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from pytest_tddgate.globs import compiled
from pytest_tddgate.model import Verdict
from tests.rolerepo import BACKEND, QA, judge, start
from tests.tddkit import git_commands

if TYPE_CHECKING:
    from pathlib import Path

    from tests.gitrepo import GitRepo


def features(repo: GitRepo, first: int, count: int) -> None:
    """QA commits a test, then the backend its module, `count` times; the last
    backend commit also edits a test, which `never: tests/**` forbids."""
    for number in range(first, first + count):
        repo.write(f"tests/test_m{number}.py", f"from app.m{number} import f\n")
        repo.commit(f"Test m{number}", author=QA)
        repo.write(f"src/app/m{number}.py", f"def f():\n    return {number}\n")
        if number == first + count - 1:
            repo.write("tests/test_legacy.py", f"def test_old():\n    assert {number}\n")
        repo.commit(f"Implement m{number}", author=BACKEND)


def test_roles_and_tdd_share_one_git_log(repo: GitRepo, tmp_path: Path) -> None:
    """`tddgate check --only tdd,roles` reads the range once: the roles gate judges
    the commits of the history pass the tdd gate reads, with no git log of its own."""
    start(repo)
    features(repo, 0, 12)
    code = (
        "import os\n"
        "from pytest_tddgate import cli\n"
        f"os.chdir({str(repo.path)!r})\n"
        "print('exit', cli.main(['check', '--only', 'tdd,roles']))\n"
    )

    out, commands = git_commands(tmp_path, code)

    assert "roles         fail   25 change(s) in 24 commit(s) checked; 1 violation(s)" in out
    assert "tests/test_legacy.py: changed by role `backend` (members)" in out
    assert "tdd           pass" in out
    assert out.rstrip().endswith("exit 1")
    assert commands.count("log") == 1, commands


def test_globs_compile_once_however_many_files_change(repo: GitRepo) -> None:
    """The role file's globs are compiled when it is loaded (and the one deciding
    pattern for a finding's message): the count does not grow with the history."""
    start(repo)
    features(repo, 0, 2)
    compiled.cache_clear()
    small = judge(repo.path)
    compiled_small = compiled.cache_info().misses

    features(repo, 2, 40)
    compiled.cache_clear()
    large = judge(repo.path)
    compiled_large = compiled.cache_info().misses

    assert small.status is Verdict.FAIL and large.status is Verdict.FAIL
    assert (small.metrics["changes_checked"], large.metrics["changes_checked"]) == (5, 86)
    assert large.metrics["violations"] == 2  # the legacy test, edited twice by the backend
    assert compiled_large == compiled_small
    assert compiled_small <= 12  # the role file's lists and single patterns, not per file


def test_a_run_without_patterns_does_not_load_the_glob_library() -> None:
    """pathspec takes about 10 ms to import: a run whose settings hold no pattern (a
    coverage-only run, say) must not pay for it; patterns still match as before."""
    code = (
        "import sys\n"
        "from pytest_tddgate.globs import compiled\n"
        "empty = compiled(())\n"
        "print('pathspec' in sys.modules, empty.matches('a.py'))\n"
        "print(compiled(('docs/*.md',)).matches('docs/a.md'), 'pathspec' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.split() == ["False", "False", "True", "True"]
