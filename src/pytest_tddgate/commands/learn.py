"""`tddgate learn`: regenerate the expertise learnings from the run ledger.

No tests run: the learnings come from the runs `pytest --tddgate` recorded. The
command writes even where the gated runs do not (with `CI` set), because asking for
it is the setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_tddgate.commands import project_settings
from pytest_tddgate.errors import FactError, UsageError
from pytest_tddgate.learn import update_expertise

if TYPE_CHECKING:
    import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="project root (default: the folder of pytest's configuration file, from the current "
        "folder upwards within the checkout)",
    )


def run(args: argparse.Namespace) -> int:
    settings = project_settings(args.root)
    try:
        result = update_expertise(settings)
    except FactError as exc:  # no ledger yet, or one that cannot be read
        raise UsageError(
            exc.message, file=settings.path(settings.project.ledger), fix=exc.fix
        ) from None
    except OSError as exc:
        raise UsageError(
            f"could not write the learnings: {exc}",
            file=settings.path(settings.project.expertise),
            fix="check that the folder is writable",
        ) from None
    shown = result.path.relative_to(settings.root).as_posix()
    print(result.describe(shown))
    return 0
