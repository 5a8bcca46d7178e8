"""QA F2: the tdd gate alone (`--tddgate-only=tdd`) maps tests to the changed files by
the lines each test ran, also when the coverage configuration chooses a `core`: the
measurement then moves to coverage.py's tracer after the changed modules got their
probes, and the per-test lines of those files come from the probes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from pathlib import Path

CHECK = "def check(v):\n    if not isinstance(v, int):\n        raise {error}\n    return v\n"
TEST = (
    "import pytest\n\nfrom pkg.yaml import load\n\n\n"
    "def test_load():\n    with pytest.raises({raises}):\n        load('x')\n"
)


def project(path: Path, core: str) -> None:
    repo = GitRepo(path)
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\npythonpath = ["src"]\n' + core,
    )
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/pkg/__init__.py", CHECK.format(error='Exception("bad")'))
    repo.write("src/pkg/yaml.py", "from . import check\n\n\ndef load(v):\n    return check(v)\n")
    repo.write("tests/test_yaml.py", TEST.format(raises="Exception"))
    repo.commit("base")
    repo.git("tag", "base")
    # the package's `check` and the test that asserts its new error, in one commit: the
    # test imports pkg.yaml only, so only the lines it ran map it to pkg/__init__.py
    repo.write("src/pkg/__init__.py", CHECK.format(error='TypeError("not an int")'))
    repo.write("tests/test_yaml.py", TEST.format(raises='TypeError, match="not an int"'))
    repo.commit("raise TypeError, with its test")


@pytest.mark.parametrize("core", ["", '[tool.coverage.run]\ncore = "ctrace"\n'])
def test_the_tdd_gate_alone_maps_by_lines_whatever_the_core(
    pytester: pytest.Pytester, core: str
) -> None:
    project(pytester.path, core)

    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-base=base", "--tddgate-only=tdd", "-p", "no:randomly"
    )

    result.stdout.fnmatch_lines(["tdd*pass*1 implementation file(s)*tests came first"])
    assert result.ret == 0
