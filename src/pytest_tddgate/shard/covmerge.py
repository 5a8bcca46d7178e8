"""The shards' coverage as one run's: merged the way the controller of an xdist run
merges its workers' measurements.

Each shard's payloads are what xdist workers send (coverage.py's data and per-test
lines); here they are made absolute under this checkout's project root and handed to
the same code the pytest session uses (facts/covreport.py `collect`), over a
measurement that is configured but never started: coverage.py's own `update` merges
the data, its reporting applies the project's `[paths]`, and the data file and the
test map are written as the run would write them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_tddgate import engine
from pytest_tddgate.shard.merge import Problem
from pytest_tddgate.shard.portable import absolute_under

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.coverage import Measurement
    from pytest_tddgate.settings import Settings
    from pytest_tddgate.shard import Shard


def combined_coverage(
    settings: Settings, facts: Facts, shards: Sequence[Shard]
) -> tuple[dict[str, Any], list[Problem]]:
    """The facts the coverage, tdd and traceability gates read (`facts.provided`),
    and what is wrong with the shards' measurements. Raises `UsageError` for a
    coverage configuration coverage.py rejects (exit 4, as the run would)."""
    from pytest_tddgate.facts.covcontexts import for_tdd

    measuring: Settings | None = settings
    if engine.selected(settings, "coverage") is not None:
        measuring = for_tdd(settings)  # as the run: the tdd gate's per-test lines only
    if measuring is None:
        return {}, []
    measured = [s for s in shards if s.coverage is not None]
    problems = [
        Problem(
            "shard-coverage",
            f"{s.source} ({s.label}) has no coverage measurement while the gates need one",
            path=s.source,
            hint="run every shard with the same gates selected (--tddgate-only/-skip)",
        )
        for s in shards
        if s.coverage is None
    ]
    if not measured:
        return {}, problems
    payloads = [p for s in measured for p in _payloads(s)]
    provided = _collect(measuring, facts, payloads)
    summary = provided["coverage_summary"]
    silent = [f"{w} ({s.label})" for s in measured for w in (s.coverage or {}).get("silent", ())]
    if silent and summary.error is None:
        summary = replace(
            summary,
            error=f"worker(s) {', '.join(silent)} sent no coverage data",
            fix="see the worker's crash in that shard's output; the measurement is incomplete",
        )
    if all((s.coverage or {}).get("measured_by") == "pytest-cov" for s in measured):
        # as a run measured by pytest-cov reports it: pytest-cov wrote the data file
        # (here the merged data is written to the same place)
        summary = replace(summary, measured_by="pytest-cov", core="pytest-cov", data_file=None)
    provided["coverage_summary"] = summary
    return provided, problems


def _payloads(shard: Shard) -> list[dict[str, Any]]:
    raw = (shard.coverage or {}).get("payloads", [])
    return [p for p in raw if isinstance(p, dict)]


def _collect(settings: Settings, facts: Facts, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    from pytest_tddgate.facts import covreport, diff
    from pytest_tddgate.facts.coverage import Measurement

    changed = (lambda: facts.get(diff.changed_lines)) if settings.coverage.changed_only else None
    measurement = Measurement.configure(
        settings, changed, probes_in_tests=True, probes=settings.coverage.probes
    )
    try:
        _absorb(measurement, payloads, settings.root)
    except covreport.read_errors() as exc:  # evaluated only when something was raised
        failed = covreport.CoverageSummary(
            measurement.plan.scope,
            "tddgate",
            "unknown",
            False,
            error=f"a shard's coverage data could not be read: {exc}",
            fix="run the shard again; if it persists, report it with the shard file",
        )
        return {"coverage_summary": failed}
    # the data is in the measurement now; the per-test lines keep their relative
    # names, which `collect` reads as relative to the project root
    rest = [{k: v for k, v in p.items() if k != "data"} for p in payloads]
    return covreport.collect(settings, covreport.Source(measurement=measurement), rest)


def _absorb(measurement: Measurement, payloads: list[dict[str, Any]], root: Path) -> None:
    """Every payload's data into the measurement, as `Measurement.absorb` merges xdist
    workers' data, with the files named under this checkout's project root: one
    coverage.py `update` per payload, which renames as it merges."""
    import base64

    from coverage import CoverageData

    from pytest_tddgate.facts.coverage import inside, quiet

    for payload in payloads:
        for note in payload.get("notes", ()):
            if isinstance(note, str) and note not in measurement.notes:
                measurement.notes.append(note)
    rename = absolute_under(root)
    with inside(root), quiet(measurement.notes):
        data = measurement.cov.get_data()
        for payload in payloads:
            if not payload.get("data"):
                continue
            other = CoverageData(no_disk=True)
            try:
                other.loads(base64.b64decode(payload["data"]))
                data.update(other, map_path=rename)
            finally:
                other.close(force=True)
