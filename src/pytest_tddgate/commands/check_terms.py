"""The gates' words in `tddgate check`'s terms.

Gates and settings name pytest's options (`--tddgate-only`, `--tddgate-role`) and
speak of "uncommitted changes", because most runs are `pytest --tddgate` on the
working tree. The check command has its own options (`--only`, `--role`) and, with
`--staged`, judges the staged changes; a message that names an option the user
cannot type, or changes the check did not judge, sends them the wrong way. So every
text of the report and of a usage error passes through `CheckTerms` once, here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from pytest_tddgate.errors import UsageError

if TYPE_CHECKING:
    from pytest_tddgate.model import Finding, GateResult, Report
    from pytest_tddgate.settings import Settings

ROLE_OPTIONS = "--tddgate-role / TDDGATE_ROLE"  # how facts/roles.py names the role's origin
# the option as facts/roles.py names it when it may be either command's
_EITHER_ROLE_OPTION = re.compile(r"--tddgate-role \(`tddgate check --role`\)")
_OPTIONS = re.compile(r"--tddgate-(only|skip|role|base)\b")
_UNCOMMITTED = re.compile(r"\buncommitted changes\b")


def role_origin(settings: Settings, option: str | None) -> str:
    """Where the role of uncommitted or staged changes came from, in the precedence
    settings.py resolves it: the option, the environment, then pyproject.toml."""
    if option:
        return "--role"
    if os.environ.get("TDDGATE_ROLE"):
        return "TDDGATE_ROLE (environment)"
    if settings.project.role is not None:
        file = settings.config_file.name if settings.config_file else "pyproject.toml"
        return f'`role = "{settings.project.role}"` in [tool.tddgate] of {file}'
    return "--role / TDDGATE_ROLE"


# how settings.py names a gate list of `--tddgate-only` / `--tddgate-skip` it rejects
_GATE_LIST_KEY = "--tddgate-only/--tddgate-skip"


@dataclass(frozen=True, slots=True)
class CheckTerms:
    role_origin: str
    staged: bool
    gates_given: bool = False  # --only or --skip on the command line

    def text(self, text: str) -> str:
        text = text.replace(ROLE_OPTIONS, self.role_origin)
        text = _EITHER_ROLE_OPTION.sub("--role", text)
        text = _OPTIONS.sub(r"--\1", text)
        return _UNCOMMITTED.sub("staged changes", text) if self.staged else text

    def optional(self, text: str | None) -> str | None:
        return None if text is None else self.text(text)

    def finding(self, finding: Finding) -> Finding:
        return replace(
            finding, message=self.text(finding.message), hint=self.optional(finding.hint)
        )

    def result(self, result: GateResult) -> GateResult:
        return replace(
            result,
            summary=self.text(result.summary),
            findings=tuple(self.finding(f) for f in result.findings),
        )

    def report(self, report: Report) -> Report:
        return replace(report, base_note=self.optional(report.base_note))

    def usage_error(self, exc: UsageError) -> UsageError:
        if self.gates_given and exc.key is not None and _GATE_LIST_KEY in exc.key:
            # settings.py names pyproject.toml for every value it rejects; these came
            # from the command line
            return UsageError(
                self.text(exc.message), key="--only/--skip", fix=self.optional(exc.fix)
            )
        return UsageError(
            self.text(exc.message),
            file=exc.file,
            key=self.optional(exc.key),
            line=exc.line,
            column=exc.column,
            fix=self.optional(exc.fix),
        )
