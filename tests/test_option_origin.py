"""A mistake is named where the user made it: the option or the pyproject key; counts
read as pytest reads them ("1 error")."""

from __future__ import annotations

import pytest


def test_an_unknown_gate_on_the_command_line_names_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest("--tddgate", "--tddgate-only=tdx")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--tddgate-only: unknown gate `tdx`; did you mean `tdd`?*"])
    assert "pyproject.toml" not in result.stderr.str()


def test_an_unknown_gate_in_pyproject_names_the_file_line_and_key(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml('[tool.tddgate]\nskip = ["rufff"]\n')
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest("--tddgate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*pyproject.toml:2: [[]tool.tddgate[]] skip: unknown gate `rufff`; did you mean `ruff`?"]
    )


def test_one_error_is_one_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("setup")

        def test_a(broken):
            pass
        """
    )
    result = pytester.runpytest("--tddgate", "--tddgate-only=tests", "--tddgate-no-learn")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["tests*fail*1 error"])
