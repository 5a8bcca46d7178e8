"""The built-in gates, in report order. Each lives in its own module, imported only
when the gate is used: a run with `--tddgate-only=tests` never imports the tdd,
roles or mypy gates (nor the facts they read), and plain `pytest` imports none."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_tddgate.engine import Gate, GateContext
    from pytest_tddgate.model import GateResult

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


class LazyGate:
    """A built-in gate known by its name until something else of it is needed.

    The engine reads only `name` of a gate that is not selected, so that gate's
    module is never imported; any other attribute (`static`, `evaluate`, the
    optional `validate`, `prepare`, `check_default`) imports the module and creates
    the gate, once.
    """

    __slots__ = ("_gate", "_spec", "name")

    def __init__(self, name: str, spec: str) -> None:
        self.name = name
        self._spec = spec
        self._gate: Gate | None = None

    def load(self) -> Gate:
        if self._gate is None:
            module, _, cls = self._spec.partition(":")
            self._gate = getattr(importlib.import_module(module), cls)()
        return self._gate

    def evaluate(self, ctx: GateContext) -> GateResult:
        return self.load().evaluate(ctx)

    def __getattr__(self, attr: str) -> Any:
        # only reached for what the slots do not hold, i.e. the gate's own attributes;
        # dunder probes (copy, pickle) and a slot read before __init__ set it raise
        # here, without importing the gate and without recursing
        if attr.startswith("__") or attr in LazyGate.__slots__:
            raise AttributeError(attr)
        return getattr(self.load(), attr)

    def __repr__(self) -> str:
        return f"LazyGate({self.name!r}, loaded={self._gate is not None})"


def builtin_gates() -> list[Gate]:
    """The built-in gates, in report order; each module is imported on first use."""
    return [LazyGate(name, spec) for name, spec in BUILTIN.items()]
