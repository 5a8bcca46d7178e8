"""The HTML report: golden file, self-containment, escaping, and a real browser."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from pytest_tddgate.facts.ledger import GateRecord, RunRecord
from pytest_tddgate.model import Finding, GateResult, Report, Verdict
from pytest_tddgate.report import html
from tests.golden_files import assert_golden
from tests.sample_report import LINKS, passing_report, sample_report, sample_runs

CHROMIUM = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None
)


def test_sample_report_with_trends_matches_golden() -> None:
    assert_golden("report.html", html.render(sample_report(), sample_runs(), LINKS))


def test_the_page_loads_nothing_from_elsewhere() -> None:
    page = html.render(sample_report(), sample_runs(), LINKS)
    for pattern in ("<script", "<link", " src=", "url(", "@import", "<iframe"):
        assert pattern not in page
    assert page.count("<svg") == 4


def test_text_from_findings_is_escaped() -> None:
    evil = Finding("x", '<script>alert("hi")</script>', path='a".py')
    gate = GateResult("tests", Verdict.FAIL, "<b>1 failed</b>", findings=(evil,))
    page = html.render(Report(gates=(gate,)), (), LINKS)
    assert "<script>" not in page and "<b>1" not in page
    assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in page
    assert 'href="https://github.com/acme/shop/blob/' in page


def test_without_recorded_runs_the_page_says_when_charts_appear() -> None:
    page = html.render(passing_report())
    assert "No recorded runs yet" in page
    assert "<svg" not in page


def test_a_chart_without_data_says_so_and_absent_values_break_the_line() -> None:
    runs = [
        RunRecord(
            i,
            f"2026-01-0{i}T00:00:00",
            None,
            True,
            {"tests": GateRecord("pass", {"passed": None if i == 2 else i})},
        )
        for i in range(1, 4)
    ]
    page = html.render(passing_report(), runs)
    assert page.count("not measured in these runs") == 3
    assert page.count("<svg") == 1
    assert page.count("<polyline") == 0  # points 1 and 3 are not joined across the gap
    assert page.count("<circle") == 2


def test_requirements_and_the_verdict_are_on_the_page() -> None:
    page = html.render(sample_report())
    assert "FAILED: tests, tdd, traceability, ruff" in page
    for req in ("REQ-001", "REQ-002", "REQ-003", "REQ-004"):
        assert req in page
    assert 'class="badge warn">untested<' in page


def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) pixels of an 8-bit, non-interlaced PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        header = chunk if kind == b"IHDR" else header
        data += chunk if kind == b"IDAT" else b""
        pos += length + 12
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    size = 4 if color == 6 else 3
    raw, stride, rows, previous = zlib.decompress(data), width * size, [], bytes(width * size)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - size] if x >= size else 0
            b, c = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, [bytes(r[i] for i in range(len(r)) if i % size < 3) for r in rows]


def _count(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    needle = bytes(rgb)
    return sum(len(re.findall(re.escape(needle), row)) for row in rows)


def _chromium(tmp_path: Path, page: Path, *args: str, height: int = 2400) -> str:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--window-size=1000,{height}",
    ]
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *flags, *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)"
)
def test_chromium_renders_the_gates_banner_and_charts(tmp_path: Path) -> None:
    page, shot = tmp_path / "index.html", tmp_path / "shot.png"
    page.write_text(html.render(sample_report(), sample_runs(), LINKS), encoding="utf-8")
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.count("<svg") == 4 and dom.count("<polyline") >= 5
    assert "FAILED: tests, tdd, traceability, ruff" in dom
    _chromium(tmp_path, page, f"--screenshot={shot}", height=160)
    width, height, rows = _pixels(shot.read_bytes())
    assert (width, height) == (1000, 160)
    assert _count(rows, RED) > 20_000  # the red "FAILED" banner
    assert _count(rows, GREEN) < 1_000
    # a passing report: a green banner, and the trend charts right below the gates
    page.write_text(html.render(passing_report(), sample_runs()), encoding="utf-8")
    _chromium(tmp_path, page, f"--screenshot={shot}", height=1000)
    rows = _pixels(shot.read_bytes())[2]
    assert _count(rows[:160], GREEN) > 20_000
    assert _count(rows[:160], RED) < 1_000
    assert _count(rows, BLUE) > 300  # the total-coverage line and its points
    assert _count(rows, PURPLE) > 300  # the new-code coverage line


RED, GREEN, BLUE, PURPLE = (
    (0xCF, 0x22, 0x2E),
    (0x1A, 0x7F, 0x37),
    (0x09, 0x69, 0xDA),
    (0x82, 0x50, 0xDF),
)


def test_trends_show_only_the_branch_of_this_run_and_say_so() -> None:
    def recorded(run_id: int, branch: str, passed: int) -> RunRecord:
        metrics = {"passed": passed, "failed": 0, "errors": 0}
        return RunRecord(
            run_id,
            f"2026-01-0{run_id}T09:00:00+00:00",
            f"{run_id}" * 40,
            True,
            {"tests": GateRecord("pass", metrics)},
            branch,
        )

    runs = [
        recorded(1, "main", 10),
        recorded(2, "feature", 99),
        recorded(3, "main", 11),
        recorded(4, "main", 12),
    ]
    this = Report(
        gates=(GateResult("tests", Verdict.PASS, "12 passed"),),
        head="4" * 40,
        generated_at="2026-01-04T09:00:00+00:00",
    )

    page = html.render(this, runs)

    assert (
        "Runs on branch <code>main</code>; runs on other branches are not shown: "
        "3 runs, #1 to #4" in page
    )
    assert "passed: 99" not in page and "#2 " not in page  # feature's run is not drawn
    assert "passed: 12" in page


def test_a_run_not_in_the_ledger_shows_the_trends_of_all_branches() -> None:
    page = html.render(passing_report(), sample_runs())

    assert "Runs of all branches (this run is not in the ledger): 8 runs, #1 to #8" in page
