"""`scope = "changed"` keeps coverage.py out of the test process (facts/covremote.py).

A helper process reads the coverage configuration and analyses the probed lines; the
numbers must be the ones the test process would have found itself (pytest-xdist's
workers still measure in their own process, so the two ways meet there).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from pytest_tddgate.facts import Facts, covremote, covreport
from pytest_tddgate.facts.covremote import RemoteMeasurement
from pytest_tddgate.options import Settings
from pytest_tddgate.settings import resolve
from tests.gitrepo import GitRepo
from tests.test_coverage_run import (  # noqa: F401  (an autouse fixture, used by name)
    build,
    run,
    same_plugin_in_subprocesses,
)

# a test that says which of coverage.py's modules the test process holds
LOADED = """\
import sys


def test_coverage_py_is_not_loaded():
    loaded = sorted(m for m in sys.modules if m == "coverage" or m.startswith("coverage."))
    assert loaded == []
"""


def test_the_tests_run_without_coverage_py_and_the_numbers_are_the_same(
    pytester: pytest.Pytester,
) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    (pytester.path / "tests" / "test_loaded.py").write_text(LOADED, encoding="utf-8")

    result, alone = run(pytester, "--tddgate-only=tests,coverage")
    # under xdist each worker measures in its own process, with coverage.py loaded
    _, in_workers = run(pytester, "--tddgate-only=tests,coverage", "-n", "1", "-k", "not loaded")

    result.assert_outcomes(passed=5)  # test_loaded.py among them
    assert alone["details"]["core"] == in_workers["details"]["core"] == "probes"
    assert alone["metrics"] == in_workers["metrics"]
    assert alone["details"]["files"] == in_workers["details"]["files"]
    assert alone["details"]["notes"] == in_workers["details"]["notes"]


# -- in this process: the measurement's own side, with a real helper -------------------

BASE = "def total(items):\n    return sum(items)\n"
CHANGE = "\n\ndef empty(items):\n    if not items:\n        return True\n    return False\n"


def changed_project(tmp_path: Path, name: str, coverage: str = "") -> Settings:
    """`src/<name>.py` with two new functions on a branch; scope `changed`."""
    repo = GitRepo(tmp_path)
    repo.write(
        "pyproject.toml",
        f'{coverage}[tool.tddgate.gates.coverage]\nscope = "changed"\n',
    )
    repo.write(f"src/{name}.py", BASE)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(f"src/{name}.py", BASE + CHANGE)
    return resolve(tmp_path, environ={})


def test_the_probes_measure_and_the_helper_analyses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = changed_project(tmp_path, "remote_shop_a")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))

    measurement = RemoteMeasurement.start(settings, Facts(settings))
    assert measurement is not None
    try:
        module = importlib.import_module("remote_shop_a")  # probed as it is imported
        assert module.empty([1]) is False
        measurement.decide()
        provided = covreport.collect(settings, covreport.Source(remote=measurement), [])
    finally:
        measurement.stop()
        measurement.close()

    assert (measurement.local, measurement.problem) == (False, None)
    summary = provided["coverage_summary"]
    assert (summary.core, summary.scope, summary.measured_by) == ("probes", "changed", "tddgate")
    assert summary.traced == {"src/remote_shop_a.py"}
    assert (summary.error, summary.notes) == (None, ())
    lines = provided["coverage"].files["src/remote_shop_a.py"]
    assert lines.executable == frozenset({1, 2, 5, 6, 7, 8})
    assert lines.executable - lines.executed == {2, 7}  # total() and `return True` never ran
    assert measurement._hook not in sys.meta_path


def test_a_helper_gone_before_the_report_is_a_gate_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = changed_project(tmp_path, "remote_shop_c")
    measurement = RemoteMeasurement.start(settings, Facts(settings))
    assert measurement is not None
    measurement.decide()
    measurement.close()  # as if the helper had died during the tests

    provided = covreport.collect(settings, covreport.Source(remote=measurement), [])

    summary = provided["coverage_summary"]
    assert "coverage" not in provided
    assert summary.scope == "changed" and summary.measured_by == "tddgate"
    assert summary.error is not None and "helper process" in summary.error
    assert measurement._hook not in sys.meta_path


def test_a_plan_that_needs_a_tracer_hands_over_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `patch = ["fork"]` measures forked processes: only coverage.py's tracer can
    settings = changed_project(
        tmp_path, "remote_shop_b", '[tool.coverage.run]\npatch = ["fork"]\n\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    measurement = RemoteMeasurement.start(settings, Facts(settings))
    assert measurement is not None
    taken_over: list[str] = []
    measurement.fallback = lambda: taken_over.append("now")

    module = importlib.import_module("remote_shop_b")  # probed: nobody waits for the plan
    module.empty([])
    lines = measurement.probes.lines()  # what the tracer's measurement inherits
    measurement.decide()
    measurement.stop()

    assert measurement.local and taken_over == ["now"]
    assert measurement.helper is None  # closed
    assert lines[os.path.realpath(tmp_path / "src" / "remote_shop_b.py")] == {1, 5, 6, 7}
    assert measurement._hook not in sys.meta_path


def test_without_pytests_rewriting_a_changed_test_module_waits_for_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # where pytest's assertion rewriting is not found, probes cannot get into the test
    # modules it loads, so the plan must say, before one runs, whether a tracer must
    monkeypatch.setattr(covremote, "rewrites_tests", lambda: False)
    settings = changed_project(tmp_path, "remote_shop_d")
    (tmp_path / "src" / "test_remote_shop_d.py").write_text("X = 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    measurement = RemoteMeasurement.start(settings, Facts(settings))
    assert measurement is not None
    taken_over: list[str] = []
    measurement.fallback = lambda: taken_over.append("now")
    try:
        importlib.import_module("remote_shop_d")
        assert not taken_over  # a changed module: probed, nobody waits
        importlib.import_module("test_remote_shop_d")
        # the answer was read before the test module ran: it is measured (under
        # `src`), so the tracer takes over, in time to see it run
        assert measurement.local and taken_over == ["now"]
    finally:
        measurement.stop()
        measurement.close()
