"""The JSON report, schema `tddgate-report/1` (documented in docs/report-schema.md)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_tddgate.errors import UsageError
from pytest_tddgate.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def load(path: Path) -> Report:
    """Read a report written earlier (for `tddgate report` and the ledger)."""
    try:
        return Report.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(
            "no report found",
            file=path,
            fix="run `pytest --tddgate` first, or pass the report's path",
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise UsageError(
            f"not a readable tddgate report: {exc}",
            file=path,
            fix="run `pytest --tddgate` again to write a fresh one",
        ) from None
