"""QA M1: a ruff rule without a code (preview rules: ruff's JSON gives `"code": null`
and the rule's `name`) is labelled by its name, never as a syntax error; the baseline
and waivers key on that name, apart from real syntax errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pytest_tddgate import cli
from tests.tooltesting import gate, make_project

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

PREVIEW = """\
[tool.ruff]
lint.preview = true
lint.select = ["ALL"]  # a rule without a code has no prefix to select it by
lint.ignore = ["D", "INP", "ANN", "CPY"]
"""
AUTOUSE = (
    "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef _clock() -> None:\n    return None\n"
)
BROKEN = "def (:\n"
WAIVER = """\
[[tool.tddgate.waivers]]
gate = "ruff"
rule = "pytest-fixture-autouse"
reason = "the clock fixture must wrap every test"
owner = "qa"
"""


def project(pytester: pytest.Pytester, config: str = "") -> Path:
    return make_project(
        pytester,
        {"tests/conftest.py": AUTOUSE, "src/app/broken.py": BROKEN},
        PREVIEW + config,
    )


def findings(root: Path) -> list[tuple[str, str, bool]]:
    return sorted(
        (f["path"], f["rule"], f["waiver"] is not None) for f in gate(root, "ruff")["findings"]
    )


def test_a_rule_without_a_code_is_named_not_called_a_syntax_error(
    pytester: pytest.Pytester,
) -> None:
    project(pytester)
    result = pytester.runpytest("--tddgate", "--tddgate-only=ruff", "-p", "no:randomly")

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*tests/conftest.py:4: Avoid using `autouse=True`*?pytest-fixture-autouse?"]
    )
    # a real syntax error keeps its label
    result.stdout.fnmatch_lines(["*src/app/broken.py:1: *?invalid-syntax?"])
    assert "conftest.py:4: Avoid using `autouse=True`* [invalid-syntax]" not in result.stdout.str()


def test_the_baseline_and_waivers_key_on_the_rule_name(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(pytester)
    assert cli.main(["baseline", "--root", str(root), "--gate", "ruff"]) == 0
    recorded = json.loads((root / ".tddgate-baseline.json").read_text("utf-8"))
    rules = sorted({(e["path"], e["rule"]) for e in recorded["findings"]})
    assert ("tests/conftest.py", "pytest-fixture-autouse") in rules
    assert ("tests/conftest.py", "invalid-syntax") not in rules
    capsys.readouterr()

    root.joinpath("pyproject.toml").write_text(
        root.joinpath("pyproject.toml").read_text() + WAIVER, encoding="utf-8"
    )
    root.joinpath(".tddgate-baseline.json").unlink()
    pytester.runpytest("--tddgate", "--tddgate-only=ruff", "-p", "no:randomly")

    # the waiver covers the named rule, not the syntax errors
    assert ("tests/conftest.py", "pytest-fixture-autouse", True) in findings(root)
    assert all(not waived for path, _, waived in findings(root) if path == "src/app/broken.py")
