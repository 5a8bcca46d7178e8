"""Learnings that are true across branches, commits and environments.

A learning says "resolved" or "went green after changes to F" only when a later run on
the same branch, on a descendant commit, with the same settings, shows it: a branch
switch or a newly set TDDGATE_ROLE is never taken for a fix. Violations become rules
an agent can follow, counted once per commit.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from pytest_tddgate.facts import ledger
from pytest_tddgate.learn import update_expertise
from pytest_tddgate.model import Finding, GateResult
from tests.branchkit import GitProject
from tests.gitrepo import GitRepo
from tests.ledgerkit import gate, outcome

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


def run(pytester: pytest.Pytester, expected: int, *more: str) -> str:
    result = pytester.runpytest(*ARGS, *more)
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
    run(pytester, 1, "--tddgate-html=.tddgate/html")

    page = (pytester.path / ".tddgate/html/index.html").read_text(encoding="utf-8")
    assert (
        "Runs on branch <code>loyalty</code>; runs on other branches are not shown: "
        "5 runs, #1 to #10" in page
    )

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


# --- the rules behind it, one fact at a time (recorded runs of a real repository) ---

CALC_FIRST = 'implementation changed first, in {sha} "Add" (2026-01-01)'
NEVER = "changed by role `backend` (members) in {sha}: forbidden by `never: tests/**`"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitProject:
    for name in ("CI", "TDDGATE_ROLE", "TDDGATE_BASE"):
        monkeypatch.delenv(name, raising=False)
    return GitProject(tmp_path / "proj")


def learned(project: GitProject) -> dict[str, list[str]]:
    update_expertise(project.settings)
    return entries(project.expertise.read_text(encoding="utf-8"))


def tdd_fail(sha: str, subject: str = "Add") -> list[GateResult]:
    message = CALC_FIRST.format(sha=sha[:8]).replace('"Add"', f'"{subject}"')
    finding = Finding("test-not-first", message, "src/pkg/calc.py", commit=sha[:8])
    return [gate("tdd", "fail", [finding])]


def roles_fail(sha: str) -> list[GateResult]:
    finding = Finding("role-never", NEVER.format(sha=sha[:8]), "tests/test_calc.py", commit=sha)
    return [gate("roles", "fail", [finding])]


def test_violations_of_one_file_in_different_commits_count_apart(project: GitProject) -> None:
    first = project.repo.commit("Add", paths=())
    project.record(gates=tdd_fail(first))
    project.repo.git("checkout", "-q", "-b", "other", "HEAD~1")
    second = project.repo.commit("Add again")
    project.record(gates=tdd_fail(second, "Add again"))
    project.record(gates=tdd_fail(second, "Add again"))  # reported again: the same violation

    (rule,) = learned(project)["patterns_to_avoid"]

    assert rule == (
        "Write the test for `src/pkg/calc.py` first, before its implementation changes "
        "(`test-not-first`) — 2 violations since 2026-03-01."
    )


def test_an_uncommitted_violation_that_is_then_committed_counts_once(project: GitProject) -> None:
    uncommitted = Finding("test-not-first", "implementation changed first", "src/pkg/calc.py")
    project.record(gates=[gate("tdd", "fail", [uncommitted])])
    sha = project.repo.commit("Add")
    project.record(gates=tdd_fail(sha))

    (rule,) = learned(project)["patterns_to_avoid"]

    assert "— 1 violation since 2026-03-01." in rule


def test_a_rebased_violation_is_still_one(project: GitProject) -> None:
    first = project.repo.commit("Add")
    project.record(gates=tdd_fail(first))
    project.repo.git("commit", "-q", "--amend", "--no-edit", "--allow-empty")  # a new id
    assert project.repo.head() != first
    project.record(gates=tdd_fail(project.repo.head()))

    (rule,) = learned(project)["patterns_to_avoid"]

    assert "— 1 violation since 2026-03-01." in rule


def test_a_violation_is_resolved_only_on_its_branch_on_a_descendant_commit(
    project: GitProject,
) -> None:
    repo = project.repo
    sha = repo.commit("Loosen the test")
    project.record(gates=roles_fail(sha))
    repo.git("checkout", "-q", "-b", "other", "HEAD~1")
    project.record(gates=[gate("roles", "pass")])  # run 2: another branch
    assert "resolved" not in " ".join(learned(project)["patterns_to_avoid"])

    repo.git("checkout", "-q", "main")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.commit("Something else")  # main now: a commit that does not descend from `sha`
    project.record(gates=[gate("roles", "pass")])  # run 3
    assert "resolved" not in " ".join(learned(project)["patterns_to_avoid"])

    repo.git("reset", "-q", "--hard", sha)
    repo.commit("Undo it on top")  # a descendant of `sha`, on `main`
    project.record(gates=[gate("roles", "pass")])  # run 4

    (rule,) = learned(project)["patterns_to_avoid"]
    assert rule == (
        "Role `backend` must not change `tests/**` — 1 violation since 2026-03-01 (in "
        "`tests/test_calc.py`); the latest was resolved in run #4 on `main`."
    )


def test_green_after_setting_tddgate_role_is_not_a_fix(
    project: GitProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.record(gates=[gate("roles", "fail")])
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    project.record(gates=[gate("roles", "pass")])
    update_expertise(project.settings)
    assert not project.expertise.exists()  # nothing true to say yet

    project.record(gates=[gate("roles", "fail")])  # the same environment from here on
    project.write("src/pkg/calc.py", "def add(a, b):\n    return b + a\n")
    project.record(gates=[gate("roles", "pass")])

    assert learned(project)["patterns_that_work"] == [
        "`roles` went from red (run #3) to green in run #4 on `main` after changes to "
        "`src/pkg/calc.py`."
    ]


def test_a_stuck_test_passing_on_another_branch_names_no_fix(project: GitProject) -> None:
    boom = "TypeError: unsupported operand"
    for _ in range(3):
        project.record(outcome("tests/test_calc.py::test_add", "failed", boom))
    project.repo.git("checkout", "-q", "-b", "fixed")
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(outcome("tests/test_calc.py::test_add", "passed"))

    found = learned(project)

    (stuck,) = found["common_issues"]
    assert stuck.endswith(
        "It passed in run #4 (2026-03-04), on branch `fixed`, not on `main` like run #3."
    )
    assert "tips" not in found  # no "look at src/pkg/calc.py": the branch switch did it


def test_runs_on_a_detached_head_are_compared_with_none(project: GitProject) -> None:
    project.repo.git("checkout", "-q", "--detach")
    project.record(gates=[gate("mypy", "fail")])
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(gates=[gate("mypy", "pass")])

    update_expertise(project.settings)

    assert not project.expertise.exists()
    assert [r.branch for r in ledger.recent_runs(project.ledger, 5)] == [None, None]


def test_each_run_records_its_branch_settings_and_environment(
    project: GitProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.record()
    monkeypatch.setenv("TDDGATE_ROLE", "qa")
    project.record()

    with sqlite3.connect(project.ledger) as conn:
        rows = conn.execute("SELECT branch, settings_digest, env FROM runs").fetchall()

    assert [(branch, env) for branch, _, env in rows] == [
        ("main", "{}"),
        ("main", '{"TDDGATE_ROLE": "qa"}'),
    ]
    assert rows[0][1] != rows[1][1]


def test_ancestry_is_asked_of_git_once_and_kept_in_the_ledger(project: GitProject) -> None:
    project.record(gates=[gate("mypy", "fail")])
    old = project.repo.head()
    new = project.repo.commit("Fix the types")
    project.record(gates=[gate("mypy", "pass")])

    learned(project)

    with sqlite3.connect(project.ledger) as conn:
        assert conn.execute("SELECT * FROM ancestry").fetchall() == [(old, new, 1)]


def test_a_version_1_ledger_is_upgraded_and_its_runs_compared_with_none(
    project: GitProject,
) -> None:
    project.record(gates=[gate("mypy", "fail")])
    with sqlite3.connect(project.ledger) as conn:  # make it a ledger of version 1
        for table, column in (("runs", "branch"), ("runs", "settings_digest"), ("runs", "env")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("ALTER TABLE findings DROP COLUMN commit_sha")
        conn.execute("DROP TABLE ancestry")
        conn.execute("UPDATE schema_version SET version = 1")
    assert [r.branch for r in ledger.recent_runs(project.ledger, 5)] == [None]  # still read
    update_expertise(project.settings)  # `tddgate learn` upgrades it too
    with sqlite3.connect(project.ledger) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]

    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(gates=[gate("mypy", "pass")])

    with sqlite3.connect(project.ledger) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        assert conn.execute("SELECT run_id, branch FROM runs").fetchall() == [
            (1, None),
            (2, "main"),
        ]
    update_expertise(project.settings)
    assert not project.expertise.exists()  # run 1 cannot be compared with run 2


def test_a_long_message_is_shortened_between_words(project: GitProject) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    for index in range(3):
        finding = Finding("E501", f"{words} {index}", f"src/pkg/m{index}.py", 1)
        project.record(gates=[gate("ruff", "fail", [finding])])

    (rule,) = learned(project)["patterns_to_avoid"]

    example = rule.split("e.g. `", 1)[1].split("`", 1)[0]
    assert example.endswith(" …")
    assert example[:-2].split(" ")[-1] in words.split(" ")  # a whole word before the cut
    assert rule.endswith("Run ruff before you commit.")


def test_the_rule_names_in_docs_learnings_are_the_ones_the_gates_report() -> None:
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs/learnings.md").read_text(encoding="utf-8")
    table = doc.split("| rule of the gate | the entry |", 1)[1].split("\n\n", 1)[0]
    named = re.findall(r"^\| `([a-z-]+)` \|", table, re.MULTILINE)
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (root / "src/pytest_tddgate").rglob("*.py")
        if path.parent.name in ("gates", "facts")
    )

    assert len(named) >= 7
    for rule in named:
        assert f'"{rule}"' in source, f"docs/learnings.md names a rule no gate reports: {rule}"
    assert "`test-after`" not in doc and "`never`" not in doc
