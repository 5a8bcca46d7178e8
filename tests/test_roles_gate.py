"""The roles gate on real git histories: owns / never, role resolution, order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.model import Finding, GateResult, Verdict
from tests.rolerepo import BACKEND, DBA, NOBODY, QA, judge, qa_then_backend, start

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo


def only(result: GateResult) -> Finding:
    assert len(result.findings) == 1, [f.message for f in result.findings]
    return result.findings[0]


def test_each_role_in_its_own_files_passes(repo: GitRepo) -> None:
    start(repo)
    qa_then_backend(repo)
    repo.write("migrations/0002_users.sql", "create table users (id int);\n")
    repo.commit("Add users", author=DBA)

    result = judge(repo.path)

    assert result.status is Verdict.PASS, result.findings
    assert result.metrics["changes_checked"] == 3
    assert result.metrics["violations"] == 0
    assert result.metrics["unknown_role"] == 0
    assert result.summary == "3 change(s) in 3 commit(s) checked"


def test_never_wins_and_the_finding_names_file_commit_author_role_and_rule(
    repo: GitRepo,
) -> None:
    start(repo)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 1 == 1\n")
    sha = repo.commit("Loosen the legacy test", author=BACKEND)

    result = judge(repo.path)

    assert result.status is Verdict.FAIL
    finding = only(result)
    assert finding.rule == "role-never"
    assert finding.path == "tests/test_legacy.py"
    assert finding.commit == sha
    assert finding.message == (
        f'changed by role `backend` (members) in {sha[:8]} "Loosen the legacy test" by Dev '
        f"<{BACKEND}>: forbidden by `never: tests/**`"
    )
    assert finding.hint is not None
    assert finding.hint.startswith("tests/test_legacy.py belongs to `qa`: ask `qa`")
    assert result.metrics["violations"] == 1


def test_a_file_outside_owns_is_a_violation(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.commit("QA writes code", author=QA)

    finding = only(judge(repo.path))

    assert finding.rule == "role-owns"
    assert finding.path == "src/app/api.py"
    assert "by role `qa` (members)" in finding.message
    assert finding.message.endswith("forbidden by `not in owns: tests/**`")


def test_only_the_dba_writes_migrations(repo: GitRepo) -> None:
    start(repo)
    repo.write("migrations/0002_users.sql", "create table users (id int);\n")
    repo.commit("Backend adds a migration", author=BACKEND)
    repo.write("schema.sql", "-- the whole schema\n")
    repo.commit("Backend dumps the schema", author=BACKEND)  # `*.sql` is owned

    finding = only(judge(repo.path))

    assert finding.path == "migrations/0002_users.sql"
    assert finding.message.startswith("added by role `backend`")
    assert finding.message.endswith("forbidden by `never: migrations/**`")


def test_a_role_without_owns_may_change_anything_not_in_never(repo: GitRepo) -> None:
    start(
        repo,
        rules="roles:\n  lead: {never: ['migrations/**']}\nmembers: {'bob@example.com': lead}\n",
    )
    repo.write("docs/guide.md", "# Guide\n")
    repo.write("src/app/api.py", "x = 1\n")
    repo.write("tests/test_api.py", "def test_x():\n    pass\n")
    repo.commit("Lead does everything", author=BACKEND)
    assert judge(repo.path).status is Verdict.PASS

    repo.write("migrations/0002.sql", "drop table t;\n")
    repo.commit("Lead drops a table", author=BACKEND)
    finding = only(judge(repo.path))
    assert finding.path == "migrations/0002.sql"
    assert "`never: migrations/**`" in finding.message


def test_globs_are_gitignore_style(repo: GitRepo) -> None:
    rules = (
        "roles:\n  writer: {owns: ['docs/*.md', '**/README.md']}\n"
        "members: {'bob@example.com': writer}\n"
    )
    start(repo, rules=rules)
    repo.write("docs/guide.md", "# Guide\n")
    repo.write("src/app/README.md", "# App\n")
    repo.write("docs/deep/notes.md", "# Notes\n")  # `*` does not cross a folder
    repo.commit("Docs", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == "docs/deep/notes.md"
    assert "not in owns: docs/*.md, **/README.md" in finding.message


def test_deleting_a_test_is_a_change_to_tests(repo: GitRepo) -> None:
    start(repo)
    repo.git("rm", "-q", "tests/test_legacy.py")
    sha = repo.commit("Drop a failing test", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == "tests/test_legacy.py"
    assert finding.commit == sha
    assert finding.message.startswith("deleted by role `backend`")


def test_a_rename_checks_the_old_path(repo: GitRepo) -> None:
    start(repo)
    repo.git("mv", "tests/test_legacy.py", "src/app/test_legacy_moved.py")
    repo.commit("Move the test out of the way", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == "tests/test_legacy.py"
    assert finding.message.startswith("renamed to src/app/test_legacy_moved.py by role `backend`")


def test_a_rename_checks_the_new_path(repo: GitRepo) -> None:
    start(repo)
    repo.git("mv", "src/app/legacy.py", "tests/legacy.py")
    repo.commit("Hide code among the tests", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == "tests/legacy.py"
    assert finding.message.startswith("renamed from src/app/legacy.py by role `backend`")


def test_the_role_trailer_beats_members(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 2\n")
    repo.commit("Alice wears the backend hat", author=QA, trailers={"Role": "backend"})

    finding = only(judge(repo.path, role="qa"))

    assert "by role `backend` (Role: trailer)" in finding.message


def test_members_beat_the_option_role(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_api.py", "def test_api():\n    pass\n")
    repo.commit("QA test", author=QA)

    assert judge(repo.path, role="backend").status is Verdict.PASS


def test_the_option_role_applies_to_commits_without_trailer_or_member(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_api.py", "def test_api():\n    pass\n")
    repo.commit("Carol's test", author=NOBODY)

    assert judge(repo.path, role="qa").status is Verdict.PASS
    finding = only(judge(repo.path, role="backend"))
    assert "by role `backend` (--tddgate-role (`tddgate check --role`))" in finding.message


def test_member_emails_match_whatever_their_case(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "x = 1\n")
    repo.commit("Shouting email", author="Alice@Example.COM")

    assert only(judge(repo.path)).rule == "role-owns"  # alice is qa


def test_uncommitted_changes_take_the_option_role(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 3\n")

    assert judge(repo.path, role="qa").status is Verdict.PASS
    finding = only(judge(repo.path, role="backend"))
    assert finding.commit == "WORKTREE"
    assert finding.message == (
        "changed by role `backend` (--tddgate-role (`tddgate check --role`)) in uncommitted "
        "changes: "
        "forbidden by `never: tests/**`"
    )


def test_staged_mode_judges_the_index_only(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "x = 1\n")
    repo.git("add", "src/app/api.py")
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 4\n")  # not staged

    result = judge(repo.path, role="backend", staged=True)
    assert result.metrics["changes_checked"] == 1
    assert result.status is Verdict.FAIL  # the staged code has no qa test before it
    assert only(result).rule == "role-order"
    assert "staged changes" in only(result).message

    repo.git("add", "tests/test_legacy.py")
    staged = judge(repo.path, role="backend", staged=True)
    assert {f.path for f in staged.findings} == {"tests/test_legacy.py", "src/app/api.py"}


def test_a_change_without_a_role_fails_by_default(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "x = 1\n")
    sha = repo.commit("Who am I", author=NOBODY)

    result = judge(repo.path)

    finding = only(result)
    assert result.status is Verdict.FAIL
    assert finding.rule == "role-unknown"
    assert finding.commit == sha
    assert finding.message == (
        f'{sha[:8]} "Who am I" by Dev <{NOBODY}> has no role: no `Role:` trailer, '
        f"{NOBODY} is not in `members`, and no --tddgate-role / TDDGATE_ROLE is set; "
        "1 change(s) not checked"
    )
    assert result.metrics["unknown_role"] == 1
    assert result.metrics["changes_checked"] == 0


def test_uncommitted_changes_without_a_role_name_the_option(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "x = 1\n")

    finding = only(judge(repo.path))

    assert finding.message.startswith(
        "uncommitted changes: no role, because no --tddgate-role / TDDGATE_ROLE is set"
    )
    assert finding.hint is not None and "--tddgate-role=NAME" in finding.hint


SKIP_UNKNOWN = '[tool.tddgate.gates.roles]\nunknown_role = "skip"\n'


def test_unknown_role_skip_lets_those_changes_pass_unchecked(repo: GitRepo) -> None:
    start(repo, pyproject=SKIP_UNKNOWN)
    repo.write("tests/test_api.py", "def test_api():\n    pass\n")
    repo.commit("QA test", author=QA)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 5\n")
    repo.commit("Anonymous edit", author=NOBODY)

    result = judge(repo.path)

    assert result.status is Verdict.PASS
    assert result.findings == ()
    assert result.summary == (
        "1 change(s) in 2 commit(s) checked; 1 change(s) without a role not checked"
    )
    assert result.metrics["unknown_role"] == 1


def test_unknown_role_skip_with_nothing_checked_says_skip(repo: GitRepo) -> None:
    start(repo, pyproject=SKIP_UNKNOWN)
    repo.write("src/app/api.py", "x = 1\n")
    repo.commit("Anonymous", author=NOBODY)

    result = judge(repo.path)

    assert result.status is Verdict.SKIP
    assert result.summary.startswith("no change has a role")


def test_a_trailer_naming_an_undefined_role_is_a_finding(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_api.py", "def test_api():\n    pass\n")
    sha = repo.commit("Typo in the trailer", author=QA, trailers={"Role": "bakend"})

    result = judge(repo.path)

    finding = only(result)
    assert result.status is Verdict.FAIL
    assert finding.rule == "role-undefined"
    assert finding.commit == sha
    assert "has the trailer `Role: bakend`, but tddgate-roles.yaml defines no role" in (
        finding.message
    )
    assert "did you mean `backend`?" in finding.message
    assert result.metrics["undefined_role"] == 1


def test_an_undefined_option_role_is_a_usage_error(repo: GitRepo) -> None:
    start(repo)

    with pytest.raises(UsageError) as caught:
        judge(repo.path, role="backnd")

    assert caught.value.render() == (
        "--tddgate-role (`tddgate check --role`): unknown role `backnd`; did you mean "
        "`backend`?\n"
        "  fix: use one of: qa, backend, dba (defined in tddgate-roles.yaml), or add "
        "`backnd` under `roles:` there"
    )


def test_no_role_file_skips_with_the_reason(repo: GitRepo) -> None:
    start(repo, rules=None)
    repo.write("tests/test_x.py", "x = 1\n")
    repo.commit("anything", author=NOBODY)

    result = judge(repo.path)

    assert result.status is Verdict.SKIP
    assert result.summary == "no role file tddgate-roles.yaml (see docs/gates/roles.md)"


def test_the_role_file_path_is_configurable(repo: GitRepo) -> None:
    start(repo, rules=None, pyproject='[tool.tddgate]\nroles = "config/roles.yml"\n')
    repo.write("config/roles.yml", "roles:\n  qa: {owns: ['tests/**']}\n")
    repo.commit("Roles elsewhere", author=NOBODY, trailers={"Role": "qa"})

    finding = only(judge(repo.path))

    assert finding.path == "config/roles.yml"  # qa owns only tests/
    assert finding.hint is not None and "change the rule in config/roles.yml" in finding.hint


def test_no_changes_since_the_base_passes(repo: GitRepo) -> None:
    start(repo)

    result = judge(repo.path)

    assert result.status is Verdict.PASS
    assert result.summary == "no changes since the base"


def test_a_trailer_in_the_wrong_case_suggests_the_defined_role(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_api.py", "def test_api():\n    pass\n")
    repo.commit("Shouting trailer", author=NOBODY, trailers={"Role": "QA"})

    assert "did you mean `qa`?" in only(judge(repo.path)).message


def test_order_is_met_by_a_qa_test_in_an_earlier_commit(repo: GitRepo) -> None:
    start(repo)
    qa_then_backend(repo, "tests/unit/test_api.py")
    repo.write("src/app/api.py", "def api():\n    return 2\n")  # later changes: still fine

    result = judge(repo.path, role="backend")

    assert result.status is Verdict.PASS, result.findings
    assert result.metrics["order_violations"] == 0


def test_order_finding_names_the_first_commit_and_counts_later_ones(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    first = repo.commit("Implement the api", author=BACKEND)
    repo.write("src/app/api.py", "def api():\n    return 2\n")
    repo.commit("Tune the api", author=BACKEND)
    repo.write("tests/test_api.py", "def test_api():\n    assert True\n")
    repo.commit("Test the api, too late", author=QA)

    result = judge(repo.path)

    finding = only(result)
    assert finding.rule == "role-order"
    assert finding.path == "src/app/api.py"
    assert finding.commit == first
    assert finding.message == (
        f'changed by role `backend` in {first[:8]} "Implement the api" by Dev <{BACKEND}>, '
        "but no test by role `qa` preceded it: no test mapped to it (by matrix, naming, imports "
        "or coverage) was changed by `qa` earlier in the range (rule `order: qa before "
        "backend`); 1 later change(s) by `backend` too"
    )
    assert result.metrics["order_violations"] == 1
    assert result.metrics["violations"] == 1


def test_only_a_test_by_the_before_role_counts(repo: GitRepo) -> None:
    rules = (
        "roles:\n  qa: {owns: ['tests/**']}\n  backend: {}\n"
        "members: {'alice@example.com': qa, 'bob@example.com': backend}\n"
        "order: [{before: qa, after: backend}]\n"
    )
    start(repo, rules=rules)
    repo.write("tests/test_api.py", "def test_api():\n    assert True\n")
    repo.commit("Backend writes its own test", author=BACKEND)  # allowed: no owns, no never
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.commit("Implement the api", author=BACKEND)

    assert only(judge(repo.path)).rule == "role-order"


def test_a_test_of_another_name_does_not_count(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_other.py", "def test_other():\n    assert True\n")
    repo.commit("Test something else", author=QA)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.commit("Implement the api", author=BACKEND)

    assert only(judge(repo.path)).path == "src/app/api.py"


def test_a_qa_test_that_imports_the_module_counts_whatever_its_name(repo: GitRepo) -> None:
    start(repo)
    repo.write("tests/test_checkout_flow.py", "from app import api\n\ndef test_flow():\n    pass\n")
    repo.commit("Test the checkout flow", author=QA)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.commit("Implement the api", author=BACKEND)
    repo.write("src/app/db.py", "def db():\n    return 1\n")
    repo.commit("Implement the db", author=BACKEND)

    finding = only(judge(repo.path))

    assert finding.path == "src/app/db.py"  # api.py is imported by the qa test, db.py is not


def test_a_qa_test_linked_by_the_matrix_counts(repo: GitRepo) -> None:
    start(repo)
    repo.write(
        "traceability_matrix.json",
        '{"requirements": [{"id": "REQ-1", "tests": ["tests/test_checkout.py"], '
        '"code": ["src/app/api.py"]}]}',
    )
    repo.write("tests/test_checkout.py", "def test_checkout():\n    pass\n")
    repo.commit("Test checkout for REQ-1", author=QA, trailers={"Role": "qa"})
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    repo.commit("Implement the api", author=BACKEND)

    result = judge(repo.path)

    assert [f.rule for f in result.findings] == ["role-owns"]  # qa may not write the matrix
    assert result.metrics["order_violations"] == 0


def test_deletions_and_whitespace_edits_need_no_test(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/legacy.py", "def old():\n\n    return 1\n")  # a blank line only
    repo.commit("Breathe", author=BACKEND)
    repo.git("rm", "-q", "src/app/legacy.py")
    repo.commit("Drop legacy code", author=BACKEND)

    result = judge(repo.path)

    assert result.status is Verdict.PASS, result.findings
    assert result.metrics["changes_checked"] == 2


def test_exempt_files_and_non_python_files_need_no_test(repo: GitRepo) -> None:
    start(repo, pyproject='[tool.tddgate.gates.tdd]\nexempt = ["**/settings.py"]\n')
    repo.write("src/app/settings.py", "DEBUG = False\n")
    repo.write("src/app/schema.sql", "create table a (id int);\n")
    repo.commit("Config and schema", author=BACKEND)

    assert judge(repo.path).status is Verdict.PASS


def test_the_naming_convention_is_configurable(repo: GitRepo) -> None:
    start(repo, pyproject='[tool.tddgate.gates.tdd]\nnaming = ["check_{stem}.py"]\n')
    qa_then_backend(repo, "tests/check_api.py")
    repo.write("src/app/db.py", "def db():\n    return 1\n")
    repo.commit("Implement the db", author=BACKEND)

    finding = only(judge(repo.path))
    assert finding.path == "src/app/db.py"
    assert finding.hint is not None and "(e.g. check_db.py; trailer `Role: qa`)" in finding.hint
