"""pytest-xdist support: data that only workers see crosses to the controller here.

Registered by the session only when xdist is installed. Workers put JSON-safe data
in `workeroutput["tddgate"]`; the controller collects one entry per worker into
`facts.provided["worker_outputs"]`, for the facts that need it (coverage).
"""

from __future__ import annotations

from typing import Any

from pytest_tddgate.facts import Facts

WORKER_KEY = "tddgate"


class XdistHooks:
    """Controller side: collect what each worker sent when it finished."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {}).get(WORKER_KEY)
        if output is not None:
            self.facts.provided.setdefault("worker_outputs", []).append(output)
