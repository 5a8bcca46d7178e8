"""What needs attention beyond the gates: stuck and flaky tests, from the run ledger.

The learnings (docs/expertise.md) say the same in the long run; an agent that reads
only the terminal must see it at once, with the fix:

- *stuck*: a test that failed in this run has failed with the same signature in
  `STUCK_RUNS` or more consecutive recorded runs. Re-running will not help.
- *flaky*: a test that ran in this run changed between passing and failing from one
  recorded run to the next while the code it covers stayed the same (the same
  implementation digest and the same test file), in the last `WINDOW` runs.

One read-only connection and one query over the last `WINDOW` runs, starting from
the tests that failed there (a partial index holds only failures), so a run pays a
few milliseconds. This is advice: a ledger that cannot be read gives nothing.
"""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts import ledger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from pytest_tddgate.facts.testrun import TestRun

STUCK_RUNS = 3  # as the learnings count a stuck test (learn/derive.py)
WINDOW = 20  # recorded runs looked at
_FAILED = frozenset({"failed", "error"})

# every outcome, in the window, of each test that failed in the window, with the
# implementation digest of its run and the hash its own file had then
_HISTORY = """
WITH recent AS (SELECT run_id, code_digest, settings_digest FROM runs WHERE run_id >= ?),
failing AS (SELECT DISTINCT node_id FROM tests
            WHERE outcome IN ('failed', 'error') AND run_id >= ?)
SELECT n.nodeid, t.run_id, t.outcome, t.signature, t.message, r.code_digest, r.settings_digest,
       (SELECT f.blob FROM files f JOIN paths p ON p.path_id = f.path_id
        WHERE p.path = n.file AND f.run_id <= t.run_id ORDER BY f.run_id DESC LIMIT 1)
FROM failing c JOIN nodes n ON n.node_id = c.node_id
JOIN tests t ON t.node_id = c.node_id JOIN recent r ON r.run_id = t.run_id
ORDER BY n.nodeid, t.run_id
"""


@dataclass(frozen=True, slots=True)
class Attention:
    """One test that needs a person's (or an agent's) attention, and what to do."""

    kind: str  # stuck | flaky
    nodeid: str
    message: str
    fix: str


@dataclass(frozen=True, slots=True)
class _Point:
    run_id: int
    outcome: str
    signature: str | None
    message: str | None
    code_digest: str | None
    settings_digest: str | None
    file_blob: bytes | None

    def same_code(self, other: _Point) -> bool:
        # the same settings too: a flip after TDDGATE_ROLE or a setting changed is not
        # flaky (the learnings compare runs the same way, learn/derive.py)
        return (
            self.settings_digest == other.settings_digest
            and self.code_digest is not None
            and self.code_digest == other.code_digest
            and self.file_blob is not None
            and self.file_blob == other.file_blob
        )


def needs_attention(path: Path, run: TestRun | None) -> tuple[Attention, ...]:
    """Stuck tests first, then flaky ones; () without a run, a ledger or anything."""
    if run is None or not run.outcomes:
        return ()
    try:
        with ledger.reader(path) as conn:
            history = _history(conn) if conn is not None else {}
    except (FactError, OSError, sqlite3.Error):
        return ()  # the ledger's own status line says what is wrong with it
    failed = {o.nodeid for o in run.outcomes if o.outcome in _FAILED}
    ran = {o.nodeid for o in run.outcomes}
    stuck = [s for nodeid in sorted(failed & history.keys()) for s in _stuck(nodeid, history)]
    flaky = [f for nodeid in sorted(ran & history.keys()) for f in _flaky(nodeid, history)]
    stuck_ids = {s.nodeid for s in stuck}
    return (*stuck, *(f for f in flaky if f.nodeid not in stuck_ids))


def _history(conn: sqlite3.Connection) -> dict[str, list[_Point]]:
    row = conn.execute(
        "SELECT MIN(run_id) FROM (SELECT run_id FROM runs ORDER BY run_id DESC LIMIT ?)",
        (WINDOW,),
    ).fetchone()
    if row is None or row[0] is None:
        return {}
    since = int(row[0])
    found: dict[str, list[_Point]] = {}
    for nodeid, run_id, outcome, signature, message, digest, settings, blob in conn.execute(
        _HISTORY, (since, since)
    ):
        found.setdefault(str(nodeid), []).append(
            _Point(
                int(run_id),
                str(outcome),
                signature,
                message,
                digest,
                settings,
                blob if isinstance(blob, bytes) else None,
            )
        )
    return found


def _stuck(nodeid: str, history: dict[str, list[_Point]]) -> Iterable[Attention]:
    """The test's last outcomes, when STUCK_RUNS or more are the same failure."""
    points = history[nodeid]
    last = points[-1]
    if last.outcome not in _FAILED:
        return
    streak = list(
        itertools.takewhile(
            lambda p: p.outcome in _FAILED and p.signature == last.signature, reversed(points)
        )
    )
    if len(streak) < STUCK_RUNS:
        return
    first = streak[-1]
    error = last.message or (last.signature or "").split("|", 1)[0] or "the same error"
    yield Attention(
        "stuck",
        nodeid,
        f"{nodeid} is stuck: it failed with `{error}` in {len(streak)} runs in a row "
        f"(since run #{first.run_id})",
        "re-running will not change it: read the failure (`pytest "
        f"{nodeid} -x`) and change the code it points at, or the test if the test is wrong",
    )


def _flaky(nodeid: str, history: dict[str, list[_Point]]) -> Iterable[Attention]:
    """The test's last flip between passing and failing with the code unchanged."""
    judged = [p for p in history[nodeid] if p.outcome in (*_FAILED, "passed")]
    flips = [
        (before, after)
        for before, after in itertools.pairwise(judged)
        if (before.outcome in _FAILED) != (after.outcome in _FAILED) and before.same_code(after)
    ]
    if not flips:
        return
    before, after = flips[-1]
    times = "once" if len(flips) == 1 else f"{len(flips)} times"
    yield Attention(
        "flaky",
        nodeid,
        f"{nodeid} is flaky: its outcome changed {times} with the code unchanged "
        f"(last: {before.outcome} in run #{before.run_id}, {after.outcome} in run "
        f"#{after.run_id})",
        "run it alone and in another order to find the shared state, test order, time or "
        "randomness it depends on; do not trust its result until then",
    )
