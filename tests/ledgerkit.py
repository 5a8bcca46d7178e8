"""Builders for ledger and learnings tests: a real project folder, real reports.

Runs are recorded with the real `ledger.record`; only the test outcomes and gate
results are written by hand instead of coming from a pytest session, so each test
can say exactly which history it needs.
"""

from __future__ import annotations

import hashlib
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_tddgate.facts import ledger
from pytest_tddgate.facts.ledger import Recorded
from pytest_tddgate.facts.testrun import TestOutcome, TestRun
from pytest_tddgate.learn import update_expertise
from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict
from pytest_tddgate.settings import Settings, resolve

CALC = "def add(a, b):\n    return a - b\n"
TEST_CALC = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


class Project:
    """A project folder with src/pkg/calc.py and tests/test_calc.py."""

    def __init__(self, root: Path, pyproject: str = "", *, create: bool = True) -> None:
        self.root = root
        self.day = 0
        if create:
            root.mkdir(parents=True, exist_ok=True)
            self.write("pyproject.toml", "[tool.tddgate]\n" + textwrap.dedent(pyproject))
            self.write("src/pkg/__init__.py", "")
            self.write("src/pkg/calc.py", CALC)
            self.write("tests/test_calc.py", TEST_CALC)

    def write(self, relpath: str, text: str) -> Path:
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    @property
    def settings(self) -> Settings:
        return resolve(self.root, environ={})

    @property
    def ledger(self) -> Path:
        return self.settings.path(self.settings.project.ledger)

    @property
    def expertise(self) -> Path:
        return self.settings.path(self.settings.project.expertise)

    def record(
        self,
        *outcomes: TestOutcome,
        gates: Sequence[GateResult] = (),
        requirements: Sequence[RequirementStatus] = (),
        head: str | None = "a" * 40,
    ) -> Recorded:
        """Record one run; each run is one day after the previous one."""
        self.day += 1
        tests = gates_tests(outcomes)
        report = Report(
            gates=(tests, *gates),
            base="b" * 40,
            head=head,
            role="backend",
            requirements=tuple(requirements),
            generated_at=f"2026-03-{self.day:02d}T10:00:00+00:00",
            tool_version="0.1.0",
        )
        return ledger.record(self.settings, report, run_of(*outcomes))


def outcome(nodeid: str, result: str, message: str | None = None) -> TestOutcome:
    """A test outcome; a failure's signature is derived from its message, as pytest's."""
    signature = None
    if result in ("failed", "error"):
        message = message or "AssertionError: assert 1 == 2"
        digest = hashlib.sha1(message.encode()).hexdigest()[:12]
        signature = f"{message.split(':')[0]}|{digest}|{nodeid.split('::', maxsplit=1)[0]}:5"
    return TestOutcome(
        nodeid, result, 0.01, signature, message, nodeid.split("::", maxsplit=1)[0], 5
    )


def run_of(*outcomes: TestOutcome) -> TestRun:
    return TestRun.build(
        tuple(outcomes), (), 1 if any(not o.ok for o in outcomes) else 0, interrupted=False
    )


def gates_tests(outcomes: Sequence[TestOutcome]) -> GateResult:
    failed = [o for o in outcomes if not o.ok]
    status = Verdict.FAIL if failed else Verdict.PASS
    metrics = {"passed": len(outcomes) - len(failed), "failed": len(failed)}
    return GateResult("tests", status, f"{len(failed)} failed", metrics=metrics)


def gate(
    name: str,
    status: str,
    findings: Sequence[Finding] = (),
    metrics: Mapping[str, Any] | None = None,
) -> GateResult:
    return GateResult(
        name, Verdict(status), f"{name} {status}", tuple(findings), dict(metrics or {})
    )


def concurrent_worker(argv: Sequence[str]) -> None:
    """`python -m tests.ledgerkit ROOT WORKER RUNS START [learn]`: one of several
    processes that record runs into the same ledger at the same time."""
    root, worker, runs, start = Path(argv[0]), argv[1], int(argv[2]), float(argv[3])
    learn = argv[4:] == ["learn"]
    project = Project(root, create=False)
    while time.time() < start:  # all workers begin together
        time.sleep(0.001)
    for index in range(runs):
        finding = Finding("test-after", f"{worker} run {index}", f"src/{worker}.py")
        project.record(
            outcome(f"tests/test_{worker}.py::test_{index}", "passed"),
            gates=[gate("tdd", "fail", [finding])] if learn else [],
        )
        if learn:
            update_expertise(project.settings)


if __name__ == "__main__":
    concurrent_worker(sys.argv[1:])
