"""`tddgate check`: the static gates without a test run, and the pre-commit hook."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from pytest_tddgate.cli import main
from pytest_tddgate.commands import find_root, pytest_testpaths
from tests.tddkit import IMPL, TEST, start_project

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


@pytest.fixture(autouse=True)
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--staged` keeps a copy of the index for ruff in the temporary folder: a
    test's own, not the machine's shared one."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))


@pytest.fixture
def project(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(repo.path)
    start_project(repo)
    return repo


def gate_line(out: str, gate: str) -> str:
    """The gate's line of the terminal report, with its column padding squeezed."""
    return next(" ".join(line.split()) for line in out.splitlines() if line.startswith(gate + " "))


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_passing_history_exits_0(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    project.write("tests/test_shapes.py", TEST)
    project.commit("test")
    project.write("src/pkg/shapes.py", IMPL)
    project.commit("code")

    code, out, _ = check(capsys)

    assert code == 0
    assert (
        gate_line(out, "tdd")
        == "tdd pass 1 implementation file(s) over 2 commit(s): tests came first"
    )
    assert gate_line(out, "tests") == "tests skip needs a test run (use `pytest --tddgate`)"
    assert out.rstrip().endswith("tddgate: all gates passed")


def test_code_first_exits_1_with_the_finding_and_the_fix(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("src/pkg/shapes.py", IMPL)
    sha = project.commit("code first")

    code, out, _ = check(capsys)

    assert code == 1
    assert (
        f'  src/pkg/shapes.py: implementation changed first, in {sha[:8]} "code first" '
        "(2026-01-01); no mapped test changed in the range [test-not-first]"
    ) in out
    assert "    fix: write a test for src/pkg/shapes.py (e.g. in tests/test_shapes.py)" in out
    assert "tddgate: FAILED: tdd" in out


def test_staged_judges_only_what_would_be_committed(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("src/pkg/shapes.py", IMPL)
    project.write("tests/test_shapes.py", TEST)
    project.git("add", "src/pkg/shapes.py")

    assert check(capsys)[0] == 0
    code, out, _ = check(capsys, "--staged")
    assert code == 1
    assert "implementation changed first, in staged changes" in out


def test_the_hook_and_ci_agree_on_a_change_that_only_reorders_lines(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reordering lines adds none: no test needed, staged as once committed."""
    two = IMPL + "\n\ndef perimeter(width, height):\n    return 2 * (width + height)\n"
    project.write("src/pkg/shapes.py", two)
    project.commit("code from before", trailers={"Tdd": "refactor"})
    project.git("branch", "-f", "main")  # history now: only what follows is judged
    first, _, second = two.partition("\n\n\n")
    project.write("src/pkg/shapes.py", second + "\n\n" + first + "\n")  # formatted: ruff runs too
    project.git("add", "-A")

    assert check(capsys, "--staged")[0] == 0
    project.commit("perimeter first")
    assert check(capsys)[0] == 0

    project.write("src/pkg/shapes.py", second + "\n\n" + first.replace("*", "+") + "\n")
    project.git("add", "-A")
    code, out, _ = check(capsys, "--staged")
    assert code == 1
    assert "implementation changed first, in staged changes" in out


def test_base_only_skip_and_the_report_file(
    project: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project.write("src/pkg/shapes.py", IMPL)
    project.commit("code first")
    head = project.head()
    report = tmp_path / "out" / "report.json"

    assert check(capsys, "--base", head)[0] == 0
    assert check(capsys, "--skip", "tdd")[0] == 0
    code, out, _ = check(capsys, "--only", "tdd", "--role", "qa", "--report", str(report))

    assert code == 1
    assert gate_line(out, "tests") == "tests skip not selected (--only)"
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["schema"] == "tddgate-report/1"
    assert data["passed"] is False
    assert data["head"] == head
    assert data["role"] == "qa"
    gates = {g["name"]: g for g in data["gates"]}
    assert gates["tests"]["status"] == "skip"
    assert gates["tdd"]["findings"][0]["rule"] == "test-not-first"


def test_the_message_file_brings_the_refactor_trailer(
    project: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project.write("tests/test_shapes.py", TEST)
    project.write("src/pkg/shapes.py", IMPL)
    project.commit("area")
    project.git("branch", "-f", "main")  # area and its test are history now
    project.write("src/pkg/shapes.py", IMPL.replace("width * height", "height * width"))
    project.git("add", "-A")
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("Swap factors\n\nTdd: refactor\n", encoding="utf-8")

    assert check(capsys, "--staged")[0] == 1
    assert check(capsys, "--staged", "--message-file", str(message))[0] == 0
    code, _, err = check(capsys, "--staged", "--message-file", str(tmp_path / "missing"))
    assert code == 4
    assert "cannot read the commit message" in err


def test_bad_settings_exit_4_without_a_traceback(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("pyproject.toml", '[tool.tddgate.gates.tdd]\nmode = "orderly"\n')

    code, out, err = check(capsys)

    assert code == 4
    assert out == ""
    assert "unknown value `orderly`" in err
    assert "Traceback" not in err


def test_outside_a_repository_the_gate_says_error_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TDDGATE_BASE", raising=False)

    code, out, _ = check(capsys)

    assert code == 1
    assert gate_line(out, "tdd") == f"tdd error {tmp_path.resolve()} is not inside a git repository"
    assert "fix: run inside a git checkout (`git init`)" in out


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pytest.ini", "[pytest]\ntestpaths = unit integration\n", ["unit", "integration"]),
        ("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["spec"]\n', ["spec"]),
        ("pyproject.toml", "[tool.other]\nx = 1\n", []),
        ("tox.ini", "[pytest]\ntestpaths = checks\n", ["checks"]),
        ("setup.cfg", "[tool:pytest]\ntestpaths = t\n", ["t"]),
        ("setup.cfg", "[metadata]\nname = x\n", None),
    ],
)
def test_testpaths_are_read_without_pytest(
    tmp_path: Path, name: str, text: str, expected: list[str] | None
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")

    assert pytest_testpaths(tmp_path) == expected


def test_the_root_is_the_nearest_configured_folder_inside_the_checkout(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "deep").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "pytest.ini").write_text(
        "[pytest]\ntestpaths = t\n", encoding="utf-8"
    )

    assert find_root(tmp_path / "repo" / "app" / "deep") == (tmp_path / "repo" / "app", ["t"])
    assert find_root(tmp_path / "repo") == (tmp_path / "repo", [])


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    environ.pop("TDDGATE_BASE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_never_imports_pytest(project: GitRepo) -> None:
    code = (
        "import sys\nfrom pytest_tddgate.cli import main\nrc = main(['check', '--staged'])\n"
        "loaded = {'pytest', '_pytest'} & set(sys.modules)\n"
        "print(f'imported {loaded}' if loaded else 'ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.path,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.splitlines()[-1] == "ok"


def test_the_pre_commit_hooks_run_as_declared(project: GitRepo) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}

    assert hooks["tddgate"]["entry"] == "tddgate check --staged"
    assert hooks["tddgate"]["language"] == "python"
    assert hooks["tddgate"]["pass_filenames"] is False
    assert hooks["tddgate-commit-msg"]["stages"] == ["commit-msg"]
    project.write("src/pkg/shapes.py", IMPL)
    project.git("add", "-A")
    done = run_cli(project.path, *hooks["tddgate"]["entry"].split()[1:])
    assert done.returncode == 1
    assert "[test-not-first]" in done.stdout


def test_as_a_git_hook_it_blocks_code_without_a_test(project: GitRepo) -> None:
    """A real `git commit` with the check as its pre-commit hook (git sets
    GIT_INDEX_FILE and friends for hooks; the check must still read the right index)."""
    hook = project.path / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f"#!/bin/sh\nPYTHONPATH={SRC} exec {sys.executable} -m pytest_tddgate.cli check --staged\n",
        encoding="utf-8",
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    project.write("src/pkg/shapes.py", IMPL)
    project.git("add", "-A")

    blocked = git_commit(project, "code first")
    assert blocked.returncode != 0
    assert "[test-not-first]" in blocked.stdout + blocked.stderr

    project.write("tests/test_shapes.py", TEST)
    project.git("add", "-A")
    allowed = git_commit(project, "code with its test")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def git_commit(project: GitRepo, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
