"""What `tddgate check` and the ruff/mypy gates say: every option they name is one the
user can type there, every count reads right, and a project full of old findings is
told how to adopt the gate (issues 17 and 18)."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.cli import main
from tests.tddkit import IMPL, TEST, start_project

if TYPE_CHECKING:
    from pathlib import Path

    from tests.gitrepo import GitRepo

UNUSED = "import os\nimport sys\n"


@pytest.fixture(autouse=True)
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--staged` keeps a copy of the index in the temporary folder: the test's own."""
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
    repo.write("tests/test_shapes.py", TEST)
    repo.write("src/pkg/shapes.py", IMPL)
    repo.commit("area with its test")
    return repo


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def gate_line(out: str, gate: str) -> str:
    return next(" ".join(line.split()) for line in out.splitlines() if line.startswith(gate + " "))


def test_only_and_skip_are_named_as_check_spells_them(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = check(capsys, "--only", "tdd", "--skip", "roles")

    assert gate_line(out, "traceability") == "traceability skip not selected (--only)"
    assert "--tddgate-" not in out
    _, out, _ = check(capsys, "--skip", "roles")
    assert gate_line(out, "roles") == "roles skip skipped (--skip)"


def test_check_runs_ruff_by_default_and_says_how_to_run_mypy(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("src/pkg/extra.py", UNUSED)

    code, out, _ = check(capsys)

    assert code == 1
    assert gate_line(out, "ruff") == "ruff fail 2 violations"
    assert gate_line(out, "mypy") == (
        "mypy skip not in `check_gates` (run it with --only mypy, or add it there)"
    )
    assert gate_line(out, "coverage") == "coverage skip needs a test run (use `pytest --tddgate`)"


def test_check_gates_is_a_setting(project: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    text = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    project.write(
        "pyproject.toml", text + '\n[tool.tddgate]\ncheck_gates = ["traceability", "mypy"]\n'
    )
    project.write("src/pkg/extra.py", UNUSED)

    code, out, _ = check(capsys)

    assert code == 0, out  # ruff's findings are not judged: ruff is not in the list
    assert gate_line(out, "ruff").startswith("ruff skip not in `check_gates`")
    assert gate_line(out, "mypy") == "mypy pass no errors"
    assert gate_line(out, "tdd").startswith("tdd skip not in `check_gates`")


def test_an_unknown_gate_in_check_gates_is_a_usage_error(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    project.write("pyproject.toml", text + '\n[tool.tddgate]\ncheck_gates = ["tdd", "rufff"]\n')

    code, _, err = check(capsys)

    assert code == 4
    assert "check_gates: unknown gate `rufff`" in err
    assert "Traceback" not in err


def test_an_unknown_role_names_the_option_of_check(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("tddgate-roles.yaml", "roles:\n  qa: {owns: ['tests/**']}\n")

    code, _, err = check(capsys, "--role", "nope")

    assert code == 4
    assert "--tddgate-role" not in err
    assert "--role" in err
    assert "unknown role `nope`" in err


def test_an_unknown_role_from_pyproject_names_pyproject(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 18: `role = "dev"` left by `tddgate init`, no `dev` role in the file."""
    text = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    project.write("pyproject.toml", text + '\n[tool.tddgate]\nrole = "dev"\n')
    project.write("tddgate-roles.yaml", "roles:\n  qa: {owns: ['tests/**']}\n")

    code, _, err = check(capsys)

    assert code == 4
    assert "pyproject.toml" in err
    assert "TDDGATE_ROLE" not in err.splitlines()[0]
    assert "--tddgate-role" not in err
    assert "unknown role `dev`" in err


def test_a_staged_summary_speaks_of_the_staged_changes(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.git("branch", "-f", "main")
    project.write("src/pkg/more.py", "def more() -> int:\n    return 1\n")
    project.git("add", "src/pkg/more.py")

    _, out, _ = check(capsys, "--staged")

    assert "uncommitted" not in out
    assert "staged changes" in out


def test_many_findings_without_a_baseline_point_to_tddgate_baseline(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 17: a project with no ruff configuration and many old findings."""
    for n in range(6):
        project.write(f"src/pkg/old{n}.py", UNUSED)

    code, out, _ = check(capsys, "--only", "ruff")

    assert code == 1
    line = gate_line(out, "ruff")
    assert line.startswith("ruff fail 12 violations; to adopt the gate on existing code,")
    assert "`tddgate baseline` records these so that only new ones fail" in line
    assert "no configuration found, so ruff's defaults apply" in line
    main(["baseline"])
    capsys.readouterr()
    project.write("src/pkg/new.py", UNUSED)
    _, out, _ = check(capsys, "--only", "ruff")
    assert gate_line(out, "ruff") == "ruff fail 2 violations (+12 baselined)"


def test_a_few_findings_get_no_baseline_advice(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write("src/pkg/extra.py", UNUSED)

    _, out, _ = check(capsys, "--only", "ruff")

    assert "tddgate baseline" not in gate_line(out, "ruff")


def test_markdown_files_are_not_judged_unless_the_ruff_config_names_them(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """issue 17: recent ruff formats the Python blocks of README.md by default."""
    project.write("README.md", "# Shapes\n\n```python\nx=1\n```\n")

    code, out, _ = check(capsys, "--only", "ruff")

    assert code == 0, out
    text = (project.path / "pyproject.toml").read_text(encoding="utf-8")
    project.write("pyproject.toml", text + '\n[tool.ruff]\nextend-include = ["*.md"]\n')
    code, out, _ = check(capsys, "--only", "ruff")
    assert code == 1
    assert "README.md:4: file is not formatted [unformatted]" in out


def test_check_help_says_which_gates_run(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())

    assert "`check_gates` setting names (default tdd, traceability, roles, ruff;" in out
    assert "mypy only when named there or with --only" in out


def test_an_unknown_gate_in_only_names_the_option_not_pyproject(
    project: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = check(capsys, "--only", "rufff")

    assert code == 4
    assert out == ""
    assert err.startswith("tddgate: --only: unknown gate `rufff`; did you mean `ruff`?")
    assert "pyproject.toml" not in err
