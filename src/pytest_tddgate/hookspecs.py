"""Hooks for third-party gates. Add them in a conftest.py or a plugin:

    class LicenseGate:
        name = "license"
        static = True  # needs no test run, so `tddgate check` runs it too

        def evaluate(self, ctx):
            ...
            return GateResult("license", Verdict.PASS, "all files have a header")

    def pytest_tddgate_gates(config):
        return [LicenseGate()]

A plugin gate is configured like a built-in one (`[tool.tddgate.gates.license]` with
`enabled`, `optional` and its own keys in `ctx.section.extra`), selected with
`--tddgate-only` / `--tddgate-skip`, waived, and shown in every output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pytest_tddgate.engine import Gate
    from pytest_tddgate.model import Report

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_tddgate_gates(config: Any) -> list[Gate] | None:
    """Return gates to run after the built-in ones, in the order given.

    Called once, on the controller, in `pytest_configure` of pytest-tddgate. Each
    gate needs a unique `name` (not one of the built-in names), a `static` flag and
    `evaluate(ctx) -> GateResult`; it may define `prepare(ctx)`, called at session
    start, to start slow work in the background.
    """


@hookspec
def pytest_tddgate_report(config: Any, report: Report) -> None:
    """Called on the controller with the final report, after every gate ran and
    before the report files are written. Use it to send the report elsewhere;
    the report is frozen and cannot be changed here."""
