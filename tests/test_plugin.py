"""The plugin as a user meets it: options, the gate report, exit codes, files written."""

from __future__ import annotations

import json
import re

import pytest

PASSING = "def test_ok():\n    assert True\n"
FAILING = "def test_bad():\n    assert 1 == 2\n"
ONLY_TESTS = "--tddgate-only=tests"


def report_of(pytester: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (pytester.path / ".tddgate" / "report.json").read_text(encoding="utf-8")
    )
    return data


def test_without_flag_pytest_is_unchanged(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a=PASSING)
    pytester.makepyprojecttoml("[tool.tddgate]\nthis_is_not_a_key = 1\n")
    result = pytester.runpytest()
    assert result.ret == 0
    assert "= tddgate =" not in result.stdout.str()
    assert not any("tddgate" in line for line in result.stdout.lines if "plugins:" not in line)
    assert not (pytester.path / ".tddgate").exists()


def _output_and_files(pytester: pytest.Pytester, *args: str) -> tuple[int, list[str], set[str]]:
    """A run in a new interpreter: exit status, output (timing and the plugins line
    aside) and the files in the project afterwards (pytester's own aside)."""
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    lines = [
        re.sub(r" in [0-9.]+s", " in Ns", line)
        for line in result.outlines + result.errlines
        if not line.startswith("plugins:")
    ]
    ours = ("runpytest-", "stdout", "stderr", "__pycache__")
    files = {p.name for p in pytester.path.iterdir() if not p.name.startswith(ours)}
    return int(result.ret), lines, files


def test_without_flag_the_output_is_that_of_pytest_without_the_plugin(
    pytester: pytest.Pytester,
) -> None:
    # a failing test, and settings that --tddgate would reject (wrong type, unknown key)
    pytester.makepyfile(test_a=PASSING + "\n" + FAILING)
    pytester.makepyprojecttoml(
        "[tool.tddgate]\nbase = 3\nnot_a_key = 1\n[tool.tddgate.gates.coverage]\nnew = 'x'\n"
    )
    without = _output_and_files(pytester, "-p", "no:tddgate")
    plain = _output_and_files(pytester)
    assert plain == without
    assert plain[0] == 1
    assert pytester.runpytest("--tddgate").ret == 4  # the settings are read only with it


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["quality gates (pytest-tddgate):", "*--tddgate *"])
    for option in ("base", "role", "only", "skip", "report", "markdown", "sarif", "html"):
        assert f"--tddgate-{option}" in result.stdout.str()
    assert "--tddgate-no-learn" in result.stdout.str()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_green_run_prints_gate_table_and_writes_report(
    pytester: pytest.Pytester, xdist: list[str]
) -> None:
    pytester.makepyfile(test_a=PASSING)
    result = pytester.runpytest("--tddgate", ONLY_TESTS, *xdist)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*= tddgate =*",
            "tests * pass * 1 passed",
            "tddgate: all gates passed (report: .tddgate/report.json)",
        ]
    )
    report = report_of(pytester)
    assert report["schema"] == "tddgate-report/1"
    assert report["passed"] is True


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_failed_test_fails_tests_gate(pytester: pytest.Pytester, xdist: list[str]) -> None:
    pytester.makepyfile(test_a=PASSING + "\n" + FAILING)
    result = pytester.runpytest("--tddgate", ONLY_TESTS, *xdist)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tests * fail * 1 passed, 1 failed",
            "tests (fail):",
            "*test_a.py:4: test_a.py::test_bad failed: assert 1 == 2 [[]test-failed[]]",
            "tddgate: FAILED: tests *",
        ]
    )
    gates = report_of(pytester)["gates"]
    assert isinstance(gates, list)
    assert gates[0]["metrics"] == {
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "skipped": 0,
        "xfailed": 0,
        "xpassed": 0,
        "collected": 2,
    }


def test_failed_gate_turns_green_tests_into_exit_1(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from pytest_tddgate import GateResult, Verdict, Finding

        class Always:
            name = "always-red"
            static = True
            def evaluate(self, ctx):
                return GateResult(self.name, Verdict.FAIL, "red on purpose",
                                  (Finding("red", "this gate always fails", path="x.py"),))

        def pytest_tddgate_gates(config):
            return [Always()]
        """
    )
    pytester.makepyfile(test_a=PASSING)
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests,always-red")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "tests * pass * 1 passed",
            "always-red * fail * red on purpose",
            "*x.py: this gate always fails [[]red[]]",
            "tddgate: FAILED: always-red *",
        ]
    )
    assert "1 passed" in result.stdout.lines[-1]


def test_errors_counted_and_skips_allowed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        def test_err(broken):
            pass

        @pytest.mark.skip(reason="later")
        def test_skipped():
            pass

        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert False
        """
    )
    result = pytester.runpytest("--tddgate", ONLY_TESTS)
    assert result.ret == 1
    metrics = report_of(pytester)["gates"][0]["metrics"]  # type: ignore[index]
    assert metrics["errors"] == 1
    assert metrics["skipped"] == 1
    assert metrics["xfailed"] == 1
    result.stdout.fnmatch_lines(["*test_a.py::test_err errored: RuntimeError: fixture broke*"])


def test_only_skips_and_xfails_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest

        @pytest.mark.skip(reason="later")
        def test_skipped():
            pass

        def test_ok():
            pass
        """
    )
    result = pytester.runpytest("--tddgate", ONLY_TESTS)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["tests * pass * 1 passed, 1 skipped"])


def test_collection_error_fails_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="import not_a_module_anywhere\n")
    result = pytester.runpytest("--tddgate", ONLY_TESTS)
    assert result.ret == 2  # pytest's own status for a collection error is kept
    result.stdout.fnmatch_lines(["tests * fail *1 error", "*collection failed*"])


def test_no_tests_keeps_exit_5(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--tddgate", ONLY_TESTS)
    assert result.ret == 5
    result.stdout.fnmatch_lines(["tests * skip * no tests ran"])


def test_report_path_option_is_relative_to_invocation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a=PASSING)
    result = pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-report=out/r.json")
    assert result.ret == 0
    data = json.loads((pytester.path / "out" / "r.json").read_text(encoding="utf-8"))
    assert data["passed"] is True
    assert not (pytester.path / ".tddgate" / "report.json").exists()


def test_unwritable_report_is_a_clear_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a=PASSING)
    (pytester.path / "blocker").write_text("a file, not a folder")
    result = pytester.runpytest("--tddgate", ONLY_TESTS, "--tddgate-report=blocker/r.json")
    result.stdout.fnmatch_lines(["tddgate: could not write the report *blocker/r.json*"])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == 1


def test_failure_signature_is_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    from pytest_tddgate.plugin import SESSION_KEY

    pytester.makepyfile(test_a=FAILING)
    seen: list[str | None] = []

    class Spy:
        def pytest_terminal_summary(self, config: pytest.Config) -> None:
            run = config.stash[SESSION_KEY].facts.test_run
            assert run is not None
            seen.extend(o.signature for o in run.outcomes)

    pytester.runpytest("--tddgate", ONLY_TESTS, plugins=[Spy()])
    (signature,) = seen
    assert signature is not None
    exc_type, _digest, where = signature.split("|")
    assert (exc_type, where) == ("AssertionError", "test_a.py:2")
