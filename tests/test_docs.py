"""Docs that are generated, and outputs the docs quote, must match what the code does."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_tddgate import refdoc
from pytest_tddgate.commands.demo import remove_tree
from pytest_tddgate.facts import testrun
from pytest_tddgate.facts.attention import needs_attention
from pytest_tddgate.report import json_report, terminal
from tests import test_traceability_planned as planned
from tests.gitrepo import GitRepo

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_reference_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == refdoc.render(), (
        "docs/configuration.md is stale: run `python -m pytest_tddgate.refdoc > "
        "docs/configuration.md`"
    )


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line.strip() for line in readme.splitlines() if line.startswith("pytest "))
    assert command in ci


# --- quoted commands and outputs -------------------------------------------------
# A fenced block right after `<!-- output: NAME -->` in README.md or docs/*.md is
# what the tool prints for NAME, produced below and compared line by line, with
# volatile parts masked. A line `...` in a quoted block stands for lines left out;
# a line ending in ` ...` for the rest of that line.

MARKER = re.compile(r"<!-- output: ([\w-]+) -->\n+```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
VOLATILE = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"), "<date-time>"),
    (re.compile(r"\b[0-9a-f]{7,40}\b"), "<sha>"),
    (re.compile(r"tddgate-demo-\w+"), "tddgate-demo-<tmp>"),
    (re.compile(r"pytest-tddgate \d+\.\d+\S*"), "pytest-tddgate <version>"),
    (re.compile(r"\b\d+(\.\d+)? ?m?s\b"), "<time>"),
)


def quoted_outputs(doc: str) -> dict[str, str]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    return dict(MARKER.findall(text))


def mask(text: str) -> list[str]:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return [line.rstrip() for line in text.splitlines()]


def assert_quoted(quoted: str, real: str, where: str) -> None:
    """Every quoted line is a real line, in the real order; `...` skips lines."""
    lines = mask(real)
    at, skipping = 0, False
    for wanted in mask(quoted):
        if wanted.strip() == "...":
            skipping = True
            continue
        prefix = wanted[:-4] if wanted.endswith(" ...") else None
        while at < len(lines) and not _same(wanted, lines[at], prefix):
            assert skipping, f"{where}: quoted {wanted!r}, the tool printed {lines[at]!r}"
            at += 1
        assert at < len(lines), f"{where}: the tool did not print {wanted!r}:\n{real}"
        at, skipping = at + 1, False


def _same(wanted: str, line: str, prefix: str | None) -> bool:
    return line.startswith(prefix) if prefix is not None else line == wanted


def tddgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command-line tool as a user runs it, in a new process."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_tddgate.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT / "src")},
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`tddgate demo --keep`: its output, and its project with the failing step's report
    (an `origin` on GitHub added, so that the Markdown report links as documented)."""
    done = tddgate("demo", "--keep", cwd=tmp_path_factory.mktemp("demo"))
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"The demo project is kept in (\S+)", done.stdout)
    assert found, done.stdout
    folder = Path(found.group(1))
    subprocess.run(
        ["git", "remote", "add", "origin", "https://github.com/acme/shop.git"],
        cwd=folder,
        check=True,
    )
    yield done.stdout, folder
    remove_tree(folder)


def step_2_terminal(demo_output: str) -> str:
    """The terminal report of the demo's failing step, as `pytest --tddgate` prints it."""
    step = demo_output.split("Step 2:", 1)[1].split("$ pytest --tddgate\n", 1)[1]
    block = step.split("\nWhat the gates saw:", 1)[0]
    lines = [line.removeprefix("    ") for line in block.splitlines()]
    # the machine's own folder: the only line that differs from machine to machine
    return "\n".join(line for line in lines if not line.startswith("project: "))


def test_readme_demo_output_is_what_the_demo_prints(demo: tuple[str, Path]) -> None:
    quoted = quoted_outputs("README.md")
    assert_quoted(quoted["demo-step-2"], step_2_terminal(demo[0]), "README.md demo-step-2")


def test_outputs_terminal_is_what_pytest_tddgate_prints(demo: tuple[str, Path]) -> None:
    quoted = quoted_outputs("docs/outputs.md")
    real = step_2_terminal(demo[0])
    assert_quoted(quoted["terminal"], real, "docs/outputs.md terminal")


