"""The facts the guard's decisions need, gathered with the gates' own parts: the
settings (settings.py, found the way `tddgate check` finds them), the role rules
(facts/roles.py), the tdd gate's layout and test mapping (facts/layout.py,
facts/mapping.py) and the recorded outcomes (guard/outcomes.py).

Every part is read only when a decision needs it, so that an edit of a file outside
the source roots costs the settings and nothing more.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.errors import UsageError
from pytest_tddgate.guard.decide import Change
from pytest_tddgate.guard.outcomes import TestState, states
from pytest_tddgate.guard.record import GUARD_DIR

# the lock files gates/roles.py's LOCK_WRITERS names (tests/test_guard_rules.py checks
# they agree): importing the roles gate would cost the edit path a third of its time
LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock")

if TYPE_CHECKING:
    from pytest_tddgate.facts.layout import Layout
    from pytest_tddgate.facts.mapping import Mapper
    from pytest_tddgate.facts.roles import RoleRules
    from pytest_tddgate.settings import Settings


class GitUnavailable(Exception):
    """git cannot tell the state of the working tree; the message says why."""


class Outside(Exception):
    """A path outside the project: not the guard's to judge."""


class Project:
    """The project an event is about, its parts read once and on demand."""

    def __init__(self, cwd: Path) -> None:
        from pytest_tddgate.commands import find_root
        from pytest_tddgate.settings import resolve

        if not cwd.is_dir():
            raise UsageError(f"the hook's working folder {cwd} does not exist")
        root, testpaths = find_root(cwd.resolve())
        self.settings: Settings = resolve(root, testpaths=testpaths)
        self.root = self.settings.root

    @functools.cached_property
    def toplevel(self) -> Path:
        """The checkout's top folder (role globs are relative to it), found by `.git`."""
        for folder in (self.root, *self.root.parents):
            if (folder / ".git").exists():
                return folder
        return self.root

    @functools.cached_property
    def layout(self) -> Layout:
        # the layout alone when no test is looked up: the mapper costs a third more
        if "mapper" in self.__dict__:
            return self.mapper.layout
        from pytest_tddgate.facts.layout import Layout

        return Layout(self.settings)

    @functools.cached_property
    def mapper(self) -> Mapper:
        from pytest_tddgate.facts.mapping import Mapper

        return Mapper(self.settings)

    @functools.cached_property
    def rules(self) -> RoleRules | None:
        from pytest_tddgate.facts.roles import check_role_name, parse_roles

        name = self.settings.project.roles
        path = self.settings.path(name)
        if not path.is_file():
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot be read ({exc})", file=name) from None
        rules = parse_roles(text, name)
        check_role_name(rules, self.settings)
        return rules

    @functools.cached_property
    def role(self) -> tuple[str | None, str]:
        """The agent's role and where it came from: `TDDGATE_ROLE` (or `role` in
        pyproject.toml), else the roles file's `members` entry of git's user.email."""
        if self.settings.project.role:
            source = "TDDGATE_ROLE" if os.environ.get("TDDGATE_ROLE") else "pyproject.toml"
            return self.settings.project.role, source
        rules = self.rules
        if rules is None or not rules.members:
            return None, ""
        email = _git_email(self.root)
        member = rules.members.get(email.lower()) if email else None
        return (member, f"members ({email})") if member else (None, "")

    def relative(self, path: str) -> str:
        """`path` (absolute, or relative to the root) relative to the project root."""
        full = self.root / path  # an absolute `path` stays as is
        try:
            return full.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise Outside(f"{path} is outside the project {self.root}") from None

    def git_path(self, rel: str) -> str:
        return (self.root / rel).relative_to(self.toplevel).as_posix()

    @functools.cached_property
    def own_files(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The tool's own files and folders, relative to the root: never anyone's change."""
        project = self.settings.project
        files = {project.expertise, project.report, project.markdown, project.sarif}
        files |= {project.ledger, *LOCK_FILES}
        folders = (".tddgate", project.html, GUARD_DIR)
        return (
            frozenset(self._rel(f) for f in files if f),
            tuple(f"{self._rel(f)}/" for f in folders if f),
        )

    def _rel(self, value: str) -> str:
        try:
            return self.settings.path(value).relative_to(self.root).as_posix()
        except ValueError:
            return value

    def kind(self, rel: str, after: str | None = None) -> str:
        """tool, test, implementation or other; `after`: the file's text after the
        change, which decides whether an `__init__.py` has code (the layout reads
        the file as it is on disk, before the change)."""
        files, folders = self.own_files
        if rel in files or rel.startswith(folders) or rel.rpartition("/")[2] in files:
            return "tool"
        layout = self.layout
        if layout.is_test(rel):
            return "test"
        if not layout.is_source(rel):
            return "other"
        reason = layout.exempt_reason(rel)
        if reason == "__init__.py without code" and after is not None:
            from pytest_tddgate.facts.pyast import summarize

            reason = None if summarize(after.encode(errors="surrogateescape")).has_code else reason
        return "implementation" if reason is None else "other"

    def test_states(self, rel: str) -> tuple[TestState, ...]:
        tests = self.mapper.all_links(rel)
        self.mapper.save()  # the parse cache: the next event reads the test files' imports from it
        ledger = self.settings.path(self.settings.project.ledger)
        return states(self.root, tests, ledger=ledger, impl=rel)

    def first_test_names(self, rel: str) -> tuple[str, ...]:
        folder = self.settings.test_roots[0] if self.settings.test_roots else "tests"
        # `test_calc.py` before `test__calc.py` for `_calc.py`: the name projects use
        names = sorted(
            self.mapper.expected_names(rel), key=lambda n: (n.startswith("_") or "__" in n, n)
        )
        return tuple(f"{folder}/{name}" for name in names)

    def change(self, rel: str, before: str | None, after: str | None, restore: str = "") -> Change:
        """What the guard knows of changing `rel` from `before` to `after` (texts; None:
        no file)."""
        kind = self.kind(rel, after)
        role, _ = self.role
        if kind == "tool":
            return Change(rel, kind, role)
        forbidden, owners = self._forbidden(rel, kind, role)
        adds = None
        tests: tuple[TestState, ...] = ()
        names: tuple[str, ...] = ()
        if kind == "implementation" and forbidden is None and after is not None:
            from pytest_tddgate.guard.shapes import added

            adds = added(before, after)
            if adds is not None:
                tests = self.test_states(rel)
                names = self.first_test_names(rel)
        return Change(rel, kind, role, forbidden, owners, adds, tests, names, restore)

    def _forbidden(
        self, rel: str, kind: str, role: str | None
    ) -> tuple[str | None, tuple[str, ...]]:
        rules = self.rules
        if rules is None:
            return None, ()
        from pytest_tddgate.facts.roles import writers

        git_path = self.git_path(rel)
        if role is None:
            if self.settings.roles.unknown_role == "skip":
                return None, ()
            return (
                "no role is set: give the agent its role with TDDGATE_ROLE in the `env` "
                f"of .claude/settings.json, or a `members` entry in {rules.file}",
                writers(rules, git_path),
            )
        rule = rules.roles[role].forbidding_rule(git_path)
        if rule is None:
            return None, ()
        return rule[1], writers(rules, git_path, role)


def _git_email(root: Path) -> str:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "config", "user.email"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()
