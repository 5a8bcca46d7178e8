"""Check: the `tdd` gate's verdicts against a labelled corpus of real histories.

    python benchmarks/tdd_corpus.py [--runner pytest|check] [--project NAME ...]
                                    [--repo NAME=PATH ...] [--json PATH]

benchmarks/corpus/tdd_labels.json holds, for ranges `base..head` of real projects'
histories (flask, rich, asgiref, sqlparse, pyparsing), the verdict a careful reviewer
gives each implementation file by reading the commits: `pass` when a test for the
behaviour came at or before the first commit that changed the file's behaviour,
`fail` when not (benchmarks/corpus/README.md says how they were labelled).

For each range this checks `head` out into a temporary `git worktree`, runs the gate
with that base, reads its JSON report and compares each labelled file's verdict:

- `--runner pytest` (default): `python -m pytest --tddgate --tddgate-only=tdd
  --tddgate-base=BASE -p no:cacheprovider` in the worktree, in a virtualenv made once
  under benchmarks/_work/corpus with this plugin (editable, so the current tree is
  measured) and the projects' test dependencies. The project's own tests run: the
  verdict may use what the test run shows, and must not depend on the other gates.
  A range whose tests cannot start at all (an old conftest.py that fails to import
  against today's dependencies, so pytest writes no report) is judged by
  `tddgate check` instead, and the run's line says so.
- `--runner check`: `tddgate check --only tdd --base BASE`, no test run (seconds).

The histories are never committed. Each project's is looked for in `--repo NAME=PATH`,
then `$TDDGATE_CORPUS_DIR/NAME`, then benchmarks/_work/NAME (a clone or a bare git
directory); a project without one is skipped with the command that fetches it
(`git clone https://github.com/OWNER/NAME benchmarks/_work/NAME`).

It prints one row per labelled file, the files the gate flags that are not labelled,
and the precision and recall of the gate's `fail` verdicts: a false alarm is a `fail`
on a file labelled `pass`, a miss a `pass` on a file labelled `fail`, and a wrong
commit a `fail` that names another commit than the one that changed behaviour first.
Exit 1 on any of them, or when a run gives no report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench_pipeline import make_venv  # this folder's, beside it

HERE = Path(__file__).resolve().parent
LABELS = HERE / "corpus" / "tdd_labels.json"
WORK = HERE / "_work"
# the test dependencies of all five projects go into one virtualenv; each project's own
# package is imported from its worktree (the current folder, or src/), never installed
TEST_DEPS = (
    "werkzeug",
    "jinja2",
    "itsdangerous",
    "click",
    "blinker",
    "asgiref",
    "python-dotenv",
    "pygments",
    "markdown-it-py",
    "attrs",
    "pytest-asyncio",
    "railroad-diagrams",
)
# pytest's last line: "1 failed, 489 passed, 2 skipped in 7.33s"
SUMMARY = re.compile(r"\d+ (passed|failed|errors?|skipped)\b.* in [\d.]+s")
# flask's conftest reads `_pytest.monkeypatch.notset`, which pytest 9 removed
PYTEST = "pytest>=8,<9"
RUN_TIMEOUT = 1800
# pytest options a project needs in that shared virtualenv: flask turns warnings into
# errors, and pytest-asyncio (for asgiref) warns at start-up when it is not configured
PROJECT_ARGS = {"flask": ("-p", "no:asyncio")}
# a file's status in the report's details -> its verdict ("unproven" is red-green's error)
STATUSES = {"ok": "pass", "violation": "fail"}


@dataclass(frozen=True)
class Label:
    project: str
    base: str
    head: str
    path: str
    expected: str  # "pass" or "fail"
    behaviour_commit: str | None
    reason: str
    shapes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    status: str  # "pass", "fail", or "error" (no report, gate error)
    commit: str | None  # the commit a `fail` names as the first change
    note: str


@dataclass(frozen=True)
class Row:
    label: Label
    verdict: Verdict
    outcome: str  # "ok", "false alarm", "miss", "wrong commit", "error"


@dataclass(frozen=True)
class RangeRun:
    project: str
    base: str
    head: str
    seconds: float
    verdicts: dict[str, Verdict]  # every file the report judged, by path
    error: str | None
    summary: str = ""  # pytest's last line ("512 passed in 4.1s"), or the check's


def load_labels(path: Path) -> tuple[dict[str, dict[str, str]], list[Label]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = [
        Label(
            item["project"],
            item["base"],
            item["head"],
            item["path"],
            item["expected"],
            item["behaviour_commit"],
            item["reason"],
            tuple(item.get("shapes", ())),
        )
        for item in data["labels"]
    ]
    return data["projects"], labels


def find_history(project: str, repos: dict[str, Path]) -> Path | None:
    env = os.environ.get("TDDGATE_CORPUS_DIR")
    candidates = [repos.get(project), Path(env) / project if env else None, WORK / project]
    for candidate in candidates:
        if candidate is not None and _is_git(candidate):
            return candidate
    return None


def _is_git(folder: Path) -> bool:
    probe = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--git-dir"], capture_output=True, check=False
    )
    return folder.is_dir() and probe.returncode == 0


@contextmanager
def worktree(history: Path, head: str) -> Iterator[Path]:
    """`head` checked out into a temporary folder; always removed again."""
    parent = Path(tempfile.mkdtemp(prefix="tdd-corpus-"))
    folder = parent / "tree"
    git = ["git", "-C", str(history)]
    subprocess.run([*git, "worktree", "add", "-q", "--detach", str(folder), head], check=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=False)
        subprocess.run([*git, "worktree", "prune"], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def gate_command(
    runner: str, python: Path, base: str, report: Path, extra: Sequence[str] = ()
) -> list[str]:
    if runner == "check":
        tddgate = str(python.parent / "tddgate")
        return [tddgate, "check", "--only", "tdd", "--base", base, "--report", str(report)]
    return [
        str(python),
        "-m",
        "pytest",
        "--tddgate",
        "--tddgate-only=tdd",
        f"--tddgate-base={base}",
        f"--tddgate-report={report}",
        "--tddgate-no-learn",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-rN",
        # a test module that needs another version of a dependency must not stop the run
        "--continue-on-collection-errors",
        *extra,
    ]


def run_range(
    history: Path, project: str, base: str, head: str, *, runner: str, python: Path
) -> RangeRun:
    with worktree(history, head) as folder:
        report = folder.parent / "report.json"
        env = dict(os.environ)
        env.pop("TDDGATE_BASE", None)
        # a src layout is imported from src/; other projects from the current folder
        env["PYTHONPATH"] = str(folder / "src") if (folder / "src").is_dir() else str(folder)
        started = time.perf_counter()
        done = subprocess.run(
            gate_command(runner, python, base, report, PROJECT_ARGS.get(project, ())),
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        seconds = time.perf_counter() - started
        if not report.exists():  # the default place, when the option was not honoured
            report = folder / ".tddgate" / "report.json"
        lines = (done.stdout + done.stderr).strip().splitlines()
        if not report.exists():
            missing = "no report: " + " | ".join(lines[-5:])
            return RangeRun(project, base, head, seconds, {}, missing)
        verdicts, error = read_report(report)
        summary = next((line.strip("= ") for line in reversed(lines) if SUMMARY.search(line)), "")
        return RangeRun(project, base, head, seconds, verdicts, error, summary)


def read_report(report: Path) -> tuple[dict[str, Verdict], str | None]:
    """The tdd gate's verdict on each file it judged (exempt files pass)."""
    data = json.loads(report.read_text(encoding="utf-8"))
    gate = next((g for g in data["gates"] if g["name"] == "tdd"), None)
    if gate is None:
        return {}, "the report has no tdd gate"
    details: dict[str, Any] = gate.get("details") or {}
    verdicts = {
        item["path"]: Verdict("pass", None, "exempt: " + str(item.get("reason", "")))
        for item in details.get("exempt", [])
    }
    for item in details.get("files", []):
        status = STATUSES.get(str(item.get("status")), "error")
        first = item.get("first_change") or {}
        commit = first.get("commit") if status == "fail" else None
        verdicts[item["path"]] = Verdict(status, commit, _first_test(item))
    if gate["status"] == "error":
        return verdicts, "gate error: " + str(gate.get("summary", ""))
    return verdicts, None


