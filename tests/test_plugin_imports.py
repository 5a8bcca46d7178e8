"""What a run imports of the plugin: only what it uses (the fixed cost of a run is
mostly imports, see docs/performance.md). Each run is a fresh process, so that its
`sys.modules` holds only what that run imported."""

from __future__ import annotations

from pathlib import Path

import pytest

import pytest_tddgate
from tests.gitrepo import GitRepo

# the project's conftest: which of the plugin's modules the run imported, once
# everything (report, ledger, learnings) is done
RECORD_MODULES = """
import sys

def pytest_unconfigure(config):
    names = sorted(m for m in sys.modules if m.startswith("pytest_tddgate"))
    (config.rootpath / "modules.txt").write_text("\\n".join(names), encoding="utf-8")
"""
GATE_MODULES = {
    f"pytest_tddgate.gates.{name}"
    for name in ("tests", "tdd", "traceability", "roles", "coverage", "ruff", "mypy")
}
WRITERS = {f"pytest_tddgate.report.{name}" for name in ("html", "sarif", "markdown", "svg")}


@pytest.fixture(autouse=True)
def same_plugin_in_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest subprocesses load the plugin these tests imported, not another copy."""
    monkeypatch.setenv("PYTHONPATH", str(Path(pytest_tddgate.__file__).resolve().parent.parent))


def imported_by(pytester: pytest.Pytester, *args: str) -> set[str]:
    repo = GitRepo(pytester.path)
    repo.write("conftest.py", RECORD_MODULES)
    repo.write("test_a.py", "def test_ok():\n    assert True\n")
    repo.write(".gitignore", ".tddgate/\nmodules.txt\n")
    repo.commit("a test")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == 0, result.stdout.str()
    return set((pytester.path / "modules.txt").read_text(encoding="utf-8").split())


def test_without_the_flag_only_the_entry_point_is_imported(pytester: pytest.Pytester) -> None:
    assert imported_by(pytester) == {
        "pytest_tddgate",
        "pytest_tddgate.plugin",
        "pytest_tddgate.hookspecs",
    }


def test_one_selected_gate_imports_that_gate_only(pytester: pytest.Pytester) -> None:
    modules = imported_by(pytester, "--tddgate", "--tddgate-only=tests")

    assert modules & GATE_MODULES == {"pytest_tddgate.gates.tests"}
    assert not modules & WRITERS  # no Markdown, SARIF or HTML report asked for
    assert "pytest_tddgate.facts.coverage" not in modules
    assert "pytest_tddgate.facts.ledger" in modules  # the run is recorded all the same
    assert (pytester.path / ".tddgate" / "report.json").is_file()


def test_the_coverage_gate_imports_the_measurement(pytester: pytest.Pytester) -> None:
    modules = imported_by(pytester, "--tddgate", "--tddgate-only=coverage")

    assert modules & GATE_MODULES == {"pytest_tddgate.gates.coverage"}
    assert "pytest_tddgate.facts.coverage" in modules


def test_a_report_writer_is_imported_when_its_report_is_asked_for(
    pytester: pytest.Pytester,
) -> None:
    modules = imported_by(pytester, "--tddgate", "--tddgate-only=tests", "--tddgate-sarif=r.sarif")

    assert "pytest_tddgate.report.sarif" in modules
    assert (pytester.path / "r.sarif").is_file()


def test_the_learnings_modules_load_only_when_learnings_are_on(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)  # in CI, learnings are off unless asked for
    without = imported_by(pytester, "--tddgate", "--tddgate-only=tests", "--tddgate-no-learn")
    assert "pytest_tddgate.facts.ledger" in without  # the run is still recorded
    assert not {m for m in without if m.startswith("pytest_tddgate.learn")}
    assert not (pytester.path / "docs" / "expertise.md").exists()

    with_learnings = imported_by(pytester, "--tddgate", "--tddgate-only=tests")
    assert "pytest_tddgate.learn" in with_learnings
