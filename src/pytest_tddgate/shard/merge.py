"""Whether a shard set adds up, and its test outcomes as one run's.

A set adds up when every shard ran the same commit of the same project with the same
settings, as `tddgate combine` itself runs, no test has two outcomes, and, when it can
be told (`--expect N`, or shards that recorded the whole collection), no shard and
no test is missing. Anything else is a `Problem`: combine reports it as an `error`,
never as a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_tddgate.facts.testrun import CollectError, TestOutcome, TestRun
from pytest_tddgate.model import Finding, GateResult, Verdict
from pytest_tddgate.shard import Shard, ShardError
from pytest_tddgate.shard.record import Checkout

GATE = "shards"  # the name of combine's verdict on the set, shown only when it fails
_SHOWN = 5  # node ids named in one message
# pytest's exit statuses, most telling first: interrupted, internal error, failed
_PRECEDENCE = (2, 3, 1)
_NO_TESTS = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the shard set does not add up."""

    rule: str
    message: str
    path: str | None = None
    hint: str | None = None


def check_set(
    shards: Sequence[Shard],
    unreadable: Sequence[ShardError],
    here: Checkout,
    expect: int | None,
) -> list[Problem]:
    """What is wrong with the set as a whole: files, count, commits, settings."""
    problems = [
        Problem("shard-unreadable", str(e), hint="upload the file the shard job wrote, whole")
        for e in unreadable
    ]
    seen: dict[str, str] = {}
    for shard in shards:
        if shard.shard_id in seen:
            problems.append(
                Problem(
                    "shard-duplicate",
                    f"{shard.source} is the same shard as {seen[shard.shard_id]}",
                    path=shard.source,
                    hint="give each shard's file once",
                )
            )
        seen.setdefault(shard.shard_id, shard.source)
    given = len(shards) + len(unreadable)
    if expect is not None and len(seen) + len(unreadable) != expect:
        problems.append(
            Problem(
                "shard-count",
                f"expected {expect} shard(s), got {len(seen) + len(unreadable)} ({given} file(s))",
                hint="wait for every shard job and download each one's file",
            )
        )
    if not shards and not unreadable:
        problems.append(Problem("shard-count", "no shard files given"))
    problems += _differing(shards, "commit", here.commit, "ran on commit", "check out one commit")
    problems += _differing(
        shards, "project", here.project, "judged the project at", "combine shards of one project"
    )
    problems += _differing(
        shards,
        "settings_digest",
        here.settings_digest,
        "ran with settings digest",
        "run every shard and combine with the same [tool.tddgate] settings, TDDGATE_* "
        "and CI environment variables and --tddgate-base/--tddgate-role",
    )
    return problems


def _differing(
    shards: Sequence[Shard], attribute: str, ours: str | None, verb: str, fix: str
) -> list[Problem]:
    """One problem per shard whose `attribute` is not combine's own."""
    problems = []
    for shard in shards:
        theirs = getattr(shard, attribute)
        if theirs != ours:
            problems.append(
                Problem(
                    f"shard-{attribute.replace('_', '-')}",
                    f"{shard.source} {verb} {theirs or '(none)'}, `tddgate combine` "
                    f"here {ours or '(none)'}",
                    path=shard.source,
                    hint=fix,
                )
            )
    return problems


