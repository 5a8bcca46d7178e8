"""Outputs: each format is a pure `render(report, ...) -> str`; files are written
atomically after rendering succeeded, so a failed render leaves no partial file."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import TddGateError
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.model import Report
from pytest_tddgate.report import json_report

if TYPE_CHECKING:
    from pytest_tddgate.facts.testrun import TestRun
    from pytest_tddgate.report.html import RunLike
    from pytest_tddgate.report.links import RepoLinks
    from pytest_tddgate.report.terminal import Line
    from pytest_tddgate.settings import Settings

TREND_RUNS = 100  # runs shown in the HTML trend charts


def write_json(report: Report, path: Path) -> Path:
    atomic_write_text(path, json_report.render(report))
    return path


@dataclass(frozen=True, slots=True)
class Published:
    """What `publish` wrote, and one status line per output it could not write."""

    report_path: Path | None  # the JSON report; None: it could not be written
    problems: tuple[str, ...]
    complete: bool  # every report file was written (a required check must not pass without)


def publish(
    report: Report, settings: Settings, test_run: TestRun | None, environ: Mapping[str, str]
) -> Published:
    """Every output of a judged run, as `pytest --tddgate` and `tddgate combine` both
    write them: the JSON report, the ledger row (and the learnings), then Markdown,
    SARIF, HTML and the job summary. A failed output is a status line, never a crash."""
    target = settings.path(settings.project.report)
    problems: list[str] = []
    report_path: Path | None = None
    try:
        report_path = write_json(report, target)
    except OSError as exc:
        problems.append(f"tddgate: could not write the report {target}: {exc}")
    # the ledger first, so the HTML report's trend includes this run
    problems += record_and_learn(settings, report, test_run)
    shown = display_path(report_path, settings.root) if report_path is not None else None
    unwritten = write_all(report, settings, environ, shown)
    return Published(
        report_path, (*problems, *unwritten), report_path is not None and not unwritten
    )


def record_and_learn(settings: Settings, report: Report, test_run: TestRun | None) -> list[str]:
    """Add the run to the ledger, then update expertise.md; a failure is a status line."""
    from pytest_tddgate.facts import ledger  # imported at the end: the start pays nothing

    try:
        recorded = ledger.record(settings, report, test_run)
    except (TddGateError, OSError) as exc:
        return [f"tddgate: the run was not recorded in the ledger: {exc}"]
    problems = list(recorded.notes)
    if not settings.learn:  # --tddgate-no-learn, or CI without `learn = true`
        return problems
    from pytest_tddgate import learn  # only when learning: its modules cost ~10 ms

    try:
        learn.update_expertise(settings)
    except (TddGateError, OSError) as exc:
        problems.append(f"tddgate: the learnings were not updated: {exc}")
    return problems


def closing_lines(
    report: Report,
    settings: Settings,
    test_run: TestRun | None,
    report_path: Path | None,
    *,
    here: Path,
    environ: Mapping[str, str],
) -> tuple[list[Line], list[str]]:
    """What a judged run prints last: the report, with the tests that need attention
    and the JSON report's path as seen from `here` (where the user ran the command),
    and GitHub's workflow commands."""
    from pytest_tddgate.facts.attention import needs_attention  # ~1 ms
    from pytest_tddgate.report import terminal

    attention = needs_attention(settings.path(settings.project.ledger), test_run)
    shown = display_path(report_path, here) if report_path is not None else None
    lines = terminal.render(report, shown, attention)
    in_project = display_path(report_path, settings.root) if report_path is not None else None
    # workflow commands: plain lines on stdout, read by GitHub Actions
    workflow = github_annotations(report, settings, environ, in_project)
    return lines, workflow.splitlines()


def display_path(path: Path, here: Path) -> str:
    """Relative to `here` when inside or beside it (`../.tddgate/report.json` from a
    subfolder), else absolute."""
    try:
        shown = os.path.relpath(path, here)
    except ValueError:  # Windows: another drive
        return str(path)
    # more than two folders up, the absolute path reads better
    return str(path) if Path(shown).parts[:3] == (os.pardir,) * 3 else shown


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
