"""QA F2, in a project where only the lines a test ran map it to the changed file: the
tdd gate alone (`--tddgate-only=tdd`) records them also when the coverage
configuration chooses a `core` (tests/test_qa_tdd_core.py's project is now mapped by
its imports too, since a package's `__init__.py` maps to the tests of its modules)."""

from __future__ import annotations

import pytest

from tests.gitrepo import GitRepo

TEST = "import pkg\n\n\ndef test_add():\n    assert pkg.add(1, 2) == 3\n"


@pytest.mark.parametrize("core", ["", '[tool.coverage.run]\ncore = "ctrace"\n'])
def test_the_tdd_gate_alone_maps_by_the_lines_a_test_ran_whatever_the_core(
    pytester: pytest.Pytester, core: str
) -> None:
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\npythonpath = ["."]\n' + core)
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    # the test reaches pkg/engine.py through the package only, and is not named for it
    repo.write("pkg/__init__.py", "from .engine import add\n")
    repo.write("pkg/engine.py", "def add(a, b):\n    return a + b\n")
    repo.write("tests/test_api.py", TEST)
    repo.commit("add, with its test")
    repo.git("tag", "base")
    repo.write("pkg/engine.py", "def add(a, b):\n    return int(a) + int(b)\n")
    repo.write("tests/test_api.py", TEST + '    assert pkg.add("1", 2) == 3\n')
    repo.commit("accept strings, with the test")

    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-base=base", "--tddgate-only=tdd", "-p", "no:randomly"
    )

    result.stdout.fnmatch_lines(["tdd*pass*1 implementation file(s)*tests came first"])
    assert result.ret == 0
    assert "tests/test_api.py" in (pytester.path / ".tddgate/test-map.json").read_text("utf-8")
