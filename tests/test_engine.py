"""The gate engine: selection, optional gates, errors, waivers, plugin gates."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pytest_tddgate import engine
from pytest_tddgate.errors import FactError
from pytest_tddgate.facts import Facts
from pytest_tddgate.model import Finding, GateResult, Verdict, Waiver
from pytest_tddgate.settings import Overrides, resolve

TODAY = dt.date(2026, 6, 1)


class FixedGate:
    """A gate whose result is given; used to drive the engine."""

    static = True

    def __init__(self, name: str, status: Verdict, *findings: Finding) -> None:
        self.name = name
        self.status = status
        self.findings = findings

    def evaluate(self, ctx: engine.GateContext) -> GateResult:
        return GateResult(self.name, self.status, "given", self.findings)


class RaisingGate:
    static = True

    def __init__(self, name: str, exc: Exception) -> None:
        self.name = name
        self.exc = exc

    def evaluate(self, ctx: engine.GateContext) -> GateResult:
        raise self.exc


def run(tmp_path: Path, *gates: engine.Gate, pyproject: str = "", **over: object):  # type: ignore[no-untyped-def]
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    names = [g.name for g in gates]
    settings = resolve(tmp_path, environ={}, plugin_gates=names, overrides=Overrides(values=over))
    return engine.evaluate(list(gates), settings, Facts(settings), today=TODAY)


def test_only_and_skip_select_gates(tmp_path: Path) -> None:
    gates = [FixedGate("a", Verdict.PASS), FixedGate("b", Verdict.FAIL)]
    results = run(tmp_path, *gates, only=("a",))
    assert [(r.name, r.status, r.summary) for r in results] == [
        ("a", Verdict.PASS, "given"),
        ("b", Verdict.SKIP, "not selected (--tddgate-only)"),
    ]
    results = run(tmp_path, *gates, skip=("b",))
    assert results[1].summary == "skipped by --tddgate-skip"


def test_disabled_gate_says_why(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        FixedGate("a", Verdict.FAIL),
        pyproject="[tool.tddgate.gates.a]\nenabled = false\n",
    )
    assert (result.status, result.summary) == (Verdict.SKIP, "disabled (gates.a.enabled = false)")


def test_optional_gate_does_not_block(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        FixedGate("a", Verdict.FAIL),
        pyproject="[tool.tddgate.gates.a]\noptional = true\n",
    )
    assert result.status is Verdict.FAIL
    assert result.optional and not result.blocking


def test_fact_error_becomes_error_verdict_with_fix(tmp_path: Path) -> None:
    gate = RaisingGate("a", FactError("not a git repository", fix="git init"))
    (result,) = run(tmp_path, gate)
    assert result.status is Verdict.ERROR
    assert result.summary == "not a git repository"
    assert result.findings[0].hint == "git init"
    assert result.blocking


def test_a_crashing_gate_does_not_hide_the_others(tmp_path: Path) -> None:
    results = run(tmp_path, RaisingGate("a", KeyError("x")), FixedGate("b", Verdict.PASS))
    assert results[0].status is Verdict.ERROR
    assert "internal error in gate `a`: KeyError" in results[0].summary
    assert results[1].status is Verdict.PASS


def test_static_only_skips_gates_that_need_tests(tmp_path: Path) -> None:
    gate = FixedGate("a", Verdict.PASS)
    gate.static = False
    settings = resolve(tmp_path, environ={}, plugin_gates=["a"])
    (result,) = engine.evaluate([gate], settings, Facts(settings), static_only=True)
    assert result.status is Verdict.SKIP
    assert "needs a test run" in result.summary


WAIVER = Waiver(gate="a", reason="legacy code", owner="alice", path="src/legacy/**")


def test_waiver_marks_matching_findings_and_passes_when_all_waived() -> None:
    result = GateResult(
        "a", Verdict.FAIL, "2 problems", (Finding("r", "m", path="src/legacy/x.py"),)
    )
    waived = engine.apply_waivers(result, [WAIVER], TODAY)
    assert waived.status is Verdict.PASS
    assert waived.findings[0].waiver == WAIVER
    assert "all 1 finding(s) waived" in waived.summary


def test_waiver_leaves_other_findings_failing() -> None:
    findings = (Finding("r", "m", path="src/legacy/x.py"), Finding("r", "m", path="src/new.py"))
    waived = engine.apply_waivers(GateResult("a", Verdict.FAIL, "2", findings), [WAIVER], TODAY)
    assert waived.status is Verdict.FAIL
    assert [f.waived for f in waived.findings] == [True, False]


def test_waiver_glob_is_gitignore_style() -> None:
    waiver = Waiver(gate="a", reason="r", owner="o", path="docs/*.md")
    deep = GateResult("a", Verdict.FAIL, "1", (Finding("r", "m", path="docs/deep/x.md"),))
    assert engine.apply_waivers(deep, [waiver], TODAY).status is Verdict.FAIL


def test_waiver_by_rule() -> None:
    waiver = Waiver(gate="a", reason="r", owner="o", rule="E501")
    result = GateResult(
        "a", Verdict.FAIL, "2", (Finding("E501", "long"), Finding("F401", "unused"))
    )
    assert [f.waived for f in engine.apply_waivers(result, [waiver], TODAY).findings] == [
        True,
        False,
    ]


def test_expired_waiver_fails_the_gate() -> None:
    expired = Waiver(gate="a", reason="r", owner="bob", path="x.py", expires="2026-05-31")
    result = GateResult("a", Verdict.FAIL, "1", (Finding("r", "m", path="x.py"),))
    waived = engine.apply_waivers(result, [expired], TODAY)
    assert waived.status is Verdict.FAIL
    assert not waived.findings[0].waived
    assert waived.findings[-1].rule == "waiver-expired"
    assert "waiver expired on 2026-05-31 (owner bob: r)" in waived.findings[-1].message
    passing = engine.apply_waivers(GateResult("a", Verdict.PASS, "ok"), [expired], TODAY)
    assert passing.status is Verdict.FAIL


def test_waiver_valid_through_its_expiry_day() -> None:
    waiver = Waiver(gate="a", reason="r", owner="o", expires=TODAY.isoformat())
    result = GateResult("a", Verdict.FAIL, "1", (Finding("r", "m"),))
    assert engine.apply_waivers(result, [waiver], TODAY).status is Verdict.PASS


PLUGIN_CONFTEST = """
from pytest_tddgate import GateResult, Verdict, Finding

