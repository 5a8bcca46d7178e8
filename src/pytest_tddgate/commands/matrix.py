"""`tddgate matrix`: the requirements and their last known status; `--update` adds
discovered tests and code to the matrix (see facts/matrix_edit.py)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pytest_tddgate.commands import project_settings
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import covdata, matrix_edit
from pytest_tddgate.facts.matrix import Matrix, compile_id_pattern, load, parse
from pytest_tddgate.facts.reqmarks import StaticTests
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.report import json_report
from pytest_tddgate.settings import Settings

if TYPE_CHECKING:
    import argparse

    from pytest_tddgate.model import Report

UNKNOWN = "unknown"
STATUS_ORDER = ("passing", "failing", "untested", "not-run", UNKNOWN)
TITLE_WIDTH = 48


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--update",
        action="store_true",
        help="add discovered tests (@pytest.mark.req markers, the last run) and code (coverage "
        "of the last run) to the matrix; nothing is removed",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="with --update: show the additions, write nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project root (default: the folder of pytest's configuration file, from the current "
        "folder upwards within the checkout)",
    )


def run(args: argparse.Namespace) -> int:
    settings = project_settings(args.root)
    loaded = _load(settings)
    report = _last_report(settings, sys.stderr)
    if args.update:
        return update(loaded, settings, report, sys.stdout, dry_run=args.dry_run)
    rows = table_rows(loaded, report)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print_table(rows, report, loaded, sys.stdout)
    return 0


def _load(settings: Settings) -> Matrix:
    pattern = compile_id_pattern(settings.traceability.id_pattern, settings.config_file)
    path = settings.path(settings.project.matrix)
    loaded = load(path, settings.root, id_pattern=pattern)
    if loaded is None:
        raise UsageError(
            "no traceability matrix",
            file=settings.project.matrix,
            fix='create it, e.g. {"requirements": [{"id": "REQ-001", "title": "...", '
            '"tests": [], "code": []}]} (see docs/gates/traceability.md), or set '
            "[tool.tddgate] matrix",
        )
    return loaded


def _last_report(settings: Settings, err: TextIO) -> Report | None:
    """The last run's report; None (with a note when it is unreadable) if there is none."""
    path = settings.path(settings.project.report)
    if not path.exists():
        return None
    try:
        return json_report.load(path)
    except UsageError as exc:
        print(f"tddgate: note: last report ignored: {exc.render()}", file=err)
        return None


def table_rows(loaded: Matrix, report: Report | None) -> list[dict[str, Any]]:
    """One row per requirement, in matrix order, with its status in the last run."""
    known = {r.id: r for r in report.requirements} if report else {}
    rows = []
    for requirement in loaded.requirements:
        last = known.get(requirement.id)
        rows.append(
            {
                "id": requirement.id,
                "title": requirement.title,
                "status": last.status if last else UNKNOWN,
                "tests": list(last.tests if last else requirement.tests),
                "code": list(requirement.code),
                "coverage_percent": last.coverage_percent if last else None,
            }
        )
    return rows


def print_table(
    rows: list[dict[str, Any]], report: Report | None, loaded: Matrix, out: TextIO
) -> None:
    header = ("ID", "STATUS", "TESTS", "CODE", "COVERAGE", "TITLE")
    cells = [
        (
            row["id"],
            row["status"],
            str(len(row["tests"])),
            str(len(row["code"])),
            "-" if row["coverage_percent"] is None else f"{row['coverage_percent']:.1f}%",
            _shorten(row["title"] or ""),
        )
        for row in rows
    ]
    widths = [max(len(c[i]) for c in (header, *cells)) for i in range(len(header))]
    for line in (header, *cells):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip(), file=out)
    counts = Counter(row["status"] for row in rows)
    parts = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])
    print(
        f"\n{len(rows)} requirement(s) in {loaded.display}" + (f": {parts}" if parts else ""),
        file=out,
    )
    if report is None:
        print("status: unknown until a run: `pytest --tddgate` records it", file=out)
    else:
        print(
            f"status from the run of {report.generated_at or 'an unknown time'}"
            + (f" at {report.head[:8]}" if report.head else ""),
            file=out,
        )


def _shorten(text: str) -> str:
    return text if len(text) <= TITLE_WIDTH else text[: TITLE_WIDTH - 3] + "..."


def update(
    loaded: Matrix, settings: Settings, report: Report | None, out: TextIO, *, dry_run: bool
) -> int:
    """Add discovered tests and code; print what was (or would be) added."""
    tests = StaticTests(settings.root, settings.test_roots)
    discovery = matrix_edit.Discovery(
        marked=tests.marked(),
        report=report,
        test_map=covdata.load_test_map(settings.root),
        source_roots=settings.source_roots,
        test_roots=settings.test_roots,
    )
    additions = matrix_edit.plan(loaded, discovery, settings.root)
    for item in additions:
        print(f"{item.requirement.id}:", file=out)
        print("".join(f"  + tests: {t}\n" for t in item.tests), end="", file=out)
        print("".join(f"  + code:  {c}\n" for c in item.code), end="", file=out)
    known = loaded.by_id()
    unknown = sorted({i for t in tests.marked() for i in t.requirements if i not in known})
    if unknown:
        print(
            f"note: tests are marked with ids not in {loaded.display}: {', '.join(unknown)} "
            "(add them by hand; they are not added, since a typo would hide)",
            file=out,
        )
    if not additions:
        print(f"{loaded.display} is up to date", file=out)
        return 0
    if dry_run:
        print(f"would update {loaded.display}: {len(additions)} requirement(s) (dry run)", file=out)
        return 0
    text = matrix_edit.apply(loaded, additions)
    # never write a matrix the next run would reject: check the result before replacing
    pattern = compile_id_pattern(settings.traceability.id_pattern, settings.config_file)
    parse(text, path=loaded.path, display=loaded.display, root=settings.root, id_pattern=pattern)
    atomic_write_text(loaded.path, text)
    print(f"updated {loaded.display}: {len(additions)} requirement(s)", file=out)
    return 0