def test_outputs_markdown_and_annotations_are_what_tddgate_report_prints(
    demo: tuple[str, Path],
) -> None:
    quoted = quoted_outputs("docs/outputs.md")
    folder = demo[1]
    markdown = tddgate("report", "--format", "md", cwd=folder)
    assert markdown.returncode == 1, markdown.stderr  # the report's verdict: failed
    assert_quoted(quoted["markdown"], markdown.stdout, "docs/outputs.md markdown")
    github = tddgate("report", "--format", "github", cwd=folder)
    assert github.returncode == 1, github.stderr
    assert_quoted(quoted["github"], github.stdout, "docs/outputs.md github")


def test_outputs_report_commands_run(demo: tuple[str, Path]) -> None:
    """Each `tddgate report` command the docs list runs and gives the report's verdict."""
    folder = demo[1]
    text = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    block = text.split("## `tddgate report`", 1)[1].split("```", 2)[1]
    commands = [line.split("#", 1)[0].split() for line in block.splitlines() if line.strip()]
    assert len(commands) == 6
    other = folder / "other"
    other.mkdir(exist_ok=True)
    shutil.copy(folder / ".tddgate" / "report.json", other / "report.json")
    for command in commands:
        assert command[0] == "tddgate"
        done = tddgate(*command[1:], cwd=folder)
        assert done.returncode == 1, (command, done.stderr)  # the demo's report failed
        if "-o" in command:
            written = folder / command[command.index("-o") + 1]
            assert written.stat().st_size > 0, command


def test_outputs_attention_is_what_the_terminal_report_ends_with(
    pytester: pytest.Pytester,
) -> None:
    quoted = quoted_outputs("docs/outputs.md")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_cart.py").write_text(
        "def test_total():\n    assert 2 * 50 == 90\n"
    )
    args = ("--tddgate", "--tddgate-only=tests", "--tddgate-no-learn", "-p", "no:cacheprovider")
    for _ in range(3):
        pytester.runpytest(*args)
    run = testrun.TestRun.build(
        (testrun.TestOutcome("tests/test_cart.py::test_total", "failed"),), (), 1, False
    )
    items = needs_attention(pytester.path / ".tddgate" / "ledger.sqlite3", run)
    report = json_report.load(pytester.path / ".tddgate" / "report.json")
    lines = terminal.render(report, ".tddgate/report.json", items)
    real = "\n".join(line.text for line in lines)
    assert_quoted(quoted["attention"], real, "docs/outputs.md attention")


def test_traceability_planned_code_and_collection_errors_as_documented(
    pytester: pytest.Pytester,
) -> None:
    quoted = quoted_outputs("docs/gates/traceability.md")
    repo = planned.start(pytester.path)
    repo.write("tests/test_discounts.py", planned.IMPORTS_FIRST)
    planned.write_matrix(repo)
    # the test file cannot be imported yet: pytest stops at collection
    stopped = pytester.runpytest(*planned.GATE)
    assert_quoted(quoted["collection-error"], stopped.stdout.str(), "collection-error")
    repo.write("tests/test_discounts.py", planned.IMPORTS_INSIDE)
    failing = pytester.runpytest(*planned.GATE)
    assert_quoted(quoted["planned"], failing.stdout.str(), "planned")


MATRIX_ERRORS = """\
{"requirements": [
  {"id": "REQ-001", "tests": ["tests/test_x.py"]},
  {"id": "REQ-002", "tests": ["tests/test_x.py"],
   "code": ["../shared/x.py"]},
  {"id": "REQ-001", "tests": ["tests/test_x.py"]},
  {"id": "REQ-003", "tests": "tests/test_x.py"}
]}
"""


BROKEN_MATRIX_RUN = ("--tddgate", "--tddgate-only=traceability", "-p", "no:cacheprovider")


