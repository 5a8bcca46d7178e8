"""The report of a run: the gates' results plus the range they judged.

Shared by the pytest session and `tddgate check`; it imports no pytest, so the
pre-commit hook stays fast.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pytest_tddgate import __version__
from pytest_tddgate.errors import FactError, TddGateError
from pytest_tddgate.model import ProjectInfo, Report, RequirementStatus

if TYPE_CHECKING:
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.model import GateResult
    from pytest_tddgate.settings import Settings


def build_report(settings: Settings, facts: Facts, results: tuple[GateResult, ...]) -> Report:
    """Assemble the report: gate results plus the run's base, head, role, requirements."""
    from pytest_tddgate.facts import git

    base = head = note = None
    try:
        revs = facts.get(git.revisions)
        base, head, note = revs.base, revs.head, revs.base_note
    except FactError as exc:
        note = f"unknown ({exc.message})"
    except TddGateError:
        note = "unknown"
    trace = next((r for r in results if r.name == "traceability"), None)
    requirements = tuple(
        RequirementStatus.from_json(item)
        for item in (trace.details.get("requirements", []) if trace else [])
    )
    return Report(
        gates=results,
        base=base,
        head=head,
        role=settings.project.role,
        requirements=requirements,
        base_note=note,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        tool_version=__version__,
        project=project_info(settings, facts),
    )


def project_info(settings: Settings, facts: Facts) -> ProjectInfo:
    """The root judged, how it was found (the session puts its `ProjectRoot` in
    `facts.provided["project_root"]`) and the configuration files read there."""
    from pytest_tddgate.projectroot import has_settings

    found = facts.provided.get("project_root")
    summary = facts.provided.get("coverage_summary")
    settings_file = settings.config_file
    return ProjectInfo(
        root=settings.root.as_posix(),
        found_by=found.describe() if found is not None else None,
        settings_file=settings_file.name
        if settings_file is not None and has_settings(settings_file)
        else None,
        coverage_config=getattr(summary, "config_file", None),
    )
