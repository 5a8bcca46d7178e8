"""A fixed report with every kind of verdict and finding, for the output golden files.

Every gate status appears (pass, fail, optional fail, error, skip), findings with
and without paths, lines, commits, requirements and hints, a waived finding, text
that needs escaping in every format, and requirements in every status.
"""

from __future__ import annotations

from pytest_tddgate.facts.ledger import GateRecord, RunRecord
from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict, Waiver
from pytest_tddgate.report.links import RepoLinks

HEAD = "0123456789abcdef0123456789abcdef01234567"
BASE = "fedcba9876543210fedcba9876543210fedcba98"
LINKS = RepoLinks("https://github.com/acme/shop", HEAD)

WAIVER = Waiver(
    gate="roles",
    reason="pairing session, reviewed",
    owner="alice@example.com",
    expires="2031-01-31",
    path="tests/**",
)


def sample_report() -> Report:
    gates = (
        GateResult(
            "tests",
            Verdict.FAIL,
            "11 passed, 1 failed",
            findings=(
                Finding(
                    "test-failed",
                    "tests/test_cart.py::test_total[2-items] failed: "
                    "AssertionError: assert 5 == 6 | 100% <wrong>",
                    path="tests/test_cart.py",
                    line=14,
                ),
            ),
            metrics={"passed": 11, "failed": 1, "errors": 0},
            duration_s=0.01,
        ),
        GateResult(
            "tdd",
            Verdict.FAIL,
            "1 of 3 changed files had no test first",
            findings=(
                Finding(
                    "implementation-first",
                    "src/shop/discount.py changed in 9f8e7d6c "
                    '"Add discount" (2026-01-02) before any mapped test',
                    path="src/shop/discount.py",
                    commit="9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
                    hint="commit tests/test_discount.py before the implementation",
                ),
            ),
            metrics={"violations": 1, "files": 3},
            duration_s=0.02,
        ),
        GateResult(
            "traceability",
            Verdict.FAIL,
            "3 requirements: 1 passing, 1 failing, 1 untested, 1 not run",
            findings=(
                Finding(
                    "untested",
                    "REQ-003 has no linked test",
                    requirement="REQ-003",
                    hint='add a test with @pytest.mark.req("REQ-003")',
                ),
            ),
            duration_s=0.0,
        ),
        GateResult(
            "roles",
            Verdict.PASS,
            "4 changed files allowed (1 waived)",
            findings=(
                Finding(
                    "not-allowed",
                    "backend changed tests/test_cart.py, which `never` denies",
                    path="tests/test_cart.py",
                    commit="1111111122222222333333334444444455555555",
                    waiver=WAIVER,
                ),
            ),
            duration_s=0.0,
        ),
        GateResult(
            "coverage",
            Verdict.FAIL,
            "total 91.5%; new code 62.5% < 80%",
            findings=(
                Finding(
                    "new-code",
                    "new code 62.5% covered (5 of 8 lines), needs 80%",
                    path="src/shop/discount.py",
                    line=7,
                    hint="test lines 7, 9-10",
                ),
            ),
            metrics={"total_percent": 91.5, "new_percent": 62.5, "new_lines": 8},
            optional=True,
            duration_s=0.0,
        ),
        GateResult(
            "ruff",
            Verdict.ERROR,
            "ruff is not installed",
            findings=(
                Finding(
                    "cannot-evaluate",
                    "ruff is not installed",
                    hint="pip install 'pytest-tddgate[ruff]'",
                ),
            ),
            duration_s=0.0,
        ),
        GateResult("mypy", Verdict.SKIP, "disabled (gates.mypy.enabled = false)"),
    )
    requirements = (
        RequirementStatus(
            "REQ-001",
            "passing",
            ("tests/test_cart.py",),
            ("src/shop/cart.py",),
            title="Cart total",
            coverage_percent=100.0,
        ),
        RequirementStatus(
            "REQ-002",
            "failing",
            ("tests/test_cart.py::test_total[2-items]",),
            ("src/shop/cart.py",),
            title="Totals with <many> items",
        ),
        RequirementStatus("REQ-003", "untested", (), ("src/shop/discount.py",), title="Discount"),
        RequirementStatus("REQ-004", "not-run", ("tests/test_tax.py::test_vat[a|b]",), ()),
    )
    return Report(
        gates=gates,
        base=BASE,
        head=HEAD,
        role="backend",
        requirements=requirements,
        base_note="merge-base with main (fedcba98)",
        generated_at="2026-01-02T10:00:00+00:00",
        tool_version="0.1.0",
    )


def passing_report() -> Report:
    gates = (
        GateResult("tests", Verdict.PASS, "3 passed", metrics={"passed": 3, "failed": 0}),
        GateResult("tdd", Verdict.PASS, "2 changed files, each with a test first"),
    )
    return Report(
        gates=gates,
        base=BASE,
        head=HEAD,
        generated_at="2026-01-02T10:00:00+00:00",
        tool_version="0.1.0",
    )


def report_with_failures(count: int) -> Report:
    """A report whose `tests` gate has `count` failed tests, one finding each."""
    findings = tuple(
        Finding(
            "test-failed", f"tests/test_a.py::test_{i} failed", path="tests/test_a.py", line=i + 1
        )
        for i in range(count)
    )
    gate = GateResult("tests", Verdict.FAIL, f"{count} failed", findings=findings)
    return Report(gates=(gate,), head=HEAD)


def sample_runs() -> list[RunRecord]:
    """Eight runs: coverage climbing, violations falling, one red test run."""
    runs = []
    for i in range(8):
        gates = {
            "coverage": GateRecord(
                "pass",
                {"total_percent": 70.0 + 3 * i, "new_percent": None if i == 2 else 60.0 + 5 * i},
            ),
            "ruff": GateRecord(
                "fail" if i < 5 else "pass",
                {"violations": max(0, 9 - 2 * i), "unformatted": 1 if i < 3 else 0},
            ),
            "mypy": GateRecord("pass", {"errors": 0 if i > 4 else 3}),
            "tests": GateRecord(
                "pass" if i != 4 else "fail",
                {"passed": 20 + i, "failed": 2 if i == 4 else 0, "errors": 0},
            ),
        }
        runs.append(
            RunRecord(
                run_id=i + 1,
                started_at=f"2026-01-0{i + 1}T09:00:00+00:00",
                head=f"{i:x}" * 40,
                passed=i not in (0, 4),
                gates=gates,
            )
        )
    return runs
