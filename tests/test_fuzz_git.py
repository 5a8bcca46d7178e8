"""Fuzzing what git prints: the `-z` parsers, and real repositories with odd names.

The parsers get output generated the way git writes it (`--raw`, `--numstat`, `-z`,
our log format) for changes with any file name git can store: spaces, non-ASCII,
newlines (leading ones too), tabs, quotes, backslashes, leading dashes and colons,
and the separators our own format uses. Every change reads back exactly.

Real repositories then get such names committed, renamed, copied, deleted, made
binary and left uncommitted; `history` must report each change of each commit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tddgate.facts import Facts
from pytest_tddgate.facts.diff import changed_lines, parse_diff
from pytest_tddgate.facts.history import WORKTREE, Change, Commit, history, parse_changes, parse_log
from tests import fuzzkit
from tests.gitrepo import GitRepo
from tests.tddkit import settings_of

SRC = Path(__file__).resolve().parents[1] / "src"
HEX = "0123456789abcdef"
ZERO = "0" * 40
NAMES = (
    "a b.py",
    "\u00fc/\u00e9t\u00e9.py",
    "\nleading-newline.py",
    "new\nline.py",
    "tab\there.py",
    "-dash.py",
    "--double-dash.py",
    'double"quote.py',
    "single'quote.py",
    "back\\slash.py",
    ":colon.py",
    "\x1erecord-separator.py",
    "unit\x1fseparator.py",
    "semi;colon $HOME `x`.py",
    "*star?.py",
    "[brackets].py",
    "trailing space .py",
    "#hash.py",
    "\u65e5\u672c\u8a9e/\U0001f600.py",
    "deep/er/than/most/file.py",
)

paths = st.one_of(
    st.sampled_from(NAMES),
    fuzzkit.odd_text(min_size=1, max_size=30).filter(lambda p: "\0" not in p),
)
object_ids = st.text(HEX, min_size=40, max_size=40).filter(lambda s: s.strip("0") != "")


@st.composite
def changes(draw: st.DrawFn, *, numstat: bool) -> list[Change]:
    """Changes of one commit (or the working tree), each to a distinct path."""
    found: list[Change] = []
    for path in draw(st.lists(paths, max_size=6, unique=True)):
        status = draw(st.sampled_from("AMDTRC"))
        old_path = draw(paths.filter(path.__ne__)) if status in "RC" else None
        added: int | None = 0  # the log has no counts (facts/blobs.py counts lines)
        deleted: int | None = 0
        if numstat:  # binary files get `-`
            binary = not draw(st.integers(0, 5))
            added = None if binary else draw(st.integers(0, 10**6))
            deleted = None if binary else draw(st.integers(0, 10**6))
        found.append(
            Change(
                status,
                path,
                old_path,
                added,
                deleted,
                old_blob=None if status == "A" else draw(object_ids),
                new_blob=None if status == "D" else draw(object_ids),
            )
        )
    return found


def raw_z(items: list[Change]) -> str:
    """`--raw -z` entries as git prints them."""
    out = ""
    for change in items:
        score = "100" if change.status in "RC" else ""
        old, new = change.old_blob or ZERO, change.new_blob or ZERO
        old_mode = "000000" if change.status == "A" else "100644"
        new_mode = "000000" if change.status == "D" else "100644"
        out += f":{old_mode} {new_mode} {old} {new} {change.status}{score}\0"
        if change.old_path is not None:
            out += f"{change.old_path}\0"
        out += f"{change.path}\0"
    return out


def numstat_z(items: list[Change]) -> str:
    out = ""
    for change in items:
        counts = "-\t-" if change.added is None else f"{change.added}\t{change.deleted}"
        if change.old_path is not None:
            out += f"{counts}\t\0{change.old_path}\0{change.path}\0"
        else:
            out += f"{counts}\t{change.path}\0"
    return out


@given(items=changes(numstat=True))
def test_diff_output_reads_back_exactly(items: list[Change]) -> None:
    fuzzkit.ran("git: diff -z parser")
    output = raw_z(items) + numstat_z(items)
    assert parse_changes(output) == items


header_text = fuzzkit.odd_text(max_size=30).filter(lambda t: "\0" not in t and "\n" not in t)


@st.composite
def commits(draw: st.DrawFn) -> Commit:
    trailers = draw(
        st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
            st.lists(
                st.from_regex(r"[^\x00\n:]{1,12}", fullmatch=True).map(str.strip).filter(bool),
                min_size=1,
                max_size=2,
            ).map(tuple),
            max_size=3,
        )
    )
    return Commit(
        sha=draw(object_ids),
        parents=tuple(draw(st.lists(object_ids, max_size=2))),
        author_email=draw(header_text),
        author_name=draw(header_text),
        date="2026-01-02T03:04:05+00:00",
        subject=draw(header_text),
        trailers=trailers,
        changes=tuple(draw(changes(numstat=False))),
    )


def log_z(items: list[Commit]) -> str:
    """`git log -z --format=<_HEADER> --raw` as git prints it."""
    out = ""
    for commit in items:
        trailers = "".join(f"{k}: {v}\n" for k, values in commit.trailers.items() for v in values)
        fields = (
            commit.sha,
            " ".join(commit.parents),
            commit.author_email,
            commit.author_name,
            commit.date,
            commit.subject,
            trailers,
        )
        out += "\x1e" + "\0".join(fields) + "\0"
        if commit.changes:
            out += "\n" + raw_z(list(commit.changes))
    return out


@given(items=st.lists(commits(), max_size=4))
def test_log_output_reads_back_exactly(items: list[Commit]) -> None:
    fuzzkit.ran("git: log -z parser")
    assert parse_log(log_z(items)) == items


# -- real repositories ---------------------------------------------------------------

COSTLY = settings(max_examples=fuzzkit.examples(ci=8, long=400))


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def write(repo: GitRepo, name: str, data: bytes) -> None:
    target = repo.path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def content(name: str, salt: str) -> bytes:
    """Text unique to a file, long enough for git to detect a rename of it."""
    return "".join(f"line {i} of {name!r} {salt}\n" for i in range(20)).encode()


def statuses(commit: Commit) -> set[tuple[str, str, str | None]]:
    return {(c.status, c.path, c.old_path) for c in commit.changes}


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "modify", "delete", "rename", "binary", "copy"]),
        st.integers(0, 10**6),
    ),
    min_size=1,
    max_size=6,
)


@COSTLY
@given(
    names=st.lists(st.sampled_from(NAMES), min_size=2, max_size=6, unique=True), steps=operations
)
def test_a_real_history_with_odd_names_is_read_exactly(
    scratch: Path, names: list[str], steps: list[tuple[str, int]]
) -> None:
    fuzzkit.ran("git: real repositories")
    repo = GitRepo(Path(tempfile.mkdtemp(dir=scratch)) / "repo")
    repo.write("README.md", "base\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    present: list[str] = []
    spare = list(names)
    expected: list[set[tuple[str, str, str | None]]] = []
    for number, (step, seed) in enumerate(steps):
        done: set[tuple[str, str, str | None]] = set()
        if step in ("add", "copy") or not present:
            if not spare:
                continue
            name = spare.pop()
            source = present[seed % len(present)] if step == "copy" and present else None
            data = (repo.path / source).read_bytes() if source else content(name, str(seed))
            write(repo, name, data)
            present.append(name)
            done.add(("A", name, None))  # -M finds renames; copies show as additions
        else:
            name = present[seed % len(present)]
            if step == "modify":
                write(repo, name, content(name, f"v{number}"))
                done.add(("M", name, None))
            elif step == "binary":
                write(repo, name, b"\0\x01binary" + bytes(range(256)) * number)
                done.add(("M", name, None))
            elif step == "delete":
                (repo.path / name).unlink()
                present.remove(name)
                done.add(("D", name, None))
            elif spare:  # rename
                new = spare.pop()
                (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
                (repo.path / name).rename(repo.path / new)
                present[present.index(name)] = new
                done.add(("R", new, name))
        if done:
            repo.commit(f"step {number}\x1f{step}")
            expected.append(done)
    hist = Facts(settings_of(repo)).get(history)
    assert [statuses(c) for c in hist.commits] == expected
    assert all(re.fullmatch("step [0-9]+\x1f[a-z]+", c.subject) for c in hist.commits)


def test_uncommitted_and_untracked_odd_names_are_the_last_pseudo_commit(repo: GitRepo) -> None:
    for name in NAMES:
        repo.write(name, f"tracked {name!r}\n")
    repo.commit("base")
    tracked, untracked = NAMES[::2], NAMES[1::2]
    for name in tracked:
        repo.write(name, f"edited {name!r}\nand more\n")
    for name in untracked:
        (repo.path / name).unlink()
        repo.write(name + ".new", "x = 1\ny = 2\n")

    (worktree,) = Facts(settings_of(repo)).get(history).commits

    assert worktree.sha == WORKTREE
    found = {(c.status, c.path): (c.added, c.deleted) for c in worktree.changes}
    assert found == (
        {("M", n): (2, 1) for n in tracked}
        | {("D", n): (0, 1) for n in untracked}
        | {("A", n + ".new"): (2, 0) for n in untracked}
    )


def test_a_huge_diff_is_read_and_counted(repo: GitRepo) -> None:
    """100,000 changed lines in one file, 2,000 changed files."""
    repo.write("big.txt", "".join(f"old {i}\n" for i in range(100_000)))
    for i in range(2000):
        repo.write(f"many/f{i}.py", f"x = {i}\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("big.txt", "".join(f"new {i}\n" for i in range(100_000)))
    for i in range(2000):
        repo.write(f"many/f{i}.py", f"x = {i + 1}\n")
    repo.commit("rewrite everything")
    repo.write("big.txt", "".join(f"newer {i}\n" for i in range(100_000)))

    hist = Facts(settings_of(repo)).get(history)

    committed, worktree = hist.commits
    assert len(committed.changes) == 2001
    (big,) = [c for c in worktree.changes if c.path == "big.txt"]
    assert (big.added, big.deleted) == (100_000, 100_000)


def run_check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for name in ("TDDGATE_BASE", "TDDGATE_ROLE", "CI", "GITHUB_ACTIONS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "check", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_static_gates_judge_a_branch_of_odd_names(repo: GitRepo) -> None:
    """tdd, traceability and roles over odd names (also one that is not UTF-8): each
    gate says pass or fail, none crashes, the report holds every path it names."""
    repo.write("pyproject.toml", '[tool.tddgate]\nsource = ["src"]\n')
    repo.write("tddgate-roles.yaml", 'roles:\n  dev: {owns: ["src/**", "tests/**", "*.json"]}\n')
    repo.write("src/pkg/__init__.py", "")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    odd = [n for n in NAMES if "/" not in n]
    for name in odd:
        repo.write(f"tests/test_{name}", "def test_x():\n    assert True\n")
    repo.commit("tests first", trailers={"Role": "dev"})
    for name in odd:
        repo.write(f"src/pkg/{name}", "def f():\n    return 1\n")
    (repo.path / os.fsdecode(b"src/pkg/latin1-\xe9.py")).write_bytes(b"x = 1\n")
    repo.commit("code", trailers={"Role": "dev"})
    matrix = {"requirements": [{"id": "R-1", "tests": [f"tests/test_{odd[0]}"]}]}
    repo.write("traceability_matrix.json", json.dumps(matrix))

    done = run_check(repo.path, "--report", "out.json", "--role", "dev", "--skip", "ruff,mypy")

    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    report = json.loads((repo.path / "out.json").read_text(encoding="utf-8"))
    statuses = {g["name"]: g["status"] for g in report["gates"]}
    assert statuses["roles"] == "pass", [
        g["findings"] for g in report["gates"] if g["name"] == "roles"
    ]
    findings = {g["name"]: [(f["rule"], f["path"]) for f in g["findings"]] for g in report["gates"]}
    # every odd name found its test; the name git prints in Latin-1 reads as U+FFFD
    assert findings["tdd"] == [("test-not-first", "src/pkg/latin1-\ufffd.py")]


# -- `git diff -U0` (the coverage gate's changed lines) ------------------------------------

_C_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def git_quoted(path: str) -> str:
    """A path as git prints it in a patch header with core.quotepath=false."""
    data = path.encode("utf-8")
    if not any(b < 0x20 or b in (0x22, 0x5C, 0x7F) for b in data):
        return path
    out = ""
    for byte in data:
        if byte in _C_ESCAPES:
            out += _C_ESCAPES[byte]
        elif byte in (0x22, 0x5C):
            out += "\\" + chr(byte)
        elif byte < 0x20 or byte == 0x7F:
            out += f"\\{byte:03o}"
        else:
            out += chr(byte) if byte < 0x80 else bytes([byte]).decode("latin-1")
    return '"' + out.encode("latin-1").decode("utf-8") + '"'


def header(prefix: str, path: str) -> str:
    quoted = git_quoted(path)
    if quoted.startswith('"'):
        return '"' + prefix + quoted[1:]
    return prefix + quoted + ("\t" if " " in path else "")


line_text = fuzzkit.odd_text(max_size=30).map(lambda t: t.replace("\n", " "))


@st.composite
def patches(draw: st.DrawFn) -> tuple[str, dict[str, frozenset[int]]]:
    """A `git diff -U0` patch and the added lines per file it must give."""
    out, expected = "", {}
    for path in draw(st.lists(paths, max_size=4, unique=True)):
        kind = draw(st.sampled_from(["modified", "added", "deleted", "binary"]))
        old = "/dev/null" if kind == "added" else header("a/", path)
        new = "/dev/null" if kind == "deleted" else header("b/", path)
        out += f"diff --git {header('a/', path)} {header('b/', path)}\nindex 1..2 100644\n"
        if kind == "binary":
            out += f"Binary files {old} and {new} differ\n"
            continue
        out += f"--- {old}\n+++ {new}\n"
        start, added = 1, set[int]()
        for _ in range(draw(st.integers(1, 3))):
            start += draw(st.integers(0, 5))
            removed = 0 if kind == "added" else draw(st.integers(0, 3))
            count = 0 if kind == "deleted" else draw(st.integers(0 if removed else 1, 3))
            out += f"@@ -{start},{removed} +{start},{count} @@ {draw(line_text)}\n"
            out += "".join(f"-{draw(line_text)}\n" for _ in range(removed))
            # after the `+` of a body line, `++ b/evil` reads `+++ b/evil`: a file header
            tricky = st.sampled_from(
                ["++ b/evil", "+++ b/evil", "diff --git a/x b/x", "@@ -1 +1 @@"]
            )
            body = [draw(tricky | line_text) for _ in range(count)]
            out += "".join(f"+{text}\n" for text in body)
            if draw(st.booleans()):
                out += "\\ No newline at end of file\n"
            added.update(range(start, start + count))
            start += count
        if added:
            expected[path] = frozenset(added)
    return out, expected


@given(case=patches())
def test_a_patch_gives_exactly_its_added_lines(case: tuple[str, dict[str, frozenset[int]]]) -> None:
    fuzzkit.ran("git: diff -U0 parser")
    output, expected = case
    assert dict(parse_diff(output.encode("utf-8"))) == expected


def test_changed_lines_of_odd_names_in_a_real_repository(repo: GitRepo) -> None:
    names = [n for n in NAMES if "/" not in n]
    for name in names:
        repo.write(name, "".join(f"line {i}\n" for i in range(1, 11)))
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    committed, uncommitted = names[::2], names[1::2]
    for name in committed:
        text = (repo.path / name).read_text(encoding="utf-8").replace("line 3\n", "three\n")
        repo.write(name, text)
    repo.commit("change line 3")
    for name in uncommitted:
        text = (repo.path / name).read_text(encoding="utf-8").replace("line 7\n", "seven\n")
        repo.write(name, text + "eleven\n")
    repo.write("untracked \n odd.py", "a\nb\n")
    repo.git("config", "diff.noprefix", "true")  # a person's settings must not matter
    repo.git("config", "diff.mnemonicPrefix", "true")

    found = Facts(settings_of(repo, base="main")).get(changed_lines)

    assert found == (
        {n: frozenset({3}) for n in committed}
        | {n: frozenset({7, 11}) for n in uncommitted}
        | {"untracked \n odd.py": frozenset({1, 2})}
    )
