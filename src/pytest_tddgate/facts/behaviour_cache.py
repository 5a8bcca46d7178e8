"""What the behaviour comparison (facts/behaviour.py) depends on besides the code,
and its verdicts kept between runs: the project's coverage exclusions, read with
coverage.py's own configuration reader, and `.tddgate/behaviour-cache.json`."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from pytest_tddgate.fsutil import atomic_write_text

# coverage.py's DEFAULT_EXCLUDE (coverage/config.py, 7.18), used when the project
# configures no exclusion: reading the configuration imports coverage.py (~40 ms)
DEFAULT_EXCLUDE = (
    r"#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER)",
    r"^\s*(((async )?def .*?)?[\])]+(\s*->.*?)?:\s*)?\.\.\.\s*(#|$)",
    r"^\s*if (typing\.)?TYPE_CHECKING:",
)
_CONFIG_FILES = (".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml")
CACHE = ".tddgate/behaviour-cache.json"
RULES = 3  # raise it whenever what counts as keeping behaviour changes: the cache is reset
_CACHE_SIZE = 50_000  # pairs kept: the most recently added


def exclusions(root: Path) -> tuple[str, ...]:
    """The regexes of lines the project's coverage configuration excludes."""
    if "COVERAGE_RCFILE" not in os.environ and not any(
        b"exclude" in _read(root / name) for name in _CONFIG_FILES
    ):
        return DEFAULT_EXCLUDE  # nothing configured: no need to import coverage.py
    try:
        from coverage.config import read_coverage_config
    except ImportError:
        return DEFAULT_EXCLUDE
    before = Path.cwd()
    try:
        os.chdir(root)  # coverage.py finds its configuration in the current folder
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = read_coverage_config(config_file=True, warn=lambda *_: None)
        return tuple(config.exclude_list)
    except Exception:  # a broken configuration: the coverage gate says so
        return DEFAULT_EXCLUDE
    finally:
        os.chdir(before)


def config_key(root: Path) -> str:
    """What the verdicts depend on besides the blobs, as a short key: these rules and
    the coverage configuration files (a verdict kept for a pair of blobs holds while
    both are unchanged)."""
    seed = f"{RULES}\0{os.environ.get('COVERAGE_RCFILE', '')}"
    digest = hashlib.blake2b(seed.encode(), digest_size=8)
    for name in _CONFIG_FILES:
        digest.update(b"\0" + _read(root / name))
    return digest.hexdigest()


class Verdicts:
    """Which pairs of blobs behave alike, kept between runs in
    `.tddgate/behaviour-cache.json` (blob ids name contents, so a verdict never goes
    stale but with the coverage configuration): the pre-commit hook asks about the
    same range on every commit, and parsing costs more than the rest of the gate.
    A missing or broken cache is empty; one that cannot be written is skipped."""

    def __init__(self, root: Path) -> None:
        self.path = root / CACHE
        self._root = root
        self._pairs: dict[str, bool] | None = None
        self._config = ""
        self._dirty = False

    def get(self, old: str, new: str) -> bool | None:
        return self._load().get(f"{old}:{new}")

    def put(self, old: str, new: str, same: bool) -> None:
        self._load()[f"{old}:{new}"] = same
        self._dirty = True

    def _load(self) -> dict[str, bool]:
        if self._pairs is None:
            self._config = config_key(self._root)
            self._pairs = {}
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("config") == self._config:
                    pairs = data.get("pairs")
                    if isinstance(pairs, dict):
                        self._pairs = {k: v for k, v in pairs.items() if isinstance(v, bool)}
            except (OSError, ValueError):
                pass
        return self._pairs

    def save(self) -> None:
        if not self._dirty or self._pairs is None:
            return
        self._dirty = False
        kept = dict(list(self._pairs.items())[-_CACHE_SIZE:])
        text = json.dumps({"config": self._config, "pairs": kept}, separators=(",", ":"))
        try:
            atomic_write_text(self.path, text + "\n")
        except OSError:
            return


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
