"""Gate `tdd`: every implementation file changed since the base has a mapped test that
came first, proven from the git history (docs/gates/tdd.md is the user's guide).

The range is one `git log` (facts/history.py) plus the working tree or the index as a
last pseudo-commit. Each file that exists at the end of the range and changed there
in substance (not only deleted, renamed or re-indented) is judged:

- `existence`: some test maps to it (facts/mapping.py says how and why);
- `order`: a mapped test changed at or before its first change (`same_commit`), or
  before every change with `granularity = "commit"`; `Tdd: refactor` commits need
  no new test, provided mapped tests exist and pass;
- `red-green`: `order`, plus evidence that the test failed first (gates/tdd_evidence.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pytest_tddgate.facts.blobs import BlobBatch
from pytest_tddgate.facts.history import (
    Change,
    Commit,
    History,
    Started,
    Timeline,
    Touch,
    file_timelines,
    history,
    start_history,
)
from pytest_tddgate.facts.mapping import Link, Mapper, mapper
from pytest_tddgate.facts.pyast import changed_functions, function_spans
from pytest_tddgate.facts.roles import test_writers
from pytest_tddgate.model import Finding, GateResult, Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_tddgate.engine import GateContext
    from pytest_tddgate.gates.tdd_evidence import Evidence
    from pytest_tddgate.settings import TddSettings

NAME = "tdd"
GUIDE = "docs/gates/tdd.md"
TestTouch = tuple[Touch, str]  # a substantive change of a mapped test, and its final path


def is_refactor(commit: Commit) -> bool:
    """A commit with the trailer `Tdd: refactor` keeps behaviour: it needs no new test."""
    value = commit.trailer("Tdd")
    return value is not None and value.strip().lower() == "refactor"


def at(touch: Touch | None) -> dict[str, Any] | None:
    """A commit as the JSON report shows it."""
    if touch is None:
        return None
    commit = touch.commit
    return {
        "commit": None if commit.pseudo else commit.short,
        "subject": commit.subject,
        "date": commit.date[:10] or None,
        "pseudo": commit.sha if commit.pseudo else None,
    }


@dataclass(frozen=True, slots=True)
class FileReport:
    """The verdict on one implementation file: ok, violation or unproven."""

    path: str
    status: str
    findings: tuple[Finding, ...]
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Proof:
    """What `order` established: for each judged change, the test changes before it."""

    windows: tuple[tuple[Touch, tuple[TestTouch, ...]], ...]


class TddGate:
    name = NAME
    static = True

    def evaluate(self, ctx: GateContext) -> GateResult:
        started = ctx.facts.get(start_history)
        if started.log is None:  # no commits to read, so no blobs either
            return self._evaluate(ctx, None)
        # started while git reads the range, so that its start costs nothing later
        batch = BlobBatch(ctx.settings.root)
        try:
            return self._evaluate(ctx, batch)
        finally:
            batch.close()

    def _evaluate(self, ctx: GateContext, batch: BlobBatch | None) -> GateResult:
        tdd: TddSettings = ctx.section
        started = ctx.facts.get(start_history)
        prefix = _prefix(started.revisions.toplevel, ctx.settings.root)
        try:  # while git reads the range
            mapper_ = ctx.facts.get(mapper)
            mapper_.warm()
            # the test folders, which findings name, are listed while git still works
            started.follow(Lookahead(started, mapper_, prefix, batch), mapper_.known_index)
        except BaseException:
            started.cancel()  # git's processes must not outlive us
            raise
        hist = ctx.facts.get(history)
        timelines = file_timelines(hist, prefix)
        layout = mapper_.layout
        # every test file the range left behind; only mapped ones are asked for substance
        tests = {p: tl for p, tl in timelines.items() if layout.is_test(p)}
        candidates = [
            timeline
            for path, timeline in sorted(timelines.items())
            if layout.is_source(path) and not layout.is_test(path)
        ]
        if hist.substance is not None and batch is not None:
            # git reads the blobs the verdicts will likely ask about (those of every
            # test, mapped or not) while the test index is built
            every = tdd.granularity == "commit" or tdd.mode == "red-green"
            changes = [
                touch.change
                for timeline in (*candidates, *tests.values())
                for touch in timeline.touches[: None if every else 1]
                if touch.change.lines is not None
            ]
            hist.substance.send(changes, batch)
        judge = Judge(ctx, hist, tests, mapper_)
        judge.prefetch(candidates)
        subjects: list[Timeline] = []
        exempt: list[dict[str, str]] = []
        for timeline in candidates:
            if timeline.first_substantive() is None:
                continue
            reason = layout.exempt_reason(timeline.path)
            if reason:
                exempt.append({"path": timeline.path, "reason": reason})
            else:
                subjects.append(timeline)
        if tdd.mode == "red-green":
            # replays need subprocess and worktree machinery: loaded only in this mode
            from pytest_tddgate.gates.tdd_evidence import Evidence

            with Evidence(ctx, hist, prefix) as evidence:
                reports = [judge.file(t, evidence) for t in subjects]
                replays = evidence.replayer.used
        else:
            reports = [judge.file(t, None) for t in subjects]
            replays = 0
        mapper_.save()
        if hist.substance is not None:
            hist.substance.save()
        return _result(tdd, hist, reports, exempt=exempt, tests_changed=len(tests), replays=replays)


class Lookahead:
    """Work on the commits git has written while it writes the rest (newest first):
    read the imports of the test modules they change, and ask git for the blobs of
    each Python file's newest change, which for most files is also the first, whose
    substance the verdicts ask about."""

    def __init__(
        self, started: Started, mapper_: Mapper, prefix: str, batch: BlobBatch | None
    ) -> None:
        self.mapper = mapper_
        self.substance = started.reader.substance if started.reader else None
        self.batch = batch
        self.start = prefix + "/" if prefix else ""
        self.seen: set[str] = set()

    def __call__(self, commits: list[Commit]) -> None:
        names: list[str] = []
        newest: list[Change] = []
        for commit in commits:
            for change in commit.changes:
                if change.path.endswith(".py") and change.path.startswith(self.start):
                    names.append(change.path[len(self.start) :])
                if change.lines is not None and change.path not in self.seen:
                    newest.append(change)
                self.seen.add(change.path)
        self.mapper.prepare(names)
        if self.substance is not None and self.batch is not None:
            if newest:
                self.substance.send(newest, self.batch)
            self.substance.digest(self.batch)  # what git answered for earlier parts


def _prefix(toplevel: os.PathLike[str], root: os.PathLike[str]) -> str:
    """The project folder inside the checkout (`""` when they are the same)."""
    rel = os.path.relpath(os.path.realpath(root), os.path.realpath(toplevel))
    return "" if rel == "." else PurePosixPath(*Path(rel).parts).as_posix()


class Judge:
    """Judges implementation files against the test changes of the range."""

    def __init__(
        self, ctx: GateContext, hist: History, tests: dict[str, Timeline], mapper_: Mapper
    ) -> None:
        self.ctx = ctx
        self.tdd: TddSettings = ctx.section
        self.hist = hist
        self.tests = tests
        self.mapper = mapper_
        self.index = mapper_.index(tests)
        self.candidates: dict[str, Timeline] = {}
        # this run's per-test lines credit a test with a file only for the lines of
        # the change judged (see facts/mapping.py `_RunLines`)
        mapper_.change_lines = self.change_lines

    def change_lines(self, path: str) -> frozenset[int] | None:
        """The lines of `path` as it is now that a test must have run to be credited
        by coverage with its first judged change: the bodies of the functions that
        change added or changed, or of every function when it changed code outside
        them (a constant they read). None: unknown (uncommitted, a version that does
        not parse, functions since renamed): every line the range changed counts."""
        timeline = self.candidates.get(path)
        if timeline is None:
            return None
        touch = next(
            (t for t in timeline.touches if not is_refactor(t.commit) and t.change.substantive),
            None,
        )
        substance = touch.change.lines if touch is not None else None
        contents = substance.contents(touch.change) if substance and touch else None
        touched = changed_functions(*contents) if contents is not None else None
        if touched is None:
            return None
        try:
            spans = function_spans((self.ctx.settings.root / path).read_bytes())
        except OSError:
            return None
        names, outside = touched
        lines = frozenset().union(*(v for n, v in spans.items() if outside or n in names))
        return lines or None

    def prefetch(self, candidates: list[Timeline]) -> None:
        """Read at once the blobs the verdicts will ask about: each candidate's first
        change and its mapped tests' first ones (every change where all are judged)."""
        self.candidates = {timeline.path: timeline for timeline in candidates}
        if self.hist.substance is None:
            return
        every = self.tdd.granularity == "commit" or self.tdd.mode == "red-green"
        asked: dict[str, Timeline] = {}
        for timeline in candidates:
            asked[timeline.path] = timeline
            for test in self.index.links(timeline.path):
                asked[test] = self.tests[test]
        substance = self.hist.substance
        changes = [t.change for tl in asked.values() for t in tl.touches[: None if every else 1]]
        substance.prefetch(c for c in changes if c.lines is not None)
        if every:
            return
        # a file whose first change adds no line (reformatted, say) is judged by its
        # next ones: all of those files' later changes are read at once, in a second
        # process, rather than one file at a time as the verdicts come to them
        later = [
            t.change
            for tl in asked.values()
            if tl.touches and not tl.touches[0].change.substantive
            for t in tl.touches[1:]
        ]
        substance.prefetch(c for c in later if c.lines is not None)

    def file(self, timeline: Timeline, evidence: Evidence | None) -> FileReport:
        path = timeline.path
        links = self.index.links(path)
        refactors = [t for t in timeline.touches if is_refactor(t.commit) and t.change.substantive]
        greens = self._greens(timeline)
        details: dict[str, Any] = {
            "path": path,
            "first_change": at((greens or refactors)[0]),
            "refactor_commits": [t.commit.short for t in refactors],
            "tests": [
                {**link.to_json(), "first_change": at(self._first(link.test))}
                for link in links.values()
            ],
        }
        findings: list[Finding] = []
        proof: Proof | None = None
        if self.tdd.mode == "existence":
            findings += self._existence(path, greens or refactors, links)
        elif greens:
            proof, found = self._order(path, greens, links)
            findings += found
        if refactors and self.tdd.mode != "existence":
            findings += self._refactor(path, refactors[0], links)
        status = "violation" if findings else "ok"
        if not findings and proof is not None and evidence is not None:
            status, found, note = evidence.prove(path, proof, links)
            findings += found
            details["evidence"] = note
        return FileReport(path, status, tuple(findings), {**details, "status": status})

    def _greens(self, timeline: Timeline) -> list[Touch]:
        """The substantive changes outside refactor commits: with `granularity = "file"`
        only the first is judged, so no later one is asked about."""
        greens = []
        for touch in timeline.touches:
            if not is_refactor(touch.commit) and touch.change.substantive:
                greens.append(touch)
                if self.tdd.granularity == "file":
                    break
        return greens

    def _first(self, test: str) -> Touch | None:
        return self.tests[test].first_substantive() if test in self.tests else None

    def _window(self, links: dict[str, Link], low: int, high: int) -> tuple[TestTouch, ...]:
        """Substantive changes of mapped tests with `low < index <= high`, oldest first.
        Only `red-green` replays more than one per test; the others stop at the first
        (each answer may read blobs, see facts/blobs.py)."""
        every = self.tdd.mode == "red-green"
        found = []
        for test in links:
            for touch in self.tests[test].touches:
                if touch.index > high:
                    break
                if touch.index > low and touch.change.substantive:
                    found.append((touch, test))
                    if not every:
                        break
        return tuple(sorted(found, key=lambda item: item[0].index))

    def _first_after(self, links: dict[str, Link], index: int) -> TestTouch | None:
        """The first substantive change of a mapped test at or after `index`."""
        found = [
            next(
                (
                    (t, test)
                    for t in self.tests[test].touches
                    if t.index >= index and t.change.substantive
                ),
                None,
            )
            for test in links
        ]
        return min((f for f in found if f is not None), key=lambda f: f[0].index, default=None)

    def _existence(
        self, path: str, changes: Sequence[Touch], links: dict[str, Link]
    ) -> list[Finding]:
        if links or self.mapper.all_links(path):
            return []
        first = changes[0]
        return [
            Finding(
                "no-test",
                f"no test maps to it (changed in {first.commit.describe()})",
                path=path,
                commit=_sha(first),
                hint=self._hint(path, "add a test for {path} (e.g. in {test})"),
            )
        ]

    def _order(
        self, path: str, greens: list[Touch], links: dict[str, Link]
    ) -> tuple[Proof, list[Finding]]:
        same = self.tdd.same_commit
        findings: list[Finding] = []
        windows: list[tuple[Touch, tuple[TestTouch, ...]]] = []
        previous: Touch | None = None
        for green in greens:  # the first only, unless granularity = "commit"
            low = previous.index if previous is not None else -1
            window = self._window(links, low, green.index if same else green.index - 1)
            if window:
                windows.append((green, window))
            else:
                findings.append(self._order_finding(path, green, previous, links))
            previous = green
        return Proof(tuple(windows)), findings

    def _order_finding(
        self,
        path: str,
        green: Touch,
        previous: Touch | None,
        links: dict[str, Link],
    ) -> Finding:
        where = green.commit.describe()
        if previous is not None:
            message = (
                f"changed again in {where} with no mapped test changed since "
                f"its previous change in {previous.commit.describe()}"
            )
        else:
            message = f"implementation changed first, in {where}"
        later = self._first_after(links, green.index)
        if later is not None:
            touch, test = later
            same = (
                " (the same commit; gates.tdd.same_commit = false wants it earlier)"
                if touch.index == green.index
                else ""
            )
            message += (
                f"; first mapped test change: {touch.commit.describe()}{same} in "
                f"{test} ({links[test].label()})"
            )
        elif previous is None:
            known = self.mapper.known_links(path)
            message += "; no mapped test changed in the range"
            if known:
                shown = ", ".join(f"{t} ({link.label()})" for t, link in list(known.items())[:3])
                message += f" ({shown} map to it but did not change)"
        return Finding(
            "test-not-first",
            message,
            path=path,
            commit=_sha(green),
            hint=self._hint(
                path,
                "write a test for {path} (e.g. in {test}) that fails without the change",
                order=green,
            ),
        )

    def _refactor(self, path: str, first: Touch, links: dict[str, Link]) -> list[Finding]:
        mapped = {**self.mapper.all_links(path), **links}
        where = first.commit.describe()
        if not mapped:
            return [
                Finding(
                    "refactor-without-tests",
                    f"refactored in {where} (Tdd: refactor), but no test maps "
                    "to it, so nothing shows the behaviour was kept",
                    path=path,
                    commit=_sha(first),
                    hint=self._hint(
                        path, "add a test that pins the behaviour of {path} (e.g. in {test})"
                    ),
                )
            ]
        run = self.ctx.facts.test_run
        if run is None:
            return []  # `tddgate check`: no run to look at; `pytest --tddgate` checks it
        failing = sorted(
            {o.nodeid for o in run.outcomes if not o.ok and o.nodeid.split("::", 1)[0] in mapped}
        )
        if not failing:
            return []
        via = mapped[failing[0].split("::", 1)[0]].label()
        return [
            Finding(
                "refactor-tests-failing",
                f"refactored in {where} (Tdd: refactor), but mapped tests "
                f"fail: {', '.join(failing[:3])} ({via})",
                path=path,
                commit=_sha(first),
                hint="a refactor keeps behaviour: make the mapped tests pass again, "
                "or drop the trailer and test the new behaviour first",
            )
        ]

    def _hint(self, path: str, what: str, *, order: Touch | None = None) -> str:
        suggestion = _suggest_test(path, self.ctx.settings.test_roots, self.tdd.naming)
        owners = test_writers(self.ctx.facts, suggestion, order.commit if order else None)
        if owners:  # the roles file forbids this role the test: it asks the owner for it
            ask = f"ask {' or '.join(f'`{o}`' for o in owners)} for a test"
            what = ask + what.split(" a test", 1)[1].replace(" for {path}", " of {path}", 1)
        text = what.format(path=path, test=suggestion)
        when = (
            "before the implementation"
            if not self.tdd.same_commit
            else "before the implementation or with it"
        )
        if order is not None and not order.commit.pseudo:
            base = (self.hist.revisions.base or "")[:8]
            text += (
                f", and commit it {when}; for commits already made, reorder them "
                f"(`git rebase -i {base}`)"
            )
        elif order is not None:
            text += f", and commit it {when}"
        if order is not None:
            text += "; a change that keeps behaviour takes the trailer `Tdd: refactor`"
        return f"{text}; see {GUIDE}"


