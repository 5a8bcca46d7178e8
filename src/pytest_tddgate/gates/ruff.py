"""Gate `ruff`: no lint violations and no unformatted files beyond the baseline.

Runs the project's own ruff (`ruff check` and `ruff format --check`, with its own
configuration) from the environment pytest runs in; see docs/gates/ruff.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate.facts.toolparse import ruff_config_name
from pytest_tddgate.gates.toolgate import ToolGate, plural

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_tddgate.facts.toolparse import ToolFinding
    from pytest_tddgate.settings import RuffSettings


class RuffGate(ToolGate):
    name = "ruff"

    def configured_in(self, root: Path) -> str | None:
        return ruff_config_name(root)

    def metrics(
        self, section: RuffSettings, findings: Sequence[ToolFinding]
    ) -> dict[str, int | None]:
        unformatted = sum(1 for f in findings if f.whole_file)
        return {
            "violations": len(findings) - unformatted,
            # None: not measured, because `gates.ruff.format = false`
            "unformatted": unformatted if section.format else None,
        }

    def describe(self, section: RuffSettings, findings: Sequence[ToolFinding]) -> str:
        if not findings:
            return (
                "no violations, all files formatted"
                if section.format
                else ("no violations (format check off)")
            )
        unformatted = sum(1 for f in findings if f.whole_file)
        violations = len(findings) - unformatted
        parts = [plural(violations, "violation")] if violations else []
        if unformatted:
            parts.append(plural(unformatted, "unformatted file"))
        return ", ".join(parts)
