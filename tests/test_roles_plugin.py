"""`pytest --tddgate` with role rules, as a user runs it: exit codes, output, report."""

from __future__ import annotations

import json

import pytest

from tests.gitrepo import GitRepo
from tests.rolerepo import BACKEND, QA, qa_then_backend, start

ONLY_ROLES = ("--tddgate", "--tddgate-only=roles", "-p", "no:cacheprovider")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A project on branch `feature`, with the role rules and one passing test."""
    monkeypatch.delenv("TDDGATE_ROLE", raising=False)
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    return start(GitRepo(pytester.path))


def test_a_role_violation_fails_the_run(pytester: pytest.Pytester, project: GitRepo) -> None:
    project.write("tests/test_legacy.py", "def test_old():\n    assert 1 == 1\n")
    sha = project.commit("Loosen the legacy test", author=BACKEND)

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "roles * fail * 1 change(s) in 1 commit(s) checked; 1 violation(s)",
            "roles (fail):",
            f'  tests/test_legacy.py: changed by role `backend` (members) in {sha[:8]} "Loosen the '
            f'legacy test" by Dev <{BACKEND}>: forbidden by `never: tests/**` [[]role-never[]]',
            "    fix: tests/test_legacy.py belongs to `qa`: ask `qa` for this change, or revert "
            f"it (`git revert {sha[:8]}`; a change undone later in the range is not judged); "
            "or change the rule in tddgate-roles.yaml",
            "tddgate: FAILED: roles*",
        ]
    )
    report = json.loads((pytester.path / ".tddgate/report.json").read_text(encoding="utf-8"))
    (gate,) = [g for g in report["gates"] if g["name"] == "roles"]
    assert gate["metrics"]["changes_checked"] == 1
    assert gate["metrics"]["violations"] == 1
    assert gate["metrics"]["unknown_role"] == 0
    assert gate["findings"][0]["commit"] == sha


def test_work_within_the_roles_passes(pytester: pytest.Pytester, project: GitRepo) -> None:
    qa_then_backend(project)

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["roles * pass * 2 change(s) in 2 commit(s) checked", "tddgate: all gates passed*"]
    )


def test_code_before_the_qa_test_fails_the_order_rule(
    pytester: pytest.Pytester, project: GitRepo
) -> None:
    project.write("src/app/api.py", "def api():\n    return 1\n")
    sha = project.commit("Implement the api", author=BACKEND)
    project.write("tests/test_api.py", "def test_api():\n    assert True\n")
    project.commit("Test the api", author=QA)

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            f'  src/app/api.py: changed by role `backend` in {sha[:8]} "Implement the api" by Dev '
            f"<{BACKEND}>, but no test by role `qa` preceded it: no test mapped to it (by "
            "matrix, naming, imports or coverage) was changed by `qa` earlier in the range "
            "(rule `order: qa before backend`) [[]role-order[]]",
            "    fix: let `qa` commit a test for it first (e.g. test_api.py, api_test.py; "
            "trailer `Role: qa`), then `backend` changes src/app/api.py",
        ]
    )


def test_the_environment_role_judges_uncommitted_changes(
    pytester: pytest.Pytester, project: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("tests/test_legacy.py", "def test_old():\n    assert 2\n")

    monkeypatch.setenv("TDDGATE_ROLE", "qa")
    assert pytester.runpytest(*ONLY_ROLES).ret == 0

    monkeypatch.setenv("TDDGATE_ROLE", "backend")
    result = pytester.runpytest(*ONLY_ROLES)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "  tests/test_legacy.py: changed by role `backend` "
            "(TDDGATE_ROLE) in uncommitted changes: *"
        ]
    )


def test_the_role_option_beats_the_environment(
    pytester: pytest.Pytester, project: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("tests/test_legacy.py", "def test_old():\n    assert 3\n")
    monkeypatch.setenv("TDDGATE_ROLE", "backend")

    assert pytester.runpytest(*ONLY_ROLES, "--tddgate-role=qa").ret == 0


def test_a_change_without_a_role_fails(pytester: pytest.Pytester, project: GitRepo) -> None:
    project.write("src/app/api.py", "x = 1\n")

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "  src/app/api.py: uncommitted changes: no role, because no "
            "--tddgate-role / TDDGATE_ROLE is set; *[[]role-unknown[]]"
        ]
    )


def test_no_role_file_skips(pytester: pytest.Pytester, project: GitRepo) -> None:
    project.git("rm", "-q", "tddgate-roles.yaml")
    project.commit("No roles", author=BACKEND)

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["roles * skip * no role file tddgate-roles.yaml (see docs/gates/roles.md)"]
    )


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        pytest.param(
            "roles:\n  qa: {owns: [tests/**]\n  backend: {}\n",
            [
                "ERROR: tddgate: tddgate-roles.yaml:3:3: not valid YAML (expected ',' or "
                "'}', but got '<scalar>')",
                "  fix: correct the syntax at line 3, column 3*",
            ],
            id="syntax",
        ),
        pytest.param(
            "roles:\n  qa:\n    own: ['tests/**']\n",
            [
                "ERROR: tddgate: tddgate-roles.yaml:3:5: roles.qa.own: unknown key `own`; "
                "did you mean `owns`?",
                "  fix: use only: owns, never",
            ],
            id="unknown-key",
        ),
        pytest.param(
            "roles:\n  qa:\n    owns: 'tests/**'\n",
            [
                "ERROR: tddgate: tddgate-roles.yaml:3:11: roles.qa.owns: must be a list of "
                "gitignore-style globs, got a string",
                "  fix: write e.g. `owns: *",
            ],
            id="wrong-type",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  backend: {}\nmembers: {'a@x.com': backnd}\n",
            [
                'ERROR: tddgate: tddgate-roles.yaml:4:22: members[[]"a@x.com"[]]: unknown '
                "role `backnd`; did you mean `backend`?",
                "  fix: use one of: qa, backend*",
            ],
            id="unknown-role-in-members",
        ),
        pytest.param(
            "roles:\n  qa: {}\n  backend: {}\norder: [{before: q, after: backend}]\n",
            [
                "ERROR: tddgate: tddgate-roles.yaml:4:18: order[[]0[]].before: unknown role "
                "`q`; did you mean `qa`?",
                "  fix: use one of: qa, backend*",
            ],
            id="unknown-role-in-order",
        ),
        pytest.param(
            "# to do\n",
            [
                "ERROR: tddgate: tddgate-roles.yaml: is empty: it defines no roles",
                "  fix: define the roles, e.g.",
            ],
            id="empty",
        ),
    ],
)
def test_a_broken_role_file_exits_4_before_any_test(
    pytester: pytest.Pytester, project: GitRepo, text: str, lines: list[str]
) -> None:
    project.write("tddgate-roles.yaml", text)
    project.write("tests/test_never_runs.py", "def test_x():\n    raise SystemExit('ran')\n")

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 4
    result.stderr.fnmatch_lines(lines)
    assert "Traceback" not in result.stderr.str()
    assert "test_never_runs" not in result.stdout.str()


def test_an_undefined_environment_role_exits_4(
    pytester: pytest.Pytester, project: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TDDGATE_ROLE", "backnd")

    result = pytester.runpytest(*ONLY_ROLES)

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: tddgate: TDDGATE_ROLE: unknown role `backnd`; did you mean `backend`?",
            "  fix: use one of: qa, backend, dba (defined in tddgate-roles.yaml), or add `backnd` "
            "under `roles:` there",
        ]
    )


def test_a_skipped_gate_does_not_read_the_role_file(
    pytester: pytest.Pytester, project: GitRepo
) -> None:
    project.write("tddgate-roles.yaml", "roles: [\n")

    result = pytester.runpytest("--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider")

    assert result.ret == 0
