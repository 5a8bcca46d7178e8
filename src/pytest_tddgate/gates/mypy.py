"""Gate `mypy`: no type errors beyond the baseline.

Runs the mypy of the interpreter pytest runs in (else the one on PATH), with the
project's mypy configuration and incremental cache; see docs/gates/mypy.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate.facts.toolparse import mypy_config_name
from pytest_tddgate.gates.toolgate import ToolGate, plural

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_tddgate.facts.toolparse import ToolFinding
    from pytest_tddgate.settings import MypySettings


class MypyGate(ToolGate):
    name = "mypy"

    def configured_in(self, root: Path) -> str | None:
        return mypy_config_name(root)

    def metrics(
        self, section: MypySettings, findings: Sequence[ToolFinding]
    ) -> dict[str, int | None]:
        return {"errors": len(findings)}

    def describe(self, section: MypySettings, findings: Sequence[ToolFinding]) -> str:
        return plural(len(findings), "error") if findings else "no errors"