def _first_test(item: dict[str, Any]) -> str:
    """The mapped test that changed first in the range, as `path@commit (sources)`."""
    changed = [t for t in item.get("tests", []) if t.get("first_change")]
    if not changed:
        return "no mapped test changed"
    first = min(changed, key=lambda t: _position(t["first_change"]))
    sources = ",".join(first.get("sources", []))
    return f"{first['test']}@{first['first_change']['commit']} ({sources})"


def _position(change: dict[str, Any]) -> tuple[str, str]:
    # the report gives dates, not positions: the date orders commits well enough here
    return (str(change.get("date")), str(change.get("commit")))


def judge(label: Label, run: RangeRun) -> Row:
    verdict = run.verdicts.get(label.path)
    if verdict is None:
        # a file the gate did not judge at all: it raised nothing, which is a pass
        verdict = Verdict("error" if run.error else "pass", None, run.error or "not judged")
    if verdict.status == "error":
        return Row(label, verdict, "error")
    if verdict.status != label.expected:
        return Row(label, verdict, "false alarm" if verdict.status == "fail" else "miss")
    named = verdict.commit
    wanted = label.behaviour_commit
    if verdict.status == "fail" and named and wanted and not wanted.startswith(named):
        return Row(label, verdict, "wrong commit")
    return Row(label, verdict, "ok")


