"""The guard's pure parts: what an edit adds (read with `ast`), the file an edit tool
would leave, and the stop decisions (cap, stuck, stop_hook_active)."""

from __future__ import annotations

import pytest

from pytest_tddgate.guard import decide, edits, shapes
from pytest_tddgate.guard.outcomes import TestState

OLD = "def total(prices):\n    return sum(prices)\n"


@pytest.mark.parametrize(
    ("new", "said"),
    [
        (OLD + "\n\ndef count(p):\n    return len(p)\n", "a new function `count` (line 5)"),
        (OLD + "\n\nclass Cart:\n    pass\n", "a new class `Cart` (line 5)"),
        (
            "def total(prices):\n    if not prices:\n        return 0\n    return sum(prices)\n",
            "a new branch (line 2)",
        ),
        ("def total(prices):\n    return sum(prices) * 2\n", "a new statement (line 2)"),
        ("def total(prices:\n", "code that does not parse (it would fail at import)"),
    ],
)
def test_behaviour_added_is_named(new: str, said: str) -> None:
    assert shapes.added(OLD, new) == said


@pytest.mark.parametrize(
    "new",
    [
        'def total(prices):\n    """Sum."""\n    return sum(prices)\n',  # docstring
        "def total(prices):\n    # cents\n    return sum(\n        prices\n    )\n",  # format
        "def total(items):\n    return sum(items)\n",  # rename
        "import math\n\n\n" + OLD,  # an import alone
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import os\n    X = 1\n" + OLD,
        "",  # deleting everything
    ],
)
def test_no_behaviour_added(new: str) -> None:
    assert shapes.added(OLD, new) is None


def test_a_move_adds_nothing_and_a_copy_adds_a_statement() -> None:
    two = OLD + "\n\ndef count(p):\n    return len(p)\n"
    moved = "def count(p):\n    return len(p)\n\n\n" + OLD
    assert shapes.added(two, moved) is None
    assert shapes.added(two, two + "\n\ndef again(p):\n    return len(p)\n") is not None


MANY = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(10))
TWO = "def total(p):\n    return sum(p)\n\n\ndef avg(p):\n    return sum(p) / len(p)\n"


def test_renames_are_told_from_changes_of_meaning() -> None:
    one_function = MANY.replace("def f5(x):\n    return x + 5", "def f5(y):\n    return y + 5")
    assert shapes.added(MANY, one_function) is None  # a parameter of one function
    assert shapes.added(TWO, TWO.replace("total", "subtotal")) is None
    # a name the file does not bind is not renamed: another builtin is other behaviour
    assert shapes.added(TWO, TWO.replace("sum", "max")) == "a new statement (line 2)"
    free = MANY.replace("def f5(x):\n    return x + 5", "def f5(x):\n    return y + 5")
    assert shapes.added(MANY, free) == "a new statement (line 22)"  # the line in the file
    cached = "import functools\n\n\n@functools.cache\ndef f(x):\n    return x\n"
    other = cached.replace("functools.cache", "functools.lru_cache")
    assert shapes.added(cached, other) == "a new function `f` (line 5)"


LONG = "def report(items):\n    total = sum(items)\n    print(total)\n    return len(items)\n"


def test_an_extracted_function_is_a_refactor_a_copy_or_a_second_call_is_not() -> None:
    helper = "def show(items):\n    total = sum(items)\n    print(total)\n\n\n"
    extracted = helper + "def report(items):\n    show(items)\n    return len(items)\n"
    assert shapes.added(LONG, extracted) is None
    copied = helper + LONG
    assert shapes.added(LONG, copied) == "a new function `show` (line 1)"
    twice = helper + "def report(items):\n    show(items)\n    show(items)\n    return len(items)\n"
    assert shapes.added(LONG, twice) == "a new function `show` (line 1)"
    changed = helper.replace("print(total)", "print(total * 2)") + extracted[len(helper) :]
    assert shapes.added(LONG, changed) == "a new function `show` (line 1)"


def test_a_new_file_of_only_imports_and_docstrings_adds_nothing() -> None:
    assert shapes.added(None, '"""A module."""\nimport os\n') is None
    assert shapes.added(None, "X = 1\n") == "a new statement (line 1)"


def test_edit_tools_are_applied_as_claude_code_applies_them() -> None:
    text = "a = 1\na = 1\n"
    one = {"file_path": "/p/x.py", "old_string": "a = 1", "new_string": "b = 2"}
    assert edits.apply("Edit", one, text).after == "b = 2\na = 1\n"
    every = {**one, "replace_all": True}
    assert edits.apply("Edit", every, text).after == "b = 2\nb = 2\n"
    missing = {**one, "old_string": "zzz"}
    assert edits.apply("Edit", missing, text).after is None
    multi = {"file_path": "/p/x.py", "edits": [one, {"old_string": "b", "new_string": "c"}]}
    assert edits.apply("MultiEdit", multi, text).after == "c = 2\na = 1\n"
    create = {"file_path": "/p/new.py", "old_string": "", "new_string": "x = 1\n"}
    assert edits.apply("Edit", create, None).after == "x = 1\n"
    notebook = {"notebook_path": "/p/n.ipynb", "new_source": "x"}
    assert edits.apply("NotebookEdit", notebook, None) == edits.Edit("/p/n.ipynb", None)
    with pytest.raises(edits.EditInputError, match="`edits` list"):
        edits.apply("MultiEdit", {"file_path": "/p/x.py"}, text)


def _impl(*tests: TestState, adds: str | None = "a new function `f`") -> decide.Change:
    return decide.Change("src/x.py", "implementation", "dev", adds=adds, tests=tests)


def test_red_evidence_decides_a_new_behaviour() -> None:
    assert decide.on_edit(_impl(TestState("tests/test_x.py", "red"))).kind == "allow"
    denied = decide.on_edit(_impl(TestState("tests/test_x.py", "green")))
    assert denied.kind == "deny"
    assert "tests/test_x.py passes" in denied.text
    assert decide.on_edit(_impl(adds=None)).kind == "allow"
    tool = decide.Change(".tddgate/x", "tool", "dev", forbidden="never: **")
    assert decide.on_edit(tool).kind == "allow"


FINDING = decide.Finding("tests:red:t", "tests: t failed")


def test_stop_blocks_then_says_stuck_then_lets_go() -> None:
    memory = decide.StopMemory()
    kinds = []
    for _ in range(4):
        answer, memory = decide.on_stop([FINDING], memory, active=False, cap=10)
        kinds.append((answer.kind, "stuck" in answer.text))
    assert kinds == [("block", False), ("block", False), ("block", True), ("note", True)]


def test_stop_honours_stop_hook_active_and_the_cap() -> None:
    answer, memory = decide.on_stop([FINDING], decide.StopMemory(), active=True, cap=5)
    assert (answer.kind, memory) == ("note", decide.StopMemory())
    capped = decide.StopMemory(blocks=2)
    answer, _ = decide.on_stop([decide.Finding("other", "x")], capped, active=False, cap=2)
    assert answer.kind == "note"
    assert "guard_stop_blocks" in answer.text


def test_a_clean_stop_forgets_the_repeats() -> None:
    answer, memory = decide.on_stop([], decide.StopMemory(3, "k", 2), active=False, cap=5)
    assert answer.kind == "allow"
    assert memory == decide.StopMemory(3, "", 0)


def test_the_guard_knows_the_lock_files_the_roles_gate_knows() -> None:
    from pytest_tddgate.gates.roles import LOCK_WRITERS
    from pytest_tddgate.guard.judge import LOCK_FILES

    assert set(LOCK_FILES) == set(LOCK_WRITERS)
