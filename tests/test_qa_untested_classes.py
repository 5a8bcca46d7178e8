"""QA F1: `untested-new-function` on a module imported before the measurement started
(a pytest plugin, loaded by `-p` or a `pytest11` entry point). Its class-body lines ran
at import, before anything was measured, so a class without method code (a dataclass
of fields, a type stub) cannot be seen to run, whatever the tests do: it is not judged,
and a note says so. Its functions are judged as before: their bodies run in the tests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

GATE = (
    "--tddgate",
    "--tddgate-only=coverage",
    "--tddgate-no-learn",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
)
PLUGIN = """\
from dataclasses import dataclass


@dataclass
class Item:
    n: int


class Shape:
    \"\"\"A type stub: only annotations.\"\"\"

    width: int
    height: int


def make(n):
    return Item(n)


def unused(n):
    return n + 1
"""
ITEM_ONLY = "from dataclasses import dataclass\n\n\n@dataclass\nclass Item:\n    n: int\n"
TEST = "from myplug.plugin import Item, make\n\n\ndef test_make():\n    assert make(1) == Item(1)\n"


def project(path: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/myplug/__init__.py", "")
    repo.write("src/myplug/plugin.py", "def make(n):\n    return n\n")
    repo.write("tests/test_plugin.py", "from myplug.plugin import make\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/myplug/plugin.py", PLUGIN)
    repo.write("tests/test_plugin.py", TEST)
    repo.commit("item")
    return repo


def coverage_gate(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text())
    gate: dict[str, Any] = next(g for g in report["gates"] if g["name"] == "coverage")
    return gate


def test_a_plugin_module_imported_before_the_run_has_its_classes_unjudged(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(pytester.path)
    # `-p` imports the module before the measurement starts, as a `pytest11` entry does
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))
    result = pytester.runpytest_subprocess(*GATE, "-p", "myplug.plugin")

    gate = coverage_gate(pytester)
    findings = [(f["line"], f["message"]) for f in gate["findings"]]
    untested = [f for f in gate["findings"] if f["rule"] == "untested-new-function"]
    # the function no test calls is still found; the classes are not
    assert [(f["path"], f["line"]) for f in untested] == [("src/myplug/plugin.py", 20)], findings
    assert "function `unused`" in untested[0]["message"]
    notes = [f["message"] for f in gate["findings"] if f["rule"] == "coverage-note"]
    assert any("`Item`" in n and "`Shape`" in n and "imported before" in n for n in notes), notes
    result.stdout.fnmatch_lines(["*`Item`*imported before*"])
    # its `def`, `class` and import lines ran unseen too: not judged as new code, while
    # the body lines are (`make` ran, `unused` did not)
    uncovered = [f["message"] for f in gate["findings"] if f["rule"] == "uncovered-new-lines"]
    assert uncovered == ["new lines not covered: 21 (1 of 2)"], findings
    assert gate["metrics"]["new_lines"] == 2
    assert any("8 module-level lines" in n for n in notes), notes


def test_classes_of_a_module_imported_in_the_run_are_still_judged(
    pytester: pytest.Pytester,
) -> None:
    project(pytester.path)
    pytester.path.joinpath("pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
    )
    pytester.runpytest_subprocess(*GATE)

    untested = [
        (f["line"], f["message"].split(" is ")[0])
        for f in coverage_gate(pytester)["findings"]
        if f["rule"] == "untested-new-function"
    ]
    # Shape's annotations ran at import, in the run: it counts as run, as before
    assert untested == [(20, "function `unused`")]


def test_a_plugin_module_none_of_whose_lines_ran_in_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the tests only build the dataclass: not one line of the module was measured
    repo = project(pytester.path)
    repo.write("src/myplug/plugin.py", ITEM_ONLY)
    repo.write("src/myplug/other.py", "def one():\n    return 1\n")
    repo.write(
        "tests/test_plugin.py",
        "from myplug.other import one\nfrom myplug.plugin import Item\n\n\n"
        "def test_item():\n    assert Item(one()).n == 1\n",
    )
    # scope `all`: the module is in the data, with no line run
    repo.write(
        "pyproject.toml",
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n\n'
        '[tool.tddgate.gates.coverage]\nscope = "all"\n',
    )
    repo.commit("only the item")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))
    result = pytester.runpytest_subprocess(*GATE, "-p", "myplug.plugin")

    gate = coverage_gate(pytester)
    assert [f for f in gate["findings"] if f["rule"] == "untested-new-function"] == []
    assert result.ret == 0, result.stdout.str()


CONFIG = """\
from dataclasses import dataclass


