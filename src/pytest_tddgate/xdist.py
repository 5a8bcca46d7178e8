"""pytest-xdist support: data that only workers see crosses to the controller here.

Registered by plugin.py on the controller only when xdist is installed. Workers put
JSON-safe data in `workeroutput["tddgate"]` (the coverage measurement and per-test
lines under `"coverage"`); the controller collects one entry per worker into
`facts.provided["worker_outputs"]`, each with the worker's id, so a worker that
crashed before sending anything shows up as an entry without data instead of
silently shrinking the measurement.
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
        output = getattr(node, "workeroutput", None) or {}
        sent = output.get(WORKER_KEY)
        worker = str(getattr(getattr(node, "gateway", None), "id", "?"))
        entry = {**sent, "worker": worker} if isinstance(sent, dict) else {"worker": worker}
        self.facts.provided.setdefault("worker_outputs", []).append(entry)
