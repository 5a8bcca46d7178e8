"""Helpers for the ruff, mypy and baseline tests: small projects and real environments.

`bare_python` builds a real virtual environment that has everything the plugin needs
but neither ruff nor mypy, which is how a user without them runs: a missing tool is
simulated by its honest absence, never by patching our lookup.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest_tddgate

if TYPE_CHECKING:
    import pytest

SRC = Path(pytest_tddgate.__file__).resolve().parent.parent

PYPROJECT = textwrap.dedent("""\
    [tool.pytest.ini_options]
    filterwarnings = ["error"]
""")
PASSING_TEST = "def test_ok():\n    assert True\n"
_TOOLS = ("ruff", "mypy")


def make_project(pytester: pytest.Pytester, files: dict[str, str], config: str = "") -> Path:
    """A project in pytester's folder: pyproject (plus `config`), one passing test, files."""
    root = pytester.path
    write(
        root,
        {
            "pyproject.toml": PYPROJECT + textwrap.dedent(config),
            "tests/test_ok.py": PASSING_TEST,
            **files,
        },
    )
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for relpath, text in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def load_report(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / ".tddgate/report.json").read_text("utf-8"))
    return data


def gate(root: Path, name: str) -> dict[str, Any]:
    """The JSON of gate `name` in the project's report."""
    found: dict[str, Any] = next(g for g in load_report(root)["gates"] if g["name"] == name)
    return found


def bare_python(base: Path) -> Path:
    """A venv with the test environment's packages except ruff and mypy (made once)."""
    python = base / "bare" / "bin" / "python"
    if python.exists():
        return python
    venv = base / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths()["purelib"])
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    for entry in site.iterdir():
        name = entry.name.lower()
        # the plugin itself comes from PYTHONPATH (this checkout), not the editable install
        if name.startswith((*_TOOLS, "__editable__")) or (target / entry.name).exists():
            continue
        (target / entry.name).symlink_to(entry)
    return python


def fake_tool(bin_dir: Path, name: str, body: str) -> Path:
    """An executable `name` on a PATH folder: a real process running Python `body`.

    Used only for what a real tool cannot be made to do on demand: hang or crash.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(f"#!{sys.executable}\n{textwrap.dedent(body)}", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def isolate_path(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> None:
    """PATH = bin_dir + the system folders; PYTHONPATH = this checkout's sources.

    PATH keeps git (for the report's base) and drops every folder holding a real ruff
    or mypy, so the plugin finds only what the test put in `bin_dir`.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    system = [
        d
        for d in ("/usr/local/bin", "/usr/bin", "/bin")
        if not any(shutil.which(t, path=d) for t in _TOOLS)
    ]
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), *system]))
    monkeypatch.setenv("PYTHONPATH", str(SRC))


def run_bare(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    python: Path,
    bin_dir: Path,
    *args: str,
) -> pytest.RunResult:
    """`python -m pytest ARGS` in the project, with PATH isolated (see isolate_path)."""
    isolate_path(monkeypatch, bin_dir)
    return pytester.run(str(python), "-m", "pytest", "-p", "no:cacheprovider", *args, timeout=120)