def unlabelled_failures(run: RangeRun, labels: Sequence[Label]) -> list[str]:
    labelled = {label.path for label in labels}
    return sorted(
        path for path, v in run.verdicts.items() if v.status == "fail" and path not in labelled
    )


def print_rows(rows: Sequence[Row]) -> None:
    print(f"{'project':<10} {'range':<17} {'path':<42} {'label':<5} {'gate':<5} outcome")
    for row in rows:
        label, verdict = row.label, row.verdict
        span = f"{label.base[:8]}..{label.head[:8]}"
        gate = verdict.status + (f" {verdict.commit}" if verdict.commit else "")
        extra = "" if row.outcome == "ok" else f"  <- {row.outcome}"
        if row.outcome == "wrong commit":
            extra += f" (label: {(label.behaviour_commit or '')[:8]})"
        if row.outcome in ("error", "miss"):
            extra += f" ({verdict.note[:70]})"  # a run's whole error is printed once below
        print(f"{label.project:<10} {span:<17} {label.path:<42} {label.expected:<5} {gate}{extra}")


def metrics(rows: Sequence[Row]) -> dict[str, Any]:
    flagged = [r for r in rows if r.verdict.status == "fail"]
    true_fail = sum(r.label.expected == "fail" for r in flagged)
    labelled_fail = sum(r.label.expected == "fail" for r in rows)
    outcomes = [r.outcome for r in rows]
    return {
        "labels": len(rows),
        "labelled_fail": labelled_fail,
        "gate_fail": len(flagged),
        "true_fail": true_fail,
        "false_alarms": outcomes.count("false alarm"),
        "misses": outcomes.count("miss"),
        "wrong_commits": outcomes.count("wrong commit"),
        "errors": outcomes.count("error"),
        "precision": true_fail / len(flagged) if flagged else 1.0,
        "recall": true_fail / labelled_fail if labelled_fail else 1.0,
    }


