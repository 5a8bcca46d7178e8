"""The coverage helper process (facts/covhelper.py), spoken to as the test process
speaks to it: the project's configuration in, the plan out; the probed lines in, the
analysis out, with the project's own exclusions."""

from __future__ import annotations

import io
import os
import pickle
import sys
from pathlib import Path

import pytest

from pytest_tddgate.facts import covhelper
from pytest_tddgate.proc import Exchange

SHOP = "def total(items):\n    if not items:\n        return 0\n    return sum(items)\n"


def test_the_coverage_helper_plans_and_analyses(tmp_path: Path) -> None:
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "cart.py").write_text(SHOP, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.coverage.report]\nexclude_lines = ["if not items"]\n', encoding="utf-8"
    )
    cart = os.path.realpath(tmp_path / "src" / "shop" / "cart.py")
    helper = Exchange("pytest_tddgate.facts.covhelper", cwd=tmp_path)
    try:
        helper.send((str(tmp_path), ("src",), True))
        helper.send({"src/shop/cart.py": frozenset({1, 2, 3, 4}), "README.md": frozenset({1})})
        kind, plan, process_config = helper.receive(timeout=60)
        helper.send({cart: {1, 4}})  # the lines the probes saw
        report = helper.receive(timeout=60)
    finally:
        helper.close()

    assert kind == "plan" and plan.probes and process_config is None
    assert plan.options["run:include"] == [cart]  # the changed Python file, nothing else
    _, summary, files, _ = report
    # the project's own exclusion holds: `if not items:` and its body are not statements
    assert files["src/shop/cart.py"].executable == frozenset({1, 4})
    assert files["src/shop/cart.py"].executed == frozenset({1, 4})
    assert (summary.scope, summary.statements, summary.missing) == ("changed", 2, 0)


def test_the_helper_reports_a_configuration_coverage_py_rejects(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.coverage.report]\nexclude_lines = ["("]\n', encoding="utf-8"
    )
    helper = Exchange("pytest_tddgate.facts.covhelper", cwd=tmp_path)
    try:
        helper.send((str(tmp_path), (), True))
        helper.send({})
        kind, message, fix = helper.receive(timeout=60)
    finally:
        helper.close()

    assert kind == "error"
    assert "coverage.py cannot use the project's coverage configuration" in message
    assert "[tool.coverage]" in fix


def test_the_conversation_in_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same conversation with `serve` called here (what the helper process runs)."""
    (tmp_path / "shop.py").write_text(SHOP, encoding="utf-8")
    shop = os.path.realpath(tmp_path / "shop.py")
    asked = io.BytesIO()
    for message in (
        (str(tmp_path), (".",), True),
        {"shop.py": frozenset({1, 2, 3, 4})},
        {shop: {1, 2, 3}},
    ):
        pickle.dump(message, asked)
    answers = io.BytesIO()
    out = io.TextIOWrapper(answers)  # kept: `serve` replaces sys.stdout, and a dropped
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(asked.getvalue())))
    monkeypatch.setattr(sys, "stdout", out)  # wrapper would close `answers`

    covhelper.serve()

    answers = io.BytesIO(answers.getvalue())
    kind, plan, _ = pickle.load(answers)
    _, summary, files, notes = pickle.load(answers)
    assert kind == "plan" and plan.options["run:include"] == [shop]
    assert files["shop.py"].executable - files["shop.py"].executed == {4}
    assert (summary.statements, summary.missing, notes) == (4, 1, [])
