"""Issue 22: a suite split across CI machines, judged once by `tddgate combine`.

The same project, split by test paths, by `-k`, by pytest-split and with `-n 2`
inside a shard: the combined report equals one unsharded `pytest --tddgate` run's,
gate by gate (counts, verdicts, coverage total and new-code figures, tdd and
traceability findings). Every run is a subprocess, in a real git repository, with
real coverage.py, ruff and mypy.
"""

from __future__ import annotations

import gzip
import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests import shardkit
from tests.shardkit import SPLITS, build, combine, fresh, pytest_run, report, run_shards, verdicts

same_plugin_in_subprocesses = shardkit.same_plugin_in_subprocesses


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The project, and the report of one unsharded run of it (made once)."""
    root = tmp_path_factory.mktemp("shop") / "repo"
    build(root)
    done = pytest_run(root)
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails, on purpose
    document = report(root)
    fresh(root)
    return root, document


def copy_of(project: Path, tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(project, target, symlinks=True)
    return target


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_combined_report_equals_one_unsharded_run(
    split: str, unsharded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    if split == "pytest-split":
        pytest.importorskip("pytest_split")
    project, expected = unsharded
    root = copy_of(project, tmp_path)
    files = run_shards(root, SPLITS[split])

    done = combine(root, *files)

    assert done.returncode == 1, done.stdout + done.stderr  # as the unsharded run: 1
    combined = report(root)
    assert verdicts(combined) == verdicts(expected)
    gates = {g["name"]: g for g in combined["gates"]}
    assert gates["tests"]["metrics"] == {
        **gates["tests"]["metrics"],
        "passed": 5,
        "failed": 1,
        "skipped": 1,
        "xfailed": 1,
    }
    assert gates["coverage"]["metrics"]["total_percent"] == 80.95
    assert gates["coverage"]["metrics"]["new_percent"] == 77.78
    assert [f["rule"] for f in gates["tdd"]["findings"]] == ["test-not-first"]
    assert [f["rule"] for f in gates["traceability"]["findings"]] == ["untested"]
    assert "judged as one run" in done.stdout
    assert "tddgate: FAILED: tests, tdd, traceability, coverage" in done.stdout


def test_shard_writes_its_part_and_exits_as_its_tests(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    repo = build(root)

    done = pytest_run(root, "--tddgate-shard=shards/one.json.gz", "tests/test_cart.py")

    assert done.returncode == 0, done.stdout + done.stderr  # its tests pass; nothing judged
    assert "shard file shards/one.json.gz written (3 test(s))" in done.stdout
    assert "tests         " not in done.stdout  # no gate verdicts in a shard
    assert not (root / ".tddgate/report.json").exists()
    document = json.loads(gzip.decompress((root / "shards/one.json.gz").read_bytes()))
    assert document["schema"] == "tddgate-shard/1"
    assert document["project"] == "."
    assert document["commit"] == repo.git("rev-parse", "HEAD").strip()
    assert [o["nodeid"] for o in document["tests"]["outcomes"]] == [
        "tests/test_cart.py::test_total",
        "tests/test_cart.py::test_discount[10]",
        "tests/test_cart.py::test_discount[50]",
    ]
    payload = document["coverage"]["payloads"][0]
    # paths relative to the project root: another machine's folder means nothing here
    assert set(payload["contexts"]["tests/test_cart.py::test_total"]) == {
        "src/shop/cart.py",
        "src/shop/prices.py",
    }
    assert str(root) not in json.dumps(document)


def documented_workflow() -> dict[str, Any]:
    """The matrix workflow of docs/github-actions.md (the second one that has jobs)."""
    import yaml

    text = (Path(__file__).parent.parent / "docs/github-actions.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    workflows = [yaml.safe_load(b) for b in blocks]
    return next(w for w in workflows if "shard" in w.get("jobs", {}))


def commands(job: dict[str, Any]) -> list[str]:
    """A job's `run:` steps, less installing (the test's own environment has it all)."""
    runs = [str(step["run"]) for step in job["steps"] if "run" in step]
    return [run for run in runs if not run.startswith("pip install")]


def test_the_documented_matrix_workflow_gives_the_unsharded_report(
    unsharded: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    pytest.importorskip("pytest_split")
    project, expected = unsharded
    root = copy_of(project, tmp_path)
    workflow = documented_workflow()
    shard_job, combine_job = workflow["jobs"]["shard"], workflow["jobs"]["tddgate"]
    assert combine_job["needs"] == "shard"
    temp = tmp_path / "runner-temp"  # GitHub's `runner.temp`: outside the checkout
    for group in shard_job["strategy"]["matrix"]["group"]:
        for command in commands(shard_job):
            argv = shlex.split(
                command.replace("${{ runner.temp }}", str(temp)).replace(
                    "${{ matrix.group }}", str(group)
                )
            )
            assert argv[:2] == ["pytest", "--tddgate"]
            done = pytest_run(root, *argv[2:])
            assert done.returncode in (0, 1), done.stdout + done.stderr
    [command] = commands(combine_job)
    argv = shlex.split(command.replace("${{ runner.temp }}", str(temp)))
    assert argv[:2] == ["tddgate", "combine"]
    pattern = Path(argv[-1])
    files = sorted(str(p) for p in pattern.parent.glob(pattern.name))
    assert len(files) == 4

    done = combine(root, *argv[2:-1], *files)

    assert done.returncode == 1, done.stdout + done.stderr  # a test fails, as unsharded
    assert verdicts(report(root)) == verdicts(expected)


def test_shards_measured_by_pytest_cov_combine_as_one_pytest_cov_run(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    build(root)
    cov = ("--cov=src", "--cov-context=test")
    assert pytest_run(root, *cov).returncode == 1
    expected = report(root)
    fresh(root)
    files = run_shards(root, [[*cov, *paths] for paths in SPLITS["paths"]])

    done = combine(root, *files)

    assert done.returncode == 1, done.stdout + done.stderr
    assert verdicts(report(root)) == verdicts(expected)
    coverage = next(g for g in report(root)["gates"] if g["name"] == "coverage")
    assert coverage["details"]["measured_by"] == "pytest-cov"


def test_scope_changed_shards_combine_as_one_run(tmp_path: Path) -> None:
    """`scope = "changed"`: one process measures with coverage.py in a helper
    process; a shard measures in its own, and combine merges the same lines."""
    root = tmp_path / "repo"
    repo = build(root)
    changed = '[tool.tddgate.gates.coverage]\nscope = "changed"\n'
    repo.write("pyproject.toml", shardkit.PYPROJECT + changed)
    repo.commit("scope changed")
    assert pytest_run(root).returncode == 1
    expected = report(root)
    fresh(root)
    files = run_shards(root, SPLITS["paths"])

    done = combine(root, *files)

    assert done.returncode == 1, done.stdout + done.stderr
    assert verdicts(report(root)) == verdicts(expected)
    coverage = next(g for g in report(root)["gates"] if g["name"] == "coverage")
    assert coverage["details"]["scope"] == "changed"


def test_combine_writes_every_output_the_run_would(
    unsharded: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _ = unsharded
    root = copy_of(project, tmp_path)
    files = run_shards(root, SPLITS["paths"])
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs = ("--markdown=out/report.md", "--sarif=out/report.sarif", "--html=out/html")

    done = combine(root, *outputs, *files)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "::error file=src/shop/labels.py" in done.stdout  # annotations on the diff
    markdown = (root / "out/report.md").read_text(encoding="utf-8")
    assert "coverage" in markdown and markdown in summary.read_text(encoding="utf-8")
    sarif = json.loads((root / "out/report.sarif").read_text(encoding="utf-8"))
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"tdd/test-not-first", "traceability/untested"} <= rules
    assert (root / "out/html/index.html").is_file()
    assert (root / ".tddgate/ledger.sqlite3").is_file()  # the run is recorded
    assert (root / ".coverage").is_file()  # the merged data, for `coverage html`
