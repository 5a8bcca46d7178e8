"""Gate `coverage`: total coverage and coverage of the lines changed since the base.

The measurement comes from the session (facts/coverage.py, or pytest-cov's when
`--cov` is given) as `facts.provided["coverage"]` and `["coverage_summary"]`. New
code is every line added or changed since the base (committed, staged, unstaged,
untracked) that coverage.py counts as executable; its coverage is covered / executable
among those lines, which is diff-cover's figure on the same data.

Conditions (`[tool.tddgate.gates.coverage]`): `total`, `new`, `new_per_file`,
`min_new_lines`, below which the `new` condition is not applied, and `new_functions`:
every function, method and class changed since the base has a line run by a test
(gates/coverage_functions.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_tddgate.engine import GateContext
from pytest_tddgate.errors import FactError, ToolError, UsageError
from pytest_tddgate.facts.covdata import CoverageFacts, FileCoverage
from pytest_tddgate.facts.covreport import CoverageSummary
from pytest_tddgate.facts.diff import changed_lines
from pytest_tddgate.facts.git import git, revisions
from pytest_tddgate.facts.testrun import TestRun
from pytest_tddgate.gates.coverage_functions import (
    Judged,
    unseen_import_lines,
    untested_definitions,
)
from pytest_tddgate.model import Finding, GateResult, Verdict

NAME = "coverage"


@dataclass(frozen=True, slots=True)
class NewCode:
    """The changed executable lines of one file."""

    path: str
    lines: int
    covered: int
    missing: tuple[int, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.lines


def new_code(
    files: Mapping[str, FileCoverage], changed: Mapping[str, frozenset[int]]
) -> list[NewCode]:
    """Per measured file: its changed lines that coverage.py counts as executable."""
    found = []
    for path in sorted(changed):
        measured = files.get(path)
        if measured is None:
            continue
        lines = changed[path] & measured.executable
        if lines:
            covered = lines & measured.executed
            found.append(NewCode(path, len(lines), len(covered), tuple(sorted(lines - covered))))
    return found


def ranges(lines: Iterable[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    parts: list[str] = []
    start = end = None
    for line in sorted(lines):
        if end is not None and line == end + 1:
            end = line
            continue
        if start is not None:
            parts.append(f"{start}-{end}" if start != end else str(start))
        start = end = line
    if start is not None:
        parts.append(f"{start}-{end}" if start != end else str(start))
    return ", ".join(parts)


def below(value: float, minimum: float) -> bool:
    """As coverage.py's `fail_under`, at two decimals: 79.996 shows and counts as 80.00,
    but only a full 100 meets 100."""
    if minimum >= 100.0:
        return value < 100.0
    return round(value, 2) < minimum


def percent(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


class CoverageGate:
    name = NAME
    static = False

    def validate(self, ctx: GateContext) -> None:
        section = ctx.section
        if section.scope == "changed" and section.total is not None:
            raise UsageError(
                'scope = "changed" traces only the changed files, so a `total` cannot be judged',
                file=ctx.settings.config_file or "pyproject.toml",
                key="[tool.tddgate.gates.coverage] total",
                fix='remove `total`, or set `scope = "all"`',
            )

    def evaluate(self, ctx: GateContext) -> GateResult:
        run = ctx.facts.test_run
        summary = ctx.facts.provided.get("coverage_summary")
        measured = ctx.facts.provided.get("coverage")
        if run is None:
            return GateResult(NAME, Verdict.SKIP, "no test run (coverage needs `pytest --tddgate`)")
        if not run.outcomes:
            return GateResult(NAME, Verdict.SKIP, "no tests ran" + _collection_cause(run))
        if not isinstance(summary, CoverageSummary):
            message = "coverage was not measured in this run"
            return GateResult(
                NAME,
                Verdict.ERROR,
                message,
                (
                    Finding(
                        "cannot-evaluate",
                        message,
                        hint="the measurement starts with `pytest --tddgate`; a plugin that "
                        "imports the project earlier, or `-p no:tddgate`, prevents it",
                    ),
                ),
            )
        if summary.error is not None or not isinstance(measured, CoverageFacts):
            message = summary.error or "coverage data is missing"
            return GateResult(
                NAME,
                Verdict.ERROR,
                message,
                (Finding("cannot-evaluate", message, hint=summary.fix),),
                details=_details(summary, []),
            )
        elsewhere = _imported_elsewhere(ctx.settings.root, ctx.settings.source_roots, measured)
        if elsewhere is not None:
            name, found, root = elsewhere
            message = (
                f"the tests imported `{name}` from {found}, not from {root}/: "
                "nothing of it was measured"
            )
            return GateResult(
                NAME,
                Verdict.ERROR,
                message,
                (
                    Finding(
                        "cannot-evaluate",
                        message,
                        hint=f"install the project editable (`pip install -e .`), or put "
                        f"{root} first on the path (pytest's `pythonpath`)",
                    ),
                ),
                details=_details(summary, []),
            )
        changed = ctx.facts.get(changed_lines)
        unseen = unseen_import_lines(ctx.settings.root, measured.files, changed)
        judged = {path: lines - unseen.get(path, frozenset()) for path, lines in changed.items()}
        files = new_code(measured.files, judged)
        result = _judge(ctx.section, summary, files)
        if unseen:
            result = replace(result, findings=(*result.findings, _unseen_lines_note(unseen)))
        if ctx.section.new_functions:
            settings = ctx.settings
            untested = untested_definitions(
                settings.root,
                measured.files,
                changed,
                skip=tuple(str(r) for r in settings.test_roots),
                base=_base_source(ctx),
            )
            result = _with_untested(result, untested)
        if run.collect_errors:
            # the lines those tests would have run count as not covered
            cause = _collection_cause(run).removeprefix(": ")
            result = replace(result, summary=f"{result.summary}; {cause}, its tests did not run")
        return result


def _judge(section: Any, summary: CoverageSummary, files: list[NewCode]) -> GateResult:
    lines = sum(f.lines for f in files)
    covered = sum(f.covered for f in files)
    new_pct = 100.0 * covered / lines if lines else None
    failures: list[Finding] = []
    parts: list[str] = []
    if summary.total_percent is not None:
        parts.append(f"total {percent(summary.total_percent)}")
        if section.total is not None and below(summary.total_percent, section.total):
            failures.append(
                Finding(
                    "total-coverage",
                    f"total coverage "
                    f"{percent(summary.total_percent)} is below "
                    f"{percent(section.total)}",
                    hint="add tests, or lower gates.coverage.total",
                )
            )
    elif summary.scope == "changed":
        parts.append("total not measured (scope = changed)")
    else:  # coverage.py has no data to report
        parts.append("total not measured: no line of the measured files ran")
    if new_pct is None:
        parts.append("no new executable lines")
    else:
        parts.append(f"new code {percent(new_pct)} of {lines} line{'s' * (lines != 1)}")
        if section.new is not None and lines < section.min_new_lines:
            parts.append(f"`new` not applied below {section.min_new_lines} lines")
        elif section.new is not None and below(new_pct, section.new):
            failures.append(
                Finding(
                    "new-code-coverage",
                    f"coverage of new code "
                    f"{percent(new_pct)} ({covered} of {lines} lines) is "
                    f"below {percent(section.new)}",
                    hint="test the lines listed below",
                )
            )
    if section.new_per_file is not None:
        failures += [
            Finding(
                "new-file-coverage",
                f"new-code coverage {percent(f.percent)} of "
                f"{f.lines} lines is below {percent(section.new_per_file)}",
                path=f.path,
                line=f.missing[0] if f.missing else None,
            )
            for f in files
            if below(f.percent, section.new_per_file)
        ]
    findings = (
        failures
        + [
            Finding(
                "uncovered-new-lines",
                f"new lines not covered: {ranges(f.missing)} ({len(f.missing)} of {f.lines})",
                path=f.path,
                line=f.missing[0],
            )
            for f in files
            if f.missing
        ]
        + [Finding("coverage-note", note) for note in summary.notes]
    )
    metrics = {
        "total_percent": summary.total_percent,
        "new_percent": round(new_pct, 2) if new_pct is not None else None,
        "new_lines": lines,
        "new_covered": covered,
        "new_files": len(files),
        "statements": summary.statements,
        "missing": summary.missing,
        "branches": summary.branches,
        "partial_branches": summary.partial_branches,
    }
    status = Verdict.FAIL if failures else Verdict.PASS
    return GateResult(
        NAME, status, "; ".join(parts), tuple(findings), metrics, details=_details(summary, files)
    )


def _with_untested(result: GateResult, judged: Judged) -> GateResult:
    """The gate's result with the `new_functions` condition applied."""
    if judged.unseen:
        result = replace(result, findings=(*result.findings, _unseen_note(judged)))
    untested = judged.untested
    if not untested:
        return result
    findings = [
        Finding(
            "untested-new-function",
            f"{d.kind} `{d.name}` is new or changed, and no test runs any line of it",
            path=d.path,
            line=d.line,
            hint="write a test that calls it; if it must not be measured, mark its "
            "`def` line `# pragma: no cover`",
        )
        for d in untested
    ]
    count = len(untested)
    summary = f"{result.summary}; {count} new function(s) or class(es) not run by any test"
    metrics = {**result.metrics, "untested_new_functions": count}
    return replace(
        result,
        status=Verdict.FAIL,
        summary=summary,
        findings=(*findings, *result.findings),
        metrics=metrics,
    )


