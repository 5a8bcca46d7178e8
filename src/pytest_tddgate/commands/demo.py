"""`tddgate demo`: every gate passing, then failing, on a throwaway project.

Builds a small project with a real git history in a temporary folder (see
demo_project.py), runs `pytest --tddgate` on it twice in a subprocess, once after a
change made the way the rules want it and once after a change that breaks one rule
per gate, prints both reports and explains, gate by gate, what they show. The
folder is removed afterwards unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_tddgate.commands.demo_project import EXPLAIN, START, STEP_1, STEP_2, Commit
from pytest_tddgate.errors import ToolError, UsageError
from pytest_tddgate.model import Report, Verdict
from pytest_tddgate.proc import run as run_command
from pytest_tddgate.report import json_report, terminal

PYTEST_TIMEOUT = 300.0
# variables of the caller's shell that would change what the demo's runs do
_ENV_DROP = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "TDDGATE_BASE",
    "TDDGATE_ROLE",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "COVERAGE_PROCESS_START",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep", action="store_true", help="keep the demo project's folder and say where it is"
    )


def run(args: argparse.Namespace) -> int:
    if shutil.which("git") is None:
        raise UsageError(
            "the demo needs git, which is not installed",
            fix="install git (https://git-scm.com/downloads)",
        )
    folder = Path(tempfile.mkdtemp(prefix="tddgate-demo-"))
    try:
        return _demo(folder, keep=args.keep)
    finally:
        if args.keep:
            print(f"\nThe demo project is kept in {folder}")
        else:
            remove_tree(folder)


def _demo(folder: Path, *, keep: bool) -> int:
    print(f"tddgate demo: a throwaway project with a git history, in {folder}\n")
    _init_repository(folder)
    _commit(folder, START, 0)
    _git(folder, "checkout", "-q", "-b", "feature")
    print(
        "Step 1: alice (qa) commits tests/test_cart.py, then bob (backend) commits "
        "src/shop/cart.py."
    )
    for number, commit in enumerate(STEP_1, start=1):
        _commit(folder, commit, number)
    first = _run_gates(folder, [])
    if first is None:
        return 1
    print(
        "\nStep 2: bob commits src/shop/discount.py (and edits a test), then alice "
        "tests it and adds REQ-2 to the matrix."
    )
    for number, commit in enumerate(STEP_2, start=len(STEP_1) + 1):
        _commit(folder, commit, number)
    html = [f"--tddgate-html={folder / '.tddgate' / 'html'}"] if keep else []
    second = _run_gates(folder, html)
    if second is None:
        return 1
    print("\n" + "\n".join(explain(first, second)))
    if keep and second.gates:
        print(f"\nHTML report of step 2: {folder / '.tddgate' / 'html' / 'index.html'}")
    return 0


def explain(first: Report, second: Report) -> list[str]:
    """What the two reports show, in a few plain lines per gate."""
    lines = ["What the gates saw:"]
    names = list(dict.fromkeys([g.name for g in first.gates] + [g.name for g in second.gates]))
    width = max((len(name) for name in names), default=5)
    for name in names:
        before, after = first.gate(name), second.gate(name)
        statuses = " -> ".join(g.status.value if g else "absent" for g in (before, after))
        lines.append(f"  {name:<{width}}  {statuses}")
        planned = EXPLAIN.get(name)
        for step, gate, planned_text in (
            (1, before, planned[0] if planned else None),
            (2, after, planned[1] if planned else None),
        ):
            if gate is None:
                continue
            expected = Verdict.PASS if step == 1 else Verdict.FAIL
            if planned_text is not None and gate.status is expected:
                text = planned_text
            else:  # a gate that could not judge says why (e.g. ruff not installed)
                text = f"{gate.status.value}: {gate.summary}"
            lines.append(f"  {'':<{width}}  step {step}: {text}")
    lines.append("")
    lines.append("Start on your own project with `tddgate init`, then `pytest --tddgate`.")
    return lines


def _run_gates(folder: Path, extra: Sequence[str]) -> Report | None:
    """Run `pytest --tddgate` in `folder`, print its report; None if there is none."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_tddgate.plugin",
        "--tddgate",
        "--tddgate-no-learn",
        "-p",
        "no:cacheprovider",
        "-q",
        "--color=no",
        *extra,
    ]
    print("  $ pytest --tddgate")
    report_file = folder / ".tddgate" / "report.json"
    report_file.unlink(missing_ok=True)
    try:
        done = run_command(
            command, cwd=folder, ok_codes=(0, 1), timeout=PYTEST_TIMEOUT, env=_environment(folder)
        )
    except ToolError as exc:
        print(f"  pytest did not complete: {exc.message}")
        print(_indent(exc.stderr))
        return None
    if not report_file.is_file():
        print("  pytest wrote no tddgate report; its output:")
        print(_indent(done.text + done.stderr))
        return None
    report = json_report.load(report_file)
    for line in terminal.render(report):
        print(_indent(line.text))
    return report


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # only our plugin: other installed plugins cost start-up time and could change
    # the demo's runs (random order, reruns); `-p pytest_tddgate.plugin` loads ours
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("CI", None)  # the demo is a local run, whoever starts it
    # ruff and mypy installed beside this Python count even when its virtualenv is
    # not activated (`/path/to/venv/bin/tddgate demo`)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([scripts, *filter(None, [env.get("PATH")])])
    return env


def _init_repository(folder: Path) -> None:
    _git(folder, "init", "-q")
    # `git init -b` needs git 2.28; this works with any git
    _git(folder, "symbolic-ref", "HEAD", "refs/heads/main")


def _commit(folder: Path, commit: Commit, number: int) -> None:
    for path, content in commit.files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    _git(folder, "add", "-A")
    name, email = commit.author
    # fixed dates: the demo's history is the same on every machine
    date = f"2026-01-0{1 + number // 24}T{number % 24:02d}:00:00+00:00"
    _git(
        folder,
        "-c",
        f"user.name={name}",
        "-c",
        f"user.email={email}",
        "commit",
        "-q",
        "--no-verify",
        "--no-gpg-sign",
        "-m",
        commit.message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )


def _git(folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
    """git with none of the caller's configuration (hooks, signing, templates)."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "SYSTEMROOT", "TMPDIR")}
    base.update(
        {
            "HOME": str(folder),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
            **(env or {}),
        }
    )
    run_command(["git", *args], cwd=folder, env=base, timeout=60.0)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


def remove_tree(folder: Path) -> None:
    """Remove the demo folder, read-only files included (git objects on Windows)."""

    def writable_then_retry(function: Callable[[str], object], path: str, _: object) -> None:
        Path(path).chmod(stat.S_IWRITE)
        function(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=writable_then_retry)
    else:  # pragma: no cover - the 3.12 spelling; `onerror` warns there
        shutil.rmtree(folder, onerror=writable_then_retry)
