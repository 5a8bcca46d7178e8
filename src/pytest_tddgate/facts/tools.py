"""Ruff and mypy as data: where to find them, how to run them, how to read their output.

Each tool is a `ToolSpec`. `start()` launches it as a background process (at session
start, so it runs while the tests run); `collect()` waits for it and parses its output
into `ToolFinding`s. Newer tools are asked for machine-readable output (JSON); when a
tool rejects that flag (an older version), it runs once more in its text form, whose
parser is kept for exactly that case.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.facts.snapshot import staged_snapshot
from pytest_tddgate.facts.toolparse import (
    ToolFinding,
    UnparsableOutputError,
    mypy_config_has_targets,
    names_markdown,
    parse_mypy,
    parse_ruff_check,
    parse_ruff_format,
    ruff_config,
)
from pytest_tddgate.proc import Background, run

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.proc import Completed
    from pytest_tddgate.settings import Settings

__all__ = [
    "MYPY",
    "RUFF_CHECK",
    "RUFF_FORMAT",
    "ToolFinding",
    "ToolRun",
    "ToolSpec",
    "collect",
    "findings_of",
    "start",
    "start_gate",
    "tool_root",
    "unmeasured",
]

INSTALL = {
    "ruff": "pip install 'pytest-tddgate[ruff]'",
    "mypy": "pip install 'pytest-tddgate[mypy]'",
}
# variables that would make a tool's own Python process measure coverage or print
# colours: the tools must run as they do when a developer types them
_DROP_ENV = (
    "COVERAGE_PROCESS_START",
    "COVERAGE_PROCESS_CONFIG",
    "FORCE_COLOR",
    "MYPY_FORCE_COLOR",
    "PY_COLORS",
)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One tool invocation: how to build its command line and read what it prints."""

    key: str  # key in `facts.background`, e.g. "ruff-format"
    gate: str  # the gate (and settings section) it belongs to
    label: str  # how messages name it, e.g. "ruff format --check"
    build: Callable[[Settings, bool], tuple[str, ...]]  # (settings, modern) -> command
    parse: Callable[[bytes, Path], tuple[ToolFinding, ...]]
    modern_flag: str  # the flag older versions reject; without it the text form is read
    blocking_code: int | None = None  # exit code that still carries findings


@dataclass(frozen=True, slots=True)
class ToolRun:
    """A finished tool run: the command that ran and what it found."""

    key: str
    command: tuple[str, ...]
    returncode: int
    findings: tuple[ToolFinding, ...]
    duration_s: float


def _ruff() -> tuple[str, ...]:
    """The ruff of the running interpreter's environment, else the one on PATH."""
    found = shutil.which("ruff", path=sysconfig.get_path("scripts")) or shutil.which("ruff")
    if found is None:
        raise _missing("ruff", f"neither in the environment of {sys.executable} nor on PATH")
    return (found,)


def _mypy() -> tuple[str, ...]:
    """`python -m mypy` of this interpreter (it sees the project's packages), else PATH's.

    A mypy from PATH may live in another environment (pipx, a system package); it is
    pointed at this interpreter so that it resolves imports as the tests do.
    """
    if importlib.util.find_spec("mypy") is not None:
        # -P (3.11+): `-m` would put the project folder first on sys.path, so a module
        # of the project named like one of mypy's own (pathspec.py, tomli.py) would be
        # imported, and run, in its place; 3.10 has no -P, so a script does the same
        if sys.version_info >= (3, 11):
            return (sys.executable, "-P", "-m", "mypy")
        return (sys.executable, str(Path(__file__).parent.parent / "mypy_entry.py"))
    found = shutil.which("mypy")
    if found is None:
        raise _missing("mypy", f"neither importable by {sys.executable} nor on PATH")
    return (found, f"--python-executable={sys.executable}")


def _missing(tool: str, why: str) -> FactError:
    return FactError(
        f"{tool} is not installed ({why}); install it with {INSTALL[tool]}",
        fix=f"{INSTALL[tool]}, or turn the gate off with "
        f"`[tool.tddgate.gates.{tool}] enabled = false`",
    )


def _ruff_check_command(settings: Settings, modern: bool) -> tuple[str, ...]:
    # --no-fix: a project's `fix = true` must not let a check rewrite files
    form = ("--output-format=json",) if modern else ()
    return (
        *_ruff(),
        "check",
        "--no-fix",
        *form,
        *_python_only(settings),
        *_first_party(settings),
        *settings.ruff.args,
    )


def _ruff_format_command(settings: Settings, modern: bool) -> tuple[str, ...]:
    form = ("--output-format=json",) if modern else ()
    return (*_ruff(), "format", "--check", *form, *_python_only(settings))


