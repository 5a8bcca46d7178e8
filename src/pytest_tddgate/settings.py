"""Settings: `[tool.tddgate]`, the pytest options and the environment, resolved once.

Every option is declared once, in the options table (options.py); this module reads
the sources, checks each value against its row and builds the frozen `Settings`.
Precedence: command line > environment > pyproject.toml > default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_tddgate.errors import UsageError
from pytest_tddgate.model import Waiver
from pytest_tddgate.options import (
    _WAIVER_KEYS,
    BUILTIN_GATES,
    GATE_SECTIONS,
    SECTION,
    CoverageSettings,
    GateSection,
    MypySettings,
    Overrides,
    ProjectOptions,
    RolesSettings,
    RuffSettings,
    Settings,
    TddSettings,
    TestsSettings,
    TraceabilitySettings,
    options_table,
)

# the options table is re-exported: `settings` is where callers find both
__all__ = [
    "BUILTIN_GATES",
    "GATE_SECTIONS",
    "SECTION",
    "CoverageSettings",
    "GateSection",
    "MypySettings",
    "Overrides",
    "ProjectOptions",
    "RolesSettings",
    "RuffSettings",
    "Settings",
    "TddSettings",
    "TestsSettings",
    "TraceabilitySettings",
    "default_sources",
    "default_tests",
    "load_pyproject",
    "options_table",
    "resolve",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load_pyproject(root: Path) -> tuple[dict[str, Any], Path | None, str]:
    """The `[tool.tddgate]` table of `root/pyproject.toml`, its path and its text."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}, None, ""
    # bytes, not read_text: universal newlines would turn a lone CR (invalid TOML, which
    # pip and tomllib.load reject) into LF, and line numbers would differ from theirs
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, column = _toml_position(exc)
        raise UsageError(
            f"not valid TOML ({str(exc).split(' (at')[0]})",
            file=path,
            line=line,
            column=column,
            fix='correct the syntax; `python -c "import tomllib,sys;'
            "tomllib.load(open('pyproject.toml','rb'))\"` shows the same error",
        ) from None
    table = data.get("tool", {}).get("tddgate", {})
    if not isinstance(table, dict):
        raise UsageError(
            "must be a table",
            file=path,
            key=f"[{SECTION}]",
            fix=f"write the settings under a `[{SECTION}]` header",
        )
    return table, path, text


def _toml_position(exc: Exception) -> tuple[int | None, int | None]:
    match = re.search(r"at line (\d+), column (\d+)", str(exc))
    if match:
        return int(match.group(1)), int(match.group(2))
    return None, None


def resolve(
    root: Path,
    *,
    overrides: Overrides | None = None,
    environ: Mapping[str, str] | None = None,
    testpaths: Sequence[str] = (),
    plugin_gates: Sequence[str] = (),
) -> Settings:
    """Read pyproject, environment and command line into one validated `Settings`."""
    root = root.resolve()
    overrides = overrides or Overrides()
    environ = os.environ if environ is None else environ
    table, file, text = load_pyproject(root)
    ctx = _Context(root, file, text)
    gate_names = (*BUILTIN_GATES, *(g for g in plugin_gates if g not in BUILTIN_GATES))

    allowed = {f.name for f in dataclasses.fields(ProjectOptions)} | {"gates", "waivers"}
    for key in table:
        if key not in allowed:
            ctx.unknown(key, key, sorted(allowed))

    values: dict[str, Any] = {}
    for f in dataclasses.fields(ProjectOptions):
        meta = f.metadata
        if meta["cli"] and overrides.values.get(f.name) is not None:
            values[f.name] = _from_cli(overrides.values[f.name], f, ctx)
        elif meta["env"] and environ.get(meta["env"]):
            values[f.name] = environ[meta["env"]]
        elif f.name in table:
            values[f.name] = ctx.check(table[f.name], f, f.name)
        else:
            if meta["path"] and isinstance(f.default, str):
                # the checkout decides what `.tddgate/` or `docs/` is: a link out counts
                ctx.inside_root(f.default, f.name)
            values[f.name] = f.default
    project = ProjectOptions(**values)
    for key in ("only", "skip"):
        for name in getattr(project, key):
            if name not in gate_names:
                _unknown_gate(
                    name,
                    key,
                    from_cli=overrides.values.get(key) is not None,
                    ctx=ctx,
                    valid=list(gate_names),
                )

    return Settings(
        root=root,
        project=project,
        gates=_gate_sections(table.get("gates", {}), gate_names, ctx),
        waivers=_waivers(table.get("waivers", []), gate_names, ctx),
        source_roots=project.source if project.source is not None else default_sources(root),
        test_roots=project.tests if project.tests is not None else default_tests(root, testpaths),
        learn=_learn(project, overrides, environ),
        config_file=file,
    )


