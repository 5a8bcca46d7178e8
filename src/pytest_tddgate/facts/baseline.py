"""The baseline: ruff and mypy findings a project recorded, which do not fail the gates.

A finding is recognised by a fingerprint without line numbers: gate, path, rule,
message (with "line 12" references blanked) and the text of its source line with
whitespace collapsed. So a finding that moves when lines are added above it is still
the same finding, while the same mistake written again elsewhere is a new one. Equal
fingerprints are counted, not merged: two identical lines with one baselined error
each allow two, and a third fails.

The file (default `.tddgate-baseline.json`, see docs/baseline.md) is JSON, sorted and
without timestamps, so it diffs well and rewriting it without changes changes nothing:

    {"schema": "tddgate-baseline/1",
     "findings": [{"gate": "ruff", "path": "src/app.py", "rule": "F401",
                   "message": "`os` imported but unused", "source": "import os",
                   "count": 1}]}
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import UsageError
from pytest_tddgate.fsutil import atomic_write_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.facts.toolparse import ToolFinding

SCHEMA = "tddgate-baseline/1"
_FIELDS = ("gate", "path", "rule", "message", "source")
_LINE_REFERENCE = re.compile(r"\b(lines?) \d+(?:-\d+)?")
_FIX = (
    "restore it from version control (`git checkout -- {name}`), correct it by hand "
    "(docs/baseline.md), or record the current findings anew with "
    "`tddgate baseline --force`"
)


@dataclass(frozen=True, slots=True, order=True)
class Fingerprint:
    """What identifies a finding across edits that only move it."""

    gate: str
    path: str
    rule: str
    message: str
    source: str  # the stripped source line; empty for whole-file findings

    def to_json(self, count: int) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "source": self.source,
            "count": count,
        }


@dataclass(frozen=True, slots=True)
class Baseline:
    """The recorded findings and how many of each."""

    path: Path
    counts: Mapping[Fingerprint, int] = field(default_factory=dict)
    exists: bool = False


@dataclass(frozen=True, slots=True)
class Scope:
    """Which recorded findings a run measured: its gates' minus switched-off checks.

    Entries outside the scope are neither "fixed" nor dropped: with
    `gates.ruff.format = false` the recorded unformatted files are simply not judged.
    """

    gates: frozenset[str]
    unmeasured: frozenset[tuple[str, str]] = frozenset()  # (gate, rule)

    def covers(self, key: Fingerprint) -> bool:
        return key.gate in self.gates and (key.gate, key.rule) not in self.unmeasured


@dataclass(frozen=True, slots=True)
class Judgement:
    """A gate's findings split by the baseline."""

    new: tuple[ToolFinding, ...]
    baselined: tuple[ToolFinding, ...]
    fixed: int  # baselined findings that no longer occur: the baseline can tighten


