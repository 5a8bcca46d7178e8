"""The history of the judged range, read in one pass.

One `git log` over `base..HEAD` (first parent, newest first as git writes it, renames
detected) gives every commit with its author, trailers and changed files. The working
tree is added as a final pseudo-commit: one `git status` lists its changed and
untracked files, and one `git diff` of the changed ones counts their lines (none in a
clean checkout); with `--staged`, one `git diff --cached` gives the index instead.
The `tdd` and `roles` gates both read this fact, so the history is read once per
run, never once per file or per commit.

Line counts come from `--numstat -w --ignore-blank-lines`, so a change that only
touches whitespace or blank lines shows as 0 added / 0 deleted: such changes, and
pure deletions, need no test. Everything is read with `-z`, so any file name works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError, ToolError
from pytest_tddgate.facts.blobs import Behaviour, Substance, lines_added, read_blobs
from pytest_tddgate.facts.git import Revisions, git, git_start, revisions

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from pytest_tddgate.facts import Facts
    from pytest_tddgate.proc import Background

WORKTREE = "WORKTREE"
INDEX = "INDEX"
# facts.provided key: the message of the commit being made (`tddgate check
# --message-file`), whose trailers then apply to the staged pseudo-commit
COMMIT_MESSAGE = "commit_message"
STATE_DIR = ".tddgate"
# the log lists changed files with their object ids; line counts would make git diff
# every file of every commit (see facts/blobs.py, which reads the few it needs)
_LOG_FLAGS = ("-z", "-M", "--raw", "--no-color", "--no-abbrev", "--no-ext-diff", "--no-textconv")
# the working tree's or index's diff is small: git counts its lines, ignoring whitespace
_DIFF_FLAGS = (*_LOG_FLAGS, "--numstat", "-w", "--ignore-blank-lines")
# fields end in NUL, which no name, subject or trailer can hold (a unit separator,
# say, can be in a subject); `-z` ends the last one, and \x1e marks a commit's start
_HEADER = "%x1e%H%x00%P%x00%ae%x00%an%x00%aI%x00%s%x00%(trailers:only,unfold)"
_HEADER_FIELDS = 7
# the working tree in one process; renames are left to the diff of the changed paths
_STATUS_ARGS = ("status", "--porcelain=v2", "-z", "--untracked-files=all", "--no-renames")
# porcelain v2 record kind -> spaces before its path: `1 XY sub mH mI mW hH hI path`,
# `2 ... X<score> path` (NUL, original path), `u XY sub m1 m2 m3 mW h1 h2 h3 path`
_STATUS_FIELDS = {"1 ": 8, "2 ": 9, "u ": 10}
_PATHSPEC_LIMIT = 1_000
_TRAILER = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Change:
    """One changed file of a commit.

    `added` / `deleted` count lines, ignoring whitespace, where git counted them (the
    working tree and the index); for commits of the range, `lines` counts the lines a
    Python file's change adds when asked (see facts/blobs.py), and other files count
    as changed whenever their content did.
    """

    status: str  # A added, M modified, D deleted, R renamed, C copied, T type change
    path: str  # the path after the change (for D: the deleted path)
    old_path: str | None = None  # the path before a rename or copy
    added: int | None = None
    deleted: int | None = None
    old_blob: str | None = None  # object id before the change; None: did not exist
    new_blob: str | None = None  # object id after; None: deleted or not hashed yet
    lines: Substance | None = field(default=None, compare=False, repr=False)

    @property
    def binary(self) -> bool:
        """True for a binary file (and for a change whose lines nobody counted)."""
        return self.added_lines() is None

    def added_lines(self) -> int | None:
        return self.lines.added(self) if self.lines is not None else self.added

    @property
    def substantive(self) -> bool:
        """False for deletions, pure renames and whitespace-only edits: no test needed."""
        if self.status == "D":
            return False
        if self.old_blob is not None and self.old_blob == self.new_blob:
            return False  # renamed or copied as is, or only its mode changed
        if self.lines is not None:
            adds = self.lines.adds(self)
            return True if adds is None else adds  # binary: any change counts
        return True if self.added is None else self.added > 0  # binary or uncounted


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit of the range, or the working tree / index as a last pseudo-commit."""

    sha: str
    parents: tuple[str, ...]
    author_email: str
    author_name: str
    date: str  # ISO 8601
    subject: str
    trailers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case keys
    changes: tuple[Change, ...] = ()

    @property
    def pseudo(self) -> bool:
        return self.sha in (WORKTREE, INDEX)

    @property
    def short(self) -> str:
        return self.sha if self.pseudo else self.sha[:8]

    def trailer(self, key: str) -> str | None:
        """The last value of trailer `key` (case-insensitive), e.g. `Role` or `Tdd`."""
        values = self.trailers.get(key.lower())
        return values[-1] if values else None

    def describe(self) -> str:
        """`abc12345 "subject" (2026-01-02)` for findings."""
        if self.pseudo:
            return "uncommitted changes" if self.sha == WORKTREE else "staged changes"
        return f'{self.short} "{self.subject}" ({self.date[:10]})'


