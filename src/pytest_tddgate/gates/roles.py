"""Gate `roles`: every changed file is allowed for the role that changed it.

The rules come from the role file (facts/roles.py), the changes from the single
history pass that the `tdd` gate reads too (facts/history.py), so this gate adds no
git process of its own. Each commit of the range is judged under its role; the
working tree (or the index with `--staged`) under the `--tddgate-role` role.

`order` rules (`{before: qa, after: backend}`) need, for every implementation file
an `after` commit changes, a mapped test changed by a `before` commit earlier in the
range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from pytest_tddgate.facts.history import Change, Commit, history
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
    role_of,
)
from pytest_tddgate.model import Finding, GateResult, Verdict

if TYPE_CHECKING:
    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.facts.mapping import Mapper

NAME = "roles"


class RolesGate:
    name = NAME
    static = True  # judged from git alone: also runs in `tddgate check --staged`

    def validate(self, ctx: GateContext) -> None:
        """Parse the role file before any test runs: a mistake in it exits 4 at once."""
        rules = ctx.facts.get(load_roles)
        if rules is not None:
            check_role_name(rules, ctx.settings.project.role, OPTION)

    def evaluate(self, ctx: GateContext) -> GateResult:
        rules = ctx.facts.get(load_roles)
        if rules is None:
            return GateResult(
                NAME, Verdict.SKIP, f"no role file {ctx.settings.project.roles} (see {GUIDE})"
            )
        check_role_name(rules, ctx.settings.project.role, OPTION)
        commits = ctx.facts.get(history).commits
        judge = _Judge(
            rules,
            _SeenTests(ctx.facts.get(mapper)) if rules.order else None,
            ctx.settings.project.role,
            skip_unknown=ctx.section.unknown_role == "skip",
        )
        for commit in commits:
            judge.commit(commit)
        return judge.result(len(commits))


@dataclass(slots=True)
class _SeenTests:
    """The tests each role changed so far in the range, oldest first, and whether one
    of them maps to an implementation file (matrix, naming, imports or coverage, as
    the `tdd` gate maps them). Each (test, file) pair is put to the mapper once."""

    mapper: Mapper
    by_role: dict[str, dict[str, None]] = field(default_factory=dict)  # ordered sets
    asked: dict[tuple[str, str], int] = field(default_factory=dict)  # -1: found one

    def add(self, role: str, commit: Commit) -> None:
        seen = self.by_role.setdefault(role, {})
        for change in commit.changes:
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
    skip_unknown: bool
    findings: list[Finding] = field(default_factory=list)
    breaches: dict[tuple[OrderRule, str], _OrderBreach] = field(default_factory=dict)
    checked: int = 0
    violations: int = 0
    unknown: int = 0
    undefined: int = 0

    def commit(self, commit: Commit) -> None:
        role = role_of(commit, self.rules, self.option_role)
        if role.name is None:
            self.unknown += len(commit.changes)
            if not self.skip_unknown:
                self.findings.append(self._unknown_finding(commit))
            return
        if not role.defined:
            self.undefined += len(commit.changes)
            self.findings.append(self._undefined_finding(commit, role.name))
            return
        for change in commit.changes:
            self.checked += 1
            self._check_paths(commit, change, self.rules.roles[role.name], role)
        if self.tests is not None:
            self._check_order(commit, role.name, self.tests)
            self.tests.add(role.name, commit)  # after the check: a test must come earlier

    def _check_paths(self, commit: Commit, change: Change, role: Role, how: CommitRole) -> None:
        # a rename changes both paths: moving a test out of tests/ is a change to tests/
        paths = [change.path]
        if change.status == "R" and change.old_path:
            paths.append(change.old_path)
        for path in paths:
            forbidden = role.forbidding_rule(path)
            if forbidden is None:
                continue
            rule_id, rule = forbidden
            self.violations += 1
            allowed = self.rules.allowed_roles(path)
            fix = (
                f"leave it to {_names(allowed)} (a commit with `Role: {allowed[0]}`)"
                if allowed
                else "no role may change it; add it to a role's `owns`"
            )
            self.findings.append(
                Finding(
                    rule_id,
                    f"{_verb(change, path)} by role `{role.name}` ({how.source}) in "
                    f"{_who(commit)}: forbidden by `{rule}`",
                    path=path,
                    commit=commit.sha,
                    hint=f"{fix}, or change the rule in {self.rules.file}",
                )
            )
            return

    def _check_order(self, commit: Commit, role: str, tests: _SeenTests) -> None:
        for rule in self.rules.order:
            if rule.after != role:
                continue
            for change in commit.changes:
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
        stem = PurePosixPath(breach.path).stem
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

    def _unknown_finding(self, commit: Commit) -> Finding:
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
            f"{why}; {len(commit.changes)} change(s) not checked",
            path=commit.changes[0].path if len(commit.changes) == 1 else None,
            commit=commit.sha,
            hint=fix,
        )

    def _undefined_finding(self, commit: Commit, name: str) -> Finding:
        return Finding(
            "role-undefined",
            f"{_who(commit)} has the trailer `Role: {name}`, but {self.rules.file} defines no "
            f"role `{name}` ({did_you_mean(name, self.rules.roles)}); "
            f"{len(commit.changes)} change(s) not checked",
            commit=commit.sha,
            hint=f"use one of: {', '.join(self.rules.roles)} in the trailer, or define `{name}`"
            f" under `roles:` in {self.rules.file}",
        )

    def result(self, commits: int) -> GateResult:
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
