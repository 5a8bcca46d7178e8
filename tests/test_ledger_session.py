"""The ledger and the learnings as a user meets them: `pytest --tddgate` and `tddgate learn`."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import pytest

from pytest_tddgate import cli
from pytest_tddgate.facts import ledger

FAILING = "def test_add():\n    assert 1 + 1 == 3\n\ndef test_ok():\n    pass\n"
PASSING = "def test_add():\n    assert 1 + 1 == 2\n\ndef test_ok():\n    pass\n"
ARGS = ("--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider", "-p", "no:xdist")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)  # learnings are on for local runs
    pytester.makepyprojecttoml("[tool.tddgate]\n")
    pytester.mkpydir("src")
    pytester.makepyfile(test_calc=FAILING)
    return pytester


def runs(root: Path) -> list[ledger.RunRecord]:
    return ledger.recent_runs(root / ".tddgate" / "ledger.sqlite3", 100)


def test_each_gated_run_is_recorded(project: pytest.Pytester) -> None:
    assert project.runpytest(*ARGS).ret == 1
    project.makepyfile(test_calc=PASSING)
    assert project.runpytest(*ARGS).ret == 0

    recorded = runs(project.path)
    assert [(r.run_id, r.passed) for r in recorded] == [(1, False), (2, True)]
    assert recorded[0].gates["tests"].status == "fail"
    assert recorded[0].gates["tests"].metrics["failed"] == 1
    history = ledger.last_outcomes(
        project.path / ".tddgate/ledger.sqlite3", "test_calc.py::test_add", 5
    )
    assert [h.outcome for h in history] == ["failed", "passed"]
    assert history[0].message == "assert (1 + 1) == 3"
    assert history[0].signature is not None and history[1].signature is None


def test_reading_the_ledger_leaves_no_sqlite_side_files(project: pytest.Pytester) -> None:
    # found with `tddgate demo`: a read-only connection closing last left -wal and -shm
    project.runpytest(*ARGS)
    project.runpytest(*ARGS)  # reads the earlier run (stuck tests) before recording
    assert runs(project.path)  # and a reader after the last writer

    assert sorted(p.name for p in (project.path / ".tddgate").glob("ledger*")) == ["ledger.sqlite3"]


def test_three_failing_runs_write_a_stuck_learning(project: pytest.Pytester) -> None:
    for _ in range(3):
        project.runpytest(*ARGS)

    text = (project.path / "docs" / "expertise.md").read_text(encoding="utf-8")
    assert (
        "`test_calc.py::test_add` is stuck: it has failed with `assert (1 + 1) == 3` in every "
        "run since run #1" in text
    )


def test_a_run_with_nothing_new_leaves_the_file_byte_identical(
    project: pytest.Pytester,
) -> None:
    for _ in range(3):
        project.runpytest(*ARGS)
    notes = project.path / "docs" / "expertise.md"
    text = notes.read_text(encoding="utf-8")
    assert "is stuck" in text
    # a person's notes inside the sections, between the runs
    notes.write_bytes(
        text.replace("### common_issues\n", "### common_issues\n\nAsk Ada.  \n")
        .replace("### tips\n", "### tips\n\n* my tip\t\n")
        .encode("utf-8")
    )
    before = notes.read_bytes()
    os.utime(notes, ns=(1_000_000_000, 1_000_000_000))

    result = project.runpytest(*ARGS)  # the same failure again, nothing else changed

    assert result.ret == 1
    assert len(runs(project.path)) == 4  # recorded, but it teaches nothing new
    assert notes.read_bytes() == before
    assert notes.stat().st_mtime_ns == 1_000_000_000

    project.makepyfile(test_calc=PASSING)  # now something new: the stuck test passes
    assert project.runpytest(*ARGS).ret == 0
    after = notes.read_text(encoding="utf-8")
    assert "was stuck" in after
    assert "### common_issues\n\nAsk Ada.  \n" in after
    assert "### tips\n\n* my tip\t\n" in after


def test_no_learn_touches_neither_the_file_nor_its_mtime(project: pytest.Pytester) -> None:
    notes = project.path / "docs" / "expertise.md"
    notes.parent.mkdir()
    notes.write_text("My notes.\n", encoding="utf-8")
    os.utime(notes, ns=(1_000_000_000, 1_000_000_000))

    for _ in range(3):
        project.runpytest(*ARGS, "--tddgate-no-learn")

    assert notes.read_text(encoding="utf-8") == "My notes.\n"
    assert notes.stat().st_mtime_ns == 1_000_000_000
    assert len(runs(project.path)) == 3  # the ledger is kept either way
    project.runpytest(*ARGS)
    assert "is stuck" in notes.read_text(encoding="utf-8")


def test_learnings_are_off_on_ci_unless_settings_turn_them_on(
    project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    for _ in range(3):
        project.runpytest(*ARGS)
    assert not (project.path / "docs").exists()
    assert len(runs(project.path)) == 3

    project.makepyprojecttoml("[tool.tddgate]\nlearn = true\n")
    project.runpytest(*ARGS)
    assert "is stuck" in (project.path / "docs/expertise.md").read_text(encoding="utf-8")


def test_a_corrupt_ledger_is_a_status_line_not_a_crash(project: pytest.Pytester) -> None:
    project.makepyfile(test_calc=PASSING)
    (project.path / ".tddgate").mkdir()
    (project.path / ".tddgate" / "ledger.sqlite3").write_bytes(b"not sqlite at all\n" * 64)

    result = project.runpytest(*ARGS)

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "tddgate: the run ledger */ledger.sqlite3 could not be used (file is not a database);"
            " moved it to ledger.sqlite3.broken-* and started a fresh ledger",
        ]
    )
    assert [r.run_id for r in runs(project.path)] == [1]


def test_an_unwritable_ledger_is_a_status_line_and_the_exit_status_stays(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_calc=PASSING)
    (project.path / ".tddgate" / "ledger.sqlite3").mkdir(parents=True)  # a folder in its way

    result = project.runpytest(*ARGS)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["tddgate: the run was not recorded in the ledger: *"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize("keep", ["0", "-1"])
def test_a_ledger_keep_below_one_exits_4_and_keeps_the_ledger(
    project: pytest.Pytester, keep: str
) -> None:
    for _ in range(2):
        project.runpytest(*ARGS)
    project.makepyprojecttoml(f"[tool.tddgate]\nledger_keep = {keep}\n")

    result = project.runpytest(*ARGS)

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            f"ERROR: tddgate: *pyproject.toml:2: [[]tool.tddgate[]] ledger_keep: must be at "
            f"least 1, got {keep}",
            "  fix: write e.g. `ledger_keep = 500`*",
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert [r.run_id for r in runs(project.path)] == [1, 2]  # nothing pruned


def test_a_bad_expertise_file_is_a_status_line(project: pytest.Pytester) -> None:
    notes = project.path / "docs" / "expertise.md"
    notes.parent.mkdir()
    notes.write_text("---\n: [\n---\n", encoding="utf-8")
    for _ in range(2):
        project.runpytest(*ARGS)

    result = project.runpytest(*ARGS)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tddgate: the learnings were not updated: *docs/expertise.md:*: the front matter is "
            "not valid YAML*"
        ]
    )
    assert notes.read_text(encoding="utf-8") == "---\n: [\n---\n"


def test_under_xdist_the_controller_records_one_run(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    result = project.runpytest(
        "--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider", "-n", "2"
    )

    assert result.ret == 1
    ledger = project.path / ".tddgate/ledger.sqlite3"
    with contextlib.closing(sqlite3.connect(ledger)) as conn, conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
        assert conn.execute(
            "SELECT nodeid, outcome FROM tests JOIN nodes USING (node_id) ORDER BY nodeid"
        ).fetchall() == [
            ("test_calc.py::test_add", "failed"),
            ("test_calc.py::test_ok", "passed"),
        ]
    conn.close()


def test_tddgate_learn_regenerates_from_the_ledger(
    project: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for _ in range(3):
        project.runpytest(*ARGS, "--tddgate-no-learn")
    capsys.readouterr()

    assert cli.main(["learn", "--root", str(project.path)]) == 0
    assert capsys.readouterr().out == (
        "tddgate: learnings in docs/expertise.md: 1 added, 0 updated\n"
    )
    text = (project.path / "docs/expertise.md").read_text(encoding="utf-8")
    assert "is stuck" in text

    assert cli.main(["learn", "--root", str(project.path)]) == 0
    assert capsys.readouterr().out == (
        "tddgate: learnings in docs/expertise.md are up to date (1 entries)\n"
    )
    assert (project.path / "docs/expertise.md").read_text(encoding="utf-8") == text


def test_tddgate_learn_without_a_ledger_says_what_to_do(
    project: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(project.path / "src")  # finds the project root upwards

    assert cli.main(["learn"]) == 4

    err = capsys.readouterr().err
    assert err.startswith(
        f"tddgate: {project.path / '.tddgate' / 'ledger.sqlite3'}: there is no run ledger"
    )
    assert "fix: run `pytest --tddgate` first" in err
    assert not (project.path / "docs").exists()


def test_tddgate_help_lists_learn(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "learn" in capsys.readouterr().out