def _learn(project: ProjectOptions, overrides: Overrides, environ: Mapping[str, str]) -> bool:
    if overrides.learn is False:
        return False
    if project.learn is not None:
        return project.learn
    # CI machines are thrown away: writing learnings there only produces noise in diffs
    return not environ.get("CI")


def _from_cli(value: Any, f: dataclasses.Field[Any], ctx: _Context) -> Any:
    if f.metadata["kind"] == "strs" and isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return value


def default_sources(root: Path) -> tuple[str, ...]:
    """`src/` if it exists, else the top-level packages (folders with `__init__.py`)."""
    if (root / "src").is_dir():
        return ("src",)
    skip = {"tests", "test", "docs", "benchmarks", "examples"}
    return tuple(
        sorted(
            p.name
            for p in root.iterdir()
            if p.is_dir() and p.name not in skip and (p / "__init__.py").is_file()
        )
    )


def default_tests(root: Path, testpaths: Sequence[str]) -> tuple[str, ...]:
    """pytest's `testpaths`, else `tests/` (or `test/` where only that exists)."""
    if testpaths:
        return tuple(testpaths)
    if not (root / "tests").is_dir() and (root / "test").is_dir():
        return ("test",)
    return ("tests",)


def _gate_sections(raw: Any, gate_names: Sequence[str], ctx: _Context) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ctx.error(
            "gates",
            "must be a table of gates",
            fix="write `[tool.tddgate.gates.coverage]` style tables",
        )
    for name in raw:
        if name not in gate_names:
            ctx.unknown(name, f"gates.{name}", list(gate_names), what="gate")
    sections: dict[str, Any] = {}
    for name in gate_names:
        given = raw.get(name, {})
        if not isinstance(given, dict):
            raise ctx.error(
                f"gates.{name}",
                "must be a table",
                fix=f"write `[tool.tddgate.gates.{name}]` with keys below it",
            )
        section_type = GATE_SECTIONS.get(name)
        if section_type is None:  # a third-party gate: switches checked, the rest its own
            switches = {f.name: f for f in dataclasses.fields(TestsSettings)}
            checked = {
                k: ctx.check(v, switches[k], f"gates.{name}.{k}")
                for k, v in given.items()
                if k in switches
            }
            extra = {k: v for k, v in given.items() if k not in switches}
            sections[name] = GateSection(**checked, extra=extra)
            continue
        fields = {f.name: f for f in dataclasses.fields(section_type)}
        for key in given:
            if key not in fields:
                ctx.unknown(key, f"gates.{name}.{key}", sorted(fields))
        sections[name] = section_type(
            **{k: ctx.check(v, fields[k], f"gates.{name}.{k}") for k, v in given.items()}
        )
    return sections


def _waivers(raw: Any, gate_names: Sequence[str], ctx: _Context) -> tuple[Waiver, ...]:
    if not isinstance(raw, list):
        raise ctx.error(
            "waivers",
            "must be an array of tables",
            fix="write each waiver under its own `[[tool.tddgate.waivers]]` header",
        )
    waivers = []
    for index, item in enumerate(raw):
        key = f"waivers[{index}]"
        if not isinstance(item, dict):
            raise ctx.error(key, "must be a table with gate, reason and owner")
        for name in item:
            if name not in _WAIVER_KEYS:
                ctx.unknown(name, f"{key}.{name}", list(_WAIVER_KEYS))
        for required in ("gate", "reason", "owner"):
            if not isinstance(item.get(required), str) or not item[required].strip():
                raise ctx.error(
                    f"{key}.{required}",
                    "is required (a non-empty string)",
                    fix="every waiver says which gate, why, and who owns it",
                )
        if item["gate"] not in gate_names:
            ctx.unknown(item["gate"], f"{key}.gate", list(gate_names), what="gate")
        for optional_key in ("path", "rule"):
            if optional_key in item and not isinstance(item[optional_key], str):
                raise ctx.error(f"{key}.{optional_key}", "must be a string")
        waivers.append(
            Waiver(
                gate=item["gate"],
                reason=item["reason"],
                owner=item["owner"],
                expires=_iso_date(item.get("expires"), f"{key}.expires", ctx),
                path=item.get("path"),
                rule=item.get("rule"),
            )
        )
    return tuple(waivers)


def _iso_date(value: Any, key: str, ctx: _Context) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ctx.error(key, f"must be a date, got {value!r}", fix="write e.g. `expires = 2027-03-31`")


