"""Gate `roles`: every changed file is allowed for the role that changed it.

The rules come from the role file (facts/roles.py), the changes from the single
history pass that the `tdd` gate reads too (facts/history.py), so this gate adds no
git process of its own. Each commit of the range is judged under its role; the
working tree (or the index with `--staged`) under the `--tddgate-role` role.

`order` rules (`{before: qa, after: backend}`) need, for every implementation file
an `after` commit changes, a mapped test changed by a `before` commit earlier in the
range.

Not judged: a change the range undoes again (facts/undone.py: `git revert`, a file
restored or deleted again) and the tool's own files (the expertise file, reports, the
ledger, `.tddgate/`), which a local run rewrites whoever runs it. The baseline is
judged: accepting findings is a team decision, like any rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pytest_tddgate.facts.history import INDEX, STATE_DIR, Change, Commit, history
from pytest_tddgate.facts.mapping import mapper
from pytest_tddgate.facts.roles import (
    GUIDE,
    OPTION,
    CommitRole,
    OrderRule,
    Role,
    RoleRules,
    check_role_name,
    did_you_mean,
    load_roles,
    option_origin,
    role_of,
    writers,
)
from pytest_tddgate.facts.undone import undone_changes
from pytest_tddgate.model import Finding, GateResult, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.facts.mapping import Mapper
    from pytest_tddgate.options import Settings

NAME = "roles"
# lock files that tools rewrite on their own (`uv run` creates uv.lock): who does it
LOCK_WRITERS = {
    "uv.lock": "`uv run` / `uv lock`",
    "poetry.lock": "`poetry add` / `poetry lock`",
    "pdm.lock": "`pdm add` / `pdm lock`",
    "Pipfile.lock": "`pipenv install` / `pipenv lock`",
}


class RolesGate:
    name = NAME
    static = True  # judged from git alone: also runs in `tddgate check --staged`

    def validate(self, ctx: GateContext) -> None:
        """Parse the role file before any test runs: a mistake in it exits 4 at once."""
        rules = ctx.facts.get(load_roles)
        if rules is not None:
            check_role_name(rules, ctx.settings)

    def evaluate(self, ctx: GateContext) -> GateResult:
        rules = ctx.facts.get(load_roles)
        if rules is None:
            return GateResult(
                NAME, Verdict.SKIP, f"no role file {ctx.settings.project.roles} (see {GUIDE})"
            )
        settings = ctx.settings
        check_role_name(rules, settings)
        hist = ctx.facts.get(history)
        commits = hist.commits
        toplevel = hist.revisions.toplevel
        judge = _Judge(
            rules,
            _SeenTests(ctx.facts.get(mapper)) if rules.order else None,
            settings.project.role,
            option_origin(settings).label if settings.project.role else OPTION,
            skip_unknown=ctx.section.unknown_role == "skip",
            own=_OwnFiles.of(settings, toplevel),
            undone=undone_changes(commits, toplevel),
        )
        for index, commit in enumerate(commits):
            judge.commit(index, commit)
        return judge.result()


@dataclass(frozen=True, slots=True)
class _OwnFiles:
    """The files pytest-tddgate writes itself, relative to the git top folder: a run
    rewrites them whoever runs it, so they are nobody's change."""

    files: frozenset[str]
    folders: tuple[str, ...]  # each ends in "/"

    @classmethod
    def of(cls, settings: Settings, toplevel: Path) -> _OwnFiles:
        project = settings.project
        files = (project.expertise, project.report, project.markdown, project.sarif)
        folders = (STATE_DIR, project.html)
        return cls(
            frozenset(_under(settings, toplevel, (*files, project.ledger))),
            tuple(f"{f}/" for f in _under(settings, toplevel, folders)),
        )

    def hold(self, change: Change) -> bool:
        return all(p in self.files or p.startswith(self.folders) for p in _paths(change))


