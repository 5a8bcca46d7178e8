"""A run of a few tests keeps the coverage mapping the last run recorded for the tests
it did not run (QA finding F7): running one test file with `--tddgate` never gives a
stricter tdd verdict than `tddgate check` right after it."""

from __future__ import annotations

import pytest

from tests.gitrepo import GitRepo

ARGS = ("--tddgate", "--tddgate-base=base", "-p", "no:randomly")
TEST = "import pkg\n\n\ndef test_add():\n    assert pkg.add(1, 2) == 3\n"


def _project(repo: GitRepo) -> None:
    """`pkg/engine.py` changed with `tests/test_calc.py`, which reaches it through the
    package only: nothing but the lines it ran maps the test to the file."""
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n')
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("pkg/__init__.py", "from .engine import add\n")
    repo.write("pkg/engine.py", "def add(a, b):\n    return a + b\n")
    repo.write("tests/test_calc.py", TEST)
    repo.commit("add, with its test")
    repo.git("tag", "base")
    repo.write("pkg/engine.py", "def add(a, b):\n    return int(a) + int(b)\n")
    repo.write("tests/test_calc.py", TEST + '    assert pkg.add("1", 2) == 3\n')
    repo.commit("accept strings, with the test")
    repo.write("tests/test_other.py", "import pkg\n\n\ndef test_other():\n    assert pkg\n")
    repo.commit("another test")


@pytest.mark.parametrize("gates", ["tdd", "tdd,coverage"])
def test_a_subset_that_imports_the_file_keeps_the_recorded_mapping(
    pytester: pytest.Pytester, gates: str
) -> None:
    _project(GitRepo(pytester.path))
    full = pytester.runpytest_subprocess(*ARGS, f"--tddgate-only={gates}")
    full.stdout.fnmatch_lines(["tdd*pass*"])

    # test_other.py imports pkg/engine.py but does not run add(): test_calc.py, which
    # did in the last run, is still a test of it
    subset = pytester.runpytest_subprocess(*ARGS, f"--tddgate-only={gates}", "tests/test_other.py")

    subset.stdout.fnmatch_lines(["tdd*pass*1 implementation file(s)*tests came first"])
    assert "[test-not-first]" not in subset.stdout.str()
