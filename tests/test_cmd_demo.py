"""`tddgate demo`: runs from a fresh interpreter, shows both steps, cleans up; its project
under pytest-xdist with all seven gates."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import pytest_tddgate
from pytest_tddgate.commands.demo import explain, remove_tree
from pytest_tddgate.model import GateResult, Report, Verdict
from tests.test_output_sarif import validate

SOURCE = str(Path(pytest_tddgate.__file__).resolve().parents[1])


def run_demo(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`tddgate demo` as a user starts it: a new process, the installed package."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SOURCE, *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    return done, time.perf_counter() - started


def folder_of(output: str) -> Path:
    match = re.search(r"in (\S+tddgate-demo-\S+)\n", output)
    assert match, output
    return Path(match.group(1))


def test_demo_shows_both_steps_and_removes_its_folder() -> None:
    done, seconds = run_demo()
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert seconds < 60  # a few seconds on a laptop; generous for a shared CI machine
    step_1, step_2 = out.split("Step 2:")
    assert "tddgate: all gates passed" in step_1
    assert re.search(r"tddgate: FAILED: .*\btests\b", step_2)
    assert "test_a_cart_of_100_euros_gets_10_percent_off failed: assert 10000 == 9000" in step_2
    assert "What the gates saw:" in out
    assert re.search(r"\n  tests +pass -> fail\n", out)
    assert "step 2: test_discount.py fails" in out
    assert "tddgate init" in out
    assert not folder_of(out).exists()
    # each gate is shown passing, then failing (ruff and mypy come with the dev extras)
    for gate in ("tests", "tdd", "traceability", "roles", "coverage", "ruff", "mypy"):
        assert re.search(rf"\n  {gate} +pass -> fail\n", out), gate
    assert "tddgate: FAILED: tests, tdd, traceability, roles, coverage, ruff, mypy" in step_2
    # the README quotes step 2's gate table: it must be what the demo prints
    readme = (Path(SOURCE).parent / "README.md").read_text(encoding="utf-8")
    quoted = readme.split("What `tddgate demo` prints", 1)[1].split("```")[1]
    table = [line for line in quoted.splitlines() if re.match(r"\w+ +fail +", line)]
    assert len(table) == 7
    shown = {line.strip() for line in step_2.splitlines()}
    assert [line for line in table if line not in shown] == []


def test_demo_keep_leaves_the_project_with_its_history() -> None:
    done, _ = run_demo("--keep")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = folder_of(done.stdout)
    try:
        assert f"The demo project is kept in {folder}" in done.stdout
        log = subprocess.run(
            ["git", "log", "--format=%an|%s", "--reverse"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert log == [
            "Lea|Start the shop project",
            "Alice|Test the cart total",
            "Bob|Compute the cart total",
            "Bob|Add discounts",
            "Alice|Test discounts, add REQ-2",
        ]
        assert (folder / ".tddgate" / "html" / "index.html").is_file()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout
        assert status == ""  # the runs left nothing the gates would judge as a change
    finally:
        remove_tree(folder)


def test_explain_names_what_each_step_planted_and_why_a_gate_could_not_judge() -> None:
    first = Report(
        gates=(
            GateResult("tdd", Verdict.PASS, "ok"),
            GateResult("ruff", Verdict.ERROR, "ruff is not installed"),
            GateResult("license", Verdict.PASS, "all files have a header"),
        )
    )
    second = Report(
        gates=(
            GateResult("tdd", Verdict.FAIL, "1 violation"),
            GateResult("ruff", Verdict.ERROR, "ruff is not installed"),
            GateResult("license", Verdict.FAIL, "1 file without header"),
        )
    )
    lines = explain(first, second)
    assert lines[1] == "  tdd      pass -> fail"
    assert lines[2].startswith("           step 1: alice committed tests/test_cart.py before")
    assert lines[3].startswith("           step 2: bob committed src/shop/discount.py before")
    assert lines[4:7] == [
        "  ruff     error -> error",
        "           step 1: error: ruff is not installed",
        "           step 2: error: ruff is not installed",
    ]
    assert lines[7:10] == [
        "  license  pass -> fail",
        "           step 1: pass: all files have a header",
        "           step 2: fail: 1 file without header",
    ]


def test_remove_tree_removes_read_only_files(tmp_path: Path) -> None:
    # git writes its objects read-only; on Windows that alone stops shutil.rmtree
    target = tmp_path / "demo" / ".git" / "objects" / "ab" / "cdef"
    target.parent.mkdir(parents=True)
    target.write_text("x", encoding="utf-8")
    target.chmod(0o444)
    remove_tree(tmp_path / "demo")
    assert not (tmp_path / "demo").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="PATH without git is POSIX-specific here")
def test_without_git_the_demo_exits_4_with_the_fix(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PYTHONPATH": SOURCE, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 4
    assert "tddgate: the demo needs git, which is not installed" in done.stderr


PYTEST_GATES = (
    sys.executable,
    "-m",
    "pytest",
    "--tddgate",
    "--tddgate-no-learn",
    "-p",
    "no:cacheprovider",
)


def gate_run(folder: Path, report: Path, *args: str) -> dict[str, Any]:
    """`pytest --tddgate` with all seven gates in the demo project; its JSON report."""
    drop = {"PYTEST_ADDOPTS", "PYTEST_PLUGINS", "TDDGATE_BASE", "TDDGATE_ROLE", "CI"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("GITHUB_")}
    env["PYTHONPATH"] = SOURCE
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        [*PYTEST_GATES, f"--tddgate-report={report}", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    del data["generated_at"]
    for gate in data["gates"]:
        del gate["duration_s"]
    return data


def test_under_xdist_all_seven_gates_report_what_a_serial_run_reports_and_sarif_is_valid(
    tmp_path: Path,
) -> None:
    done, _ = run_demo("--keep")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = folder_of(done.stdout)
    sarif = tmp_path / "report.sarif"
    try:
        # the reports go outside the project: a new file there is a change the gates judge
        serial = gate_run(folder, tmp_path / "serial.json", f"--tddgate-sarif={sarif}")
        parallel = gate_run(folder, tmp_path / "parallel.json", "-n", "2")
    finally:
        remove_tree(folder)
    assert [(g["name"], g["status"]) for g in serial["gates"]] == [
        (name, "fail")
        for name in ("tests", "tdd", "traceability", "roles", "coverage", "ruff", "mypy")
    ]
    assert parallel == serial
    # a real run's SARIF, with a finding of every gate, is valid against the schema
    log = validate(sarif.read_text(encoding="utf-8"))
    rules = {r["ruleId"].split("/")[0] for r in log["runs"][0]["results"]}
    assert rules == {"tests", "tdd", "traceability", "roles", "coverage", "ruff", "mypy"}
