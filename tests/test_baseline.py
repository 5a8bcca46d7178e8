"""`tddgate baseline` and the gates that honour it, with real ruff and mypy runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate import cli
from tests.tooltesting import bare_python, gate, isolate_path, make_project, write

if TYPE_CHECKING:
    from pathlib import Path

ONLY = "--tddgate-only=tests,ruff,mypy"
UNUSED_OS = "import os\n"
WRONG = 'def name() -> int:\n    return "x"\n'
BASELINE = ".tddgate-baseline.json"


@pytest.fixture(autouse=True)
def warm_mypy(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # one mypy cache for all projects here: typeshed is analysed once (see test_mypy_gate)
    monkeypatch.setenv("MYPY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "mypy-cache"))


def baseline(root: Path, *args: str) -> int:
    return cli.main(["baseline", "--root", str(root), *args])


def entries(root: Path) -> list[tuple[str, str, str, str, int]]:
    data = json.loads((root / BASELINE).read_text("utf-8"))
    return [(e["gate"], e["path"], e["rule"], e["source"], e["count"]) for e in data["findings"]]


@pytest.fixture
def legacy(pytester: pytest.Pytester) -> Path:
    """A project with one ruff violation and one type error, recorded in its baseline."""
    root = make_project(pytester, {"src/app/util.py": UNUSED_OS, "src/app/calc.py": WRONG})
    assert baseline(root) == 0
    return root


def test_baseline_records_every_finding(capsys: pytest.CaptureFixture[str], legacy: Path) -> None:
    assert "wrote .tddgate-baseline.json: 2 finding(s) (ruff 1, mypy 1)" in capsys.readouterr().out
    assert entries(legacy) == [
        ("mypy", "src/app/calc.py", "return-value", 'return "x"', 1),
        ("ruff", "src/app/util.py", "F401", "import os", 1),
    ]


def test_baselined_findings_do_not_fail_but_are_counted(
    pytester: pytest.Pytester, legacy: Path
) -> None:
    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "ruff*pass*1 violation, all baselined",
            "mypy*pass*1 error, all baselined",
        ]
    )
    ruff = gate(legacy, "ruff")
    assert (ruff["metrics"]["violations"], ruff["metrics"]["baselined"]) == (1, 1)
    assert ruff["findings"] == []
    [shown] = ruff["details"]["baselined"]
    assert (shown["path"], shown["line"], shown["rule"]) == ("src/app/util.py", 1, "F401")
    assert gate(legacy, "mypy")["metrics"]["baselined"] == 1


def test_findings_moved_by_new_lines_are_still_baselined(
    pytester: pytest.Pytester, legacy: Path
) -> None:
    write(
        legacy,
        {
            "src/app/util.py": '"""Utilities."""\n\n' + UNUSED_OS,
            "src/app/calc.py": "X = 1\n\n\n" + WRONG,
        },
    )

    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 0, result.stdout.str()
    [ruff_finding] = gate(legacy, "ruff")["details"]["baselined"]
    [mypy_finding] = gate(legacy, "mypy")["details"]["baselined"]
    assert (ruff_finding["line"], mypy_finding["line"]) == (3, 5)


def test_a_new_finding_fails_and_only_it_is_listed(pytester: pytest.Pytester, legacy: Path) -> None:
    write(legacy, {"src/app/util.py": "import os\nimport sys\n"})

    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ruff*fail*1 violation (+1 baselined)",
            "mypy*pass*1 error, all baselined",
        ]
    )
    [new] = gate(legacy, "ruff")["findings"]
    assert (new["line"], new["message"]) == (2, "`sys` imported but unused")
    assert "`os` imported" not in result.stdout.str()


def test_the_same_mistake_on_a_new_line_is_new(pytester: pytest.Pytester, legacy: Path) -> None:
    write(legacy, {"src/app/calc.py": WRONG + '\n\ndef other() -> int:\n    return "y"\n'})

    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 1
    [new] = gate(legacy, "mypy")["findings"]
    assert (new["line"], new["rule"]) == (6, "return-value")


def test_identical_lines_are_counted(pytester: pytest.Pytester) -> None:
    twice = 'def a() -> int:\n    return "x"\n\n\ndef b() -> int:\n    return "x"\n'
    root = make_project(pytester, {"src/app/calc.py": twice})
    assert baseline(root) == 0
    assert entries(root) == [("mypy", "src/app/calc.py", "return-value", 'return "x"', 2)]
    write(root, {"src/app/calc.py": twice + '\n\ndef c() -> int:\n    return "x"\n'})

    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 1
    result.stdout.fnmatch_lines(["mypy*fail*1 error (+2 baselined)"])


def test_the_ratchet_never_adds_a_new_finding(
    legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (legacy / BASELINE).read_bytes()
    write(legacy, {"src/app/util.py": "import os\nimport sys\n"})
    capsys.readouterr()

    assert baseline(legacy) == 1

    out = capsys.readouterr().out
    assert "unchanged: .tddgate-baseline.json: 2 finding(s)" in out
    assert "kept out 1 new finding(s); fix them, or record them with `tddgate baseline " in out
    assert "src/app/util.py: F401 `sys` imported but unused" in out
    assert (legacy / BASELINE).read_bytes() == before


def test_fixed_findings_drop_out_of_the_baseline(
    pytester: pytest.Pytester, legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(legacy, {"src/app/util.py": "X = 1\n"})

    result = pytester.runpytest("--tddgate", ONLY)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "ruff*pass*no violations, all files formatted; 1 baselined finding(s) fixed: "
            "run `tddgate baseline` to tighten the baseline",
        ]
    )
    assert gate(legacy, "ruff")["metrics"]["baseline_fixed"] == 1
    capsys.readouterr()

    assert baseline(legacy) == 0
    assert "dropped 1 fixed finding(s)" in capsys.readouterr().out
    assert entries(legacy) == [("mypy", "src/app/calc.py", "return-value", 'return "x"', 1)]

    write(legacy, {"src/app/util.py": UNUSED_OS})  # the old finding is back: now it is new
    assert baseline(legacy) == 1
    assert [e[0] for e in entries(legacy)] == ["mypy"]


def test_force_records_new_findings(legacy: Path) -> None:
    write(legacy, {"src/app/util.py": "import os\nimport sys\n"})

    assert baseline(legacy, "--force") == 0

    assert [(e[2], e[3]) for e in entries(legacy) if e[0] == "ruff"] == [
        ("F401", "import os"),
        ("F401", "import sys"),
    ]


def test_rerunning_without_changes_leaves_the_file_byte_identical(legacy: Path) -> None:
    before = (legacy / BASELINE).read_bytes()
    mtime = (legacy / BASELINE).stat().st_mtime_ns

    assert baseline(legacy) == 0
    assert baseline(legacy, "--force") == 0

    assert (legacy / BASELINE).read_bytes() == before
    assert (legacy / BASELINE).stat().st_mtime_ns == mtime


def test_one_gate_can_be_recorded_alone(legacy: Path) -> None:
    write(legacy, {"src/app/util.py": "import sys\n", "src/app/calc.py": "X: int = 1\n"})

    assert baseline(legacy, "--gate", "ruff", "--force") == 0

    # ruff re-recorded; mypy's entry is kept although mypy's error is gone
    assert entries(legacy) == [
        ("mypy", "src/app/calc.py", "return-value", 'return "x"', 1),
        ("ruff", "src/app/util.py", "F401", "import sys", 1),
    ]


def test_the_baseline_path_is_a_setting(pytester: pytest.Pytester) -> None:
    config = '[tool.tddgate]\nbaseline = "quality/known.json"\n'
    root = make_project(pytester, {"src/app/util.py": UNUSED_OS}, config)

    assert baseline(root, "--gate", "ruff") == 0
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests,ruff")

    assert (root / "quality/known.json").is_file()
    assert not (root / BASELINE).exists()
    assert result.ret == 0
    assert gate(root, "ruff")["details"]["baseline"] == "quality/known.json"


def test_baselined_runs_pass_under_xdist(pytester: pytest.Pytester, legacy: Path) -> None:
    result = pytester.runpytest("-n", "2", "--tddgate", ONLY)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["ruff*pass*all baselined", "mypy*pass*all baselined"])


def test_a_malformed_baseline_exits_4_before_the_tests(
    pytester: pytest.Pytester, legacy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (legacy / BASELINE).write_text('{"schema": "tddgate-baseline/1",\n "findings": [}\n')
    capsys.readouterr()

    result = pytester.runpytest("--tddgate", ONLY)

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            f"*tddgate: {legacy / BASELINE}:2:15: baseline is not valid JSON: Expecting value",
            "*fix: restore it from version control (`git checkout -- .tddgate-baseline.json`)*",
        ]
    )
    assert "test_ok" not in result.stdout.str()  # no test ran
    assert "Traceback" not in result.stderr.str()

    assert baseline(legacy) == 4
    assert "baseline is not valid JSON" in capsys.readouterr().err
    assert baseline(legacy, "--force") == 0  # --force starts over from today's findings
    assert len(entries(legacy)) == 2


def test_a_missing_tool_writes_nothing(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = make_project(pytester, {"src/app/util.py": UNUSED_OS})
    python = bare_python(tmp_path_factory.mktemp("env"))
    isolate_path(monkeypatch, root / "bin")

    result = pytester.run(str(python), "-m", "pytest_tddgate.cli", "baseline", timeout=60)

    assert result.ret == 1
    result.stderr.fnmatch_lines(
        [
            "tddgate baseline: ruff is not installed*install it with pip install "
            "'pytest-tddgate[[]ruff[]]'",
            "  fix: *",
            "  nothing was written",
        ]
    )
    assert not (root / BASELINE).exists()


def test_baseline_finds_the_project_from_a_subfolder(
    legacy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(legacy / "src" / "app")
    capsys.readouterr()

    assert cli.main(["baseline"]) == 0

    assert "unchanged: .tddgate-baseline.json: 2 finding(s)" in capsys.readouterr().out
    assert not (legacy / "src" / "app" / BASELINE).exists()
