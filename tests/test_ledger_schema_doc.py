"""docs/ledger.md documents the schema a real ledger has: every table, column and index,
under the version the code writes."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path

from pytest_tddgate.facts.ledger_store import SCHEMA_VERSION
from tests.ledgerkit import Project, outcome

DOC = Path(__file__).resolve().parents[1] / "docs" / "ledger.md"


def documented_section() -> tuple[int, str]:
    """(the version in the heading, the text of the schema section)."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"^## Schema, version (\d+)\n(.*?)^## ", text, re.MULTILINE | re.DOTALL)
    assert found, "docs/ledger.md has no `## Schema, version N` section"
    return int(found.group(1)), found.group(2)


def documented_tables(section: str) -> dict[str, list[str]]:
    """Table name -> column names, from the ```sql block of the schema section."""
    block = section.split("```sql\n", 1)[1].split("```", 1)[0]
    code = "\n".join(line.split("--", 1)[0] for line in block.splitlines())
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(r"^(\w+) \(((?:[^()]|\([^()]*\))*)\)", code, re.MULTILINE):
        parts = re.split(r",(?![^()]*\))", body)
        tables[name] = [part.split()[0] for part in parts if part.strip()]
    return tables


def real_schema(ledger: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(table -> columns, index -> columns) of a ledger the code wrote."""
    with contextlib.closing(sqlite3.connect(ledger)) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = {n: [c[1] for c in conn.execute(f"PRAGMA table_info({n})")] for n in names}
        indexes = {
            row[0]: [c[2] for c in conn.execute(f"PRAGMA index_info({row[0]})")]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    return tables, indexes


def test_the_documented_schema_is_the_one_written(tmp_path: Path) -> None:
    project = Project(tmp_path / "proj")
    project.record(outcome("tests/test_calc.py::test_add", "failed"))
    version, section = documented_section()
    tables, indexes = real_schema(project.ledger)

    assert version == SCHEMA_VERSION
    documented = documented_tables(section)
    # schema_version is described in prose: its app, version and created_at
    assert tables.pop("schema_version") == ["app", "version", "created_at"]
    for column in ("app", "version", "created_at"):
        assert f"`{column}" in section
    assert documented == tables
    for name, columns in re.findall(r"`(\w+) \(([^)]*)\)`", section.split("Indexes:", 1)[1]):
        assert indexes.get(name) == [c.strip() for c in columns.split(",")], name