def _under(settings: Settings, toplevel: Path, values: Iterable[str | None]) -> list[str]:
    found = []
    for value in values:
        if value:
            try:
                found.append(settings.path(value).relative_to(toplevel.resolve()).as_posix())
            except ValueError:  # outside the checkout: no change of it is in the history
                continue
    return found


@dataclass(slots=True)
class _SeenTests:
    """The tests each role changed so far in the range, oldest first, and whether one
    of them maps to an implementation file (matrix, naming, imports or coverage, as
    the `tdd` gate maps them). Each (test, file) pair is put to the mapper once."""

    mapper: Mapper
    by_role: dict[str, dict[str, None]] = field(default_factory=dict)  # ordered sets
    asked: dict[tuple[str, str], int] = field(default_factory=dict)  # -1: found one

    def add(self, role: str, changes: Sequence[Change]) -> None:
        seen = self.by_role.setdefault(role, {})
        for change in changes:
            if change.status != "D" and self.mapper.layout.is_test(change.path):
                seen[change.path] = None

    def preceded(self, role: str, impl: str) -> bool:
        """True when a test `role` changed so far maps to `impl`."""
        asked = self.asked.get((role, impl), 0)
        if asked < 0:
            return True
        tests = list(self.by_role.get(role, ()))
        found = bool(self.mapper.links(impl, tests[asked:]))
        self.asked[role, impl] = -1 if found else len(tests)
        return found


@dataclass(slots=True)
class _OrderBreach:
    """The first commit where `rule.after` changed `path` with no `before` test yet."""

    rule: OrderRule
    path: str
    commit: Commit
    later: int = 0


