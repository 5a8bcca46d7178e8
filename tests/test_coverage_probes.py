"""`scope = "changed"` measures the changed files with line probes, not a tracer.

The probes must see exactly the lines coverage.py's tracer sees: checked on a module
full of the constructs where a statement's lines and its bytecode part ways, and on
a real project run, against a run that measured everything with the tracer.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.facts.probes import Probes
from tests.tddkit import git_logger
from tests.test_coverage_run import (  # noqa: F401  (an autouse fixture, used by name)
    PYPROJECT,
    build,
    run,
    same_plugin_in_subprocesses,
)

SRC = str(Path(__file__).resolve().parent.parent / "src")


def plain_caches_with_probes(folder: Path) -> list[Path]:
    """Bytecode files that imports or pytest would load and that hold probed code."""
    return [
        p
        for p in folder.rglob("*.pyc")
        if "-tddgate-" not in p.name and b"__tddgate_lines_" in p.read_bytes()
    ]


CONSTRUCTS = '''\
"""Module doc."""
from __future__ import annotations

import functools

X = (
    1 +
    2
)



def deco(f):
    return f


@deco
@functools.lru_cache(
    maxsize=None,
)
def decorated(a):
    """Doc."""
    if a > 1:
        return a
    elif a == 0:
        return 0
    else:
        pass
    return -a


class K:
    """Class doc."""
    y = 3

    def m(self):
        try:
            raise KeyError
        except ValueError:
            return 1
        except KeyError:
            return 2
        finally:
            z = 1

    def n(self, v):
        match v:
            case 1:
                return "one"
            case [a, b] if a > b:
                return "pair"
            case {"k": _}:
                return "map"
        return None

    def loop(self):
        total = 0
        for i in range(3):
            if i == 5:
                break
        else:
            total += 1
        while total < 3:
            total += 1
        else:
            total = -total
        return total

    def gen(self):
        yield 1
        yield (lambda q:
               q + 1)(2)
        squares = [i * i
                   for i in range(3)]
        return squares

    def unused(self):
        x = 1
        return x


def with_global():
    global X
    X = 5
    try:
        pass
    except Exception:
        pass
    try:
        1 / 0
    except:
        pass
    with open(__file__) as f:
        data = f.read(
            1
        )
    return data


decorated(2)
decorated(0)
decorated(-3)
K().m()
K().n(1); K().n([1, 2]); K().n(5)
K().loop()
list(K().gen())
with_global()
if __name__ == "__main__":
    print("main")
'''

# imports the module once under coverage.py's tracer or once with probes, and prints
# the statements coverage.py's analysis calls executed, and the module's docstrings
MEASURE = """
import importlib, json, os, sys
sys.path[:0] = [{src!r}, os.getcwd()]
import coverage
from pytest_tddgate.facts.probes import Probes
path = os.path.realpath("constructs.py")
cov = coverage.Coverage(data_file=None, branch=False)
if sys.argv[1] == "tracer":
    cov.start()
    module = importlib.import_module("constructs")
    cov.stop()
else:
    probes = Probes([path])
    probes.install()
    module = importlib.import_module("constructs")
    probes.uninstall()
    cov.get_data().add_lines(probes.lines())
