"""facts.mapping: which files are implementation, and which tests map to them, and why."""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.facts import pyast
from pytest_tddgate.facts.covdata import TEST_MAP, CoverageFacts
from pytest_tddgate.facts.mapping import Link, Mapper
from pytest_tddgate.facts.pyast import CACHE as PARSE_CACHE
from tests.tddkit import settings_at

if TYPE_CHECKING:
    from pathlib import Path

SHAPES = "def area(w, h):\n    return w * h\n\n\nclass Square:\n    pass\n"


def project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n' + config,
        "src/pkg/__init__.py": "",
        "src/pkg/shapes.py": SHAPES,
        **files,
    }
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp_path


def mapper_for(root: Path, **kwargs: object) -> Mapper:
    return Mapper(settings_at(root), **kwargs)  # type: ignore[arg-type]


def sources(mapper: Mapper, impl: str, test: str) -> tuple[str, ...]:
    link = mapper.links(impl, [test]).get(test)
    return link.sources if link else ()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/pkg/shapes.py", True),
        ("src/pkg/conftest.py", False),  # exempt by default
        ("src/pkg/_version.py", False),  # exempt by default
        ("src/pkg/test_inline.py", False),  # a test module inside the package
        ("src/pkg/tests/helpers.py", True),  # not a test root, not a test name
        ("tests/helpers.py", False),  # test code: under the test roots
        ("scripts/tool.py", False),  # outside the source roots
        ("src/pkg/data.json", False),
    ],
)
def test_implementation_files(tmp_path: Path, path: str, expected: bool) -> None:
    layout = mapper_for(project(tmp_path, {path: "x = 1\n"})).layout

    assert layout.is_implementation(path) is expected


@pytest.mark.parametrize(
    ("text", "has_code"),
    [
        ("", False),
        ('"""Docstring."""\n', False),
        ("from .shapes import area\n__all__ = ['area']\n", False),
        ("from importlib.metadata import version\n__version__ = version('pkg')\n", False),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .shapes import Square\n",
            False,
        ),
        ("try:\n    import ujson as json\nexcept ImportError:\n    import json\n", False),
        ("def helper():\n    return 1\n", True),
        ("registry = {}\n", True),
        ("print('side effect')\n", True),
    ],
)
def test_an_init_file_without_code_is_exempt(tmp_path: Path, text: str, has_code: bool) -> None:
    layout = mapper_for(project(tmp_path, {"src/pkg/__init__.py": text})).layout

    assert layout.is_implementation("src/pkg/__init__.py") is has_code
    expected = None if has_code else "__init__.py without code"
    assert layout.exempt_reason("src/pkg/__init__.py") == expected


def test_exempt_globs_come_from_the_settings(tmp_path: Path) -> None:
    config = '[tool.tddgate.gates.tdd]\nexempt = ["src/pkg/generated/**"]\n'
    root = project(tmp_path, {"src/pkg/generated/api.py": "x = 1\n"}, config)
    layout = mapper_for(root).layout

    assert not layout.is_implementation("src/pkg/generated/api.py")
    assert layout.exempt_reason("src/pkg/generated/api.py") == "matches gates.tdd.exempt"
    assert layout.is_implementation("src/pkg/conftest.py")  # the defaults were replaced


def test_testpaths_dot_makes_only_test_named_files_tests(tmp_path: Path) -> None:
    root = project(tmp_path, {"pyproject.toml": '[tool.tddgate]\ntests = ["."]\nsource = ["."]\n'})
    layout = mapper_for(root).layout

    assert layout.is_implementation("src/pkg/shapes.py")
    assert layout.is_test("test_shapes.py")
    assert layout.is_test("deep/down/shapes_test.py")


@pytest.mark.parametrize(
    ("impl", "test", "linked"),
    [
        ("src/pkg/shapes.py", "tests/test_shapes.py", True),
        ("src/pkg/shapes.py", "tests/unit/deep/test_shapes.py", True),
        ("src/pkg/shapes.py", "tests/shapes_test.py", True),
        ("src/pkg/shapes.py", "tests/test_shapes_extra.py", False),
        ("src/pkg/__init__.py", "tests/test_pkg.py", True),
    ],
)
def test_naming_convention(tmp_path: Path, impl: str, test: str, linked: bool) -> None:
    root = project(
        tmp_path, {test: "def test_x():\n    pass\n", "src/pkg/__init__.py": "def f(): pass\n"}
    )

    assert ("naming" in sources(mapper_for(root), impl, test)) is linked


def test_a_naming_template_with_a_folder_is_matched_against_the_whole_path(
    tmp_path: Path,
) -> None:
    config = '[tool.tddgate.gates.tdd]\nnaming = ["tests/unit/**/check_{stem}.py"]\n'
    root = project(
        tmp_path, {"tests/unit/a/check_shapes.py": "", "tests/check_shapes.py": ""}, config
    )
    mapper = mapper_for(root)

    assert sources(mapper, "src/pkg/shapes.py", "tests/unit/a/check_shapes.py") == ("naming",)
    assert sources(mapper, "src/pkg/shapes.py", "tests/check_shapes.py") == ()


