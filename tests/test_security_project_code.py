"""What runs the checkout's own code, and what does not (docs/untrusted-code.md).

Every Python file of the project below leaves a marker when it is imported or run:
conftest.py, the package, the tests, setup.py, and modules named like the libraries
pytest-tddgate imports (`yaml.py`, `pathspec.py`), which would shadow them if the
project folder were on sys.path. `tddgate check` without mypy imports none of them.
Two things do run project code, and the docs say so; the last tests pin both: mypy
loads the plugins the project's mypy configuration names, and `red-green` replays
run the project's tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[1]
PLANTED = {
    "conftest.py": "conftest",
    "tests/conftest.py": "tests-conftest",
    "src/pkg/__init__.py": "package",
    "src/pkg/calc.py": "module",
    "tests/test_calc.py": "test-module",
    "setup.py": "setup",
    "yaml.py": "yaml-shadow",
    "pathspec.py": "pathspec-shadow",
    "sitecustomize.py": "sitecustomize",
    "evil_plugin.py": "mypy-plugin",
}


def plant(repo: GitRepo, markers: Path, pyproject: str) -> None:
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src", "."]\n' + pyproject,
    )
    for path, name in PLANTED.items():
        body = f"open({str(markers / name)!r}, 'w').close()\n"
        if path == "tests/test_calc.py":
            body += "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
        if path == "src/pkg/calc.py":
            body += "def add(a, b):\n    return a + b\n"
        if path == "evil_plugin.py":
            body += "def plugin(version):\n    from mypy.plugin import Plugin\n    return Plugin\n"
        repo.write(path, body)


def history(repo: GitRepo) -> None:
    """A base, a red test against a stub, then the code: a range for every gate."""
    calc = (repo.path / "src/pkg/calc.py").read_text(encoding="utf-8")
    test = (repo.path / "tests/test_calc.py").read_text(encoding="utf-8")
    (repo.path / "src/pkg/calc.py").unlink()
    (repo.path / "tests/test_calc.py").unlink()
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/pkg/calc.py", calc.replace("a + b", "0"))
    repo.write("tests/test_calc.py", test)
    repo.commit("red")
    repo.write("src/pkg/calc.py", calc)
    repo.commit("green")


def tddgate(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    """The `tddgate` console script, as a user runs it (not `python -m`, which puts
    the current folder first on sys.path)."""
    script = Path(sys.executable).with_name("tddgate")
    if not script.exists():
        pytest.skip("the tddgate console script is not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for name in ("CI", "TDDGATE_BASE", "TDDGATE_ROLE", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return subprocess.run(
        [str(script), *args], cwd=repo.path, env=env, capture_output=True, text=True, check=False
    )


def ran(markers: Path) -> set[str]:
    return {p.name for p in markers.iterdir()}


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    folder = tmp_path / "markers"
    folder.mkdir()
    return folder


def test_tddgate_check_without_mypy_imports_no_project_file(repo: GitRepo, markers: Path) -> None:
    if shutil.which("ruff") is None and not Path(sys.executable).with_name("ruff").exists():
        pytest.skip("ruff is not installed")
    plant(repo, markers, '[tool.tddgate]\n[tool.mypy]\nplugins = ["evil_plugin.py"]\n')
    history(repo)

    done = tddgate(repo, "check", "--skip", "mypy")
    with_ruff = tddgate(repo, "check", "--only", "tdd,traceability,roles,ruff")

    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "tdd " in done.stdout, done.stdout
    assert with_ruff.returncode in (0, 1), with_ruff.stdout + with_ruff.stderr
    assert "ruff          pass" in with_ruff.stdout or "ruff          fail" in with_ruff.stdout
    assert ran(markers) == set()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="`python -P` is new in 3.11")
def test_mypy_imports_no_project_module_named_like_its_own(repo: GitRepo, markers: Path) -> None:
    """Found here: `python -m mypy` in the project folder imported the project's
    `pathspec.py` in place of the library (and ran it)."""
    pytest.importorskip("mypy")
    plant(repo, markers, "[tool.tddgate]\n")
    history(repo)

    done = tddgate(repo, "check", "--only", "mypy")

    assert "mypy " in done.stdout, done.stdout + done.stderr
    assert ran(markers) == set()


def test_mypy_imports_the_plugins_the_project_names(repo: GitRepo, markers: Path) -> None:
    pytest.importorskip("mypy")
    plant(repo, markers, '[tool.tddgate]\n[tool.mypy]\nplugins = ["evil_plugin.py"]\n')
    history(repo)

    tddgate(repo, "check", "--only", "mypy")

    assert "mypy-plugin" in ran(markers)


def test_red_green_replays_run_the_project_tests_even_in_check(
    repo: GitRepo, markers: Path
) -> None:
    plant(repo, markers, '[tool.tddgate.gates.tdd]\nmode = "red-green"\n')
    history(repo)

    done = tddgate(repo, "check", "--only", "tdd")

    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert {"test-module", "module"} <= ran(markers)
