"""The exceptions pytest-tddgate raises, and what each one means for the user.

`UsageError` is a user's mistake (bad settings, matrix or role file): the run exits 4
with the file, the key and the fix. `FactError` means a fact could not be gathered
(not a git repository, a missing tool): the gates that need it say `error` with the
reason instead of pretending a rule was broken.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class TddGateError(Exception):
    """Base class of every error pytest-tddgate raises on purpose."""


class UsageError(TddGateError):
    """A user's input is wrong; the message names where and how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        self.line = line
        self.column = column
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        """One readable paragraph: `file:line:col: key: message. fix`."""
        where = self.file or ""
        if where and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [p for p in (where, self.key) if p]
        text = ": ".join([*parts, self.message])
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of the character at `index` of `text`.

    Lines end at `\\n` only, as git and editors count them: PyYAML's marks also break
    lines at NEL, U+2028 and U+2029, so its own `line` can name lines a file does not
    have. Files are read with universal newlines, so `\\r\\n` and `\\r` arrive as `\\n`.
    """
    index = max(0, min(index, len(text)))
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1


class FactError(TddGateError):
    """A fact could not be gathered; gates that need it report `error` with this text."""

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message if not fix else f"{message} (fix: {fix})")


class ToolError(FactError):
    """An external command failed: carries the command, its exit code and stderr."""

    def __init__(
        self,
        command: Sequence[str],
        returncode: int | None,
        stderr: str,
        *,
        message: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.command = tuple(command)
        self.returncode = returncode
        self.stderr = stderr
        tail = stderr.strip().splitlines()[-5:]
        status = "timed out" if returncode is None else f"exited {returncode}"
        text = message or f"`{' '.join(self.command)}` {status}"
        if tail:
            text += ": " + " | ".join(tail)
        super().__init__(text, fix=fix)
