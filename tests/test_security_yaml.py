"""YAML tags that construct Python objects are refused: exit 4, nothing constructed.

The role file and the front matter of expertise.md are YAML a checkout provides.
Read with anything but `yaml.safe_load`, `!!python/object/apply:os.system` would run
a command. Each tag below would create a marker file if it were honoured.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pytest_tddgate"


def payloads(marker: Path) -> list[str]:
    command = f"touch {marker}"
    return [
        f"!!python/object/apply:os.system [{command!r}]",
        f"!!python/object/apply:subprocess.call [[touch, {str(marker)!r}]]",
        f"!!python/object/new:os.system [{command!r}]",
        "!!python/name:os.system",
        "!!python/module:os",
        f'!!python/object/apply:builtins.exec ["open({str(marker)!r}, \\"w\\")"]',
    ]


TAGS = range(6)


@pytest.mark.parametrize("which", TAGS)
def test_a_role_file_with_a_python_tag_is_exit_4(
    pytester: pytest.Pytester, tmp_path: Path, which: int
) -> None:
    marker = tmp_path / "constructed"
    pytester.makepyprojecttoml("[tool.tddgate]\n")
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    payload = payloads(marker)[which]
    (pytester.path / "tddgate-roles.yaml").write_text(
        f"roles:\n  qa: {{owns: {payload}}}\n", encoding="utf-8"
    )

    result = pytester.runpytest("--tddgate", "-p", "no:cacheprovider")

    assert result.ret == 4
    result.stderr.fnmatch_lines(["*tddgate-roles.yaml:*"])
    assert not marker.exists()


@pytest.mark.parametrize("which", TAGS)
def test_tddgate_check_refuses_a_role_file_with_a_python_tag(tmp_path: Path, which: int) -> None:
    marker = tmp_path / "constructed"
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    (project / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")
    (project / "tddgate-roles.yaml").write_text(f"roles: {payloads(marker)[which]}\n", "utf-8")

    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "check", "--only", "roles"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert not marker.exists()


@pytest.mark.parametrize("which", TAGS)
def test_expertise_front_matter_with_a_python_tag_is_a_status_line(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: int
) -> None:
    monkeypatch.delenv("CI", raising=False)
    marker = tmp_path / "constructed"
    pytester.makepyprojecttoml('[tool.tddgate]\nonly = ["tests"]\n')
    pytester.makepyfile(test_a="def test_a():\n    assert False\n")
    notes = pytester.path / "docs" / "expertise.md"
    notes.parent.mkdir()
    notes.write_text(f"---\nowner: {payloads(marker)[which]}\n---\n", encoding="utf-8")
    for _ in range(2):
        pytester.runpytest("--tddgate", "-p", "no:cacheprovider")

    result = pytester.runpytest("--tddgate", "-p", "no:cacheprovider")  # a stuck test now

    result.stdout.fnmatch_lines(["tddgate: the learnings were not updated: *front matter*"])
    assert not marker.exists()


def test_the_source_reads_yaml_only_with_the_safe_loader() -> None:
    unsafe = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            name = node.func.attr
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "yaml"):
                continue
            loader = next((k.value for k in node.keywords if k.arg == "Loader"), None)
            safe_loader = isinstance(loader, ast.Attribute) and loader.attr == "SafeLoader"
            if name in ("load", "load_all", "unsafe_load", "full_load", "full_load_all") or (
                name in ("compose", "compose_all", "parse", "scan") and not safe_loader
            ):
                unsafe.append(f"{path.relative_to(ROOT)}:{node.lineno}: yaml.{name}")
    assert unsafe == []
