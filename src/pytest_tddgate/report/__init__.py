"""Outputs: each format is a pure `render(report, ...) -> str`; files are written
atomically after rendering succeeded, so a failed render leaves no partial file."""

from __future__ import annotations

from pathlib import Path

from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.model import Report
from pytest_tddgate.report import json_report


def write_json(report: Report, path: Path) -> Path:
    atomic_write_text(path, json_report.render(report))
    return path
