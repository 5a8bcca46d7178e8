"""Replays: run one test file at a past state of the repository, in a temporary worktree.

`mode = "red-green"` asks for evidence that a test failed before the implementation
changed. A replay checks out the commit where the test landed into a temporary
`git worktree`, puts the implementation file back as it was before its change, and
runs `python -m pytest -x` on the test with a tiny probe plugin that records how
each test ended. Only a test that *fails* in its call phase counts as red; a
collection error or an import error is not red, it only shows the code was missing.

Replays are slow, so they are bounded (`gates.tdd.replay_limit`), cached by the
exact state they ran on (`.tddgate/replay-cache.json`), and always cleaned up: the
worktree is removed and pruned in `close()`, which `with` guarantees.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.errors import ToolError
from pytest_tddgate.facts.git import REPOSITORY_ENV, git
from pytest_tddgate.fsutil import atomic_write_text
from pytest_tddgate.proc import run

if TYPE_CHECKING:
    from types import TracebackType

CACHE = ".tddgate/replay-cache.json"
CACHE_VERSION = 1
CACHE_SIZE = 500
PROBE_MODULE = "tddgate_replay_probe"
_CACHED_KINDS = frozenset(
    {"red", "green", "collection-error", "import-error", "setup-error", "no-tests"}
)
_NOT_RED = frozenset({"ImportError", "ModuleNotFoundError", "SyntaxError"})

# every `--tddgate*` option of plugin.py: the replay disables the real plugin (so a
# project whose addopts says `--tddgate` does not recurse into its own gates), and the
# probe accepts these options instead so that such addopts still parse
PROBE_FLAGS = ("--tddgate", "--tddgate-no-learn")
PROBE_VALUES = (
    "--tddgate-base",
    "--tddgate-role",
    "--tddgate-only",
    "--tddgate-skip",
    "--tddgate-report",
    "--tddgate-markdown",
    "--tddgate-sarif",
    "--tddgate-html",
    "--tddgate-shard",
)

PROBE_SOURCE = f'''"""pytest-tddgate replay probe: records how each test ended, as JSON."""
import json
import os

FLAGS = {PROBE_FLAGS!r}
VALUES = {PROBE_VALUES!r}
RESULTS = {{"passed": [], "failed": [], "collect_errors": []}}


def pytest_addoption(parser):
    group = parser.getgroup("tddgate-replay")
    for name in FLAGS:
        group.addoption(name, action="store_true", dest="probe_" + name[2:])
    for name in VALUES:
        group.addoption(name, dest="probe_" + name[2:])


def pytest_configure(config):
    config.addinivalue_line("markers", "req(*ids): requirement link (tddgate replay)")


def pytest_collectreport(report):
    if report.failed:
        RESULTS["collect_errors"].append([report.nodeid, _crash(report)])


def pytest_runtest_logreport(report):
    if report.failed:
        RESULTS["failed"].append([report.nodeid, report.when, _crash(report)])
    elif report.when == "call" and report.passed:
        RESULTS["passed"].append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):
        return
    RESULTS["exitstatus"] = int(exitstatus)
    with open(os.environ["TDDGATE_REPLAY_OUT"], "w", encoding="utf-8") as handle:
        json.dump(RESULTS, handle)


def _crash(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if getattr(crash, "message", None):
        return crash.message.strip().splitlines()[0][:300]
    # a collection error: its last `E   ` line names the exception, not a temp path
    lines = str(report.longrepr).strip().splitlines()
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[-1][:300]
'''


@dataclass(frozen=True, slots=True)
class State:
    """A tree to replay on: a commit, with some files replaced (None: removed).
    Paths are relative to the git top folder."""

    commit: str
    files: tuple[tuple[str, bytes | None], ...] = ()

    def key(self, test: str) -> str:
        parts = [sys.executable, sys.version, self.commit, test]
        parts += [
            f"{path}\0{hashlib.sha1(data).hexdigest() if data is not None else '-'}"
            for path, data in sorted(self.files, key=lambda item: item[0])
        ]
        return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a replayed test file ended.

    kind: red (a test failed in its call phase), green (tests ran and passed),
    collection-error, import-error (failed only on ImportError / SyntaxError),
    setup-error (a fixture failed), no-tests, or - not judged - broken, timeout, limit.
    """

    kind: str
    detail: str = ""
    cached: bool = False

    @property
    def judged(self) -> bool:
        return self.kind in _CACHED_KINDS