def merge_tests(shards: Sequence[Shard]) -> tuple[TestRun, list[Problem]]:
    """The shards' outcomes as one run's: a test run twice counts once, unless its
    outcomes differ (a problem); tests that no shard ran are problems."""
    outcomes: dict[str, tuple[TestOutcome, Shard]] = {}
    problems: list[Problem] = []
    for shard in shards:
        for outcome in shard.tests.outcomes:
            first = outcomes.setdefault(outcome.nodeid, (outcome, shard))
            if first[0].outcome != outcome.outcome:
                problems.append(
                    Problem(
                        "shard-conflict",
                        f"{outcome.nodeid} {first[0].outcome} in {first[1].source} "
                        f"({first[1].label}) but {outcome.outcome} in {shard.source} "
                        f"({shard.label})",
                        hint="run each test in one shard; a flaky test needs fixing",
                    )
                )
    errors = {e.nodeid: e for s in shards for e in s.tests.collect_errors}
    skips = sorted({n for s in shards for n in s.tests.collect_skips})
    run = TestRun.build(
        tuple(o for o, _ in outcomes.values()),
        tuple(CollectError(e.nodeid, e.message, e.path) for e in errors.values()),
        _exitstatus([s.tests.exitstatus for s in shards]),
        interrupted=any(s.tests.interrupted for s in shards),
        collect_skips=tuple(skips),
    )
    problems += _unrun(shards, set(outcomes) | set(errors))
    return run, problems


def _unrun(shards: Sequence[Shard], ran: set[str]) -> list[Problem]:
    """Tests a shard collected but no shard ran: a shard is missing, or the split
    left them out (an interrupted shard's own tests are its interruption's)."""
    problems = []
    for shard in shards:
        collection = shard.collection
        if shard.tests.interrupted or not collection.known:
            continue
        left = [n for n in collection.selected if n not in ran]
        if left:
            problems.append(
                Problem(
                    "shard-unrun",
                    f"{shard.source} collected {len(left)} test(s) it did not run: {_few(left)}",
                    path=shard.source,
                    hint="see that shard job's output: a worker crashed, or it stopped early "
                    "(-x, --maxfail)",
                )
            )
    return problems + _missing(shards, ran)


def _missing(shards: Sequence[Shard], ran: set[str]) -> list[Problem]:
    """Tests of the suite that no shard ran, where the shards tell: pytest-split's
    groups, or `-k` / `-m` expressions that differ from shard to shard. One expression
    in every shard (`-m "not slow"` everywhere) deselects for the whole run, as an
    unsharded run with it would."""
    problems = []
    splits = {s.collection.splits for s in shards if s.collection.splits}
    if len(splits) > 1:
        problems.append(
            Problem(
                "shard-split",
                f"shards were split into different numbers of groups: {sorted(splits)}",
                hint="give every shard job the same --splits",
            )
        )
    elif splits:
        total = splits.pop()
        groups = {s.collection.group for s in shards if s.collection.splits}
        absent = [str(g) for g in range(1, total + 1) if g not in groups]
        if absent:
            problems.append(
                Problem(
                    "shard-missing",
                    f"group(s) {', '.join(absent)} of --splits {total} ran in no shard",
                    hint="pass every shard's file; a shard job may have failed before its upload",
                )
            )
    expressions = {(s.collection.keyword, s.collection.markexpr) for s in shards}
    if len(expressions) < 2:
        return problems
    deselected = {
        n
        for s in shards
        if s.collection.whole and s.collection.known
        for n in s.collection.deselected
        if n not in ran
    }
    if deselected:
        names = sorted(deselected)
        problems.append(
            Problem(
                "shard-missing",
                f"{len(names)} test(s) of the suite ran in no shard: {_few(names)}",
                hint="a shard is missing (pass every shard's file), or the split leaves "
                "these tests out: let one shard's -k / -m select them",
            )
        )
    return problems


def _exitstatus(statuses: Sequence[int]) -> int:
    """The exit status one run of every shard's tests would have had."""
    for status in _PRECEDENCE:
        if status in statuses:
            return status
    if statuses and all(s == _NO_TESTS for s in statuses):
        return _NO_TESTS
    return 0


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def verdict(problems: Sequence[Problem], shards: int) -> GateResult:
    """combine's verdict on a set that does not add up: `error`, with every reason."""
    first = problems[0].message
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return GateResult(
        GATE,
        Verdict.ERROR,
        f"the {shards} shard file(s) do not add up to one run: {first}{more}",
        findings=tuple(Finding(p.rule, p.message, path=None, hint=p.hint) for p in problems),
    ).with_timing(0.0, optional=False)
