"""`tdd` and `roles` violations, turned into rules a reader (or a coding agent) can follow.

One entry per rule that was broken, not per commit: "Role `backend` must not change
`tests/**` ...: 3 violations since 2026-12-01". The stories of single commits stay in
the ledger and in the report of the run that found them. A violation is counted
once however many runs reported it: one per commit, and one for changes that were
never committed (once they are committed, they count as that commit's).

"Resolved" is said only of a violation a later, comparable run (the same branch, a
descendant commit, the same settings) judged without it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.learn.derive import Learning, code, files, key

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pytest_tddgate.facts.roles import RoleRules
    from pytest_tddgate.learn.history import History, Violation

_ROLE = re.compile(r"by role `([^`]+)`")
_FORBIDDEN = re.compile(r"forbidden by `(never|not in owns): ([^`]*)`")
_ORDER = re.compile(r"\(rule `order: ([^`]+) before ([^`]+)`\)")
_SHA = re.compile(r"\b[0-9a-f]{7,40}\b")
# a violation: (path, commit, None) for a commit, (path, None, branch) for uncommitted
# changes, (path, None, "says:" + message without commit ids) for what a commit's says
_Node = tuple[str | None, str | None, str | None]


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """What one rule entry is about: the gate's rule, who broke it, and where."""

    gate: str
    rule: str
    role: str  # "" when the gate names none
    scope: str  # a pattern, a path, an order rule, or ""


@dataclass(frozen=True, slots=True)
class Case:
    """One violation, however many runs reported it."""

    path: str | None
    commit: str | None
    first_run: int
    last_run: int


def violation_rules(history: History, roles: RoleRules | None = None) -> Iterable[Learning]:
    """One entry per broken rule of the `tdd` and `roles` gates, with its count.

    `roles`: the project's role file, to name who a path belongs to; None leaves that out.
    """
    groups: dict[Subject, list[Violation]] = defaultdict(list)
    for item in history.violations:
        groups[subject_of(item)].append(item)
    for subject, seen in sorted(groups.items()):
        cases = _cases(history, seen)
        if cases:
            yield _entry(history, subject, cases, roles)


def subject_of(seen: Violation) -> Subject:
    """Group by the rule itself: a role's forbidden pattern, a file that needs its test."""
    if seen.gate == "roles":
        role = _ROLE.search(seen.message)
        forbidden = _FORBIDDEN.search(seen.message)
        order = _ORDER.search(seen.message)
        if seen.rule in ("role-never", "role-owns") and role and forbidden:
            return Subject(seen.gate, seen.rule, role.group(1), forbidden.group(2))
        if seen.rule == "role-order" and order:
            return Subject(seen.gate, seen.rule, order.group(2), order.group(1))
        if seen.rule in ("role-unknown", "role-undefined"):
            return Subject(seen.gate, seen.rule, "", "")
    return Subject(seen.gate, seen.rule, "", seen.path or "")