class SourceLines:
    """Lines of the project's files, each file read once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, list[str]] = {}

    def text(self, path: str, line: int | None) -> str:
        if line is None:
            return ""
        if path not in self._files:
            try:
                content = (self.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                content = ""
            self._files[path] = content.splitlines()
        lines = self._files[path]
        return " ".join(lines[line - 1].split()) if 0 < line <= len(lines) else ""


def fingerprint(finding: ToolFinding, lines: SourceLines) -> Fingerprint:
    source = "" if finding.whole_file else lines.text(finding.path, finding.line)
    message = _LINE_REFERENCE.sub(r"\1 N", finding.message)
    return Fingerprint(finding.tool, finding.path, finding.code, message, source)


def fingerprints(findings: Iterable[ToolFinding], root: Path) -> Counter[Fingerprint]:
    lines = SourceLines(root)
    return Counter(fingerprint(f, lines) for f in findings)


def judge(
    baseline: Baseline, scope: Scope, findings: Iterable[ToolFinding], root: Path
) -> Judgement:
    """Split findings into new and baselined; count baselined ones that are gone.

    Among findings with one fingerprint, the first ones by line are baselined and
    the rest new: which of two identical lines is "the new one" cannot be known.
    """
    lines = SourceLines(root)
    allowed = {key: n for key, n in baseline.counts.items() if scope.covers(key)}
    seen: Counter[Fingerprint] = Counter()
    new: list[ToolFinding] = []
    old: list[ToolFinding] = []
    for finding in sorted(findings, key=lambda f: (f.path, f.line or 0)):
        key = fingerprint(finding, lines)
        seen[key] += 1
        (old if seen[key] <= allowed.get(key, 0) else new).append(finding)
    fixed = sum(max(0, n - seen[key]) for key, n in allowed.items())
    return Judgement(tuple(new), tuple(old), fixed)


def load(path: Path) -> Baseline:
    """Read and validate a baseline file; a missing file is an empty baseline."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Baseline(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(path, f"cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(
            path, f"is not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    if not isinstance(data, dict):
        raise _error(path, "must be a JSON object with `schema` and `findings`")
    if data.get("schema") != SCHEMA:
        raise _error(path, f"has schema {data.get('schema')!r}, expected {SCHEMA!r}", key="schema")
    unknown = sorted(set(data) - {"schema", "findings"})
    if unknown:
        raise _error(path, f"unknown key `{unknown[0]}`", key=unknown[0])
    items = data.get("findings")
    if not isinstance(items, list):
        raise _error(path, "must be a list of findings", key="findings")
    counts: Counter[Fingerprint] = Counter()
    for index, item in enumerate(items):
        key, count = _entry(path, item, f"findings[{index}]")
        counts[key] += count  # a hand-merged file may repeat an entry: both count
    return Baseline(path, dict(counts), exists=True)


def _entry(path: Path, item: Any, where: str) -> tuple[Fingerprint, int]:
    if not isinstance(item, dict):
        raise _error(path, "must be an object", key=where)
    for name in item:
        if name not in (*_FIELDS, "count"):
            raise _error(
                path,
                f"unknown key `{name}` (keys: {', '.join(_FIELDS)}, count)",
                key=f"{where}.{name}",
            )
    values = []
    for name in _FIELDS:
        value = item.get(name)
        if not isinstance(value, str):
            raise _error(
                path, f"must be a string, got {type(value).__name__}", key=f"{where}.{name}"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON can spell half a character (`\ud800`), no file can
            raise _error(path, "holds a lone surrogate escape", key=f"{where}.{name}") from None
        values.append(value)
    count = item.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise _error(path, f"must be a whole number >= 1, got {count!r}", key=f"{where}.count")
    return Fingerprint(*values), count


def _error(
    path: Path,
    message: str,
    *,
    key: str | None = None,
    line: int | None = None,
    column: int | None = None,
) -> UsageError:
    return UsageError(
        f"baseline {message}",
        file=path,
        key=key,
        line=line,
        column=column,
        fix=_FIX.format(name=path.name),
    )


def render(counts: Mapping[Fingerprint, int]) -> str:
    """The file's text: sorted, one finding per line, stable byte for byte."""
    rows = [
        json.dumps(key.to_json(n), ensure_ascii=False) for key, n in sorted(counts.items()) if n > 0
    ]
    body = ",\n    ".join(rows)
    findings = f"[\n    {body}\n  ]" if rows else "[]"
    return f'{{\n  "schema": "{SCHEMA}",\n  "findings": {findings}\n}}\n'


def save(path: Path, counts: Mapping[Fingerprint, int]) -> bool:
    """Write the baseline atomically; False when the file already says exactly this."""
    text = render(counts)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    atomic_write_text(path, text)
    return True


@dataclass(frozen=True, slots=True)
class Ratchet:
    """What `tddgate baseline` will write, and what it refused to add."""

    counts: dict[Fingerprint, int]
    refused: tuple[tuple[Fingerprint, int], ...]  # new findings kept out of the baseline
    dropped: int  # recorded findings that are fixed


def ratchet(
    old: Baseline,
    current: Mapping[Fingerprint, int],
    scope: Scope,
    *,
    accept_new: bool = False,
) -> Ratchet:
    """The new baseline for what `scope` measured: it only tightens.

    A fingerprint keeps at most its old count (fixed findings drop out); one that was
    not recorded is refused, unless `accept_new` (no baseline yet, or `--force`).
    Entries outside the scope (a gate not re-run) are kept as they are.
    """
    counts = {key: n for key, n in old.counts.items() if not scope.covers(key)}
    refused = []
    for key, n in sorted(current.items()):
        allowed = n if accept_new else min(n, old.counts.get(key, 0))
        if allowed:
            counts[key] = allowed
        if n > allowed:
            refused.append((key, n - allowed))
    dropped = sum(
        max(0, n - current.get(key, 0)) for key, n in old.counts.items() if scope.covers(key)
    )
    return Ratchet(counts, tuple(refused), dropped)


def baseline(facts: Facts) -> Baseline:
    """The project's baseline file (setting `baseline`)."""
    return load(facts.settings.path(facts.settings.project.baseline))
