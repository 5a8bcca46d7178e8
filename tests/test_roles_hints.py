"""Hints that respect the roles file: a fix names the role that owns the path and never
asks a role to do what the file forbids it; errors name where a role really came from;
the tool's own files are nobody's change."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate import engine
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.roles import parse_roles, writers
from pytest_tddgate.gates.roles import RolesGate
from pytest_tddgate.gates.tdd import TddGate
from pytest_tddgate.model import Finding, GateResult, Verdict
from pytest_tddgate.settings import Overrides, resolve
from tests.gitrepo import GitRepo
from tests.rolerepo import BACKEND, NOBODY, RULES, judge, start

if TYPE_CHECKING:
    from pathlib import Path

# a catch-all role, as `tddgate init` used to write: it may change anything
WITH_LEAD = RULES.replace("  dba:", "  lead: {}\n  dba:")


@pytest.fixture(autouse=True)
def _no_role_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TDDGATE_ROLE", raising=False)
    monkeypatch.delenv("TDDGATE_BASE", raising=False)


def only(result: GateResult) -> Finding:
    assert len(result.findings) == 1, [f.message for f in result.findings]
    return result.findings[0]


def test_writers_name_the_owning_role_before_any_catch_all() -> None:
    rules = parse_roles(WITH_LEAD, "tddgate-roles.yaml")

    assert writers(rules, "tests/test_api.py") == ("qa",)  # lead may, but qa owns it
    assert writers(rules, "tests/test_api.py", "backend") == ("qa",)
    assert writers(rules, "tests/test_api.py", "qa") == ()  # qa may write it itself
    assert writers(rules, "tests/test_api.py", "lead") == ()
    assert writers(rules, "docs/guide.md") == ("lead",)  # nobody owns it: the catch-all
    assert writers(parse_roles(RULES, "r.yaml"), "docs/guide.md") == ()  # nobody may


def test_the_never_fix_asks_the_owner_or_a_revert_never_a_relabel(repo: GitRepo) -> None:
    start(repo, rules=WITH_LEAD)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 1 == 1\n")
    sha = repo.commit("Loosen the legacy test", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.rule == "role-never"
    assert finding.hint == (
        f"tests/test_legacy.py belongs to `qa`: ask `qa` for this change, or revert it "
        f"(`git revert {sha[:8]}`; a change undone later in the range is not judged); "
        "or change the rule in tddgate-roles.yaml"
    )
    assert "Role:" not in finding.hint
    assert "lead" not in finding.hint


def test_a_commit_with_allowed_changes_too_can_restore_the_file_alone(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.write("tests/test_api.py", "def test_api():\n    assert True\n")
    repo.write("migrations/0002_users.sql", "create table users (id int);\n")
    repo.commit("Everything at once", author=BACKEND)

    hints = {f.path: f.hint for f in judge(repo.path).findings}

    assert "or this file alone: `git rm -- tests/test_api.py` and commit;" in str(
        hints["tests/test_api.py"]
    )
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 9\n")
    repo.write("src/app/legacy.py", "def old():\n    return 9\n")
    later = repo.commit("Legacy", author=BACKEND)
    hints = {f.path: f.hint for f in judge(repo.path).findings}
    assert (
        f"revert it (`git revert {later[:8]}`, or this file alone: `git checkout "
        f"{later[:8]}~1 -- tests/test_legacy.py` and commit; a change undone later"
    ) in str(hints["tests/test_legacy.py"])


def test_an_uncommitted_forbidden_change_is_undone_not_relabelled(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 2\n")
    repo.write("tests/test_new.py", "def test_new():\n    pass\n")

    result = judge(repo.path, role="backend")

    hints = {f.path: f.hint for f in result.findings}
    assert hints["tests/test_legacy.py"] == (
        "tests/test_legacy.py belongs to `qa`: ask `qa` for this change, or undo it "
        "(`git restore --source=HEAD --staged --worktree -- tests/test_legacy.py`); "
        "or change the rule in tddgate-roles.yaml"
    )
    assert hints["tests/test_new.py"] == (
        "tests/test_new.py belongs to `qa`: ask `qa` for this change, or undo it "
        "(delete tests/test_new.py); or change the rule in tddgate-roles.yaml"
    )


def test_a_file_no_role_may_change_says_so(repo: GitRepo) -> None:
    start(repo)
    repo.write("docs/guide.md", "# Guide\n")
    repo.commit("Docs", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.rule == "role-owns"
    assert finding.hint is not None
    assert finding.hint.startswith(
        "no role may change docs/guide.md: add it to the `owns` of the role that should"
    )


def test_a_lock_file_hint_says_who_should_own_it(repo: GitRepo) -> None:
    start(repo)
    repo.write("uv.lock", "version = 1\n")  # as `uv run` leaves it

    finding = only(judge(repo.path, role="backend"))

    assert finding.path == "uv.lock"
    assert finding.rule == "role-owns"
    assert finding.hint is not None
    assert (
        "uv.lock is rewritten by `uv run` / `uv lock` whenever the dependencies change: "
        "list it in the `owns` of every role that may change them"
    ) in finding.hint


def test_a_lock_file_without_a_role_says_who_writes_it(repo: GitRepo) -> None:
    start(repo)
    repo.write("uv.lock", "version = 1\n")  # `uv run` with no TDDGATE_ROLE set

    finding = only(judge(repo.path))

    assert finding.rule == "role-unknown"
    assert finding.hint is not None
    assert finding.hint.endswith(
        "; uv.lock is rewritten by `uv run` / `uv lock` whenever the dependencies change: "
        "list it in the `owns` of every role that may change them (see docs/gates/roles.md)"
    )


def validate_roles(path: Path, role: str | None = None) -> UsageError:
    settings = resolve(path, overrides=Overrides(values={"role": role}))
    with pytest.raises(UsageError) as caught:
        engine.validate([RolesGate()], settings, Facts(settings))
    return caught.value


def test_an_unknown_role_from_pyproject_names_the_file_and_line(repo: GitRepo) -> None:
    start(repo, pyproject='[project]\nname = "shop"\n\n[tool.tddgate]\nrole = "dev"\n')

    error = validate_roles(repo.path)

    assert error.render() == (
        "pyproject.toml:5: [tool.tddgate] role: unknown role `dev`; valid: qa, backend, dba\n"
        "  fix: use one of: qa, backend, dba (defined in tddgate-roles.yaml), or add `dev` "
        "under `roles:` there; or delete the `role =` line and give each person or agent "
        "its role with TDDGATE_ROLE"
    )


def test_an_unknown_role_from_the_environment_names_the_variable(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(repo, pyproject='[tool.tddgate]\nrole = "qa"\n')
    monkeypatch.setenv("TDDGATE_ROLE", "backnd")

    error = validate_roles(repo.path)

    assert error.render().startswith(
        "TDDGATE_ROLE: unknown role `backnd`; did you mean `backend`?\n"
    )


def test_an_unknown_role_from_the_option_names_the_option(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(repo, pyproject='[tool.tddgate]\nrole = "qa"\n')
    monkeypatch.setenv("TDDGATE_ROLE", "qa")

    error = validate_roles(repo.path, role="backnd")

    assert error.render().startswith(
        "--tddgate-role (`tddgate check --role`): unknown role `backnd`; did you mean `backend`?"
    )


def test_a_finding_names_where_the_role_of_a_change_came_from(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(repo, pyproject='[tool.tddgate]\nrole = "backend"\n')
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 3\n")

    finding = only(judge(repo.path))
    assert finding.message.startswith(
        "changed by role `backend` (`role` in pyproject.toml) in uncommitted changes"
    )

    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    finding = only(judge(repo.path, role="backend"))
    assert "by role `backend` (TDDGATE_ROLE)" in finding.message


def tdd_result(path: Path, role: str | None = None) -> GateResult:
    settings = resolve(path, overrides=Overrides(values={"role": role}), environ={})
    facts = Facts(settings)
    gates = [TddGate()]
    engine.validate(gates, settings, facts)
    (result,) = engine.evaluate(gates, settings, facts, static_only=True)
    return result


def test_the_tdd_fix_asks_the_owner_for_a_test_the_role_may_not_write(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/shipping.py", "def ship():\n    return 1\n")
    repo.commit("Shipping", author=BACKEND)

    finding = only(tdd_result(repo.path))

    assert finding.rule == "test-not-first"
    assert finding.hint is not None
    assert finding.hint.startswith(
        "ask `qa` for a test of src/app/shipping.py (e.g. in tests/test_shipping.py) "
        "that fails without the change"
    )
    assert "write a test" not in finding.hint


def test_the_tdd_fix_tells_a_role_that_may_write_tests_to_write_one(repo: GitRepo) -> None:
    start(repo, rules=RULES.replace('"bob@example.com": backend', '"bob@example.com": qa'))
    repo.write("src/app/shipping.py", "def ship():\n    return 1\n")
    repo.commit("Shipping", author=BACKEND)  # bob is qa here, whatever his code

    finding = only(tdd_result(repo.path))

    assert finding.hint is not None
    assert finding.hint.startswith("write a test for src/app/shipping.py (e.g. in tests/")


def test_the_tools_own_files_are_nobodys_change(repo: GitRepo) -> None:
    start(repo, pyproject='[tool.tddgate]\nmarkdown = "reports/gate.md"\n')
    repo.write("docs/expertise.md", "# Learnings\n")
    repo.write("reports/gate.md", "# Report\n")
    repo.write(".tddgate/report.json", "{}\n")
    repo.git("add", "-f", ".tddgate/report.json")
    repo.commit("git add -A", author=BACKEND)
    repo.write("docs/expertise.md", "# Learnings, rewritten by a run\n")

    result = judge(repo.path, role="backend")

    assert result.status is Verdict.PASS, [f.message for f in result.findings]
    assert result.metrics["commits"] == 1  # the rewritten expertise file is no change
    assert result.metrics["changes_checked"] == 0


def test_the_baseline_is_a_team_decision_and_is_judged(repo: GitRepo) -> None:
    start(repo)
    repo.write(".tddgate-baseline.json", '{"ruff": []}\n')
    repo.commit("Baseline my lint errors away", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == ".tddgate-baseline.json"
    assert finding.rule == "role-owns"


def test_the_tdd_fix_keeps_its_wording_when_the_roles_cannot_tell(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/shipping.py", "def ship():\n    return 1\n")
    repo.commit("Shipping", author=NOBODY)  # no role: nobody to compare with
    hint = only(tdd_result(repo.path)).hint
    assert hint is not None and hint.startswith("write a test for src/app/shipping.py")

    repo.write("tddgate-roles.yaml", "roles: [\n")  # broken: the roles gate says so itself
    hint = only(tdd_result(repo.path, role="backend")).hint
    assert hint is not None and hint.startswith("write a test for src/app/shipping.py")


def test_pytest_names_the_pyproject_role_it_cannot_use(pytester: pytest.Pytester) -> None:
    start(GitRepo(pytester.path), pyproject='[tool.tddgate]\nrole = "dev"\n')

    result = pytester.runpytest("--tddgate", "-p", "no:cacheprovider")

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["ERROR: tddgate: pyproject.toml:2: [[]tool.tddgate[]] role: unknown role `dev`*"]
    )
    assert "TDDGATE_ROLE:" not in result.stderr.str()
