"""A private module `_calc.py` is tested in `test_calc.py` (httpx, pytest-mock, build):
the naming convention maps it without the leading underscore, and the fix hint
suggests that name (QA findings F6, M6)."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.cli import main
from tests.tddkit import start_project

if TYPE_CHECKING:
    from pathlib import Path

    from tests.gitrepo import GitRepo

# the package re-exports the private module; tests import only the package, so only
# the naming convention can map them to it
INIT = "from ._calc import add\n"
CALC = "def add(a, b):\n    return a + b\n"
CALC_STRINGS = "def add(a, b):\n    return int(a) + int(b)\n"
TEST = "import pkg\n\n\ndef test_add():\n    assert pkg.add(1, 2) == 3\n"
TEST_STRINGS = TEST + '    assert pkg.add("1", 2) == 3\n'


@pytest.fixture
def project(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GitRepo:
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(repo.path)
    start_project(repo)
    return repo


def check(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--only", "tdd"])
    return code, capsys.readouterr().out


def tdd_line(out: str) -> str:
    return next(" ".join(line.split()) for line in out.splitlines() if line.startswith("tdd "))


@pytest.mark.parametrize("test_file", ["tests/test_calc.py", "tests/calc_test.py"])
def test_a_private_module_maps_to_the_test_named_without_its_underscore(
    project: GitRepo, capsys: pytest.CaptureFixture[str], test_file: str
) -> None:
    """httpx 47f4a96f: httpx/_decoders.py changed with tests/test_decoders.py."""
    project.write("src/pkg/__init__.py", INIT)
    project.write("src/pkg/_calc.py", CALC)
    project.write(test_file, TEST)
    project.commit("add, with its test")
    project.write("src/pkg/_calc.py", CALC_STRINGS)
    project.write(test_file, TEST_STRINGS)
    project.commit("accept strings, with the test")

    code, out = check(capsys)

    assert code == 0, out
    assert tdd_line(out).startswith("tdd pass 1 implementation file(s)")


def test_the_name_with_the_underscore_still_maps(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("src/pkg/__init__.py", INIT)
    project.write("src/pkg/_calc.py", CALC)
    project.write("tests/test__calc.py", TEST)
    project.commit("add, with its test")

    code, out = check(capsys)

    assert code == 0, out


def test_the_hint_names_the_test_without_the_underscore(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """pytest-mock: "write a test for src/pytest_mock/_util.py (e.g. in tests/test__util.py)"."""
    project.write("src/pkg/_util.py", CALC)
    project.commit("code first")

    code, out = check(capsys)

    assert code == 1
    assert "fix: write a test for src/pkg/_util.py (e.g. in tests/test_util.py)" in out
    assert "test__util.py" not in out
