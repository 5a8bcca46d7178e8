"""Settings: precedence, validation messages, and exit 4 without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.errors import UsageError
from pytest_tddgate.settings import Overrides, options_table, resolve


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(body, encoding="utf-8")


def error_of(root: Path, **kwargs: object) -> str:
    with pytest.raises(UsageError) as info:
        resolve(root, **kwargs)  # type: ignore[arg-type]
    return info.value.render()


def test_zero_config_defaults(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    settings = resolve(tmp_path, environ={})
    assert settings.source_roots == ("src",)
    assert settings.test_roots == ("tests",)
    assert settings.coverage.new == 80.0
    assert settings.coverage.total is None
    assert settings.tdd.mode == "order"
    assert all(settings.gate(g).enabled for g in ("tests", "tdd", "ruff", "mypy"))
    assert settings.learn is True
    assert settings.config_file is None


def test_source_roots_fall_back_to_top_level_packages(tmp_path: Path) -> None:
    for package in ("alpha", "beta", "tests"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "notapackage").mkdir()
    settings = resolve(tmp_path, environ={}, testpaths=["tests/unit"])
    assert settings.source_roots == ("alpha", "beta")
    assert settings.test_roots == ("tests/unit",)


def test_precedence_cli_over_env_over_pyproject(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[tool.tddgate]\nbase = "from-file"\nrole = "qa"\n')
    assert resolve(tmp_path, environ={}).project.base == "from-file"
    env = {"TDDGATE_BASE": "from-env", "TDDGATE_ROLE": "backend"}
    settings = resolve(tmp_path, environ=env)
    assert (settings.project.base, settings.project.role) == ("from-env", "backend")
    cli = Overrides(values={"base": "from-cli"})
    assert resolve(tmp_path, environ=env, overrides=cli).project.base == "from-cli"


def test_gate_sections_are_typed(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        "[tool.tddgate.gates.coverage]\ntotal = 90\nnew = 75.5\n"
        '[tool.tddgate.gates.tdd]\nmode = "red-green"\nexempt = ["src/gen/**"]\n'
        "[tool.tddgate.gates.mypy]\noptional = true\n",
    )
    settings = resolve(tmp_path, environ={})
    assert settings.coverage.total == 90.0
    assert settings.coverage.new == 75.5
    assert settings.tdd.mode == "red-green"
    assert settings.tdd.exempt == ("src/gen/**",)
    assert settings.mypy.optional is True


def test_unknown_key_names_file_line_and_closest_key(tmp_path: Path) -> None:
    write_pyproject(tmp_path, '[project]\nname = "x"\n\n[tool.tddgate]\nexpertice = "x.md"\n')
    message = error_of(tmp_path, environ={})
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}:5: [tool.tddgate] expertice: ")
    assert "unknown key `expertice`; did you mean `expertise`?" in message


def test_unknown_gate_key_and_gate_name(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.tddgate.gates.coverage]\ntotl = 80\n")
    assert "did you mean `total`?" in error_of(tmp_path, environ={})
    write_pyproject(tmp_path, "[tool.tddgate.gates.covrage]\ntotal = 80\n")
    assert "unknown gate `covrage`; did you mean `coverage`?" in error_of(tmp_path, environ={})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[tool.tddgate.gates.coverage]\ntotal = "80"\n', "must be a number, got str '80'"),
        ('[tool.tddgate]\nsource = "src"\n', "must be a list of strings"),
        ('[tool.tddgate.gates.tdd]\nmode = "strict"\n', "unknown value `strict`"),
        ("[tool.tddgate.gates.ruff]\nformat = 1\n", "must be true or false"),
        ("[tool.tddgate]\nledger_keep = 1.5\n", "must be a whole number"),
        ("[tool.tddgate]\nledger_keep = 0\n", "ledger_keep: must be at least 1, got 0"),
    ],
)
def test_wrong_types_explain_the_fix(tmp_path: Path, body: str, expected: str) -> None:
    write_pyproject(tmp_path, body)
    message = error_of(tmp_path, environ={})
    assert expected in message
    assert "fix:" in message


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.tddgate]\nbase = \n")
    message = error_of(tmp_path, environ={})
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}:2:")
    assert "not valid TOML" in message


@pytest.mark.parametrize("value", ["../outside.json", "/etc/passwd"])
def test_config_paths_stay_inside_the_project(tmp_path: Path, value: str) -> None:
    write_pyproject(tmp_path, f'[tool.tddgate]\nmatrix = "{value}"\n')
    assert "is outside the project folder" in error_of(tmp_path, environ={})


def test_unknown_gate_in_only(tmp_path: Path) -> None:
    message = error_of(tmp_path, environ={}, overrides=Overrides(values={"only": ("tdd", "ruf")}))
    assert "unknown gate `ruf`; did you mean `ruff`?" in message


def test_learn_defaults_off_in_ci_unless_enabled(tmp_path: Path) -> None:
    assert resolve(tmp_path, environ={"CI": "true"}).learn is False
    write_pyproject(tmp_path, "[tool.tddgate]\nlearn = true\n")
    assert resolve(tmp_path, environ={"CI": "true"}).learn is True
    assert resolve(tmp_path, environ={}, overrides=Overrides(learn=False)).learn is False


def test_waivers_are_validated(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[[tool.tddgate.waivers]]\ngate = "tdd"\npath = "src/legacy/**"\n'
        'reason = "legacy"\nowner = "alice"\nexpires = 2027-01-31\n',
    )
    (waiver,) = resolve(tmp_path, environ={}).waivers
    assert (waiver.gate, waiver.path, waiver.expires) == ("tdd", "src/legacy/**", "2027-01-31")
    write_pyproject(tmp_path, '[[tool.tddgate.waivers]]\ngate = "tdd"\nreason = "legacy"\n')
    assert "waivers[0].owner: is required" in error_of(tmp_path, environ={})
    write_pyproject(
        tmp_path,
        '[[tool.tddgate.waivers]]\ngate = "tdd"\nreason = "r"\nowner = "o"\nexpires = "soon"\n',
    )
    assert "waivers[0].expires: must be a date" in error_of(tmp_path, environ={})


def test_plugin_gate_sections_keep_their_own_keys(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "[tool.tddgate.gates.license]\noptional = true\nheader = 'MIT'\n")
    settings = resolve(tmp_path, environ={}, plugin_gates=["license"])
    assert settings.gate("license").optional is True
    assert settings.gate("license").extra == {"header": "MIT"}


def test_every_option_has_help() -> None:
    for key, field in options_table():
        assert field.metadata["help"].strip(), key


def test_broken_settings_exit_4_without_traceback(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.tddgate]\nexpertice = 'x.md'\n")
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    result = pytester.runpytest("--tddgate")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: tddgate: *pyproject.toml:2: [[]tool.tddgate[]] expertice: unknown key "
            "`expertice`; did you mean `expertise`?*"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_unknown_gate_in_option_exits_4(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    result = pytester.runpytest("--tddgate", "--tddgate-skip=mypy,coverge")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*unknown gate `coverge`; did you mean `coverage`?*"])
