"""Facts: everything gates judge, gathered once per run and shared.

A fact is a plain function `fact(facts: Facts) -> T`. `Facts.get(fact)` computes it
the first time and returns the same value (or re-raises the same `FactError`) every
later time, so two gates that need the git history cause one `git log`, and a
missing git is diagnosed once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_tddgate.errors import FactError

if TYPE_CHECKING:
    from pytest_tddgate.facts.testrun import TestRun
    from pytest_tddgate.proc import Background
    from pytest_tddgate.settings import Settings

T = TypeVar("T")


class Facts:
    """The per-run cache of facts. Mutable on purpose: it is filled lazily."""

    def __init__(
        self,
        settings: Settings,
        *,
        test_run: TestRun | None = None,
        staged: bool = False,
    ) -> None:
        self.settings = settings
        self.test_run = test_run  # None in `tddgate check`: no tests ran
        self.staged = staged  # judge the index instead of the working tree
        self.background: dict[str, Background] = {}
        # extra facts handed over by the session, e.g. coverage data; keyed by name
        self.provided: dict[str, Any] = {}
        self._cache: dict[Callable[..., Any], Any] = {}

    def get(self, fact: Callable[[Facts], T]) -> T:
        if fact not in self._cache:
            try:
                self._cache[fact] = fact(self)
            except FactError as exc:
                self._cache[fact] = exc
        value = self._cache[fact]
        if isinstance(value, FactError):
            raise value
        return value  # type: ignore[no-any-return]

    def known(self, fact: Callable[[Facts], Any]) -> bool:
        """Whether `fact` was read (or failed) already."""
        return fact in self._cache

    def adopt(self, other: Facts, facts: tuple[Callable[[Facts], Any], ...]) -> None:
        """Take these facts from another run's cache when both judge the same project
        from the same base: the coverage measurement reads the changed lines before
        the tests, and the gates need the same git processes' answer afterwards."""
        same = (other.settings.root, other.settings.project.base, other.staged) == (
            self.settings.root,
            self.settings.project.base,
            self.staged,
        )
        for fact in facts if same else ():
            if fact in other._cache and fact not in self._cache:
                self._cache[fact] = other._cache[fact]

    def cancel_background(self) -> None:
        for task in self.background.values():
            task.cancel()
