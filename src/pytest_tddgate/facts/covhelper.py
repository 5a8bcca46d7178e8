"""The helper process of `scope = "changed"`: coverage.py's part, out of the test process.

Started by facts/covremote.py (`python -m pytest_tddgate.facts.covhelper`, through
`proc.Exchange`); it answers one test process and ends:

1. it gets the project root and source roots (and whether the test process can probe
   the test modules pytest rewrites), and the changed lines;
2. it answers with the plan (facts/coverage.py `Measurement.configure`: which changed
   files the project measures, and whether probes can measure them), or with the
   configuration error coverage.py raised;
3. it gets the probed lines after the tests and answers with the analysis
   (`covreport.measure`, as the test process would have made it).

It imports as little as it can before coverage.py: the test process waits for its
answer before the first test runs, and on two cores every millisecond of it competes
with the collection.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from pytest_tddgate.facts.coverage import Measurement


@dataclass(frozen=True, slots=True)
class _Where:
    """The `facts.coverage.Where` of the project, as the test process sent it."""

    root: Path
    source_roots: tuple[str, ...]


def serve() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # only the answers go to stdout

    def send(message: object) -> None:
        pickle.dump(message, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()

    import coverage  # noqa: F401 (first: the test process reads the changes meanwhile)

    from pytest_tddgate.errors import UsageError
    from pytest_tddgate.facts.coverage import Measurement

    try:
        root, source_roots, probes_in_tests = pickle.load(stdin)
        where = _Where(Path(root), tuple(source_roots))
        changed = pickle.load(stdin)
        measurement = Measurement.configure(where, lambda: changed, probes_in_tests=probes_in_tests)
    except UsageError as exc:
        send(("error", exc.message, exc.fix))
        return
    except EOFError:  # the test process went another way
        return
    try:
        _plan_and_analyse(measurement, where.root, stdin, send)
    finally:  # its in-memory SQLite database (`serve` also runs in tests)
        measurement.cov.get_data().close(force=True)


def _plan_and_analyse(
    measurement: Measurement, root: Path, stdin: BinaryIO, send: Callable[[object], None]
) -> None:
    from pytest_tddgate.facts.coverage import inside, quiet

    config = measurement.cov.config
    process_config = config.serialize() if "subprocess" in getattr(config, "patch", ()) else None
    send(("plan", measurement.plan, process_config))  # its notes come with the report
    # while the tests run: what the analysis imports (about 9 ms), so that the test
    # process waits less for the report at the end
    import coverage.report_core  # noqa: F401

    from pytest_tddgate.facts import covreport

    try:
        lines = pickle.load(stdin)
    except EOFError:
        return
    with inside(root), quiet(measurement.notes):
        measurement.cov.get_data().add_lines(lines)
    notes: list[str] = []
    try:
        summary, files = covreport.measure(root, covreport.Source(measurement), [], notes)
    except covreport.read_errors() as exc:
        send(("failed", f"coverage data could not be read: {exc}"))
        return
    send(("report", summary, files, notes))


if __name__ == "__main__":
    serve()
    sys.stderr.flush()
    # the answers are sent: skip the interpreter's clean-up (about 15 ms with coverage.py
    # loaded), which the test process would otherwise wait for when it closes the pipe
    os._exit(0)
