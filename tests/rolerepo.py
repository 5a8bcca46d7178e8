"""A project with role rules in a real git repository, for the roles tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_tddgate import engine
from pytest_tddgate.facts import Facts
from pytest_tddgate.gates.roles import RolesGate
from pytest_tddgate.settings import Overrides, resolve

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_tddgate.model import GateResult
    from tests.gitrepo import GitRepo

RULES = """\
roles:
  qa: {owns: ["tests/**"]}
  backend: {owns: ["src/**", "*.sql"], never: ["tests/**", "migrations/**"]}
  dba: {owns: ["migrations/**"]}
members:
  "alice@example.com": qa
  "bob@example.com": backend
  "dan@example.com": dba
order: [{before: qa, after: backend}]
"""
QA = "alice@example.com"
BACKEND = "bob@example.com"
DBA = "dan@example.com"
NOBODY = "carol@example.com"  # in no `members` entry
IGNORE = "__pycache__/\n.tddgate/\n.pytest_cache/\n"


def start(repo: GitRepo, rules: str | None = RULES, pyproject: str = "") -> GitRepo:
    """Commit the base on `main` (rules, layout), then branch off to `feature`.

    The gate judges `main..feature` plus the working tree, as on a pull request.
    """
    repo.write(".gitignore", IGNORE)
    if rules is not None:
        repo.write("tddgate-roles.yaml", rules)
    if pyproject:
        repo.write("pyproject.toml", pyproject)
    repo.write("src/app/__init__.py", "")
    repo.write("src/app/legacy.py", "def old():\n    return 1\n")
    repo.write("tests/test_legacy.py", "def test_old():\n    assert True\n")
    repo.write("migrations/0001_init.sql", "create table t (id int);\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def qa_then_backend(repo: GitRepo, test: str = "tests/test_api.py") -> str:
    """QA commits `test`, then the backend commits `src/app/api.py`; returns its sha."""
    repo.write(test, "def test_api():\n    assert True\n")
    repo.commit("Test the api", author=QA)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    return repo.commit("Implement the api", author=BACKEND)


def judge(
    path: Path,
    *,
    role: str | None = None,
    staged: bool = False,
) -> GateResult:
    """Evaluate the roles gate as `tddgate check` does: static gates only, no tests."""
    settings = resolve(path, overrides=Overrides(values={"role": role}), environ={})
    facts = Facts(settings, staged=staged)
    gates = [RolesGate()]
    engine.validate(gates, settings, facts)
    (result,) = engine.evaluate(gates, settings, facts, static_only=True)
    return result