@pytest.mark.parametrize(
    "code",
    [
        "from pkg.shapes import area",
        "import pkg.shapes",
        "import pkg.shapes as s",
        "from pkg import shapes",
        "import importlib\nmod = importlib.import_module('pkg.shapes')",
        "def test_late():\n    from pkg.shapes import Square",
        "import pytest\nshapes = pytest.importorskip('pkg.shapes')",
    ],
)
def test_imports_link_a_test_to_the_module_it_imports(tmp_path: Path, code: str) -> None:
    root = project(tmp_path, {"tests/test_geometry.py": code + "\n"})

    assert sources(mapper_for(root), "src/pkg/shapes.py", "tests/test_geometry.py") == ("imports",)


def test_names_an_init_re_exports_link_to_the_module_that_defines_them(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "src/pkg/__init__.py": "from .shapes import area\nfrom pkg.sub import volume\n",
            "src/pkg/sub/__init__.py": "from .solids import *\n",
            "src/pkg/sub/solids.py": "def volume(a):\n    return a ** 3\n",
            "src/pkg/sub/other.py": "def surface(a):\n    return a\n",
            "tests/test_api.py": "from pkg import area, volume\n",
        },
    )
    mapper = mapper_for(root)

    assert mapper.import_targets("tests/test_api.py") == {
        "src/pkg/__init__.py",
        "src/pkg/shapes.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/sub/solids.py",
    }


def test_relative_imports_from_tests_inside_the_package(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "src/pkg/tests/__init__.py": "",
            "src/pkg/tests/test_inline.py": "from ..shapes import area\nfrom .. import shapes\n",
        },
    )

    assert sources(mapper_for(root), "src/pkg/shapes.py", "src/pkg/tests/test_inline.py") == (
        "imports",
    )


def test_third_party_imports_and_broken_files_link_nothing(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "src/os.py": "x = 1\n",  # a source file named like a stdlib module
            "tests/test_stdlib.py": "from os import path\nimport json\n",
            "tests/test_broken.py": "from pkg.shapes import (\n",
        },
    )
    mapper = mapper_for(root)

    assert mapper.import_targets("tests/test_stdlib.py") == {"src/os.py"}
    assert mapper.import_targets("tests/test_broken.py") == frozenset()


def test_flat_layout_resolves_packages_at_the_top(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "pyproject.toml": "",
            "src/pkg/__init__.py": "",
            "mylib/__init__.py": "",
            "mylib/core.py": "def run():\n    return 1\n",
            "tests/test_run.py": "from mylib.core import run\n",
        },
    )
    (root / "src").rename(root / "vendor")  # no src/: the source roots are the packages
    mapper = mapper_for(root)

    assert mapper.layout.source_roots == ("mylib",)
    assert sources(mapper, "mylib/core.py", "tests/test_run.py") == ("imports",)


def test_the_matrix_links_tests_through_requirements(tmp_path: Path) -> None:
    matrix = {
        "requirements": [
            {"id": "REQ-1", "code": ["src/pkg/shapes.py"], "tests": ["tests/test_a.py::test_x"]},
            {"id": "REQ-2", "code": ["src/pkg/"], "tests": []},
            {"id": 3, "code": "not a list"},
        ]
    }
    root = project(
        tmp_path,
        {
            "traceability_matrix.json": json.dumps(matrix),
            "tests/test_a.py": "def test_x():\n    pass\n",
            "tests/test_b.py": "import pytest\n\n@pytest.mark.req('REQ-2')\ndef test_y(): pass\n",
            "tests/test_c.py": "def test_z():\n    pass\n",
        },
    )
    mapper = mapper_for(root, run_requirements={"tests/test_c.py": ("REQ-1",)})

    links = mapper.links(
        "src/pkg/shapes.py", ["tests/test_a.py", "tests/test_b.py", "tests/test_c.py"]
    )

    assert links["tests/test_a.py"] == Link("tests/test_a.py", ("matrix",), ("REQ-1",))
    assert links["tests/test_b.py"].requirements == ("REQ-2",)
    assert links["tests/test_c.py"].label() == "matrix REQ-1"


@pytest.mark.parametrize("text", ["{not json", '"a string"', '[{"id": "R", "code": ["x"]}]'])
def test_a_broken_or_bare_matrix_never_crashes_the_mapping(tmp_path: Path, text: str) -> None:
    root = project(tmp_path, {"traceability_matrix.json": text, "tests/test_x.py": ""})

    assert mapper_for(root).links("src/pkg/shapes.py", ["tests/test_x.py"]) == {}


