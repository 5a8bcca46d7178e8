"""`tddgate report`: show the last report again, in any format, without a test run.

Reads the JSON report the last `pytest --tddgate` wrote (`.tddgate/report.json`, or
the `report` setting) and renders it as the terminal summary, Markdown, JSON,
SARIF, GitHub annotations or HTML, to stdout or a file. The exit status is the
report's verdict: 0 passed, 1 failed (4 when there is no readable report).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pytest_tddgate.commands import project_settings
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.model import Report
from pytest_tddgate.report import json_report, recorded_runs, terminal
from pytest_tddgate.report.links import repo_links, repo_prefix
from pytest_tddgate.settings import Settings

FORMATS = ("terminal", "md", "json", "sarif", "github", "html")
_ANSI = {"red": "31", "green": "32", "yellow": "33"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="terminal", help="output format (default: terminal)"
    )
    parser.add_argument(
        "--input",
        metavar="PATH",
        default=None,
        help="the JSON report to read (default: the `report` setting, .tddgate/report.json)",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        default=None,
        help="write to this file (atomically) instead of stdout",
    )


def run(args: argparse.Namespace) -> int:
    settings = project_settings(None)
    source = Path(args.input) if args.input else settings.path(settings.project.report)
    report = json_report.load(source)
    text = render(
        report,
        args.format,
        settings,
        _shown(source, settings.root),
        color=args.output is None and _color_wanted(),
    )
    if args.output:
        atomic_write_text(Path(args.output), text)
        print(f"tddgate: wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if report.passed else 1


def render(
    report: Report, fmt: str, settings: Settings, source: str, *, color: bool = False
) -> str:
    """`report` in format `fmt` (one of FORMATS), as text ending in a newline."""
    from pytest_tddgate.report import github, html, markdown, sarif

    if fmt == "json":
        return json_report.render(report)
    if fmt == "terminal":
        return "".join(_paint(line, color) + "\n" for line in terminal.render(report, source))
    if fmt == "github":
        return github.render(report, more_in=source, prefix=repo_prefix(settings.root))
    links = repo_links(settings.root, report.head, os.environ)
    if fmt == "md":
        return markdown.render(report, links, source)
    if fmt == "sarif":
        return sarif.render(report, links, links.prefix if links else repo_prefix(settings.root))
    problems: list[str] = []
    page = html.render(report, recorded_runs(settings, problems), links)
    for problem in problems:
        print(problem, file=sys.stderr)
    return page


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _color_wanted() -> bool:
    # https://no-color.org: any value of NO_COLOR turns colour off
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _paint(line: terminal.Line, color: bool) -> str:
    if not color or (line.color is None and not line.bold):
        return line.text
    codes = [_ANSI[line.color]] if line.color in _ANSI else []
    if line.bold:
        codes.insert(0, "1")
    return f"\x1b[{';'.join(codes)}m{line.text}\x1b[0m"
