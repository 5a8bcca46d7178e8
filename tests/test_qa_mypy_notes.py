"""QA M2: mypy's notes that span several lines (an incompatible override's Liskov note
and its link) print as indented lines of the fix, never with a literal `\\x0a`; a
line break that is not a note's (a control character in a message) stays escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.tooltesting import gate, make_project

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

OVERRIDE = """\
class Lock:
    def acquire(self, timeout: int) -> int:
        return timeout


class FileLock(Lock):
    def acquire(self, timeout: str) -> int:
        return 1
"""


def test_a_multi_line_note_prints_as_indented_lines(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    cache: Path = tmp_path_factory.getbasetemp() / "mypy-cache"
    monkeypatch.setenv("MYPY_CACHE_DIR", str(cache))
    root = make_project(pytester, {"src/app/__init__.py": "", "src/app/lock.py": OVERRIDE})

    result = pytester.runpytest("--tddgate", "--tddgate-only=mypy", "-p", "no:randomly")

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            '  src/app/lock.py:7: Argument 1 of "acquire" is incompatible with supertype *',
            "    fix: This violates the Liskov substitution principle",
            "         See https://mypy.readthedocs.io/*#incompatible-overrides",
        ]
    )
    assert "\\x0a" not in result.stdout.str()
    # the JSON report keeps the note as mypy wrote it
    [finding] = gate(root, "mypy")["findings"]
    assert finding["hint"].splitlines()[0] == "This violates the Liskov substitution principle"
