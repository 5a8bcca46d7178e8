"""Docs that are generated must match the code they describe."""

from __future__ import annotations

from pathlib import Path

from pytest_tddgate import refdoc

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == refdoc.render(), (
        "docs/configuration.md is stale: run `python -m pytest_tddgate.refdoc > "
        "docs/configuration.md`"
    )


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line.strip() for line in readme.splitlines() if line.startswith("pytest "))
    assert command in ci
