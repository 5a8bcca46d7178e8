"""Claude Code's hook protocol: one event as JSON on stdin, an answer on stdout.

Input (the fields the guard reads): `hook_event_name`, `session_id`, `cwd`,
`tool_name`, `tool_input` (Write: `file_path`, `content`; Edit: `file_path`,
`old_string`, `new_string`, `replace_all`; MultiEdit: `file_path`, `edits`;
NotebookEdit: `notebook_path`, `new_source`, `cell_id`, `edit_mode`), `tool_use_id`,
`stop_hook_active`, `prompt`.

Output, as Claude Code documents it (hooks reference): every answer exits 0.

- allow: nothing on stdout;
- PreToolUse deny: `{"hookSpecificOutput": {"hookEventName": "PreToolUse",
  "permissionDecision": "deny", "permissionDecisionReason": ...}}`;
- PostToolUse, Stop and SubagentStop block: `{"decision": "block", "reason": ...}`;
- SessionStart and UserPromptSubmit context: `{"hookSpecificOutput":
  {"hookEventName": ..., "additionalContext": ...}}`;
- a note for the person (nothing decided): `{"systemMessage": ...}`.

Input that cannot be read as an event answers with exit status 2 and the message
on stderr: Claude Code blocks on it for every event, so no write slips through
while the guard cannot tell which event it was asked about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

EDIT_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
EVENTS = (
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "SessionStart",
    "UserPromptSubmit",
)
SWITCH_OFF = "TDDGATE_GUARD=off"
BLOCKING_EXIT = 2  # Claude Code's "block, stderr to Claude" status for any event


class BadInput(Exception):
    """The event on stdin cannot be read; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class Event:
    """One hook event, with only the fields the guard reads."""

    name: str
    session_id: str
    cwd: str
    tool_name: str = ""
    tool_input: Mapping[str, Any] = field(default_factory=dict)
    tool_use_id: str = ""
    stop_hook_active: bool = False
    prompt: str = ""

    @property
    def is_edit(self) -> bool:
        return self.tool_name in EDIT_TOOLS


@dataclass(frozen=True, slots=True)
class Answer:
    """What the guard answers: `kind` is allow, deny, block, context or note."""

    kind: str
    text: str = ""

    @classmethod
    def allow(cls) -> Answer:
        return cls("allow")


ALLOW = Answer("allow")


def parse_event(text: str) -> Event:
    """The event in `text`; `BadInput` says what is missing or malformed."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInput(f"the hook input is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"the hook input must be a JSON object, got {type(data).__name__}")
    name = data.get("hook_event_name")
    if not isinstance(name, str) or not name:
        raise BadInput("the hook input has no `hook_event_name`")
    tool_input = data.get("tool_input", {})
    if not isinstance(tool_input, dict):
        raise BadInput("`tool_input` must be a JSON object")
    cwd = data.get("cwd")
    if not isinstance(cwd, str) or not cwd:
        raise BadInput("the hook input has no `cwd`")
    return Event(
        name=name,
        session_id=_text(data.get("session_id")) or "no-session",
        cwd=cwd,
        tool_name=_text(data.get("tool_name")),
        tool_input=tool_input,
        tool_use_id=_text(data.get("tool_use_id")),
        stop_hook_active=data.get("stop_hook_active") is True,
        prompt=_text(data.get("prompt")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def render(event_name: str, answer: Answer) -> str:
    """The JSON Claude Code reads for `answer` to `event_name`; "" for an allow."""
    if answer.kind == "allow":
        return ""
    if answer.kind == "deny":
        if event_name == "PreToolUse":
            return _dump(
                {
                    "hookSpecificOutput": {
                        "hookEventName": "PreToolUse",
                        "permissionDecision": "deny",
                        "permissionDecisionReason": answer.text,
                    }
                }
            )
        return _dump({"decision": "block", "reason": answer.text})
    if answer.kind == "block":
        return _dump({"decision": "block", "reason": answer.text})
    if answer.kind == "context" and event_name in ("SessionStart", "UserPromptSubmit"):
        return _dump(
            {"hookSpecificOutput": {"hookEventName": event_name, "additionalContext": answer.text}}
        )
    return _dump({"systemMessage": answer.text})


def _dump(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


def failure_text(message: str) -> str:
    """The guard could not judge: the reason, and the one way to switch it off."""
    return (
        f"tddgate guard could not judge this: {message}\n"
        f"It denies rather than let an unjudged write through. Fix the cause, or switch "
        f"the guard off for this session with the environment variable {SWITCH_OFF} "
        "(see docs/agents.md)."
    )
