"""`tddgate check --staged` judges ruff and mypy on the index, as the commit will hold it.

Real ruff and mypy on real git repositories: the working tree and the index differ on
purpose in every test, and the verdict must follow the index.
"""

from __future__ import annotations

import fcntl
import json
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.cli import main
from tests.tddkit import IMPL, TEST, start_project

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

SRC = Path(__file__).resolve().parent.parent / "src"

UNUSED_IMPORT = "import os\n\n\ndef f() -> int:\n    return 1\n"
CLEAN = "def f() -> int:\n    return 1\n"
WRONG_TYPE = 'def f() -> int:\n    return "one"\n'
MYPY_CONFIG = '\n[tool.mypy]\nfiles = ["src"]\n'


@pytest.fixture(autouse=True)
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The copies of the index go here, not into the machine's shared /tmp."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))  # and for the hooks' processes
    return folder


@pytest.fixture
def project(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE", "NO_COLOR", "FORCE_COLOR", "MYPY_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(repo.path)
    start_project(repo, extra=MYPY_CONFIG)
    repo.write("tests/test_shapes.py", TEST)
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("area with its test")
    return repo


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


def gate_line(out: str, gate: str) -> str:
    return next(" ".join(line.split()) for line in out.splitlines() if line.startswith(gate + " "))


def stage_then_edit(project: GitRepo, path: str, staged: str, worktree: str) -> None:
    project.write(path, staged)
    project.git("add", path)
    project.write(path, worktree)


def test_ruff_judges_the_staged_file_not_the_working_tree(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reproduction of issue 18: the index has F401, the working tree does not."""
    stage_then_edit(project, "src/pkg/m.py", UNUSED_IMPORT, CLEAN)

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 1
    assert gate_line(out, "ruff") == "ruff fail 1 violation"
    assert "  src/pkg/m.py:1: `os` imported but unused [F401]" in out
    assert check(capsys, "--only", "ruff")[0] == 0  # the working tree is clean


def test_a_fixed_staged_file_passes_though_the_working_tree_is_dirty(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    stage_then_edit(project, "src/pkg/m.py", CLEAN, "x=1\n" + UNUSED_IMPORT)
    project.write("src/pkg/untracked.py", UNUSED_IMPORT)  # not part of the commit

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 0, out
    assert gate_line(out, "ruff") == "ruff pass no violations, all files formatted"


def test_the_format_check_reads_the_staged_content(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    stage_then_edit(project, "src/pkg/m.py", "def f( ) -> int:\n    return 1\n", CLEAN)

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 1
    assert gate_line(out, "ruff") == "ruff fail 1 unformatted file"
    assert "  src/pkg/m.py:1: file is not formatted [unformatted]" in out


def test_the_staged_ruff_configuration_applies(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commit's own configuration decides: a rule selected in the staged
    pyproject.toml applies even before the working tree's copy says so."""
    text = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    stage_then_edit(
        project, "pyproject.toml", text + '\n[tool.ruff.lint]\nselect = ["T20"]\n', text
    )
    stage_then_edit(project, "src/pkg/m.py", 'def f() -> None:\n    print("x")\n', CLEAN)

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 1
    assert "src/pkg/m.py:2: `print` found [T201]" in out


def test_mypy_judges_the_staged_file(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    stage_then_edit(project, "src/pkg/m.py", WRONG_TYPE, CLEAN)

    code, out = check(capsys, "--staged", "--only", "mypy")

    assert code == 1, out
    assert gate_line(out, "mypy") == "mypy fail 1 error"
    assert "  src/pkg/m.py:2: Incompatible return value type" in out
    assert check(capsys, "--only", "mypy")[0] == 0
    # and the other way round: staged right, working tree wrong
    stage_then_edit(project, "src/pkg/m.py", CLEAN, WRONG_TYPE)
    assert check(capsys, "--staged", "--only", "mypy")[0] == 0


def test_paths_stay_relative_to_a_project_in_a_subfolder(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A monorepo: the project root is `app/`, not the top of the checkout."""
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE"):
        monkeypatch.delenv(name, raising=False)
    repo.write("app/pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    repo.write("app/src/pkg/__init__.py", "")
    repo.commit("app skeleton")
    monkeypatch.chdir(repo.path / "app")
    stage_then_edit(repo, "app/src/pkg/m.py", UNUSED_IMPORT, CLEAN)

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 1
    assert "  src/pkg/m.py:1: `os` imported but unused [F401]" in out


def test_the_json_report_names_project_paths_not_the_temporary_copy(
    project: GitRepo, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stage_then_edit(project, "src/pkg/m.py", UNUSED_IMPORT, CLEAN)
    report = tmp_path / "report.json"

    check(capsys, "--staged", "--only", "ruff", "--report", str(report))

    data = json.loads(report.read_text(encoding="utf-8"))
    ruff = next(g for g in data["gates"] if g["name"] == "ruff")
    assert [f["path"] for f in ruff["findings"]] == ["src/pkg/m.py"]
    assert "tddgate-staged" not in report.read_text(encoding="utf-8")


def test_as_a_git_hook_it_judges_what_the_commit_records(project: GitRepo) -> None:
    """`git commit -a` stages into a temporary index (GIT_INDEX_FILE) just before the
    hook runs: the copy must come from that index, not from the usual one."""
    hook = project.path / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f"#!/bin/sh\nPYTHONPATH={SRC} exec {sys.executable} -m pytest_tddgate.cli "
        "check --staged --only ruff\n",
        encoding="utf-8",
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    stage_then_edit(project, "src/pkg/m.py", CLEAN, UNUSED_IMPORT)

    blocked = git_commit(project, "-a", "-m", "with the edit")
    assert blocked.returncode != 0
    assert "`os` imported but unused [F401]" in blocked.stdout + blocked.stderr

    allowed = git_commit(project, "-m", "the staged content only")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def git_commit(project: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-q", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_kept_copy_follows_the_index_from_run_to_run(
    project: GitRepo, capsys: pytest.CaptureFixture[str], temporary_folder: Path
) -> None:
    """The copy is kept between runs and only changed entries are written again:
    each run must still see exactly the index of the moment."""
    project.write("src/pkg/m.py", UNUSED_IMPORT)
    project.git("add", "src/pkg/m.py")
    assert check(capsys, "--staged", "--only", "ruff")[0] == 1
    (kept,) = temporary_folder.glob("tddgate-staged-*")
    shapes = kept / "src/pkg/shapes.py"
    written = shapes.stat().st_mtime_ns

    project.write("src/pkg/m.py", CLEAN)
    project.git("add", "src/pkg/m.py")
    assert check(capsys, "--staged", "--only", "ruff")[0] == 0
    assert shapes.stat().st_mtime_ns == written  # unchanged: not written again

    project.write("src/pkg/n.py", UNUSED_IMPORT)
    project.git("add", "src/pkg/n.py")
    assert check(capsys, "--staged", "--only", "ruff")[0] == 1
    project.git("rm", "-q", "--cached", "src/pkg/n.py")  # still in the working tree
    code, out = check(capsys, "--staged", "--only", "ruff")
    assert code == 0, out
    assert not (kept / "src/pkg/n.py").exists()


def test_a_copy_in_use_by_another_run_is_not_shared(
    project: GitRepo, capsys: pytest.CaptureFixture[str], temporary_folder: Path
) -> None:
    """Two hooks at once (two worktrees of one agent, say): the second writes a copy
    of its own instead of changing the files the first one's tools read."""
    check(capsys, "--staged", "--only", "ruff")
    (kept,) = temporary_folder.glob("tddgate-staged-*")
    stage_then_edit(project, "src/pkg/m.py", UNUSED_IMPORT, CLEAN)
    with (kept / ".tddgate-lock").open("ab") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 1
    assert "  src/pkg/m.py:1: `os` imported but unused [F401]" in out
    assert not (kept / "src/pkg/m.py").exists()  # the held copy was left alone


def test_nothing_staged_for_the_tools_is_a_pass_not_an_error(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A project in a subfolder whose Python files are not tracked yet."""
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE"):
        monkeypatch.delenv(name, raising=False)
    repo.write("README.md", "# the top\n")
    repo.commit("readme")
    (repo.path / "app").mkdir()
    (repo.path / "app" / "pyproject.toml").write_text("[tool.ruff]\n", encoding="utf-8")
    monkeypatch.chdir(repo.path / "app")

    code, out = check(capsys, "--staged", "--only", "ruff")

    assert code == 0, out
    assert gate_line(out, "ruff") == "ruff pass no violations, all files formatted"
