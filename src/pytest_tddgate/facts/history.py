"""The history of the judged range, read in one pass.

One `git log` over `base..HEAD` (first parent, oldest first, renames detected) gives
every commit with its author, trailers and changed files; one `git diff` (plus one
`git ls-files` for untracked files) adds the working tree, or the index with
`--staged`, as a final pseudo-commit. The `tdd` and `roles` gates both read this
fact, so the history is read once per run, never once per file or per commit.

Line counts come from `--numstat -w --ignore-blank-lines`, so a change that only
touches whitespace or blank lines shows as 0 added / 0 deleted: such changes, and
pure deletions, need no test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.git import Revisions, git, revisions

WORKTREE = "WORKTREE"
INDEX = "INDEX"
_DIFF_FLAGS = ("-z", "-M", "--raw", "--numstat", "-w", "--ignore-blank-lines", "--no-color")
_HEADER = "%x1e%H%x1f%P%x1f%ae%x1f%an%x1f%aI%x1f%s%x1f%(trailers:only,unfold)%x1f"


@dataclass(frozen=True, slots=True)
class Change:
    """One changed file of a commit. `added` / `deleted` are None for binary files."""

    status: str  # A added, M modified, D deleted, R renamed, C copied, T type change
    path: str  # the path after the change (for D: the deleted path)
    old_path: str | None = None  # the path before a rename or copy
    added: int | None = None
    deleted: int | None = None

    @property
    def binary(self) -> bool:
        return self.added is None

    @property
    def substantive(self) -> bool:
        """False for deletions, pure renames and whitespace-only edits: no test needed."""
        if self.status == "D":
            return False
        if self.added is None:  # binary: any change counts
            return True
        return self.added > 0


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


def history(facts: Facts) -> History:
    """The range's commits and the uncommitted (or staged) changes, as one fact."""
    revs = facts.get(revisions)
    root = revs.toplevel
    commits: list[Commit] = []
    if revs.head is not None:
        spec = [revs.head] if revs.base_is_root else [f"{revs.base}..{revs.head}"]
        out = git(
            [
                "log",
                "--first-parent",
                "--reverse",
                f"--format={_HEADER}",
                *_DIFF_FLAGS,
                *spec,
                "--",
            ],
            root,
        ).text
        commits = [_parse_commit(record) for record in out.split("\x1e")[1:]]
    pseudo = _uncommitted(facts, revs)
    if pseudo.changes:
        commits.append(pseudo)
    return History(revs, tuple(commits))


def _uncommitted(facts: Facts, revs: Revisions) -> Commit:
    root = revs.toplevel
    against = [] if revs.head is None else ["HEAD"]
    if facts.staged or revs.head is None:
        changes = _parse_changes(git(["diff", "--cached", *_DIFF_FLAGS, *against, "--"], root).text)
    else:
        changes = _parse_changes(git(["diff", *_DIFF_FLAGS, "HEAD", "--"], root).text)
    if not facts.staged:
        untracked = git(["ls-files", "-z", "--others", "--exclude-standard"], root).text
        changes += [_untracked(root / path, path) for path in untracked.split("\0") if path]
    role = facts.settings.project.role or ""
    return Commit(INDEX if facts.staged else WORKTREE, (), "", role, "", "", {}, tuple(changes))


def _untracked(file: Path, path: str) -> Change:
    """An untracked file is all new: every line is added (None if it is binary)."""
    try:
        data = file.read_bytes()
    except OSError:  # vanished or unreadable since ls-files: count it as changed
        return Change("A", path)
    if b"\0" in data[:8192]:
        return Change("A", path)
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return Change("A", path, added=lines, deleted=0)


def _parse_commit(record: str) -> Commit:
    sha, parents, email, name, date, subject, trailers, body = record.split("\x1f", 7)
    return Commit(
        sha=sha,
        parents=tuple(parents.split()),
        author_email=email,
        author_name=name,
        date=date,
        subject=subject,
        trailers=_parse_trailers(trailers),
        changes=tuple(_parse_changes(body)),
    )


def _parse_trailers(text: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            found.setdefault(key.strip().lower(), []).append(value.strip())
    return {k: tuple(v) for k, v in found.items()}


def _parse_changes(body: str) -> list[Change]:
    """Parse `--raw --numstat -z` output: raw entries first, then numstat entries."""
    tokens = iter(body.lstrip("\0\n").split("\0"))
    raw: list[tuple[str, str, str | None]] = []  # (status, path, old_path)
    counts: dict[str, tuple[int | None, int | None]] = {}
    for entry in tokens:
        token = entry.lstrip("\n")
        if not token:
            continue
        if token.startswith(":"):
            status = token.rsplit(" ", 1)[-1][:1]
            first = next(tokens)
            if status in ("R", "C"):
                raw.append((status, next(tokens), first))
            else:
                raw.append((status, first, None))
            continue
        added, deleted, path = token.split("\t", 2)
        if not path:  # a rename: the old and new paths follow
            next(tokens)
            path = next(tokens)
        counts[path] = (_count(added), _count(deleted))
    return [Change(status, path, old, *counts.get(path, (0, 0))) for status, path, old in raw]


def _count(text: str) -> int | None:
    return None if text == "-" else int(text)


def changed_paths(history_: History) -> Iterator[tuple[Commit, Change]]:
    """Every (commit, change) of the range, oldest first."""
    for commit in history_.commits:
        for change in commit.changes:
            yield commit, change
