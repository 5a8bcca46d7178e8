"""Paths from the project's files stay inside the project.

A checkout under judgement chooses its settings and its files. Neither may make
pytest-tddgate read or write outside the project folder: not a path option with
`..` or an absolute path, not one that leads out through a symbolic link (also the
default ones, such as `.tddgate/` or `docs/` being a link), not a matrix entry.
Each attempt is exit 4 naming the key; nothing is written outside.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts.matrix import load
from pytest_tddgate.settings import ProjectOptions, resolve

PATH_KEYS = [
    name for name, f in ProjectOptions.__dataclass_fields__.items() if f.metadata.get("path")
]


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """(project, a folder outside it holding a file worth stealing)."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (outside / "secret.json").write_text('{"requirements": []}', encoding="utf-8")
    return project, outside


def settings_error(project: Path, body: str) -> UsageError:
    (project / "pyproject.toml").write_text("[tool.tddgate]\n" + body, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        resolve(project, environ={})
    return info.value


@pytest.mark.parametrize("key", PATH_KEYS)
@pytest.mark.parametrize(
    "value",
    ["../outside/secret.json", "/etc/passwd", "a/../../outside/x", "link/secret.json", "loop/x"],
)
def test_a_path_option_cannot_lead_outside(layout: tuple[Path, Path], key: str, value: str) -> None:
    project, outside = layout
    (project / "link").symlink_to(outside)
    (project / "loop").symlink_to(project / "loop")

    error = settings_error(project, f'{key} = "{value}"\n')

    assert error.key == f"[tool.tddgate] {key}"
    assert "pyproject.toml" in error.render()


@pytest.mark.parametrize(
    ("link", "key"),
    [
        (".tddgate", "report"),
        ("docs", "expertise"),
        ("traceability_matrix.json", "matrix"),
        ("tddgate-roles.yaml", "roles"),
        (".tddgate-baseline.json", "baseline"),
    ],
)
def test_a_default_path_that_is_a_link_outside_is_refused(
    layout: tuple[Path, Path], link: str, key: str
) -> None:
    """The checkout decides what `.tddgate` or `docs` is: a link out must not carry
    the report, the ledger or the learnings (or a read of the matrix) outside."""
    project, outside = layout
    target = outside / "secret.json" if "." in link.strip(".") else outside
    (project / link).symlink_to(target)

    error = settings_error(project, "")

    assert error.key is not None and error.key.startswith("[tool.tddgate] ")
    assert "outside the project folder" in error.message
    assert "symbolic link" in error.message


def test_a_link_that_stays_inside_is_fine(layout: tuple[Path, Path]) -> None:
    project, _ = layout
    (project / "state").mkdir()
    (project / ".tddgate").symlink_to(project / "state")
    (project / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")

    settings = resolve(project, environ={})

    assert settings.path(settings.project.report) == project / "state" / "report.json"


@pytest.mark.parametrize(
    "entry", ["../outside/secret.json", "/etc/passwd", "C:/Windows/x.py", "tests/../../x.py"]
)
def test_matrix_entries_cannot_name_files_outside(tmp_path: Path, entry: str) -> None:
    matrix = tmp_path / "traceability_matrix.json"
    matrix.write_text(f'[{{"id": "R-1", "tests": ["{entry}"], "code": ["{entry}"]}}]', "utf-8")

    with pytest.raises(UsageError) as info:
        load(matrix, tmp_path)

    assert "outside the repository" in info.value.message


def test_pytest_tddgate_refuses_a_state_folder_linked_outside(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    pytester.makepyprojecttoml("[tool.tddgate]\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    (pytester.path / ".tddgate").symlink_to(outside)

    result = pytester.runpytest("--tddgate", "-p", "no:cacheprovider")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*report*outside the project folder*"])
    assert list(outside.iterdir()) == []
