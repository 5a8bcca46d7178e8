"""`tddgate guard`: answer one coding-agent hook event (JSON on stdin) in the
agent's protocol (Claude Code's; see guard/protocol.py and docs/agents.md).

Exit status 0 with the answer on stdout, even for a deny; 2 with the message on
stderr when stdin holds no readable event. The guard's own failure (a broken
settings or role file, git missing, a bug) denies with the reason and the way to
switch the guard off (`TDDGATE_GUARD=off`), never with a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.guard.judge import GitUnavailable
from pytest_tddgate.guard.protocol import (
    ALLOW,
    BLOCKING_EXIT,
    EVENTS,
    Answer,
    BadInput,
    Event,
    failure_text,
    parse_event,
    render,
)

RESTORE_DIR = ".tddgate/guard/restore"  # files as they were before a blocked command

if TYPE_CHECKING:
    from pytest_tddgate.guard.judge import Project
    from pytest_tddgate.guard.state import Tree


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--agent",
        choices=("claude",),
        default="claude",
        help="the agent whose hook protocol stdin and stdout speak (default: claude)",
    )


def run(args: argparse.Namespace) -> int:
    if os.environ.get("TDDGATE_GUARD", "").lower() == "off":
        return 0  # the documented switch: every event is allowed
    try:
        event = parse_event(sys.stdin.read())
    except (BadInput, UnicodeDecodeError) as exc:
        print(failure_text(str(exc)), file=sys.stderr)
        return BLOCKING_EXIT
    answer = answer_safely(event)
    text = render(event.name, answer)
    if text:
        print(text)
    return 0


def answer_safely(event: Event) -> Answer:
    """`answer`, with every failure turned into the event's own way of refusing."""
    from pytest_tddgate.errors import TddGateError
    from pytest_tddgate.guard.judge import Outside

    try:
        return answer(event)
    except Outside as exc:
        return Answer("note", f"tddgate guard: not judged: {exc}")
    except TddGateError as exc:
        message = exc.render() if hasattr(exc, "render") else str(exc)
        return _failure(event, message)
    except (GitUnavailable, OSError, RecursionError, MemoryError) as exc:
        return _failure(event, str(exc))
    except Exception as exc:  # a bug must deny, not wave a write through
        return _failure(event, f"internal error {type(exc).__name__}: {exc}")


def _failure(event: Event, message: str) -> Answer:
    text = failure_text(message)
    if event.name == "PreToolUse":
        return Answer("deny", text)
    if event.name == "PostToolUse" or (
        event.name in ("Stop", "SubagentStop") and not event.stop_hook_active
    ):
        return Answer("block", text)
    return Answer("note", text)


def answer(event: Event) -> Answer:
    if event.name not in EVENTS:
        return Answer(
            "note",
            f"tddgate guard: the event `{event.name}` is not one it judges "
            f"({', '.join(EVENTS)}); nothing was decided",
        )
    from pytest_tddgate.guard.judge import Project

    project = Project(Path(event.cwd))
    if event.name == "PreToolUse":
        return _edit(project, event) if event.is_edit else _snapshot(project, event)
    if event.name == "PostToolUse":
        return ALLOW if event.is_edit else _after_command(project, event)
    if event.name in ("Stop", "SubagentStop"):
        return _stop(project, event)
    return _context(project, event)


def _edit(project: Project, event: Event) -> Answer:
    from pytest_tddgate.guard import decide, edits

    try:
        path = edits.target(event.tool_name, event.tool_input)
        rel = project.relative(str(Path(event.cwd) / path))  # an absolute path stays as is
        before = _read(project.root / rel)
        edit = edits.apply(event.tool_name, event.tool_input, before)
    except edits.EditInputError as exc:
        return Answer("deny", failure_text(str(exc)))
    if edit.after is None and event.tool_name != "NotebookEdit":
        return ALLOW  # the tool itself fails (old_string not found): nothing changes
    return decide.on_edit(project.change(rel, before, edit.after))


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode(errors="surrogateescape")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _snapshot(project: Project, event: Event) -> Answer:
    from pytest_tddgate.guard import state

    try:
        toplevel = state.toplevel_of(project.root)
    except GitUnavailable as exc:
        # without git there is no state to compare with: say so rather than deny
        # every command of a project that is not a repository
        return Answer("note", f"tddgate guard: commands are not checked here: {exc}")
    state.save_snapshot(
        project.root, event.session_id, event.tool_use_id, state.working_tree(toplevel)
    )
    return ALLOW


