"""A ledgerkit project inside a real git repository, for learnings that compare runs.

Learnings compare two runs only when they ran on the same branch, on a commit that
descends from the other's, with the same settings; each recorded run here carries
the repository's real HEAD, and the ledger reads the branch with git itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_tddgate.facts.ledger import Recorded
from pytest_tddgate.facts.testrun import TestOutcome
from pytest_tddgate.model import GateResult, RequirementStatus
from tests.gitrepo import GitRepo
from tests.ledgerkit import Project


class GitProject(Project):
    """src/pkg/calc.py and tests/test_calc.py, committed on `main`."""

    def __init__(self, root: Path, pyproject: str = "") -> None:
        super().__init__(root, pyproject)
        self.repo = GitRepo(root)
        self.repo.write(".gitignore", ".tddgate/\ndocs/expertise.md\n")
        self.repo.commit("start")

    def record(
        self,
        *outcomes: TestOutcome,
        gates: Sequence[GateResult] = (),
        requirements: Sequence[RequirementStatus] = (),
        head: str | None = None,
    ) -> Recorded:
        """Record one run at the repository's HEAD (or at `head`)."""
        return super().record(
            *outcomes, gates=gates, requirements=requirements, head=head or self.repo.head()
        )
