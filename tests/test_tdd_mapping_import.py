"""Tests that need a module without naming or importing it (issue 17, point 3): a
module loaded by a computed name (rich's unicode tables), and a module all of whose
code runs when it is imported (rich's default styles), credited to the tests whose
imports load it, whichever test happens to import it first."""

from __future__ import annotations

import json

import pytest

from pytest_tddgate.model import Verdict
from tests.gitrepo import GitRepo
from tests.tddkit import judge, start_project

LOADERS = {
    "relative to __name__": 'return import_module(f".table{version}", __name__).DATA',
    "a literal package": 'return import_module(f".table{version}", "pkg.tables").DATA',
    "an absolute prefix": 'return import_module(f"pkg.tables.table{version}").DATA',
    "a name assigned before": (
        'name = f".table{version}"\n    return import_module(name, "pkg.tables").DATA'
    ),
}
TABLES_TEST = (
    "from pkg.tables import load\n\n\ndef test_load():\n"
    "    assert [load(v) for v in (1, 2)] == [1, 2]\n"
)


def _tables(repo: GitRepo, loader: str) -> None:
    repo.write(
        "src/pkg/tables/__init__.py",
        f"from importlib import import_module\n\n\ndef load(version):\n    {loader}\n",
    )
    repo.write("src/pkg/tables/table1.py", "DATA = 1\n")
    repo.write("src/pkg/tables/table2.py", "DATA = 2\n")


@pytest.mark.parametrize("loader", list(LOADERS))
def test_a_module_loaded_by_a_computed_name_maps_to_the_tests_of_its_loader(
    repo: GitRepo, loader: str
) -> None:
    """rich f000c314: the tables came with tests/test_unicode_data.py."""
    start_project(repo)
    _tables(repo, LOADERS[loader])
    repo.write("tests/test_tables.py", TABLES_TEST)
    repo.commit("tables, with their test")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    entry = next(f for f in result.details["files"] if f["path"] == "src/pkg/tables/table2.py")
    assert [(t["test"], t["sources"]) for t in entry["tests"]] == [
        ("tests/test_tables.py", ["imports"])
    ]


def test_only_the_modules_the_computed_name_can_reach(repo: GitRepo) -> None:
    start_project(repo)
    _tables(repo, LOADERS["relative to __name__"])
    repo.write("src/pkg/tables/other.py", "DATA = 3\n")  # not `table...`
    repo.write("tests/test_tables.py", TABLES_TEST)
    repo.commit("tables, with their test")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.path for f in result.findings] == ["src/pkg/tables/other.py"]


STYLES = 'STYLES = {"heading": "bold"}\n'
RENDER = (
    "from pkg.styles import STYLES\n"
    "from pkg.util import shout\n\n\n"
    'def render(text):\n    return STYLES["heading"] + shout(text)\n'
)
RENDER_TEST = "from pkg.render import render\n\n\ndef test_render():\n    assert render('a')\n"


def _renderer(repo: GitRepo) -> None:
    """`render` imports a data module (`styles`) and one with functions (`util`)."""
    repo.write("src/pkg/styles.py", STYLES)
    repo.write("src/pkg/util.py", "def shout(text):\n    return text.upper()\n")
    repo.write("src/pkg/render.py", RENDER)
    repo.write("tests/test_render.py", RENDER_TEST)
    start_project(repo)


def test_a_module_that_runs_at_import_maps_to_the_tests_that_load_it(repo: GitRepo) -> None:
    """rich 2f56d4d1: default_styles.py changed with tests/test_markdown.py, which
    imports it through rich.markdown -> rich.console -> rich.theme."""
    _renderer(repo)
    repo.write("src/pkg/styles.py", STYLES.replace("bold", "bold underline"))
    repo.write("tests/test_render.py", RENDER_TEST.replace("render('a')", "render('a') != 'A'"))
    repo.commit("underline headings, pinned by the render test")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    (entry,) = result.details["files"]
    assert entry["tests"][0]["test"] == "tests/test_render.py"
    assert entry["tests"][0]["sources"] == ["import-time"]


def test_a_module_with_functions_is_not_credited_to_tests_that_only_load_it(
    repo: GitRepo,
) -> None:
    """A function's body runs when it is called, not when its module is imported."""
    _renderer(repo)
    repo.write("src/pkg/util.py", "def shout(text):\n    return text.upper() + '!'\n")
    repo.write("tests/test_render.py", RENDER_TEST.replace("render('a')", "render('a') != 'A'"))
    repo.commit("louder")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.path for f in result.findings] == ["src/pkg/util.py"]