def _python_only(settings: Settings) -> tuple[str, ...]:
    """Recent ruff also formats the Python blocks of Markdown files by default
    (`*.md` in its default `include`): a README would fail a gate about the
    project's Python. Unless the project's ruff configuration names Markdown itself,
    the gate judges the Python files only."""
    return () if names_markdown(settings.root) else ("--extend-exclude=*.md",)


def _first_party(settings: Settings) -> tuple[str, ...]:
    """ruff sorts an import of a project module it cannot find as third-party: a test
    written before its module (test first) fails I001, and the fix ruff suggests is
    wrong once the module exists. Unless the project classifies packages itself, the
    gate names the source roots' top-level packages first-party, which is what ruff
    finds anyway once every module exists."""
    found = ruff_config(settings.root)
    if found is not None and _classifies_packages(found[1]):
        return ()
    packages = sorted(
        {name for source in settings.source_roots for name in _packages(settings.root / source)}
    )
    if not packages:
        return ()
    return ("--config", f"lint.isort.known-first-party = {json.dumps(packages)}")


def _classifies_packages(table: dict[str, Any]) -> bool:
    lint = table.get("lint")
    sections = [table.get("isort"), lint.get("isort") if isinstance(lint, dict) else None]
    keys = ("known-first-party", "known-third-party", "known-local-folder")
    return any(isinstance(s, dict) and any(k in s for k in keys) for s in sections)


def _packages(folder: Path) -> set[str]:
    """The importable top-level names a source root holds (itself, if a package)."""
    if (folder / "__init__.py").is_file():
        return {folder.name}
    try:
        entries = list(folder.iterdir())
    except OSError:
        return set()
    names = set()
    for entry in entries:
        if entry.is_dir() and (entry / "__init__.py").is_file():
            names.add(entry.name)
        elif entry.is_file() and entry.suffix == ".py":
            names.add(entry.stem)
    return {name for name in names if name.isidentifier()}


def _mypy_command(settings: Settings, modern: bool) -> tuple[str, ...]:
    form = ("--output=json",) if modern else ()
    # the text flags pin the form the text parser reads, whatever the project's config says
    text = (
        "--show-error-codes",
        "--no-error-summary",
        "--no-pretty",
        "--show-column-numbers",
        "--no-color-output",
    )
    return (*_mypy(), *form, *text, *mypy_arguments(settings))


def mypy_arguments(settings: Settings) -> tuple[str, ...]:
    """`gates.mypy.args`, plus the default targets unless the args name targets.

    The default targets are none when the project's mypy config lists `files`
    (mypy then reads them itself), else the source roots.
    """
    args = settings.mypy.args
    if any(not arg.startswith("-") for arg in args):
        return args
    if mypy_config_has_targets(settings.root):
        return args
    return (*args, *(settings.source_roots or (".",)))


RUFF_CHECK = ToolSpec(
    "ruff", "ruff", "ruff check", _ruff_check_command, parse_ruff_check, "--output-format"
)
RUFF_FORMAT = ToolSpec(
    "ruff-format",
    "ruff",
    "ruff format --check",
    _ruff_format_command,
    parse_ruff_format,
    "--output-format",
    blocking_code=2,
)
MYPY = ToolSpec("mypy", "mypy", "mypy", _mypy_command, parse_mypy, "--output", blocking_code=2)


def tool_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in _DROP_ENV and not k.startswith("COV_CORE_")
    }


def tool_root(facts: Facts) -> Path:
    """Where the tools run and whose files they judge: the project root, or with
    `--staged` its counterpart in a copy of the index (see facts/snapshot.py)."""
    if not facts.staged:
        return facts.settings.root
    return facts.get(staged_snapshot).root


def _command(facts: Facts, spec: ToolSpec, modern: bool) -> tuple[str, ...]:
    command = spec.build(facts.settings, modern)
    if not facts.staged:
        return command
    if spec.gate == "ruff":
        # a fresh copy's files are all new: its cache would only be written, never read
        return command if facts.get(staged_snapshot).kept else (*command, "--no-cache")
    if spec.gate == "mypy" and not _names_cache_dir(command):
        # the project's own cache: mypy checks each module's content hash when its
        # path or time changed, so the copy reuses what earlier runs learned, and a
        # cold start (seconds) happens once, not on every commit
        return (*command, f"--cache-dir={facts.settings.root / '.mypy_cache'}")
    return command


def _names_cache_dir(command: tuple[str, ...]) -> bool:
    return bool(os.environ.get("MYPY_CACHE_DIR")) or any(
        arg.startswith("--cache-dir") for arg in command
    )


def start(facts: Facts, spec: ToolSpec) -> None:
    """Launch the tool in the background unless it already runs; FactError if missing."""
    if spec.key in facts.background:
        return
    settings = facts.settings
    facts.background[spec.key] = Background(
        _command(facts, spec, True),
        cwd=tool_root(facts),
        timeout=settings.gate(spec.gate).timeout,
        ok_codes=(0, 1, 2),  # 2 is judged by `collect`: blocking findings or a crash
        env=tool_env(),
    )


