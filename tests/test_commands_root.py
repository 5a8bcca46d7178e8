"""How the `tddgate` subcommands find the project: as pytest and `tddgate check` do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.commands import project_settings
from pytest_tddgate.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path


def test_the_project_is_the_folder_of_pytests_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app" / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "app" / "tox.ini").write_text("[pytest]\ntestpaths = checks\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "app" / "tests" / "unit")

    settings = project_settings(None)

    assert settings.root == (tmp_path / "app").resolve()
    assert settings.test_roots == ("checks",)  # its testpaths


def test_a_root_that_is_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        project_settings(tmp_path / "missing")

    assert "is not a folder" in caught.value.render()
    assert "--root" in caught.value.render()