def _sha(touch: Touch) -> str | None:
    return None if touch.commit.pseudo else touch.commit.short


def _suggest_test(path: str, test_roots: Sequence[str], naming: Sequence[str]) -> str:
    stem = PurePosixPath(path).stem
    if stem == "__init__":
        stem = PurePosixPath(path).parent.name
    stem = stem.lstrip("_") or stem  # `_util.py` is tested in `test_util.py`, as naming maps
    template = next((t for t in naming if "/" not in t), "test_{stem}.py")
    folder = next((r for r in test_roots if r not in ("", ".")), "tests")
    return f"{folder}/{template.replace('{stem}', stem)}"


def _result(
    tdd: TddSettings,
    hist: History,
    reports: list[FileReport],
    *,
    exempt: list[dict[str, str]],
    tests_changed: int,
    replays: int,
) -> GateResult:
    commits = sum(1 for c in hist.commits if not c.pseudo)
    pseudo = any(c.pseudo for c in hist.commits)
    violations = [r for r in reports if r.status == "violation"]
    unproven = [r for r in reports if r.status == "unproven"]
    metrics: dict[str, int | bool] = {
        "files_checked": len(reports),
        "violations": len(violations),
        "commits": commits,
        "tests_changed": tests_changed,
        "exempt": len(exempt),
        "uncommitted": pseudo,
    }
    if tdd.mode == "red-green":
        metrics.update(replays=replays, unproven=len(unproven))
    span = f"{commits} commit(s)" + (" and the uncommitted changes" if pseudo else "")
    details = {
        "mode": tdd.mode,
        "granularity": tdd.granularity,
        "same_commit": tdd.same_commit,
        "range": {
            "base": hist.revisions.base,
            "head": hist.revisions.head,
            "base_note": hist.revisions.base_note,
            "commits": commits,
        },
        "files": [r.details for r in reports],
        "exempt": exempt,
    }
    findings = tuple(f for r in reports for f in r.findings)
    if violations:
        summary = f"{len(violations)} of {len(reports)} implementation file(s) " + (
            "have no mapped test" if tdd.mode == "existence" else "changed before their tests"
        )
        status = Verdict.FAIL
    elif unproven:
        summary = (
            f"{len(unproven)} of {len(reports)} file(s) not proven red first "
            f"(replay limit {tdd.replay_limit} or replay failure)"
        )
        status = Verdict.ERROR
    elif not reports:
        summary = f"no implementation file changed in {span}"
        status = Verdict.PASS
    else:
        claim = {
            "existence": "every one has a mapped test",
            "order": "tests came first",
            "red-green": "tests came first and were red first",
        }[tdd.mode]
        summary = f"{len(reports)} implementation file(s) over {span}: {claim}"
        status = Verdict.PASS
    return GateResult(NAME, status, summary, findings, metrics, details=details)
