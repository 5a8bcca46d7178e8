"""`tddgate init`: what it writes, what it never overwrites, and that a run follows."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import pytest_tddgate
from pytest_tddgate.cli import main
from pytest_tddgate.commands import init
from pytest_tddgate.facts.roles import parse_roles
from pytest_tddgate.settings import resolve
from tests.gitrepo import GitRepo

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

CALC = '"""Sums."""\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n'
TEST_CALC = "from calc.calc import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"
PROJECT = """\
[project]
name = "calc"
version = "1.0"

[tool.pytest.ini_options]
pythonpath = ["src"]
"""


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


def run_init(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["init", str(root)])
    out, err = capsys.readouterr()
    return status, out, err


def test_init_writes_settings_roles_matrix_and_gitignore(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", PROJECT)
    repo.write(".gitignore", "__pycache__/")  # no final newline
    status, out, _ = run_init(repo.path, capsys)
    assert status == 0
    text = (repo.path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(PROJECT + "\n[tool.tddgate]\n")
    assert tomllib.loads(text)["tool"]["tddgate"] == {
        "gates": {"tdd": {}, "coverage": {}, "ruff": {}, "mypy": {}},
    }
    assert "# Minimum coverage of lines changed since the base, in percent.\n# new = 80\n" in text
    settings = resolve(repo.path, environ={})  # what init wrote is valid settings
    assert settings.project.role is None
    assert (repo.path / ".gitignore").read_text(encoding="utf-8") == (
        "__pycache__/\n# pytest-tddgate: reports and the run ledger\n.tddgate/\n"
        "# coverage data that `pytest --tddgate` writes\n.coverage\n.coverage.*\n"
    )
    assert (repo.path / "traceability_matrix.json").read_text(encoding="utf-8") == (
        '{\n  "requirements": []\n}\n'
    )
    for expected in (
        "pyproject.toml: added [tool.tddgate], its settings commented out",
        "tddgate-roles.yaml: created",
        "traceability_matrix.json: created",
        ".gitignore: added .tddgate/, .coverage, .coverage.*",
        init.PRE_COMMIT_SNIPPET.strip(),
        "fetch-depth: 0",
        "- run: pytest --tddgate",
    ):
        assert expected in out


def test_running_init_again_changes_nothing(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", PROJECT)
    run_init(repo.path, capsys)
    before = files(repo.path)
    status, out, _ = run_init(repo.path, capsys)
    assert status == 0
    assert files(repo.path) == before
    for expected in (
        "[tool.tddgate] exists, left unchanged",
        "tddgate-roles.yaml: exists, left unchanged",
        "traceability_matrix.json: exists, left unchanged",
        ".gitignore: already ignores .tddgate/ and .coverage",
    ):
        assert expected in out


def test_existing_settings_and_files_are_never_overwritten(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", "[tool.tddgate.gates.coverage]\nnew = 95\n")
    repo.write("tddgate-roles.yaml", "roles: {qa: {}}\n")
    repo.write(".gitignore", "/.tddgate\n/.coverage\n.coverage.*\n")
    before = files(repo.path)
    assert run_init(repo.path, capsys)[0] == 0
    after = files(repo.path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"traceability_matrix.json"}


def test_without_pyproject_a_minimal_one_is_created(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.path / "My Project").mkdir()
    status, out, _ = run_init(repo.path / "My Project", capsys)
    assert status == 0
    data = tomllib.loads((repo.path / "My Project/pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"] == {"name": "my-project", "version": "0.1.0"}
    assert "role" not in data["tool"]["tddgate"]
    assert "pyproject.toml: created, with [tool.tddgate] and its settings commented out" in out


def test_init_writes_no_catch_all_role_and_no_active_role_line(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 18: `dev: {}` plus `role = "dev"` let any commit without a trailer
    change anything; both are now written only as explained comments."""
    repo.write("pyproject.toml", PROJECT)
    assert run_init(repo.path, capsys)[0] == 0
    text = (repo.path / "pyproject.toml").read_text(encoding="utf-8")
    assert '\n# role = "backend"\n' in text
    assert "role" not in tomllib.loads(text)["tool"]["tddgate"]
    role_file = (repo.path / "tddgate-roles.yaml").read_text(encoding="utf-8")
    rules = parse_roles(role_file, "tddgate-roles.yaml")
    assert sorted(rules.roles) == ["backend", "qa"]
    assert all(r.owns is not None or r.never.patterns for r in rules.roles.values())
    assert "  # dev: {}\n" in role_file


