"""Issue 22: a shard set that does not add up is an `error` saying what is wrong,
never a pass: other commits or settings, a test with two outcomes, a corrupt or
foreign file, a missing shard or tests no shard ran; and usage errors exit 4."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import shardkit
from tests.shardkit import build, combine, pytest_run, report, run_shards

same_plugin_in_subprocesses = shardkit.same_plugin_in_subprocesses
# the shards' own gates are not what these tests look at: combine judges the tests only
ONLY_TESTS = "--only=tests"
GREEN_LABELS = shardkit.TEST_LABELS.replace("test_shout_fails", "test_shout").replace(
    'shout("tea") == "Tea"', 'shout("tea") == "TEA"'
)
FLIP = "import os\n\n\ndef test_flip():\n    assert not os.environ.get('FLIP')\n"


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture(scope="module")
def green(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose tests all pass, so that only the shard set can fail combine."""
    root = tmp_path_factory.mktemp("green") / "repo"
    repo = build(root)
    repo.write("tests/test_labels.py", GREEN_LABELS)
    repo.write("tests/test_flip.py", FLIP)
    repo.commit("green")
    return root


@pytest.fixture
def project(green: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(green, target, symlinks=True)
    return target


def shards_error(done: subprocess.CompletedProcess[str], root: Path) -> dict[str, Any]:
    """combine failed because of the shard set: exit 1, the `shards` gate says error."""
    assert done.returncode == 1, done.stdout + done.stderr
    document = report(root)
    assert document["passed"] is False
    gate = next(g for g in document["gates"] if g["name"] == "shards")
    assert gate["status"] == "error"
    assert "shards        error" in done.stdout
    return dict(gate)


def test_a_set_that_adds_up_passes(project: Path) -> None:
    files = run_shards(project, [["tests/test_cart.py"], ["tests/test_labels.py"],
                                 ["tests/test_prices.py", "tests/test_flip.py"]])  # fmt: skip

    done = combine(project, ONLY_TESTS, "--expect", "3", *files)

    assert done.returncode == 0, done.stdout + done.stderr
    assert [g["name"] for g in report(project)["gates"] if g["status"] != "skip"] == ["tests"]


def test_shards_of_different_commits(project: Path) -> None:
    first = run_shards(project, [["tests/test_cart.py"]])
    (project / "src/shop/extra.py").write_text("X = 1\n", encoding="utf-8")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "later")
    (project / "shards/shard-1.json.gz").rename(project / "shards/early.json.gz")
    second = run_shards(project, [["tests/test_labels.py"]])

    done = combine(project, ONLY_TESTS, "shards/early.json.gz", *second)

    gate = shards_error(done, project)
    assert first  # the early shard ran on the commit before
    assert any(
        f["rule"] == "shard-commit" and "shards/early.json.gz ran on commit" in f["message"]
        for f in gate["findings"]
    )


