"""Background.follow: a command's output handed over while it still writes it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from pytest_tddgate.proc import Background

if TYPE_CHECKING:
    from pathlib import Path

# three parts, each flushed, with a pause between them that `follow` must see
IN_PARTS = """\
import sys, time
for part in ("one,", "two,", "three"):
    sys.stdout.write(part)
    sys.stdout.flush()
    time.sleep(0.2)
"""


def test_output_is_handed_over_in_parts_while_the_command_runs(tmp_path: Path) -> None:
    task = Background([sys.executable, "-c", IN_PARTS], cwd=tmp_path, timeout=60)
    parts: list[bytes] = []
    idled: list[bool] = []

    task.follow(parts.append, lambda: idled.append(True))

    assert b"".join(parts) == b"one,two,three"
    assert len(parts) >= 2, "the first part came before the command ended"
    assert idled == [True], "the idle work runs once, while the command works"
    assert task.result().stdout == b"one,two,three"


def test_following_a_command_that_was_not_found_hands_over_nothing(tmp_path: Path) -> None:
    task = Background(["no-such-command-tddgate"], cwd=tmp_path, timeout=60)
    parts: list[bytes] = []

    task.follow(parts.append)

    assert parts == []
