"""The coverage gate's `new_functions` condition: a new function that no test runs fails,
whatever the percentages, and stubs that no test could run do not."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from pathlib import Path

GATE = (
    "--tddgate",
    "--tddgate-only=coverage",
    "--tddgate-no-learn",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
)
PYPROJECT = '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["src"]\n'

# 40 lines of tested code and one small untested function: new code well above 80 %
TESTED = "".join(f"def tested_{n}():\n    return {n}\n\n\n" for n in range(20))
SHIPPING = TESTED + "def shipping(weight):\n" + "    return 5 if weight < 10 else 9\n"
SHIPPING_TEST = "import shop.shipping as s\n\n\ndef test_tested():\n" + "".join(
    f"    assert s.tested_{n}() == {n}\n" for n in range(20)
)

STUBS = '''\
import abc
from typing import TYPE_CHECKING, Protocol, overload


class Priced(Protocol):
    def price(self) -> int: ...

    def label(self) -> str:
        """What the customer sees."""


class Rule(abc.ABC):
    @abc.abstractmethod
    def apply(self, price: int) -> int:
        raise NotImplementedError


def documented_only() -> None:
    """A docstring is no code to run."""


def stub() -> None:
    ...


def legacy():  # pragma: no cover
    return 1


class NoDiscount(Exception):
    pass


@overload
def rounded(value: int) -> int: ...
@overload
def rounded(value: float) -> float: ...
def rounded(value):
    return round(value)


if TYPE_CHECKING:

    def only_for_mypy() -> int:
        return 1
'''
STUBS_TEST = (
    "from shop.stubs import rounded\n\n\ndef test_rounded():\n    assert rounded(2.4) == 2\n"
)

CART = """\
class Cart:
    def total(self):
        return 1

    def count(self):
        return 2


class Wishlist:
    def add(self, item):
        return [item]

    def remove(self, item):
        return []


def outer():
    def inner():
        return 1

    return 2
"""
CART_TEST = (
    "from shop.cart import Cart, outer\n\n\n"
    "def test_cart():\n"
    "    assert Cart().total() == 1\n"
    "    assert outer() == 2\n"
)


def project(path: Path) -> GitRepo:
    """A shop on `main` with one tested module, then a `feature` branch."""
    repo = GitRepo(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", ".tddgate/\n__pycache__/\n.coverage*\n")
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/base.py", "def price():\n    return 100\n\n\ndef old():\n    return 0\n")
    repo.write(
        "tests/test_base.py",
        "from shop.base import price\n\n\ndef test_price():\n    assert price() == 100\n",
    )
    repo.commit("shop")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def coverage_gate(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / ".tddgate" / "report.json").read_text())
    gate: dict[str, Any] = next(g for g in report["gates"] if g["name"] == "coverage")
    return gate


def untested(gate: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [
        (f["path"], f["line"], f["message"])
        for f in gate["findings"]
        if f["rule"] == "untested-new-function"
    ]


def test_an_untested_function_fails_inside_a_passing_percentage(
    pytester: pytest.Pytester,
) -> None:
    repo = project(pytester.path)
    repo.write("src/shop/shipping.py", SHIPPING)
    repo.write("tests/test_shipping.py", SHIPPING_TEST)
    repo.commit("shipping")
    result = pytester.runpytest(*GATE)

    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "coverage      fail   total *; new code 9*% of 4* lines; "
            "1 new function(s) or class(es) not run by any test",
            "  src/shop/shipping.py:81: function `shipping` is new or changed, and no test "
            "runs any line of it ?untested-new-function?",
            "    fix: write a test that calls it*",
        ]
    )
    gate = coverage_gate(pytester)
    assert gate["metrics"]["untested_new_functions"] == 1
    assert gate["metrics"]["new_percent"] > 80


def test_the_condition_can_be_turned_off(pytester: pytest.Pytester) -> None:
    repo = project(pytester.path)
    repo.write(
        "pyproject.toml", PYPROJECT + "[tool.tddgate.gates.coverage]\nnew_functions = false\n"
    )
    repo.write("src/shop/shipping.py", SHIPPING)
    repo.write("tests/test_shipping.py", SHIPPING_TEST)
    repo.commit("shipping")
    result = pytester.runpytest(*GATE)

    assert result.ret == 0
    assert untested(coverage_gate(pytester)) == []


def test_stubs_and_excluded_code_are_not_judged(pytester: pytest.Pytester) -> None:
    repo = project(pytester.path)
    repo.write("src/shop/stubs.py", STUBS)
    repo.write("tests/test_stubs.py", STUBS_TEST)
    repo.commit("stubs")
    result = pytester.runpytest(*GATE)

    # only `Rule.apply`'s line is uncovered (abstract, so not a finding): 94 % of new code
    assert untested(coverage_gate(pytester)) == []
    assert result.ret == 0, result.stdout.str()


def test_each_untested_definition_once(pytester: pytest.Pytester) -> None:
    repo = project(pytester.path)
    repo.write("src/shop/cart.py", CART)
    repo.write("tests/test_cart.py", CART_TEST)
    repo.commit("cart")
    pytester.runpytest(*GATE)

    assert untested(coverage_gate(pytester)) == [
        (
            "src/shop/cart.py",
            5,
            "method `Cart.count` is new or changed, and no test runs any line of it",
        ),
        # a class none of whose methods ran: one finding, not one per method
        (
            "src/shop/cart.py",
            9,
            "class `Wishlist` is new or changed, and no test runs any line of it",
        ),
        (
            "src/shop/cart.py",
            18,
            "function `outer.inner` is new or changed, and no test runs any line of it",
        ),
    ]


def test_only_functions_changed_since_the_base(pytester: pytest.Pytester) -> None:
    repo = project(pytester.path)
    # `old` has never been tested; the branch changes `price` only
    repo.write("src/shop/base.py", "def price():\n    return 101\n\n\ndef old():\n    return 0\n")
    repo.write(
        "tests/test_base.py",
        "from shop.base import price\n\n\ndef test_price():\n    assert price() == 101\n",
    )
    result = pytester.runpytest(*GATE)

    assert result.ret == 0
    assert untested(coverage_gate(pytester)) == []
    repo.write("src/shop/base.py", "def price():\n    return 101\n\n\ndef old():\n    return 1\n")
    pytester.runpytest(*GATE)
    assert untested(coverage_gate(pytester)) == [
        (
            "src/shop/base.py",
            5,
            "function `old` is new or changed, and no test runs any line of it",
        )
    ]
