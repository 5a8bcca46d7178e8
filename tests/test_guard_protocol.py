"""`tddgate guard` through Claude Code's hook protocol, run as a subprocess: the
exact JSON of a deny, a block, a context and a note; an allow prints nothing; bad
input and the guard's own failures answer in the protocol, never with a traceback."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.gitrepo import GitRepo
from tests.guardkit import environment, guard, make_project, payload

if TYPE_CHECKING:
    from pathlib import Path

NEW_FUNCTION = {
    "old_string": "    return sum(prices)\n",
    "new_string": "    return sum(prices)\n\n\ndef count(prices):\n    return len(prices)\n",
}


def _edit(root: Path, **tool_input: object) -> dict[str, object]:
    return payload(
        root,
        "s1",
        "PreToolUse",
        tool_name="Edit",
        tool_input={"file_path": str(root / "src/shop/cart.py"), **tool_input},
    )


def test_a_deny_is_exit_0_with_the_documented_json(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    reply = guard(_edit(root, **NEW_FUNCTION), environment("dev"), root)
    assert reply.returncode == 0
    data = json.loads(reply.stdout)
    assert set(data) == {"hookSpecificOutput"}
    specific = data["hookSpecificOutput"]
    assert specific["hookEventName"] == "PreToolUse"
    assert specific["permissionDecision"] == "deny"
    assert "tests first" in specific["permissionDecisionReason"]
    assert "a new function `count`" in specific["permissionDecisionReason"]


def test_an_allow_prints_nothing(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    docstring = {
        "old_string": "def total(prices):\n",
        "new_string": 'def total(prices):\n    """Sum."""\n',
    }
    reply = guard(_edit(root, **docstring), environment("dev"), root)
    assert (reply.returncode, reply.stdout, reply.stderr) == (0, "", "")


def test_a_role_deny_names_the_owner_and_what_to_do(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    event = payload(
        root,
        "s1",
        "PreToolUse",
        tool_name="Write",
        tool_input={"file_path": str(root / "tests/test_new.py"), "content": "x = 1\n"},
    )
    reply = guard(event, environment("backend"), root)
    assert reply.decision == "deny"
    assert "role `backend` may not change tests/test_new.py (never: tests/**)" in reply.reason
    assert "ask `qa` for the test you need" in reply.reason


def test_malformed_json_blocks_with_exit_2_and_says_how_to_switch_off(tmp_path: Path) -> None:
    reply = guard("{not json", environment("dev"), tmp_path)
    assert reply.returncode == 2
    assert reply.stdout == ""
    assert "the hook input is not JSON" in reply.stderr
    assert "TDDGATE_GUARD=off" in reply.stderr
    assert "Traceback" not in reply.stderr


def test_input_that_is_not_an_event_blocks_with_the_reason(tmp_path: Path) -> None:
    for text, said in (
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"cwd": "/"}', "no `hook_event_name`"),
        ('{"hook_event_name": "Stop"}', "no `cwd`"),
        ('{"hook_event_name": "PreToolUse", "cwd": "/", "tool_input": 3}', "`tool_input`"),
    ):
        reply = guard(text, environment("dev"), tmp_path)
        assert reply.returncode == 2, text
        assert said in reply.stderr, text


def test_an_unknown_event_is_a_note_not_a_decision(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    reply = guard(payload(root, "s1", "Notification", message="hi"), environment("dev"), root)
    assert reply.returncode == 0
    assert reply.decision == "note"
    assert "`Notification` is not one it judges" in reply.reason


def test_an_edit_input_without_its_path_is_denied_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    event = payload(root, "s1", "PreToolUse", tool_name="Write", tool_input={"content": "x"})
    reply = guard(event, environment("dev"), root)
    assert reply.decision == "deny"
    assert "Write input has no `file_path`" in reply.reason
    assert "TDDGATE_GUARD=off" in reply.reason


def test_a_broken_settings_file_denies_naming_the_file_and_the_switch(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, {"pyproject.toml": "[tool.tddgate\nsource = 1\n"})
    reply = guard(_edit(root, **NEW_FUNCTION), environment("dev"), root)
    assert reply.returncode == 0
    assert reply.decision == "deny"
    assert "pyproject.toml" in reply.reason
    assert "not valid TOML" in reply.reason
    assert "TDDGATE_GUARD=off" in reply.reason
    assert "Traceback" not in reply.stdout + reply.stderr


def test_a_broken_role_file_denies_with_its_error(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, {"tddgate-roles.yaml": "roles: [qa\n"})
    reply = guard(_edit(root, **NEW_FUNCTION), environment("dev"), root)
    assert reply.decision == "deny"
    assert "tddgate-roles.yaml" in reply.reason
    assert "not valid YAML" in reply.reason


def test_an_unknown_role_denies_naming_the_defined_ones(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    reply = guard(_edit(root, **NEW_FUNCTION), environment("fronted"), root)
    assert reply.decision == "deny"
    assert "unknown role `fronted`" in reply.reason


def test_a_session_without_a_role_is_told_how_to_give_one(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    reply = guard(_edit(root, **NEW_FUNCTION), environment(None), root)
    assert reply.decision == "deny"
    assert "TDDGATE_ROLE" in reply.reason
    assert "members" in reply.reason


def test_the_switch_turns_every_event_into_an_allow(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    env = {**environment("backend"), "TDDGATE_GUARD": "off"}
    event = payload(
        root,
        "s1",
        "PreToolUse",
        tool_name="Write",
        tool_input={"file_path": str(root / "tests/test_x.py"), "content": ""},
    )
    assert guard(event, env, root).stdout == ""
    assert guard("{not json", env, root).returncode == 0


def test_a_repository_without_commits_is_judged(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = GitRepo(root)
    repo.write("pyproject.toml", "[project]\nname = 'x'\n")
    repo.write("src/x/__init__.py", "")
    reply = guard(
        payload(
            root,
            "s1",
            "PreToolUse",
            tool_name="Write",
            tool_input={
                "file_path": str(root / "src/x/core.py"),
                "content": "def f():\n    return 1\n",
            },
        ),
        environment(None),
        root,
    )
    assert reply.decision == "deny"
    assert "No test maps to it yet" in reply.reason
    assert "tests/test_core.py" in reply.reason
    command = {"command": "touch src/x/other.txt"}
    before = payload(root, "s1", "PreToolUse", tool_name="Bash", tool_input=command)
    assert guard(before, environment(None), root).decision == "allow"
    (root / "src/x/other.txt").write_text("")
    after = payload(root, "s1", "PostToolUse", tool_name="Bash", tool_input=command)
    assert guard(after, environment(None), root).decision == "allow"


def test_a_command_outside_git_is_a_note_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    command = {"command": "ls"}
    event = payload(tmp_path, "s1", "PreToolUse", tool_name="Bash", tool_input=command)
    reply = guard(event, environment(None), tmp_path)
    assert reply.returncode == 0
    assert reply.decision == "note"
    assert "commands are not checked here" in reply.reason
    assert "not a git repository" in reply.reason.lower()


def test_a_post_command_event_without_its_snapshot_says_the_hook_is_missing(
    tmp_path: Path,
) -> None:
    root = tmp_path / "repo"
    make_project(root)
    event = payload(root, "s9", "PostToolUse", tool_name="Bash", tool_input={"command": "ls"})
    reply = guard(event, environment("dev"), root)
    assert reply.decision == "note"
    assert "tddgate init --agent claude" in reply.reason


def test_the_stop_block_is_the_documented_json(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root, {"tests/test_cart.py": "def test_red():\n    assert 1 == 2\n"})
    (root / ".tddgate/guard").mkdir(parents=True)
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=root,
        env=environment("dev"),
        capture_output=True,
        check=False,
    )
    reply = guard(payload(root, "s1", "Stop", stop_hook_active=False), environment("dev"), root)
    data = json.loads(reply.stdout)
    assert data["decision"] == "block"
    assert (
        "tests/test_cart.py failed in the last run (tests/test_cart.py::test_red)" in data["reason"]
    )


def test_session_start_context_is_the_documented_json(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    reply = guard(
        payload(root, "s1", "SessionStart", source="startup"), environment("backend"), root
    )
    data = json.loads(reply.stdout)
    specific = data["hookSpecificOutput"]
    assert specific["hookEventName"] == "SessionStart"
    assert (
        "Your role: backend (from TDDGATE_ROLE). You own: src/**. You never touch: tests/**."
        in (specific["additionalContext"])
    )
    assert (root / ".tddgate/guard").is_dir()  # from now on pytest runs record outcomes


def test_commands_run_in_parallel_keep_their_own_snapshots(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    env = environment("backend")
    for call in ("toolu_a", "toolu_b"):
        event = payload(
            root,
            "s1",
            "PreToolUse",
            tool_name="Bash",
            tool_input={"command": call},
            tool_use_id=call,
        )
        assert guard(event, env, root).decision == "allow"
    (root / "tests/test_sneaky.py").write_text("def test_x():\n    pass\n")
    for call in ("toolu_b", "toolu_a"):
        event = payload(
            root,
            "s1",
            "PostToolUse",
            tool_name="Bash",
            tool_input={"command": call},
            tool_use_id=call,
        )
        reply = guard(event, env, root)
        assert reply.decision == "block", call
        assert "rm tests/test_sneaky.py" in reply.reason
    assert not list((root / ".tddgate/guard").glob("before-*"))


def test_red_evidence_from_the_run_ledger_of_pytest_tddgate(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "repo"
    make_project(root)
    env = environment("dev")
    env.pop("PYTEST_ADDOPTS")  # no recorder: only the ledger knows the outcomes
    (root / "tests/test_cart.py").write_text(
        "from shop import cart\n\n\ndef test_count():\n    assert cart.count([1]) == 1\n"
    )
    subprocess.run(
        [sys.executable, "-m", "pytest", "--tddgate", "--tddgate-only=tests", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
    )
    assert (root / ".tddgate/ledger.sqlite3").is_file()
    assert not (root / ".tddgate/guard").exists()
    reply = guard(_edit(root, **NEW_FUNCTION), env, root)
    assert reply.decision == "allow", reply.reason
    (root / "tests/test_cart.py").write_text("def test_nothing():\n    pass\n")
    subprocess.run(
        [sys.executable, "-m", "pytest", "--tddgate", "--tddgate-only=tests", "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        check=False,
    )
    denied = guard(_edit(root, **NEW_FUNCTION), env, root)
    assert denied.decision == "deny"
    assert "tests/test_cart.py passes" in denied.reason


def test_any_other_tool_is_checked_like_a_command(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    env = environment("backend")
    tool = {"tool_name": "mcp__files__write", "tool_input": {"path": "tests/test_x.py"}}
    before = guard(payload(root, "s1", "PreToolUse", tool_use_id="t1", **tool), env, root)
    assert before.decision == "allow"
    (root / "tests/test_x.py").write_text("def test_x():\n    pass\n")
    after = guard(payload(root, "s1", "PostToolUse", tool_use_id="t1", **tool), env, root)
    assert after.decision == "block"
    assert "role `backend` may not change tests/test_x.py" in after.reason


def test_a_blocked_command_leaves_a_copy_of_the_file_as_it_was(tmp_path: Path) -> None:
    import subprocess

    root = tmp_path / "repo"
    make_project(root)
    env = environment("dev")
    cart = root / "src/shop/cart.py"
    cart.write_text(
        'def total(prices):\n    """Sum, edited by the agent."""\n    return sum(prices)\n'
    )
    command = {"command": "python -c ..."}
    pre = payload(root, "s1", "PreToolUse", tool_name="Bash", tool_input=command, tool_use_id="c")
    assert guard(pre, env, root).decision == "allow"
    edited = cart.read_text()
    cart.write_text(edited + "\n\ndef extra():\n    return 1\n")
    post = payload(root, "s1", "PostToolUse", tool_name="Bash", tool_input=command, tool_use_id="c")
    reply = guard(post, env, root)
    assert reply.decision == "block"
    line = "cp .tddgate/guard/restore/src/shop/cart.py src/shop/cart.py"
    assert line in reply.reason
    subprocess.run(line, shell=True, cwd=root, check=True)  # what the agent is told to run
    assert cart.read_text() == edited


def test_a_damaged_snapshot_is_no_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_project(root)
    env = environment("backend")
    (root / "tests/test_mine.py").write_text("x = 1\n")  # changed before the command
    command = {"command": "ls"}
    pre = payload(root, "s1", "PreToolUse", tool_name="Bash", tool_input=command, tool_use_id="d")
    assert guard(pre, env, root).decision == "allow"
    (snapshot,) = (root / ".tddgate/guard").glob("before-*")
    snapshot.write_text("{broken")
    post = payload(root, "s1", "PostToolUse", tool_name="Bash", tool_input=command, tool_use_id="d")
    reply = guard(post, env, root)
    assert reply.decision == "note"
    assert "no readable snapshot from before this command" in reply.reason


def test_prompt_context_names_the_learnings_of_the_changed_files(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    expertise = (
        "---\nlast_updated: 2026-01-01\n---\n# Expertise\n\n## Learnings\n\n"
        "### common_issues\n"
        "- src/shop/cart.py: rounding breaks test_total when prices are floats (2026-01-01)\n"
        "- src/shop/other.py: unrelated (2026-01-01)\n"
    )
    make_project(root, {"docs/expertise.md": expertise})
    (root / "src/shop/cart.py").write_text("def total(prices):\n    return sum(prices) + 0\n")
    event = payload(root, "s1", "UserPromptSubmit", prompt="fix it")
    reply = guard(event, environment("backend"), root)
    assert reply.decision == "context"
    assert "Learning: src/shop/cart.py: rounding breaks test_total" in reply.reason
    assert "unrelated" not in reply.reason
    assert "Changed: src/shop/cart.py: tests tests/test_cart.py not run." in reply.reason
