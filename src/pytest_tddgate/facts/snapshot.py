"""The index as files on disk, for the tools that read files: ruff and mypy.

`tddgate check --staged` judges what `git commit` would record. The tdd and roles
gates read the index through git, but ruff and mypy read files, so the staged
contents are written (`git checkout-index`, which applies the same filters as a
checkout) into a temporary folder and the tools run there, with the configuration
files as staged too. Only what the tools read is written: Python sources, stubs,
notebooks, and the files that configure ruff and mypy, so a large repository costs
little more than a small one. Paths the tools print are made relative to the
project's counterpart in that folder, so they read exactly like a run on the tree.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pytest_tddgate.errors import FactError
from pytest_tddgate.facts.git import git

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


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A temporary folder holding the staged files; removed when the process ends."""

    top: Path  # the checkout's top folder, as staged
    root: Path  # the project root's counterpart inside `top`


def staged_snapshot(facts: Facts) -> Snapshot:
    """Write the staged files the tools read into a temporary folder (a fact: once)."""
    root = facts.settings.root
    top = _toplevel(facts)
    prefix = root.resolve().relative_to(top).as_posix() if root.resolve() != top else ""
    listing = git(["ls-files", "-z", "--stage"], top).stdout  # from the top: every path
    wanted = _wanted(listing.decode("utf-8", errors="surrogateescape"), prefix)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX)).resolve()
    # the folder must outlive the tools that run in the background; the process ends soon
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if wanted:
        paths = "\0".join(wanted) + "\0"
        git(
            ["checkout-index", "--force", f"--prefix={folder}/", "-z", "--stdin"],
            top,
            stdin=paths.encode("utf-8", errors="surrogateescape"),
        )
    return Snapshot(folder, folder / prefix if prefix else folder)


def _toplevel(facts: Facts) -> Path:
    """The checkout's top folder: from the revisions the other gates read anyway, so
    that the copy costs no extra git process, else asked for."""
    from pytest_tddgate.facts.git import revisions

    try:
        return facts.get(revisions).toplevel.resolve()
    except FactError:
        out = git(["rev-parse", "--show-toplevel"], facts.settings.root).text
        return Path(out.strip()).resolve()


def _wanted(listing: str, prefix: str) -> list[str]:
    """Index paths (from the top) the tools read: sources below the project root, and
    configuration files there or in a folder above it (ruff and mypy look upwards)."""
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
            wanted.append(path)
    return wanted
