"""`tddgate check`: the static gates (tdd, roles, traceability) with no test run.

It is the pre-commit hook (`tddgate check --staged`), so it starts fast: pytest is
never imported on this path (pytest's `testpaths` are read from the configuration
files here), and the gate machinery is imported only once the arguments parsed.

Exit status: 0 every gate passed (or was skipped), 1 a gate failed or could not
judge, 4 a usage error (bad settings, matrix or role file).
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tddgate.model import GateResult, Report
    from pytest_tddgate.settings import Settings

_COLORS = {"red": "31", "green": "32", "yellow": "33"}


def _gate_list(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected gate names separated by commas, e.g. tdd,roles")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--staged",
        action="store_true",
        help="judge the index (what `git commit` would record) instead of "
        "the working tree; for the pre-commit hook",
    )
    parser.add_argument(
        "--base",
        metavar="REV",
        help="git revision the range starts from (env TDDGATE_BASE; default: "
        "merge-base with origin/HEAD, origin/main, main or master)",
    )
    parser.add_argument(
        "--role",
        metavar="NAME",
        help="role of uncommitted changes and of commits without a Role: "
        "trailer (env TDDGATE_ROLE)",
    )
    parser.add_argument("--only", metavar="G1,G2", type=_gate_list, help="run only these gates")
    parser.add_argument("--skip", metavar="G1,G2", type=_gate_list, help="do not run these gates")
    parser.add_argument(
        "--message-file",
        metavar="PATH",
        type=Path,
        help="the message of the commit being made (pre-commit's commit-msg "
        "stage): its trailers, e.g. `Tdd: refactor`, apply to the staged changes",
    )
    parser.add_argument(
        "--report", metavar="PATH", type=Path, help="also write the JSON report to PATH"
    )


def run(args: argparse.Namespace) -> int:
    # imported here, after parsing: `tddgate --help` and the other commands stay fast
    from pytest_tddgate import engine
    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.history import COMMIT_MESSAGE
    from pytest_tddgate.gates import builtin_gates
    from pytest_tddgate.settings import Overrides, resolve

    root, testpaths = find_root(Path.cwd())
    overrides = {"base": args.base, "role": args.role, "only": args.only, "skip": args.skip}
    settings = resolve(root, overrides=Overrides(values=overrides), testpaths=testpaths)
    facts = Facts(settings, staged=args.staged)
    if args.message_file is not None:
        facts.provided[COMMIT_MESSAGE] = _read_message(args.message_file)
    gates = builtin_gates()
    engine.validate(gates, settings, facts)
    results = engine.evaluate(gates, settings, facts, static_only=True)
    report = build_report(settings, facts, results)
    if args.report is not None:
        from pytest_tddgate.report import write_json

        write_json(report, args.report.resolve())
    print_report(report, color=_use_color())
    return 0 if report.passed else 1


def _read_message(path: Path) -> str:
    from pytest_tddgate.errors import UsageError

    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(
            f"cannot read the commit message: {exc.strerror}",
            file=path,
            fix="pass the message file git gives the commit-msg hook",
        ) from None


def build_report(settings: Settings, facts: Any, results: tuple[GateResult, ...]) -> Report:
    """The report of a check: gate results plus the range (when git could tell it)."""
    from pytest_tddgate import __version__
    from pytest_tddgate.errors import FactError
    from pytest_tddgate.facts.git import revisions
    from pytest_tddgate.model import Report

    base = head = None
    try:
        revs = facts.get(revisions)
        base, head, note = revs.base, revs.head, revs.base_note
    except FactError as exc:
        note = f"unknown ({exc.message})"
    return Report(
        gates=results,
        base=base,
        head=head,
        role=settings.project.role,
        base_note=note,
        tool_version=__version__,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def print_report(report: Report, *, color: bool) -> None:
    from pytest_tddgate.report import terminal

    for line in terminal.render(report):
        text = line.text
        if color and (line.color or line.bold):
            codes = ";".join(
                c for c in ("1" if line.bold else "", _COLORS.get(line.color or "")) if c
            )
            text = f"\x1b[{codes}m{text}\x1b[0m"
        print(text)
    sys.stdout.flush()


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()


def find_root(start: Path) -> tuple[Path, list[str]]:
    """The project root pytest would use (the folder of its configuration file, up to
    the top of the checkout) and pytest's `testpaths` there."""
    for folder in (start, *start.parents):
        testpaths = pytest_testpaths(folder)
        if testpaths is not None:
            return folder, testpaths
        if (folder / ".git").exists():
            break
    return start, []


def pytest_testpaths(folder: Path) -> list[str] | None:
    """`testpaths` of the pytest configuration in `folder`, in pytest's order of
    precedence; None when `folder` holds no pytest configuration."""
    for name, section in (("pytest.ini", "pytest"), (".pytest.ini", "pytest")):
        if (folder / name).is_file():
            return _ini_testpaths(folder / name, section) or []
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        return _toml_testpaths(pyproject)
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        found = _ini_testpaths(folder / name, section) if (folder / name).is_file() else None
        if found is not None:
            return found
    return None


def _ini_testpaths(path: Path, section: str) -> list[str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None  # pytest itself reports a broken ini file
    if not parser.has_section(section):
        return None
    return shlex.split(parser.get(section, "testpaths", fallback=""))


def _toml_testpaths(path: Path) -> list[str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # settings.resolve reads the same file and reports the error with exit 4
    value = data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("testpaths", [])
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value] if isinstance(value, list) else []
