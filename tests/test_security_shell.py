"""Nothing from a configuration file reaches a shell, and git never reads a path or a
revision from the checkout as an option.

Three proofs: the source has no shell (no `shell=True`, no `os.system`, no command
written as one string); settings full of shell syntax run nothing (each would leave
a marker file if a shell saw it); and every git command the gates run, recorded by
a transparent `git` on PATH that logs its arguments and then runs the real git,
puts a `--` (or `--end-of-options`) before anything the checkout chose: its file
names (also `-rf.py` and `--output=x.py`) and the configured base revision.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pytest_tddgate"
SHELL_FUNCTIONS = {
    ("os", "system"),
    ("os", "popen"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
    ("asyncio", "create_subprocess_shell"),
    ("pty", "spawn"),
}
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


def shell_uses(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append((node.lineno, "shell= other than False"))
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if (func.value.id, func.attr) in SHELL_FUNCTIONS:
                found.append((node.lineno, f"{func.value.id}.{func.attr}"))
            if func.attr.startswith(("exec", "spawn")) and func.value.id == "os":
                found.append((node.lineno, f"os.{func.attr}"))
            if func.value.id == "subprocess" and func.attr in SUBPROCESS_CALLS and node.args:
                first = node.args[0]
                if isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    found.append((node.lineno, f"subprocess.{func.attr} with a string"))
    return found


def test_the_source_has_no_shell() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted(SRC.rglob("*.py"))
        for line, what in shell_uses(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def test_the_shell_detector_detects() -> None:
    """The check above would see each way in (so its empty result means something)."""
    sample = (
        "import os, subprocess\n"
        "os.system('ls')\n"
        "subprocess.run('ls', shell=True)\n"
        "subprocess.Popen(f'ls {x}')\n"
        "os.execvp('sh', ['sh'])\n"
    )
    assert [line for line, _ in shell_uses(ast.parse(sample))] == [2, 3, 3, 4, 5]


SHELL_SYNTAX = ("$(touch {m}1)", "; touch {m}2", "`touch {m}3`", "| touch {m}4", "&& touch {m}5")


def shell_settings(marker: Path) -> str:
    values = [v.format(m=marker) for v in SHELL_SYNTAX]
    listed = json.dumps(values)
    return (
        "[tool.tddgate]\n"
        f"base = {json.dumps(values[0])}\n"
        f"role = {json.dumps(values[1])}\n"
        f"only = []\n"
        "[tool.tddgate.gates.ruff]\n"
        f"args = {listed}\n"
        "[tool.tddgate.gates.mypy]\n"
        f"args = {listed}\n"
        "[tool.tddgate.gates.tdd]\n"
        f"exempt = {listed}\n"
        f"naming = {json.dumps([v + '{stem}.py' for v in values])}\n"
        "[[tool.tddgate.waivers]]\n"
        'gate = "ruff"\n'
        f"path = {json.dumps(values[2])}\n"
        f"reason = {json.dumps(values[3])}\n"
        f"owner = {json.dumps(values[4])}\n"
    )


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in ("CI", "TDDGATE_BASE", "TDDGATE_ROLE", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return {**env, **extra}


def test_settings_full_of_shell_syntax_run_nothing(repo: GitRepo, tmp_path: Path) -> None:
    marker = tmp_path / "shell-ran-"
    repo.write("pyproject.toml", shell_settings(marker))
    repo.write("tddgate-roles.yaml", f"roles:\n  dev: {{owns: [{json.dumps(SHELL_SYNTAX[0])}]}}\n")
    repo.write("src/pkg/mod.py", "x = 1\n")
    repo.write("tests/test_mod.py", "def test_mod():\n    pass\n")
    repo.commit("base")

    commands = (
        [sys.executable, "-m", "pytest_tddgate.cli", "check"],
        [sys.executable, "-m", "pytest", "--tddgate", "-p", "no:cacheprovider"],
        [sys.executable, "-m", "pytest_tddgate.cli", "baseline", "--force"],
    )
    for command in commands:
        done = subprocess.run(
            command, cwd=repo.path, env=environment(), capture_output=True, text=True, check=False
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 1, 4), done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("shell-ran-")) == []


# -- `--` before every path and revision the checkout chose -------------------------------

SHIM = """\
import json, os, sys
with open(os.environ["GIT_ARGV_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
os.execv({git!r}, [{git!r}, *sys.argv[1:]])
"""
ODD = ("-rf.py", "--output=pwned.py", "--exec=touch x.py", "-c core.pager=id.py", "-p.py")


def logging_git(folder: Path) -> Path:
    real = shutil.which("git")
    assert real is not None
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f"#!{sys.executable}\n" + SHIM.format(git=real), encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return folder


def options_part(argv: list[str]) -> list[str]:
    """The arguments git reads as options: before `--` / `--end-of-options`, and not
    the values of our own `-c key=value` pairs."""
    head: list[str] = []
    skip = False
    for arg in argv:
        if arg in ("--", "--end-of-options"):
            break
        if skip:
            skip = False
            continue
        skip = arg == "-c"
        head.append(arg)
    return head


@pytest.mark.parametrize("mode", ["order", "red-green"])
def test_git_reads_no_name_the_checkout_chose_as_an_option(
    repo: GitRepo, tmp_path: Path, mode: str
) -> None:
    base = "--output=pwned-by-base"
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
        '[tool.tddgate]\nonly = ["tests", "tdd", "roles"]\n'
        f'[tool.tddgate.gates.tdd]\nmode = "{mode}"\n',
    )
    repo.write("tddgate-roles.yaml", 'roles:\n  dev: {owns: ["**"]}\n')
    repo.commit("base")
    repo.git("branch", "--", base.lstrip("-"))  # a branch whose name looks like an option
    repo.git("checkout", "-q", "-b", "feature")
    for name in ODD:
        repo.write(f"tests/test_{name}", "def test_x():\n    assert False\n")
    repo.commit("red")
    for name in ODD:
        repo.write(f"src/{name}", "x = 1\n")
        repo.write(name, "at the top\n")
    repo.commit("green")
    (repo.path / ODD[0]).write_text("changed, uncommitted\n", encoding="utf-8")
    log = tmp_path / "argv.jsonl"
    shims = logging_git(tmp_path / "shims")
    env = environment(
        GIT_ARGV_LOG=str(log),
        PATH=f"{shims}{os.pathsep}{os.environ['PATH']}",
        TDDGATE_BASE=base,
        TDDGATE_ROLE="dev",
    )

    for command in (
        [sys.executable, "-m", "pytest_tddgate.cli", "check", "--skip", "ruff,mypy"],
        [sys.executable, "-m", "pytest", "--tddgate", "-p", "no:cacheprovider", "-p", "no:xdist"],
    ):
        done = subprocess.run(
            command, cwd=repo.path, env=env, capture_output=True, text=True, check=False
        )
        assert "INTERNALERROR" not in done.stdout, done.stdout
        assert "tdd " in done.stdout, done.stdout + done.stderr

    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(calls) >= 4
    chosen = {base, *ODD, *(f"src/{n}" for n in ODD), *(f"tests/test_{n}" for n in ODD)}
    leaked = [argv for argv in calls if chosen & {a.split("^")[0] for a in options_part(argv)}]
    assert leaked == []
    assert not list(repo.path.glob("pwned*")) and not list(tmp_path.glob("pwned*"))
