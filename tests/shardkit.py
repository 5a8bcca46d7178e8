"""A small project for the shard tests (issue 22): real git history on a feature
branch, a traceability matrix, a failing, a skipped and an xfailed test; and helpers
that run its shards, `tddgate combine` and one unsharded run, each a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pytest_tddgate
from tests.gitrepo import GitRepo

PYPROJECT = """\
[project]
name = "shop"
version = "0"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
branch = true
source = ["src"]

[tool.tddgate]
"""
PRICES = """\
RATE = 0.2


def gross(net):
    return round(net * (1 + RATE), 2)
"""
CART = """\
from shop.prices import gross


def total(items):
    return sum(gross(price) for price in items)
"""
DISCOUNT = """

def discount(items, percent):
    if percent > 50:
        raise ValueError("too much")
    return total(items) * (100 - percent) / 100
"""
LABELS = """\
def label(name):
    return name.title()
"""
SHOUT = """

def shout(name):
    if not name:
        return ""
    return name.upper()
"""
TEST_CART = """\
import pytest

from shop.cart import discount, total


@pytest.mark.req("REQ-1")
def test_total():
    assert total([10, 20]) == 36.0


@pytest.mark.req("REQ-1")
@pytest.mark.parametrize("percent", [10, 50])
def test_discount(percent):
    assert discount([10], percent) <= 12.0
"""
TEST_LABELS = """\
import pytest

from shop.labels import label, shout


@pytest.mark.req("REQ-2")
def test_label():
    assert label("tea") == "Tea"


def test_shout_fails():
    assert shout("tea") == "Tea"


@pytest.mark.skip(reason="later")
def test_later():
    pass
"""
TEST_PRICES = """\
import pytest

from shop.prices import gross


def test_gross():
    assert gross(10) == 12.0


@pytest.mark.xfail(reason="rounding")
def test_rounding():
    assert gross(0.1) == 0.1
"""
MATRIX = {
    "requirements": [
        {"id": "REQ-1", "code": ["src/shop/cart.py"]},
        {"id": "REQ-2", "code": ["src/shop/labels.py"]},
        {"id": "REQ-3", "title": "untested", "code": ["src/shop/prices.py"]},
    ]
}
SPLITS: dict[str, list[list[str]]] = {
    "paths": [["tests/test_cart.py"], ["tests/test_labels.py", "tests/test_prices.py"]],
    "keywords": [["-k", "cart"], ["-k", "labels"], ["-k", "not cart and not labels"]],
    "pytest-split": [["--splits", "3", "--group", str(g)] for g in (1, 2, 3)],
    "xdist": [["tests/test_cart.py", "-n", "2"], ["tests/test_labels.py", "tests/test_prices.py"]],
}
NO_LEARN = ("--tddgate-no-learn", "-p", "no:cacheprovider", "-p", "no:randomly")


@pytest.fixture(autouse=True)
def same_plugin_in_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subprocesses load the plugin these tests imported, not another copy."""
    package_root = str(Path(pytest_tddgate.__file__).resolve().parent.parent)
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "TDDGATE_BASE", "TDDGATE_ROLE"):
        monkeypatch.delenv(name, raising=False)


def build(path: Path) -> GitRepo:
    """`main` with the shop; branch `feature` adds `discount` with its tests first,
    then `shout` before its test (a tdd finding), and an uncommitted change."""
    repo = GitRepo(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", ".coverage\n.tddgate/\nshards/\n")
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/prices.py", PRICES)
    repo.write("src/shop/cart.py", CART)
    repo.write("src/shop/labels.py", LABELS)
    repo.write("tests/test_prices.py", TEST_PRICES)
    repo.write("traceability_matrix.json", json.dumps(MATRIX, indent=1))
    repo.commit("shop")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("tests/test_cart.py", TEST_CART)
    repo.commit("discount: tests")
    repo.write("src/shop/cart.py", CART + DISCOUNT)
    repo.commit("discount")
    repo.write("src/shop/labels.py", LABELS + SHOUT)  # before its test: a tdd finding
    repo.commit("shout")
    repo.write("tests/test_labels.py", TEST_LABELS)
    repo.commit("shout: tests")
    repo.write("src/shop/prices.py", PRICES.replace("RATE = 0.2", "RATE = 0.2\nCENTS = 100"))
    return repo


def pytest_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "--tddgate", *NO_LEARN, *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


def combine(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_tddgate.cli", "combine", "--no-learn", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


def run_shards(root: Path, splits: list[list[str]]) -> list[str]:
    """Run each shard; returns the shard files' paths (relative to `root`)."""
    files = []
    for number, args in enumerate(splits, 1):
        target = f"shards/shard-{number}.json.gz"
        done = pytest_run(root, f"--tddgate-shard={target}", *args)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        assert "shard file" in done.stdout, done.stdout
        files.append(target)
    return files


def fresh(root: Path) -> None:
    """Forget what an earlier run recorded: each run starts from the same state."""
    shutil.rmtree(root / ".tddgate", ignore_errors=True)
    (root / ".coverage").unlink(missing_ok=True)


def report(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / ".tddgate/report.json").read_text(encoding="utf-8")))


def verdicts(document: dict[str, Any]) -> dict[str, Any]:
    """What must be equal between a combined and an unsharded run: every gate's
    status, summary, metrics, findings and details, less timings."""
    gates = {
        gate["name"]: {k: v for k, v in gate.items() if k != "duration_s"}
        for gate in document["gates"]
    }
    return {"passed": document["passed"], "gates": gates, "requirements": document["requirements"]}
