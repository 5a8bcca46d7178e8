"""Whether a committed change of a Python file is more than whitespace, from its blobs.

`git log --numstat -w` answers that for every file of every commit, but it diffs each
changed file, and on a real project that costs ten to twenty times the rest of the
history read (pytest's last 200 commits: 0.3 s of CPU, against 12 ms for the raw
log). The gates need the answer for few changes: the first change of each Python file
(every change with `granularity = "commit"`). So `git log` reports only which files
changed, with their object ids, and the blobs are read here on demand, in at most two
`git cat-file --batch` processes: first the blobs of each file's first change in the
range, then, if more is asked, all the rest.

Two versions are compared as multisets of their lines with all whitespace removed
(as `-w --ignore-blank-lines` does): a change that adds no such line only re-indented,
reordered or deleted code, and needs no test. A change that adds lines is then
compared by what the two versions do (facts/behaviour.py: the syntax trees without
comments, docstrings, import order, excluded code and unread annotations): the same
fingerprint, no test needed. A version that does not parse is judged by its lines.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
from collections import Counter
from typing import TYPE_CHECKING

from pytest_tddgate.errors import ToolError
from pytest_tddgate.facts import behaviour, behaviour_cache
from pytest_tddgate.facts.git import git, git_command, git_environment

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from pytest_tddgate.facts.history import Change

_BLANKS = b" \t\r\f\v"  # all whitespace but the line break
_BINARY_PROBE = 8000  # git's own test: a NUL in the first 8000 bytes
_READ = 1 << 16
_TIMEOUT_S = 120.0


class Substance:
    """Counts the lines a change adds, ignoring whitespace; shared by one history."""

    def __init__(self, toplevel: Path, root: Path | None = None) -> None:
        self.toplevel = toplevel
        self.judge = Behaviour(root or toplevel)  # the project root: its coverage config
        self.verdicts = behaviour_cache.Verdicts(root or toplevel)
        self._raw: dict[str, bytes] = {}  # the blobs read, for `judge` when lines differ
        self._changes: list[Change] = []  # the Python changes of the range, oldest first
        self._blobs: dict[str, bytes] = {}
        self._lines: dict[str, Lines | None] = {}  # None: binary
        self._batches = 0
        self._pending: BlobBatch | None = None
        self._asked: set[str] = set()  # the ids `_pending` was asked for
        self._sent: list[Change] = []  # changes sent to `_pending`, not judged yet
        self._adds: dict[tuple[str | None, str | None], bool | None] = {}
        # (old blob, new blob) -> modules renamed by the commit of that change
        self._renames: dict[tuple[str | None, str | None], behaviour.Renames] = {}

    def register(self, change: Change) -> None:
        self._changes.append(change)

    def renamed(self, changes: Iterable[Change]) -> None:
        """One commit's changes: its renamed Python files rename modules, and an import
        of a renamed module that follows it is no change (rich e778af6a)."""
        changes = list(changes)
        moves = [
            (c.old_path, c.path)
            for c in changes
            if c.status == "R" and c.old_path and c.path.endswith(".py")
        ]
        if moves:
            renames = behaviour.module_renames(moves)
            for change in changes:
                self._renames[(change.old_blob, change.new_blob)] = renames

    def send(self, changes: Iterable[Change], batch: BlobBatch) -> None:
        """Ask `batch` (started earlier) for these changes' blobs; it reads them while
        the caller works, and the next question collects them. It may be asked again
        until then: ids asked once are not asked twice."""
        if self._pending is not None and self._pending is not batch:
            self._collect()
        changes = list(changes)
        wanted = [i for i in self._missing(changes) if i not in self._asked]
        self._asked.update(wanted)
        self._sent += changes
        batch.send(wanted)
        self._pending = batch

    def digest(self, batch: BlobBatch) -> None:
        """Count the lines of the blobs `batch` has answered so far, and judge the
        changes sent whose blobs are all here: work done while git still answers."""
        for object_id, data in batch.arrived().items():
            if object_id not in self._lines:
                self._lines[object_id] = _read(data)
                self._raw[object_id] = data
        waiting = []
        for change in self._sent:
            if all(i is None or i in self._lines for i in (change.old_blob, change.new_blob)):
                self.adds(change)
            else:
                waiting.append(change)
        self._sent = waiting

    def prefetch(self, changes: Iterable[Change]) -> None:
        """Read, in one process, the blobs of the changes about to be asked about."""
        self._collect()
        self._blobs.update(read_blobs(self.toplevel, self._missing(changes)))

    def _collect(self) -> None:
        if self._pending is not None:
            batch, self._pending = self._pending, None
            self._asked.clear()
            self._sent.clear()
            self._blobs.update(
                (i, data) for i, data in batch.result().items() if i not in self._lines
            )

    def adds(self, change: Change) -> bool | None:
        """Whether `change` adds a line (None: binary), as cheaply as it can tell; the
        gates ask about the same change several times, so the answer is kept."""
        key = (change.old_blob, change.new_blob)
        if key not in self._adds:
            self._adds[key] = self._compare(change)
        return self._adds[key]

    def _compare(self, change: Change) -> bool | None:
        new = self._text(change.new_blob, change)
        old = self._text(change.old_blob, change)
        if new is None or old is None:
            return None
        if new.unique <= old.unique:
            old_counts = old.counts
            if not any(count > old_counts[line] for line, count in new.counts.items()):
                return False  # re-indented, reordered or deleted: no line added
        # a line was added: it may still be a comment, a docstring, an import's order
        renames = self._renames.get((change.old_blob, change.new_blob))
        old_id, new_id = change.old_blob or "", change.new_blob or ""
        kept = bool(new_id) and not renames  # a verdict that holds for the blobs alone
        known = self.verdicts.get(old_id, new_id) if kept else None
        if known is None:
            known = self.judge.same(
                self._data(change.old_blob), self._data(change.new_blob), renames
            )
            if kept:
                self.verdicts.put(old_id, new_id, known)
        return not known

    def save(self) -> None:
        """Keep this run's verdicts for the next run."""
        self.verdicts.save()

    def _data(self, object_id: str | None) -> bytes | None:
        """The content of a blob whose lines were read (b"": the file did not exist)."""
        return b"" if object_id is None else self._raw.get(object_id)

    def contents(self, change: Change) -> tuple[bytes, bytes] | None:
        """The old and new content of a change (b"": the file did not exist; None:
        binary or not read)."""
        if (
            self._text(change.new_blob, change) is None
            or self._text(change.old_blob, change) is None
        ):
            return None
        old, new = self._data(change.old_blob), self._data(change.new_blob)
        return None if old is None or new is None else (old, new)

    def added(self, change: Change) -> int | None:
        """Lines `change` adds that the old version did not have (None: binary)."""
        new = self._text(change.new_blob, change)
        old = self._text(change.old_blob, change)
        if new is None or old is None:
            return None
        return _added(old, new)

    def _text(self, object_id: str | None, change: Change) -> Lines | None:
        if object_id is None:
            return _NOTHING
        if object_id not in self._lines:
            if object_id not in self._blobs:
                self._load(change)
            data = self._blobs.pop(object_id, b"")
            self._lines[object_id] = _read(data)
            self._raw[object_id] = data
        return self._lines[object_id]

    def _load(self, asked: Change) -> None:
        """The first batch: each file's first change (and the one asked about); any
        later batch: everything not read yet."""
        self._collect()
        self._batches += 1
        if self._batches == 1:
            seen: set[str] = set()
            wanted = [asked]
            for change in self._changes:
                if change.path not in seen and (change.old_path or change.path) not in seen:
                    wanted.append(change)
                seen.update({change.path, change.old_path or change.path})
        else:
            wanted = self._changes
        self._blobs.update(read_blobs(self.toplevel, self._missing(wanted)))

    def _missing(self, changes: Iterable[Change]) -> list[str]:
        ids = {
            object_id
            for change in changes
            for object_id in (change.old_blob, change.new_blob)
            if object_id and object_id not in self._lines and object_id not in self._blobs
        }
        return sorted(ids)


