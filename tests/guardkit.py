"""Plays recorded coding-agent sessions against `tddgate guard`, for real: a real git
repository, the hook payloads Claude Code sends, `tddgate guard` run as a
subprocess for each event, allowed edits applied to the files as the edit tools
apply them, shell commands (including pytest runs) run in the repository between
their PreToolUse and PostToolUse events. No mocks.

A session (tests/guard_corpus/*.yaml) is a label, the role, extra files of the
first commit, and steps, each with the decision it expects:

- `{tool: Edit|Write|MultiEdit, input: {...}, expect: allow|deny}`: a PreToolUse
  event; `{root}` in the input is the repository; an allowed edit is applied;
- `{bash: "command", expect: allow|block}`: PreToolUse (always allowed: the
  snapshot), the command, then PostToolUse, whose decision is compared;
- `{event: Stop|SubagentStop|SessionStart|UserPromptSubmit, expect: ..., active: bool}`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo

CORPUS = Path(__file__).parent / "guard_corpus"
GUARD = [sys.executable, "-m", "pytest_tddgate.cli", "guard"]
RECORDER = "-p pytest_tddgate.guard.record"

PYPROJECT = """\
[project]
name = "shop"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.tddgate]
check_gates = ["tdd", "roles"]
"""
ROLES = """\
roles:
  qa: {owns: ["tests/**"]}
  backend: {owns: ["src/**"], never: ["tests/**"]}
  dev: {never: ["tddgate-roles.yaml"]}
"""
CART = """\
def total(prices):
    return sum(prices)
"""
TEST_CART = """\
from shop.cart import total


def test_total():
    assert total([1, 2]) == 3
"""
BASE_FILES = {
    "pyproject.toml": PYPROJECT,
    "tddgate-roles.yaml": ROLES,
    ".gitignore": ".tddgate/\n.pytest_cache/\n__pycache__/\n",
    "src/shop/__init__.py": "",
    "src/shop/cart.py": CART,
    "tests/test_cart.py": TEST_CART,
}


@dataclass(frozen=True)
class Reply:
    """What `tddgate guard` answered: its decision as Claude Code reads it."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def decision(self) -> str:
        if self.returncode == 2:
            return "deny"
        if self.returncode != 0:
            return f"exit {self.returncode}"
        if not self.stdout.strip():
            return "allow"
        data = json.loads(self.stdout)
        specific = data.get("hookSpecificOutput", {})
        if specific.get("permissionDecision") == "deny":
            return "deny"
        if data.get("decision") == "block":
            return "block"
        if "additionalContext" in specific:
            return "context"
        return "note" if "systemMessage" in data else "unknown"

    @property
    def reason(self) -> str:
        if not self.stdout.strip():
            return self.stderr
        data = json.loads(self.stdout)
        specific = data.get("hookSpecificOutput", {})
        return str(
            specific.get("permissionDecisionReason")
            or specific.get("additionalContext")
            or data.get("reason")
            or data.get("systemMessage")
            or ""
        )


def make_project(path: Path, extra: dict[str, str] | None = None) -> GitRepo:
    repo = GitRepo(path)
    for name, text in {**BASE_FILES, **(extra or {})}.items():
        repo.write(name, text)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "start")
    return repo


def environment(role: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TDDGATE_", "PYTEST_"))}
    env.pop("CI", None)
    if role:
        env["TDDGATE_ROLE"] = role
    env["PYTEST_ADDOPTS"] = RECORDER  # what `tddgate init --agent claude` gives the agent
    return env


def guard(payload: dict[str, Any] | str, env: dict[str, str], cwd: Path) -> Reply:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    done = subprocess.run(
        GUARD,
        input=text,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    return Reply(done.returncode, done.stdout, done.stderr)


def payload(root: Path, session: str, event: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": str(root / ".claude-transcript.jsonl"),
        "cwd": str(root),
        "hook_event_name": event,
        **fields,
    }


def with_root(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{root}", str(root)).replace("{python}", sys.executable)
    if isinstance(value, list):
        return [with_root(v, root) for v in value]
    if isinstance(value, dict):
        return {k: with_root(v, root) for k, v in value.items()}
    return value


def apply_edit(tool: str, tool_input: dict[str, Any]) -> None:
    """Do what Claude Code's edit tool does once allowed (the kit's own code, not
    the guard's)."""
    path = Path(tool_input["file_path"])
    if tool == "Write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tool_input["content"], encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for edit in tool_input.get("edits", [tool_input]):
        count = -1 if edit.get("replace_all") else 1
        assert edit["old_string"] in text, f"the recorded edit does not apply: {edit}"
        text = text.replace(edit["old_string"], edit["new_string"], count)
    path.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Step:
    index: int
    what: str
    expected: str
    got: Reply
    says: str = ""  # a text the reason must contain (the rule that decided)

    @property
    def wrong(self) -> str | None:
        """What differs from the label; None: the decision (and reason) match."""
        if self.got.decision != self.expected:
            return f"expected {self.expected}, got {self.got.decision}: {self.got.reason}"
        if self.says and self.says not in self.got.reason:
            return f"the reason does not say {self.says!r}: {self.got.reason}"
        return None


def play(session: dict[str, Any], root: Path, name: str = "session") -> list[Step]:
    """Run every step of `session` in a fresh project at `root`; the replies."""
    make_project(root, session.get("files"))
    steps: list[Step] = []
    for index, raw in enumerate(session["steps"]):
        step = with_root(raw, root)
        tool_use = f"toolu_{index:03d}"
        env = environment(step.get("role", session.get("role")))
        if "bash" in step:
            command = step["bash"]
            before = guard(
                payload(
                    root,
                    name,
                    "PreToolUse",
                    tool_name="Bash",
                    tool_input={"command": command},
                    tool_use_id=tool_use,
                ),
                env,
                root,
            )
            steps.append(Step(index, f"PreToolUse Bash {command}", "allow", before))
            # the agent's Bash tool runs the command line through a shell, so the kit does
            subprocess.run(
                command,
                shell=True,
                cwd=root,
                env=env,
                capture_output=True,
                timeout=300,
                check=False,
            )
            after = guard(
                payload(
                    root,
                    name,
                    "PostToolUse",
                    tool_name="Bash",
                    tool_input={"command": command},
                    tool_use_id=tool_use,
                    tool_response={"stdout": "", "stderr": "", "interrupted": False},
                ),
                env,
                root,
            )
            steps.append(
                Step(
                    index,
                    f"PostToolUse Bash {command}",
                    step["expect"],
                    after,
                    step.get("says", ""),
                )
            )
        elif "tool" in step:
            reply = guard(
                payload(
                    root,
                    name,
                    "PreToolUse",
                    tool_name=step["tool"],
                    tool_input=step["input"],
                    tool_use_id=tool_use,
                ),
                env,
                root,
            )
            what = f"PreToolUse {step['tool']}"
            steps.append(Step(index, what, step["expect"], reply, step.get("says", "")))
            if reply.decision == "allow" and step.get("apply", True):
                apply_edit(step["tool"], step["input"])
        else:
            event = step["event"]
            extra: dict[str, Any] = {}
            if "Stop" in event:
                extra = {"stop_hook_active": bool(step.get("active"))}
            if event == "UserPromptSubmit":
                extra = {"prompt": step.get("prompt", "go on")}
            if event == "SessionStart":
                extra = {"source": "startup"}
            reply = guard(payload(root, name, event, **extra), env, root)
            steps.append(Step(index, event, step["expect"], reply, step.get("says", "")))
    return steps
