"""pytest-tddgate: make "tests first" and quality gates mechanical, in one pytest run.

The public names are loaded on first use, so that pytest, which imports this
package through the `pytest11` entry point on every run, pays nothing for them when
`--tddgate` is not given.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tddgate.engine import Gate, GateContext
    from pytest_tddgate.model import (
        Finding,
        GateResult,
        Report,
        RequirementStatus,
        Verdict,
        Waiver,
    )

# the single source of the version (pyproject reads it); a literal, because
# importlib.metadata costs ~70 ms, a quarter of the pre-commit hook's budget
__version__ = "0.1.0"

_LAZY = {
    "Gate": "engine",
    "GateContext": "engine",
    "Finding": "model",
    "GateResult": "model",
    "Report": "model",
    "RequirementStatus": "model",
    "Verdict": "model",
    "Waiver": "model",
}

__all__ = [
    "Finding",
    "Gate",
    "GateContext",
    "GateResult",
    "Report",
    "RequirementStatus",
    "Verdict",
    "Waiver",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"pytest_tddgate.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pytest_tddgate' has no attribute {name!r}")
