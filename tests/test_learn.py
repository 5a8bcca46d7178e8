"""Learnings derived from recorded runs, as a person reads them in expertise.md."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml

from pytest_tddgate.facts import ledger
from pytest_tddgate.learn import update_expertise
from pytest_tddgate.model import Finding, GateResult, RequirementStatus
from tests.branchkit import GitProject
from tests.ledgerkit import Project, gate, outcome

ADD = "tests/test_calc.py::test_add"
BOOM = "TypeError: unsupported operand type(s) for -: 'str' and 'int'"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    # runs on one branch of a real repository: learnings compare only such runs
    return GitProject(tmp_path / "proj")


def learned(project: Project) -> str:
    result = update_expertise(project.settings)
    assert result.written
    return project.expertise.read_text(encoding="utf-8")


def section(text: str, name: str) -> str:
    """The lines of one `### name` section of expertise.md."""
    after = text.split(f"### {name}\n", 1)[1]
    return after.split("\n#", 1)[0]


def entry(text: str, needle: str) -> str:
    lines = [line for line in text.splitlines() if needle in line and "<!-- tddgate:" in line]
    assert len(lines) == 1, text
    return lines[0]


def test_a_fresh_file_has_front_matter_and_the_four_sections(project: Project) -> None:
    for _ in range(3):
        project.record(outcome(ADD, "failed", BOOM))

    text = learned(project)

    front = yaml.safe_load(text.split("---\n")[1])
    assert str(front["last_updated"]) == "2026-03-03"
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [
        "# Expertise",
        "## Learnings",
        "### patterns_that_work",
        "### patterns_to_avoid",
        "### common_issues",
        "### tips",
    ]


def test_a_test_failing_the_same_way_three_runs_in_a_row_is_stuck(project: Project) -> None:
    project.record(outcome(ADD, "failed", BOOM))
    project.record(outcome(ADD, "failed", BOOM))
    update_expertise(project.settings)
    assert not project.expertise.exists()  # two failures are not stuck yet

    project.write(
        "tests/test_calc.py",
        "# a comment\n" + project.root.joinpath("tests/test_calc.py").read_text(),
    )
    project.record(outcome(ADD, "failed", BOOM))
    text = learned(project)

    line = entry(section(text, "common_issues"), "is stuck")
    assert line.startswith(
        "- 2026-03-01 · `tests/test_calc.py` · `tests/test_calc.py::test_add`"
        f" is stuck: it has failed with `{BOOM}` in every run since run #1 "
        "(2026-03-01). Meanwhile changed: `tests/test_calc.py`. <!-- tddgate:"
    )


def test_a_stuck_test_that_passes_says_which_change_fixed_it(project: Project) -> None:
    for _ in range(3):
        project.record(outcome(ADD, "failed", BOOM))
    first = learned(project)
    assert "Nothing changed meanwhile" in entry(first, "is stuck")
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(outcome(ADD, "passed"))

    text = learned(project)

    stuck = entry(section(text, "common_issues"), "was stuck")
    assert stuck.startswith(
        f"- 2026-03-04 · `tests/test_calc.py` · `{ADD}` was stuck: it failed "
        f"with `{BOOM}` in 3 runs in a row (runs #1 to #3, from 2026-03-01). "
        "Nothing changed meanwhile: the same code failed the same way each "
        "time. It passed in run #4 (2026-03-04) after changes to "
        "`src/pkg/calc.py`. <!-- tddgate:stuck:"
    )
    assert text.count("<!-- tddgate:stuck:") == 1  # updated in place, not added twice
    tip = entry(section(text, "tips"), "look at")
    assert f"When `{ADD}` fails with `{BOOM}`, look at `src/pkg/calc.py`" in tip


def test_a_test_that_flips_while_its_code_is_unchanged_is_flaky(project: Project) -> None:
    project.record(outcome(ADD, "passed"))
    project.record(outcome(ADD, "failed"))
    project.record(outcome(ADD, "passed"))

    line = entry(section(learned(project), "common_issues"), "is flaky")

    assert (
        "`tests/test_calc.py::test_add` is flaky: its outcome changed 2 times while the "
        "code it covers did not change (last: failed in run #2, passed in run #3)" in line
    )


def test_a_flip_after_the_code_changed_is_not_flaky(project: Project) -> None:
    project.record(outcome(ADD, "failed"))
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(outcome(ADD, "passed"))
    project.write("tests/test_calc.py", "def test_add():\n    assert 0\n")
    project.record(outcome(ADD, "failed"))

    text = learned(project)  # red to green of `tests` is learned, flakiness is not

    assert "flaky" not in text


def test_recurring_ruff_and_mypy_codes_are_counted(project: Project) -> None:
    def ruff(*places: tuple[str, str]) -> list[GateResult]:
        findings = [Finding("E501", message, path, 3) for path, message in places]
        return [
            gate("ruff", "fail", findings),
            gate(
                "mypy",
                "fail",
                [Finding("arg-type", "Argument 1 has type str", "src/pkg/calc.py", 2)],
            ),
        ]

    project.record(gates=ruff(("src/pkg/calc.py", "Line too long (120 > 100)")))
    project.record(
        gates=ruff(
            ("src/pkg/calc.py", "Line too long (120 > 100)"),
            ("src/pkg/io.py", "Line too long (130 > 100)"),
        )
    )
    project.record(
        gates=ruff(
            ("src/pkg/calc.py", "Line too long (120 > 100)"),
            ("src/pkg/io.py", "Line too long (101 > 100)"),
        )
    )

    avoid = section(learned(project), "patterns_to_avoid")

    line = entry(avoid, "E501")
    assert line.startswith(
        "- 2026-03-03 · `ruff` · Avoid ruff `E501`: it came up 3 times in 2 files "
        "(`src/pkg/calc.py`, `src/pkg/io.py`) since 2026-03-01, e.g. "
        "`Line too long (101 > 100)`. Run ruff before you commit. <!-- tddgate:"
    )
    assert "arg-type" not in avoid  # one finding, seen three times, is not recurring


def test_tdd_and_role_violations_become_rules_with_their_resolution(project: Project) -> None:
    tdd = Finding(
        "test-not-first",
        'implementation changed first, in abc12345 "Add" (2026-03-01)',
        "src/pkg/calc.py",
        commit="abc12345",
    )
    role = Finding(
        "role-never",
        "changed by role `backend` (trailer) in abc12345: forbidden by `never: tests/**`",
        "tests/test_calc.py",
        commit="abc12345" + "0" * 32,
    )
    project.record(gates=[gate("tdd", "fail", [tdd]), gate("roles", "fail", [role])])
    project.record(gates=[gate("tdd", "fail", [tdd]), gate("roles", "pass")])

    avoid = section(learned(project), "patterns_to_avoid")

    assert entry(avoid, "src/pkg/calc.py").startswith(
        "- 2026-03-01 · `src/pkg/calc.py` · Write the test for `src/pkg/calc.py` first, "
        "before its implementation changes (`test-not-first`) — 1 violation since 2026-03-01. "
        "<!-- tddgate:"
    )
    assert entry(avoid, "Role `backend`").startswith(
        "- 2026-03-02 · `backend` · Role `backend` must not change `tests/**` — 1 violation "
        "since 2026-03-01 (in `tests/test_calc.py`); the latest was resolved in run #2 on "
        "`main`. <!-- tddgate:"
    )


def test_a_gate_from_red_to_green_names_the_files_that_did_it(project: Project) -> None:
    project.record(gates=[gate("coverage", "fail")])
    project.record(gates=[gate("coverage", "skip")])  # not judged: neither red nor green
    project.write("tests/test_io.py", "def test_io():\n    pass\n")
    project.record(gates=[gate("coverage", "pass")])

    works = section(learned(project), "patterns_that_work")

    assert (
        "`coverage` went from red (run #1) to green in run #3 on `main` after changes to "
        "`tests/test_io.py`." in entry(works, "`coverage` went")
    )


def test_a_requirement_whose_tests_failed_first_was_completed_test_first(
    project: Project,
) -> None:
    def req(rid: str, status: str) -> RequirementStatus:
        return RequirementStatus(
            rid,
            status,
            ("tests/test_calc.py",),
            ("src/pkg/calc.py",),
            title="Adding numbers" if rid == "REQ-1" else None,
        )

    project.record(requirements=[req("REQ-1", "untested"), req("REQ-2", "passing")])
    project.record(requirements=[req("REQ-1", "failing"), req("REQ-2", "passing")])
    project.write("src/pkg/calc.py", "def add(a, b):\n    return a + b\n")
    project.record(requirements=[req("REQ-1", "passing"), req("REQ-2", "passing")])

    works = section(learned(project), "patterns_that_work")

    assert entry(works, "REQ-1").startswith(
        "- 2026-03-03 · `REQ-1` · `REQ-1` (Adding numbers) was completed test-first: its tests "
        "failed in run #2 (2026-03-02) and passed from run #3 after changes to "
        "`src/pkg/calc.py`."
    )
    assert "REQ-2" not in works  # passed from the start: no evidence its tests came first


def test_learning_again_from_the_same_ledger_does_not_touch_the_file(project: Project) -> None:
    for _ in range(3):
        project.record(outcome(ADD, "failed", BOOM))
    learned(project)
    before = project.expertise.read_bytes()
    mtime = project.expertise.stat().st_mtime_ns
    time.sleep(0.01)

    again = update_expertise(project.settings)
    project.record(outcome(ADD, "failed", BOOM))  # still stuck, nothing changed: nothing new
    third = update_expertise(project.settings)

    assert (again.written, third.written) == (False, False)
    assert project.expertise.read_bytes() == before
    assert project.expertise.stat().st_mtime_ns == mtime


def test_learners_take_turns_on_the_ledgers_write_lock(project: Project) -> None:
    for _ in range(3):
        project.record(outcome(ADD, "failed", BOOM))
    finished = threading.Event()

    def learn() -> None:
        update_expertise(project.settings)
        finished.set()

    with ledger.write_lock(project.ledger):
        thread = threading.Thread(target=learn)
        thread.start()
        time.sleep(0.5)
        assert not finished.is_set()  # waits for the lock holder
        assert not project.expertise.exists()
    thread.join(timeout=30)
    assert finished.is_set()
    assert "is stuck" in project.expertise.read_text(encoding="utf-8")


def test_learning_without_a_ledger_is_an_error_that_says_what_to_do(project: Project) -> None:
    with pytest.raises(ledger.LedgerError) as caught:
        update_expertise(project.settings)
    assert "there is no run ledger" in str(caught.value)
    assert "run `pytest --tddgate` first" in str(caught.value)
    assert not project.ledger.exists()
