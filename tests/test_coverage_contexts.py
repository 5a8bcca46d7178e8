"""Per-test lines read from the tracer's memory equal coverage.py's own line data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_tddgate

SAMPLE = """\
def branchy(values):
    total = 0
    for value in values:
        if value > 1:
            total += value
        else:
            continue
    return total


def gen():
    yield 1
    yield 2


def fails():
    raise ValueError("no")
"""
PROBE = """\
import json, sys
import coverage
from pytest_tddgate.facts.covcontexts import executed_lines

branch, timid = sys.argv[1] == "branch", sys.argv[2] == "timid"
cov = coverage.Coverage(data_file=None, branch=branch, timid=timid, include=["sample.py"])
cov.start()
import sample
sample.branchy([1, 2, 3])
list(sample.gen())
try:
    sample.fails()
except ValueError:
    pass
collector = cov._collector
ours = {name: sorted(executed_lines(values, branch)) for name, values in collector.data.items()}
cov.stop()
data = cov.get_data()
theirs = {name: sorted(data.lines(name)) for name in data.measured_files()}
print(json.dumps([ours, theirs, collector.tracer_name()]))
"""


@pytest.mark.parametrize("branch", ["branch", "lines"])
@pytest.mark.parametrize("tracer", ["default", "timid"])
def test_lines_from_the_tracer_equal_coverage_data(
    tmp_path: Path, branch: str, tracer: str
) -> None:
    (tmp_path / "sample.py").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "probe.py").write_text(PROBE, encoding="utf-8")
    package_root = str(Path(pytest_tddgate.__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "probe.py", branch, tracer],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": package_root, "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    ours, theirs, name = json.loads(done.stdout)

    assert ours == theirs
    assert sum(len(lines) for lines in ours.values()) >= 12
    assert name in (("PyTracer",) if tracer == "timid" else ("CTracer", "SysMonitor"))
