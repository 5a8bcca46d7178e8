"""The `tddgate` command. Each subcommand lives in `pytest_tddgate.commands.<name>`
with `add_arguments(parser)` and `run(args) -> int`, imported only when used."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from pytest_tddgate import __version__
from pytest_tddgate.errors import UsageError

# subcommand -> one-line help; the module pytest_tddgate.commands.<name> implements it
COMMANDS: dict[str, str] = {
    "check": "run the gates that need no test run: those the `check_gates` setting names "
    "(default tdd, traceability, roles, ruff; mypy only when named there or with --only); "
    "with --staged, on what `git commit` would record (the pre-commit hook)",
    "matrix": "show the traceability matrix with each requirement's last status; --update "
    "adds discovered tests and code",
    "learn": "regenerate the expertise learnings (docs/expertise.md) from the run ledger",
    "baseline": "record the current ruff and mypy findings so that only new ones fail",
    "init": "set up pytest-tddgate in this repository (settings, role file, matrix)",
    "report": "show the last report again, as terminal, md, json, sarif, github or html",
    "demo": "show every gate passing and failing on a throwaway project",
    "combine": "judge a suite split across CI machines once: merge the shard files "
    "that `pytest --tddgate --tddgate-shard=PATH` wrote and run every gate, as one "
    "unsharded run would",
    "guard": "answer one coding-agent hook event (JSON on stdin): deny an edit or a "
    "command's change that breaks the roles or tests-first rule, block stopping with "
    "the findings of `tddgate check` (docs/agents.md)",
}

EPILOG = """\
exit status: 0 all gates passed, 1 a gate failed, 4 usage error (a wrong option,
bad settings, matrix or role file).

The full run, with tests, coverage, ruff and mypy, is `pytest --tddgate`.
Settings live in [tool.tddgate] of pyproject.toml; see docs/configuration.md.
"""


class _Parser(argparse.ArgumentParser):
    """A wrong command line is a usage error: exit 4, as the epilog and pytest say
    (argparse's own status is 2). Subcommand parsers are made of the same class."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(4, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported and given its
    options (the others stay listed), so that the pre-commit hook starts fast."""
    parser = _Parser(
        prog="tddgate",
        description="Quality gates for Python projects: tests first (proven from git "
        "history), traceability, roles, coverage of new code, ruff and mypy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            importlib.import_module(f"pytest_tddgate.commands.{name}").add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(f"pytest_tddgate.commands.{args.command}")
    try:
        return int(module.run(args))
    except UsageError as exc:
        print(f"tddgate: {exc.render()}", file=sys.stderr)
        return 4
    except OSError as exc:  # a full disk, a read-only folder: the reason, not a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"tddgate: {where}{exc.strerror or exc}\n"
            "  fix: check that the folder is writable and the disk not full; "
            "nothing was changed",
            file=sys.stderr,
        )
        return 4


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