class HeaderGate:
    name = "license"
    static = True

    def evaluate(self, ctx):
        missing = [p.name for p in sorted(ctx.settings.root.glob("src_*.py"))
                   if not p.read_text().startswith(ctx.section.extra.get("header", "#"))]
        if missing:
            return GateResult(self.name, Verdict.FAIL, f"{len(missing)} file(s) without header",
                              tuple(Finding("no-header", "no license header", path=m)
                                    for m in missing), metrics={"missing": len(missing)})
        return GateResult(self.name, Verdict.PASS, "all files have a header")

def pytest_tddgate_gates(config):
    return [HeaderGate()]
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_third_party_gate_from_conftest(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyprojecttoml(
        "[tool.tddgate.gates.license]\nheader = '# MIT'\n"
        "[[tool.tddgate.waivers]]\ngate = 'license'\npath = 'src_old.py'\n"
        "reason = 'vendored'\nowner = 'carol'\nexpires = 2999-01-01\n"
    )
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    (pytester.path / "src_new.py").write_text("x = 1\n")
    (pytester.path / "src_old.py").write_text("y = 1\n")
    (pytester.path / "src_ok.py").write_text("# MIT\n")
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests,license", *xdist)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "license * fail * 2 file(s) without header (1 waived)",
            "*src_new.py: no license header [[]no-header[]]",
            "*src_old.py: no license header [[]no-header[]] (waived: vendored; owner carol; "
            "expires 2999-01-01)",
        ]
    )
    report = json.loads((pytester.path / ".tddgate/report.json").read_text())
    license_gate = next(g for g in report["gates"] if g["name"] == "license")
    assert license_gate["metrics"] == {"missing": 2}
    assert [(f["path"], f["waived"]) for f in license_gate["findings"]] == [
        ("src_new.py", False),
        ("src_old.py", True),
    ]


def test_expired_waiver_in_pyproject_fails_a_green_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PLUGIN_CONFTEST)
    pytester.makepyprojecttoml(
        "[tool.tddgate.gates.license]\nheader = '# MIT'\n"
        "[[tool.tddgate.waivers]]\ngate = 'license'\npath = 'src_old.py'\n"
        "reason = 'vendored'\nowner = 'carol'\nexpires = 2020-01-31\n"
    )
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    (pytester.path / "src_old.py").write_text("y = 1\n")
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests,license")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tests * pass * 1 passed",
            "license * fail *",
            "*src_old.py: no license header [[]no-header[]]",
            "*waiver expired on 2020-01-31 (owner carol: vendored)*",
            "tddgate: FAILED: license *",
        ]
    )
    assert "(waived:" not in result.stdout.str()


def test_plugin_gate_name_clash_is_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from pytest_tddgate import GateResult, Verdict\n"
        "class G:\n    name = 'tests'\n    static = True\n"
        "    def evaluate(self, ctx):\n        return GateResult('tests', Verdict.PASS, '')\n"
        "def pytest_tddgate_gates(config):\n    return [G()]\n"
    )
    result = pytester.runpytest("--tddgate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*a plugin gate is named `tests`, which is already taken*"])


def test_report_hook_receives_final_report(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "def pytest_tddgate_report(config, report):\n"
        "    print('HOOK', report.passed, [g.name for g in report.gates])\n"
    )
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests", "-s")
    result.stdout.fnmatch_lines(["*HOOK True [[]'tests'*"])  # then the other gates, skipped


def test_slow_static_gates_run_in_check_only_when_selected(tmp_path: Path) -> None:
    gate = FixedGate("slow", Verdict.PASS)
    gate.check_default = False  # type: ignore[attr-defined]
    settings = resolve(tmp_path, environ={}, plugin_gates=["slow"])
    (result,) = engine.evaluate([gate], settings, Facts(settings), static_only=True)
    assert result.status is Verdict.SKIP
    assert result.summary == "not run by `tddgate check` unless selected (--only slow)"
    chosen = resolve(
        tmp_path, environ={}, plugin_gates=["slow"], overrides=Overrides(values={"only": ("slow",)})
    )
    (result,) = engine.evaluate([gate], chosen, Facts(chosen), static_only=True)
    assert result.status is Verdict.PASS
