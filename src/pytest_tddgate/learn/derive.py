"""Learnings derived from the ledger: pure functions of its content, so the same
ledger always gives the same learnings (docs/learnings.md shows each kind).

Every learning has a stable key (its kind plus a digest of what it is about, never
of what it says), so a later run updates the entry instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_tddgate.learn.history import LINT_GATES, VIOLATION_GATES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pytest_tddgate.learn.history import FindingSeen, History, TestPoint

SECTIONS = ("patterns_that_work", "patterns_to_avoid", "common_issues", "tips")
STUCK_RUNS = 3  # the same failure this many runs in a row is "stuck"
RECURRING = 3  # a ruff / mypy code with this many distinct findings is "recurring"
_FAILED = ("failed", "error")
_LISTED = 5  # files named in one entry; the rest are counted


@dataclass(frozen=True, slots=True)
class Learning:
    """One entry of expertise.md: one line, owned by tddgate through its key."""

    key: str  # e.g. "stuck:3f2a9c0d1b7e"
    section: str  # one of SECTIONS
    date: str  # YYYY-MM-DD of the newest run the entry describes
    component: str  # the test, file, gate or requirement it is about
    text: str  # Markdown, one line


def derive(history: History) -> list[Learning]:
    """Every learning the ledger supports, in a stable order."""
    found = [
        *stuck_tests(history),
        *flaky_tests(history),
        *recurring_codes(history),
        *violations(history),
        *red_to_green(history),
        *test_first_requirements(history),
    ]
    return sorted(found, key=lambda item: (SECTIONS.index(item.section), item.date, item.key))


def key(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\0".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"{kind}:{digest[:12]}"


def stuck_tests(history: History) -> Iterable[Learning]:
    """Tests failing with the same signature in STUCK_RUNS or more consecutive runs."""
    for nodeid, points in history.tests.items():
        latest: dict[str, tuple[int, int]] = {}  # signature -> (first, last) index
        start = 0
        for index in range(1, len(points) + 1):
            if index < len(points) and _same_failure(points[start], points[index]):
                continue
            if points[start].outcome in _FAILED and index - start >= STUCK_RUNS:
                latest[points[start].signature or ""] = (start, index - 1)
            start = index
        for signature, (first, last) in sorted(latest.items()):
            yield from _stuck_entries(history, nodeid, signature, points, span=(first, last))


def _same_failure(a: TestPoint, b: TestPoint) -> bool:
    return a.outcome in _FAILED and b.outcome in _FAILED and a.signature == b.signature


def _stuck_entries(
    history: History,
    nodeid: str,
    signature: str,
    points: Sequence[TestPoint],
    *,
    span: tuple[int, int],
) -> Iterable[Learning]:
    first, last = span
    a, b = points[first], points[last]
    count = last - first + 1
    error = code(a.message or signature.split("|", 1)[0] or "the same error")
    meanwhile = history.changed(a.run_id, b.run_id)
    changes = (
        f" Meanwhile changed: {files(meanwhile)}."
        if meanwhile
        else " Nothing changed meanwhile: the same code failed the same way each time."
    )
    after = points[last + 1] if last + 1 < len(points) else None
    if after is None:
        # no run count while it lasts: another failing run alone is nothing new to write
        text = (
            f"{code(nodeid)} is stuck: it has failed with {error} in every run since run "
            f"#{a.run_id} ({history.date(a.run_id)}).{changes}"
        )
        yield Learning(
            key("stuck", nodeid, signature),
            "common_issues",
            history.date(a.run_id),
            _file(nodeid),
            text,
        )
        return
    date = history.date(after.run_id)
    text = (
        f"{code(nodeid)} was stuck: it failed with {error} in {count} runs in a row "
        f"(runs #{a.run_id} to #{b.run_id}, from {history.date(a.run_id)}).{changes}"
    )
    if after.outcome in _FAILED:
        text += f" Then it failed differently in run #{after.run_id} ({date})."
    else:
        fix = history.changed(b.run_id, after.run_id)
        text += f" It passed in run #{after.run_id} ({date})"
        text += f" after changes to {files(fix)}." if fix else " with no file changed."
        if fix:
            yield Learning(
                key("fix", nodeid, signature),
                "tips",
                date,
                _file(nodeid),
                f"When {code(nodeid)} fails with {error}, look at {files(fix)}: "
                f"changing it fixed that failure after {count} failing runs.",
            )
    yield Learning(key("stuck", nodeid, signature), "common_issues", date, _file(nodeid), text)


def flaky_tests(history: History) -> Iterable[Learning]:
    """Tests whose outcome flipped between runs in which the code they cover was the same:
    the implementation files, conftest.py and the test's own file."""
    for nodeid, points in history.tests.items():
        judged = [p for p in points if p.outcome in (*_FAILED, "passed")]
        flips = []
        for before, after in itertools.pairwise(judged):
            if (before.outcome in _FAILED) == (after.outcome in _FAILED):
                continue
            run_a, run_b = history.by_id.get(before.run_id), history.by_id.get(after.run_id)
            if (
                run_a
                and run_b
                and run_a.code_digest
                and run_a.code_digest == run_b.code_digest
                and before.file_blob is not None
                and before.file_blob == after.file_blob
            ):
                flips.append((before, after))
        if not flips:
            continue
        before, after = flips[-1]
        date = history.date(after.run_id)
        times = "once" if len(flips) == 1 else f"{len(flips)} times"
        yield Learning(
            key("flaky", nodeid),
            "common_issues",
            date,
            _file(nodeid),
            f"{code(nodeid)} is flaky: its outcome changed {times} while the code it covers "
            f"did not change (last: {before.outcome} in run #{before.run_id}, "
            f"{after.outcome} in run #{after.run_id}). Look for shared state, ordering, time "
            "or randomness.",
        )


