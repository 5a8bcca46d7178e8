"""`tddgate init`: set up pytest-tddgate in an existing repository.

Writes what a first `pytest --tddgate` needs and nothing it would overwrite:
a commented `[tool.tddgate]` section in pyproject.toml (only if there is none), an
example role file, an empty traceability matrix and the `.gitignore` entries for
`.tddgate/` and coverage's `.coverage` files; then prints the pre-commit and GitHub
Actions snippets. Every step keeps what exists, so running it again changes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from pytest_tddgate.errors import ToolError, UsageError
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.settings import (
    GATE_SECTIONS,
    SECTION,
    ProjectOptions,
    default_sources,
    load_pyproject,
    resolve,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# the role shown, commented out, as an example of `role` in [tool.tddgate]
EXAMPLE_ROLE = "backend"
# (key, example value or None for the default) of [tool.tddgate], commented out
_TOP_KEYS: tuple[tuple[str, Any], ...] = (
    ("source", None),
    ("tests", ("tests",)),
    ("base", "origin/main"),
    ("matrix", None),
    ("roles", None),
    ("markdown", ".tddgate/report.md"),
    ("sarif", ".tddgate/report.sarif"),
    ("html", ".tddgate/html"),
)
# gate -> keys shown, commented out, under [tool.tddgate.gates.<gate>]
_GATE_KEYS: dict[str, tuple[str, ...]] = {
    "tdd": ("mode", "same_commit", "exempt"),
    "coverage": ("new", "total"),
    "ruff": ("optional",),
    "mypy": ("optional",),
}
_EXAMPLES: dict[str, Any] = {"gates.coverage.total": 90.0}

ROLES_FILE = """\
# Role rules of pytest-tddgate (gate `roles`): which role may change which files.
# Globs are gitignore-style: `docs/*.md` stays in docs/, `**` crosses folders.
#
# The role of a commit is its `Role:` trailer, else its author's entry in
# `members`, else TDDGATE_ROLE, else `role` in [tool.tddgate] of pyproject.toml;
# changes not committed yet take TDDGATE_ROLE or `role`. A change with no role
# fails the gate (see `unknown_role` in docs/configuration.md).
#
# Example roles, to rename and adapt: qa writes the tests, backend everything else.
roles:
  qa: {{owns: {tests}}}
  backend: {{never: {tests}}}
  # A role with neither `owns` nor `never` is a catch-all: whoever has it may change
  # every file, and the gate checks nothing for them. None is written on purpose;
  # add one only for people who may change anything, e.g.
  # dev: {{}}
members: {{}}
  # "alice@example.com": qa
# Tests changed by `qa` must come before the implementation changed by `backend`:
# order:
#   - {{before: qa, after: backend}}
"""

# a local hook: it runs the tddgate, ruff and mypy of the project's own environment,
# where mypy resolves the project's imports as the tests do (docs/pre-commit.md)
PRE_COMMIT_SNIPPET = """\
# .pre-commit-config.yaml
repos:
  - repo: local
    hooks:
      - id: tddgate
        name: tddgate check --staged
        entry: tddgate check --staged
        language: system
        pass_filenames: false
        always_run: true
"""

WORKFLOW_SNIPPET = """\
# .github/workflows/tddgate.yml
name: tddgate
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  tddgate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # the tdd and roles gates read the history since the base
          ref: ${{ github.event.pull_request.head.sha || github.sha }}
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -e . "pytest-tddgate[all]"
      - run: pytest --tddgate
        env:
          TDDGATE_BASE: ${{ github.event.pull_request.base.sha }}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=None,
        help="the project folder (default: the folder of pytest's configuration "
        "file if it has a pyproject.toml, else the repository's top folder)",
    )
    parser.add_argument(  # the guard's set-up lives in init_agent.py
        "--agent",
        choices=("claude",),
        help="also wire `tddgate guard` into the coding agent's hooks (.claude/settings.json)",
    )


def run(args: argparse.Namespace) -> int:
    root = _target(Path(args.path) if args.path else None)
    # existing settings may name other files; a broken [tool.tddgate] exits 4 here,
    # before anything is written
    settings = resolve(root)
    roles = settings.path(settings.project.roles)
    matrix = settings.path(settings.project.matrix)
    actions = [
        write_pyproject(root),
        _create(roles, roles_file(settings.test_roots), root),
        _create(matrix, json.dumps({"requirements": []}, indent=2) + "\n", root),
        ignore_tddgate(root / ".gitignore"),
    ]
    if getattr(args, "agent", None):
        from pytest_tddgate.commands import init_agent

        actions += init_agent.set_up(root, args.agent)
    print(f"tddgate init in {root}:")
    for action in actions:
        print(f"  {action}")
    print("\nAdd the pre-commit hook (runs `tddgate check --staged`, no tests):\n")
    print(PRE_COMMIT_SNIPPET)
    print("Make it a required check on GitHub:\n")
    print(WORKFLOW_SNIPPET)
    print(
        "Next: edit the example roles in the role file, and give each person or agent\n"
        "its role (TDDGATE_ROLE=qa, a `Role:` trailer, or `members`); then\n"
        "`pytest --tddgate` runs your tests and every gate."
    )
    if getattr(args, "agent", None):
        from pytest_tddgate.commands.init_agent import ROLE_HELP

        print(f"\n{ROLE_HELP}")
    return 0


