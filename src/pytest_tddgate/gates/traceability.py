"""Gate `traceability`: the matrix is valid and every requirement is tested and passing.

Checks, each a finding rule:
- `untested`: a requirement without any linked test;
- `test-failed`: a linked test failed or errored;
- `not-run`: linked tests exist but did not all run (deselected, skipped, not collected);
- `missing-file` / `missing-test`: a `code` or `tests` entry names a file, or a node
  id names a test, that does not exist. A `code` file that does not exist yet is
  *planned*, not missing, while the requirement's tests are failing, or did not run
  and are new since the base (tests written first): the summary says so, and it
  becomes `missing-file` once the requirement is passing;
- `unknown-requirement`: a test is marked `@pytest.mark.req` with an id the matrix
  does not have;
- `orphan-code`: a `code` file none of the requirement's own tests executes (only
  when coverage ran with per-test contexts).

Without a test run (`tddgate check`) the matrix is still validated and the static
checks run; the outcome checks are skipped and the summary says so. When a
collection error kept linked tests from running, the `not-run` finding names it as
the cause (and pytest ran no test at all when it stopped at collection).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts.covdata import CoverageFacts
from pytest_tddgate.facts.diff import changed_lines
from pytest_tddgate.facts.jsonspans import render_path
from pytest_tddgate.facts.matrix import Matrix, Requirement, entry_file, matrix
from pytest_tddgate.facts.reqmarks import StaticTests, static_tests
from pytest_tddgate.facts.tracing import (
    FAILING,
    NOT_RUN,
    PASSING,
    UNTESTED,
    CodeCoverage,
    ContextIndex,
    Link,
    OutcomeIndex,
    links_of,
    marker_links,
    status_of,
    under,
)
from pytest_tddgate.model import Finding, GateResult, RequirementStatus, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.facts.testrun import CollectError, TestOutcome, TestRun

NAME = "traceability"
_PROBLEM_RULES = ("missing-file", "missing-test", "unknown-requirement", "orphan-code")
NO_RUN_NOTE = "outcomes not judged: no test run (`pytest --tddgate` judges them)"


class TraceabilityGate:
    name = NAME
    static = True  # validation and the file / id checks need no test run

    def validate(self, ctx: GateContext) -> None:
        """Load the matrix before any test runs, so a broken one exits 4 at once."""
        ctx.facts.get(matrix)

    def evaluate(self, ctx: GateContext) -> GateResult:
        loaded = ctx.facts.get(matrix)
        if loaded is None:
            return GateResult(
                NAME,
                Verdict.SKIP,
                f"no traceability matrix ({ctx.settings.project.matrix} does not exist)",
            )
        coverage = ctx.facts.provided.get("coverage")
        trace = Trace(loaded, ctx, coverage if isinstance(coverage, CoverageFacts) else None)
        return trace.result()


@dataclass
class _Counts:
    statuses: Counter[str] = field(default_factory=Counter)
    orphans: int = 0
    # requirement id -> `code` files not written yet while its tests are not passing
    planned: dict[str, list[str]] = field(default_factory=dict)


class Trace:
    """One evaluation: links every requirement, collects findings and statuses."""

    def __init__(self, loaded: Matrix, ctx: GateContext, coverage: CoverageFacts | None) -> None:
        self.matrix = loaded
        self.ctx = ctx
        self.root = ctx.settings.root
        self.run = ctx.facts.test_run
        self.tests: StaticTests = ctx.facts.get(static_tests)
        self.index = OutcomeIndex(self.run.outcomes) if self.run is not None else None
        contexts = ContextIndex(coverage) if coverage is not None else None
        self.contexts = contexts if contexts else None  # no per-test contexts: not judged
        # in a run, only test files where some test did not run need parsing
        self.marked = self.tests.marked(self.index.tests_per_file() if self.index else None)
        self.findings: list[Finding] = []
        self._root_text = str(self.root)
        self._exists: dict[str, bool] = {}
        self._changed: frozenset[str] | None = None
        self.collect_errors: tuple[CollectError, ...] = (
            self.run.collect_errors if self.run is not None else ()
        )
        # pytest stops before running any test when collection fails (unless
        # --continue-on-collection-errors): then every idle test is idle because of it
        self.stopped = bool(self.collect_errors) and not any(
            o.outcome in ("passed", "failed", "error", "xpassed") for o in _outcomes_of(self.run)
        )

    def result(self) -> GateResult:
        outcomes = self.run.outcomes if self.run is not None else ()
        by_requirement = marker_links(outcomes, self.marked, self.index)
        known = self.matrix.by_id()
        self._unknown_ids(by_requirement, known)
        counts = _Counts()
        statuses: list[RequirementStatus] = []
        discovered: dict[str, list[str]] = {}
        for requirement in self.matrix.requirements:
            broken = self._check_entries(requirement)
            links = links_of(
                requirement, self.index, by_requirement.get(requirement.id, {}), broken
            )
            status = status_of(links, self.run is not None)
            counts.statuses[status] += 1
            planned = self._missing_code(requirement, links, status)
            if planned:
                counts.planned[requirement.id] = planned
            self._outcome_findings(requirement, links, status)
            cov = self._coverage(requirement, links, status)
            if cov is not None:
                counts.orphans += len(cov.orphans)
                new_code = self._unlisted_code(requirement, cov)
                if new_code:
                    discovered[requirement.id] = new_code
            statuses.append(
                RequirementStatus(
                    requirement.id,
                    status,
                    tuple(link.label for link in links),
                    requirement.code,
                    requirement.title,
                    cov.percent if cov else None,
                )
            )
        return self._verdict(statuses, counts, discovered)

    def _verdict(
        self, statuses: list[RequirementStatus], counts: _Counts, discovered: dict[str, list[str]]
    ) -> GateResult:
        metrics: dict[str, int | float | str | bool | None] = {
            "requirements": len(statuses),
            "passing": counts.statuses[PASSING],
            "failing": counts.statuses[FAILING],
            "untested": counts.statuses[UNTESTED],
            "not_run": counts.statuses[NOT_RUN],
        }
        if self.contexts is not None:
            metrics["orphan_code"] = counts.orphans
        summary = _summary(statuses, counts, self.run is not None)
        if self.collect_errors and counts.statuses[NOT_RUN]:
            summary += f" ({_collection_cause(self.collect_errors)})"
        details: dict[str, object] = {
            "requirements": [s.to_json() for s in statuses],
            "matrix": self.matrix.display,
        }
        if counts.planned:
            planned = sum(len(paths) for paths in counts.planned.values())
            ids = ", ".join(sorted(counts.planned))
            summary += f"; {planned} code file(s) planned, not written yet ({ids})"
            details["planned_code"] = counts.planned
        if self.contexts is not None:
            # per-test coverage saw it: `tddgate matrix --update` adds these to `code`
            details["discovered_code"] = discovered
        verdict = Verdict.FAIL if self.findings else Verdict.PASS
        # statuses are in the summary already; add the problems that are not statuses
        rules = Counter(f.rule for f in self.findings if f.rule in _PROBLEM_RULES)
        if rules:
            summary += "; " + ", ".join(f"{n} {rule}" for rule, n in sorted(rules.items()))
        return GateResult(NAME, verdict, summary, tuple(self.findings), metrics, details=details)

    def _check_entries(self, requirement: Requirement) -> frozenset[str]:
        """Report `tests` / `code` entries naming nothing; return the broken tests entries."""
        broken = set()
        for number, entry in enumerate(requirement.tests):
            missing = self._missing_test(entry)
            if missing:
                broken.add(entry)
                self._matrix_finding(requirement, "tests", number, missing[0], missing[1])
        return frozenset(broken)

    def _missing_code(
        self, requirement: Requirement, links: tuple[Link, ...], status: str
    ) -> list[str]:
        """Report `code` entries naming nothing, unless planned; return the planned ones."""
        missing = [
            (number, entry)
            for number, entry in enumerate(requirement.code)
            if not self._exists_path(entry)
        ]
        if missing and self._planned(links, status):
            return [entry for _, entry in missing]
        for number, entry in missing:
            self._matrix_finding(
                requirement, "code", number, "missing-file", f"code `{entry}` does not exist"
            )
        return []

    def _planned(self, links: tuple[Link, ...], status: str) -> bool:
        """Whether the requirement's code may not exist yet: its tests came first and
        do not claim it works (failing, or not run and new since the base)."""
        if status == FAILING:
            return True
        if status != NOT_RUN:
            return False  # passing: the code it claims must exist; untested: no tests
        if self._collection_errors(links):
            return True
        changed = self._changed_files()
        return any(any(under(path, entry_file(link.label)) for path in changed) for link in links)

    def _changed_files(self) -> frozenset[str]:
        """Files added or changed since the base; none when git cannot say."""
        if self._changed is None:
            try:
                self._changed = frozenset(self.ctx.facts.get(changed_lines))
            except FactError:
                self._changed = frozenset()  # not a git repository: nothing is new
        return self._changed

    def _collection_errors(self, links: Iterable[Link]) -> list[CollectError]:
        """The collection errors that kept these links' tests from running."""
        if self.stopped:
            return list(self.collect_errors)
        files = [entry_file(link.label) for link in links]
        return [
            error
            for error in self.collect_errors
            if any(under(error.path or "", f) or under(f, error.path or "") for f in files)
        ]

    def _missing_test(self, entry: str) -> tuple[str, str] | None:
        path = entry_file(entry)
        if not self._exists_path(path):
            return "missing-file", f"test file `{path}` does not exist"
        if "::" not in entry or (self.index is not None and self.index.match(entry)):
            return None  # a file, or a test that ran: it exists, no need to parse
        if self.tests.has_node(entry) is False:
            return "missing-test", f"test `{entry}` is not defined in `{path}`"
        return None

    def _matrix_finding(
        self, requirement: Requirement, key: str, number: int, rule: str, message: str
    ) -> None:
        where = render_path(self.matrix.json_path(requirement.index, key, number))
        self.findings.append(
            Finding(
                rule,
                f"{requirement.id}: {message} ({where})",
                path=self.matrix.display,
                line=self.matrix.line_of(requirement.index, key, number),
                requirement=requirement.id,
                hint="correct the path, or remove the entry from the matrix",
            )
        )

    def _exists_path(self, path: str) -> bool:
        if path not in self._exists:
            # os.path, not pathlib: this runs for every entry of a large matrix
            self._exists[path] = os.path.exists(os.path.join(self._root_text, path))  # noqa: PTH110, PTH118
        return self._exists[path]

    def _unknown_ids(
        self,
        by_requirement: Mapping[str, Mapping[str, list[TestOutcome]]],
        known: Mapping[str, Requirement],
    ) -> None:
        for req_id in sorted(set(by_requirement) - set(known)):
            tests = by_requirement[req_id]
            first = sorted(tests)[0]
            more = f" and {len(tests) - 1} more test(s)" if len(tests) > 1 else ""
            where = next(iter(tests[first]), None)
            static = next((m for m in self.marked if m.nodeid == first), None)
            self.findings.append(
                Finding(
                    "unknown-requirement",
                    f"{first}{more} is marked {_marker(req_id)}, but `{req_id}` is not in "
                    f"{self.matrix.display}",
                    path=where.path if where else (static.path if static else None),
                    line=where.line if where else (static.line if static else None),
                    requirement=req_id,
                    hint=f"add `{req_id}` to {self.matrix.display}, or correct the id in the "
                    "marker",
                )
            )

    def _outcome_findings(
        self, requirement: Requirement, links: Iterable[Link], status: str
    ) -> None:
        links = tuple(links)
        if status == UNTESTED:
            self._requirement_finding(
                requirement,
                "untested",
                "has no test",
                f"list a test in its `tests`, or mark one with {_marker(requirement.id)}",
            )
            return
        if self.run is None:
            return
        for link in links:
            for outcome in link.failures:
                self.findings.append(
                    Finding(
                        "test-failed",
                        f"{requirement.id}: {outcome.nodeid} {outcome.outcome}"
                        + (f": {outcome.message}" if outcome.message else ""),
                        path=outcome.path,
                        line=outcome.line,
                        requirement=requirement.id,
                    )
                )
        idle_links = [link for link in links if not link.ran and not link.broken]
        idle = [link.label for link in idle_links]
        if idle and status != FAILING:
            shown = ", ".join(idle[:3]) + (f" and {len(idle) - 3} more" if len(idle) > 3 else "")
            errors = self._collection_errors(idle_links)
            if errors:
                cause = _collection_cause(errors)
                self._requirement_finding(
                    requirement,
                    "not-run",
                    f"linked tests did not run because {cause}: {shown}",
                    f"fix the collection error in {_error_place(errors[0])} first (the `tests` "
                    "gate shows it); "
                    + (
                        "pytest runs no test at all while collection fails"
                        if self.stopped
                        else "the tests in that file cannot run until then"
                    ),
                )
                return
            self._requirement_finding(
                requirement,
                "not-run",
                f"linked tests did not run: {shown}",
                "run them (without -k / -m / path filters); skipped tests do not count",
            )

    def _requirement_finding(
        self, requirement: Requirement, rule: str, message: str, hint: str
    ) -> None:
        title = f" ({requirement.title})" if requirement.title else ""
        self.findings.append(
            Finding(
                rule,
                f"{requirement.id}{title} {message}",
                path=self.matrix.display,
                line=self.matrix.line_of(requirement.index),
                requirement=requirement.id,
                hint=hint,
            )
        )

    def _coverage(
        self, requirement: Requirement, links: tuple[Link, ...], status: str
    ) -> CodeCoverage | None:
        if self.contexts is None or status not in (PASSING, FAILING):
            return None
        cov = self.contexts.code_coverage(requirement.code, links)
        if self.ctx.section.orphan_code:
            for path in cov.orphans:
                self.findings.append(
                    Finding(
                        "orphan-code",
                        f"{requirement.id}: none of its tests executes `{path}`",
                        path=path,
                        requirement=requirement.id,
                        hint="link the tests that exercise it, or remove it from `code`",
                    )
                )
        return cov

    def _unlisted_code(self, requirement: Requirement, cov: CodeCoverage) -> list[str]:
        """Implementation files the requirement's tests ran that its `code` omits."""
        return [
            path
            for path in cov.executed
            if self._implementation(path) and not any(under(path, c) for c in requirement.code)
        ]

    def _implementation(self, path: str) -> bool:
        settings = self.ctx.settings
        return any(under(path, root) for root in settings.source_roots) and not any(
            under(path, root) for root in settings.test_roots
        )


def _outcomes_of(run: TestRun | None) -> tuple[TestOutcome, ...]:
    return run.outcomes if run is not None else ()


def _error_place(error: CollectError) -> str:
    return error.path or error.nodeid or "the test session"


def _collection_cause(errors: Sequence[CollectError]) -> str:
    """`collection failed in tests/a.py` (and N more)."""
    more = f" and {len(errors) - 1} more file(s)" if len(errors) > 1 else ""
    return f"collection failed in {_error_place(errors[0])}{more}"


def _marker(req_id: str) -> str:
    return f"@pytest.mark.req({json.dumps(req_id)})"


def _summary(statuses: list[RequirementStatus], counts: _Counts, have_run: bool) -> str:
    total = len(statuses)
    if not total:
        return "the matrix lists no requirements"
    if not have_run:
        linked = total - counts.statuses[UNTESTED]
        return (
            f"{total} requirement(s): {linked} linked to tests, "
            f"{counts.statuses[UNTESTED]} untested; {NO_RUN_NOTE}"
        )
    parts = [
        f"{counts.statuses[s]} {s}"
        for s in (PASSING, FAILING, UNTESTED, NOT_RUN)
        if counts.statuses[s]
    ]
    return f"{total} requirement(s): {', '.join(parts)}"
