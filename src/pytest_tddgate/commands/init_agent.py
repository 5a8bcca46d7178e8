"""`tddgate init --agent claude`: wire `tddgate guard` into Claude Code's project
settings, `.claude/settings.json`.

The hooks are merged: a hook someone wrote is never removed, changed or moved; the
guard's groups are appended to the events that lack them, so running it twice
changes nothing (the file is not even rewritten). The agent's environment gets
`-p pytest_tddgate.guard.record` in `PYTEST_ADDOPTS`, so the pytest runs of the
agent record the outcomes the guard reads (appended to a value already there).
The role is not guessed: the printed next steps say how to give it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import UsageError
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.guard.record import GUARD_DIR

if TYPE_CHECKING:
    from pathlib import Path

AGENTS = ("claude",)
SETTINGS = ".claude/settings.json"
COMMAND = "tddgate guard"
RECORDER = "-p pytest_tddgate.guard.record"
EDIT_MATCHER = "Write|Edit|MultiEdit|NotebookEdit"
# event -> matcher (None: the event takes none); PreToolUse twice: edits are judged,
# a Bash command gets the snapshot its PostToolUse compares with
GROUPS: tuple[tuple[str, str | None], ...] = (
    ("SessionStart", None),
    ("UserPromptSubmit", None),
    ("PreToolUse", EDIT_MATCHER),
    ("PreToolUse", "Bash"),
    ("PostToolUse", "Bash"),
    ("Stop", None),
    ("SubagentStop", None),
)
ROLE_HELP = """\
Give the agent its role (see docs/agents.md), either
  - in .claude/settings.local.json (yours, not committed):
      {"env": {"TDDGATE_ROLE": "backend"}}
  - or by the git email it commits with, under `members:` in the role file.
Switch the guard off for a session with TDDGATE_GUARD=off."""


def set_up(root: Path, agent: str) -> list[str]:
    """Merge the guard's hooks into the agent's settings; what was done, one line each."""
    if agent not in AGENTS:  # pragma: no cover - argparse's `choices` keeps it out
        raise UsageError(f"unknown agent `{agent}`", fix=f"use one of: {', '.join(AGENTS)}")
    path = root / SETTINGS
    data = _read(path)
    changed = merge(data)
    (root / GUARD_DIR).mkdir(parents=True, exist_ok=True)
    if not changed:
        return [f"{SETTINGS}: the guard's hooks are already there (unchanged)"]
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return [f"{SETTINGS}: added {', '.join(changed)}"]


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(
            f"cannot be read as JSON ({exc})",
            file=path,
            fix="correct it (nothing was written), then run `tddgate init --agent claude` again",
        ) from None
    if not isinstance(data, dict):
        raise UsageError("must be a JSON object", file=path, fix="correct it; nothing was written")
    return data


def merge(data: dict[str, Any]) -> list[str]:
    """Add what is missing to `data` in place; the names of what was added."""
    hooks = data.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise UsageError("`hooks` must be an object", file=SETTINGS, fix="correct it")
    added = []
    for event, matcher in GROUPS:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise UsageError(f"`hooks.{event}` must be a list", file=SETTINGS, fix="correct it")
        if any(_is_ours(group, matcher) for group in groups):
            continue
        group: dict[str, Any] = {"hooks": [{"type": "command", "command": COMMAND}]}
        if matcher is not None:
            group = {"matcher": matcher, **group}
        groups.append(group)
        added.append(f"{event} ({matcher})" if matcher else event)
    env = data.setdefault("env", {})
    if not isinstance(env, dict):
        raise UsageError("`env` must be an object", file=SETTINGS, fix="correct it")
    options = env.get("PYTEST_ADDOPTS", "")
    if RECORDER not in str(options):
        env["PYTEST_ADDOPTS"] = f"{options} {RECORDER}".strip()
        added.append("PYTEST_ADDOPTS")
    return added


def _is_ours(group: object, matcher: str | None) -> bool:
    if not isinstance(group, dict) or group.get("matcher") != matcher:
        return False
    hooks = group.get("hooks")
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and str(h.get("command", "")).strip().startswith(COMMAND) for h in hooks
    )