@dataclass(frozen=True, slots=True)
class History:
    revisions: Revisions
    commits: tuple[Commit, ...]  # oldest first; the pseudo-commit last, if it changes anything
    substance: Substance | None = None  # reads the blobs of the range's Python changes


@dataclass(frozen=True, slots=True)
class Started:
    """The history's git processes, running: see `start_history`."""

    revisions: Revisions
    log: Background | None  # None: the range has no commits
    exact: bool  # False: `log` read `<base>..HEAD` by name, guessed before rev-parse
    uncommitted: tuple[Background, ...]
    reader: LogReader | None = None  # parses `log` while git writes it (`follow`)

    def follow(
        self, parsed: Callable[[list[Commit]], None], idle: Callable[[], object] | None = None
    ) -> None:
        """Parse the log while git writes it and hand `parsed` each part's commits,
        newest first, so that work on them (reading test modules, blobs) overlaps
        git's; `idle` runs once when git is slower than that."""
        reader, log = self.reader, self.log
        if reader is None or log is None:
            return

        def consume(data: bytes) -> None:
            commits = reader.feed(data)
            if commits:
                parsed(commits)

        log.follow(consume, idle)
        if log.succeeded():  # the last commit is whole once the output ends
            last = reader.finish()
            if last:
                parsed(last)

    def cancel(self) -> None:
        for task in (self.log, *self.uncommitted):
            if task is not None:
                task.cancel()


class LogReader:
    """Parses `git log` output in parts, as git writes it (see `Started.follow`); the
    end of the output is parsed by `commits`, so the result is the same however much
    was read before."""

    def __init__(self, toplevel: Path, root: Path | None = None) -> None:
        self.root = root  # the project root: its coverage configuration's exclusions
        self.substance = Substance(toplevel, root)
        self._parsed: list[Commit] = []  # newest first, as git writes them
        self._pending = b""
        self._done = 0  # bytes of the output parsed so far

    def feed(self, data: bytes) -> list[Commit]:
        """Parse the commits `data` completes, and return them."""
        buffer = self._pending + data
        # a commit is whole once the next one starts: NUL ends a field, RS starts one
        cut = buffer.rfind(b"\0\x1e") + 1
        self._pending = buffer[cut:]
        if not cut:
            return []
        self._done += cut
        parsed = _parse_commits(buffer[:cut].decode("utf-8", "replace"), self.substance)
        self._parsed += parsed
        return parsed

    def finish(self) -> list[Commit]:
        """Parse the rest of what was fed, once the output has ended."""
        rest, self._pending = self._pending, b""
        self._done += len(rest)
        parsed = _parse_commits(rest.decode("utf-8", "replace"), self.substance)
        self._parsed += parsed
        return parsed

    def commits(self, out: bytes) -> list[Commit]:
        """All commits of the whole output `out`, oldest first."""
        rest = _parse_commits(out[self._done :].decode("utf-8", "replace"), self.substance)
        return _ordered([*self._parsed, *rest], self.substance, newest_first=True)