class Replayer:
    """Runs replays in one temporary worktree, created on first use."""

    def __init__(
        self,
        toplevel: Path,
        root: Path,
        *,
        source_roots: tuple[str, ...],
        limit: int,
        timeout: float,
    ) -> None:
        self.toplevel = toplevel
        self.prefix = os.path.relpath(root, toplevel) if root != toplevel else ""
        self.source_roots = source_roots
        self.limit = limit
        self.timeout = timeout
        self.used = 0
        self.cache_path = root / CACHE
        self._cache: dict[str, dict[str, str]] | None = None
        self._dirty = False
        self._temp: Path | None = None

    def __enter__(self) -> Replayer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def replay(self, state: State, test: str) -> Outcome:
        """Run `test` (a path relative to the git top folder) on `state`."""
        key = state.key(test)
        cached = self._load_cache().get(key)
        if cached is not None:
            return Outcome(cached["kind"], cached.get("detail", ""), cached=True)
        if self.used >= self.limit:
            return Outcome("limit", f"replay limit ({self.limit}) reached")
        self.used += 1
        try:
            outcome = self._run(state, test)
        except ToolError as exc:
            outcome = Outcome("broken", exc.message)
        if outcome.judged:
            self._cache_put(key, outcome)
        return outcome

    def _run(self, state: State, test: str) -> Outcome:
        tree = self._checkout(state)
        probe_out = self._temp_dir() / "probe.json"
        with contextlib.suppress(FileNotFoundError):
            probe_out.unlink()
        cwd = tree / self.prefix if self.prefix else tree
        target = os.path.relpath(tree / test, cwd)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:tddgate",
            "-p",
            PROBE_MODULE,
            "--rootdir",
            str(cwd),
            target,
        ]
        try:
            done = run(
                command,
                cwd=cwd,
                ok_codes=tuple(range(256)),
                timeout=self.timeout,
                env=self._env(cwd, probe_out),
            )
        except ToolError as exc:
            kind = "timeout" if exc.returncode is None else "broken"
            return Outcome(kind, exc.message)
        return classify(probe_out, done.returncode, done.text + done.stderr)

    def _env(self, cwd: Path, probe_out: Path) -> dict[str, str]:
        # no repository variables of a git hook, and no coverage hand-over of the run
        # that started this one (pytest-cov's COV_CORE_*, coverage's process start):
        # a replay must not add its lines to the user's measurement
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in REPOSITORY_ENV
            and not k.startswith("COV_CORE_")
            and k != "COVERAGE_PROCESS_START"
        }
        paths = [str(self._temp_dir())]
        for source in self.source_roots:
            folder = cwd / source
            # a source root that is a package itself is imported from its parent
            paths.append(str(folder.parent if (folder / "__init__.py").is_file() else folder))
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(paths),
                "PYTHONDONTWRITEBYTECODE": "1",
                "TDDGATE_REPLAY_OUT": str(probe_out),
            }
        )
        return env

    def _checkout(self, state: State) -> Path:
        tree = self._temp_dir() / "tree"
        if not tree.exists():
            git(["worktree", "prune"], self.toplevel, isolated=True)
            git(
                ["worktree", "add", "--detach", "--force", str(tree), state.commit],
                self.toplevel,
                isolated=True,
                timeout=self.timeout,
            )
        else:
            git(
                ["checkout", "-q", "-f", "--detach", state.commit],
                tree,
                isolated=True,
                timeout=self.timeout,
            )
            git(["clean", "-q", "-ffdx"], tree, isolated=True, timeout=self.timeout)
        for path, data in state.files:
            target = tree / path
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return tree

    def _temp_dir(self) -> Path:
        if self._temp is None:
            self._temp = Path(tempfile.mkdtemp(prefix="tddgate-replay-"))
            (self._temp / f"{PROBE_MODULE}.py").write_text(PROBE_SOURCE, encoding="utf-8")
        return self._temp

    def close(self) -> None:
        """Remove the worktree and its folder, and save the cache; never raises."""
        temp, self._temp = self._temp, None
        if temp is not None:
            tree = temp / "tree"
            if tree.exists():
                with contextlib.suppress(ToolError):
                    git(["worktree", "remove", "--force", str(tree)], self.toplevel, isolated=True)
            with contextlib.suppress(ToolError):
                git(["worktree", "prune"], self.toplevel, isolated=True)
            shutil.rmtree(temp, ignore_errors=True)
        if self._dirty and self._cache is not None:
            self._dirty = False
            entries = dict(list(self._cache.items())[-CACHE_SIZE:])
            with contextlib.suppress(OSError):
                atomic_write_text(
                    self.cache_path,
                    json.dumps({"version": CACHE_VERSION, "entries": entries}, indent=1) + "\n",
                )

    def _load_cache(self) -> dict[str, dict[str, str]]:
        if self._cache is None:
            try:
                data = json.loads(self.cache_path.read_text(encoding="utf-8"))
                entries = data["entries"] if data.get("version") == CACHE_VERSION else {}
                self._cache = {
                    str(k): {"kind": str(v["kind"]), "detail": str(v["detail"])}
                    for k, v in entries.items()
                }
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self._cache = {}  # a cache, not an input: start afresh
        return self._cache

    def _cache_put(self, key: str, outcome: Outcome) -> None:
        cache = self._load_cache()
        cache.pop(key, None)
        cache[key] = {"kind": outcome.kind, "detail": outcome.detail}
        self._dirty = True


def classify(probe_out: Path, returncode: int, output: str) -> Outcome:
    """Turn the probe's record (and pytest's exit code) into an `Outcome`."""
    try:
        data = json.loads(probe_out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = " | ".join(output.strip().splitlines()[-3:])
        return Outcome("broken", f"pytest exited {returncode} without a result: {tail}")
    if data["collect_errors"]:
        nodeid, message = data["collect_errors"][0]
        return Outcome("collection-error", f"{nodeid or 'collection'}: {message}")
    failed = [(nodeid, when, message) for nodeid, when, message in data["failed"]]
    calls = [f for f in failed if f[1] == "call"]
    red = [f for f in calls if message_type(f[2]) not in _NOT_RED]
    if red:
        return Outcome("red", f"{red[0][0]} failed: {red[0][2]}")
    if calls:
        return Outcome("import-error", f"{calls[0][0]}: {calls[0][2]}")
    if failed:
        return Outcome("setup-error", f"{failed[0][0]} ({failed[0][1]}): {failed[0][2]}")
    if data["passed"]:
        return Outcome("green", f"{len(data['passed'])} passed")
    return Outcome("no-tests", f"no test ran (pytest exit {data.get('exitstatus')})")


def message_type(message: str) -> str:
    """`ModuleNotFoundError: No module named 'x'` -> `ModuleNotFoundError`."""
    head = message.split(":", 1)[0].strip()
    return head.rsplit(".", 1)[-1] if head.replace(".", "").replace("_", "").isalnum() else ""