@dataclass
class Config:
    retries: int

    def describe(self):
        return f"{self.retries} retries"
"""


def test_a_class_with_fields_used_by_a_test_is_not_called_unrun(
    pytester: pytest.Pytester,
) -> None:
    # the test builds a Config (its generated __init__ has no line of the file): what
    # no test runs is the method, and the finding says that, not "class `Config`"
    repo = project(pytester.path)
    repo.write(
        "pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
    )
    repo.write("src/myplug/config.py", CONFIG)
    repo.write(
        "tests/test_config.py",
        "from myplug.config import Config\n\n\n"
        "def test_config():\n    assert Config(2).retries == 2\n",
    )
    repo.commit("config")
    pytester.runpytest_subprocess(*GATE)

    untested = [
        (f["path"], f["line"], f["message"].split(" is ")[0])
        for f in coverage_gate(pytester)["findings"]
        if f["rule"] == "untested-new-function" and f["path"] == "src/myplug/config.py"
    ]
    assert untested == [("src/myplug/config.py", 8, "method `Config.describe`")]


VARIANTS = """\
import os
import sys

if sys.platform == "win32":

    def plat():
        return "win"

else:

    def plat():
        return "posix"


if sys.version_info >= (3, 99):

    def later():
        return 99

elif os.name in ("nt", "java"):

    def later():
        return 0

else:

    def later():
        return 3


if not sys.platform.startswith("linux"):

    def elsewhere():
        return 1
"""


def test_a_definition_for_another_platform_or_python_is_not_judged(
    pytester: pytest.Pytester,
) -> None:
    # QA F5: the win32 `plat` cannot run on Linux; the posix one ran: no finding
    repo = project(pytester.path)
    repo.write(
        "pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
    )
    repo.write("src/myplug/variants.py", VARIANTS)
    repo.write(
        "tests/test_variants.py",
        "from myplug.variants import later, plat\n\n\n"
        "def test_variants():\n    assert plat() and later()\n",
    )
    repo.commit("variants")
    pytester.runpytest_subprocess(*GATE)

    untested = [
        (f["line"], f["message"].split(" is ")[0])
        for f in coverage_gate(pytester)["findings"]
        if f["rule"] == "untested-new-function" and f["path"] == "src/myplug/variants.py"
    ]
    assert untested == []


def test_a_function_whose_change_is_only_its_annotations_is_not_new(
    pytester: pytest.Pytester,
) -> None:
    # QA F4: an untested function of the base whose signature only got other type
    # annotations is no "new or changed" function; a changed default makes it one
    repo = project(pytester.path)
    repo.write(
        "pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'
    )
    old = "def count(values: object, start=0):\n    return len(values) + start\n"
    repo.write("src/myplug/counting.py", old)
    repo.commit("count, untested")
    repo.git("tag", "typed-base")
    repo.write(
        "src/myplug/counting.py",
        "def count(\n    values: list[int],\n    start: int = 0,\n) -> int:\n"
        "    return len(values) + start\n",
    )
    repo.commit("annotations only")
    pytester.runpytest_subprocess(*GATE, "--tddgate-base=typed-base")

    def untested() -> list[str]:
        return [
            f["message"].split(" is ")[0]
            for f in coverage_gate(pytester)["findings"]
            if f["rule"] == "untested-new-function" and f["path"] == "src/myplug/counting.py"
        ]

    assert untested() == []
    repo.write("src/myplug/counting.py", old.replace("start=0", "start: int = 1"))
    pytester.runpytest_subprocess(*GATE, "--tddgate-base=typed-base")
    assert untested() == ["function `count`"]
