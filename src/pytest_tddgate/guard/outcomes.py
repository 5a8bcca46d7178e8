"""The latest recorded outcome of each test file, for the guard's red evidence.

Two records are read, and the newer one counts for a file:

- the guard's own, `.tddgate/guard/outcomes.json`, which every pytest run of a
  project with the guard set up writes (guard/record.py): per test file the time of
  the run, the digest of the file's content then, and the node ids that failed;
- the run ledger of `pytest --tddgate` runs (facts/ledger.py), where a test file
  counts as unchanged since a run when it was last modified before that run began.

A test file's state: `red` (it failed in its latest recorded run and has not
changed since), `green` (it passed then and has not changed since), `changed` (it
changed after its latest recorded run: that run says nothing about it now) or
`never-run`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

STORE = ".tddgate/guard/outcomes.json"
_BAD = ("failed", "error")
# the ledger keeps whole seconds: a file written within the second a run started
# was read by that run
_LEDGER_SLACK_S = 1.0


@dataclass(frozen=True, slots=True)
class Latest:
    """A test file's latest recorded run: when, whether it failed, and whether the
    file is the one that ran."""

    at: float  # seconds since the epoch
    failed: tuple[str, ...]  # node ids that failed or errored
    unchanged: bool


@dataclass(frozen=True, slots=True)
class TestState:
    """One mapped test file's state now (see the module docstring)."""

    __test__ = False  # not a pytest test class, whatever its name

    test: str
    state: str  # red | green | changed | never-run
    failed: tuple[str, ...] = ()


def digest(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def read_store(root: Path) -> dict[str, Any]:
    """The guard's outcome record; {} when there is none or it cannot be read (a
    broken record is rewritten by the next run)."""
    try:
        data = json.loads((root / STORE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def states(
    root: Path, tests: Iterable[str], *, ledger: Path | None, impl: str = ""
) -> tuple[TestState, ...]:
    """The state of each test file in `tests` (paths relative to `root`)."""
    store = read_store(root)
    found = []
    for test in sorted(set(tests)):
        latest = _newer(
            _from_store(root, test, store.get(test)), _from_ledger(root, test, ledger, impl)
        )
        found.append(_state(test, latest))
    return tuple(found)


def _state(test: str, latest: Latest | None) -> TestState:
    if latest is None:
        return TestState(test, "never-run")
    if not latest.unchanged:
        return TestState(test, "changed")
    return TestState(test, "red" if latest.failed else "green", latest.failed)


def _newer(a: Latest | None, b: Latest | None) -> Latest | None:
    if a is None or b is None:
        return a or b
    return a if a.at >= b.at else b


def _from_store(root: Path, test: str, entry: object) -> Latest | None:
    if not isinstance(entry, dict):
        return None
    at, failed, recorded = entry.get("at"), entry.get("failed"), entry.get("digest")
    if not isinstance(at, (int, float)) or not isinstance(failed, list):
        return None
    try:
        now = digest((root / test).read_bytes())
    except OSError:
        now = ""  # the test file is gone: the run says nothing about it now
    return Latest(float(at), tuple(str(f) for f in failed), now == recorded)


def _from_ledger(root: Path, test: str, ledger: Path | None, impl: str) -> Latest | None:
    if ledger is None or not ledger.is_file():
        return None
    from pytest_tddgate.facts.ledger import LedgerError, test_outcomes

    try:
        outcomes = test_outcomes(ledger, [test], impl or test)
    except LedgerError:
        return None  # a damaged ledger is reported by the gates; the guard's record remains
    if not outcomes:
        return None
    last = max(o.run_id for o in outcomes)
    run = [o for o in outcomes if o.run_id == last]
    at = _epoch(run[0].started_at)
    try:
        modified = (root / test).stat().st_mtime
    except OSError:
        return Latest(at, (), unchanged=False)
    failed = tuple(o.nodeid for o in run if o.outcome in _BAD)
    return Latest(at, failed, modified <= at + _LEDGER_SLACK_S)


def _epoch(text: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def merge(
    store: Mapping[str, Any], runs: Mapping[str, tuple[float, str, tuple[str, ...]]]
) -> dict[str, Any]:
    """The record after a run: `runs` maps each test file that ran to (time, digest,
    failed node ids); files that did not run keep their entry."""
    files = dict(store)
    for test, (at, file_digest, failed) in runs.items():
        files[test] = {"at": at, "digest": file_digest, "failed": list(failed)}
    return {"version": 1, "files": files}
