"""Fuzzing the outputs with the text a checkout controls.

Findings carry file names, commit subjects, test ids, tool messages and requirement
titles: text an author of the change under judgement chose. Whatever it holds, every
format renders: the JSON report reads back as the same report, SARIF is JSON with
one result per shown finding, no injected HTML tag survives into the HTML report or
the Markdown summary, and no injected line becomes a GitHub workflow command of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pytest_tddgate.model import Finding, GateResult, Report, RequirementStatus, Verdict, Waiver
from pytest_tddgate.report import github, html, json_report, markdown, sarif, terminal
from pytest_tddgate.settings import BUILTIN_GATES
from tests import fuzzkit
from tests.gitrepo import GitRepo

ROOT = Path(__file__).resolve().parents[1]

TAG = "<img src=x onerror=alert(1)>"
HOSTILE = (
    TAG,
    "</td></tr></table><script>alert(1)</script>",
    "\n::error file=x::forged",
    "\r\n::set-env name=X::1",
    "| --- |",
    "```\n# heading",
    "[link](javascript:alert(1))",
    "<!-- -->",
    "%0A::warning::x",
    "\x1b[31mred",
    "@everyone",
)
text = st.one_of(fuzzkit.odd_text(), st.sampled_from(HOSTILE), st.just(""))
maybe = st.none() | text
findings = st.builds(
    Finding,
    rule=text,
    message=text,
    path=maybe,
    line=st.none() | st.integers(0, 10**9),
    commit=maybe,
    requirement=maybe,
    hint=maybe,
    waiver=st.none()
    | st.builds(
        Waiver, gate=st.sampled_from(BUILTIN_GATES), reason=text, owner=text, expires=st.none()
    ),
)
gates = st.builds(
    GateResult,
    name=st.sampled_from(BUILTIN_GATES),
    status=st.sampled_from(list(Verdict)),
    summary=text,
    findings=st.lists(findings, max_size=4).map(tuple),
    metrics=st.dictionaries(
        st.sampled_from(["passed", "failed", "total_percent", "violations"]),
        st.none() | st.integers(-5, 10**6) | st.floats(0, 100) | text,
        max_size=3,
    ),
    optional=st.booleans(),
)
reports = st.builds(
    Report,
    gates=st.lists(gates, max_size=5, unique_by=lambda g: g.name).map(tuple),
    base=maybe,
    head=maybe,
    role=maybe,
    requirements=st.lists(
        st.builds(
            RequirementStatus,
            id=text,
            status=st.sampled_from(["passing", "failing", "untested", "not-run"]),
            tests=st.lists(text, max_size=3).map(tuple),
            code=st.lists(text, max_size=3).map(tuple),
            title=maybe,
            coverage_percent=st.none() | st.floats(0, 100),
        ),
        max_size=3,
    ).map(tuple),
    base_note=maybe,
    generated_at=maybe,
    tool_version=maybe,
)


def markdown_prose(text: str) -> str:
    """`text` without its code spans and backslash escapes (CommonMark's rules: a run
    of n backticks opens a span that the next run of exactly n closes)."""
    kept, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and not text[index + 1].isalnum():
            index += 2
            continue
        if char == "`":
            run = re.match(r"`+", text[index:])
            assert run is not None
            ticks = run.group()
            close = re.search(rf"(?<!`){ticks}(?!`)", text[index + len(ticks) :])
            if close is not None:
                index += len(ticks) + close.end()
                continue
            index += len(ticks)
            continue
        kept.append(char)
        index += 1
    return "".join(kept)


@st.composite
def report_cases(draw: st.DrawFn) -> Report:
    """A report (composite: a short repr in Hypothesis' messages)."""
    return draw(reports)


@given(report=report_cases())
def test_every_format_renders_any_report(report: Report) -> None:
    fuzzkit.ran("outputs: every format")
    assert Report.from_json(json.loads(json_report.render(report))).to_json() == report.to_json()
    page = html.render(report)
    summary = markdown.render(report, report_path=".tddgate/report.json")
    log = json.loads(sarif.render(report))
    annotations = github.render(report, more_in="the report")
    lines = terminal.render(report, ".tddgate/report.json")

    prose = markdown_prose(summary)  # code spans show HTML as text; `\<` shows a `<`
    assert "<img" not in prose and "<script" not in prose, summary
    assert "<img" not in page and "<script" not in page
    assert isinstance(log["runs"][0]["results"], list)
    for line in annotations.split("\n")[:-1]:  # the runner splits on newlines only
        assert re.match(r"::(error|warning|notice)( [^:]*)?::", line), line
    for shown in lines:  # a fix hint goes on a line of its own; nothing else does
        _, *rest = shown.text.split("\n")
        assert all(r.startswith("    fix: ") for r in rest), shown.text
        assert not any(c in shown.text for c in "\r\x1b\x85\u2028"), shown.text


def test_a_file_name_cannot_forge_a_workflow_command_in_the_log(repo: GitRepo) -> None:
    """Found by the fuzzing above: a finding's text went to the terminal as it was, so
    a file named `x\\n::error ...::y.py` printed a line GitHub Actions runs as a
    workflow command (and `\\r` or escape sequences could overwrite the verdict)."""
    repo.write("pyproject.toml", '[tool.tddgate]\nsource = ["src"]\n')
    repo.write("src/pkg/__init__.py", "")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    forged = "src/pkg/x\n::error file=README.md::forged\r\x1b[2Kall gates passed.py"
    repo.write(forged, "x = 1\n")
    repo.commit("code without a test")

    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "check"],
        cwd=repo.path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "x\\x0a::error file=README.md::forged\\x0d\\x1b[2Kall gates passed.py" in done.stdout
    assert not any(line.startswith("::") for line in done.stdout.split("\n"))
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