def _base_source(ctx: GateContext) -> Callable[[str], bytes | None] | None:
    """A file's text at the base, read when asked (None: no base to read from)."""
    try:
        revs = ctx.facts.get(revisions)
    except FactError:
        return None
    base, root = revs.base, ctx.settings.root
    if base is None or revs.base_is_root:
        return None

    def read(path: str) -> bytes | None:
        try:
            done = git(["show", f"{base}:./{path}"], root, ok_codes=(0, 128))
        except ToolError:
            return None
        return done.stdout if done.returncode == 0 else None

    return read


def _imported_elsewhere(
    root: Path, source_roots: Iterable[str], measured: CoverageFacts
) -> tuple[str, str, str] | None:
    """(package, the folder it was imported from, its source root) for a package of the
    source roots that the tests imported from another place (an installed copy: tox,
    `pip install .`), none of whose files under the root ran; None when there is none.
    Only this process's modules tell: a report made elsewhere cannot see them."""
    ran = [path for path, f in measured.files.items() if f.executed]
    for source in source_roots:
        prefix = "" if source in ("", ".") else source.rstrip("/") + "/"
        for package in _packages(root / source):
            if any(path.startswith(f"{prefix}{package.name}/") for path in ran):
                continue
            found = getattr(sys.modules.get(package.name), "__file__", None)
            if not isinstance(found, str):
                continue  # not imported, or a namespace package
            home = os.path.dirname(os.path.realpath(found))  # noqa: PTH120
            if home != os.path.realpath(package):
                return package.name, home, source.rstrip("/") or "."
    return None


