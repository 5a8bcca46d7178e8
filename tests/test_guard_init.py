"""`tddgate init --agent claude` merges the guard's hooks into .claude/settings.json
without touching anyone else's, and twice changes nothing; pytest runs record the
outcomes the guard reads only where the guard is set up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from tests.guardkit import make_project

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

THEIRS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm test)"]},
    "env": {"PYTEST_ADDOPTS": "-x"},
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "./audit.sh"}]},
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
}


def _init(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "init", "--agent", "claude", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("TDDGATE_")},
    )


def test_init_merges_the_hooks_and_keeps_everyone_elses(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    settings = root / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(THEIRS), encoding="utf-8")
    done = _init(root)
    assert done.returncode == 0, done.stderr
    assert ".claude/settings.json: added SessionStart, UserPromptSubmit" in done.stdout
    assert "TDDGATE_ROLE" in done.stdout
    data = json.loads(settings.read_text(encoding="utf-8"))
    assert data["permissions"] == THEIRS["permissions"]
    pre = data["hooks"]["PreToolUse"]
    assert pre[0] == THEIRS["hooks"]["PreToolUse"][0]  # theirs first, unchanged
    assert [g["matcher"] for g in pre] == ["Bash", "Write|Edit|MultiEdit|NotebookEdit", "Bash"]
    assert data["hooks"]["Stop"][0] == THEIRS["hooks"]["Stop"][0]
    assert data["hooks"]["Stop"][1]["hooks"] == [{"type": "command", "command": "tddgate guard"}]
    assert data["env"]["PYTEST_ADDOPTS"] == "-x -p pytest_tddgate.guard.record"
    assert set(data["hooks"]) >= {"SessionStart", "UserPromptSubmit", "PostToolUse", "SubagentStop"}


def test_init_twice_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    assert _init(root).returncode == 0
    first = (root / ".claude/settings.json").read_bytes()
    again = _init(root)
    assert again.returncode == 0
    assert "already there (unchanged)" in again.stdout
    assert (root / ".claude/settings.json").read_bytes() == first


def test_a_broken_agent_settings_file_is_named_and_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    settings = root / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text("{oops", encoding="utf-8")
    done = _init(root)
    assert done.returncode == 4
    assert ".claude/settings.json" in done.stderr
    assert "cannot be read as JSON" in done.stderr
    assert "Traceback" not in done.stderr
    assert settings.read_text(encoding="utf-8") == "{oops"


TESTS = """
def test_ok():
    assert True

def test_red():
    assert 1 == 2
"""


def test_pytest_records_outcomes_where_the_guard_is_set_up(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=TESTS)
    (pytester.path / ".tddgate/guard").mkdir(parents=True)
    result = pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record")
    result.assert_outcomes(passed=1, failed=1)
    data = json.loads((pytester.path / ".tddgate/guard/outcomes.json").read_text())
    assert data["files"]["test_shop.py"]["failed"] == ["test_shop.py::test_red"]


def test_a_module_that_fails_to_import_is_recorded_red(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_tax="from shop.tax import vat\n\ndef test_vat():\n    assert vat(1)\n")
    (pytester.path / ".tddgate/guard").mkdir(parents=True)
    pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record")
    data = json.loads((pytester.path / ".tddgate/guard/outcomes.json").read_text())
    assert data["files"]["test_tax.py"]["failed"] == ["test_tax.py"]


def test_plain_pytest_writes_nothing_without_the_guard(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=TESTS)
    result = pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record")
    result.assert_outcomes(passed=1, failed=1)
    assert not (pytester.path / ".tddgate").exists()


def test_a_partial_run_keeps_the_failures_it_did_not_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=TESTS)
    (pytester.path / ".tddgate/guard").mkdir(parents=True)
    pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record")
    pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record", "test_shop.py::test_ok")
    data = json.loads((pytester.path / ".tddgate/guard/outcomes.json").read_text())
    assert data["files"]["test_shop.py"]["failed"] == ["test_shop.py::test_red"]


def test_a_module_that_imports_again_is_no_longer_red(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_tax="from tax import vat\n\ndef test_vat():\n    assert vat(1)\n")
    (pytester.path / ".tddgate/guard").mkdir(parents=True)
    pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record")
    pytester.makepyfile(tax="def vat(price):\n    return price\n")
    pytester.runpytest_subprocess("-p", "pytest_tddgate.guard.record", "-p", "no:cacheprovider")
    data = json.loads((pytester.path / ".tddgate/guard/outcomes.json").read_text())
    assert data["files"]["test_tax.py"]["failed"] == []
