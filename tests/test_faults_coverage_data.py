"""The coverage gate's inputs a checkout brings along: damaged coverage data files
left in the project, and a coverage configuration that coverage.py rejects.

Neither may end in a traceback: the run finishes with a result (a fresh measurement
replaces stale data), or exits 4 saying what is wrong with the configuration (found
here: coverage.py's ConfigError, or a missing coverage plugin, was a traceback).
"""

from __future__ import annotations

import subprocess

import pytest

PYPROJECT = '[tool.tddgate]\nonly = ["tests", "coverage"]\n'
TEST = "def test_a():\n    assert True\n"


def commit(pytester: pytest.Pytester) -> None:
    """The project as a git repository, everything committed (no changed lines)."""
    for args in (
        ("init", "-q", "-b", "main"),
        ("add", "-A"),
        ("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "base"),
    ):
        subprocess.run(["git", *args], cwd=pytester.path, check=True, capture_output=True)


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    # a subprocess: coverage's C tracer does not survive pytester's in-process reruns
    result = pytester.runpytest_subprocess("--tddgate", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output, output
    return result


@pytest.mark.parametrize("name", [".coverage", ".coverage.host.1.2", ".tddgate/coverage"])
@pytest.mark.parametrize(
    "data",
    [b"garbage" * 100, b"SQLite format 3\x00" + b"\xff" * 4000, b""],
    ids=["text", "damaged-sqlite", "empty"],
)
def test_damaged_coverage_data_left_in_the_project(
    pytester: pytest.Pytester, name: str, data: bytes
) -> None:
    pytester.makepyprojecttoml(PYPROJECT + "[tool.coverage.run]\nparallel = true\n")
    pytester.mkpydir("src")
    pytester.makepyfile(test_a=TEST)
    target = pytester.path / name
    target.parent.mkdir(exist_ok=True)
    commit(pytester)
    target.write_bytes(data)

    result = run(pytester)

    assert result.ret == 0
    result.stdout.fnmatch_lines(["coverage *pass*"])


@pytest.mark.parametrize(
    "config",
    [
        '[tool.coverage.run]\nbranch = "yes please"\n',
        "[tool.coverage.run]\nsource = 3\n",
        '[tool.coverage.report]\nexclude_lines = ["("]\n',
        '[tool.coverage.run]\nplugins = ["no_such_plugin"]\n',
        "[tool.coverage.run]\ndata_file = 7\n",
    ],
    ids=["branch-text", "source-number", "bad-regex", "missing-plugin", "data-file-number"],
)
@pytest.mark.parametrize("scope", ["all", "changed"])
def test_a_coverage_configuration_coverage_rejects(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, config: str, scope: str
) -> None:
    # scope `changed` starts git before coverage.py reads the configuration: the
    # processes must be stopped when it is rejected (an unread one warns at exit)
    gate = f'[tool.tddgate.gates.coverage]\nscope = "{scope}"\nnew = 1\n'
    pytester.makepyprojecttoml(PYPROJECT + gate + config)
    pytester.mkpydir("src")
    pytester.makepyfile(test_a=TEST)
    commit(pytester)
    monkeypatch.setenv("PYTHONWARNINGS", "error::ResourceWarning")
    monkeypatch.setenv("PYTHONTRACEMALLOC", "1")

    result = run(pytester)

    assert result.ret == 4, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(
        ["*tddgate: coverage.py cannot use the project's coverage configuration: *", "*fix: *"]
    )
    assert "ResourceWarning" not in result.stderr.str()
    assert "Exception ignored" not in result.stderr.str()
