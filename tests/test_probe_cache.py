"""The probed code kept in `__pycache__` (facts/probecache.py): used again only for the
same source, never loaded by a plain import, and not written when Python is told not
to write bytecode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.facts import probecache
from tests.test_coverage_branches import _project


def gate(pytester: pytest.Pytester) -> dict[str, Any]:
    result = pytester.runpytest_subprocess("--tddgate", "--tddgate-only=tests,coverage",
                                           "-p", "no:cacheprovider")  # fmt: skip
    result.assert_outcomes(passed=2)
    report = json.loads((pytester.path / ".tddgate/report.json").read_text("utf-8"))
    found: dict[str, Any] = next(g for g in report["gates"] if g["name"] == "coverage")
    return found


def kept(pytester: pytest.Pytester) -> list[Path]:
    return sorted(pytester.path.rglob("*-tddgate-*.pyc"))


def test_probed_code_is_kept_and_used_again_only_for_the_same_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    _project(pytester, '["src", "tests"]')
    first = gate(pytester)
    entries = kept(pytester)
    written = {p: p.stat().st_mtime_ns for p in entries}
    again = gate(pytester)
    code = pytester.path / "src/pkg/numbers.py"
    code.write_text(code.read_text("utf-8") + "\n\nLATER = 1\n", encoding="utf-8")
    changed = gate(pytester)

    names = {p.name.split(".")[0] for p in entries}
    assert {"numbers", "test_numbers", "__init__"} <= names  # code, tests, packages
    assert all("-tddgate-branches" in p.name for p in entries)
    assert again["metrics"] == first["metrics"]
    assert {p: p.stat().st_mtime_ns for p in entries if "numbers.cpython" not in p.name} == {
        p: t for p, t in written.items() if "numbers.cpython" not in p.name
    }  # the unchanged files' entries were read, not written again
    assert changed["metrics"]["statements"] == first["metrics"]["statements"] + 1
    # a plain import never finds the probed code (it would fail: its builtins are gone)
    plain = subprocess.run(
        [sys.executable, "-c", "import pkg.numbers; print(pkg.numbers.kind(7))"],
        cwd=pytester.path / "src",
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.stdout.strip() == "prime", plain.stderr


def test_nothing_is_kept_when_python_writes_no_bytecode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    _project(pytester, '["src"]')
    measured = gate(pytester)

    assert measured["details"]["core"] == "probes"
    assert kept(pytester) == []


def test_a_damaged_entry_is_compiled_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    where = tmp_path / "__pycache__" / "m.tddgate.pyc"
    expected = probecache.key(b"x = 1\n", "/m.py", "lines")
    code = compile("x = 1\n", "m.py", "exec")
    probecache.store(where, expected, code, {3: (4, None, True)})

    assert probecache.load(where, expected) == (code, {3: (4, None, True)})
    assert probecache.load(where, probecache.key(b"x = 2\n", "/m.py", "lines")) is None
    where.write_bytes(b"not marshal data")
    assert probecache.load(where, expected) is None