class Lines:
    """A text's lines with all whitespace removed, blank ones left out: as a set, which
    tells most changes apart (a line that was not there at all), and counted only
    when that does not (a set costs half of a Counter, for every blob read)."""

    __slots__ = ("_counts", "_lines", "unique")

    def __init__(self, data: bytes) -> None:
        self._lines = data.translate(None, _BLANKS).split(b"\n")
        self.unique = set(self._lines)
        self.unique.discard(b"")
        self._counts: Counter[bytes] | None = None

    @property
    def counts(self) -> Counter[bytes]:
        if self._counts is None:
            self._counts = Counter(self._lines)
            del self._counts[b""]
        return self._counts


_NOTHING = Lines(b"")  # the side of a change where the file did not exist


def _read(data: bytes) -> Lines | None:
    """The lines of a blob; None for a binary one (git's test: a NUL near the start)."""
    return None if b"\0" in data[:_BINARY_PROBE] else Lines(data)


def _added(old: Lines, new: Lines) -> int:
    """Lines `new` has more times than `old` (a line moved elsewhere adds none)."""
    return (new.counts - old.counts).total()


def lines_added(old: bytes, new: bytes, judge: Behaviour | None = None) -> int | None:
    """What `Substance.added` counts for a committed change, for two texts (None:
    binary): an uncommitted change is counted as it will be once committed, and
    with `judge`, a change that keeps behaviour (see `Substance._compare`) adds 0."""
    before, after = _read(old), _read(new)
    if before is None or after is None:
        return None
    added = _added(before, after)
    if added and judge is not None and judge.same(old, new):
        return 0
    return added


