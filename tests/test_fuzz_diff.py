"""The coverage gate's changed lines, checked against git itself on real repositories.

Each input builds a repository whose files go through the states a branch sees: on
the base branch or not, changed in a commit, staged, edited, deleted, renamed, made
binary, left untracked. Their lines come from a few short texts (so git's diff has
many equally good answers to choose from) and from lines that look like patch
headers (`+++ b/x`, `@@ -1 +1 @@`, `diff --git`), with `\\n` or `\\r\\n` endings, with
or without a final newline.

`changed_lines` reads one `git diff -U0` of the whole tree and splits it by file
headers. The oracle asks git once per file instead: `git diff --no-index -U0` between
the file's content at the base (its old path's, for a rename git found) and its
content now, and reads only the `+start,count` of each hunk header. The two must
agree on every file, for the working tree and for the index (`--staged`).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.diff import changed_lines
from tests import fuzzkit
from tests.gitrepo import GitRepo
from tests.tddkit import settings_of

COSTLY = settings(max_examples=fuzzkit.examples(ci=10, long=1000))
NAMES = (
    "a.py",
    "b b.py",
    "\u00fc/\u00e9t\u00e9.py",
    "new\nline.py",
    "tab\there.py",
    '"quoted".py',
    "back\\slash.py",
    "-dash.py",
    "sub/deep/c.py",
    "+++ b.py",
)
# after a body line's `+` or `-`, `++ b/evil` and `-- a/evil` read like file headers
LINES = ("a", "b", "c", "", "x = 1", "++ b/evil", "-- a/evil", "+++ b/x", "@@ -1 +1 @@")
_HUNK = re.compile(rb"^@@ -[0-9,]+ \+([0-9]+)(?:,([0-9]+))? @@")
STATES = ("base", "committed", "staged", "worktree")


@st.composite
def contents(draw: st.DrawFn) -> bytes | None:
    """None (no such file), binary data, or text lines from `LINES`."""
    if draw(st.integers(0, 9)) == 0:
        return None
    if draw(st.integers(0, 9)) == 0:
        return b"\0binary " + draw(st.binary(max_size=20))
    lines = draw(st.lists(st.sampled_from(LINES), max_size=12))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final_newline: bool = draw(st.booleans())
    end = newline if lines and final_newline else ""
    return (newline.join(lines) + end).encode()


@st.composite
def histories(draw: st.DrawFn) -> dict[str, dict[str, bytes | None]]:
    """Per file, its content in each of `STATES`; each state keeps the previous
    content or changes it."""
    found: dict[str, dict[str, bytes | None]] = {}
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True)):
        states: dict[str, bytes | None] = {}
        previous = draw(contents())
        for state in STATES:
            if state != "base" and draw(st.booleans()):
                previous = draw(contents())
            states[state] = previous
        found[name] = states
    return found


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def put(repo: GitRepo, states: dict[str, dict[str, bytes | None]], state: str) -> None:
    for name, versions in states.items():
        path = repo.path / name
        data = versions[state]
        if data is None:
            path.unlink(missing_ok=True)
        else:
            repo.write_bytes(name, data)


def git_bytes(repo: GitRepo, *args: str, codes: tuple[int, ...] = (0,)) -> bytes:
    done = subprocess.run(["git", *args], cwd=repo.path, capture_output=True, check=False)
    assert done.returncode in codes, (args, done.stderr)
    return done.stdout


def added_lines(repo: GitRepo, old: Path, new: Path) -> frozenset[int]:
    """What `git diff --no-index -U0 old new` says was added: the hunk headers only.
    A body line always starts with `+`, `-`, ` ` or `\\`, so `@@ ` starts a header."""
    patch = git_bytes(
        repo,
        "diff",
        "--no-index",
        "--no-color",
        "--no-ext-diff",
        "-U0",
        "--",
        str(old),
        str(new),
        codes=(0, 1),
    )
    lines: set[int] = set()
    for line in patch.split(b"\n"):
        if match := _HUNK.match(line):
            start, count = int(match.group(1)), int(match.group(2) or b"1")
            lines.update(range(start, start + count))
    return frozenset(lines)


def what_git_says(repo: GitRepo, scratch: Path, *, staged: bool) -> dict[str, frozenset[int]]:
    """Changed lines per file, asking git about one file at a time."""
    where = ("--cached",) if staged else ()
    listing = git_bytes(repo, "diff", "-z", "--name-status", "--find-renames", *where, "main", "--")
    fields = iter(listing.split(b"\0"))
    pairs: list[tuple[str | None, str]] = []  # (path at the base, path now)
    for status in fields:
        if not status:
            continue
        first = next(fields).decode("utf-8", "surrogateescape")
        if status[:1] in (b"R", b"C"):
            pairs.append((first, next(fields).decode("utf-8", "surrogateescape")))
        elif status != b"D":
            pairs.append((None if status == b"A" else first, first))
    if not staged:
        others = git_bytes(repo, "ls-files", "-z", "--others", "--exclude-standard")
        pairs += [(None, n.decode("utf-8", "surrogateescape")) for n in others.split(b"\0") if n]
    found: dict[str, frozenset[int]] = {}
    folder = Path(tempfile.mkdtemp(dir=scratch))
    for number, (old_path, path) in enumerate(pairs):
        old = folder / f"{number}.old"
        old.write_bytes(git_bytes(repo, "show", f"main:{old_path}") if old_path else b"")
        new = folder / f"{number}.new"
        new.write_bytes(
            git_bytes(repo, "show", f":{path}") if staged else (repo.path / path).read_bytes()
        )
        lines = added_lines(repo, old, new)
        if lines:
            found[path] = lines
    return found


@COSTLY
@given(states=histories())
def test_changed_lines_are_what_git_diff_says_file_by_file(
    scratch: Path, states: dict[str, dict[str, bytes | None]]
) -> None:
    fuzzkit.ran("git: changed lines in real repositories")
    repo = GitRepo(Path(tempfile.mkdtemp(dir=scratch)) / "repo")
    repo.write("README.md", "base\n")
    put(repo, states, "base")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    put(repo, states, "committed")
    repo.commit("feature")
    put(repo, states, "staged")
    repo.git("add", "-A")
    put(repo, states, "worktree")

    for staged in (False, True):
        found = Facts(settings_of(repo, base="main"), staged=staged).get(changed_lines)
        assert dict(found) == what_git_says(repo, scratch, staged=staged), staged
