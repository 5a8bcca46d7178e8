"""`proc.Exchange`: a helper process of ours that answers pickled messages, and what
the caller sees when it cannot (tests/test_covhelper.py talks to the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_tddgate.errors import ToolError
from pytest_tddgate.proc import Exchange


def no_answer(module: str, folder: Path, timeout: float) -> ToolError:
    """What waiting for `module`'s first answer raises; the helper is ended after."""
    helper = Exchange(module, cwd=folder)
    try:
        with pytest.raises(ToolError) as caught:
            helper.receive(timeout=timeout)
    finally:
        helper.close()
    return caught.value


def test_a_helper_that_fails_is_an_error_with_its_stderr(tmp_path: Path) -> None:
    error = no_answer("pytest_tddgate.no_such_helper", tmp_path, 60)

    assert "the helper ended without an answer" in error.message
    assert "No module named pytest_tddgate.no_such_helper" in error.message
    assert error.returncode == 1


def test_a_helper_that_does_not_answer_is_stopped(tmp_path: Path) -> None:
    # `json.tool` reads its stdin to the end before it writes anything
    error = no_answer("json.tool", tmp_path, 0.3)

    assert "the helper did not answer within 0.3 s" in error.message


def test_a_message_to_a_helper_that_is_gone_is_an_error(tmp_path: Path) -> None:
    helper = Exchange("pytest_tddgate.no_such_helper", cwd=tmp_path)
    try:
        with pytest.raises(ToolError) as caught:
            for _ in range(100):  # the pipe breaks once the helper has ended
                helper.send(b"x" * 65536)
    finally:
        helper.close()

    assert "the helper stopped reading" in caught.value.message