_, statements, _, missing, _ = cov.analysis2(path)
docs = [module.__doc__, module.decorated.__doc__, module.K.__doc__]
print(json.dumps({{"executed": sorted(set(statements) - set(missing)), "docs": docs}}))
"""


def measure(folder: Path, how: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE.format(src=SRC), how],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_probes_see_the_lines_the_tracer_sees(tmp_path: Path) -> None:
    (tmp_path / "constructs.py").write_text(CONSTRUCTS, encoding="utf-8")
    traced = measure(tmp_path, "tracer")
    probed = measure(tmp_path, "probes")

    assert probed["executed"] == traced["executed"]
    assert len(traced["executed"]) > 60  # type: ignore[arg-type]  # the constructs ran
    # docstrings and `from __future__` keep their place: the module behaves the same
    assert probed["docs"] == ["Module doc.", "Doc.", "Class doc."]


def test_probed_code_keeps_its_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "boom.py").write_text(
        '"""Doc."""\n\n\ndef boom():\n    x = 1\n    raise ValueError(x)\n', encoding="utf-8"
    )
    script = (
        f"import os, sys, traceback; sys.path[:0] = [{SRC!r}, os.getcwd()]\n"
        "from pytest_tddgate.facts.probes import Probes\n"
        "Probes([os.path.realpath('boom.py')]).install()\n"
        "import boom\n"
        "try:\n    boom.boom()\n"
        "except ValueError as e:\n    print(traceback.extract_tb(e.__traceback__)[-1].lineno)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "6"


def test_scope_changed_measures_with_probes(pytester: pytest.Pytester) -> None:
    build(pytester)
    _, full = run(pytester, "--tddgate-only=tests,coverage")
    full_map = json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))
    (pytester.path / ".coverage").unlink()
    (pytester.path / "pyproject.toml").write_text(
        PYPROJECT.format(tddgate='[tool.tddgate.gates.coverage]\nscope = "changed"\n'),
        encoding="utf-8",
    )

    _, changed = run(pytester, "--tddgate-only=tests,coverage")

    assert changed["details"]["core"] == "probes"
    for key in ("new_percent", "new_lines", "new_covered", "new_files"):
        assert changed["metrics"][key] == full["metrics"][key]
    assert changed["details"]["files"] == full["details"]["files"]
    # per-test lines come from the probes: the changed files are mapped to their test
    probed_map = json.loads((pytester.path / ".tddgate/test-map.json").read_text("utf-8"))
    assert probed_map == full_map
    # the probed code is kept under its own name, never where plain runs look
    assert plain_caches_with_probes(pytester.path / "src") == []


def test_scope_changed_under_xdist_equals_serial(pytester: pytest.Pytester) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    _, serial = run(pytester, "--tddgate-only=tests,coverage")
    _, parallel = run(pytester, "--tddgate-only=tests,coverage", "-n", "2")

    assert parallel["details"]["core"] == "probes"
    assert parallel["metrics"] == serial["metrics"]
    assert parallel["details"]["files"] == serial["details"]["files"]


def test_subprocesses_trace_the_changed_files_themselves(pytester: pytest.Pytester) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    pyproject = pytester.path / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    pyproject.write_text(text.replace("branch = true", 'branch = true\npatch = ["subprocess"]'))
    # tax.py runs only in a child Python: coverage.py's `patch` measures it there
    (pytester.path / "tests/test_tax.py").write_text(
        "import os, subprocess, sys\n\n\n"
        "def test_vat_in_a_child():\n"
        "    code = 'from shop.tax import vat; assert vat(10) == 2.0'\n"
        "    env = {**os.environ, 'PYTHONPATH': 'src'}\n"
        "    subprocess.run([sys.executable, '-c', code], check=True, env=env)\n",
        encoding="utf-8",
    )

    _, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert gate["details"]["core"] == "probes"
    tax = next(f for f in gate["details"]["files"] if f["path"] == "src/shop/tax.py")
    assert tax["missing"] == "3"  # the raise; the rest ran in the child


def test_a_project_that_measures_forked_processes_is_traced(pytester: pytest.Pytester) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    _, probed = run(pytester, "--tddgate-only=tests,coverage")
    pyproject = pytester.path / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    pyproject.write_text(text.replace("branch = true", 'branch = true\npatch = ["fork"]'))

    _, traced = run(pytester, "--tddgate-only=tests,coverage")

    assert traced["details"]["core"] in ("ctrace", "sysmon")
    assert any("forked processes" in note for note in traced["details"]["notes"])
    assert traced["metrics"] == probed["metrics"]


_OFF = "[tool.tddgate.gates.coverage]\nprobes = false\n"


def _probes_off(pytester: pytest.Pytester) -> None:
    pyproject = pytester.path / "pyproject.toml"
    text = pyproject.read_text("utf-8")
    if "[tool.tddgate.gates.coverage]" not in text:
        text += "\n[tool.tddgate.gates.coverage]\n"
    pyproject.write_text(text.replace("[tool.tddgate.gates.coverage]\n", _OFF))


@pytest.mark.parametrize("scope", ["all", "changed"])
def test_a_module_imported_before_the_run_is_probed_in_place(
    pytester: pytest.Pytester, scope: str
) -> None:
    """`-p shop.cart` imports it as a plugin, before the import hook is in place: its
    functions get probed code in place, and the numbers are the tracer's (which also
    starts after the module-level lines ran)."""
    build(pytester, f'[tool.tddgate.gates.coverage]\nscope = "{scope}"\n')
    _, fresh = run(pytester, "--tddgate-only=tests,coverage")

    _, adopted = run(pytester, "--tddgate-only=tests,coverage", "-p", "shop.cart")
    _probes_off(pytester)
    _, traced = run(pytester, "--tddgate-only=tests,coverage", "-p", "shop.cart")

    assert fresh["details"]["core"] == adopted["details"]["core"] == "probes"
    assert traced["details"]["core"] in ("ctrace", "sysmon")
    notes = [n for n in adopted["details"]["notes"] if "imported before the run" in n]
    assert len(notes) == 1 and "cart.py" in notes[0] and "probed in place" in notes[0]
    assert adopted["metrics"] == traced["metrics"]

    def lines(gate: dict[str, Any]) -> list[Any]:
        return [f for f in gate["findings"] if f["rule"] != "coverage-note"]

    assert lines(adopted) == lines(traced)
    # cart.py's module-level lines ran before any measurement, as under `pytest --cov`
    assert adopted["metrics"]["new_covered"] < fresh["metrics"]["new_covered"]


@pytest.mark.parametrize("branch", ["true", "false"])
def test_a_module_that_cannot_be_probed_in_place_is_traced_by_the_cheapest_tracer(
    pytester: pytest.Pytester, branch: str
) -> None:
    """A generator of the module suspended at import would go on in its old code: the
    tracer takes over, the one the plugin picks when probes are off (sysmon on 3.12+
    when the settings allow it)."""
    build(pytester)
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text("utf-8").replace("branch = true", f"branch = {branch}")
    )
    cart = pytester.path / "src/shop/cart.py"
    cart.write_text(cart.read_text("utf-8") + "\n_IDS = (n for n in range(9))\nnext(_IDS)\n")

    _, traced = run(pytester, "--tddgate-only=tests,coverage", "-p", "shop.cart")
    _probes_off(pytester)
    _, off = run(pytester, "--tddgate-only=tests,coverage", "-p", "shop.cart")

    sysmon = hasattr(sys, "monitoring") and (branch == "false" or sys.version_info >= (3, 14))
    assert traced["details"]["core"] == off["details"]["core"]
    assert traced["details"]["core"] == ("sysmon" if sysmon else "ctrace")
    notes = [n for n in traced["details"]["notes"] if "imported before the run" in n]
    assert len(notes) == 1 and "cart.py" in notes[0] and "traced" in notes[0]
    assert traced["metrics"] == off["metrics"]


def test_a_changed_module_loaded_by_its_own_loader_is_named(pytester: pytest.Pytester) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    # a test that loads tax.py from its path: the import hook never sees it
    pytester.makepyfile(
        test_tax="""
        import importlib.util
        from pathlib import Path

        def test_vat():
            path = Path(__file__).parent.parent / "src" / "shop" / "tax.py"
            spec = importlib.util.spec_from_file_location("shop.tax", path)
            module = importlib.util.module_from_spec(spec)
            import sys
            sys.modules["shop.tax"] = module
            spec.loader.exec_module(module)
            assert module.vat(10) == 2.0
        """
    )
    (pytester.path / "test_tax.py").rename(pytester.path / "tests/test_tax.py")

    _, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert gate["details"]["core"] == "probes"
    assert any("tax.py loaded by its own loader" in n for n in gate["details"]["notes"])


def test_compiling_with_probes_warns_of_nothing(pytester: pytest.Pytester) -> None:
    # an invalid escape warns when compiled, which a plain run does once and then loads
    # __pycache__; probes compile at every import, and filterwarnings = error would
    # fail every run on it
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    cart = pytester.path / "src/shop/cart.py"
    cart.write_text(cart.read_text("utf-8") + '\nPATTERN = "\\d+"\n', encoding="utf-8")

    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert gate["details"]["core"] == "probes"
    result.assert_outcomes(passed=4)


def test_the_changed_lines_are_read_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # measured at the start, judged at the end: one git diff serves both
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    path, calls = git_logger(pytester.path.parent)
    monkeypatch.setenv("PATH", path)

    _, gate = run(pytester, "--tddgate-only=tests,coverage")

    assert gate["metrics"]["new_lines"] == 11
    commands = calls.read_text(encoding="utf-8").split()
    assert commands.count("diff") == 1
    assert commands.count("ls-files") == 1


def test_subprocess_configuration_is_handed_over_and_taken_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_tddgate.facts.coverage import Measurement
    from pytest_tddgate.settings import resolve

    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "tax.py").write_text("RATE = 0.2\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.coverage.run]\npatch = ["subprocess"]\n\n'
        '[tool.tddgate.gates.coverage]\nscope = "changed"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COVERAGE_PROCESS_CONFIG", "the caller's")
    settings = resolve(tmp_path, environ={})

    measurement = Measurement.start(settings, lambda: {"src/shop/tax.py": frozenset({1})})
    handed = os.environ["COVERAGE_PROCESS_CONFIG"]
    measurement.stop()
    measurement.cov.get_data().close(force=True)  # its in-memory SQLite, now

    assert measurement.core == "probes"
    # coverage.py's own serialized form: the children trace only the changed file
    assert json.loads(base64.b64decode(handed))["run_include"] == [
        os.path.realpath(tmp_path / "src" / "shop" / "tax.py")
    ]
    assert os.environ["COVERAGE_PROCESS_CONFIG"] == "the caller's"


def test_a_measured_changed_test_module_is_probed_with_its_asserts_rewritten(
    pytester: pytest.Pytester,
) -> None:
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    pyproject = pytester.path / "pyproject.toml"
    text = pyproject.read_text("utf-8").replace('source = ["src"]', 'source = ["src", "tests"]')
    pyproject.write_text(text, encoding="utf-8")
    tests = pytester.path / "tests/test_cart.py"  # changed on the branch, now measured
    tests.write_text(
        tests.read_text("utf-8") + "\n\ndef test_explained():\n    x = 1\n    assert x == 2\n",
        encoding="utf-8",
    )

    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    result.stdout.fnmatch_lines(["*assert 1 == 2*"])  # pytest's explanation, not a bare error
    # its asserts rewritten as pytest does, and probed: measured without a tracer
    measured = next(f for f in gate["details"]["files"] if f["path"] == "tests/test_cart.py")
    assert measured["covered"] == measured["new_lines"] > 0  # the failing assert ran too
    assert gate["details"]["core"] == "probes"
    assert gate["details"]["notes"] == []
    # the probed code is kept under its own name, never where pytest looks
    assert plain_caches_with_probes(pytester.path / "tests") == []


def test_a_changed_module_run_by_runpy_is_measured(pytester: pytest.Pytester) -> None:
    # runpy runs the module's code in a namespace of its own, not the module's
    build(pytester, '[tool.tddgate.gates.coverage]\nscope = "changed"\n')
    (pytester.path / "tests/test_tax.py").write_text(
        "import runpy\n\n\n"
        "def test_vat_as_main():\n"
        "    namespace = runpy.run_module('shop.tax', run_name='__main__')\n"
        "    assert namespace['vat'](10) == 2.0\n",
        encoding="utf-8",
    )

    result, gate = run(pytester, "--tddgate-only=tests,coverage")

    result.assert_outcomes(passed=5)
    assert gate["details"]["core"] == "probes"
    tax = next(f for f in gate["details"]["files"] if f["path"] == "src/shop/tax.py")
    assert tax["missing"] == "3"


def test_a_test_module_pytest_rewrites_is_probed_and_keeps_its_explanations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # imported in this process, where pytest's rewriting import hook is in place
    module_file = tmp_path / "test_rewritten_and_probed.py"
    module_file.write_text("def check(x):\n    y = x + 1\n    assert y == 3\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    probes = Probes([os.path.realpath(module_file)])
    probes.install()
    try:
        module = __import__("test_rewritten_and_probed")
        with pytest.raises(AssertionError) as caught:
            module.check(1)
    finally:
        probes.uninstall()
        sys.modules.pop("test_rewritten_and_probed", None)

    assert "assert 2 == 3" in str(caught.value)  # pytest's explanation: rewritten
    assert probes.lines() == {os.path.realpath(module_file): {1, 2, 3}}
    assert probes.unprobed() == []
