"""Orphan code and per-requirement coverage from a real per-test coverage measurement.

The session's own measurement is another module's job; here pytest-cov measures a
real run with `--cov-context=test`, and its data file becomes the `CoverageFacts`
the gate reads, so the gate is checked against real context names and line sets.
"""

from __future__ import annotations

import json
from pathlib import Path

import coverage
import pytest

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts, testrun
from pytest_tddgate.facts.covdata import CoverageFacts, FileCoverage
from pytest_tddgate.gates.traceability import TraceabilityGate
from pytest_tddgate.model import GateResult, Verdict
from pytest_tddgate.settings import resolve

LOGIN = "def login(name):\n    if not name:\n        return False\n    return True\n"
UTIL = "def slugify(text):\n    return text.lower()\n\n\ndef unused():\n    return 0\n"
TESTS = """\
import pytest

from app import login, util


@pytest.mark.req("REQ-1")
def test_login():
    assert login.login("ann")


@pytest.mark.req("REQ-2")
def test_slug():
    assert util.slugify("A") == "a"
"""


def measured(root: Path) -> CoverageFacts:
    """CoverageFacts from the `.coverage` file that pytest-cov wrote."""
    cov = coverage.Coverage(data_file=str(root / ".coverage"))
    cov.load()
    data = cov.get_data()
    files: dict[str, FileCoverage] = {}
    contexts: dict[str, dict[str, frozenset[int]]] = {}
    for absolute in data.measured_files():
        rel = Path(absolute).relative_to(root).as_posix()
        executable = frozenset(cov.analysis2(absolute)[1])
        files[rel] = FileCoverage(rel, executable, frozenset(data.lines(absolute) or ()))
        for line, names in data.contexts_by_lineno(absolute).items():
            for name in names:
                contexts.setdefault(name, {}).setdefault(rel, frozenset())
                contexts[name][rel] |= {line}
    return CoverageFacts(files, contexts)


def evaluate(root: Path, cov: CoverageFacts) -> GateResult:
    settings = resolve(root)
    outcomes = (
        testrun.TestOutcome("tests/test_app.py::test_login", "passed", requirements=("REQ-1",)),
        testrun.TestOutcome("tests/test_app.py::test_slug", "passed", requirements=("REQ-2",)),
    )
    facts = Facts(settings, test_run=testrun.TestRun.build(outcomes, (), 0, False))
    facts.provided["coverage"] = cov
    (result,) = engine.evaluate([TraceabilityGate()], settings, facts)
    return result


def test_orphans_and_coverage_from_real_contexts(pytester: pytest.Pytester) -> None:
    pytest.importorskip("pytest_cov")
    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
        '[tool.tddgate]\nsource = ["src"]\n'
    )
    for name, text in {
        "src/app/__init__.py": "",
        "src/app/login.py": LOGIN,
        "src/app/util.py": UTIL,
        "tests/test_app.py": TESTS,
    }.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    (pytester.path / "traceability_matrix.json").write_text(
        json.dumps(
            {
                "requirements": [
                    # REQ-1 claims util.py too, which its test never runs: orphan code
                    {"id": "REQ-1", "code": ["src/app/login.py", "src/app/util.py"]},
                    {"id": "REQ-2", "code": ["src/app/util.py"]},
                ]
            }
        )
    )
    run = pytester.runpytest_subprocess("--cov=src", "--cov-context=test", "-p", "no:cacheprovider")
    assert run.ret == 0
    result = evaluate(pytester.path, measured(pytester.path))
    assert result.status is Verdict.FAIL
    assert [(f.rule, f.requirement, f.path) for f in result.findings] == [
        ("orphan-code", "REQ-1", "src/app/util.py"),
    ]
    percents = {r["id"]: r["coverage_percent"] for r in result.details["requirements"]}
    # `def` lines run at import, outside any test, and count for everyone. REQ-1:
    # login.py 3 of 4 statements (not `return False`), util.py only its 2 `def`s of 4;
    # REQ-2: util.py 3 of 4 (`unused` is defined, never called)
    assert percents == {"REQ-1": 62.5, "REQ-2": 75.0}
    # each test runs only code its requirement lists: nothing for `matrix --update`
    assert result.details["discovered_code"] == {}
