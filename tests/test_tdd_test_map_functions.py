"""`.tddgate/test-map.json` (what `tddgate check` maps by `coverage`) links a test file
to an implementation file only when its tests ran a line inside one of the file's
functions: the lines a module runs when imported run in whichever test imports it
first, so they would make the links depend on the test order."""

from __future__ import annotations

import json

import pytest

from tests.gitrepo import GitRepo

PYPROJECT = """\
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
source = ["src"]
"""
MODULE = "RATE = 2\n\n\ndef double(x):\n    return x * RATE\n"
# each imports the module inside its test: the first to run imports it
FIRST = "def test_imports():\n    import shop.rates\n\n    assert shop.rates.RATE == 2\n"
SECOND = "def test_calls():\n    from shop.rates import double\n\n    assert double(3) == 6\n"


def _test_map(pytester: pytest.Pytester) -> dict[str, list[str]]:
    repo = GitRepo(pytester.path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", ".coverage\n.tddgate/\n")
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/rates.py", MODULE)
    repo.write("tests/test_a_imports.py", FIRST)
    repo.write("tests/test_b_calls.py", SECOND)
    repo.commit("rates")
    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tests,coverage", "-p", "no:cacheprovider", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=2)
    document = json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))
    tests: dict[str, list[str]] = document["tests"]
    return tests


def test_a_test_that_only_imported_a_module_is_not_linked_to_it(
    pytester: pytest.Pytester,
) -> None:
    tests = _test_map(pytester)

    assert tests.get("tests/test_b_calls.py") == ["src/shop/rates.py"]
    assert "src/shop/rates.py" not in tests.get("tests/test_a_imports.py", [])
