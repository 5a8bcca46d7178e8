"""Test outcomes of the pytest run, recorded by the session as plain data."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One test's final outcome (setup, call and teardown folded into one)."""

    nodeid: str
    outcome: str  # passed | failed | error | skipped | xfailed | xpassed
    duration_s: float = 0.0
    signature: str | None = None  # failure signature: exception type, message digest, crash site
    message: str | None = None  # the first line of the failure, for findings
    path: str | None = None  # repo-relative file of the test
    line: int | None = None
    requirements: tuple[str, ...] = ()  # ids from @pytest.mark.req

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "skipped", "xfailed")


@dataclass(frozen=True, slots=True)
class CollectError:
    nodeid: str
    message: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class TestRun:
    """All outcomes of the run, in the order pytest reported them."""

    outcomes: tuple[TestOutcome, ...] = ()
    collect_errors: tuple[CollectError, ...] = ()
    exitstatus: int = 0
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    # modules skipped while collected (`pytest.skip(..., allow_module_level=True)`):
    # no test of theirs is collected, and pytest counts each as one skipped
    collect_skips: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        outcomes: tuple[TestOutcome, ...],
        collect_errors: tuple[CollectError, ...],
        exitstatus: int,
        interrupted: bool,
        collect_skips: tuple[str, ...] = (),
    ) -> TestRun:
        counts = Counter(o.outcome for o in outcomes)
        if collect_skips:
            counts["skipped"] += len(collect_skips)
        return cls(outcomes, collect_errors, exitstatus, interrupted, dict(counts), collect_skips)

    def by_nodeid(self) -> dict[str, TestOutcome]:
        return {o.nodeid: o for o in self.outcomes}
