"""coverage.py's tracer for the few files the probes leave to it.

With probes (facts/probes.py) nothing traces, but some measured files are measured
by coverage.py's tracer all the same:

- files the probes could not be compiled into (an error while probing or compiling
  them: the module is imported without probes, see `ProbeLoader._unprobed`);
- files the `no_probes` setting names (code that inspects its own code objects).

`FileTracer` is a coverage.py measurement of those files only, started the first time
one is known (a failure is known only when its module is imported: just before its
code runs, so the tracer sees all of it). Which files it traces can grow while it
runs: coverage.py asks once per file name, at the first frame of that file, and this
answers from the set as it is then. The probed files are never among them: a tracer
would see the probes' own code. At the end their data goes into the measurement's,
file by file, so that coverage.py's analysis judges them as it judges any tracer's.

A tracer slows every call in the process on Python 3.11 and older (not only calls
into the traced files), so it starts only when a file needs it. The `sysmon` core
(3.12+) costs next to nothing outside the traced files.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection, Iterable
from typing import Any


class FileTracer:
    """coverage.py's tracer, limited to a set of files that may grow while it runs."""

    def __init__(self, config: Any, *, sysmon: bool) -> None:
        """`config`: the measurement's `CoverageConfig` (its branch and concurrency
        settings are used); `sysmon`: use the `sys.monitoring` core."""
        self.files: set[str] = set()  # real paths to trace
        self.started = False
        self._config = config
        self._sysmon = sysmon
        self._cov: Any = None

    def add(self, paths: Iterable[str]) -> None:
        """Trace `paths` (real paths) from now on; starts the tracer the first time.
        Raises what coverage.py raises when it cannot start."""
        self.files.update(paths)
        if self.started or not self.files:
            return
        self._cov = _limited(self.files, self._config, sysmon=self._sysmon)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its warnings are about its own set-up
            self._cov.start()
        self.started = True

    def stop(self) -> None:
        if self.started and self._cov is not None:
            self._cov.stop()
            self.started = False

    def measured(self, data: Any, skip: Collection[str] = ()) -> None:
        """Add what it measured of its files (lines, or arcs) to `data`, the
        measurement's `CoverageData`, under the files' real paths; files in `skip`
        (measured by probes) are left out, whatever the tracer saw of them."""
        if self._cov is None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no data was collected": the probes did
            ours = self._cov.get_data()
        arcs: dict[str, Any] = {}
        lines: dict[str, Any] = {}
        for name in ours.measured_files():
            real = os.path.realpath(name)
            if real not in self.files or real in skip:
                continue
            if ours.has_arcs():
                arcs[real] = ours.arcs(name) or []
            else:
                lines[real] = ours.lines(name) or []
        if arcs:
            data.add_arcs(arcs)
        if lines:
            data.add_lines(lines)
        # its data is in memory, an SQLite connection Python 3.13 warns about when the
        # garbage collector closes it; everything it held was added to `data` above
        ours.close(force=True)


def _limited(files: set[str], config: Any, *, sysmon: bool) -> Any:
    """A coverage.py measurement that traces `files` only. Nothing of the project's
    configuration but branch and concurrency: which files to trace is decided here,
    and the data is kept in memory (the measurement writes the data file)."""
    import coverage

    class Limited(coverage.Coverage):
        # coverage.py decides per file name, at its first frame, and keeps the answer
        def _should_trace(self, filename: str, frame: Any) -> Any:
            disposition = super()._should_trace(filename, frame)
            source = disposition.source_filename
            ours = isinstance(source, str) and os.path.realpath(source) in files
            if ours and not disposition.trace:  # coverage.py's own rules would skip it
                disposition.trace, disposition.reason = True, ""
            elif not ours and disposition.trace:
                disposition.trace, disposition.reason = False, "measured by the probes"
            return disposition

    concurrency = [c for c in config.concurrency if c != "multiprocessing"] or None
    cov = Limited(data_file=None, config_file=False, branch=bool(config.branch),
                  concurrency=concurrency)  # fmt: skip
    if sysmon:
        cov.set_option("run:core", "sysmon")
    return cov
