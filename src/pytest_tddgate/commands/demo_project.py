"""The throwaway project of `tddgate demo`: its files and its git history, as data.

A tiny shop with two people: alice (role qa, owns tests/) and bob (role backend,
owns src/, never tests/). Step 1 is a change made the way the rules want it; step 2
breaks one rule per gate, on purpose, each in a way the explanation can name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

ALICE = ("Alice", "alice@example.com")
BOB = ("Bob", "bob@example.com")
LEAD = ("Lea", "lea@example.com")


@dataclass(frozen=True, slots=True)
class Commit:
    author: tuple[str, str]  # name, email
    message: str
    files: Mapping[str, str]  # path -> new content


PYPROJECT = """\
[project]
name = "demo-shop"
version = "0.1.0"
requires-python = ">=3.10"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.mypy]
strict = true
files = ["src"]

[tool.tddgate.gates.coverage]
new = 80
"""

ROLES = """\
roles:
  qa: {owns: ["tests/**", "traceability_matrix.json"]}
  backend: {owns: ["src/**"], never: ["tests/**"]}
  lead: {}
members:
  "alice@example.com": qa
  "bob@example.com": backend
  "lea@example.com": lead
"""

GITIGNORE = """\
.tddgate/
__pycache__/
.coverage
.coverage.*
.mypy_cache/
.ruff_cache/
.pytest_cache/
"""


def _matrix(*requirements: Mapping[str, object]) -> str:
    return json.dumps({"requirements": list(requirements)}, indent=2) + "\n"


REQ_1 = {
    "id": "REQ-1",
    "title": "Cart total",
    "tests": ["tests/test_cart.py"],
    "code": ["src/shop/cart.py"],
}
REQ_2 = {
    "id": "REQ-2",
    "title": "Discount for large carts",
    "tests": [],
    "code": ["src/shop/discount.py"],
}

TEST_CART = """\
from shop.cart import total


def test_total_of_an_empty_cart_is_zero() -> None:
    assert total([]) == 0


def test_total_adds_the_prices() -> None:
    assert total([250, 100]) == 350
"""

CART = '''\
"""The cart. Prices are in cents, so sums are exact."""


def total(prices: list[int]) -> int:
    """The price of the whole cart."""
    return sum(prices)
'''

TEST_CART_EDITED = (
    TEST_CART
    + """

def test_total_of_one_item() -> None:
    assert total([999]) == 999
"""
)

DISCOUNT = '''\
"""Discounts: 10 % off carts of 100 euros or more."""

import os

from shop.cart import total


def discounted_total(prices: list[int]) -> int:
    amount = total(prices)
    if amount > 10_000:
        return amount * 0.9
    return amount


def loyalty_bonus(visits: int) -> int:
    if visits > 100:
        return 500
    if visits > 50:
        return 200
    if visits > 10:
        return 50
    return 0
'''

TEST_DISCOUNT = """\
from shop.discount import discounted_total


def test_small_carts_pay_the_full_price() -> None:
    assert discounted_total([500]) == 500


def test_a_cart_of_100_euros_gets_10_percent_off() -> None:
    assert discounted_total([10_000]) == 9_000
"""

START = Commit(
    LEAD,
    "Start the shop project",
    {
        "pyproject.toml": PYPROJECT,
        "tddgate-roles.yaml": ROLES,
        "traceability_matrix.json": _matrix(REQ_1),
        ".gitignore": GITIGNORE,
        "src/shop/__init__.py": "",
    },
)

# step 1, on branch `feature`: the test first, then the code
STEP_1 = (
    Commit(ALICE, "Test the cart total", {"tests/test_cart.py": TEST_CART}),
    Commit(BOB, "Compute the cart total", {"src/shop/cart.py": CART}),
)

# step 2: one broken rule per gate
STEP_2 = (
    Commit(
        BOB,
        "Add discounts",
        {"src/shop/discount.py": DISCOUNT, "tests/test_cart.py": TEST_CART_EDITED},
    ),
    Commit(
        ALICE,
        "Test discounts, add REQ-2",
        {
            "tests/test_discount.py": TEST_DISCOUNT,
            "traceability_matrix.json": _matrix(REQ_1, REQ_2),
        },
    ),
)

# gate -> (what step 1 shows, what step 2 broke); a gate not listed is a plugin's
EXPLAIN: dict[str, tuple[str, str]] = {
    "tests": (
        "both cart tests pass.",
        "test_discount.py fails: a cart of exactly 100 euros gets no discount "
        "(`>` where `>=` was meant).",
    ),
    "tdd": (
        "alice committed tests/test_cart.py before bob wrote src/shop/cart.py: "
        "the test came first.",
        "bob committed src/shop/discount.py before any test of it; alice's test "
        "came one commit later.",
    ),
    "traceability": (
        "REQ-1 (cart total) links tests/test_cart.py, and those tests pass.",
        "REQ-2 (discounts) was added to traceability_matrix.json without a test.",
    ),
    "roles": (
        "alice (qa) changed only tests/, bob (backend) only src/.",
        "bob (backend) edited tests/test_cart.py, which the backend role may never "
        "change (tddgate-roles.yaml).",
    ),
    "coverage": (
        "every new line of cart.py runs in a test.",
        "loyalty_bonus() in discount.py is never called by a test: new code is "
        "under the 80 % the project asks for.",
    ),
    "ruff": (
        "the code is clean and formatted.",
        "discount.py imports os and never uses it (F401).",
    ),
    "mypy": (
        "the code type-checks under `strict = true`.",
        "discounted_total() is declared to return int but returns a float.",
    ),
}
