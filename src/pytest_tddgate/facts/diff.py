"""Lines changed since the base: committed, staged, unstaged and untracked.

One `git diff -U0 <base>` compares the base with the working tree, so commits in
`base..HEAD`, the index and unstaged edits arrive as one diff whose line numbers all
belong to the file as it is now; `git ls-files --others --exclude-standard` adds the
untracked files, every line of which is new. With `--staged` (`tddgate check`) the
index is compared instead and untracked files do not count.

Paths are relative to the project root (`--relative`), the same paths the coverage
facts use; changes outside the project folder are not the project's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.git import git, git_start, revisions, start_revisions
from pytest_tddgate.proc import Background

# what git itself calls the empty tree, per object format; the base when the range
# starts before the first commit (no commits yet, or no base branch: the root commit)
_EMPTY_TREE = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}
_DIFF_FLAGS = (
    "diff",
    "-U0",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)
_HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_UNTRACKED_LIMIT = 5_000_000  # bytes; a bigger untracked file is data, not code
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def start_changes(facts: Facts) -> Background | None:
    """Start what `changed_lines` reads that needs no base: the untracked files (none
    with `--staged`), and the processes that resolve the base. The coverage
    measurement starts them before it imports coverage.py, which takes longer."""
    facts.get(start_revisions)
    if facts.staged:
        return None
    return git_start(["ls-files", "-z", "--others", "--exclude-standard"], facts.settings.root)


def stop_changes(facts: Facts) -> None:
    """Stop what `start_changes` started when nobody will read it."""
    untracked = facts.get(start_changes)
    if untracked is not None:
        untracked.cancel()
    facts.get(start_revisions).cancel()


def changed_lines(facts: Facts) -> Mapping[str, frozenset[int]]:
    """Project-relative path -> line numbers (in the file as it is now) added or changed
    since the base. Deleted files and pure deletions have no entry."""
    untracked = facts.get(start_changes)
    try:
        revs = facts.get(revisions)
        root = facts.settings.root
        base = revs.base
        if base is None or revs.base_is_root:
            base = _empty_tree(root)
        where = ("--cached",) if facts.staged else ()
        diff = git([*_DIFF_FLAGS, *where, base, "--"], root)
        changed = dict(parse_diff(diff.stdout))
        listed = untracked.result().stdout if untracked is not None else b""
    finally:
        if untracked is not None:
            untracked.cancel()  # only if it was not read: no process outlives a failure
    for name in listed.decode("utf-8", "surrogateescape").split("\0"):
        if name:
            lines = _all_lines(root / name)
            if lines:
                changed[name] = lines
    return changed


def _empty_tree(root: Path) -> str:
    probe = git(["rev-parse", "--show-object-format"], root, ok_codes=(0, 128, 129))
    object_format = probe.text.strip() if probe.returncode == 0 else "sha1"
    try:
        return _EMPTY_TREE[object_format]
    except KeyError:
        raise FactError(
            f"unknown git object format `{object_format}`",
            fix="pass an existing revision with --tddgate-base",
        ) from None


def parse_diff(output: bytes) -> Iterator[tuple[str, frozenset[int]]]:
    """(path, added line numbers) per file of a `git diff -U0` patch.

    The hunk headers carry the line numbers; the body of each hunk is skipped by its
    counts, so an added line that happens to read `+++ b/x` is never taken for a
    file header.
    """
    path: str | None = None
    lines: set[int] = set()
    body = iter(output.split(b"\n"))
    for line in body:
        if line.startswith(b"diff "):
            if path is not None and lines:
                yield path, frozenset(lines)
            path, lines = None, set()
        elif line.startswith(b"+++ "):
            path = _header_path(line[4:])
        elif line.startswith(b"@@ ") and (match := _HUNK.match(line)):
            old = int(match.group(1) or b"1")
            start, new = int(match.group(2)), int(match.group(3) or b"1")
            lines.update(range(start, start + new))
            _skip_body(body, old + new)
    if path is not None and lines:
        yield path, frozenset(lines)


def _skip_body(body: Iterator[bytes], count: int) -> None:
    while count > 0:
        line = next(body, None)
        if line is None:
            return
        if not line.startswith(b"\\"):  # "\ No newline at end of file" is no line
            count -= 1


def _header_path(raw: bytes) -> str | None:
    """`b/path`, `"b/quoted\\tpath"` or `/dev/null` (a deleted file) -> path."""
    text = raw.decode("utf-8", "surrogateescape").rstrip("\t")
    if text == "/dev/null":
        return None
    if text.startswith('"') and text.endswith('"'):
        text = unquote(text[1:-1])
    return text[2:] if text.startswith("b/") else text


def unquote(text: str) -> str:
    """Undo git's C-style quoting of unusual path characters (`\\t`, `\\"`, `\\303\\251`)."""
    out = bytearray()
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            continue
        code = next(chars, "\\")
        if code in "01234567":
            digits = code + next(chars, "") + next(chars, "")
            out.append(int(digits, 8) & 0xFF)
        else:
            out.append(_ESCAPES.get(code, ord(code)))
    return out.decode("utf-8", "surrogateescape")


def _all_lines(path: Path) -> frozenset[int]:
    """Every line of an untracked text file; nothing for binaries, huge files, folders."""
    try:
        if not path.is_file() or path.stat().st_size > _UNTRACKED_LIMIT:
            return frozenset()
        data = path.read_bytes()
    except OSError:
        return frozenset()
    if not data or b"\0" in data[:8000]:  # git's own binary test
        return frozenset()
    count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return frozenset(range(1, count + 1))