def test_broken_matrix_messages_as_documented(pytester: pytest.Pytester) -> None:
    quoted = quoted_outputs("docs/gates/traceability.md")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_x.py").write_text("def test_x():\n    pass\n")
    matrix = pytester.path / "traceability_matrix.json"
    # a missing comma: Python 3.10 to 3.13 word this error alike (a trailing comma not)
    matrix.write_text('{"requirements": [\n  {"id": "REQ-001" "title": "x"}\n]}\n')
    result = pytester.runpytest(*BROKEN_MATRIX_RUN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_quoted(quoted["matrix-syntax"], result.stderr.str(), "matrix-syntax")
    matrix.write_text(MATRIX_ERRORS)
    result = pytester.runpytest(*BROKEN_MATRIX_RUN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert_quoted(quoted["matrix-errors"], result.stderr.str(), "matrix-errors")


AUTH = {
    "src/auth/__init__.py": "",
    "src/auth/login.py": (
        "def login(user, password):\n"
        "    if not password:\n"
        "        return False\n"
        '    return password == "secret"\n\n\n'
        "def lockout(attempts):\n"
        "    return attempts >= 3\n"
    ),
    "src/auth/logout.py": "def logout(session):\n    session.clear()\n    return session\n",
    "tests/test_login.py": (
        "from auth.login import login\n\n\n"
        'def test_login():\n    assert login("ann", "secret")\n\n\n'
        'def test_wrong_password():\n    assert not login("ann", "nope")\n'
    ),
    "tests/test_logout.py": (
        "from auth.logout import logout\n\n\n"
        'def test_logout():\n    assert logout({"user": "ann"}) is None\n'
    ),
    "traceability_matrix.json": json.dumps(
        {
            "requirements": [
                {
                    "id": "REQ-001",
                    "title": "Log in with a password",
                    "tests": ["tests/test_login.py"],
                    "code": ["src/auth/login.py"],
                },
                {
                    "id": "REQ-002",
                    "title": "Log out",
                    "tests": ["tests/test_logout.py"],
                    "code": ["src/auth/logout.py"],
                },
            ]
        },
        indent=2,
    ),
    # a marked test the matrix does not list, and code only it runs
    "src/auth/session.py": "def clear(session):\n    session.clear()\n    return session\n",
    "tests/test_session.py": (
        "import pytest\n\nfrom auth.session import clear\n\n\n"
        '@pytest.mark.req("REQ-002")\n'
        'def test_clears_the_session():\n    assert clear({"user": "ann"}) == {}\n'
    ),
}


def run_quoted(block: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The block's `$ tddgate ...` command, run; and the output the block quotes."""
    command, _, output = block.partition("\n")
    assert command.startswith("$ tddgate "), command
    return tddgate(*command.removeprefix("$ tddgate ").split(), cwd=cwd), output


GATED = (
    "--tddgate-only=tests,traceability,coverage",
    "--tddgate-no-learn",
    "-p",
    "no:randomly",
    "-p",
    "no:cacheprovider",
)


def test_matrix_commands_as_documented(tmp_path: Path) -> None:
    quoted = quoted_outputs("docs/gates/traceability.md")
    repo = GitRepo(tmp_path / "auth")
    repo.write("pyproject.toml", planned.PYPROJECT)
    for name, text in AUTH.items():
        repo.write(name, text)
    repo.commit("auth")
    gated = subprocess.run(
        [sys.executable, "-m", "pytest", "--tddgate", *GATED],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert gated.returncode == 1, gated.stdout  # test_logout fails
    report = json.loads((repo.path / ".tddgate" / "report.json").read_text())
    assert json.loads(quoted["requirement-json"]) == report["requirements"][0]
    # a requirement added after the run: its status is unknown
    data = json.loads((repo.path / "traceability_matrix.json").read_text())
    data["requirements"].append({"id": "REQ-003", "title": "Export as CSV"})
    (repo.path / "traceability_matrix.json").write_text(json.dumps(data, indent=2))

    done, expected = run_quoted(quoted["matrix-status"], repo.path)
    assert done.returncode == 0, done.stderr
    assert_quoted(expected, done.stdout, "matrix-status")
    done, expected = run_quoted(quoted["matrix-update"], repo.path)
    assert done.returncode == 0, done.stderr
    assert_quoted(expected, done.stdout, "matrix-update")
