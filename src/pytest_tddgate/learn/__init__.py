"""Expertise learnings: derive them from the run ledger, merge them into expertise.md.

`update_expertise(settings)` is called after each gated run (when learnings are on)
and by `tddgate learn`. It holds the ledger's write lock while it reads the ledger
and merges the file, so two runs finishing at once take turns: the second merges
into what the first wrote, and neither's entries are lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.errors import TddGateError, UsageError
from pytest_tddgate.facts import ledger
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.learn import history
from pytest_tddgate.learn.derive import Learning, derive
from pytest_tddgate.learn.markdown import merge

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.facts.roles import RoleRules
    from pytest_tddgate.settings import Settings

__all__ = ["LearnResult", "Learning", "update_expertise"]


@dataclass(frozen=True, slots=True)
class LearnResult:
    """What `update_expertise` did to the file."""

    path: Path
    written: bool
    added: int = 0
    updated: int = 0
    learnings: int = 0  # how many the ledger supports in all
    removed: int = 0  # entries of kinds no longer derived (see markdown.RETIRED)

    def describe(self, shown: str) -> str:
        if not self.written:
            return f"tddgate: learnings in {shown} are up to date ({self.learnings} entries)"
        removed = f", {self.removed} outdated removed" if self.removed else ""
        return f"tddgate: learnings in {shown}: {self.added} added, {self.updated} updated{removed}"


def update_expertise(settings: Settings) -> LearnResult:
    """Derive the learnings from the ledger and merge them into expertise.md.

    Raises `UsageError` for an expertise.md that cannot be merged safely (front
    matter that is not YAML, bytes that are not UTF-8), `ledger.LedgerError` when
    the ledger cannot be read, and `OSError` when the file cannot be written.
    """
    ledger_path = settings.path(settings.project.ledger)
    target = settings.path(settings.project.expertise)
    with ledger.write_lock(ledger_path) as conn:
        try:
            past = history.load(conn, settings.root)
            learnings = derive(past, _roles(settings) if past.violations else None)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # SQLite keeps any type in any column: rows edited or damaged into other
            # types cost this run its learnings, not the run itself
            raise ledger.LedgerError(
                f"the run ledger {ledger_path} holds data of unexpected types "
                f"({type(exc).__name__}: {exc}); the learnings are not updated",
                fix="move the ledger aside to start a fresh one",
            ) from None
        as_of = past.runs[-1].date if past.runs else "1970-01-01"
        for _attempt in range(3):
            before = _read(target)
            merged = merge(before, learnings, as_of, target)
            if merged.text is None:
                return LearnResult(target, False, learnings=len(learnings))
            if _read(target) != before:
                continue  # a person saved the file meanwhile: merge into their version
            atomic_write_text(target, merged.text)
            return LearnResult(
                target, True, merged.added, merged.updated, len(learnings), merged.removed
            )
    raise UsageError(
        "the file kept changing while the learnings were merged",
        file=target,
        fix="save it and run `tddgate learn` again",
    )


def _roles(settings: Settings) -> RoleRules | None:
    """The project's role file, to name who owns a path; None when it cannot be read
    (the roles gate reports that, with its fix: the learnings only leave owners out)."""
    from pytest_tddgate.facts.roles import parse_roles

    try:
        text = settings.path(settings.project.roles).read_text(encoding="utf-8")
        return parse_roles(text, settings.project.roles)
    except (OSError, UnicodeDecodeError, TddGateError):
        return None


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        # newline="" semantics: bytes -> str with line endings exactly as written
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"not UTF-8 text (byte {exc.start}); the learnings are not updated",
            file=path,
            fix="save the file as UTF-8",
        ) from None