@dataclass(slots=True)
class _Judge:
    """Walks the commits once, oldest first, collecting findings and counts."""

    rules: RoleRules
    tests: _SeenTests | None  # None: no `order` rules, so no mapping is needed
    option_role: str | None
    option_source: str  # where the option role came from, for the findings
    skip_unknown: bool
    own: _OwnFiles
    undone: frozenset[tuple[int, str]]  # (commit position, path) the range undoes
    findings: list[Finding] = field(default_factory=list)
    breaches: dict[tuple[OrderRule, str], _OrderBreach] = field(default_factory=dict)
    checked: int = 0
    violations: int = 0
    unknown: int = 0
    undefined: int = 0
    undone_count: int = 0
    commits: int = 0  # the uncommitted changes count when the project's files changed

    def commit(self, index: int, commit: Commit) -> None:
        judged = [c for c in commit.changes if not self.own.hold(c)]
        if judged or not commit.pseudo:  # a run's own rewrite of its report is no change
            self.commits += 1
        changes = [c for c in judged if not self._undone(index, c)]
        self.undone_count += len(judged) - len(changes)
        if not changes:  # nothing of the project's left to judge in it
            return
        role = role_of(commit, self.rules, self.option_role, self.option_source)
        if role.name is None:
            self.unknown += len(changes)
            if not self.skip_unknown:
                self.findings.append(self._unknown_finding(commit, changes))
            return
        if not role.defined:
            self.undefined += len(changes)
            self.findings.append(self._undefined_finding(commit, role.name, changes))
            return
        for change in changes:
            self.checked += 1
            self._check_paths(index, commit, change, self.rules.roles[role.name], role)
        if self.tests is not None:
            self._check_order(commit, changes, role.name, self.tests)
            self.tests.add(role.name, changes)  # after the check: a test must come earlier

    def _undone(self, index: int, change: Change) -> bool:
        return all((index, path) in self.undone for path in _paths(change))

    def _check_paths(
        self, index: int, commit: Commit, change: Change, role: Role, how: CommitRole
    ) -> None:
        for path in _paths(change):
            forbidden = role.forbidding_rule(path)
            if forbidden is None or (index, path) in self.undone:
                continue
            rule_id, rule = forbidden
            self.violations += 1
            self.findings.append(
                Finding(
                    rule_id,
                    f"{_verb(change, path)} by role `{role.name}` ({how.source}) in "
                    f"{_who(commit)}: forbidden by `{rule}`",
                    path=path,
                    commit=commit.sha,
                    hint=self._fix(commit, change, path),
                )
            )
            return

    def _fix(self, commit: Commit, change: Change, path: str) -> str:
        """Send the change to the role that owns the path, or undo it; never suggest
        relabelling the commit as a role that may change anything."""
        owners = writers(self.rules, path)
        undo = _undo(commit, change, path)
        if owners:
            names = _names(owners)
            text = f"{path} belongs to {names}: ask {names} for this change, or {undo}"
        else:
            text = (
                f"no role may change {path}: add it to the `owns` of the role that should "
                f"(see {GUIDE}), or {undo}"
            )
        return f"{text}{_lock_note(path)}; or change the rule in {self.rules.file}"

    def _check_order(
        self, commit: Commit, changes: Sequence[Change], role: str, tests: _SeenTests
    ) -> None:
        for rule in self.rules.order:
            if rule.after != role:
                continue
            for change in changes:
                # the cheap path test first: `substantive` may read blobs from git
                if not tests.mapper.layout.is_implementation(change.path):
                    continue
                # deletions and whitespace-only edits need no test, as in the tdd gate
                if not change.substantive:
                    continue
                if tests.preceded(rule.before, change.path):
                    continue
                breach = self.breaches.get((rule, change.path))
                if breach is None:
                    self.breaches[rule, change.path] = _OrderBreach(rule, change.path, commit)
                else:
                    breach.later += 1

    def _order_finding(self, breach: _OrderBreach, tests: _SeenTests) -> Finding:
        rule = breach.rule
        later = f"; {breach.later} later change(s) by `{rule.after}` too" if breach.later else ""
        # `_calc.py` is tested in `test_calc.py`, as the tdd gate's hint says
        stem = PurePosixPath(breach.path).stem.lstrip("_") or PurePosixPath(breach.path).stem
        example = ", ".join(t.replace("{stem}", stem) for t in tests.mapper.layout.naming)
        return Finding(
            "role-order",
            f"changed by role `{rule.after}` in {_who(breach.commit)}, but no test by role "
            f"`{rule.before}` preceded it: no test mapped to it (by matrix, naming, imports or "
            f"coverage) was changed by `{rule.before}` earlier in the range "
            f"(rule `{rule}`){later}",
            path=breach.path,
            commit=breach.commit.sha,
            hint=f"let `{rule.before}` commit a test for it first (e.g. {example}; trailer "
            f"`Role: {rule.before}`), then `{rule.after}` changes {breach.path}",
        )

    def _unknown_finding(self, commit: Commit, changes: Sequence[Change]) -> Finding:
        skip = '`gates.roles.unknown_role = "skip"` lets such changes pass unchecked'
        if commit.pseudo:
            why = f"{_who(commit)}: no role, because no {OPTION} is set"
            fix = f"pass --tddgate-role=NAME or set TDDGATE_ROLE; {skip}"
        else:
            why = (
                f"{_who(commit)} has no role: no `Role:` trailer, {commit.author_email} is "
                f"not in `members`, and no {OPTION} is set"
            )
            fix = (
                f"give the commit a `Role:` trailer, list {commit.author_email} under "
                f"`members` in {self.rules.file}, or pass --tddgate-role; {skip}"
            )
        return Finding(
            "role-unknown",
            f"{why}; {len(changes)} change(s) not checked",
            path=changes[0].path if len(changes) == 1 else None,
            commit=commit.sha,
            hint=fix + "".join(sorted({_lock_note(c.path) for c in changes})),
        )

    def _undefined_finding(self, commit: Commit, name: str, changes: Sequence[Change]) -> Finding:
        return Finding(
            "role-undefined",
            f"{_who(commit)} has the trailer `Role: {name}`, but {self.rules.file} defines no "
            f"role `{name}` ({did_you_mean(name, self.rules.roles)}); "
            f"{len(changes)} change(s) not checked",
            commit=commit.sha,
            hint=f"use one of: {', '.join(self.rules.roles)} in the trailer, or define `{name}`"
            f" under `roles:` in {self.rules.file}",
        )

    def result(self) -> GateResult:
        commits = self.commits
        findings = list(self.findings)
        if self.tests is not None:  # breaches exist only when there are order rules
            findings += [self._order_finding(b, self.tests) for b in self.breaches.values()]
        violations = self.violations + len(self.breaches)
        metrics = {
            "commits": commits,
            "changes_checked": self.checked,
            "violations": violations,
            "order_violations": len(self.breaches),
            "unknown_role": self.unknown,
            "undefined_role": self.undefined,
            "undone": self.undone_count,
        }
        parts = [f"{self.checked} change(s) in {commits} commit(s) checked"]
        if violations:
            parts.append(f"{violations} violation(s)")
        if self.unknown:
            parts.append(
                f"{self.unknown} change(s) without a role"
                + (" not checked" if self.skip_unknown else "")
            )
        if self.undefined:
            parts.append(f"{self.undefined} change(s) under an undefined role")
        if self.undone_count:
            parts.append(f"{self.undone_count} change(s) undone later in the range")
        summary = "; ".join(parts)
        if findings:
            return GateResult(NAME, Verdict.FAIL, summary, tuple(findings), metrics)
        if not commits:
            return GateResult(NAME, Verdict.PASS, "no changes since the base", metrics=metrics)
        if not self.checked and self.unknown:
            return GateResult(
                NAME, Verdict.SKIP, f"no change has a role ({summary})", metrics=metrics
            )
        return GateResult(NAME, Verdict.PASS, summary, metrics=metrics)