def test_after_init_a_change_without_a_role_fails_until_one_is_given(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE"):
        monkeypatch.delenv(name, raising=False)
    repo.write("pyproject.toml", PROJECT)
    repo.commit("project")
    assert run_init(repo.path, capsys)[0] == 0
    monkeypatch.chdir(repo.path)

    assert main(["check"]) == 1
    assert "no role, because no --role / TDDGATE_ROLE is set" in capsys.readouterr().out
    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    assert main(["check"]) == 0, capsys.readouterr().out


def test_outside_a_git_repository_init_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_init(tmp_path, capsys)
    assert status == 4
    assert f"tddgate: {tmp_path} is not inside a git repository" in err
    assert "fix: run `git init` first" in err
    assert list(tmp_path.iterdir()) == []


def test_a_broken_pyproject_exits_4_and_is_left_alone(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", "[project\nname = 1\n")
    status, _, err = run_init(repo.path, capsys)
    assert status == 4
    assert "pyproject.toml:1" in err and "not valid TOML" in err
    assert (repo.path / "pyproject.toml").read_text(encoding="utf-8") == "[project\nname = 1\n"


def test_init_finds_the_project_from_a_subfolder(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", PROJECT)
    repo.write("src/calc/__init__.py", "")
    monkeypatch.chdir(repo.path / "src" / "calc")
    assert main(["init"]) == 0
    assert f"tddgate init in {repo.path}:" in capsys.readouterr().out
    assert (repo.path / "tddgate-roles.yaml").is_file()


def test_pytest_tddgate_runs_after_init(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", PROJECT)
    repo.write("src/calc/__init__.py", "")
    repo.write("tests/test_calc.py", TEST_CALC)
    repo.commit("Test add")
    repo.write("src/calc/calc.py", CALC)
    repo.commit("Add add")
    assert run_init(pytester.path, capsys)[0] == 0
    # the installed plugin in a fresh interpreter, as a user runs it
    source = str(Path(pytest_tddgate.__file__).resolve().parents[1])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])
    )
    for name in ("TDDGATE_BASE", "GITHUB_ACTIONS", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TDDGATE_ROLE", "backend")  # init's files are uncommitted changes
    result = pytester.run(sys.executable, "-m", "pytest", "--tddgate", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["tests * pass * 1 passed", "tddgate: all gates passed (report: .tddgate/report.json)"]
    )
    # what the run wrote (.tddgate/, .coverage) is ignored: only init's files are new
    # (`stdout` and `stderr` are pytester.run's captures)
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    changed = {line[3:] for line in status.splitlines()} - {"stdout", "stderr"}
    assert sorted(changed) == [
        ".gitignore",
        "pyproject.toml",
        "tddgate-roles.yaml",
        "traceability_matrix.json",
    ]
    assert (pytester.path / ".coverage").is_file()


def test_the_guides_show_the_snippets_init_prints() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    assert init.WORKFLOW_SNIPPET in (docs / "github-actions.md").read_text(encoding="utf-8")
    assert init.PRE_COMMIT_SNIPPET in (docs / "pre-commit.md").read_text(encoding="utf-8")


def test_the_pre_commit_snippet_pins_no_release_that_does_not_exist() -> None:
    """issue 18: `rev: v0.1.0` named a tag the repository does not have; the snippet
    is a local hook, which runs the project's own tddgate, ruff and mypy."""
    assert "rev:" not in init.PRE_COMMIT_SNIPPET
    assert "repo: local" in init.PRE_COMMIT_SNIPPET
    assert "entry: tddgate check --staged" in init.PRE_COMMIT_SNIPPET
    guide = (Path(__file__).resolve().parent.parent / "docs" / "pre-commit.md").read_text("utf-8")
    assert "rev: v" not in guide


def test_files_named_in_existing_settings_are_the_ones_created(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", '[tool.tddgate]\nmatrix = "docs/reqs.json"\nroles = "roles.yml"\n')
    status, out, _ = run_init(repo.path, capsys)
    assert status == 0
    assert "docs/reqs.json: created" in out and "roles.yml: created" in out
    assert (repo.path / "docs/reqs.json").is_file()
    assert not (repo.path / "traceability_matrix.json").exists()


def test_broken_settings_exit_4_before_anything_is_written(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("pyproject.toml", "[tool.tddgate]\nmatrx = 'm.json'\n")
    status, _, err = run_init(repo.path, capsys)
    assert status == 4
    assert "unknown key `matrx`; did you mean `matrix`?" in err
    assert sorted(p.name for p in repo.path.iterdir()) == [".git", "pyproject.toml"]