def _packages(folder: Path) -> list[Path]:
    """The regular packages directly in a source root."""
    try:
        return sorted(p for p in folder.iterdir() if (p / "__init__.py").is_file())
    except OSError:
        return []


def _unseen_lines_note(unseen: Mapping[str, frozenset[int]]) -> Finding:
    """Why new lines were left out of new-code coverage: they ran before it was measured."""
    count = sum(len(lines) for lines in unseen.values())
    paths = sorted(unseen)
    names = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    were = "their modules were" if len(paths) > 1 else "it was"
    return Finding(
        "coverage-note",
        f"{count} module-level lines of {names} (imports, `def` and `class` lines, class "
        f"bodies) not judged as new code: {were} imported before the measurement "
        "started (a pytest plugin), so they ran unseen",
        path=paths[0],
        line=min(unseen[paths[0]]),
    )


def _unseen_note(judged: Judged) -> Finding:
    """Why classes were left out of `new_functions`: the measurement could not see them."""
    first = judged.unseen[0]
    more = len(judged.unseen) - 1
    names = ", ".join(f"`{d.name}`" for d in judged.unseen[:3])
    rest = f" and {more - 2} more" if more > 2 else ""
    paths = sorted({d.path for d in judged.unseen})
    where = f"{paths[0]} was" if len(paths) == 1 else "their modules were"
    return Finding(
        "coverage-note",
        f"new_functions: class {names}{rest} not judged: {where} imported before the "
        "measurement started (a pytest plugin), so the lines of a class without method "
        "code ran unseen, whatever the tests do with it",
        path=first.path,
        line=first.line,
    )


def _collection_cause(run: TestRun) -> str:
    """`: collection failed in tests/a.py`, when that is why no test ran."""
    if not run.collect_errors:
        return ""
    first = run.collect_errors[0]
    more = f" and {len(run.collect_errors) - 1} more file(s)" if len(run.collect_errors) > 1 else ""
    return f": collection failed in {first.path or first.nodeid or 'the test session'}{more}"


def _details(summary: CoverageSummary, files: list[NewCode]) -> dict[str, Any]:
    return {
        "measured_by": summary.measured_by,
        "core": summary.core,
        "scope": summary.scope,
        "branch": summary.branch,
        "contexts": summary.contexts,
        "data_file": summary.data_file,
        "notes": list(summary.notes),
        "files": [
            {
                "path": f.path,
                "new_lines": f.lines,
                "covered": f.covered,
                "percent": round(f.percent, 2),
                "missing": ranges(f.missing),
            }
            for f in files
        ],
    }