def recurring_codes(history: History) -> Iterable[Learning]:
    """ruff and mypy codes with RECURRING or more distinct findings."""
    grouped: dict[tuple[str, str], list[FindingSeen]] = defaultdict(list)
    for finding in history.findings:
        if finding.gate in LINT_GATES:
            grouped[finding.gate, finding.rule].append(finding)
    for (gate, rule), seen in sorted(grouped.items()):
        if len(seen) < RECURRING:
            continue
        paths = sorted({s.path for s in seen if s.path})
        newest = max(s.first_run for s in seen)
        where = (
            f" in {len(paths)} file{'s' if len(paths) != 1 else ''} ({files(paths)})"
            if paths
            else ""
        )
        yield Learning(
            key("code", gate, rule),
            "patterns_to_avoid",
            history.date(newest),
            gate,
            f"{gate} {code(rule)} came up {len(seen)} times{where}, first in run "
            f"#{min(s.first_run for s in seen)}. Example: {code(seen[-1].message)}.",
        )


def violations(history: History) -> Iterable[Learning]:
    """Findings of the `tdd` and `roles` gates, one entry per gate, rule and file."""
    grouped: dict[tuple[str, str, str], list[FindingSeen]] = defaultdict(list)
    for finding in history.findings:
        if finding.gate in VIOLATION_GATES:
            grouped[finding.gate, finding.rule, finding.path or ""].append(finding)
    for (gate, rule, path), seen in sorted(grouped.items()):
        first = min(s.first_run for s in seen)
        last = max(s.last_run for s in seen)
        message = max(seen, key=lambda s: (s.last_run, s.message)).message
        subject = path or gate
        text = (
            f"{gate} violation {code(rule)}: {_plain(message)} "
            f"(first seen {history.date(first)}, run #{first})"
        )
        date = history.date(first)
        judged_later = [
            run
            for run, status in history.gates.get(gate, ())
            if run > last and status in ("pass", "fail")
        ]
        if judged_later:
            date = history.date(judged_later[0])
            text += f"; resolved in run #{judged_later[0]} ({date})"
        yield Learning(
            key("violation", gate, rule, path), "patterns_to_avoid", date, subject, text + "."
        )


def red_to_green(history: History) -> Iterable[Learning]:
    """For each gate, the latest time it went from `fail` to `pass` and what changed."""
    for gate, points in sorted(history.gates.items()):
        judged = [(run, status) for run, status in points if status in ("pass", "fail")]
        turns = [
            (a, b)
            for (a, sa), (b, sb) in itertools.pairwise(judged)
            if sa == "fail" and sb == "pass"
        ]
        if not turns:
            continue
        red, green = turns[-1]
        changed = history.changed(red, green)
        text = f"{code(gate)} went from red to green in run #{green} "
        text += f"after changes to {files(changed)}." if changed else "with no file changed."
        yield Learning(key("green", gate), "patterns_that_work", history.date(green), gate, text)


def test_first_requirements(history: History) -> Iterable[Learning]:
    """Requirements whose tests failed before they first passed: completed test-first."""
    for req_id, points in sorted(history.requirements.items()):
        judged = [p for p in points if p.status in ("failing", "passing")]
        if not judged or judged[0].status != "failing":
            continue
        green = next((i for i, p in enumerate(judged) if p.status == "passing"), None)
        if green is None:
            continue
        red, done = judged[green - 1], judged[green]
        changed = history.changed(red.run_id, done.run_id)
        own = [path for path in changed if path in done.code] or list(changed)
        title = f" ({_plain(done.title)})" if done.title else ""
        text = (
            f"{code(req_id)}{title} was completed test-first: its tests failed in run "
            f"#{judged[0].run_id} ({history.date(judged[0].run_id)}) and passed from run "
            f"#{done.run_id}"
        )
        text += f" after changes to {files(own)}." if own else "."
        yield Learning(
            key("req", req_id), "patterns_that_work", history.date(done.run_id), req_id, text
        )


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def files(paths: Sequence[str]) -> str:
    """`a.py`, `b.py` and 3 more."""
    shown = ", ".join(code(p) for p in paths[:_LISTED])
    extra = len(paths) - _LISTED
    return f"{shown} and {extra} more" if extra > 0 else shown


def code(text: str) -> str:
    """`text` as a Markdown code span that survives any backticks inside it."""
    flat = _plain(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def _plain(text: str) -> str:
    """One line, no HTML comment delimiters (they would end an entry's marker early)."""
    flat = " ".join(text.split())
    flat = flat.replace("<!--", "<!-").replace("-->", "->")
    return flat[:200] + "…" if len(flat) > 200 else flat