def start_history(facts: Facts) -> Started:
    """Start reading the history; `history` collects it. A gate that has other work
    (the mapper's caches) does it between the two, while git reads the range.

    With an explicit base, `git log <base>..HEAD` starts before `git rev-parse` has
    resolved the base and HEAD: its result is used only when rev-parse finds both
    and its newest commit is the HEAD rev-parse saw (see `_commits`)."""
    explicit = facts.settings.project.base
    guess = None
    if explicit and ".." not in explicit:
        guess = _start_log(facts.settings.root, [f"{explicit}..HEAD"])
    try:
        revs = facts.get(revisions)
    except BaseException:
        if guess is not None:
            guess.cancel()
        raise
    log = None
    if revs.head is not None and (revs.base_is_root or revs.base != revs.head):
        log = guess if guess is not None else _start_log(revs.toplevel, _spec(revs))
    elif guess is not None:
        guess.cancel()
    # the working tree's diff and file listing run while `git log` reads the range
    uncommitted = tuple(_start_uncommitted(facts, revs))
    reader = LogReader(revs.toplevel, facts.settings.root)
    return Started(revs, log, guess is None, uncommitted, reader)


def history(facts: Facts) -> History:
    """The range's commits and the uncommitted (or staged) changes, as one fact."""
    started = facts.get(start_history)
    revs = started.revisions
    try:
        commits: list[Commit] = []
        substance = None
        if started.log is not None:
            commits, substance = _commits(started)
        pseudo = _uncommitted(facts, revs, list(started.uncommitted))
    finally:
        started.cancel()
    if pseudo.changes:
        commits.append(pseudo)
    return History(revs, tuple(commits), substance)


def _spec(revs: Revisions) -> list[str]:
    return [revs.head or ""] if revs.base_is_root else [f"{revs.base}..{revs.head}"]


def _commits(started: Started) -> tuple[list[Commit], Substance]:
    """The range's commits from the started log; a guessed log that failed, or that
    ended at another HEAD than rev-parse saw (HEAD moved), is read again exactly."""
    assert started.log is not None
    revs = started.revisions
    reader = started.reader or LogReader(revs.toplevel)
    if not started.exact:
        try:
            commits = reader.commits(_log_output(started.log))
        except (ToolError, FactError):
            commits = []
        if commits and commits[-1].sha == revs.head:
            return commits, reader.substance
        reader = LogReader(revs.toplevel, reader.root)
        return reader.commits(_log_output(_start_log(revs.toplevel, _spec(revs)))), reader.substance
    return reader.commits(_log_output(started.log)), reader.substance


def _start_uncommitted(facts: Facts, revs: Revisions) -> list[Background]:
    """The staged changes (`git diff --cached`), or the working tree's: one `git status`
    lists the changed and the untracked files, and `_uncommitted` diffs the changed
    ones, if any (a clean checkout, as in CI, needs no second process). Before the
    first commit: the index, and `git ls-files` of the untracked files."""
    root = revs.toplevel
    if _reads_status(facts, revs):
        return [_start_after([*_STATUS_ARGS], root)]
    against = [] if revs.head is None else ["HEAD"]
    tasks = [_start_after(["diff", "--cached", *_DIFF_FLAGS, *against, "--"], root)]
    if not facts.staged:
        tasks.append(_start_after(["ls-files", "-z", "--others", "--exclude-standard"], root))
    return tasks


def _reads_status(facts: Facts, revs: Revisions) -> bool:
    """Whether the uncommitted changes are the working tree's, read by `git status`."""
    return not facts.staged and revs.head is not None


def _start_after(args: list[str], root: Path) -> Background:
    """A git process that runs beside the log, with one thread: preloading the index
    stats the files on every core, which costs more CPU than it saves beside the log."""
    return git_start(["-c", "core.preloadIndex=false", *args], root)


def _start_log(cwd: Path, spec: list[str]) -> Background:
    return git_start(
        [
            "log",
            "--first-parent",
            "--diff-merges=first-parent",
            "--root",
            f"--format={_HEADER}",
            *_LOG_FLAGS,
            "--end-of-options",
            *spec,
            "--",
        ],
        cwd,
        timeout=600.0,
    )