@dataclass(frozen=True, slots=True)
class _Context:
    """Where values came from, so every error names the file, key and line."""

    root: Path
    file: Path | None
    text: str

    def error(self, key: str, message: str, fix: str | None = None) -> UsageError:
        return UsageError(
            message,
            file=self.file or "pyproject.toml",
            key=f"[{SECTION}] {key}",
            line=self.line_of(key),
            fix=fix,
        )

    def line_of(self, key: str) -> int | None:
        """Best-effort line of `key` in pyproject.toml (tomllib keeps no positions)."""
        last = re.split(r"[.\[\]]", key.rstrip("]"))
        name = next((part for part in reversed(last) if part and not part.isdigit()), key)
        pattern = re.compile(rf"^\s*\"?{re.escape(name)}\"?\s*=")
        # split on "\n" only, as TOML and editors count lines (not on U+2028 and kin)
        for number, line in enumerate(self.text.split("\n"), start=1):
            if pattern.match(line):
                return number
        return None

    def unknown(self, name: str, key: str, valid: Sequence[str], what: str = "key") -> None:
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`?" if close else f"valid: {', '.join(valid)}"
        raise self.error(
            key, f"unknown {what} `{name}`; {hint}", fix=f"use one of: {', '.join(valid)}"
        )

    def check(self, value: Any, f: dataclasses.Field[Any], key: str) -> Any:
        kind, choices = f.metadata["kind"], f.metadata["choices"]
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return self.at_least(value, f, key)
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(self.at_least(value, f, key))
        if kind == "str" and isinstance(value, str):
            if choices and value not in choices:
                self.unknown(value, key, list(choices), what="value")
            if f.metadata["path"]:
                self.inside_root(value, key)
            return value
        if kind == "strs" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        example = {
            "bool": "true",
            "int": "3",
            "float": "80",
            "str": '"text"',
            "strs": '["a", "b"]',
        }[kind]
        raise self.error(
            key,
            f"must be {_KIND_NAMES[kind]}, got {type(value).__name__} {value!r}",
            fix=f"write e.g. `{key.rsplit('.', 1)[-1]} = {example}`",
        )

    def at_least(self, value: float, f: dataclasses.Field[Any], key: str) -> Any:
        # e.g. `ledger_keep = 0` or `-1` (often meant as "unlimited") would prune the
        # ledger down to one run: a mistake to stop, not a value to clamp silently
        minimum = f.metadata["minimum"]
        if minimum is not None and value < minimum:
            raise self.error(
                key,
                f"must be at least {minimum}, got {value}",
                fix=f"write e.g. `{key.rsplit('.', 1)[-1]} = {f.default}`",
            )
        return value

    def inside_root(self, value: str, key: str) -> None:
        """Paths from a config file must not reach outside the repository."""
        candidate = Path(value)
        try:
            resolved = (self.root / candidate).resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # a NUL byte, a symlink loop
            raise self.error(
                key,
                f"path {value!r} cannot be used: {exc}",
                fix="use a plain path relative to the project root",
            ) from None
        # Python 3.13's lenient resolve() stops at a symlink loop instead of raising;
        # a resolved path that still goes through a link is that loop.
        if any(part.is_symlink() for part in (resolved, *resolved.parents)):
            raise self.error(
                key,
                f"path {value!r} cannot be used: a symbolic link loop",
                fix="use a plain path relative to the project root",
            )
        if candidate.is_absolute() or not resolved.is_relative_to(self.root):
            linked = not candidate.is_absolute() and ".." not in candidate.parts
            raise self.error(
                key,
                f"path `{value}` is outside the project folder {self.root}"
                + (f" (a symbolic link leads to {resolved})" if linked else ""),
                fix="replace the symbolic link by a folder or file of the project"
                if linked
                else "use a path relative to the project root, without `..`",
            )


_KIND_NAMES = {
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
    "str": "a string",
    "strs": "a list of strings",
}


def _unknown_gate(name: str, key: str, *, from_cli: bool, ctx: _Context, valid: list[str]) -> None:
    """An unknown gate in `only` / `skip`, named where the user wrote it: the option
    when it came from the command line, else the pyproject key."""
    if from_cli:
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"did you mean `{close[0]}`?" if close else f"valid: {', '.join(valid)}"
        raise UsageError(
            f"unknown gate `{name}`; {hint}",
            key=f"--tddgate-{key}",
            fix=f"use one of: {', '.join(valid)}",
        )
    ctx.unknown(name, key, valid, what="gate")
