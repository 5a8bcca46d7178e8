"""Reading `@pytest.mark.req` and test definitions statically, without importing."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from pytest_tddgate.facts.reqmarks import MarkedTest, StaticTests

if TYPE_CHECKING:
    from pathlib import Path


def make(tmp_path: Path, files: dict[str, str], roots: tuple[str, ...] = ("tests",)) -> StaticTests:
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return StaticTests(tmp_path, roots)


def test_every_marker_form_is_found(tmp_path: Path) -> None:
    tests = make(
        tmp_path,
        {
            "tests/test_forms.py": """
        import pytest
        from pytest import mark

        req = pytest.mark.req

        @pytest.mark.req("REQ-1", "REQ-2")
        def test_decorated():
            pass

        @mark.req("REQ-3")
        async def test_async():
            pass

        @req("REQ-4")
        def test_alias():
            pass

        @pytest.mark.parametrize("x", [1, pytest.param(2, marks=pytest.mark.req("REQ-5"))])
        def test_param(x):
            pass

        @pytest.mark.req("REQ-6")
        class TestGroup:
            pytestmark = [pytest.mark.req("REQ-7"), pytest.mark.slow]

            def test_in_class(self):
                pass

            class TestNested:
                def test_deep(self):
                    pass

            def helper(self):
                pass

        def test_unmarked():
            pass

        @pytest.mark.req(computed_id())
        def test_dynamic():
            pass
        """
        },
    )
    found = {m.nodeid: m.requirements for m in tests.marked()}
    assert found == {
        "tests/test_forms.py::test_decorated": ("REQ-1", "REQ-2"),
        "tests/test_forms.py::test_async": ("REQ-3",),
        "tests/test_forms.py::test_alias": ("REQ-4",),
        "tests/test_forms.py::test_param": ("REQ-5",),
        "tests/test_forms.py::TestGroup::test_in_class": ("REQ-6", "REQ-7"),
        "tests/test_forms.py::TestGroup::TestNested::test_deep": ("REQ-6", "REQ-7"),
    }


def test_module_pytestmark_applies_to_every_test(tmp_path: Path) -> None:
    tests = make(
        tmp_path,
        {
            "tests/sub/test_mod.py": """
        import pytest
        pytestmark = pytest.mark.req("REQ-9")

        def test_a():
            pass

        @pytest.mark.req("REQ-9", "REQ-10")
        def test_b():
            pass
        """
        },
    )
    assert tests.marked() == (
        MarkedTest("tests/sub/test_mod.py::test_a", "tests/sub/test_mod.py", 5, ("REQ-9",)),
        MarkedTest(
            "tests/sub/test_mod.py::test_b", "tests/sub/test_mod.py", 8, ("REQ-9", "REQ-10")
        ),
    )


def test_only_test_files_under_the_test_roots_are_read(tmp_path: Path) -> None:
    marked = 'import pytest\n@pytest.mark.req("R")\ndef test_x():\n    pass\n'
    tests = make(
        tmp_path,
        {
            "tests/test_a.py": marked,
            "tests/b_test.py": marked,
            "tests/helpers.py": marked,  # not a test file by pytest's default names
            "tests/.hidden/test_c.py": marked,
            "tests/__pycache__/test_d.py": marked,
            "src/test_e.py": marked,  # not under a test root
            "tests/test_broken.py": "def test_(:\n  req",  # does not parse: skipped
        },
    )
    assert [m.path for m in tests.marked()] == ["tests/b_test.py", "tests/test_a.py"]


def test_a_test_root_may_be_a_file(tmp_path: Path) -> None:
    tests = make(
        tmp_path,
        {"check_it.py": 'import pytest\n@pytest.mark.req("R")\ndef test_x():\n    pass\n'},
        roots=("check_it.py", "missing"),
    )
    assert [m.nodeid for m in tests.marked()] == ["check_it.py::test_x"]


def test_has_node(tmp_path: Path) -> None:
    tests = make(
        tmp_path,
        {
            "tests/test_n.py": """
        from helpers import test_imported
        test_assigned = lambda: None

        def test_plain():
            pass

        class TestBox:
            def test_m(self):
                pass

        class TestChild(TestBox):
            pass
        """,
            "tests/test_bad.py": "def (:",
            "tests/cases.yaml": "x: 1",
        },
    )
    assert tests.has_node("tests/test_n.py::test_plain")
    assert tests.has_node("tests/test_n.py::test_plain[1-2]")
    assert tests.has_node("tests/test_n.py::test_imported")
    assert tests.has_node("tests/test_n.py::test_assigned")
    assert tests.has_node("tests/test_n.py::TestBox")
    assert tests.has_node("tests/test_n.py::TestBox::test_m")
    assert tests.has_node("tests/test_n.py::TestChild::test_m")  # inherited
    assert tests.has_node("tests/test_n.py::test_gone") is False
    assert tests.has_node("tests/test_n.py::TestBox::test_gone") is False
    assert tests.has_node("tests/test_n.py::test_plain::inner") is False
    # cannot judge: a file that does not parse, or is not Python
    assert tests.has_node("tests/test_bad.py::test_x") is None
    assert tests.has_node("tests/cases.yaml::case") is None
