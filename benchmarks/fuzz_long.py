"""The long fuzz run: every fuzz target with 100,000 inputs per parser, then the counts.

    PYTHONPATH=src python benchmarks/fuzz_long.py [--examples 100000]
        [--files test_fuzz_matrix.py test_fuzz_git.py::test_x ...]
        [--counts benchmarks/_work/fuzz-counts.json] [--profile ci] [--markdown] [--table-only]

Runs tests/test_fuzz_*.py under the Hypothesis profile "long" (TDDGATE_FUZZ=long),
one test file after another at the lowest CPU priority (the machine is shared), and
prints how many inputs each target ran. Targets that build real files, git
repositories or SQLite ledgers per input run a fixed share of that number (see
`fuzzkit.examples`). The counts accumulate in a JSON file, so a run that is stopped
and started again, or split over several invocations, adds up; delete the file to
start from zero. `--profile ci` runs the suite's own profile instead (the counts a
normal `pytest` run reaches); `--markdown` prints the table as Markdown rows;
`--table-only` prints the table and runs nothing. The exit status is 0 when no input
failed; the files or tests that failed are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COUNTS = ROOT / "benchmarks" / "_work" / "fuzz-counts.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000, help="inputs per parser")
    parser.add_argument("--files", nargs="*", help="test_fuzz_*.py files (default: all)")
    parser.add_argument("--counts", type=Path, default=DEFAULT_COUNTS)
    parser.add_argument("--profile", choices=["long", "ci"], default="long")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--table-only", action="store_true", help="print the counts, run nothing")
    args = parser.parse_args()
    if args.table_only:
        print_counts(args.counts, markdown=args.markdown)
        return 0
    files = args.files or sorted(p.name for p in (ROOT / "tests").glob("test_fuzz_*.py"))
    args.counts.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TDDGATE_FUZZ": args.profile,
        "TDDGATE_FUZZ_EXAMPLES": str(args.examples),
        "TDDGATE_FUZZ_COUNTS": str(args.counts),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    failed: list[str] = []
    for name in files:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", f"tests/{name}", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            preexec_fn=lambda: os.nice(19),  # shared machine: everyone else first
            check=False,
        )
        print(f"{name}: exit {done.returncode} in {time.monotonic() - started:,.0f} s", flush=True)
        if done.returncode:
            failed.append(name)
    print_counts(args.counts, markdown=args.markdown)
    for name in failed:
        print(f"FAILED: {name}")
    return 1 if failed else 0


def print_counts(path: Path, *, markdown: bool = False) -> None:
    """One line per target: the inputs it ran, added up over every run into `path`."""
    try:
        counts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print("no counts recorded")
        return
    print(f"\ninputs per fuzz target ({path}):")
    rows = [*sorted(counts.items()), ("total", sum(counts.values()))]
    for target, count in rows:
        print(f"| {target} | {count:,} |" if markdown else f"  {target:<45} {count:>10,}")


if __name__ == "__main__":
    sys.exit(main())
