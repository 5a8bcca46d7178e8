"""pytest entry point (`pytest11`): options, hookspecs, and the session registration.

This module stays small and imports the gate machinery lazily: without `--tddgate`
pytest runs exactly as before, and a broken `[tool.tddgate]` is never read.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_tddgate.session import GateSession

SESSION_KEY: pytest.StashKey[GateSession] = pytest.StashKey()
_PATH_OPTIONS = ("report", "markdown", "sarif", "html")


def _gate_list(value: str) -> tuple[str, ...]:
    """`--tddgate-only=tdd,coverage`; names are checked once plugin gates are known."""
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected gate names separated by commas, e.g. tdd,ruff")
    return names


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tddgate", "quality gates (pytest-tddgate)")
    group.addoption(
        "--tddgate",
        action="store_true",
        default=False,
        help="after the tests, run the quality gates (tests, tdd, traceability, "
        "roles, coverage, ruff, mypy) and fail the run when one fails. "
        "Settings: [tool.tddgate] in pyproject.toml.",
    )
    group.addoption(
        "--tddgate-base",
        metavar="REV",
        default=None,
        help="git revision the judged range starts from (env TDDGATE_BASE; "
        "default: merge-base with origin/HEAD, origin/main, main or master).",
    )
    group.addoption(
        "--tddgate-role",
        metavar="NAME",
        default=None,
        help="role of uncommitted changes and of commits without a Role: "
        "trailer (env TDDGATE_ROLE).",
    )
    group.addoption(
        "--tddgate-only",
        metavar="G1,G2",
        type=_gate_list,
        default=None,
        help="run only these gates.",
    )
    group.addoption(
        "--tddgate-skip",
        metavar="G1,G2",
        type=_gate_list,
        default=None,
        help="do not run these gates.",
    )
    group.addoption(
        "--tddgate-report",
        metavar="PATH",
        default=None,
        help="JSON report path (default: .tddgate/report.json).",
    )
    group.addoption(
        "--tddgate-markdown",
        metavar="PATH",
        default=None,
        help="also write a Markdown report (PR comment, job summary).",
    )
    group.addoption(
        "--tddgate-sarif",
        metavar="PATH",
        default=None,
        help="also write a SARIF 2.1.0 report for code scanning.",
    )
    group.addoption(
        "--tddgate-html",
        metavar="DIR",
        default=None,
        help="also write a self-contained HTML report into DIR.",
    )
    group.addoption(
        "--tddgate-no-learn",
        action="store_true",
        default=False,
        help="do not update the expertise learnings (docs/expertise.md).",
    )
    group.addoption(
        "--tddgate-shard",
        metavar="PATH",
        default=None,
        help="run one shard of a suite split across CI machines: judge nothing, write "
        "the tests' outcomes and coverage to the shard file PATH for `tddgate combine` "
        "(docs/sharding.md).",
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_tddgate import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


# tryfirst: coverage must be tracing before any conftest imports the project, so that
# module-level lines count (pytest-cov starts its own measurement in this hook too)
@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    if getattr(early_config.known_args_namespace, "tddgate", False):
        from pytest_tddgate import session

        session.start_coverage(early_config)


def pytest_configure(config: pytest.Config) -> None:
    # registered always, so `--strict-markers` projects can use it in plain runs too
    config.addinivalue_line(
        "markers", "req(*ids): link this test to requirements of the traceability matrix"
    )
    # where an agent's guard is set up, every pytest run (a person's too) records which
    # tests failed, for the guard's red evidence; elsewhere this is one folder check
    if (config.rootpath / ".tddgate" / "guard").is_dir():
        from pytest_tddgate.guard import record

        record.register(config)
    if not config.getoption("tddgate"):
        if config.getoption("tddgate_shard"):  # a shard run that would write nothing
            raise pytest.UsageError(
                "tddgate: --tddgate-shard runs one shard of a gated run; add --tddgate"
            )
        return
    from pytest_tddgate import session

    session.start_coverage(config)  # no-op when started early (the usual case)
    if hasattr(config, "workerinput"):
        # xdist worker: only annotate reports; gates and files are the controller's job
        config.pluginmanager.register(session.WorkerRecorder(config), "tddgate-worker")
        return
    gate_session = session.GateSession.create(config, _overrides(config))
    config.stash[SESSION_KEY] = gate_session
    config.pluginmanager.register(gate_session, "tddgate-session")
    if config.pluginmanager.hasplugin("xdist"):
        from pytest_tddgate.xdist import XdistHooks

        config.pluginmanager.register(XdistHooks(gate_session.facts), "tddgate-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption("tddgate"):
        from pytest_tddgate import session

        session.stop_coverage(config)
    xdist_hooks = config.pluginmanager.get_plugin("tddgate-xdist")
    if xdist_hooks is not None:
        config.pluginmanager.unregister(xdist_hooks)
    gate_session = config.stash.get(SESSION_KEY, None)
    if gate_session is not None:
        del config.stash[SESSION_KEY]
        gate_session.close()
        config.pluginmanager.unregister(gate_session)


def _overrides(config: pytest.Config) -> dict[str, Any]:
    """Command-line values; paths the user typed are relative to where pytest ran."""
    values: dict[str, Any] = {
        "base": config.getoption("tddgate_base"),
        "role": config.getoption("tddgate_role"),
        "only": config.getoption("tddgate_only"),
        "skip": config.getoption("tddgate_skip"),
    }
    for name in _PATH_OPTIONS:
        given = config.getoption(f"tddgate_{name}")
        if given is not None:
            values[name] = os.fspath(Path(config.invocation_params.dir, given).resolve())
    return values
