"""The baseline file and fingerprints, as plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.facts import baseline as bl
from pytest_tddgate.facts.toolparse import ToolFinding
from tests.tooltesting import write

A = bl.Fingerprint("ruff", "src/a.py", "F401", "`os` imported but unused", "import os")
B = bl.Fingerprint("mypy", "src/b.py", "assignment", "Incompatible types", 'x: int = "s"')
C = bl.Fingerprint("ruff", "src/b.py", "unformatted", "file is not formatted", "")


def finding(
    line: int | None, message: str = "Name already defined on line 3", *, whole_file: bool = False
) -> ToolFinding:
    return ToolFinding("mypy", "src/m.py", line, "no-redef", message, whole_file=whole_file)


def test_render_is_sorted_and_load_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"

    assert bl.save(path, {A: 1, C: 1, B: 2}) is True

    assert bl.load(path).counts == {A: 1, B: 2, C: 1}
    assert bl.render({C: 1, B: 2, A: 1}) == path.read_text("utf-8")
    rows = json.loads(path.read_text("utf-8"))["findings"]
    assert [(r["gate"], r["path"]) for r in rows] == [
        ("mypy", "src/b.py"),
        ("ruff", "src/a.py"),
        ("ruff", "src/b.py"),
    ]
    assert bl.save(path, {B: 2, A: 1, C: 1}) is False  # nothing to change: not rewritten


def test_an_empty_baseline_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    bl.save(path, {})

    assert path.read_text("utf-8") == '{\n  "schema": "tddgate-baseline/1",\n  "findings": []\n}\n'
    assert bl.load(path).counts == {}
    assert bl.load(tmp_path / "absent.json").exists is False


def test_fingerprints_have_no_line_numbers(tmp_path: Path) -> None:
    write(tmp_path, {"src/m.py": "x = 1\n\n\ndef  f( ):   pass\n"})
    lines = bl.SourceLines(tmp_path)

    print_ = bl.fingerprint(finding(4), lines)

    assert print_.source == "def f( ): pass"  # whitespace collapsed
    assert print_.message == "Name already defined on line N"
    assert bl.fingerprint(finding(4, "Name already defined on line 7"), lines) == print_
    assert bl.fingerprint(finding(4, whole_file=True), lines).source == ""
    assert bl.fingerprint(finding(99), lines).source == ""  # a line past the end


def test_judge_counts_identical_findings(tmp_path: Path) -> None:
    write(tmp_path, {"src/m.py": "f()\nf()\nf()\n"})
    recorded = bl.fingerprints([finding(1), finding(2)], tmp_path)
    base = bl.Baseline(tmp_path / "b.json", dict(recorded), exists=True)

    mypy, ruff = bl.Scope(frozenset({"mypy"})), bl.Scope(frozenset({"ruff"}))

    judged = bl.judge(base, mypy, [finding(3), finding(1), finding(2)], tmp_path)

    assert [f.line for f in judged.baselined] == [1, 2]
    assert [f.line for f in judged.new] == [3]
    assert judged.fixed == 0
    assert bl.judge(base, mypy, [finding(2)], tmp_path).fixed == 1
    assert bl.judge(base, ruff, [finding(2)], tmp_path).new == (finding(2),)  # other gate


def test_the_ratchet_only_tightens() -> None:
    old = bl.Baseline(Path("b.json"), {A: 2, B: 1, C: 1}, exists=True)

    ruff, both = bl.Scope(frozenset({"ruff"})), bl.Scope(frozenset({"ruff", "mypy"}))

    result = bl.ratchet(old, {A: 3, C: 1}, ruff)

    assert result.counts == {A: 2, B: 1, C: 1}  # mypy's entry is kept: mypy did not run
    assert result.refused == ((A, 1),)
    assert result.dropped == 0
    tighter = bl.ratchet(old, {A: 1}, both)
    assert (tighter.counts, tighter.refused, tighter.dropped) == ({A: 1}, (), 3)
    forced = bl.ratchet(old, {A: 3}, ruff, accept_new=True)
    assert (forced.counts, forced.refused) == ({A: 3, B: 1}, ())


def test_switched_off_checks_keep_their_entries(tmp_path: Path) -> None:
    old = bl.Baseline(tmp_path / "b.json", {A: 1, C: 1}, exists=True)
    no_format = bl.Scope(frozenset({"ruff"}), frozenset({("ruff", "unformatted")}))

    assert bl.ratchet(old, {A: 1}, no_format).counts == {A: 1, C: 1}
    assert bl.judge(old, no_format, [], tmp_path).fixed == 1  # only A is gone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{nope", ":1:2: baseline is not valid JSON: Expecting property name"),
        ("[]", ": baseline must be a JSON object with `schema` and `findings`"),
        ('{"schema": "v0", "findings": []}', ": schema: baseline has schema 'v0', expected"),
        (
            '{"schema": "tddgate-baseline/1", "findings": [], "extra": 1}',
            ": extra: baseline unknown key `extra`",
        ),
        (
            '{"schema": "tddgate-baseline/1", "findings": {}}',
            ": findings: baseline must be a list of findings",
        ),
        (
            '{"schema": "tddgate-baseline/1", "findings": [3]}',
            ": findings[0]: baseline must be an object",
        ),
        (
            '{"schema": "tddgate-baseline/1", "findings": [{"gate": "ruff"}]}',
            ": findings[0].path: baseline must be a string, got NoneType",
        ),
        (
            '{"schema": "tddgate-baseline/1", "findings": [{"gate": "ruff", "path": "a",'
            ' "rule": "F", "message": "m", "source": "", "count": 0}]}',
            ": findings[0].count: baseline must be a whole number >= 1, got 0",
        ),
        (
            '{"schema": "tddgate-baseline/1", "findings": [{"gate": "ruff", "path": "a",'
            ' "rule": "F", "message": "m", "source": "", "cuont": 2}]}',
            ": findings[0].cuont: baseline unknown key `cuont`",
        ),
    ],
)
def test_a_malformed_file_names_file_place_and_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / ".tddgate-baseline.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(UsageError) as caught:
        bl.load(path)

    rendered = caught.value.render()
    assert rendered.startswith(str(path) + expected)
    assert "fix: restore it from version control (`git checkout -- .tddgate-baseline.json`)" in (
        rendered
    )
    assert "`tddgate baseline --force`" in rendered
