"""Plain pytest feeds the guard where it is set up, and stays plain pytest elsewhere."""

from __future__ import annotations

import json

import pytest

FAILING = "def test_red():\n    assert 1 == 2\n\n\ndef test_green():\n    pass\n"


def test_a_plain_run_records_outcomes_where_the_guard_is_set_up(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / ".tddgate" / "guard").mkdir(parents=True)
    pytester.makepyfile(test_shop=FAILING)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    record = json.loads((pytester.path / ".tddgate/guard/outcomes.json").read_text())
    assert "test_shop.py::test_red" in json.dumps(record)


def test_a_plain_run_writes_nothing_without_the_guard(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_shop=FAILING)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    assert not (pytester.path / ".tddgate").exists()