def roles_file(test_roots: tuple[str, ...]) -> str:
    """The example role file, with the project's own test folders as qa's."""
    tests = _toml([f"{folder.rstrip('/')}/**" for folder in test_roots or ("tests",)])
    return ROLES_FILE.format(tests=tests)


def pyproject_section(root: Path) -> str:
    """The commented `[tool.tddgate]` section; help texts and defaults come from the
    settings table, so the comments cannot drift from what the settings accept."""
    fields = {f.name: f for f in dataclasses.fields(ProjectOptions)}
    lines = [
        "",
        f"[{SECTION}]",
        "# pytest-tddgate: `pytest --tddgate` runs your tests, then the gates.",
        "# Every key is optional; commented-out values are examples or defaults.",
        "# Reference: docs/configuration.md",
    ]
    role = fields["role"]
    lines += [
        "",
        f"# {role.metadata['help']}",
        "# Unset on purpose: a change with no role fails the `roles` gate. Give each person",
        "# or agent its role with TDDGATE_ROLE or a `Role:` trailer; a `role` here is the",
        "# role of everyone who has none, so name one with few rights, never a catch-all.",
        f"# role = {_toml(EXAMPLE_ROLE)}",
    ]
    for key, example in _TOP_KEYS:
        f = fields[key]
        value = example if example is not None else f.default
        if key == "source" and value is None:
            value = default_sources(root) or ("src",)
        lines += [f"# {f.metadata['help']}", f"# {key} = {_toml(value)}"]
    for gate, keys in _GATE_KEYS.items():
        gate_fields = {f.name: f for f in dataclasses.fields(GATE_SECTIONS[gate])}
        lines += ["", f"[{SECTION}.gates.{gate}]"]
        for key in keys:
            f = gate_fields[key]
            value = _EXAMPLES.get(f"gates.{gate}.{key}", f.default)
            lines += [f"# {f.metadata['help']}", f"# {key} = {_toml(value)}"]
    return "\n".join(lines) + "\n"


def write_pyproject(root: Path) -> str:
    """Append the section to pyproject.toml (create a minimal one); never overwrite."""
    path = root / "pyproject.toml"
    _, _, text = load_pyproject(root)  # UsageError (exit 4) for a broken file
    if text and "tddgate" in _tool_tables(text):
        return "pyproject.toml: [tool.tddgate] exists, left unchanged"
    section = pyproject_section(root)
    if text:
        new_text = text + ("" if text.endswith("\n") else "\n") + section
        done = "added [tool.tddgate], its settings commented out"
    else:
        new_text = f'[project]\nname = "{_project_name(root)}"\nversion = "0.1.0"\n' + section
        done = "created, with [tool.tddgate] and its settings commented out"
    tomllib.loads(new_text)  # the result must parse before it replaces anything
    atomic_write_text(path, new_text)
    return f"pyproject.toml: {done}"


# What `pytest --tddgate` writes into the project: the reports and the ledger, and the
# coverage data file (coverage.py's default name). Not ignored, `.coverage` would show
# up as an uncommitted change that the roles gate judges, and be committed by `git add -A`.
_IGNORED = (
    ("# pytest-tddgate: reports and the run ledger", ".tddgate/"),
    ("# coverage data that `pytest --tddgate` writes", ".coverage"),
    (None, ".coverage.*"),
)


def ignore_tddgate(path: Path) -> str:
    """Add `.tddgate/` and coverage's data files to .gitignore, unless lines ignore them."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    entries = {line.strip().lstrip("/").rstrip("/") for line in text.splitlines()}
    added: list[str] = []
    lines: list[str] = []
    for comment, entry in _IGNORED:
        if entry.rstrip("/") in entries:
            continue
        if comment is not None:
            lines.append(comment)
        lines.append(entry)
        added.append(entry)
    if not added:
        return ".gitignore: already ignores .tddgate/ and .coverage"
    separator = "" if not text or text.endswith("\n") else "\n"
    atomic_write_text(path, text + separator + "\n".join(lines) + "\n")
    return f".gitignore: {'added' if text else 'created with'} {', '.join(added)}"


def _create(path: Path, content: str, root: Path) -> str:
    shown = path.relative_to(root).as_posix()
    if path.exists():
        return f"{shown}: exists, left unchanged"
    atomic_write_text(path, content)
    return f"{shown}: created"


def _tool_tables(text: str) -> dict[str, Any]:
    tool = tomllib.loads(text).get("tool", {})
    return tool if isinstance(tool, dict) else {}


def _target(given: Path | None) -> Path:
    """The project folder; it must be inside a git repository."""
    from pytest_tddgate.commands import find_root
    from pytest_tddgate.facts.git import git

    start = (given or Path.cwd()).resolve()
    if not start.is_dir():
        raise UsageError(f"{start} is not a folder", fix="pass the project's folder")
    try:
        top = Path(git(["rev-parse", "--show-toplevel"], start).text.strip())
    except ToolError:
        raise UsageError(
            f"{start} is not inside a git repository",
            fix="run `git init` first: the tdd and roles gates read the history",
        ) from None
    if given is not None:
        return start
    found, _ = find_root(start)
    return found if found.is_relative_to(top) and (found / "pyproject.toml").is_file() else top


def _project_name(root: Path) -> str:
    name = "".join(c if c.isalnum() else "-" for c in root.name.lower()).strip("-")
    return name or "project"


def _toml(value: Any) -> str:
    """A settings value as TOML (strings as JSON, which TOML's basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value, ensure_ascii=False)
