"""Coverage as plain data, shared by the coverage, traceability and tdd gates.

The session measures coverage (see facts/coverage.py) and hands a `CoverageFacts` to
the gates as `facts.provided["coverage"]`; it is absent when coverage did not run.
After a run with per-test contexts, the map "test file -> implementation files it
executed" is saved to `.tddgate/test-map.json`, so that later runs (and `tddgate
check`, which runs no tests) can map tests to code from the last recorded run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TEST_MAP = ".tddgate/test-map.json"


@dataclass(frozen=True, slots=True)
class FileCoverage:
    """Lines of one measured file (repo-relative path, 1-based line numbers)."""

    path: str
    executable: frozenset[int]
    executed: frozenset[int]


@dataclass(frozen=True, slots=True)
class CoverageFacts:
    """One run's measurement: per file, and per test (node id) when contexts were on."""

    files: Mapping[str, FileCoverage]
    # test node id -> {repo-relative file -> executed lines}; empty without contexts
    contexts: Mapping[str, Mapping[str, frozenset[int]]] = field(default_factory=dict)


def load_test_map(root: Path) -> dict[str, frozenset[str]]:
    """test file -> implementation files it executed, from the last recorded run.

    A missing or unreadable map is an empty map: it is a cache, not an input.
    """
    try:
        raw = json.loads((root / TEST_MAP).read_text(encoding="utf-8"))
        return {str(k): frozenset(map(str, v)) for k, v in raw["tests"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