def _cases(history: History, seen: Sequence[Violation]) -> list[Case]:
    """The distinct violations of one rule.

    One per commit; a commit rebased or cherry-picked is the same violation (the
    finding says the same, but for the commit's id). Uncommitted changes are one
    violation per branch, unless they were seen committed later on that branch: then
    they are that commit's, first seen when they were still uncommitted.
    """
    same = _Merger()
    spans: dict[_Node, list[int]] = {}
    for item in seen:
        node: _Node
        if item.commit is None:
            node = (item.path, None, _branch(history, item.run_id))
        else:
            node = (item.path, item.commit, None)
            same.union(node, (item.path, None, "says:" + _SHA.sub("#", item.message)))
        span = spans.setdefault(node, [item.run_id, item.run_id])
        span[0], span[1] = min(span[0], item.run_id), max(span[1], item.run_id)
    merged: dict[_Node, list[int]] = {}
    for node, (first, last) in spans.items():
        root = same.find(node) if node[1] is not None else node
        span = merged.setdefault(root, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    for (path, commit, branch), (first, last) in list(merged.items()):
        if commit is not None:
            continue
        later = [
            span
            for (other_path, other_commit, _), span in merged.items()
            if other_path == path
            and other_commit is not None
            and span[0] > last
            and _branch(history, span[0]) == branch
        ]
        if later:  # committed afterwards: it is that commit's violation, seen earlier
            earliest = min(later)
            earliest[0] = min(earliest[0], first)
            del merged[path, commit, branch]
    cases = [Case(path, commit, first, last) for (path, commit, _), (first, last) in merged.items()]
    return sorted(cases, key=lambda case: (case.first_run, case.path or "", case.commit or ""))


class _Merger:
    """Union-find over violation nodes: a commit and what its finding says."""

    def __init__(self) -> None:
        self._parent: dict[_Node, _Node] = {}

    def find(self, node: _Node) -> _Node:
        root = node
        while self._parent.get(root, root) != root:
            root = self._parent[root]
        self._parent[node] = root
        return root

    def union(self, a: _Node, b: _Node) -> None:
        # the commit node stays the root: a case is named by a commit, never by a message
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb[1] is not None and ra[1] is None:
            ra, rb = rb, ra
        self._parent[rb] = ra


def _branch(history: History, run_id: int) -> str | None:
    run = history.by_id.get(run_id)
    return run.branch if run is not None else None


def _entry(
    history: History, subject: Subject, cases: Sequence[Case], roles: RoleRules | None
) -> Learning:
    first = min(case.first_run for case in cases)
    count = f"{len(cases)} violation{'s' if len(cases) != 1 else ''} since {history.date(first)}"
    paths = sorted({case.path for case in cases if case.path})
    rule = _rule_text(subject, paths, roles)
    where = f" (in {files(paths)})" if paths and subject.scope not in paths else ""
    latest = max(cases, key=lambda case: case.last_run)
    resolved = _resolved(history, subject.gate, latest)
    text = f"{rule} — {count}{where}"
    date = history.date(latest.first_run)
    if resolved is not None:
        date = history.date(resolved)
        text += f"; the latest was resolved in run #{resolved} on `{_branch(history, resolved)}`"
    component = subject.scope if subject.rule not in ("role-never", "role-owns") else subject.role
    return Learning(
        key("rule", subject.gate, subject.rule, subject.role, subject.scope),
        "patterns_to_avoid",
        date,
        component or subject.gate,
        text + ".",
    )


def _rule_text(subject: Subject, paths: Sequence[str], roles: RoleRules | None) -> str:
    """The rule as an instruction, in a complete sentence."""
    who, scope = code(subject.role) if subject.role else "", subject.scope
    owners = _owners(roles, paths, subject.role)
    belongs = f"; leave such changes to {_names(owners)}" if owners else ""
    texts = {
        "role-never": f"Role {who} must not change {_patterns(scope)}{belongs}",
        "role-owns": f"Role {who} may change only {_patterns(scope)}{belongs}",
        "role-order": (
            f"Let role {code(scope)} commit a test for a file before role {who} changes it"
        ),
        "role-unknown": (
            "Give every change a role (a `Role:` trailer, the author in `members`, or "
            "TDDGATE_ROLE for uncommitted changes)"
        ),
        "role-undefined": "Use only roles the roles file defines in `Role:` trailers",
        "test-not-first": (
            f"Write the test for {code(scope)} first, before its implementation changes "
            "(`test-not-first`)"
        ),
        "no-test": f"Give {code(scope)} a test that maps to it (`no-test`)",
    }
    if subject.rule in texts and (scope or subject.rule in ("role-unknown", "role-undefined")):
        return texts[subject.rule]
    about = f" on {code(scope)}" if scope else ""
    return f"Avoid {subject.gate} {code(subject.rule)}{about}"


def _patterns(scope: str) -> str:
    shown = [p.strip() for p in scope.split(",") if p.strip()]
    return ", ".join(code(p) for p in shown) if shown else "any file"


def _owners(roles: RoleRules | None, paths: Sequence[str], role: str) -> list[str]:
    """The roles that own the paths in the current roles file (the roles that may change
    them and name them in `owns`; all that may, when none does), without `role` itself."""
    if roles is None or not paths:
        return []
    found: list[str] = []
    for path in paths:
        allowed = [r for r in roles.roles.values() if r.forbidding_rule(path) is None]
        owning = [r.name for r in allowed if r.owns is not None] or [r.name for r in allowed]
        found += [name for name in owning if name != role and name not in found]
    return found


def _names(names: Sequence[str]) -> str:
    return " or ".join(code(name) for name in names)


def _resolved(history: History, gate: str, latest: Case) -> int | None:
    """The first run after the latest violation that is comparable with it, judged the
    gate, and no longer reports it; None when no such run exists (yet)."""
    # resolved means the file has no such finding at all, in any commit: a violation
    # that was only committed, or rebased into another commit, is not resolved
    reported = {(item.run_id, item.path) for item in history.violations if item.gate == gate}
    for run_id, status in history.gates.get(gate, ()):
        if run_id <= latest.last_run or status not in ("pass", "fail"):
            continue
        # the set first: `comparable` may ask git
        if (run_id, latest.path) not in reported and history.comparable(latest.last_run, run_id):
            return run_id
    return None
