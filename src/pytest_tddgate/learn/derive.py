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

from pytest_tddgate.learn.history import LINT_GATES

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pytest_tddgate.facts.roles import RoleRules
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


def derive(history: History, roles: RoleRules | None = None) -> list[Learning]:
    """Every learning the ledger supports, in a stable order.

    `roles`: the project's role file, so that a roles rule can name who owns a path.
    """
    from pytest_tddgate.learn.rules import violation_rules  # it builds on this module

    found = [
        *stuck_tests(history),
        *flaky_tests(history),
        *recurring_codes(history),
        *violation_rules(history, roles),
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
    elif not history.comparable(b.run_id, after.run_id):
        # a branch switch or another setting made it pass: no file can take the credit
        how = history.difference(b.run_id, after.run_id)
        text += f" It passed in run #{after.run_id} ({date}), {how}."
    else:
        fix = history.changed(b.run_id, after.run_id)
        text += f" It passed in run #{after.run_id} ({date})"
        text += f" after changes to {files(fix)}." if fix else " with no Python file changed."
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
                # another role or setting may change what a test does: not the test's fault
                and run_a.settings_digest is not None
                and run_a.settings_digest == run_b.settings_digest
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
        since = history.date(min(s.first_run for s in seen))
        example = max(seen, key=lambda s: (s.last_run, s.first_run, s.message)).message
        yield Learning(
            key("code", gate, rule),
            "patterns_to_avoid",
            history.date(newest),
            gate,
            f"Avoid {gate} {code(rule)}: it came up {len(seen)} times{where} since {since}, "
            f"e.g. {code(clip(example, 120))}. Run {gate} before you commit.",
        )


def red_to_green(history: History) -> Iterable[Learning]:
    """For each gate, the latest time it went from `fail` to `pass` and what changed.

    Red and green must be comparable runs (the same branch, a descendant commit, the
    same settings): a branch switch or a newly set TDDGATE_ROLE is no "fix".
    """
    for gate, points in sorted(history.gates.items()):
        judged = [(run, status) for run, status in points if status in ("pass", "fail")]
        turns = [
            (red, green)
            for index, (green, status) in enumerate(judged)
            if status == "pass" and (red := _previous_red(history, judged, index)) is not None
        ]
        if not turns:
            continue
        red, green = turns[-1]
        changed = history.changed(red, green)
        where = _on_branch(history, green)
        text = f"{code(gate)} went from red (run #{red}) to green in run #{green}{where} "
        text += (
            f"after changes to {files(changed)}."
            if changed
            else "with no Python file changed (only commits or other files)."
        )
        yield Learning(key("green", gate), "patterns_that_work", history.date(green), gate, text)


def _previous_red(history: History, judged: Sequence[tuple[int, str]], index: int) -> int | None:
    """The run before `judged[index]` on its line of work, when that run was red and the
    two are comparable; else None."""
    green = judged[index][0]
    for position in range(index - 1, -1, -1):
        run, status = judged[position]
        if history.same_line(run, green):
            return run if status == "fail" and history.comparable(run, green) else None
    return None


def _on_branch(history: History, run_id: int) -> str:
    run = history.by_id.get(run_id)
    return f" on `{run.branch}`" if run is not None and run.branch else ""


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
        if not history.comparable(red.run_id, done.run_id):
            continue  # green on another branch or with other settings: no evidence
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
    return clip(flat, 200)


def clip(text: str, limit: int) -> str:
    """`text` up to `limit` characters, shortened at a word boundary, never mid-word."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:") + " …"
