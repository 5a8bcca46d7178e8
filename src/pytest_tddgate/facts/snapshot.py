"""The index as files on disk, for the tools that read files: ruff and mypy.

`tddgate check --staged` judges what `git commit` would record. The tdd and roles
gates read the index through git, but ruff and mypy read files, so the staged
contents are written (`git checkout-index`, which applies the same filters as a
checkout) into a folder outside the project and the tools run there, with the
configuration files as staged too. Only what the tools read is written: Python
sources, stubs, notebooks, and the files that configure ruff and mypy. Paths the
tools print are made relative to the project's counterpart in that folder, so they
read exactly like a run on the working tree.

The folder is kept between runs, one per checkout and user, and synced: only the
entries whose staged blob changed since the last run are written again. A commit
usually changes a few files, so the hook costs a `git ls-files` plus those few
files, and the unchanged ones keep their times, which keeps ruff's cache and mypy's
warm. When another run holds the folder (two hooks at once), or it cannot be
trusted (not ours, a link), a fresh temporary folder is written instead.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts.git import git
from pytest_tddgate.fsutil import atomic_write_bytes

if TYPE_CHECKING:
    from pytest_tddgate.facts import Facts

# what ruff and mypy read besides sources: their configuration, and the ignore files
# that ruff honours (`respect-gitignore`)
_SUFFIXES = (".py", ".pyi", ".ipynb")
_CONFIG_NAMES = frozenset(
    {
        "pyproject.toml",
        "ruff.toml",
        ".ruff.toml",
        "mypy.ini",
        ".mypy.ini",
        "setup.cfg",
        "py.typed",
        ".gitignore",
        ".ignore",
    }
)
_FILE_MODES = ("100644", "100755", "120000")  # not gitlinks (submodules)
PREFIX = "tddgate-staged-"
_MANIFEST = ".tddgate-manifest"  # "mode sha path" per written entry, as of the last sync
_LOCK = ".tddgate-lock"
_KEEP_DAYS = 7


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A folder holding the staged files the tools read."""

    top: Path  # the checkout's top folder, as staged
    root: Path  # the project root's counterpart inside `top`
    # the kept folder's lock, held while the tools read it; None: a fresh folder
    lock: IO[bytes] | None = field(default=None, compare=False)

    @property
    def kept(self) -> bool:
        """True: the folder is kept between runs (tools may use their caches)."""
        return self.lock is not None

    def release(self) -> None:
        """Once the tools are done: unlock the kept folder, or remove a fresh one."""
        if self.lock is not None:
            self.lock.close()
        else:
            shutil.rmtree(self.top, ignore_errors=True)


def release_snapshot(facts: Facts) -> None:
    """Release the run's copy of the index, if it made one (see `Snapshot.release`)."""
    if facts.known(staged_snapshot):
        try:
            facts.get(staged_snapshot).release()
        except FactError:
            return


def staged_snapshot(facts: Facts) -> Snapshot:
    """Write the staged files the tools read into a folder (a fact: once per run)."""
    root = facts.settings.root.resolve()
    top = _toplevel(facts)
    prefix = root.relative_to(top).as_posix() if root != top else ""
    listing = git(["ls-files", "-z", "--stage"], top).stdout  # from the top: every path
    entries = _wanted(listing.decode("utf-8", errors="surrogateescape"), prefix)
    kept = _kept_folder(top)
    if kept is None:
        folder = Path(tempfile.mkdtemp(prefix=PREFIX)).resolve()
        # removed by `release`; this is for a run that ends before it gets there
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _checkout(top, folder, [path for _, _, path in entries])
        return Snapshot(folder, _project_folder(folder, prefix))
    folder, lock = kept
    try:
        _sync(top, folder, entries)
    except BaseException:
        lock.close()
        raise
    return Snapshot(folder, _project_folder(folder, prefix), lock)


def _project_folder(folder: Path, prefix: str) -> Path:
    """The project root's counterpart; made even when nothing staged lies below it,
    since the tools run there."""
    root = folder / prefix if prefix else folder
    root.mkdir(parents=True, exist_ok=True)
    return root


