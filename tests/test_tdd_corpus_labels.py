"""The labelled corpus of the tdd gate (benchmarks/corpus/tdd_labels.json) is well
formed, and verdict shapes found in it, rebuilt as small real repositories, get the
verdict its labels give.

The corpus itself is checked against the gate by benchmarks/tdd_corpus.py, which needs
the projects' histories; this module needs none of them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_tddgate.model import Verdict
from tests.gitrepo import GitRepo
from tests.tddkit import judge, start_project

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / "corpus"
SHA = re.compile(r"[0-9a-f]{40}")
KEYS = {
    "project",
    "base",
    "head",
    "path",
    "expected",
    "behaviour_commit",
    "test_commit",
    "test_file",
    "shapes",
    "reason",
}
# the projects the gates were built and tuned on: the corpus must be new to them
TUNED_ON = {"click", "attrs", "itsdangerous"}


def _corpus() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / "tdd_labels.json").read_text(encoding="utf-8"))
    return data


def _labels() -> list[dict[str, Any]]:
    labels: list[dict[str, Any]] = _corpus()["labels"]
    return labels


def _documented_shapes() -> set[str]:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    section = readme.split("- `shapes`:", 1)[1].split("- `reason`", 1)[0]
    return set(re.findall(r"`([a-z-]+)`", section))


def test_the_corpus_has_enough_verdicts_over_enough_new_projects() -> None:
    data = _corpus()
    labels = _labels()
    projects = {label["project"] for label in labels}

    assert data["schema"] == "tddgate-tdd-labels/1"
    assert len(labels) >= 60
    assert len(projects) >= 5
    assert not projects & TUNED_ON
    assert projects <= set(data["projects"])
    for name, source in data["projects"].items():
        assert source["fetch"].startswith("github:"), name
        assert source["url"].startswith("https://github.com/"), name
    assert {label["expected"] for label in labels} == {"pass", "fail"}


def test_each_label_is_complete_and_appears_once() -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for label in _labels():
        where = f"{label.get('project')} {label.get('path')}"
        assert set(label) == KEYS, where
        key = (label["project"], label["base"], label["head"], label["path"])
        assert key not in seen, f"duplicate label: {where}"
        seen.add(key)
        assert SHA.fullmatch(label["base"]), where
        assert SHA.fullmatch(label["head"]), where
        assert label["path"].endswith(".py"), where
        assert label["expected"] in ("pass", "fail"), where
        reason = label["reason"]
        assert isinstance(reason, str), where
        assert reason.strip(), where
        assert "\n" not in reason, where


def test_commits_are_full_shas_and_agree_with_the_verdict() -> None:
    for label in _labels():
        where = f"{label['project']} {label['path']}"
        behaviour, test = label["behaviour_commit"], label["test_commit"]
        for sha in (behaviour, test):
            assert sha is None or SHA.fullmatch(sha), where
        # a test commit names its file, and the file its commit
        assert (test is None) == (label["test_file"] is None), where
        if label["expected"] == "fail":
            assert behaviour is not None, f"a fail names the commit that changed behaviour: {where}"
            assert test is None, f"a fail has no covering test: {where}"
        elif behaviour is not None:
            assert test is not None, f"a pass with a behaviour change names its test: {where}"


def test_every_shape_used_is_documented() -> None:
    documented = _documented_shapes()
    used = {shape for label in _labels() for shape in label["shapes"]}

    assert used <= documented, sorted(used - documented)
    assert {"merge", "comment-only", "docstring-only", "annotation-only"} <= used
    assert {"import-time", "test-helper", "init-without-code"} <= used


# Verdict shapes met in the corpus, rebuilt small. Each names the corpus row it stands for.

AREA = "def area(width, height):\n    return width * height\n"
DEMO = 'if __name__ == "__main__":  # pragma: no cover\n    print(area(2, 3))\n'


def _shapes_project(repo: GitRepo) -> str:
    """A project with src/pkg/shapes.py and its test on `main`; returns the base."""
    base = start_project(repo)
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return width * height\n")
    repo.write(
        "tests/test_shapes.py",
        "from pkg.shapes import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n",
    )
    repo.commit("area with its test")
    return base


def _merge(repo: GitRepo, branch: str, message: str) -> str:
    """Merge `branch` into `feature` with a merge commit, as a pull request lands."""
    repo.git("checkout", "-q", "feature")
    repo.git("merge", "-q", "--no-ff", "-m", message, branch)
    return repo.git("rev-parse", "HEAD").strip()


def test_a_comment_only_merge_is_skipped_and_the_behaviour_commit_is_named(
    repo: GitRepo,
) -> None:
    # flask 809d5a88..2ac89889 src/flask/app.py: merge 5880befc only drops a noqa comment,
    # then 4b8bde97 adds a deprecation branch without a test
    _shapes_project(repo)
    repo.write(
        "src/pkg/shapes.py", "def area(width, height):  # noqa: E501\n    return width * height\n"
    )
    base = repo.commit("a noqa comment")
    repo.git("checkout", "-q", "-b", "stable")
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return width * height\n")
    repo.commit("drop the noqa comment")
    _merge(repo, "stable", "Merge branch 'stable'")
    repo.write(
        "src/pkg/shapes.py",
        "def area(width, height):\n    if width < 0:\n        raise ValueError(width)\n"
        "    return width * height\n",
    )
    behaviour = repo.commit("reject negative widths")

    result = judge(repo, base=base)

    assert result.status is Verdict.FAIL
    (entry,) = result.details["files"]
    assert entry["status"] == "violation"
    assert entry["first_change"]["commit"] == behaviour[:8]


def test_a_change_inside_the_excluded_main_block_needs_no_test(repo: GitRepo) -> None:
    # rich 72e3bb33..42899d8a rich/spinner.py and rich/__main__.py: only the
    # `if __name__ == "__main__":  # pragma: no cover` demo changes
    _shapes_project(repo)
    repo.write(
        "src/pkg/shapes.py", "def area(width, height):\n    return width * height\n\n\n" + DEMO
    )
    base = repo.commit("a demo")
    repo.write(
        "src/pkg/shapes.py",
        "def area(width, height):\n    return width * height\n\n\n"
        + DEMO.replace("print(area(2, 3))", 'print("area:", area(4, 5))'),
    )
    repo.commit("a better demo")

    result = judge(repo, base=base)

    assert result.status is Verdict.PASS, result.findings


def test_a_lint_commit_that_changes_behaviour_needs_a_test(repo: GitRepo) -> None:
    # sqlparse 897eb2df..60cdc649 sqlparse/sql.py: the ruff commit 8efa3935 binds
    # `func=func` in a lambda, which fixes late binding, with no test
    _shapes_project(repo)
    repo.write(
        "src/pkg/negate.py",
        "def negated(funcs):\n    return [lambda x: not f(x) for f in funcs]\n",
    )
    base = repo.commit("negated, untested")
    repo.write(
        "src/pkg/negate.py",
        "def negated(funcs):\n    return [lambda x, f=f: not f(x) for f in funcs]\n",
    )
    lint = repo.commit("Switch from flake8 to ruff.")

    result = judge(repo, base=base)

    assert result.status is Verdict.FAIL
    (entry,) = result.details["files"]
    assert entry["first_change"]["commit"] == lint[:8]


def test_a_benchmark_script_under_tests_is_not_a_test(repo: GitRepo) -> None:
    # pyparsing 4fb4aa06..efd56db4 pyparsing/results.py: 895eec2e adds a benchmark to
    # tests/perf_pyparsing.py, then 96711846 changes behaviour with no test
    _shapes_project(repo)
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("tests/perf_shapes.py", "from pkg.shapes import area\n\nprint(area(10**6, 3))\n")
    repo.commit("a benchmark of area")
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return abs(width) * height\n")
    repo.commit("optimise area")

    result = judge(repo, base=base)

    assert result.status is Verdict.FAIL
    (entry,) = result.details["files"]
    assert entry["status"] == "violation"


def test_a_test_in_the_merge_that_lands_the_change_counts(repo: GitRepo) -> None:
    # asgiref / rich: a pull request merged with its test; the merge is one change
    _shapes_project(repo)
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "pr")
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return abs(width * height)\n")
    repo.commit("area of negative sizes")
    repo.write(
        "tests/test_shapes.py",
        "from pkg.shapes import area\n\n\ndef test_area():\n    assert area(-2, 3) == 6\n",
    )
    repo.commit("test it")
    _merge(repo, "pr", "Merge pull request #1 from dev/pr")

    result = judge(repo, base=base)

    assert result.status is Verdict.PASS, result.findings


@pytest.mark.parametrize(
    "before, after",
    [
        # asgiref/__init__.py, flask ... : a version bump in an __init__.py without code
        ('"""The package."""\n__version__ = "1.0"\n', '"""The package."""\n__version__ = "1.1"\n'),
        # rich/__init__.py-like: only a docstring changes
        ('"""The package."""\n', '"""The package, with shapes."""\n'),
    ],
    ids=["version-bump", "docstring-only"],
)
def test_an_init_change_that_keeps_behaviour_needs_no_test(
    repo: GitRepo, before: str, after: str
) -> None:
    _shapes_project(repo)
    repo.write("src/pkg/__init__.py", before)
    base = repo.commit("package metadata")
    repo.write("src/pkg/__init__.py", after)
    repo.commit("bump")

    result = judge(repo, base=base)

    assert result.status is Verdict.PASS, result.findings


# benchmarks/tdd_corpus.py itself, on a small history with a labels file of its own

SCRIPT = ROOT / "benchmarks" / "tdd_corpus.py"


def _labelled_history(repo: GitRepo, tmp_path: Path, shapes_label: str) -> Path:
    """A history where src/pkg/shapes.py changed before any test and src/pkg/size.py
    after its test; a labels file saying so (shapes.py labelled `shapes_label`)."""
    base = start_project(repo)
    repo.write("src/pkg/shapes.py", AREA)
    repo.commit("area, untested")
    repo.write(
        "tests/test_size.py",
        "from pkg.size import size\n\n\ndef test_size():\n    assert size() == 1\n",
    )
    repo.commit("test size")
    repo.write("src/pkg/size.py", "def size():\n    return 1\n")
    head = repo.commit("size")

    def label(path: str, expected: str, commit: str | None) -> dict[str, Any]:
        return {"project": "demo", "base": base, "head": head, "path": path,
                "expected": expected, "behaviour_commit": commit}  # fmt: skip

    first = repo.git("rev-list", "--reverse", f"{base}..{head}").split()[0]
    labels = {
        "projects": {"demo": {"fetch": "github:o/demo", "url": "https://github.com/o/demo"}},
        "labels": [
            {**label("src/pkg/shapes.py", shapes_label, first), "reason": "untested"},
            {**label("src/pkg/size.py", "pass", head), "reason": "test first"},
        ],
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(labels), encoding="utf-8")
    return path


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--runner", "check", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_benchmark_agrees_with_right_labels(repo: GitRepo, tmp_path: Path) -> None:
    labels = _labelled_history(repo, tmp_path, "fail")

    done = _run_script("--labels", str(labels), "--repo", f"demo={repo.path}")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 labelled files, 1 labelled fail; gate fail 1: precision 1.00, recall 1.00" in (
        done.stdout
    )
    assert "false alarms 0, misses 0, wrong commits 0, errors 0" in done.stdout


def test_the_benchmark_counts_a_false_alarm_and_exits_1(repo: GitRepo, tmp_path: Path) -> None:
    labels = _labelled_history(repo, tmp_path, "pass")

    done = _run_script("--labels", str(labels), "--repo", f"demo={repo.path}")

    assert done.returncode == 1
    assert "<- false alarm" in done.stdout
    assert "gate fail 1: precision 0.00" in done.stdout


def test_the_benchmark_says_how_to_fetch_a_missing_history(repo: GitRepo, tmp_path: Path) -> None:
    labels = _labelled_history(repo, tmp_path, "fail")

    done = _run_script("--labels", str(labels), "--repo", f"demo={tmp_path / 'nowhere'}")

    assert done.returncode == 1
    assert "skip demo: no history; git clone https://github.com/o/demo" in done.stdout