def _log_output(log: Background) -> bytes:
    try:
        return log.result().stdout
    except ToolError as exc:
        if "diff-merges" in exc.stderr:  # git before 2.31 shows no diff for merges
            raise FactError(
                "this git is too old to read merges by their first parent",
                fix="install git 2.31 or later",
            ) from None
        raise


def parse_log(
    out: str, substance: Substance | None = None, *, newest_first: bool = False
) -> list[Commit]:
    """Commits, oldest first, from `git log -z --format=<_HEADER> --raw` output (in
    git's own order, newest first, when `newest_first`); `substance` counts the lines
    their Python changes add, when asked."""
    return _ordered(_parse_commits(out, substance), substance, newest_first=newest_first)


def _ordered(
    commits: list[Commit], substance: Substance | None, *, newest_first: bool
) -> list[Commit]:
    """`commits` oldest first, their Python changes registered with `substance` in that
    order (it reads the blobs of each file's first change first)."""
    if newest_first:
        commits.reverse()
    if substance is not None:
        for commit in commits:
            for change in commit.changes:
                if change.lines is substance:
                    substance.register(change)
    return commits


def _parse_commits(out: str, substance: Substance | None) -> list[Commit]:
    """The commits of `out`, in its order."""
    tokens = out.split("\0")
    commits: list[Commit] = []
    index = 0
    while index < len(tokens):
        token = _entry(tokens[index])
        index += 1
        if not token.startswith("\x1e"):
            continue  # only the empty tail after the last NUL
        fields = [token[1:], *tokens[index : index + _HEADER_FIELDS - 1]]
        sha, parents, email, name, date, subject, trailers = fields
        changes, index = _parse_changes(tokens, index + _HEADER_FIELDS - 1, substance)
        if substance is not None:  # before anybody asks about these changes
            substance.renamed(changes)
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author_email=email,
                author_name=name,
                date=date,
                subject=subject,
                trailers=parse_trailers(trailers),
                changes=tuple(changes),
            )
        )
    return commits


def _entry(token: str) -> str:
    """A raw, numstat or header token; git puts one newline before the first entry."""
    return token[1:] if token.startswith("\n") else token


def _parse_changes(
    tokens: list[str], index: int, substance: Substance | None = None
) -> tuple[list[Change], int]:
    """Parse `--raw --numstat -z` entries from `tokens[index]` up to the next header.

    Raw entries come first (`:mode mode blob blob status`, then one path, or two for
    renames), then numstat entries (`added\\tdeleted\\tpath`, or `added\\tdeleted\\t`
    followed by the old and new path). Path tokens are taken verbatim, so names that
    begin with a newline survive.
    """
    raw: list[tuple[str, str, str | None, str | None, str | None]] = []
    counts: dict[str, tuple[int | None, int | None]] = {}
    while index < len(tokens):
        token = _entry(tokens[index])
        if token.startswith("\x1e"):
            break
        index += 1
        if not token:
            continue
        if token.startswith(":"):
            meta = token[1:].split(" ")
            status, old_blob, new_blob = meta[-1][:1], meta[2], meta[3]
            if status in ("R", "C"):
                old, path = tokens[index], tokens[index + 1]
                index += 2
            else:
                old, path = None, tokens[index]
                index += 1
            raw.append((status, path, old, _blob(old_blob), _blob(new_blob)))
            continue
        added, deleted, path = token.split("\t", 2)
        if not path:  # a rename: the old and new paths follow
            path = tokens[index + 1]
            index += 2
        counts[path] = (_count(added), _count(deleted))
    changes = []
    for status, name, before, old_id, new_id in raw:
        counted = substance is not None and status != "D" and name.endswith(".py")
        change = Change(
            status,
            name,
            before,
            *((None, None) if substance is not None else counts.get(name, (0, 0))),
            old_blob=old_id,
            new_blob=None if status == "D" else new_id,
            lines=substance if counted else None,
        )
        changes.append(change)
    return changes, index