def _who(commit: Commit) -> str:
    if commit.pseudo:
        return commit.describe()
    return f'{commit.short} "{commit.subject}" by {commit.author_name} <{commit.author_email}>'


def _verb(change: Change, path: str) -> str:
    if change.status == "R" and change.old_path:
        return (
            f"renamed to {change.path}"
            if path == change.old_path
            else f"renamed from {change.old_path}"
        )
    return {"A": "added", "D": "deleted", "C": "copied"}.get(change.status, "changed")


def _names(roles: tuple[str, ...]) -> str:
    return " or ".join(f"`{r}`" for r in roles)


def _lock_note(path: str) -> str:
    """Why a lock file changed when nobody meant to: its tool rewrote it."""
    name = PurePosixPath(path).name
    tool = LOCK_WRITERS.get(name)
    if tool is None:
        return ""
    return (
        f"; {name} is rewritten by {tool} whenever the dependencies change: list it in "
        f"the `owns` of every role that may change them (see {GUIDE})"
    )


def _paths(change: Change) -> list[str]:
    # a rename changes both paths: moving a test out of tests/ is a change to tests/
    if change.status == "R" and change.old_path:
        return [change.path, change.old_path]
    return [change.path]


def _restore(commit: Commit, change: Change, path: str) -> str:
    """The commands that put `path` back as it was before `commit`, then commit."""
    if change.status in ("A", "C") and path == change.path:
        return f"`git rm -- {path}` and commit"  # it did not exist before
    return f"`git checkout {commit.short}~1 -- {path}` and commit"


def _undo(commit: Commit, change: Change, path: str) -> str:
    """How to take a change back so that the gate passes again (facts/undone.py)."""
    if not commit.pseudo:
        # reverting a commit that also holds allowed changes would undo those too
        alone = (
            ""
            if len(commit.changes) == 1
            else f", or this file alone: {_restore(commit, change, path)}"
        )
        return (
            f"revert it (`git revert {commit.short}`{alone}; a change undone later in the "
            "range is not judged)"
        )
    if change.status == "A" and path == change.path:
        return (
            f"undo it (`git rm -f -- {path}`)"
            if commit.sha == INDEX
            else f"undo it (delete {path})"
        )
    return f"undo it (`git restore --source=HEAD --staged --worktree -- {path}`)"
