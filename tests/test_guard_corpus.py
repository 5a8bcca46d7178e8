"""The labelled corpus of recorded agent sessions (tests/guard_corpus/): every
decision `tddgate guard` takes, run as a subprocess on real hook payloads over a
real git repository with real pytest runs, matches its label: no false deny, no
miss."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

from tests.guardkit import CORPUS, play

if TYPE_CHECKING:
    from pathlib import Path

SESSIONS = sorted(CORPUS.glob("*.yaml"))
LABELS = {
    "tests-first",
    "implementation-first",
    "test-edited-by-role-that-may-not",
    "roles-owns",
    "refactor-while-green",
    "new-behaviour-while-green",
    "write-through-sed",
    "write-through-python-c",
    "new-module-before-its-test",
    "test-first-new-module",
    "tool-files",
    "stop",
    "context",
    "not-judged",
}


def test_the_corpus_is_labelled() -> None:
    assert len(SESSIONS) >= 40
    for path in SESSIONS:
        session = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert session["label"] in LABELS, path.name
        assert session["rule"] and session["why"], path.name
        assert all("expect" in step for step in session["steps"]), path.name


@pytest.mark.parametrize("path", SESSIONS, ids=[p.stem for p in SESSIONS])
def test_every_decision_matches_its_label(path: Path, tmp_path: Path) -> None:
    session = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = play(session, tmp_path / "repo", name=path.stem)
    wrong = [f"step {s.index} {s.what}: {s.wrong}" for s in steps if s.wrong is not None]
    assert not wrong, "\n".join(wrong)
    assert all(not s.got.stderr.strip() or s.got.returncode == 2 for s in steps)
