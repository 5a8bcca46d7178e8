"""Outputs: each format is a pure `render(report, ...) -> str`; files are written
atomically after rendering succeeded, so a failed render leaves no partial file."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.model import Report
from pytest_tddgate.report import json_report

if TYPE_CHECKING:
    from pytest_tddgate.report.html import RunLike
    from pytest_tddgate.report.links import RepoLinks
    from pytest_tddgate.settings import Settings

TREND_RUNS = 100  # runs shown in the HTML trend charts


def write_json(report: Report, path: Path) -> Path:
    atomic_write_text(path, json_report.render(report))
    return path


def write_all(
    report: Report,
    settings: Settings,
    environ: Mapping[str, str],
    report_path: str | None = None,
) -> list[str]:
    """Write the Markdown, SARIF and HTML reports the settings ask for, and append
    the Markdown report to GitHub's job summary when `GITHUB_STEP_SUMMARY` is set.

    Returns one line per output that could not be written; the others are written
    all the same. `report_path` is the JSON report as the reader should see it.
    """
    project = settings.project
    summary_file = environ.get("GITHUB_STEP_SUMMARY")
    if not (project.markdown or project.sarif or project.html or summary_file):
        return []  # no git call for links, no renderer imported, when nothing needs them
    from pytest_tddgate.report import html, markdown, sarif
    from pytest_tddgate.report.links import repo_links, repo_prefix

    links = repo_links(settings.root, report.head, environ)
    prefix = links.prefix if links is not None else repo_prefix(settings.root)
    problems: list[str] = []
    planned: list[tuple[Path, Callable[[], str]]] = []
    if project.markdown:
        planned.append(
            (settings.path(project.markdown), lambda: markdown.render(report, links, report_path))
        )
    if project.sarif:
        planned.append((settings.path(project.sarif), lambda: sarif.render(report, links, prefix)))
    if project.html:
        planned.append(
            (
                settings.path(project.html) / "index.html",
                lambda: html.render(report, recorded_runs(settings, problems), links),
            )
        )
    for path, produce in planned:
        text = _render(produce, path, problems)
        if text is None:
            continue
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            problems.append(f"tddgate: could not write {path}: {exc}")
    if summary_file:
        _append_summary(Path(summary_file), report, links, report_path, problems)
    return problems


def github_annotations(
    report: Report, settings: Settings, environ: Mapping[str, str], report_path: str | None
) -> str:
    """GitHub annotation lines when running on GitHub Actions, else ""."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return ""
    from pytest_tddgate.report import github
    from pytest_tddgate.report.links import repo_prefix

    where = [p for p in (report_path, settings.project.markdown) if p]
    if environ.get("GITHUB_STEP_SUMMARY"):
        where.append("the job summary")
    more_in = " or ".join(where) or "the report"
    return github.render(report, more_in=more_in, prefix=repo_prefix(settings.root))


def recorded_runs(settings: Settings, problems: list[str]) -> Sequence[RunLike]:
    """The last runs of the run ledger, oldest first; () without a ledger."""
    path = settings.path(settings.project.ledger)
    if not path.is_file():
        return ()
    try:
        # imported by name: the ledger is optional for the HTML report
        ledger: Any = importlib.import_module("pytest_tddgate.facts.ledger")
    except ImportError:
        return ()
    try:
        from pytest_tddgate.facts.ledger_context import current_branch

        # the current branch's runs: the charts say so (report/html.py)
        return list(ledger.recent_runs(path, TREND_RUNS, branch=current_branch(settings.root)))
    except Exception as exc:  # a broken ledger costs the charts, not the report
        problems.append(
            f"tddgate: no trend charts, the run ledger {path} could not be "
            f"read: {type(exc).__name__}: {exc}"
        )
        return ()


def _render(produce: Callable[[], str], path: Path, problems: list[str]) -> str | None:
    try:
        return produce()
    except Exception as exc:  # a bug in one format must not cost the others
        problems.append(
            f"tddgate: could not render {path}: {type(exc).__name__}: {exc} "
            "(please report this with .tddgate/report.json)"
        )
        return None


def _append_summary(
    path: Path,
    report: Report,
    links: RepoLinks | None,
    report_path: str | None,
    problems: list[str],
) -> None:
    """GitHub's job summary is appended to by every step: never replace it."""
    from pytest_tddgate.report import markdown

    text = _render(lambda: markdown.render(report, links, report_path), path, problems)
    if text is None:
        return
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        problems.append(f"tddgate: could not append to $GITHUB_STEP_SUMMARY ({path}): {exc}")