def _toplevel(facts: Facts) -> Path:
    """The checkout's top folder: from the revisions the other gates read anyway, so
    that the copy costs no extra git process, else asked for."""
    from pytest_tddgate.facts.git import revisions

    try:
        return facts.get(revisions).toplevel.resolve()
    except FactError:
        out = git(["rev-parse", "--show-toplevel"], facts.settings.root).text
        return Path(out.strip()).resolve()


Entry = tuple[str, str, str]  # (mode, blob sha, path from the top)


def _wanted(listing: str, prefix: str) -> list[Entry]:
    """Index entries (paths from the top) the tools read: sources below the project
    root, and configuration files there or in a folder above it (ruff and mypy look
    upwards)."""
    above = {""}
    if prefix:
        above |= {"" if str(p) == "." else str(p) for p in PurePosixPath(prefix).parents}
    wanted = []
    for entry in listing.split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        # stage 0 only: an unmerged path has no single staged content to judge
        if len(fields) != 3 or fields[0] not in _FILE_MODES or fields[2] != "0":
            continue
        posix = PurePosixPath(path)
        inside = not prefix or path.startswith(prefix + "/")
        parent = "" if str(posix.parent) == "." else str(posix.parent)
        if (inside and posix.suffix in _SUFFIXES) or (
            posix.name in _CONFIG_NAMES and (inside or parent in above)
        ):
            wanted.append((fields[0], fields[1], path))
    return wanted


def _kept_folder(top: Path) -> tuple[Path, IO[bytes]] | None:
    """This checkout's folder and its lock, held; None when it is in use by another
    run or cannot be trusted (then the caller writes a fresh one)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, no kept folder
        return None
    uid = os.getuid()
    key = hashlib.sha256(str(top).encode("utf-8", errors="surrogateescape")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()).resolve() / f"{PREFIX}{uid}-{key}"
    try:
        if not folder.exists():
            _prune(folder.parent, f"{PREFIX}{uid}-")
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        # another user could have made the name first, in a shared temporary folder
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid:
            return None
        lock = (folder / _LOCK).open("ab")
    except OSError:
        return None
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return folder, lock


def _prune(parent: Path, mine: str) -> None:
    """Remove this user's folders of checkouts not checked for a week (deleted
    clones, throwaway repositories), so that they do not pile up."""
    import time

    old = time.time() - _KEEP_DAYS * 86400
    for sibling in parent.glob(f"{mine}*"):
        try:
            if sibling.lstat().st_mtime < old:
                shutil.rmtree(sibling, ignore_errors=True)
        except OSError:
            continue


def _sync(top: Path, folder: Path, entries: list[Entry]) -> None:
    """Make the folder hold exactly `entries`: write the changed ones, delete the gone."""
    before = _read_manifest(folder)
    now = {path: f"{mode} {sha}" for mode, sha, path in entries}
    if before is None:  # first run, or an unreadable manifest: start clean
        for child in folder.iterdir():
            if child.name != _LOCK:
                _remove(child)
        before = {}
    for path in before.keys() - now.keys():
        _remove(folder / path)
    changed = [path for path, blob in now.items() if before.get(path) != blob]
    # the manifest goes first: a run stopped halfway then rewrites everything next time
    (folder / _MANIFEST).unlink(missing_ok=True)
    _checkout(top, folder, changed)
    text = "".join(f"{blob}\t{path}\0" for path, blob in sorted(now.items()))
    atomic_write_bytes(folder / _MANIFEST, text.encode("utf-8", errors="surrogateescape"))


def _read_manifest(folder: Path) -> dict[str, str] | None:
    try:
        text = (folder / _MANIFEST).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    manifest = {}
    for line in filter(None, text.split("\0")):
        blob, tab, path = line.partition("\t")
        if not tab:
            return None
        manifest[path] = blob
    return manifest


def _checkout(top: Path, folder: Path, paths: list[str]) -> None:
    if paths:
        git(
            ["checkout-index", "--force", f"--prefix={folder}/", "-z", "--stdin"],
            top,
            stdin="\0".join(paths).encode("utf-8", errors="surrogateescape") + b"\0",
        )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