def runner_python(runner: str, python: str) -> Path:
    if runner == "check":
        return Path(sys.executable)
    venv = make_venv(python, WORK / "corpus", (*TEST_DEPS, PYTEST), ())
    return venv / "bin" / "python"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runner", choices=("pytest", "check"), default="pytest")
    parser.add_argument("--python", default=sys.executable, help="Python of the virtualenv")
    parser.add_argument("--project", action="append", help="only these projects")
    parser.add_argument("--repo", action="append", default=[], help="NAME=PATH of a history")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--json", type=Path, help="also write rows and metrics here")
    args = parser.parse_args(argv)
    repos = dict(_repo_arg(text) for text in args.repo)
    projects, labels = load_labels(args.labels)
    chosen = args.project or list(projects)
    python = runner_python(args.runner, args.python)
    rows: list[Row] = []
    runs: list[RangeRun] = []
    for project in chosen:
        history = find_history(project, repos)
        if history is None:
            url = projects[project]["url"]
            print(f"skip {project}: no history; git clone {url} {WORK / project}")
            continue
        mine = [label for label in labels if label.project == project]
        for base, head in dict.fromkeys((label.base, label.head) for label in mine):
            run = run_range(history, project, base, head, runner=args.runner, python=python)
            if args.runner == "pytest" and not run.verdicts and run.error:
                # the project's tests cannot start here (an old conftest against today's
                # dependencies): judge the range without them, and say so
                print(f"# {project} {base[:8]}..{head[:8]}: {run.error[:300]}", file=sys.stderr)
                run = run_range(history, project, base, head, runner="check", python=python)
                run = replace(run, summary="pytest could not start: judged by `tddgate check`")
            runs.append(run)
            in_range = [la for la in mine if (la.base, la.head) == (base, head)]
            rows.extend(judge(label, run) for label in in_range)
            span = f"{project} {base[:8]}..{head[:8]}"
            print(f"# {span}: {run.seconds:.1f} s; {run.summary}", file=sys.stderr)
    print_rows(rows)
    print_unlabelled(runs, labels)
    print_shapes(rows)
    result = metrics(rows)
    print(
        f"\n{result['labels']} labelled files, {result['labelled_fail']} labelled fail; "
        f"gate fail {result['gate_fail']}: precision {result['precision']:.2f}, "
        f"recall {result['recall']:.2f}; false alarms {result['false_alarms']}, "
        f"misses {result['misses']}, wrong commits {result['wrong_commits']}, "
        f"errors {result['errors']} (runner: {args.runner})"
    )
    if args.json:
        write_json(args.json, rows, result, args.runner)
    return 0 if result["labels"] and all(r.outcome == "ok" for r in rows) else 1


def print_unlabelled(runs: Sequence[RangeRun], labels: Sequence[Label]) -> None:
    for run in runs:
        mine = [
            la
            for la in labels
            if (la.project, la.base, la.head) == (run.project, run.base, run.head)
        ]
        extra = unlabelled_failures(run, mine)
        if extra:
            span = f"{run.project} {run.base[:8]}..{run.head[:8]}"
            print(f"flagged, not labelled ({span}): " + ", ".join(extra))
        if run.error:
            print(f"error ({run.project} {run.base[:8]}..{run.head[:8]}): {run.error}")


def print_shapes(rows: Sequence[Row]) -> None:
    """How each shape of case fares: where the disagreements gather."""
    by_shape: dict[str, list[str]] = {}
    for row in rows:
        for shape in row.label.shapes or ("plain",):
            by_shape.setdefault(shape, []).append(row.outcome)
    print("\nby shape (labels: disagreements):")
    for shape, outcomes in sorted(by_shape.items()):
        bad = {o: outcomes.count(o) for o in sorted(set(outcomes)) if o != "ok"}
        detail = ", ".join(f"{n} {o}" for o, n in bad.items()) or "none"
        print(f"  {shape:<18} {len(outcomes):>3}: {detail}")


def write_json(path: Path, rows: Sequence[Row], result: dict[str, Any], runner: str) -> None:
    out = {
        "runner": runner,
        "metrics": result,
        "rows": [
            {
                "project": r.label.project,
                "base": r.label.base,
                "head": r.label.head,
                "path": r.label.path,
                "expected": r.label.expected,
                "gate": r.verdict.status,
                "gate_commit": r.verdict.commit,
                "outcome": r.outcome,
            }
            for r in rows
        ],
    }
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


def _repo_arg(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep:
        raise SystemExit(f"--repo takes NAME=PATH, not {text!r}")
    return name, Path(folder)


if __name__ == "__main__":
    sys.exit(main())