def test_an_import_that_never_runs_loads_nothing(repo: GitRepo) -> None:
    _renderer(repo)
    repo.write(
        "src/pkg/render.py",
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg.styles import STYLES\n"
        + RENDER.replace("from pkg.styles import STYLES\n", ""),
    )
    repo.commit("styles for the type checker only", trailers={"Tdd": "refactor"})
    repo.git("branch", "-f", "main")
    repo.write("src/pkg/styles.py", STYLES.replace("bold", "italic"))
    repo.write("tests/test_render.py", RENDER_TEST.replace("render('a')", "render('a') != 'A'"))
    repo.commit("italic headings")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.path for f in result.findings] == ["src/pkg/styles.py"]


FORMAT = "def heading(text):\n    return text.upper()\n"
REPORT = "from pkg.fmt import heading\n\n\ndef report(title):\n    return heading(title) + '\\n'\n"
REPORT_TEST = (
    "from pkg.report import report\n\n\ndef test_report():\n    assert report('a') == 'A\\n'\n"
)


@pytest.mark.parametrize("only", ["tdd", "tests,tdd,coverage"])
def test_the_tdd_verdict_does_not_depend_on_the_other_gates_selected(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, only: str
) -> None:
    """`fmt.py` is neither named nor imported by the test that changed with it, but
    the test runs its changed line: the coverage source maps it, with or without
    the coverage gate."""
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n.coverage\ndocs/\n")
    repo.write("src/pkg/fmt.py", FORMAT)
    repo.write("src/pkg/report.py", REPORT)
    repo.write("tests/test_report.py", REPORT_TEST)
    start_project(repo, extra='[tool.tddgate]\nsource = ["src"]\n')
    repo.write("src/pkg/fmt.py", FORMAT.replace("upper()", "upper().strip()"))
    repo.write("tests/test_report.py", REPORT_TEST.replace("'a') == 'A", "'b') == 'B"))
    repo.commit("headings are stripped, as the report test shows")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))

    result = pytester.runpytest_subprocess(
        "--tddgate", f"--tddgate-only={only}", "-p", "no:randomly", "-p", "no:cacheprovider"
    )

    result.stdout.fnmatch_lines(
        ["tdd *pass *1 implementation file(s) over 1 commit(s)*: tests came first"]
    )
    report = json.loads((pytester.path / ".tddgate/report.json").read_text(encoding="utf-8"))
    tdd = next(g for g in report["gates"] if g["name"] == "tdd")
    assert tdd["details"]["files"][0]["tests"][0]["sources"] == ["coverage"]


REGISTRY = (
    "import importlib\nimport pkgutil\n\n\ndef load_all():\n    import pkg.plugins as plugins\n\n"
    "    found = pkgutil.iter_modules(plugins.__path__, 'pkg.plugins.')\n"
    "    return [importlib.import_module(m.name) for m in found]\n"
)
LOADS_TEST = (
    "from pkg.registry import load_all\n\n\ndef test_{name}():\n    assert load_all(){check}\n"
)


