"""The guard's decisions, as pure functions over plain data: what is known about a
changed file (its kind, the role rule that forbids it, what the change adds, the
state of its mapped tests) goes in, an `Answer` comes out. Nothing here reads a
file or runs a process; guard/judge.py gathers the facts.

- `on_edit`: before an edit tool writes (PreToolUse): deny a file the role may not
  change, and an implementation change that adds behaviour without red evidence.
- `after_command`: after a shell command (PostToolUse): the same two rules over
  every file the command changed, as one block listing the files to restore.
- `on_stop`: before the agent stops: block with the findings, at most `cap` times
  a session; the third block in a row for the same findings says it is stuck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pytest_tddgate.guard.outcomes import TestState
from pytest_tddgate.guard.protocol import ALLOW, Answer

STUCK_AFTER = 3  # the same findings blocking this many stops in a row: stuck
KINDS = ("tool", "implementation", "test", "other")


@dataclass(frozen=True, slots=True)
class Change:
    """One file an edit or a command changes, and what the guard knows of it."""

    path: str  # relative to the project root
    kind: str  # one of KINDS
    role: str | None = None
    forbidden: str | None = None  # the role rule as written, e.g. "never: tests/**"
    owners: tuple[str, ...] = ()  # roles that may change the file instead
    adds: str | None = None  # what the change adds ("a new function `f`"); None: nothing
    tests: tuple[TestState, ...] = ()
    test_names: tuple[str, ...] = ()  # where a first test would go (naming convention)
    restore: str = ""  # how to undo the change (after a command)


def violation(change: Change) -> str | None:
    """Why `change` breaks a rule, with what to do instead; None: it keeps them."""
    if change.kind == "tool":
        return None
    if change.forbidden is not None:
        return _role_text(change)
    if change.kind != "implementation" or change.adds is None:
        return None
    if any(t.state == "red" for t in change.tests):
        return None
    return _tests_first_text(change)


def on_edit(change: Change) -> Answer:
    """The answer to an edit tool about to write `change`."""
    reason = violation(change)
    if reason is None:
        return ALLOW
    return Answer("deny", f"tddgate guard: {reason}")


def after_command(changes: Sequence[Change]) -> Answer:
    """The answer after a command that made `changes`: one block for all violations."""
    found = [(c, why) for c in changes if (why := violation(c)) is not None]
    if not found:
        return ALLOW
    lines = ["tddgate guard: the last command changed files it may not:"]
    for change, why in found:
        lines.append(f"- {change.path}: {why}")
    lines.append("Restore them now:")
    lines += [f"  {c.restore}" for c, _ in found if c.restore]
    lines.append(
        "Writing through the shell (sed -i, echo >, python -c) is judged like an edit; "
        "make the change with the rules above instead."
    )
    return Answer("block", "\n".join(lines))


def _role_text(change: Change) -> str:
    who = f"role `{change.role}`" if change.role else "this role"
    text = f"{who} may not change {change.path} ({change.forbidden})."
    if change.owners:
        owners = " or ".join(f"`{o}`" for o in change.owners)
        ask = (
            f"ask {owners} for the test you need (say what it must check)"
            if change.kind == "test"
            else f"ask {owners} to make this change"
        )
        text += f" It belongs to {owners}: {ask}."
    else:
        text += " No role may change it: leave it as it is."
    return text + " Do not work around this through the shell: the guard checks commands too."


def _tests_first_text(change: Change) -> str:
    adds = change.adds or "new behaviour"
    head = f"tests first: this change to {change.path} adds {adds}, and no mapped test is red."
    if not change.tests:
        where = " or ".join(change.test_names) or "a test file that imports it"
        return (
            f"{head} No test maps to it yet: write a failing test first ({where}), "
            "run pytest and see it fail, then make it pass."
        )
    states = "; ".join(_state_text(t) for t in change.tests)
    fresh = [t.test for t in change.tests if t.state in ("changed", "never-run")]
    if fresh:
        todo = (
            f"run `pytest {' '.join(fresh)}`: a test of the new behaviour failing there "
            "lets the change in (if none fails, add one that does)"
        )
    else:
        named = " or ".join(t.test for t in change.tests[:3])
        todo = f"add a test of the new behaviour to {named}, run pytest and see it fail"
    return f"{head} Mapped tests: {states}. First {todo}; then make the change."


def _state_text(state: TestState) -> str:
    return {
        "green": f"{state.test} passes",
        "changed": f"{state.test} changed since its last run",
        "never-run": f"{state.test} has no recorded run",
        "red": f"{state.test} fails",
    }[state.state]


@dataclass(frozen=True, slots=True)
class Finding:
    """What blocks stopping: `key` identifies it across stops, `text` says it with
    its fix."""

    key: str
    text: str


@dataclass(frozen=True, slots=True)
class StopMemory:
    """What the guard remembers of a session's stops (guard/state.py keeps it)."""

    blocks: int = 0
    last: str = ""  # the key of the findings the last block named
    repeats: int = 0  # blocks in a row for those findings


def on_stop(
    findings: Sequence[Finding], memory: StopMemory, *, active: bool, cap: int
) -> tuple[Answer, StopMemory]:
    """The answer to a stop, and the memory after it.

    `active` (Claude Code's `stop_hook_active`): the agent is already continuing
    because of a stop block this turn; blocking again could loop, so it stops, and
    the findings are shown to the person."""
    if not findings:
        return ALLOW, replace(memory, last="", repeats=0)
    key = "\n".join(sorted(f.key for f in findings))
    listed = "\n".join(f"- {f.text}" for f in findings)
    if active or memory.blocks >= cap:
        why = (
            "it already continued once this turn"
            if active
            else f"the guard blocked stopping {cap} times this session (guard_stop_blocks)"
        )
        return Answer("note", f"tddgate guard: stopping with findings ({why}):\n{listed}"), memory
    if key == memory.last and memory.repeats >= STUCK_AFTER:
        # it was told it is stuck and to report: blocking again would only loop
        return Answer("note", f"tddgate guard: stopping while stuck on:\n{listed}"), memory
    repeats = memory.repeats + 1 if key == memory.last else 1
    after = StopMemory(memory.blocks + 1, key, repeats)
    if repeats >= STUCK_AFTER:
        text = (
            f"tddgate guard: stuck: the same findings blocked stopping {repeats} times in a row:\n"
            f"{listed}\nStop now and report to the user what you tried and what still fails; "
            "do not try the same fix again."
        )
        return Answer("block", text), after
    return Answer(
        "block", f"tddgate guard: not done yet; fix these before stopping:\n{listed}"
    ), after