class Behaviour:
    """Tells whether two versions of a Python file behave alike (facts/behaviour.py),
    each version's fingerprint computed once, and the coverage configuration's
    exclusions read once, when first needed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prints: behaviour.Fingerprints | None = None
        self._versions: dict[bytes, behaviour.Version | None] = {}

    def same(
        self, old: bytes | None, new: bytes | None, renames: behaviour.Renames | None = None
    ) -> bool:
        """Whether the two versions behave alike; False when that cannot be told (a
        version that does not parse, a construct the comparison does not know): the
        change is then judged by its lines, as before."""
        if old is None or new is None:
            return False
        try:
            return self._same(old, new, renames)
        except (AttributeError, TypeError, ValueError, RecursionError):
            return False

    def _same(self, old: bytes, new: bytes, renames: behaviour.Renames | None) -> bool:
        if not old.strip():  # a new file: the same only if it does nothing
            version = self.version(new)
            return version is not None and self._fingerprints().inert(version)
        part = behaviour.region(old, new)
        if part is not None:  # the statements the change touched, if they parse alone
            before, after = self.version(part[0]), self.version(part[1])
            if before is not None and after is not None:
                return self._fingerprints().same(before, after, renames)
        before, after = self.version(old), self.version(new)
        if before is None or after is None:
            return False
        return self._fingerprints().same(before, after, renames)

    def _fingerprints(self) -> behaviour.Fingerprints:
        if self._prints is None:
            self._prints = behaviour.Fingerprints(behaviour_cache.exclusions(self.root))
        return self._prints

    def version(self, data: bytes) -> behaviour.Version | None:
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if digest not in self._versions:
            self._versions[digest] = self._fingerprints().of(data)
        return self._versions[digest]


def read_blobs(toplevel: Path, object_ids: list[str]) -> dict[str, bytes]:
    """The contents of `object_ids`, read by one `git cat-file --batch`."""
    if not object_ids:
        return {}
    out = git(["cat-file", "--batch"], toplevel, stdin="\n".join(object_ids).encode() + b"\n")
    return _parse_batch(out.stdout, out.command)


class BlobBatch:
    """A `git cat-file --batch` started before its questions are known, so that its
    start costs nothing later. `send` gives it ids, as often as the caller learns of
    more (a thread reads the contents meanwhile); `result` collects them all, once.
    `close` always."""

    def __init__(self, toplevel: Path) -> None:
        self.command = git_command(["cat-file", "--batch"])
        # no `with`: the file must outlive this call; `close` closes it
        self._err = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen(
            list(self.command),
            cwd=toplevel,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=git_environment(),
        )
        self._chunks: list[bytes] = []  # appended by the reading thread only
        self._taken = 0  # chunks parsed by `arrived`
        self._unparsed = b""  # the start of an answer not whole yet
        self._found: dict[str, bytes] = {}
        self._reader: threading.Thread | None = None
        self._broken = False  # git ended before it read every question

    def send(self, object_ids: list[str]) -> None:
        if not object_ids or self._broken:
            return
        assert self._proc.stdin is not None
        if self._reader is None:  # git answers as it reads: the answers must be drained
            self._reader = threading.Thread(target=self._drain, daemon=True)
            self._reader.start()
        try:
            self._proc.stdin.write("".join(f"{object_id}\n" for object_id in object_ids).encode())
            self._proc.stdin.flush()
        except OSError:  # it died: `result` tells why
            self._broken = True

    def _drain(self) -> None:
        assert self._proc.stdout is not None
        handle = self._proc.stdout.fileno()
        while chunk := os.read(handle, _READ):
            self._chunks.append(chunk)

    def result(self) -> dict[str, bytes]:
        """The contents of every id sent: it waits for git to answer them all."""
        self._end_questions()
        if self._reader is not None:
            self._reader.join(_TIMEOUT_S)
            if self._reader.is_alive():
                self._proc.kill()
                self._reader.join()
                raise ToolError(
                    self.command,
                    None,
                    "",
                    message=f"`git cat-file` timed out after {_TIMEOUT_S:g} s and was stopped",
                )
        returncode = self._proc.wait()
        if returncode != 0 or self._broken:
            self._err.seek(0)
            stderr = self._err.read().decode("utf-8", "replace")
            raise ToolError(self.command, returncode, stderr)
        self.arrived()
        if self._unparsed:
            raise ToolError(self.command, 0, "", message="`git cat-file` ended mid-answer")
        return self._found

    def arrived(self) -> dict[str, bytes]:
        """The contents git has answered since the last call (whole answers only)."""
        chunks = self._chunks[self._taken :]  # the thread only appends: a safe read
        self._taken += len(chunks)
        data = b"".join([self._unparsed, *chunks])
        found, used = _parse_answers(data, self.command)
        self._unparsed = data[used:]
        self._found.update(found)
        return found

    def _end_questions(self) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()  # git answers what it has, then ends
        except OSError:
            self._broken = True

    def close(self) -> None:
        """Stop the process if it still runs (nobody collected it, or an error)."""
        if self._reader is not None and self._proc.poll() is None:
            self._proc.kill()
        self._end_questions()  # with no question asked, it ends at once
        self._proc.wait()
        if self._reader is not None:
            self._reader.join()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._err.close()


def _parse_batch(data: bytes, command: tuple[str, ...]) -> dict[str, bytes]:
    """`git cat-file --batch` output: `<id> <type> <size>`, the content, a newline."""
    found, used = _parse_answers(data, command)
    if used != len(data):
        raise ToolError(command, 0, "", message="`git cat-file` ended mid-answer")
    return found


def _parse_answers(data: bytes, command: tuple[str, ...]) -> tuple[dict[str, bytes], int]:
    """The whole answers at the start of `data`, and how many bytes they take."""
    found: dict[str, bytes] = {}
    position = 0
    while (end := data.find(b"\n", position)) >= 0:
        header = data[position:end].split()
        if len(header) < 3:  # `<id> missing`: a partial clone, or a broken repository
            raise ToolError(command, 0, "", message=f"git object {header[0].decode()} is missing")
        size = int(header[2])
        if end + 1 + size + 1 > len(data):
            break  # the rest of this answer is still on its way
        found[header[0].decode()] = data[end + 1 : end + 1 + size]
        position = end + 1 + size + 1
    return found, position
