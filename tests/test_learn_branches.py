"""Learnings that are true across branches, commits and environments.

A learning says "resolved" or "went green after changes to F" only when a later run on
the same branch, on a descendant commit, with the same settings, shows it: a branch
switch or a newly set TDDGATE_ROLE is never taken for a fix. Violations become rules
an agent can follow, counted once per commit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

NOTE = Path(os.environ.get("TDDGATE_COORD", "/tmp/tddgate-coord")) / "expertise-two-branch.md"
QA = "alice@example.com"
BACKEND = "bob@example.com"
RULES = """\
roles:
  qa: {owns: ["tests/**"]}
  backend: {owns: ["src/**"], never: ["tests/**"]}
members:
  "alice@example.com": qa
  "bob@example.com": backend
"""
PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.tddgate]
source = ["src"]
tests = ["tests"]
"""
ARGS = (
    "--tddgate",
    "--tddgate-only=tests,tdd,roles",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:xdist",
    "-p",
    "no:randomly",
)
ENTRY = re.compile(r"^- (\S+) · (.+?) · (.*) <!-- tddgate:([a-z-]+):[0-9a-f]{12} -->$")


def entries(text: str) -> dict[str, list[str]]:
    """Section -> the text of each tddgate entry in it (date and component left out)."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("### "):
            current = line[4:]
        elif match := ENTRY.match(line):
            found.setdefault(current, []).append(match.group(3))
    return found


@pytest.fixture
def session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """The shop project on `main`: role rules, one module, one passing test."""
    for name in ("CI", "TDDGATE_ROLE", "TDDGATE_BASE"):
        monkeypatch.delenv(name, raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", "__pycache__/\n.tddgate/\n.pytest_cache/\ndocs/expertise.md\n")
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("tddgate-roles.yaml", RULES)
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/cart.py", "def total(prices):\n    return sum(prices)\n")
    repo.write(
        "tests/test_cart.py",
        "from shop.cart import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
    )
    repo.commit("Start the shop", author=QA)
    return repo


def run(pytester: pytest.Pytester, expected: int) -> str:
    result = pytester.runpytest(*ARGS)
    assert result.ret == expected, result.stdout.str()
    return result.stdout.str()


def test_an_eight_commit_two_branch_session_leaves_only_true_learnings(
    pytester: pytest.Pytester, session: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = session
    repo.git("checkout", "-q", "-b", "loyalty")
    # run 1: qa writes the loyalty test first; it fails (red)
    repo.write(
        "tests/test_loyalty.py",
        "def test_points():\n    from shop.loyalty import points\n\n    assert points(120) == 12\n",
    )
    repo.commit("Test loyalty points", author=QA)
    run(pytester, 1)
    # run 2: backend implements it: green, on the same branch, one commit later
    repo.write("src/shop/loyalty.py", "def points(total):\n    return total // 10\n")
    repo.commit("Loyalty points", author=BACKEND)
    run(pytester, 0)
    # run 3: backend adds shipping without a test first (tdd broken once)
    repo.write("src/shop/shipping.py", "def cost(weight):\n    return 5 + weight\n")
    repo.commit("Shipping costs", author=BACKEND)
    assert "test-not-first" in run(pytester, 1)
    # run 4: backend edits qa's test (roles broken once)
    repo.write(
        "tests/test_loyalty.py",
        "def test_points():\n    from shop.loyalty import points\n\n    assert points(125) == 12\n",
    )
    repo.commit("Loosen the loyalty test", author=BACKEND)
    assert "role-never" in run(pytester, 1)

    # run 5: another branch, where neither violation exists: no "resolved", no "green"
    repo.git("checkout", "-q", "main")
    repo.git("checkout", "-q", "-b", "shipping")
    run(pytester, 0)
    # run 6: here qa writes the shipping test first, then backend the code
    repo.write(
        "tests/test_shipping.py",
        "from shop.shipping import cost\n\n\ndef test_cost():\n    assert cost(2) == 7\n",
    )
    repo.commit("Test shipping costs", author=QA)
    repo.write("src/shop/shipping.py", "def cost(weight):\n    return 5 + weight\n")
    repo.commit("Shipping costs", author=BACKEND)
    run(pytester, 0)
    # run 7: an uncommitted change without a role fails `roles` ...
    repo.write("src/shop/shipping.py", "def cost(weight):\n    return 5 + weight  # flat\n")
    assert "role-unknown" in run(pytester, 1)
    # run 8: ... and with TDDGATE_ROLE set it passes: the environment did that, not a file
    repo.write("src/shop/shipping.py", "def cost(weight):\n    return 5 + weight  # flat fee\n")
    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    run(pytester, 0)
    repo.commit("Comment the flat fee", author=BACKEND)
    run(pytester, 0)  # run 9: committed, the role from `members`

    # run 10: back on the first branch, where both violations are still in the range
    monkeypatch.delenv("TDDGATE_ROLE")
    repo.git("checkout", "-q", "loyalty")
    run(pytester, 1)

    text = (pytester.path / "docs/expertise.md").read_text(encoding="utf-8")
    NOTE.parent.mkdir(parents=True, exist_ok=True)
    NOTE.write_text(text, encoding="utf-8")
    assert len(repo.git("rev-list", "--all").split()) == 8

    found = entries(re.sub(r"\d{4}-\d\d-\d\d", "DATE", text))
    # the one true fix: red and green on `loyalty`, one commit apart, same settings;
    # not `tdd` or `roles` "going green" on the switch to `shipping` (run 5) or with
    # TDDGATE_ROLE set (run 8), though files changed before both
    assert found.pop("patterns_that_work") == [
        "`tests` went from red (run #1) to green in run #2 on `loyalty` after changes to "
        "`src/shop/loyalty.py`."
    ]
    # rules, not stories of commits; nothing "resolved": each violation is still there
    # on its own branch, and the role-unknown one only passed once the environment changed
    assert found.pop("patterns_to_avoid") == [
        "Write the test for `src/shop/shipping.py` first, before its implementation changes "
        "(`test-not-first`) — 1 violation since DATE.",
        "Role `backend` must not change `tests/**`; leave such changes to `qa` — 1 violation "
        "since DATE (in `tests/test_loyalty.py`).",
        "Give every change a role (a `Role:` trailer, the author in `members`, or "
        "TDDGATE_ROLE for uncommitted changes) — 1 violation since DATE (in "
        "`src/shop/shipping.py`).",
    ]
    assert found == {}, text
