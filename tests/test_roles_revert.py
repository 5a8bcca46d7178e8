"""A forbidden change undone later in the range (net nothing) does not fail `roles`:
`git revert`, restoring the file by hand, deleting what was added, in a commit or in
the working tree. Real git throughout."""

from __future__ import annotations

import pytest

from pytest_tddgate.model import Verdict
from tests.gitrepo import GitRepo
from tests.rolerepo import BACKEND, QA, judge, start


@pytest.fixture(autouse=True)
def _no_role_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TDDGATE_ROLE", raising=False)


def revert(repo: GitRepo, sha: str, author: str = BACKEND) -> str:
    """`git revert` as `author` would run it (they commit the revert)."""
    repo.git("-c", f"user.email={author}", "revert", "--no-edit", sha)
    return repo.head()


def break_the_test(repo: GitRepo) -> str:
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 1 == 1\n")
    return repo.commit("Loosen the legacy test", author=BACKEND)


def test_git_revert_of_a_forbidden_commit_clears_both(repo: GitRepo) -> None:
    start(repo)
    revert(repo, break_the_test(repo))

    result = judge(repo.path)

    assert result.status is Verdict.PASS, [f.message for f in result.findings]
    assert result.metrics["violations"] == 0
    assert result.metrics["undone"] == 2
    assert result.summary == (
        "0 change(s) in 2 commit(s) checked; 2 change(s) undone later in the range"
    )


def test_restoring_the_file_in_a_later_commit_clears_it(repo: GitRepo) -> None:
    start(repo)
    sha = break_the_test(repo)
    repo.write("src/app/legacy.py", "def old():\n    return 2\n")
    repo.commit("Unrelated code change", author=BACKEND)
    repo.git("checkout", f"{sha}~1", "--", "tests/test_legacy.py")
    repo.commit("Put the test back", author=BACKEND)

    result = judge(repo.path)

    assert {f.path for f in result.findings} == {"src/app/legacy.py"}  # order, not the test
    assert {f.rule for f in result.findings} == {"role-order"}


def test_an_added_file_deleted_again_clears_it(repo: GitRepo) -> None:
    start(repo)
    repo.write("migrations/0002_users.sql", "create table users (id int);\n")
    repo.commit("Add users", author=BACKEND)
    repo.git("rm", "-q", "migrations/0002_users.sql")
    repo.commit("Leave migrations to the dba", author=BACKEND)

    assert judge(repo.path).status is Verdict.PASS


def test_a_revert_that_does_not_restore_the_content_clears_nothing(repo: GitRepo) -> None:
    start(repo)
    sha = break_the_test(repo)
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 2 == 2\n")
    repo.commit("Almost put it back", author=BACKEND)

    result = judge(repo.path)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha
    assert result.metrics["violations"] == 2
    assert result.metrics["undone"] == 0


def test_a_revert_stays_clear_when_the_owner_changes_the_file_afterwards(
    repo: GitRepo,
) -> None:
    start(repo)
    revert(repo, break_the_test(repo))
    repo.write("tests/test_legacy.py", "def test_old():\n    assert 'qa' == 'qa'\n")
    repo.commit("QA sharpens the test", author=QA)

    result = judge(repo.path)

    assert result.status is Verdict.PASS, [f.message for f in result.findings]
    assert result.metrics["changes_checked"] == 1


def test_a_revert_in_the_working_tree_clears_it(repo: GitRepo) -> None:
    start(repo)
    sha = break_the_test(repo)
    repo.git("checkout", f"{sha}~1", "--", "tests/test_legacy.py")  # staged and in the tree

    assert judge(repo.path, role="backend").status is Verdict.PASS
    assert judge(repo.path, role="backend", staged=True).status is Verdict.PASS

    repo.git("reset", "-q", "HEAD", "--", "tests/test_legacy.py")  # only in the tree now
    assert judge(repo.path, role="backend").status is Verdict.PASS
    assert judge(repo.path, role="backend", staged=True).status is Verdict.FAIL


def test_reverted_code_needs_no_test_first(repo: GitRepo) -> None:
    start(repo)
    repo.write("src/app/api.py", "def api():\n    return 1\n")
    revert(repo, repo.commit("Code with no test", author=BACKEND))

    result = judge(repo.path)

    assert result.status is Verdict.PASS, [f.message for f in result.findings]
    assert result.metrics["order_violations"] == 0


def test_pytest_passes_once_the_forbidden_commit_is_reverted(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    project = start(GitRepo(pytester.path))
    sha = break_the_test(project)
    args = ("--tddgate", "--tddgate-only=roles", "-p", "no:cacheprovider")

    before = pytester.runpytest(*args)
    assert before.ret == 1
    before.stdout.fnmatch_lines([f"    fix: *or revert it (`git revert {sha[:8]}`*"])

    revert(project, sha)
    after = pytester.runpytest(*args)

    assert after.ret == 0
    after.stdout.fnmatch_lines(
        ["roles * pass * 0 change(s) in 2 commit(s) checked; 2 change(s) undone later in the range"]
    )
