"""The context the guard adds at session start and on each prompt: a few lines, not
files. The agent's role and what it owns and never touches, the red/green state of
the implementation files changed in the working tree, and the learnings of the
expertise file that name those files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_tddgate.guard.judge import Project

_MAX_FILES = 8
_MAX_LEARNINGS = 5
_STATE_WORDS = {
    "red": "red",
    "green": "green",
    "changed": "changed since run",
    "never-run": "not run",
}


def lines(project: Project, changed: Sequence[str]) -> list[str]:
    """The context, one line each (`changed`: files that differ from HEAD)."""
    found = [
        "tddgate guard is on: every edit and shell command is checked against the "
        "project's roles and tests-first rule (a mapped test must fail before new "
        "behaviour); stopping is checked like `tddgate check` plus the test outcomes."
    ]
    found += _role_lines(project)
    found += _file_lines(project, changed)
    found += _learnings(project, changed)
    return found


def _role_lines(project: Project) -> list[str]:
    rules = project.rules
    if rules is None:
        return []
    role, source = project.role
    if role is None:
        return [f"No role is set for this session (roles are defined in {rules.file})."]
    spec = rules.roles[role]
    owns = ", ".join(spec.owns.patterns) if spec.owns is not None else "anything not below"
    never = ", ".join(spec.never.patterns) or "nothing"
    return [f"Your role: {role} (from {source}). You own: {owns}. You never touch: {never}."]


def _file_lines(project: Project, changed: Sequence[str]) -> list[str]:
    """Changed implementation files with their mapped tests' states, then changed
    test files with their own."""
    from pytest_tddgate.guard.outcomes import states

    kinds = {p: project.kind(p) for p in changed}
    impl = [p for p, kind in kinds.items() if kind == "implementation"][:_MAX_FILES]
    found = []
    for path in impl:
        tests = project.test_states(path)
        said = ", ".join(f"{t.test} {_STATE_WORDS[t.state]}" for t in tests) or "no mapped test"
        found.append(f"Changed: {path}: tests {said}.")
    layout = project.layout
    changed_tests = [p for p, k in kinds.items() if k == "test" and layout.is_test_module(p)]
    ledger = project.settings.path(project.settings.project.ledger)
    for state in states(project.root, changed_tests[:_MAX_FILES], ledger=ledger):
        found.append(f"Changed test: {state.test} {_STATE_WORDS[state.state]}.")
    return found


def _learnings(project: Project, changed: Sequence[str]) -> list[str]:
    """Bullets of the expertise file's `## Learnings` that name a changed file."""
    if not changed:
        return []
    path = project.settings.path(project.settings.project.expertise)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    _, _, learnings = text.partition("## Learnings")
    words = set(changed) | {p.rpartition("/")[2] for p in changed}
    found = []
    for line in learnings.splitlines():
        bullet = line.strip()
        if bullet.startswith("- ") and any(w in bullet for w in words):
            found.append(f"Learning: {bullet[2:][:300]}")
        if len(found) >= _MAX_LEARNINGS:
            break
    return found