def test_the_verdict_does_not_depend_on_which_test_imported_a_module_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tests load the same plugin module at run time: whichever runs first runs its
    import-time code. That is not what either test checks, so neither is credited
    with it: the same verdict in either order."""
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n.coverage\ndocs/\n")
    repo.write("src/pkg/registry.py", REGISTRY)
    repo.write("src/pkg/plugins/__init__.py", '"""Plugins."""\n')
    repo.write("src/pkg/plugins/colours.py", "COLOURS = ['red']\n")
    repo.write("tests/test_a.py", LOADS_TEST.format(name="a", check=""))
    check = "[0].COLOURS == ['red', 'blue']"
    repo.write("tests/test_b.py", LOADS_TEST.format(name="b", check=check.replace(", 'blue'", "")))
    start_project(repo, extra='[tool.tddgate]\nsource = ["src"]\n')
    repo.write("src/pkg/plugins/colours.py", "COLOURS = ['red', 'blue']\n")
    repo.write("tests/test_b.py", LOADS_TEST.format(name="b", check=check))
    repo.commit("blue")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))
    verdicts = []
    for order in (["tests/test_a.py", "tests/test_b.py"], ["tests/test_b.py", "tests/test_a.py"]):
        result = pytester.runpytest_subprocess(
            "--tddgate", "--tddgate-only=tdd", "-p", "no:randomly", "-p", "no:cacheprovider", *order
        )
        verdicts.append([out for out in result.outlines if out.startswith(("tdd ", "  src/"))])
        (pytester.path / ".tddgate/test-map.json").unlink(missing_ok=True)

    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0].split()[:2] == ["tdd", "fail"]  # no static link: map it by name


SCOPE = "def render(values):\n    return ', '.join(values)\n"
TRACEBACK = "from pkg.scope import render\n\n\ndef show(frame):\n    return 'at ' + render(frame)\n"
TRACEBACK_TEST = "from pkg.traceback import show\n\n\ndef test_show():\n    assert show(['a'])\n"


def test_a_test_that_runs_the_file_but_not_its_change_is_not_credited(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rich 96dd4b60 changed scope.py with no test; tests/test_traceback.py, changed
    earlier in the range for something else, runs scope.py's other lines."""
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n.coverage\ndocs/\n")
    repo.write("src/pkg/scope.py", SCOPE)
    repo.write("src/pkg/traceback.py", TRACEBACK)
    repo.write("tests/test_traceback.py", TRACEBACK_TEST)
    start_project(repo, extra='[tool.tddgate]\nsource = ["src"]\n')
    repo.write("tests/test_traceback.py", TRACEBACK_TEST.replace("['a']", "['a', 'b']"))
    repo.commit("a traceback of two values")
    repo.write("src/pkg/scope.py", SCOPE + "\n\ndef sort(values):\n    return sorted(values)\n")
    sha = repo.commit("sorted scopes, untested")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))

    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tdd", "-p", "no:randomly", "-p", "no:cacheprovider"
    )

    result.stdout.fnmatch_lines(
        [
            "tdd *fail *1 of 1 implementation file(s) changed before their tests",
            f'*src/pkg/scope.py: implementation changed first, in {sha[:8]} "sorted scopes*',
        ]
    )


def test_a_test_that_runs_a_later_change_is_not_credited_with_the_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlparse d1d80602 changed lexer.py with no test; tests/test_split.py, changed
    earlier for the splitter, runs lines another change of lexer.py made later."""
    monkeypatch.delenv("TDDGATE_BASE", raising=False)
    repo = GitRepo(pytester.path)
    repo.write(".gitignore", ".tddgate/\n.coverage\ndocs/\n")
    two = "def a(x):\n    return x\n\n\ndef b(x):\n    return x\n"
    repo.write("src/pkg/lexer.py", two)
    repo.write("src/pkg/api.py", "from pkg.lexer import b\n\n\ndef split(x):\n    return b(x)\n")
    repo.write(
        "tests/test_split.py", "from pkg.api import split\n\n\ndef test_b():\n    assert split(1)\n"
    )
    start_project(repo, extra='[tool.tddgate]\nsource = ["src"]\n')
    repo.write(
        "tests/test_split.py", "from pkg.api import split\n\n\ndef test_b():\n    assert split(2)\n"
    )
    repo.commit("split two")
    negated = two.replace("def a(x):\n    return x", "def a(x):\n    return -x")
    repo.write("src/pkg/lexer.py", negated)
    sha = repo.commit("a negates, untested")
    repo.write(
        "src/pkg/lexer.py",
        negated.replace("def b(x):\n    return x", "def b(x):\n    return x + 0"),
    )
    repo.commit("b adds zero")
    monkeypatch.setenv("PYTHONPATH", str(pytester.path / "src"))

    result = pytester.runpytest_subprocess(
        "--tddgate", "--tddgate-only=tdd", "-p", "no:randomly", "-p", "no:cacheprovider"
    )

    result.stdout.fnmatch_lines(
        [f'*src/pkg/lexer.py: implementation changed first, in {sha[:8]} "a negates*']
    )


def test_what_a_change_touched_is_named_by_function() -> None:
    from pytest_tddgate.facts.pyast import changed_functions, function_spans

    old = (
        b"LIMIT = 1\n\n\nclass C:\n    def m(self):\n        return 1\n\n\ndef f():\n    return 2\n"
    )
    method = old.replace(b"return 1", b"return 3")
    constant = old.replace(b"LIMIT = 1", b"LIMIT = 2")

    assert changed_functions(old, method) == (frozenset({"C.m"}), False)
    assert changed_functions(old, constant) == (frozenset(), True)
    assert changed_functions(old, b"def broken(:\n") is None
    assert function_spans(method) == {"C.m": frozenset({6}), "f": frozenset({10})}
