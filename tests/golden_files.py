"""Golden files: the expected output of each report format, kept in tests/golden/.

`TDDGATE_REGEN_GOLDEN=1 pytest tests/test_output_*.py` rewrites them from the current
renderers; review the diff before committing it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TDDGATE_REGEN_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.is_file(), f"no golden file {path}; create it with TDDGATE_REGEN_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="rendered",
            )
        )
        raise AssertionError(
            f"{name} differs from its golden file (TDDGATE_REGEN_GOLDEN=1 rewrites it):\n{diff}"
        )
