"""Benchmark: the `tdd` gate on a long history, and `tddgate check --staged` on real repos.

    python benchmarks/bench_tdd.py                       # 100,000 commits, 5,000 files
    python benchmarks/bench_tdd.py --commits 20000       # a quicker look
    python benchmarks/bench_tdd.py --real ~/src/project  # also time the check there
    python benchmarks/bench_tdd.py --clone ~/src/project # ... on a clone with a staged change

The synthetic repository is written with `git fast-import` (seconds, not minutes) and
cached in benchmarks/_work/. Its first commit adds 5,000 Python files (modules in
`src/pkg/sNN/`, a fifth of them tests in `tests/`); every later commit changes one
test or one module, tests first, with a module changed without its test now and then.

What it shows, as medians of interleaved runs (wall time, and CPU time of this
process plus the git processes it waited for, which the machine's load does not skew):

1. the gate on a 200-commit range at the end of the history, against a bare
   `git log --name-status` of the same range: under 1 s, and within 2x of git;
2. the same at the start of the history (a second worktree whose HEAD is early):
   the gate's time does not grow with the history outside the range;
3. a 10x longer range, to separate the per-commit cost from the fixed one;
4. `tddgate check --staged` as a user runs it (a new process) on real checkouts.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))  # this checkout's code, not an installed one

from pytest_tddgate import engine  # noqa: E402
from pytest_tddgate.facts import Facts  # noqa: E402
from pytest_tddgate.gates.tdd import TddGate  # noqa: E402
from pytest_tddgate.settings import Overrides, resolve  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PACKAGES = 40
EARLY_HEAD = 1_200  # the early worktree's HEAD: a range near the start of the history
Timing = tuple[float, float]  # (wall seconds, cpu seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=5_000)
    parser.add_argument("--range", type=int, default=200, dest="span")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument(
        "--real",
        type=Path,
        action="append",
        default=[],
        help="a git checkout to time `tddgate check --staged` on, as it is",
    )
    parser.add_argument(
        "--clone",
        type=Path,
        action="append",
        default=[],
        help="a git repository to clone into benchmarks/_work with a staged "
        "change of one source and one test file, to time the check on",
    )
    args = parser.parse_args(argv)
    repo = synthetic_repo(args.commits, args.files)
    early = early_worktree(repo)
    # files written in the second the index was written are "racily clean": git re-reads
    # them at every diff until the index is rewritten later, as any `git status` of
    # the user's does; without this the first runs after generating would time that
    time.sleep(1.1)
    for checkout in (repo, early):
        git(checkout, "update-index", "-q", "--refresh")
    print(f"repository: {repo.name}: {args.commits:,} commits, {args.files:,} Python files")
    print(f"medians of {args.runs} interleaved runs; cpu = this process + its git processes\n")
    ok = True
    gates: dict[str, float] = {}
    for label, tree, span in (
        ("end of history", repo, args.span),
        ("start of history", early, args.span),
        ("end, 10x range", repo, args.span * 10),
    ):
        bare, gate, summary = compare(tree, span, args.runs)
        gates[label] = gate[0]
        print(
            f"{label} ({span} commits): gate {ms(gate)} | git log --name-status {ms(bare)} "
            f"| ratio {gate[0] / bare[0]:.2f} (cpu {gate[1] / bare[1]:.2f})\n  {summary}"
        )
        if span == args.span:
            ok &= report("under 1 s", gate[0] < 1.0)
            ok &= report("within 2x of git log --name-status", gate[0] <= 2 * bare[0])
    growth = gates["end of history"] / gates["start of history"]
    print(
        f"\nend / start of history: {growth:.2f}x, with {args.commits - EARLY_HEAD:,} more "
        "commits outside the range at the end"
    )
    ok &= report("no growth with the history outside the range", growth < 1.5)
    print()
    for checkout in [*args.real, *(staged_clone(source) for source in args.clone)]:
        span = min(args.span, first_parent_commits(checkout) - 1)
        bare, gate, summary = compare(checkout, span, args.runs)
        print(
            f"{checkout.resolve().name}, last {span} commits: gate {ms(gate)} | git log "
            f"--name-status {ms(bare)} | ratio {gate[0] / bare[0]:.2f}\n  {summary}"
        )
        # ruff and mypy are static gates too, so the check runs them; the budget is
        # the history gates' (tdd, roles, traceability), timed with them skipped
        for extra in ((), ("--skip", "ruff,mypy")):
            check_staged(checkout, extra)  # warm: bytecode caches, page cache
            runs = [timed(partial(check_staged, checkout, extra)) for _ in range(args.runs)]
            timing = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
            where = checkout.resolve().name
            print(f"tddgate check --staged {' '.join(extra)} in {where}: {ms(timing)}")
            if extra:
                ok &= report("under 0.3 s", timing[0] < 0.3)
    return 0 if ok else 1


def ms(timing: Timing) -> str:
    return f"{timing[0] * 1000:.1f} ms (cpu {timing[1] * 1000:.1f} ms)"


def report(what: str, passed: bool) -> bool:
    print(f"  {'ok  ' if passed else 'FAIL'} {what}")
    return passed


def timed(action: Callable[[], object]) -> Timing:
    """Wall time and CPU time (this process and the processes it waited for)."""
    who = (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    before = [resource.getrusage(w) for w in who]
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    after = [resource.getrusage(w) for w in who]
    cpu = sum(
        a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
        for a, b in zip(after, before, strict=True)
    )
    return wall, cpu


def compare(tree: Path, span: int, runs: int) -> tuple[Timing, Timing, str]:
    """Bare git log and the gate, interleaved, so that both meet the same machine load."""
    summary = [""]

    def gate() -> None:
        # as `tddgate check` runs it: settings, facts and the verdict, all from scratch
        settings = resolve(tree, overrides=Overrides(values={"base": f"HEAD~{span}"}), environ={})
        (result,) = engine.evaluate([TddGate()], settings, Facts(settings))
        summary[0] = f"{result.status.value}: {result.summary}"

    def bare() -> None:
        subprocess.run(
            ["git", "log", "--name-status", f"HEAD~{span}..HEAD"],
            cwd=tree,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    gate()  # warm both
    bare()
    pairs = [(timed(bare), timed(gate)) for _ in range(runs)]
    bare_t = (statistics.median(p[0][0] for p in pairs), statistics.median(p[0][1] for p in pairs))
    gate_t = (statistics.median(p[1][0] for p in pairs), statistics.median(p[1][1] for p in pairs))
    return bare_t, gate_t, summary[0]


def check_staged(checkout: Path, extra: tuple[str, ...] = ()) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users have bytecode caches; so does this
    subprocess.run(
        # the static gates as measured before `check` ran ruff by default: comparable rows
        [sys.executable, "-m", "pytest_tddgate.cli", "check", "--staged", "--skip", "ruff", *extra],
        cwd=checkout,
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def synthetic_repo(commits: int, files: int) -> Path:
    """The cached repository, generated with `git fast-import` when missing."""
    repo = WORK / f"repo-{commits}-{files}"
    marker = repo / ".git" / "tddgate-bench-complete"
    if marker.exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(repo.parent / f"{repo.name}-early", ignore_errors=True)
    repo.mkdir(parents=True)
    started = time.perf_counter()
    git(repo, "init", "-q", "-b", "main")
    stream = repo / ".git" / "fast-import.stream"
    with stream.open("wb") as handle:
        for chunk in fast_import_stream(commits, files):
            handle.write(chunk)
    with stream.open("rb") as handle:
        subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, stdin=handle, check=True)
    stream.unlink()
    git(repo, "reset", "-q", "--hard", "main")
    git(repo, "update-index", "-q", "--refresh")  # as `git status` leaves a checkout
    marker.write_text("done\n", encoding="utf-8")
    print(f"generated {repo} in {time.perf_counter() - started:.1f} s")
    return repo


def early_worktree(repo: Path) -> Path:
    early = repo.parent / f"{repo.name}-early"
    if not (early / ".git").exists():
        shutil.rmtree(early, ignore_errors=True)
        git(repo, "worktree", "prune")
        git(repo, "worktree", "add", "-q", "--detach", str(early), "refs/tags/early-head")
        git(early, "update-index", "-q", "--refresh")
    return early


def staged_clone(source: Path) -> Path:
    """A clone of `source` with a staged change: a function added to its first tracked
    source file and to its first test file (what a pre-commit hook typically sees)."""
    name = source.resolve().parent.name if source.name in ("repo", ".git") else source.name
    target = WORK / f"clone-{name}"
    if not (target / ".git").exists():
        shutil.rmtree(target, ignore_errors=True)
        git(WORK, "clone", "-q", str(source), str(target))
        listed = subprocess.run(
            ["git", "ls-files", "*.py"], cwd=target, check=True, capture_output=True, text=True
        ).stdout.split()
        code = next(f for f in listed if "test" not in f)
        test = next(f for f in listed if f.rpartition("/")[2].startswith("test_"))
        for path in (test, code):
            with (target / path).open("a", encoding="utf-8") as handle:
                handle.write("\n\ndef _bench_marker():\n    return 1\n")
        git(target, "add", code, test)
    return target


def first_parent_commits(checkout: Path) -> int:
    counted = subprocess.run(
        ["git", "rev-list", "--count", "--first-parent", "HEAD"],
        cwd=checkout,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(counted.stdout)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True)


def layout(files: int) -> tuple[list[str], list[str]]:
    """Module paths and test paths: a fifth of the files are tests."""
    tests = files // 5
    modules = files - tests - PACKAGES
    names = [f"src/pkg/s{i % PACKAGES:02d}/m{i:05d}.py" for i in range(modules)]
    return names, [f"tests/test_m{i:05d}.py" for i in range(tests)]


def module_text(index: int, version: int) -> bytes:
    return (
        f'"""Module {index}."""\nVERSION = {version}\n\n\ndef f{index}(x):\n'
        f"    return x + {version}\n"
    ).encode()


def test_text(index: int, version: int) -> bytes:
    return (
        f"from pkg.s{index % PACKAGES:02d}.m{index:05d} import f{index}\n\n\n"
        f"def test_f{index}():\n    assert f{index}(0) == {version}\n"
    ).encode()


def fast_import_stream(commits: int, files: int) -> Iterator[bytes]:
    modules, tests = layout(files)
    initial = {"pyproject.toml": b'[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'}
    initial |= {f"src/pkg/s{p:02d}/__init__.py": b"" for p in range(PACKAGES)}
    initial |= {path: module_text(i, 0) for i, path in enumerate(modules)}
    initial |= {path: test_text(i, 0) for i, path in enumerate(tests)}
    yield commit(1, "initial layout", initial)
    for number in range(2, commits + 1):
        pair, step = divmod(number - 2, 2)
        index = pair % len(tests)
        if pair % 25 == 24:  # now and then a module changes with no test at all
            untested = len(tests) + pair % (len(modules) - len(tests))
            change = {modules[untested]: module_text(untested, number)}
            subject = f"change m{untested:05d} without a test"
        elif step == 0:
            change = {tests[index]: test_text(index, number + 1)}
            subject = f"test m{index:05d}"
        else:
            change = {modules[index]: module_text(index, number)}
            subject = f"implement m{index:05d}"
        yield commit(number, subject, change)
        if number == EARLY_HEAD:
            yield b"reset refs/tags/early-head\nfrom :%d\n\n" % number


def commit(number: int, subject: str, files: dict[str, bytes]) -> bytes:
    stamp = 1_700_000_000 + number * 60
    message = subject.encode()
    parts = [
        b"commit refs/heads/main\n",
        b"mark :%d\n" % number,
        b"author Dev <dev@example.com> %d +0000\n" % stamp,
        b"committer Dev <dev@example.com> %d +0000\n" % stamp,
        b"data %d\n%s\n" % (len(message), message),
    ]
    if number > 1:
        parts.append(b"from :%d\n" % (number - 1))
    for path, data in files.items():
        parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
    parts.append(b"\n")
    return b"".join(parts)


if __name__ == "__main__":
    sys.exit(main())