def start_gate(facts: Facts, gate: str) -> None:
    """Launch every tool of `gate` before waiting for any, so they overlap."""
    for spec in specs_of(facts.settings, gate):
        start(facts, spec)


def unmeasured(settings: Settings) -> frozenset[tuple[str, str]]:
    """(gate, rule) pairs the settings switch off, whose recorded findings stay as they are."""
    return frozenset() if settings.ruff.format else frozenset({("ruff", "unformatted")})


def specs_of(settings: Settings, gate: str) -> tuple[ToolSpec, ...]:
    if gate == "ruff":
        return (RUFF_CHECK, RUFF_FORMAT) if settings.ruff.format else (RUFF_CHECK,)
    if gate == "mypy":
        return (MYPY,)
    raise ValueError(f"no tools for gate {gate!r}")


def collect(facts: Facts, spec: ToolSpec) -> ToolRun:
    """Wait for the tool (starting it now if no session started it) and parse its output."""
    start(facts, spec)
    try:
        done = facts.background[spec.key].result()
        if done.returncode == 2 and _rejects_modern_form(spec, done.stderr):
            done = run(
                _command(facts, spec, False),
                cwd=tool_root(facts),
                ok_codes=(0, 1, 2),
                timeout=facts.settings.gate(spec.gate).timeout,
                env=tool_env(),
            )
    except ToolError as exc:
        if exc.returncode is None:
            timeout = facts.settings.gate(spec.gate).timeout
            raise _failed(
                spec,
                exc.command,
                f"timed out after {timeout:g} s and was stopped",
                exc.stderr,
                hang=True,
            ) from None
        if exc.returncode == 127:
            raise _missing(spec.gate, f"{exc.command[0]} could not be started") from None
        raise _failed(spec, exc.command, f"failed (exit {exc.returncode})", exc.stderr) from None
    findings = _findings(spec, done, tool_root(facts))
    return ToolRun(spec.key, done.command, done.returncode, findings, round(done.duration_s, 4))


def _rejects_modern_form(spec: ToolSpec, stderr: str) -> bool:
    """An older tool that does not know the JSON flag (clap and argparse wordings)."""
    return spec.modern_flag in stderr and (
        "unexpected argument" in stderr or "unrecognized arguments" in stderr
    )


def _findings(spec: ToolSpec, done: Completed, root: Path) -> tuple[ToolFinding, ...]:
    """Parse the output; an exit code that promises findings must deliver some."""
    code = done.returncode
    try:
        findings = spec.parse(done.stdout, root)
    except UnparsableOutputError as exc:
        if code in (0, 1):
            raise _failed(
                spec, done.command, f"printed output we could not read ({exc})", done.stderr
            ) from None
        findings = ()
    if code == 0 or (findings and code in (1, spec.blocking_code)):
        return findings
    if code == 1:
        raise _failed(spec, done.command, "exited 1 but reported nothing readable", done.stderr)
    raise _failed(spec, done.command, f"failed (exit {code})", done.stderr)


def _failed(
    spec: ToolSpec, command: tuple[str, ...], what: str, stderr: str, *, hang: bool = False
) -> FactError:
    """A crash or a hang: say so with the end of stderr and how to reproduce it."""
    tail = [line.strip() for line in stderr.strip().splitlines()[-5:] if line.strip()]
    message = f"`{spec.label}` {what}" + (": " + " | ".join(tail) if tail else "")
    by_hand = f"run `{' '.join(command)}` by hand"
    if hang:
        return FactError(
            message, fix=f"raise `gates.{spec.gate}.timeout`, or {by_hand} to see why it hangs"
        )
    return FactError(message, fix=f"{by_hand} to see the whole error")


def findings_of(facts: Facts, gate: str) -> tuple[ToolFinding, ...]:
    """Every finding of `gate`'s tools, the same list for the gate and for the baseline.

    Syntax errors appear in both `ruff check` and `ruff format`; only check's count.
    """
    start_gate(facts, gate)
    found: list[ToolFinding] = []
    for spec in specs_of(facts.settings, gate):
        run_ = facts.get(_FACTS[spec.key])
        found += [f for f in run_.findings if spec is not RUFF_FORMAT or f.whole_file]
    return tuple(found)


def ruff_check(facts: Facts) -> ToolRun:
    return collect(facts, RUFF_CHECK)


def ruff_format(facts: Facts) -> ToolRun:
    return collect(facts, RUFF_FORMAT)


def mypy(facts: Facts) -> ToolRun:
    return collect(facts, MYPY)


_FACTS: dict[str, Callable[[Facts], ToolRun]] = {
    RUFF_CHECK.key: ruff_check,
    RUFF_FORMAT.key: ruff_format,
    MYPY.key: mypy,
}