def test_shards_with_different_settings(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text(encoding="utf-8")
    first = run_shards(project, [["tests/test_cart.py"]])
    pyproject.write_text(original + "[tool.tddgate.gates.coverage]\nnew = 50\n", encoding="utf-8")
    (project / "shards/shard-1.json.gz").rename(project / "shards/before.json.gz")
    second = run_shards(project, [["tests/test_labels.py"]])
    pyproject.write_text(original, encoding="utf-8")

    done = combine(project, ONLY_TESTS, "shards/before.json.gz", *second)

    gate = shards_error(done, project)
    assert first
    rules = [f["rule"] for f in gate["findings"]]
    assert rules == ["shard-settings-digest"]  # only the shard run with `new = 50`
    assert "ran with settings digest" in gate["findings"][0]["message"]


def test_a_test_with_two_outcomes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_shards(project, [["tests/test_flip.py"]])
    (project / "shards/shard-1.json.gz").rename(project / "shards/calm.json.gz")
    monkeypatch.setenv("FLIP", "1")
    second = run_shards(project, [["tests/test_flip.py", "tests/test_cart.py"]])

    done = combine(project, ONLY_TESTS, "shards/calm.json.gz", *second)

    gate = shards_error(done, project)
    assert first
    assert gate["findings"][0]["rule"] == "shard-conflict"
    assert gate["findings"][0]["message"].startswith(
        "tests/test_flip.py::test_flip passed in shards/calm.json.gz (tests/test_flip.py) "
        "but failed in shards/shard-1.json.gz"
    )


def test_corrupt_and_foreign_files(project: Path) -> None:
    files = run_shards(project, [["tests/test_cart.py"]])
    (project / "shards/broken.json.gz").write_bytes(b"\x1f\x8b\x08 not gzip at all")
    (project / "shards/report.json").write_text(json.dumps({"schema": "tddgate-report/1"}))

    done = combine(project, ONLY_TESTS, *files, "shards/broken.json.gz", "shards/report.json")

    gate = shards_error(done, project)
    messages = [f["message"] for f in gate["findings"] if f["rule"] == "shard-unreadable"]
    assert messages[0].startswith("shards/broken.json.gz: corrupt, not a readable shard file")
    assert messages[1] == (
        "shards/report.json: not a tddgate-shard/1 shard file (schema 'tddgate-report/1')"
    )
    assert "Traceback" not in done.stdout + done.stderr


def test_a_shard_of_another_project(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    build(other)
    (other / "sub").mkdir()
    (other / "sub/pyproject.toml").write_text("[tool.tddgate]\n")
    (other / "sub/test_sub.py").write_text("def test_sub():\n    pass\n")
    foreign = pytest_run(other / "sub", f"--tddgate-shard={project}/shards/foreign.json")
    assert foreign.returncode == 0, foreign.stdout + foreign.stderr
    files = run_shards(project, [["tests/test_cart.py"]])

    done = combine(project, ONLY_TESTS, *files, "shards/foreign.json")

    gate = shards_error(done, project)
    found = {f["rule"]: f["message"] for f in gate["findings"]}
    assert (
        found["shard-project"]
        == "shards/foreign.json judged the project at sub, `tddgate combine` here ."
    )
    assert "shard-commit" in found


def test_expect_more_shards_than_given(project: Path) -> None:
    files = run_shards(project, [["tests/test_cart.py"], ["tests/test_labels.py"]])

    done = combine(project, ONLY_TESTS, "--expect", "3", *files)

    gate = shards_error(done, project)
    assert gate["findings"][0]["message"] == "expected 3 shard(s), got 2 (2 file(s))"


def test_the_same_shard_twice(project: Path) -> None:
    files = run_shards(project, [["tests/test_cart.py"], ["tests/test_labels.py"]])

    done = combine(project, ONLY_TESTS, "--expect", "2", files[0], files[0])

    gate = shards_error(done, project)
    rules = [f["rule"] for f in gate["findings"]]
    assert rules == ["shard-duplicate", "shard-count"]


def test_a_missing_shard_of_a_recorded_collection(project: Path) -> None:
    """`-k` shards record the whole collection: without --expect, a missing one shows."""
    files = run_shards(project, [["-k", "cart"], ["-k", "labels"], ["-k", "prices or flip"]])

    done = combine(project, ONLY_TESTS, files[0], files[2])

    gate = shards_error(done, project)
    assert gate["findings"][0]["rule"] == "shard-missing"
    assert gate["findings"][0]["message"] == (
        "3 test(s) of the suite ran in no shard: tests/test_labels.py::test_label, "
        "tests/test_labels.py::test_later, tests/test_labels.py::test_shout"
    )


def test_a_missing_pytest_split_group(project: Path) -> None:
    pytest.importorskip("pytest_split")
    splits = [["--splits", "3", "--group", str(group)] for group in (1, 2, 3)]
    files = run_shards(project, splits)

    done = combine(project, ONLY_TESTS, *files[:2])

    gate = shards_error(done, project)
    assert gate["findings"][0]["rule"] == "shard-missing"
    assert gate["findings"][0]["message"] == "group(s) 3 of --splits 3 ran in no shard"


def test_one_mark_expression_in_every_shard_deselects_for_the_whole_run(project: Path) -> None:
    """`-m "not slow"` in every pytest-split shard: the tests it leaves out are left
    out of the run, as `pytest -m "not slow" --tddgate` would leave them out."""
    pytest.importorskip("pytest_split")
    splits = [["-m", "not req", "--splits", "2", "--group", str(group)] for group in (1, 2)]
    files = run_shards(project, splits)

    done = combine(project, ONLY_TESTS, *files)

    assert done.returncode == 0, done.stdout + done.stderr
    tests = next(g for g in report(project)["gates"] if g["name"] == "tests")
    assert tests["metrics"]["passed"] == 3  # the tests marked `req` were deselected


def test_usage_errors_exit_4(project: Path) -> None:
    assert combine(project).returncode == 4  # no file
    done = combine(project, "--expect", "0", "x.json")
    assert done.returncode == 4
    assert "expected a number of shards (1 or more), got '0'" in done.stderr


def test_a_shard_file_that_cannot_be_written_fails_the_shard(project: Path) -> None:
    (project / "shards/taken").mkdir(parents=True)  # a folder where the file should go

    done = pytest_run(project, "--tddgate-shard=shards/taken", "tests/test_cart.py")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "tddgate: could not write the shard file" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_shard_option_without_tddgate_exits_4(project: Path) -> None:
    command = [sys.executable, "-m", "pytest", "--tddgate-shard=s.json", "-p", "no:randomly"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)

    assert done.returncode == 4
    assert "tddgate: --tddgate-shard runs one shard of a gated run; add --tddgate" in done.stderr
    assert not (project / "s.json").exists()


def test_untracked_shard_files_in_the_checkout_are_named(project: Path) -> None:
    done = pytest_run(project, "--tddgate-shard=inbox/one.json.gz", "tests/test_cart.py")
    assert done.returncode == 0, done.stdout + done.stderr

    done = combine(project, ONLY_TESTS, "inbox/one.json.gz")

    assert (
        "tddgate: note: inbox/one.json.gz is an untracked file of the checkout, judged as "
        "an uncommitted change; keep shard files outside it (or git-ignore them)"
    ) in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "corrupt, not a readable shard file"),
        (b"[1, 2]", "not a tddgate-shard/1 shard file (no shard schema)"),
        (b'{"schema": "tddgate-shard/1"}', "corrupt shard file (KeyError: 'tests')"),
        (
            b'{"schema": "tddgate-shard/1", "tests": {"outcomes": [{"nodeid": 1}]}}',
            "corrupt shard file (TypeError:",
        ),
    ],
)
def test_reading_a_broken_file_says_what_is_wrong(
    tmp_path: Path, content: bytes, message: str
) -> None:
    from pytest_tddgate.shard import ShardError, read

    path = tmp_path / "s.json"
    path.write_bytes(content)

    with pytest.raises(ShardError) as info:
        read(path)

    assert str(info.value).startswith(f"{path}: {message}")
