"""Probes swapped into the functions of a module imported before the hook (facts/adopt.py).

In this process, with real modules written to a temporary folder: what a pytest plugin
that imports the project leaves behind when the measurement starts.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pytest_tddgate.facts.adopt import adopt, adopted_note
from pytest_tddgate.facts.probes import Probes

MODULE = """\
import functools


def grade(n):
    if n > 5:
        return "high"
    return "low"


class Box:
    def __init__(self, items):
        self.items = items

    @property
    def size(self):
        return len(self.items)

    @staticmethod
    def make(*items):
        return Box(list(items))


def counter():
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count

    return bump


@functools.lru_cache
def cached(x):
    return x * 2


square = lambda v: v * v  # noqa: E731
"""


@pytest.fixture
def imported(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """A module imported the plain way, with a name of its own, then forgotten."""
    name = f"adopted_{request.node.name.replace('[', '_').replace(']', '_').replace('-', '_')}"
    source = getattr(request, "param", MODULE)
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def _path(module: ModuleType) -> str:
    assert module.__file__ is not None
    return os.path.realpath(module.__file__)


def test_every_function_of_the_module_runs_probed_code(imported: ModuleType) -> None:
    path = _path(imported)
    bump = imported.counter()  # a closure made before: swapped too, its cell kept
    probes = Probes([path])
    assert probes.imported() == [path]

    assert adopt(probes, [path])
    assert imported.grade(9) == "high"
    box = imported.Box.make(1, 2)
    assert box.size == 2
    assert bump() == 1
    assert imported.cached(3) == 6
    assert imported.square(3) == 9

    lines = probes.lines()[path]
    assert {5, 6, 12, 16, 20, 28, 29, 36} <= lines  # bodies that ran
    assert 7 not in lines  # `return "low"`: not run
    # a lambda has no statement to probe: its line counts when the statement holding it
    # runs, here at import, unmeasured (a tracer would count the lambda's calls)
    assert 39 not in lines
    assert 1 not in lines and 4 not in lines  # module level: ran at import, unmeasured
    assert probes.compiled == {path}
    assert probes.unprobed() == []


def test_branches_are_probed_in_place_too(imported: ModuleType) -> None:
    path = _path(imported)
    probes = Probes([path], branches=True)

    assert adopt(probes, [path])
    imported.grade(1)

    assert probes.sides[path] == {2 * 5}  # `if n > 5` went the other way only
    assert 5 in probes.bodies[path]


@pytest.mark.parametrize(
    "imported",
    [
        MODULE + "\n_IDS = (n for n in range(9))\nnext(_IDS)\n",  # a suspended generator
        MODULE + "\npair = (lambda: 1, lambda: 2)\n",  # two functions, one key
    ],
    indirect=True,
    ids=["suspended-generator", "same-name-same-line"],
)
def test_a_module_that_cannot_be_swapped_whole_is_left_alone(imported: ModuleType) -> None:
    path = _path(imported)
    before = imported.grade.__code__
    probes = Probes([path])

    assert not adopt(probes, [path])
    assert imported.grade.__code__ is before
    imported.grade(9)
    assert probes.lines() == {}


def test_a_module_that_is_not_imported_is_not_adopted(tmp_path: Path) -> None:
    path = str(tmp_path / "never.py")
    assert not adopt(Probes([path]), [path])


def test_the_note_names_the_files() -> None:
    note = adopted_note(["/p/a.py", "/p/b.py", "/p/c.py", "/p/d.py"])

    assert note.startswith("a.py, b.py, c.py and more imported before the run")
    assert "not counted" in note
