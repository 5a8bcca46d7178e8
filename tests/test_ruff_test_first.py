"""A test written before its module: ruff's import sorting must not depend on whether
the module exists yet (ruff sorts a project module it cannot find as third-party, and
wants it moved back once it exists), so the qa role's test-first commit passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate.cli import main

if TYPE_CHECKING:
    import pytest

    from tests.gitrepo import GitRepo

PYPROJECT = """\
[project]
name = "shop"
version = "0"

[tool.ruff]
src = ["src"]

[tool.ruff.lint]
select = ["I", "F"]
"""
TEST_FIRST = """\
import pytest

from shop.cart import total
from shop.discounts import apply


def test_discount() -> None:
    assert apply(total([10])) == 9
    with pytest.raises(ValueError):
        apply(-1)
"""


def qa_writes_the_test_first(repo: GitRepo, pyproject: str = PYPROJECT) -> GitRepo:
    """The qa role's commit: a test of `shop.discounts`, which does not exist yet."""
    repo.write("pyproject.toml", pyproject)
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/cart.py", "def total(prices: list[int]) -> int:\n    return sum(prices)\n")
    repo.commit("Cart")
    repo.write("tests/test_discounts.py", TEST_FIRST)
    repo.commit("Test discounts first")
    return repo


def ruff_check(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.chdir(repo.path)
    code = main(["check", "--only", "ruff", "--base", "HEAD~1"])
    return code, capsys.readouterr().out


def test_a_test_of_a_module_not_written_yet_passes_import_sorting(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = ruff_check(qa_writes_the_test_first(repo), monkeypatch, capsys)

    assert "I001" not in out, out
    assert code == 0, out


def test_once_the_module_exists_the_same_test_still_passes(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    qa_writes_the_test_first(repo)
    repo.write(
        "src/shop/discounts.py",
        "def apply(price: int) -> int:\n"
        "    if price < 0:\n"
        "        raise ValueError(price)\n"
        "    return price - 1\n",
    )
    repo.commit("Discounts")

    code, out = ruff_check(repo, monkeypatch, capsys)

    assert code == 0, out


def test_a_project_that_names_its_first_party_packages_keeps_its_own_setting(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the project says `shop` is third-party: the gate reports what ruff says
    own = PYPROJECT + '\n[tool.ruff.lint.isort]\nknown-third-party = ["shop"]\n'
    code, out = ruff_check(qa_writes_the_test_first(repo, own), monkeypatch, capsys)

    assert code == 1, out
    assert "I001" in out
