"""docs/agents.md's walk-through, replayed: `tddgate init --agent claude`, a blocked
edit, the test written and seen failing, the same edit allowed, a clean stop. The
answers the page quotes are the ones `tddgate guard` gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import GitRepo
from tests.guardkit import environment, guard, payload

DOC = (Path(__file__).resolve().parent.parent / "docs" / "agents.md").read_text(encoding="utf-8")
EDIT = {
    "old_string": "    return sum(prices)\n",
    "new_string": "    return sum(prices)\n\n\ndef count(prices):\n    return len(prices)\n",
}
TEST = (
    "from shop.cart import count, total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
    "\n\ndef test_count():\n    assert count([5, 6]) == 2\n"
)


def _project(root: Path) -> GitRepo:
    repo = GitRepo(root)
    repo.write(
        "pyproject.toml",
        '[project]\nname = "shop"\nversion = "0"\n\n[tool.pytest.ini_options]\n'
        'testpaths = ["tests"]\npythonpath = ["src"]\n',
    )
    repo.write("src/shop/__init__.py", "")
    repo.write("src/shop/cart.py", "def total(prices):\n    return sum(prices)\n")
    repo.write(
        "tests/test_cart.py",
        "from shop.cart import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "start")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", "init", "--agent", "claude", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env=environment(None),
    )
    assert done.stdout.splitlines()[5].strip() in DOC  # the line init prints for the agent
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "tddgate init")
    repo.git("switch", "-q", "-c", "count")
    return repo


def _edit(
    root: Path, tool_input: dict[str, str], path: str = "src/shop/cart.py"
) -> dict[str, object]:
    return payload(
        root,
        "doc",
        "PreToolUse",
        tool_name="Edit",
        tool_input={"file_path": str(root / path), **tool_input},
    )


def test_the_walk_through_gives_the_answers_the_page_quotes(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    repo = _project(root)
    backend = environment("backend")

    blocked = guard(_edit(root, EDIT), backend, root)
    assert blocked.decision == "deny"
    assert json.loads(blocked.stdout)["hookSpecificOutput"]["permissionDecisionReason"] in DOC

    test_edit = {
        "old_string": "from shop.cart import total\n",
        "new_string": "from shop.cart import count, total\n",
    }
    refused = guard(_edit(root, test_edit, "tests/test_cart.py"), backend, root)
    assert refused.decision == "deny"
    assert refused.reason in DOC

    repo.write("tests/test_cart.py", TEST)  # qa's test, committed by qa
    repo.git("commit", "-q", "-a", "-m", "test count", "--trailer", "Role: qa")
    red = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=root,
        env=backend,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "ImportError" in red.stdout
    assert "cannot import name 'count'" in red.stdout

    allowed = guard(_edit(root, EDIT), backend, root)
    assert (allowed.decision, allowed.stdout) == ("allow", "")
    cart = root / "src/shop/cart.py"
    cart.write_text(cart.read_text().replace(EDIT["old_string"], EDIT["new_string"]))
    green = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=root,
        env=backend,
        capture_output=True,
        text=True,
        check=False,
    )
    assert green.returncode == 0, green.stdout
    stop = guard(payload(root, "doc", "Stop", stop_hook_active=False), backend, root)
    assert stop.decision == "allow", stop.reason