def _blob(object_id: str) -> str | None:
    return None if not object_id or object_id.strip("0") == "" else object_id


def _count(text: str) -> int | None:
    return None if text == "-" else int(text)


def parse_changes(out: str) -> list[Change]:
    """Changes from `git diff -z --raw --numstat` output (no commit header)."""
    return _parse_changes(out.split("\0"), 0)[0]


def parse_trailers(text: str) -> dict[str, tuple[str, ...]]:
    """`Key: value` lines (as `%(trailers:only,unfold)` prints them) by lower-case key."""
    if ":" not in text:  # most commits have none
        return {}
    found: dict[str, list[str]] = {}
    for line in text.split("\n"):  # not splitlines: a value may hold \x1e, U+2028...
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            found.setdefault(key.strip().lower(), []).append(value.strip())
    return {k: tuple(v) for k, v in found.items()}


def message_trailers(message: str) -> dict[str, tuple[str, ...]]:
    """The trailers of a commit message being written: its last paragraph, when every
    line of it is `Key: value` (comment lines and the scissors part are left out)."""
    body = message.split("# ------------------------ >8 ------------------------", 1)[0]
    lines = [line.rstrip() for line in body.splitlines() if not line.startswith("#")]
    paragraphs = "\n".join(lines).strip().split("\n\n")
    if len(paragraphs) < 2:
        return {}
    last = [line for line in paragraphs[-1].splitlines() if line.strip()]
    if not last or not all(_TRAILER.match(line) or line[:1].isspace() for line in last):
        return {}
    return parse_trailers("\n".join(line for line in last if _TRAILER.match(line)))


def _uncommitted(facts: Facts, revs: Revisions, pending: list[Background]) -> Commit:
    root = revs.toplevel
    first = pending[0].result()
    if _reads_status(facts, revs):
        changed, untracked = parse_status(first.stdout)
        changes = parse_changes(_worktree_diff(root, changed)) if changed else []
    else:
        changes = parse_changes(first.text)
        untracked = pending[1].result().text.split("\0") if len(pending) > 1 else []
    # the tool's own state (report, ledger, caches) is no change of the project's,
    # even where nobody added `.tddgate/` to .gitignore: its files are not even read
    state = _relative(facts.settings.root / STATE_DIR, root)
    inside = (state + "/",) if state is not None else ()
    changes = [c for c in changes if not c.path.startswith(inside)]
    changes = _count_like_commits(root, changes, staged=facts.staged, project=facts.settings.root)
    changes += [_untracked(root / p, p) for p in untracked if p and not p.startswith(inside)]
    role = facts.settings.project.role or ""
    message = facts.provided.get(COMMIT_MESSAGE)
    trailers = message_trailers(message) if isinstance(message, str) else {}
    return Commit(
        INDEX if facts.staged else WORKTREE, (), "", role, "", "", trailers, tuple(changes)
    )


def _count_like_commits(
    root: Path, changes: list[Change], *, staged: bool, project: Path | None = None
) -> list[Change]:
    """Recount, as a commit's change is counted (facts/blobs.py), each Python change
    that adds lines to a file HEAD has: it may only reorder them, or only touch
    comments, docstrings or excluded code, which needs no test once committed, so it
    needs none before either (the pre-commit hook and CI must agree). Deletions are
    already right."""
    suspects = [c for c in changes if c.path.endswith(".py") and c.added and c.old_blob is not None]
    if not suspects:  # the usual case: no process, no read
        return changes
    wanted = {c.old_blob for c in suspects} | {c.new_blob for c in suspects if staged}
    blobs = read_blobs(root, sorted(i for i in wanted if i))
    judge = Behaviour(project or root)
    counted: dict[str, Change] = {}
    for change in suspects:
        old = blobs.get(change.old_blob or "")
        if staged:
            new = blobs.get(change.new_blob or "")
        else:  # the working tree's version is the file itself
            try:
                new = (root / change.path).read_bytes()
            except OSError:
                new = None
        if old is not None and new is not None:
            counted[change.path] = replace(change, added=lines_added(old, new, judge))
    return [counted.get(c.path, c) for c in changes]


