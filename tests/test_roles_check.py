"""`tddgate check --staged` with role rules: the pre-commit and commit-msg hooks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.cli import main
from tests.rolerepo import start

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo


@pytest.fixture
def project(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(repo.path)
    return start(repo)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--staged", "--only", "roles", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stage_a_test_edit(project: GitRepo) -> None:
    project.write("tests/test_legacy.py", "def test_old():\n    assert 7\n")
    project.git("add", "tests/test_legacy.py")


def test_staged_changes_take_the_environment_role(
    project: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_a_test_edit(project)
    project.write("tests/test_unstaged.py", "x = 1\n")  # not staged: not judged

    monkeypatch.setenv("TDDGATE_ROLE", "qa")
    code, out, _ = check(capsys)
    assert code == 0
    assert re.search(r"^roles +pass +1 change\(s\) in 1 commit\(s\) checked$", out, re.M)

    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    code, out, _ = check(capsys)
    assert code == 1
    assert (
        "tests/test_legacy.py: changed by role `backend` (TDDGATE_ROLE) in "
        "staged changes: forbidden by `never: tests/**` [role-never]"
    ) in out


def test_the_role_option_of_check(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    stage_a_test_edit(project)

    assert check(capsys, "--role", "qa")[0] == 0
    assert check(capsys, "--role", "backend")[0] == 1


def test_the_commit_message_role_trailer_applies_to_the_staged_changes(
    project: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_a_test_edit(project)
    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    message = project.path / ".git" / "COMMIT_EDITMSG"

    message.write_text("Tighten the legacy test\n\nRole: qa\n", encoding="utf-8")
    assert check(capsys, "--message-file", str(message))[0] == 0

    message.write_text("Tighten the legacy test\n\nRole: backend\n", encoding="utf-8")
    code, out, _ = check(capsys, "--message-file", str(message))
    assert code == 1
    assert "by role `backend` (Role: trailer) in staged changes" in out


def test_a_broken_role_file_exits_4(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    project.write("tddgate-roles.yaml", "roles:\n  qa: {owns: tests/**}\n")

    code, _, err = check(capsys, "--role", "qa")

    assert code == 4
    assert err == (
        "tddgate: tddgate-roles.yaml:2:14: roles.qa.owns: must be a list of gitignore-style "
        'globs, got a string\n  fix: write e.g. `owns: ["src/**", "docs/*.md"]`\n'
    )


def test_an_undefined_role_option_exits_4(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = check(capsys, "--role", "QA")

    assert code == 4
    assert err.startswith("tddgate: --role: unknown role `QA`; did you mean `qa`?")