def test_coverage_of_the_last_run_and_of_this_run(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            TEST_MAP: json.dumps({"tests": {"tests/test_old.py": ["src/pkg/shapes.py"]}}),
            "tests/test_old.py": "",
            "tests/test_now.py": "",
            "tests/test_idle.py": "",
        },
    )
    coverage = CoverageFacts(
        files={},
        contexts={
            "tests/test_now.py::test_a": {"src/pkg/shapes.py": frozenset({2})},
            "tests/test_idle.py::test_b": {"src/pkg/shapes.py": frozenset()},
        },
    )
    mapper = mapper_for(root, coverage=coverage)
    tests = ["tests/test_old.py", "tests/test_now.py", "tests/test_idle.py"]

    assert {t: link.sources for t, link in mapper.links("src/pkg/shapes.py", tests).items()} == {
        "tests/test_old.py": ("coverage",),
        "tests/test_now.py": ("coverage",),
    }


def test_all_links_looks_through_every_test_and_reports_each_source(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {
            "tests/test_shapes.py": "from pkg.shapes import area\n",
            "tests/unit/test_geometry.py": "from pkg import shapes\n",
            "tests/test_unrelated.py": "import json\n",
            "tests/helpers.py": "from pkg.shapes import area\n",  # not a test module
        },
    )
    mapper = mapper_for(root)

    found = mapper.all_links("src/pkg/shapes.py")
    cheap = mapper.known_links("src/pkg/shapes.py")

    assert {t: link.label() for t, link in found.items()} == {
        "tests/test_shapes.py": "naming, imports",
        "tests/unit/test_geometry.py": "imports",
    }
    assert list(cheap) == ["tests/test_shapes.py"]
    assert found["tests/test_shapes.py"].to_json() == {
        "test": "tests/test_shapes.py",
        "sources": ["naming", "imports"],
        "requirements": [],
    }


def test_parse_results_are_kept_between_runs(tmp_path: Path) -> None:
    root = project(tmp_path, {"tests/test_shapes.py": "from pkg.shapes import area\n"})
    first = mapper_for(root)
    assert first.import_targets("tests/test_shapes.py") == {"src/pkg/shapes.py"}
    first.save()
    cache = root / PARSE_CACHE
    entries = json.loads(cache.read_text(encoding="utf-8"))["entries"]

    assert len(entries) == 1
    assert mapper_for(root).import_targets("tests/test_shapes.py") == {"src/pkg/shapes.py"}

    cache.write_text("{broken", encoding="utf-8")  # a cache, not an input: never an error
    assert mapper_for(root).import_targets("tests/test_shapes.py") == {"src/pkg/shapes.py"}


def _rewrite_in_place(file: Path, text: str) -> None:
    """Same inode, same size, new bytes: what an editor that writes in place leaves."""
    assert len(text.encode()) == file.stat().st_size
    with file.open("r+b") as handle:
        handle.write(text.encode())


def _stats_kept(root: Path) -> dict[str, str]:
    return dict(json.loads((root / PARSE_CACHE).read_text(encoding="utf-8"))["stats"])


def test_an_edit_is_seen_even_when_size_and_modification_time_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse cache knows a file by its stat, as git's index does: a file that
    settled is not read again while its stat is unchanged, and any write changes it."""
    monkeypatch.setattr(pyast, "_SETTLED_NS", 50_000_000)  # settled after 0.05 s, not 2 s
    root = project(
        tmp_path, {"tests/test_shapes.py": "from pkg.shapes import area\n", "src/pkg/frames.py": ""}
    )
    test = root / "tests/test_shapes.py"
    old = time.time_ns() - 60 * 10**9
    os.utime(test, ns=(old, old))
    time.sleep(0.1)  # the change time, which nobody can set, must be older too
    first = mapper_for(root)
    assert first.import_targets("tests/test_shapes.py") == {"src/pkg/shapes.py"}
    first.save()
    assert str(test) in _stats_kept(root)  # settled: known by its stat from now on

    _rewrite_in_place(test, "from pkg.frames import area\n")
    os.utime(test, ns=(old, old))  # the same size, inode and modification time
    assert mapper_for(root).import_targets("tests/test_shapes.py") == {"src/pkg/frames.py"}


def test_a_file_written_just_now_is_read_on_every_run(tmp_path: Path) -> None:
    """Within the file system's clock tick, a same-size rewrite keeps its whole stat:
    such a file is not known by its stat until it is older (git's "racy clean")."""
    root = project(
        tmp_path, {"tests/test_shapes.py": "from pkg.shapes import area\n", "src/pkg/frames.py": ""}
    )
    test = root / "tests/test_shapes.py"
    first = mapper_for(root)
    assert first.import_targets("tests/test_shapes.py") == {"src/pkg/shapes.py"}
    first.save()
    assert str(test) not in _stats_kept(root)

    _rewrite_in_place(test, "from pkg.frames import area\n")
    assert mapper_for(root).import_targets("tests/test_shapes.py") == {"src/pkg/frames.py"}
