"""The values every step passes on: findings, gate results and the report.

All frozen, all JSON-safe through `to_json` / `from_json`, so the report written by
one run can be re-rendered later (`tddgate report`) and compared between runs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

SCHEMA = "tddgate-report/1"

JSONScalar = str | int | float | bool | None
Metrics = Mapping[str, JSONScalar]


class Verdict(str, enum.Enum):
    """A gate's status. `error` means "could not judge", never "rule broken"."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Waiver:
    """A documented exception to a gate's findings, from `[[tool.tddgate.waivers]]`."""

    gate: str
    reason: str
    owner: str
    expires: str | None = None  # ISO date; None = never expires
    path: str | None = None  # gitignore-style glob
    rule: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "path": self.path,
            "rule": self.rule,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule (or one fact worth showing), where it is and how to fix it."""

    rule: str
    message: str
    path: str | None = None
    line: int | None = None
    commit: str | None = None
    requirement: str | None = None
    hint: str | None = None
    waiver: Waiver | None = None

    @property
    def waived(self) -> bool:
        return self.waiver is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "commit": self.commit,
            "requirement": self.requirement,
            "hint": self.hint,
            "waived": self.waiver is not None,
            "waiver": self.waiver.to_json() if self.waiver else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        waiver = data.get("waiver")
        return cls(
            rule=str(data["rule"]),
            message=str(data["message"]),
            path=data.get("path"),
            line=data.get("line"),
            commit=data.get("commit"),
            requirement=data.get("requirement"),
            hint=data.get("hint"),
            waiver=Waiver(**waiver) if isinstance(waiver, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class GateResult:
    """What one gate concluded: its verdict, a one-line summary, metrics and findings."""

    name: str
    status: Verdict
    summary: str
    findings: tuple[Finding, ...] = ()
    metrics: Metrics = field(default_factory=dict)
    duration_s: float = 0.0
    optional: bool = False
    # gate-specific structured data (JSON-safe), e.g. which source mapped a test
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """True when this result fails the run."""
        return self.status in (Verdict.FAIL, Verdict.ERROR) and not self.optional

    def with_timing(self, duration_s: float, optional: bool) -> GateResult:
        return replace(self, duration_s=round(duration_s, 4), optional=optional)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "duration_s": self.duration_s,
            "optional": self.optional,
            "metrics": dict(self.metrics),
            "findings": [f.to_json() for f in self.findings],
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateResult:
        return cls(
            name=str(data["name"]),
            status=Verdict(data["status"]),
            summary=str(data["summary"]),
            findings=tuple(Finding.from_json(f) for f in data.get("findings", [])),
            metrics=dict(data.get("metrics", {})),
            duration_s=float(data.get("duration_s", 0.0)),
            optional=bool(data.get("optional", False)),
            details=dict(data.get("details", {})),
        )


@dataclass(frozen=True, slots=True)
class RequirementStatus:
    """A requirement of the traceability matrix as this run saw it."""

    id: str
    status: str  # passing | failing | untested | not-run
    tests: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    title: str | None = None
    coverage_percent: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "tests": list(self.tests),
            "code": list(self.code),
            "coverage_percent": self.coverage_percent,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequirementStatus:
        percent = data.get("coverage_percent")
        if percent is not None and not isinstance(percent, (int, float)):
            raise TypeError(f"coverage_percent is {percent!r}, not a number")
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            tests=_strings(data.get("tests", ()), "tests"),
            code=_strings(data.get("code", ()), "code"),
            title=_text(data.get("title"), "title"),
            coverage_percent=percent,
        )


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """Which project the run judged: the root, what made it the root, and the
    configuration files read there (None: the defaults)."""

    root: str  # absolute path
    found_by: str | None = None  # e.g. "nearest pyproject.toml"
    settings_file: str | None = None  # holds [tool.tddgate]; relative to the root
    coverage_config: str | None = None  # the file coverage.py read its settings from

    def describe(self) -> str:
        """One line for the terminal."""
        parts = [self.found_by] if self.found_by else []
        parts.append(f"settings: {self.settings_file or 'defaults'}")
        if self.coverage_config is not None:
            parts.append(f"coverage config: {self.coverage_config}")
        return f"project: {self.root} ({'; '.join(parts)})"

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "found_by": self.found_by,
            "settings_file": self.settings_file,
            "coverage_config": self.coverage_config,
        }

    @classmethod
    def from_json(cls, data: Any) -> ProjectInfo | None:
        if data is None:
            return None
        if not isinstance(data, Mapping):
            raise TypeError(f"project is {data!r}, not an object")
        return cls(
            root=str(data["root"]),
            found_by=_text(data.get("found_by"), "project.found_by"),
            settings_file=_text(data.get("settings_file"), "project.settings_file"),
            coverage_config=_text(data.get("coverage_config"), "project.coverage_config"),
        )


@dataclass(frozen=True, slots=True)
class Report:
    """The whole verdict of one run; `passed` is derived from the gates."""

    gates: tuple[GateResult, ...]
    base: str | None = None
    head: str | None = None
    role: str | None = None
    requirements: tuple[RequirementStatus, ...] = ()
    base_note: str | None = None  # how the base was chosen, e.g. "merge-base with main"
    generated_at: str | None = None
    tool_version: str | None = None
    project: ProjectInfo | None = None  # None: an older report, or none was judged

    @property
    def passed(self) -> bool:
        return not any(g.blocking for g in self.gates)

    def gate(self, name: str) -> GateResult | None:
        return next((g for g in self.gates if g.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "passed": self.passed,
            "base": self.base,
            "head": self.head,
            "role": self.role,
            "base_note": self.base_note,
            "generated_at": self.generated_at,
            "tool_version": self.tool_version,
            "project": self.project.to_json() if self.project is not None else None,
            "gates": [g.to_json() for g in self.gates],
            "requirements": [r.to_json() for r in self.requirements],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} report (schema: {data.get('schema')!r})")
        return cls(
            gates=tuple(GateResult.from_json(g) for g in data.get("gates", [])),
            base=_text(data.get("base"), "base"),
            head=_text(data.get("head"), "head"),
            role=_text(data.get("role"), "role"),
            requirements=tuple(RequirementStatus.from_json(r) for r in data["requirements"]),
            base_note=_text(data.get("base_note"), "base_note"),
            generated_at=_text(data.get("generated_at"), "generated_at"),
            tool_version=_text(data.get("tool_version"), "tool_version"),
            project=ProjectInfo.from_json(data.get("project")),
        )


# A report read back (by `tddgate matrix`, `--update`) is printed and sliced: a
# hand-edited one with a number where a string belongs must fail on loading, where
# the loader turns it into a clear message, not later in a traceback.
def _text(value: Any, key: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key} is {value!r}, not a string")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{key} is {value!r}, not a list of strings")
    return tuple(value)
