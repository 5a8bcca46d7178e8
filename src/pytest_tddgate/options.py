"""The options table: every setting declared once, as a dataclass field.

A field's metadata is its row (kind, help, CLI flag, env var, whether it is a path),
so validation (settings.py), the `--help` text (plugin.py) and the configuration
reference in docs/ (refdoc.py) are all derived from it and cannot drift. The
dataclasses are also the resolved values: a frozen `Settings` holds one per gate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_tddgate.model import Waiver

SECTION = "tool.tddgate"
BUILTIN_GATES = ("tests", "tdd", "traceability", "roles", "coverage", "ruff", "mypy")


def opt(
    default: Any,
    help: str,
    *,
    kind: str,
    nullable: bool = False,
    choices: tuple[str, ...] = (),
    cli: str | None = None,
    env: str | None = None,
    path: bool = False,
    minimum: float | None = None,
) -> Any:
    """Declare one option: its default, its one-line help and how to validate it.

    `kind` is one of bool, int, float, str, strs (a list of strings); `path` marks a
    path that must stay inside the repository; `minimum` is the smallest value an
    int or float may take.
    """
    meta = {
        "help": help,
        "kind": kind,
        "nullable": nullable,
        "choices": choices,
        "cli": cli,
        "env": env,
        "path": path,
        "minimum": minimum,
    }
    return field(default=default, metadata=meta)


def _enabled(gate: str) -> Any:
    return opt(True, f"Run the `{gate}` gate.", kind="bool")


def _optional() -> Any:
    return opt(
        False, "A `fail` or `error` of this gate is shown but does not fail the run.", kind="bool"
    )


@dataclass(frozen=True, slots=True)
class GateSection:
    """`[tool.tddgate.gates.<name>]` of a third-party gate: switches plus its own keys."""

    enabled: bool = True
    optional: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TestsSettings:
    enabled: bool = _enabled("tests")
    optional: bool = _optional()


@dataclass(frozen=True, slots=True)
class TddSettings:
    enabled: bool = _enabled("tdd")
    optional: bool = _optional()
    mode: str = opt(
        "order",
        "What to prove: a mapped test exists, it came first, or it was red first.",
        kind="str",
        choices=("existence", "order", "red-green"),
    )
    same_commit: bool = opt(
        True, "A test changed in the same commit as the code counts as first.", kind="bool"
    )
    granularity: str = opt(
        "file",
        "`file`: the first change of a file needs a test before it; "
        "`commit`: every commit that changes it does.",
        kind="str",
        choices=("file", "commit"),
    )
    exempt: tuple[str, ...] = opt(
        ("**/conftest.py", "**/_version.py"),
        "Gitignore-style globs of implementation files that need no test "
        "(`__init__.py` files without code are always exempt).",
        kind="strs",
    )
    naming: tuple[str, ...] = opt(
        ("test_{stem}.py", "{stem}_test.py"),
        "Test file names that map to an implementation file `{stem}.py`.",
        kind="strs",
    )
    replay_limit: int = opt(
        10, "Most replays in a temporary worktree per run (mode red-green).", kind="int"
    )
    replay_timeout: float = opt(
        300.0,
        "Seconds one replay may run before it counts as unproven (mode red-green).",
        kind="float",
    )


@dataclass(frozen=True, slots=True)
class TraceabilitySettings:
    enabled: bool = _enabled("traceability")
    optional: bool = _optional()
    id_pattern: str | None = opt(
        None, "Regular expression every requirement id must match.", kind="str", nullable=True
    )
    orphan_code: bool = opt(
        True,
        "Report `code` files that no linked test executes (needs coverage contexts).",
        kind="bool",
    )


@dataclass(frozen=True, slots=True)
class RolesSettings:
    enabled: bool = _enabled("roles")
    optional: bool = _optional()
    unknown_role: str = opt(
        "fail",
        "What a change whose role cannot be determined does.",
        kind="str",
        choices=("fail", "skip"),
    )


@dataclass(frozen=True, slots=True)
class CoverageSettings:
    enabled: bool = _enabled("coverage")
    optional: bool = _optional()
    total: float | None = opt(
        None,
        "Minimum total coverage in percent (none: measured, not judged).",
        kind="float",
        nullable=True,
    )
    new: float | None = opt(
        80.0,
        "Minimum coverage of lines changed since the base, in percent.",
        kind="float",
        nullable=True,
    )
    new_per_file: float | None = opt(
        None, "Minimum new-code coverage of each changed file.", kind="float", nullable=True
    )
    min_new_lines: int = opt(
        0,
        "Below this many changed executable lines the `new` condition is not applied.",
        kind="int",
    )
    new_functions: bool = opt(
        True,
        "Every function, method and class changed since the base has a line run by a "
        "test, whatever the percentages (`untested-new-function`).",
        kind="bool",
    )
    scope: str = opt(
        "all",
        "`changed`: measure only files changed since the base (no total).",
        kind="str",
        choices=("all", "changed"),
    )
    probes: bool = opt(
        True,
        "Measure with probes compiled into the measured files instead of coverage.py's "
        "tracer, when the project's coverage settings allow it (same numbers, a "
        "fraction of the cost); false: always trace.",
        kind="bool",
    )
    no_probes: tuple[str, ...] = opt(
        (),
        "Gitignore-style globs of measured files that coverage.py's tracer measures "
        "instead of the probes (code that inspects its own code objects, such as "
        "`co_names`).",
        kind="strs",
    )
    contexts: bool = opt(
        True,
        "Record which lines each test ran (for the `tdd` and `traceability` gates and "
        "`.tddgate/test-map.json`).",
        kind="bool",
    )

    @property
    def changed_only(self) -> bool:
        """Only the changed files are measured: `scope = "changed"` and no `total` to
        judge (with one, the gate refuses the configuration, see gates/coverage.py)."""
        return self.scope == "changed" and self.total is None


@dataclass(frozen=True, slots=True)
class RuffSettings:
    enabled: bool = _enabled("ruff")
    optional: bool = _optional()
    format: bool = opt(True, "Also run `ruff format --check`.", kind="bool")
    args: tuple[str, ...] = opt(
        (),
        "Extra arguments for `ruff check` (paths default to the project's own ruff config).",
        kind="strs",
    )
    timeout: float = opt(
        120.0, "Seconds before ruff is stopped and the gate says `error`.", kind="float"
    )


@dataclass(frozen=True, slots=True)
class MypySettings:
    enabled: bool = _enabled("mypy")
    optional: bool = _optional()
    args: tuple[str, ...] = opt(
        (),
        "Extra arguments for mypy; when one is not an option, they replace the default "
        "targets (the `files` of the project's mypy config, else the source roots).",
        kind="strs",
    )
    timeout: float = opt(
        600.0, "Seconds before mypy is stopped and the gate says `error`.", kind="float"
    )


GATE_SECTIONS: dict[str, type[Any]] = {
    "tests": TestsSettings,
    "tdd": TddSettings,
    "traceability": TraceabilitySettings,
    "roles": RolesSettings,
    "coverage": CoverageSettings,
    "ruff": RuffSettings,
    "mypy": MypySettings,
}


@dataclass(frozen=True, slots=True)
class ProjectOptions:
    """The top-level keys of `[tool.tddgate]`."""

    source: tuple[str, ...] | None = opt(
        None,
        "Source roots (default: `src/` if it exists, else the top-level packages).",
        kind="strs",
        nullable=True,
    )
    tests: tuple[str, ...] | None = opt(
        None,
        "Test roots (default: pytest's `testpaths`, else `tests/`).",
        kind="strs",
        nullable=True,
    )
    base: str | None = opt(
        None,
        "Git revision the range starts from (default: merge-base "
        "with origin/HEAD, origin/main, main or master).",
        kind="str",
        nullable=True,
        cli="--tddgate-base",
        env="TDDGATE_BASE",
    )
    role: str | None = opt(
        None,
        "Role of uncommitted changes and of commits without a `Role:` trailer or member entry.",
        kind="str",
        nullable=True,
        cli="--tddgate-role",
        env="TDDGATE_ROLE",
    )
    matrix: str = opt(
        "traceability_matrix.json", "Traceability matrix file.", kind="str", path=True
    )
    roles: str = opt("tddgate-roles.yaml", "Role rules file.", kind="str", path=True)
    expertise: str = opt("docs/expertise.md", "Where learnings are written.", kind="str", path=True)
    baseline: str = opt(
        ".tddgate-baseline.json",
        "Recorded ruff / mypy findings that do not fail.",
        kind="str",
        path=True,
    )
    report: str = opt(
        ".tddgate/report.json", "JSON report path.", kind="str", path=True, cli="--tddgate-report"
    )
    markdown: str | None = opt(
        None,
        "Markdown report path.",
        kind="str",
        nullable=True,
        path=True,
        cli="--tddgate-markdown",
    )
    sarif: str | None = opt(
        None,
        "SARIF 2.1.0 report path.",
        kind="str",
        nullable=True,
        path=True,
        cli="--tddgate-sarif",
    )
    html: str | None = opt(
        None,
        "Folder for the HTML report.",
        kind="str",
        nullable=True,
        path=True,
        cli="--tddgate-html",
    )
    ledger: str = opt(".tddgate/ledger.sqlite3", "Run ledger (SQLite).", kind="str", path=True)
    ledger_keep: int = opt(
        500, "Runs kept in the ledger (at least 1); older ones are pruned.", kind="int", minimum=1
    )
    learn: bool | None = opt(
        None,
        "Update expertise learnings (default: on, off when `CI` is set).",
        kind="bool",
        nullable=True,
    )
    only: tuple[str, ...] = opt((), "Run only these gates.", kind="strs", cli="--tddgate-only")
    check_gates: tuple[str, ...] = opt(
        ("tdd", "traceability", "roles", "ruff"),
        "Gates `tddgate check` runs when `--only` is not given (`tests` and `coverage` "
        "need a test run; `mypy` is left out because its cold start takes seconds).",
        kind="strs",
    )
    skip: tuple[str, ...] = opt((), "Do not run these gates.", kind="strs", cli="--tddgate-skip")
    guard_stop_blocks: int = opt(
        5,
        "Most times `tddgate guard` blocks a coding agent from stopping in one session "
        "(then it stops, with the findings shown).",
        kind="int",
        minimum=1,
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know, resolved once and never changed."""

    root: Path
    project: ProjectOptions
    gates: Mapping[str, Any]  # gate name -> its section dataclass (GateSection for plugins)
    waivers: tuple[Waiver, ...] = ()
    source_roots: tuple[str, ...] = ()
    test_roots: tuple[str, ...] = ()
    learn: bool = True
    config_file: Path | None = None

    def gate(self, name: str) -> Any:
        return self.gates.get(name, GateSection())

    def path(self, value: str) -> Path:
        """A path option as an absolute path (options are relative to the project root)."""
        return (self.root / value).resolve()

    @property
    def tdd(self) -> TddSettings:
        return self.gates["tdd"]  # type: ignore[no-any-return]

    @property
    def coverage(self) -> CoverageSettings:
        return self.gates["coverage"]  # type: ignore[no-any-return]

    @property
    def ruff(self) -> RuffSettings:
        return self.gates["ruff"]  # type: ignore[no-any-return]

    @property
    def mypy(self) -> MypySettings:
        return self.gates["mypy"]  # type: ignore[no-any-return]

    @property
    def traceability(self) -> TraceabilitySettings:
        return self.gates["traceability"]  # type: ignore[no-any-return]

    @property
    def roles(self) -> RolesSettings:
        return self.gates["roles"]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Overrides:
    """Values from the command line (None: not given)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    learn: bool | None = None  # False for --tddgate-no-learn


def options_table() -> list[tuple[str, dataclasses.Field[Any]]]:
    """Every option as (dotted key, field): the single source for docs and validation."""
    rows = [(f.name, f) for f in dataclasses.fields(ProjectOptions)]
    for gate, section in GATE_SECTIONS.items():
        rows += [(f"gates.{gate}.{f.name}", f) for f in dataclasses.fields(section)]
    rows.append(("waivers", _WAIVERS_FIELD))
    return rows


_WAIVERS_FIELD: Any = field(
    default=(),
    metadata={
        "help": "`[[tool.tddgate.waivers]]` tables: gate, path, rule, reason, owner, "
        "expires (see docs/waivers.md).",
        "kind": "tables",
        "nullable": False,
        "choices": (),
        "cli": None,
        "env": None,
        "path": False,
    },
)
_WAIVER_KEYS = ("gate", "path", "rule", "reason", "owner", "expires")
