"""Shard files: one CI machine's part of a suite, for `tddgate combine` to judge.

`pytest --tddgate --tddgate-shard=PATH` runs some of the tests, measures as usual and
writes one file here instead of judging: the tests it collected and their outcomes,
its coverage measurement (coverage.py's own data, dumped) and per-test lines, the
commit, and the digest of the settings that decide verdicts. Every path in it is
relative to the project root, so shards may run in other folders and on other
machines. The static gates (tdd, roles, ruff, mypy) need nothing from a shard:
`tddgate combine` runs in a checkout of the same commit and reads git itself.

The file is JSON, gzip-compressed, written atomically; `schema` names its version.
Imports no pytest and no coverage.py.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pytest_tddgate.facts.testrun import CollectError, TestOutcome, TestRun
from pytest_tddgate.fsutil import atomic_write_bytes

SCHEMA = "tddgate-shard/1"
_GZIP_MAGIC = b"\x1f\x8b"


class ShardError(Exception):
    """A shard file that cannot be used: unreadable, corrupt, or not a shard file."""


@dataclass(frozen=True, slots=True)
class Collection:
    """What a shard collected: its own tests, the ones it deselected (`-k`,
    pytest-split), and whether the two together are the whole suite (no test paths
    were given, so pytest collected its `testpaths`)."""

    selected: tuple[str, ...] = ()
    deselected: tuple[str, ...] = ()
    whole: bool = False
    known: bool = True  # False: a worker crashed before it said what it collected
    keyword: str = ""  # `-k`
    markexpr: str = ""  # `-m`
    splits: int | None = None  # pytest-split's `--splits N --group G`
    group: int | None = None


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard file, read."""

    source: str  # the file it was read from, for messages
    shard_id: str  # unique per shard run: the same file given twice is told apart
    commit: str | None  # None: not a git checkout, or no commit yet
    project: str  # the project root, relative to the top of the git checkout
    settings_digest: str
    label: str  # how the shard chose its tests, e.g. `-k slow` or `--group 2`
    tests: TestRun
    collection: Collection = field(default_factory=Collection)
    # {"measured_by", "payloads": [{data, core, notes, contexts}], "silent": [...]};
    # None: coverage did not run in the shard
    coverage: Mapping[str, Any] | None = None
    tool_version: str = ""
    # pytest's `testpaths` relative to the project root: combine resolves the same
    # settings from them when the root has no pytest configuration of its own
    testpaths: tuple[str, ...] = ()


def document(shard: Shard) -> dict[str, Any]:
    """The JSON document of a shard file."""
    run = shard.tests
    return {
        "schema": SCHEMA,
        "tool_version": shard.tool_version,
        "shard_id": shard.shard_id,
        "commit": shard.commit,
        "project": shard.project,
        "settings_digest": shard.settings_digest,
        "label": shard.label,
        "tests": {
            "outcomes": [asdict(o) for o in run.outcomes],
            "collect_errors": [asdict(e) for e in run.collect_errors],
            "collect_skips": list(run.collect_skips),
            "exitstatus": run.exitstatus,
            "interrupted": run.interrupted,
        },
        "collection": asdict(shard.collection),
        "coverage": shard.coverage,
        "testpaths": list(shard.testpaths),
    }


def first_testpaths(paths: Sequence[Path]) -> list[str]:
    """The `testpaths` the first readable shard file recorded ([] when none is)."""
    for path in paths:
        try:
            return list(read(path).testpaths)
        except ShardError:
            continue
    return []


def write(shard: Shard, path: Path) -> None:
    """Write the shard file atomically (gzip-compressed JSON)."""
    text = json.dumps(document(shard), separators=(",", ":"), sort_keys=True)
    # level 6: a tenth of level 9's time on a shard of click, 3 % larger
    atomic_write_bytes(path, gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0))


def read(path: Path) -> Shard:
    """Read one shard file; `ShardError` says what is wrong with it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ShardError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw
        data = json.loads(text)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise ShardError(f"{path}: corrupt, not a readable shard file ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else None
        what = f"schema {found!r}" if found else "no shard schema"
        raise ShardError(f"{path}: not a {SCHEMA} shard file ({what})")
    try:
        return _shard(str(path), data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ShardError(f"{path}: corrupt shard file ({type(exc).__name__}: {exc})") from None


def _shard(source: str, data: Mapping[str, Any]) -> Shard:
    tests = data["tests"]
    run = TestRun.build(
        tuple(_outcome(o) for o in tests["outcomes"]),
        tuple(CollectError(**e) for e in tests["collect_errors"]),
        int(tests["exitstatus"]),
        bool(tests["interrupted"]),
        tuple(str(n) for n in tests["collect_skips"]),
    )
    collection = data["collection"]
    coverage = data.get("coverage")
    if coverage is not None and not isinstance(coverage.get("payloads"), list):
        raise ValueError("coverage without payloads")
    return Shard(
        source=source,
        shard_id=str(data["shard_id"]),
        commit=data["commit"] if data["commit"] is None else str(data["commit"]),
        project=str(data["project"]),
        settings_digest=str(data["settings_digest"]),
        label=str(data.get("label", "")),
        tests=run,
        collection=Collection(
            selected=_strings(collection["selected"]),
            deselected=_strings(collection["deselected"]),
            whole=bool(collection["whole"]),
            known=bool(collection.get("known", True)),
            keyword=str(collection.get("keyword") or ""),
            markexpr=str(collection.get("markexpr") or ""),
            splits=_number(collection.get("splits")),
            group=_number(collection.get("group")),
        ),
        coverage=coverage,
        tool_version=str(data.get("tool_version", "")),
        testpaths=_strings(data.get("testpaths", [])),
    )


def _outcome(raw: Mapping[str, Any]) -> TestOutcome:
    return TestOutcome(**{**raw, "requirements": tuple(raw.get("requirements", ()))})


def _number(value: Any) -> int | None:
    return None if value is None else int(value)


def _strings(values: Sequence[Any]) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise TypeError("expected a list of node ids")
    return tuple(str(v) for v in values)