def _after_command(project: Project, event: Event) -> Answer:
    from pytest_tddgate.guard import decide, state

    before = state.take_snapshot(project.root, event.session_id, event.tool_use_id)
    if before is None:
        return Answer(
            "note",
            "tddgate guard: no readable snapshot from before this command, so its changes "
            f"were not checked; the PreToolUse hook for `{event.tool_name}` takes it "
            "(`tddgate init --agent claude` sets it up)",
        )
    toplevel = state.toplevel_of(project.root)
    after = state.working_tree(toplevel)
    texts: dict[str, tuple[str | None, str | None]] = {}  # git path -> (before, after)
    for git_path in state.changed_by_command(before, after):
        now = after.get(git_path)
        new = now.text if now is not None else state.head_text(toplevel, git_path)
        if now is not None and now.digest is None:
            new = None  # deleted: a deletion adds no behaviour
        texts[git_path] = (_old_text(toplevel, git_path, before), new)
    moved = _moves(texts)
    changes = []
    for git_path, (old, new) in texts.items():
        try:
            rel = (toplevel / git_path).relative_to(project.root).as_posix()
        except ValueError:
            continue  # another project of the checkout
        restore = _restore(project, git_path, before)
        source = moved.get(git_path)
        was = old
        if source is not None:  # judged against the file it was, and both restored
            was = texts[source][0]
            restore = f"{restore}\n  {_restore(project, source, before)}"
        change = project.change(rel, was, new, restore)
        if decide.violation(change) is not None:
            for path in (git_path, source):
                if path is not None:
                    _keep_copy(project, path, toplevel, before)
        changes.append(change)
    return decide.after_command(changes)


def _moves(texts: dict[str, tuple[str | None, str | None]]) -> dict[str, str]:
    """Files the command created out of files it deleted (`git mv`, `mv`, perhaps
    changed on the way): new path -> old path, paired as git's rename detection
    pairs them, by at least half of their text in common."""
    import difflib

    gone = [p for p, (old, new) in texts.items() if old is not None and new is None]
    moved: dict[str, str] = {}
    for path, (old, new) in texts.items():
        if old is not None or new is None or not gone:
            continue
        ratios = [(difflib.SequenceMatcher(None, texts[g][0] or "", new).ratio(), g) for g in gone]
        ratio, source = max(ratios)
        if ratio >= 0.5:
            moved[path] = source
            gone.remove(source)
    return moved


def _keep_copy(project: Project, git_path: str, toplevel: Path, before: Tree) -> None:
    """The text a file had before the command, where the restore line points to."""
    from pytest_tddgate.fsutil import atomic_write_bytes

    was = before.get(git_path)
    if was is not None and was.text is not None:
        rel = (toplevel / git_path).relative_to(project.root).as_posix()
        copy = project.root / RESTORE_DIR / rel
        atomic_write_bytes(copy, was.text.encode("utf-8", errors="surrogateescape"))


def _old_text(toplevel: Path, git_path: str, before: Tree) -> str | None:
    from pytest_tddgate.guard.state import head_text

    was = before.get(git_path)
    if was is not None:
        return was.text if was.digest is not None else None
    return head_text(toplevel, git_path)


def _restore(project: Project, git_path: str, before: Tree) -> str:
    from pytest_tddgate.guard.state import head_text

    was = before.get(git_path)
    if was is None:
        if head_text(project.toplevel, git_path) is None:
            return f"rm {git_path}   (it did not exist before the command)"
        return f"git checkout HEAD -- {git_path}"
    if was.digest is None:
        return f"rm {git_path}   (it did not exist before the command)"
    if was.text is not None:
        rel = (project.toplevel / git_path).relative_to(project.root).as_posix()
        return f"cp {RESTORE_DIR}/{rel} {rel}   (its content before the command)"
    return f"restore {git_path} to its content before the command (your own edits to it)"


def _stop(project: Project, event: Event) -> Answer:
    from pytest_tddgate.guard import decide, state, stop

    changed = _changed(project)
    found = stop.findings(project, changed)
    memory = state.load_memory(project.root, event.session_id)
    cap = project.settings.project.guard_stop_blocks
    reply, after = decide.on_stop(found, memory, active=event.stop_hook_active, cap=cap)
    if after != memory:
        state.save_memory(project.root, event.session_id, after)
    return reply


def _changed(project: Project) -> list[str]:
    from pytest_tddgate.guard import state

    try:
        toplevel = state.toplevel_of(project.root)
        tree = state.working_tree(toplevel)
    except GitUnavailable:
        return []  # no git: nothing is known to have changed
    found = []
    for git_path in tree:
        try:
            found.append((toplevel / git_path).relative_to(project.root).as_posix())
        except ValueError:
            continue
    return found


def _context(project: Project, event: Event) -> Answer:
    from pytest_tddgate.guard import context
    from pytest_tddgate.guard.record import GUARD_DIR

    (project.root / GUARD_DIR).mkdir(parents=True, exist_ok=True)  # outcomes get recorded
    return Answer("context", "\n".join(context.lines(project, _changed(project))))
