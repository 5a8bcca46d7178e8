"""Evidence for `gates.tdd.mode = "red-green"`: a mapped test failed before the change.

Two kinds of evidence, cheapest first:

1. the run ledger (facts/ledger.py, when present): a mapped test failed in a recorded
   run and passed in a later run after the file's content changed;
2. a replay (facts/replay.py): the mapped test, run at the commit where it landed
   with the implementation file as it was before its change, fails in its call
   phase (an assertion, not a collection or import error), and passes now.

A file with no evidence either way is a `fail`; a file that could not be judged
(replay limit, a broken replay, no commit to replay on) makes the gate `error`.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_tddgate.errors import ToolError
from pytest_tddgate.facts.git import git
from pytest_tddgate.facts.history import INDEX, History, Touch
from pytest_tddgate.facts.replay import Outcome, Replayer, State
from pytest_tddgate.model import Finding

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.facts.mapping import Link
    from pytest_tddgate.gates.tdd import Proof, TestTouch

GUIDE = "docs/gates/tdd.md"
_NO_RED_HINT = (
    "commit a test that fails on an assertion before the implementation (give the module a "
    "stub, so the test imports it and fails on the result), or run `pytest --tddgate` while "
    f"it fails so the ledger records it; see {GUIDE}"
)
_WHY_NOT_RED = {
    "green": "passed before the change, so it does not test it",
    "collection-error": "did not collect (a collection error is not an assertion failure)",
    "import-error": "failed only on an import error, not on an assertion",
    "setup-error": "errored in a fixture, not on an assertion",
    "no-tests": "ran no test",
}


@dataclass(frozen=True, slots=True)
class _Now:
    """A test that passed in this run, shaped like a ledger row of the latest run."""

    nodeid: str
    outcome: str
    impl_hash: str
    run_id: int = 2**62


def fail_pass_transitions(outcomes: Iterable[Any]) -> int:
    """Runs in which a test passed after failing in an earlier run with other content
    of the implementation file (ledger rows: nodeid, outcome, impl_hash, run_id)."""
    failed: dict[str, object] = {}
    runs: set[object] = set()
    for row in outcomes:
        if row.outcome == "failed":
            failed[row.nodeid] = row.impl_hash
        elif (
            row.outcome == "passed"
            and row.nodeid in failed
            and failed.pop(row.nodeid) != row.impl_hash
        ):
            runs.add(row.run_id)
    return len(runs)


class Evidence:
    """Proves red-first for the files the order rule accepted; owns the replays."""

    def __init__(self, ctx: GateContext, hist: History, prefix: str) -> None:
        self.ctx = ctx
        self.hist = hist
        self.prefix = prefix
        tdd = ctx.section
        self.replayer = Replayer(
            hist.revisions.toplevel,
            ctx.settings.root,
            source_roots=tuple(ctx.settings.source_roots),
            limit=tdd.replay_limit,
            timeout=tdd.replay_timeout,
        )
        self._pseudo: tuple[tuple[str, bytes | None], ...] | None = None

    def __enter__(self) -> Evidence:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.replayer.close()

    def prove(
        self, path: str, proof: Proof, links: dict[str, Link]
    ) -> tuple[str, list[Finding], str]:
        """(status, findings, note): ok, violation or unproven."""
        transitions = self._ledger(path, sorted(links))
        if transitions is not None and transitions >= len(proof.windows):
            return (
                "ok",
                [],
                (
                    f"ledger: a mapped test failed, then passed after {path} "
                    f"changed ({transitions} time(s))"
                ),
            )
        notes: list[str] = []
        for green, window in proof.windows:
            status, findings, note = self._replay(path, green, window, links)
            if status != "ok":
                return status, findings, note
            notes.append(note)
        return "ok", [], "; ".join(notes)

    def _ledger(self, path: str, tests: list[str]) -> int | None:
        settings = self.ctx.settings
        ledger = settings.path(settings.project.ledger)
        if not ledger.is_file():
            return None
        try:  # the ledger is optional: built separately, and absent in old installs
            reader = importlib.import_module("pytest_tddgate.facts.ledger").test_outcomes
        except (ImportError, AttributeError):
            return None
        try:
            recorded = list(reader(ledger, tests, path))
        except Exception:  # a broken ledger only loses this evidence: the replay decides
            return None
        # this run is recorded only after the gates: its passes count as the latest run
        return fail_pass_transitions([*recorded, *self._passes_now(path, tests)])

    def _passes_now(self, path: str, tests: list[str]) -> list[_Now]:
        run = self.ctx.facts.test_run
        if run is None:
            return []
        try:
            data = (self.ctx.settings.root / path).read_bytes()
        except OSError:
            return []
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        return [
            _Now(nodeid=o.nodeid, outcome=o.outcome, impl_hash=blob)
            for o in run.outcomes
            if o.outcome == "passed" and o.nodeid.split("::", 1)[0] in tests
        ]

    def _replay(
        self, path: str, green: Touch, window: tuple[TestTouch, ...], links: dict[str, Link]
    ) -> tuple[str, list[Finding], str]:
        latest: dict[str, Touch] = {}
        for touch, test in window:  # the test as it was right before the change
            latest[test] = touch
        tried: list[tuple[str, Touch, Outcome]] = []
        for test, touch in sorted(latest.items(), key=lambda item: -item[1].index):
            try:
                state = self._red_state(green, touch)
            except ToolError as exc:  # e.g. a blob missing from a partial clone
                state, outcome = None, Outcome("broken", exc.message)
            else:
                outcome = Outcome("broken", "no commit to replay on yet")
            if state is not None:
                outcome = self.replayer.replay(state, touch.change.path)
            if outcome.kind == "red":
                return self._then_green(path, green, test, touch, outcome)
            tried.append((test, touch, outcome))
        if all(outcome.judged for _, _, outcome in tried):
            reasons = "; ".join(
                f"{test} ({links[test].label()}) at {touch.commit.describe()} "
                f"{_WHY_NOT_RED.get(o.kind, o.kind)} ({o.detail})"
                for test, touch, o in tried
            )
            message = f"no mapped test failed before its change in {green.commit.describe()}"
            return (
                "violation",
                [_finding("no-red-evidence", f"{message}: {reasons}", path, green, _NO_RED_HINT)],
                reasons,
            )
        return self._unproven(path, green, tried)

    def _then_green(
        self, path: str, green: Touch, test: str, touch: Touch, red: Outcome
    ) -> tuple[str, list[Finding], str]:
        now = self._green(test)
        cached = " (replay cached)" if red.cached else ""
        note = f"{test} failed at {touch.commit.describe()} ({red.detail}) and passes now{cached}"
        if now.kind == "green":
            return "ok", [], note
        if not now.judged:
            return self._unproven(path, green, [(test, touch, now)])
        message = (
            f"{test} failed before the change in {green.commit.describe()}, "
            f"but does not pass now: {now.detail}"
        )
        return (
            "violation",
            [_finding("not-green", message, path, green, f"make {test} pass")],
            now.detail,
        )

    def _unproven(
        self, path: str, green: Touch, tried: list[tuple[str, Touch, Outcome]]
    ) -> tuple[str, list[Finding], str]:
        limit = self.ctx.section.replay_limit
        reasons = "; ".join(f"{test}: {o.kind} ({o.detail})" for test, _, o in tried)
        message = (
            f"could not prove a mapped test was red before its change in "
            f"{green.commit.describe()}: {reasons}"
        )
        hint = (
            f"raise gates.tdd.replay_limit (now {limit}) or gates.tdd.replay_timeout, or run "
            "`pytest --tddgate` while the test fails so the ledger records it"
        )
        return "unproven", [_finding("red-unproven", message, path, green, hint)], reasons

    def _green(self, test: str) -> Outcome:
        """Does the mapped test pass at the end of the range? The test run says, if the
        test ran in it; otherwise a replay on HEAD plus the uncommitted changes."""
        run = self.ctx.facts.test_run
        if run is not None:
            mine = [o for o in run.outcomes if o.nodeid.split("::", 1)[0] == test]
            if mine:
                bad = [o for o in mine if not o.ok]
                if bad:
                    return Outcome("red", f"{bad[0].nodeid} {bad[0].outcome}")
                return Outcome("green", f"{len(mine)} test(s) ran in this run")
        head = self.hist.revisions.head
        if head is None:
            return Outcome("broken", "no commit to replay on yet")
        full = f"{self.prefix}/{test}" if self.prefix else test
        return self.replayer.replay(State(head, self._pseudo_files()), full)

    def _red_state(self, green: Touch, touch: Touch) -> State | None:
        """The tree where `touch` left the test. If the implementation file existed
        before `green` changed it, it is put back as it was, so a test written in the
        same commit as the change meets the old code. A file `green` created stays as
        that commit has it: a new module proves red with a stub first (a missing module
        only gives an import error, which is not red)."""
        files: dict[str, bytes | None] = {}
        if touch.commit.pseudo:
            commit = self.hist.revisions.head
            files.update(self._pseudo_files())
        else:
            commit = touch.commit.sha
        if commit is None:
            return None
        change = green.change
        if change.old_blob is not None:
            files[change.path] = None
            files[change.old_path or change.path] = self._blob(change.old_blob)
        return State(commit, tuple(files.items()))

    def _pseudo_files(self) -> tuple[tuple[str, bytes | None], ...]:
        """The uncommitted (or staged) changes as file contents to lay over HEAD."""
        if self._pseudo is None:
            files: dict[str, bytes | None] = {}
            last = self.hist.commits[-1] if self.hist.commits else None
            if last is not None and last.pseudo:
                for change in last.changes:
                    if change.old_path:
                        files[change.old_path] = None
                    files[change.path] = (
                        None
                        if change.status == "D"
                        else self._current(change.path, staged=last.sha == INDEX)
                    )
            self._pseudo = tuple(files.items())
        return self._pseudo

    def _current(self, path: str, *, staged: bool) -> bytes | None:
        toplevel = self.hist.revisions.toplevel
        if staged:
            try:
                return git(["cat-file", "blob", f":0:{path}"], toplevel).stdout
            except ToolError:
                return None
        try:
            return (toplevel / path).read_bytes()
        except OSError:
            return None

    def _blob(self, object_id: str | None) -> bytes | None:
        if object_id is None:
            return None
        return git(["cat-file", "blob", object_id], self.hist.revisions.toplevel).stdout


def _finding(rule: str, message: str, path: str, green: Touch, hint: str) -> Finding:
    commit = None if green.commit.pseudo else green.commit.short
    return Finding(rule, message, path=path, commit=commit, hint=hint)
