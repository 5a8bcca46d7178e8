"""A measurement's paths, relative to the project root in a shard file and absolute
again where `tddgate combine` runs (shard/covmerge.py renames them as it merges).

A payload is what an xdist worker sends (facts/coverage.py `Measurement.payload`,
plus the per-test lines of covcontexts.py): coverage.py's data dumped as base64, the
core, notes, and per-test numbits keyed by file. Files inside the project root get a
relative `a/b.py`; files outside (an installed copy in site-packages) keep their
absolute name, for the project's `[paths]` to map when the combined data is reported.
coverage.py is imported only when there is data to convert.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PORTABLE = "portable"  # the key that marks a payload whose names are relative


def portable(payload: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """A payload measured under `root`, with project files named relative to it (once:
    a payload converted already is returned as it is)."""
    if payload.get(PORTABLE):
        return dict(payload)
    real = os.path.realpath(root)

    def inside(name: str) -> str:
        rel = os.path.relpath(name, real) if Path(name).is_absolute() else name
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            return name
        return rel.replace(os.sep, "/")

    return {**_converted(payload, inside), PORTABLE: True}


def absolute_under(root: Path) -> Callable[[str], str]:
    """The renaming back: a shard's relative names made absolute under `root`."""
    real = os.path.realpath(root)

    def absolute(name: str) -> str:
        return name if Path(name).is_absolute() else os.path.join(real, *name.split("/"))  # noqa: PTH118

    return absolute


def _converted(payload: Mapping[str, Any], rename: Callable[[str], str]) -> dict[str, Any]:
    converted = dict(payload)
    if payload.get("data"):
        converted["data"] = _renamed_data(str(payload["data"]), rename)
    contexts = payload.get("contexts") or {}
    names: dict[str, str] = {}  # a few files, named again by every test: rename each once
    converted["contexts"] = {
        str(context): {_once(names, rename, str(name)): bits for name, bits in files.items()}
        for context, files in contexts.items()
    }
    return converted


def _once(names: dict[str, str], rename: Callable[[str], str], name: str) -> str:
    found = names.get(name)
    if found is None:
        found = names[name] = rename(name)
    return found


def _renamed_data(encoded: str, rename: Callable[[str], str]) -> str:
    """coverage.py's data (base64 of `CoverageData.dumps()`) with every file renamed,
    through coverage.py's own `update(map_path=...)`: lines, arcs, file tracers and
    contexts all follow."""
    from coverage import CoverageData

    source = CoverageData(no_disk=True)
    target = CoverageData(no_disk=True)
    try:
        source.loads(base64.b64decode(encoded))
        target.update(source, map_path=rename)
        return base64.b64encode(target.dumps()).decode("ascii")
    finally:
        source.close(force=True)
        target.close(force=True)