def parse_status(out: bytes) -> tuple[list[str], list[str]]:
    """(tracked paths that differ from HEAD, untracked paths) from `git status
    --porcelain=v2 -z --untracked-files=all` output."""
    changed: list[str] = []
    untracked: list[str] = []
    records = iter(out.decode("utf-8", "surrogateescape").split("\0"))
    for record in records:
        kind = record[:2]
        if kind == "? ":
            untracked.append(record[2:])
        elif kind in _STATUS_FIELDS:
            changed.append(record.split(" ", _STATUS_FIELDS[kind])[-1])
            if kind == "2 ":  # a rename or copy: the original path follows
                changed.append(next(records, ""))
    return [p for p in changed if p], untracked


def _worktree_diff(root: Path, paths: list[str]) -> str:
    """`git diff HEAD` (line counts ignoring whitespace) of the paths `git status`
    found changed; of everything when they are too many for a command line."""
    where = ["--", *paths] if len(paths) <= _PATHSPEC_LIMIT else ["--"]
    # literal: a file named `*.py` or `:(top)` is that file, not a pattern
    args = ["--literal-pathspecs", "-c", "core.preloadIndex=false", "diff", *_DIFF_FLAGS]
    return git([*args, "HEAD", *where], root).text


def _relative(path: Path, toplevel: Path) -> str | None:
    try:
        return path.resolve().relative_to(toplevel.resolve()).as_posix()
    except ValueError:
        return None


def _untracked(file: Path, path: str) -> Change:
    """An untracked file is all new: every line is added (None if it is binary)."""
    try:
        data = file.read_bytes()
    except OSError:  # vanished or unreadable since ls-files: count it as changed
        return Change("A", path)
    if b"\0" in data[:8192]:
        return Change("A", path)
    lines = sum(1 for line in data.splitlines() if line.strip())
    return Change("A", path, added=lines, deleted=0)


def changed_paths(history_: History) -> Iterator[tuple[Commit, Change]]:
    """Every (commit, change) of the range, oldest first."""
    for commit in history_.commits:
        for change in commit.changes:
            yield commit, change


@dataclass(frozen=True, slots=True)
class Touch:
    """One change of one file: the position of its commit in the range, and the change."""

    index: int
    commit: Commit
    change: Change


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every change of a file that exists at the end of the range, through renames,
    oldest first. `path` is its final path, relative to the project root."""

    path: str
    touches: tuple[Touch, ...]

    @property
    def substantive(self) -> tuple[Touch, ...]:
        """The touches that need a test (see `Change.substantive`)."""
        return tuple(t for t in self.touches if t.change.substantive)

    def first_substantive(self) -> Touch | None:
        """The first touch that needs a test, asking no more than it must (a Python
        file's substance is read from its blobs)."""
        return next((t for t in self.touches if t.change.substantive), None)


def file_timelines(history_: History, prefix: str = "") -> dict[str, Timeline]:
    """The files the range leaves behind, each with its changes followed through
    renames. Paths are made relative to `prefix` (the project folder inside the
    checkout); files outside it are left out. A deleted file has no timeline."""
    live: dict[str, list[Touch]] = {}
    for index, commit in enumerate(history_.commits):
        for change in commit.changes:
            path = _inside(change.path, prefix)
            old = _inside(change.old_path, prefix) if change.old_path else None
            if change.status == "D":
                if path is not None:
                    live.pop(path, None)
                continue
            touches = live.pop(old, []) if change.status == "R" and old is not None else []
            if path is None:
                continue
            if change.status not in ("R", "C"):
                touches = live.get(path, [])
            touches.append(Touch(index, commit, change))
            live[path] = touches
    return {path: Timeline(path, tuple(touches)) for path, touches in live.items()}


def _inside(path: str | None, prefix: str) -> str | None:
    if path is None or not prefix:
        return path
    return path[len(prefix) + 1 :] if path.startswith(prefix + "/") else None
