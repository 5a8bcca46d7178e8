"""Fuzzing the baseline file (.tddgate-baseline.json) and the JSON report it sits beside.

Any content ends in a `Baseline` or a `UsageError` naming the file. Whatever loads
can be written back (`tddgate baseline` rewrites the entries it keeps), and what is
written loads as the same counts, byte-identical on a second save.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tddgate.commands.matrix import print_table, table_rows
from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import baseline as bl
from pytest_tddgate.facts.matrix import load
from pytest_tddgate.model import Report
from pytest_tddgate.report import json_report
from tests import fuzzkit

FIELDS = ("gate", "path", "rule", "message", "source")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def loaded(path: Path, data: bytes) -> bl.Baseline | UsageError:
    path.write_bytes(data)
    try:
        baseline = bl.load(path)
    except UsageError as exc:
        assert str(path) in exc.render()
        assert "tddgate baseline --force" in (exc.fix or "")
        fuzzkit.outcome(f"usage error: {' '.join(exc.message.split()[:3])}")
        return exc
    # `tddgate baseline` writes back what it keeps: that must always be possible
    text = bl.render(baseline.counts)
    text.encode("utf-8")
    assert bl.load(_write(path, text)).counts == baseline.counts
    fuzzkit.outcome("baseline")
    return baseline


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_baseline_or_a_usage_error(folder: Path, data: bytes) -> None:
    fuzzkit.ran("baseline: random bytes")
    loaded(folder / "b.json", data)


entries = st.one_of(
    fuzzkit.json_values(),
    st.fixed_dictionaries(
        {name: fuzzkit.odd_text(surrogates=True) for name in FIELDS},
        optional={"count": st.integers() | fuzzkit.json_values(), "extra": st.integers()},
    ),
)


@given(
    schema=st.sampled_from([bl.SCHEMA, "tddgate-baseline/2", None]),
    findings=st.lists(entries, max_size=4) | fuzzkit.json_values(),
)
def test_any_findings_give_a_baseline_or_a_usage_error(
    folder: Path, schema: str | None, findings: Any
) -> None:
    fuzzkit.ran("baseline: any JSON findings")
    doc = {"schema": schema, "findings": findings}
    loaded(folder / "b.json", json.dumps(doc).encode())


fingerprints = st.builds(
    bl.Fingerprint,
    *(fuzzkit.odd_text() for _ in FIELDS),
)
count_maps = st.dictionaries(fingerprints, st.integers(1, 10**9), max_size=6)


@given(counts=count_maps)
def test_saved_counts_load_back_and_save_again_changes_nothing(
    folder: Path, counts: dict[bl.Fingerprint, int]
) -> None:
    fuzzkit.ran("baseline: save/load round trip")
    path = folder / "round.json"
    path.unlink(missing_ok=True)
    assert bl.save(path, counts) is True
    before = path.read_bytes()
    assert bl.load(path).counts == counts
    assert bl.save(path, counts) is False
    assert path.read_bytes() == before


@given(text=count_maps.map(bl.render).flatmap(fuzzkit.mutated))
def test_a_hand_damaged_baseline_gives_a_baseline_or_a_usage_error(folder: Path, text: str) -> None:
    fuzzkit.ran("baseline: mutated file")
    loaded(folder / "b.json", text.encode("utf-8"))


def test_a_half_character_in_the_baseline_is_a_usage_error(tmp_path: Path) -> None:
    entry = dict.fromkeys(FIELDS, "x") | {"message": "bad \ud800"}
    result = loaded(
        tmp_path / "b.json", json.dumps({"schema": bl.SCHEMA, "findings": [entry]}).encode()
    )
    assert isinstance(result, UsageError)
    assert result.key == "findings[0].message"


# -- the JSON report: read back by `tddgate matrix` and `--update` --------------------


@given(data=st.binary(max_size=200) | fuzzkit.json_values().map(lambda v: json.dumps(v).encode()))
def test_any_report_file_is_a_report_or_a_usage_error(folder: Path, data: bytes) -> None:
    fuzzkit.ran("report: any content")
    path = folder / "report.json"
    path.write_bytes(data)
    try:
        report = json_report.load(path)
    except UsageError as exc:
        assert str(path) in exc.render()
        return
    assert isinstance(report, Report)


@given(doc=fuzzkit.json_values())
def test_any_report_shaped_json_is_a_report_or_a_usage_error(folder: Path, doc: Any) -> None:
    fuzzkit.ran("report: report-shaped JSON")
    path = folder / "report.json"
    base = {"schema": "tddgate-report/1", "passed": True, "gates": [], "requirements": []}
    key = ("gates", "requirements", "passed", "base", "role")[len(str(doc)) % 5]
    value = doc if key not in ("gates", "requirements") else [doc]
    path.write_text(json.dumps(base | {key: value}), encoding="utf-8")
    try:
        json_report.load(path)
    except UsageError as exc:
        assert str(path) in exc.render()


@given(doc=fuzzkit.json_values(surrogates=False))
def test_tddgate_matrix_shows_any_report_it_can_load(folder: Path, doc: Any) -> None:
    fuzzkit.ran("report: shown by tddgate matrix")
    (folder / "m.json").write_text('[{"id": "R-1"}]', encoding="utf-8")
    matrix = load(folder / "m.json", folder)
    assert matrix is not None
    path = folder / "report.json"
    requirement = {"id": "R-1", "status": "passing", "tests": [], "coverage_percent": 50.0}
    key = ("head", "generated_at", "status", "tests", "coverage_percent")[len(str(doc)) % 5]
    if key in requirement:
        requirement[key] = doc
        doc = None
    body = {"schema": "tddgate-report/1", "gates": [], "requirements": [requirement]}
    path.write_text(json.dumps(body | {key: doc} if doc is not None else body), encoding="utf-8")
    try:
        report = json_report.load(path)
    except UsageError:
        fuzzkit.outcome("usage error")
        return
    fuzzkit.outcome("report")
    print_table(table_rows(matrix, report), report, matrix, io.StringIO())
