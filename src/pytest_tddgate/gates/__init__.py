"""The built-in gates, in report order. Each lives in its own module and is imported
only when a run needs gates, so plain `pytest` pays nothing for them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_tddgate.engine import Gate

# gate name -> "module:class"; the order is the order of the report
BUILTIN: dict[str, str] = {
    "tests": "pytest_tddgate.gates.tests:TestsGate",
    "tdd": "pytest_tddgate.gates.tdd:TddGate",
    "traceability": "pytest_tddgate.gates.traceability:TraceabilityGate",
    "roles": "pytest_tddgate.gates.roles:RolesGate",
    "coverage": "pytest_tddgate.gates.coverage:CoverageGate",
    "ruff": "pytest_tddgate.gates.ruff:RuffGate",
    "mypy": "pytest_tddgate.gates.mypy:MypyGate",
}


def builtin_gates() -> list[Gate]:
    gates = []
    for spec in BUILTIN.values():
        module, _, cls = spec.partition(":")
        gates.append(getattr(importlib.import_module(module), cls)())
    return gates
