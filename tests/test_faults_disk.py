"""A full disk and a read-only folder: a clear status line, exit 1, never a traceback.

The real conditions where the machine allows them: a 64 KiB tmpfs filled to the
brim, and a read-only mount (both need root; skipped otherwise). A file size limit
(RLIMIT_FSIZE) stands in for a full disk everywhere else, in a child process.
A full or read-only disk must not make a required check look green: the run fails
with the reason, and the previous report stays as it was.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_tddgate import cli

ROOT = Path(__file__).resolve().parents[1]
ARGS = ("--tddgate", "--tddgate-only=tests", "-p", "no:cacheprovider", "-p", "no:xdist")
PASSING = "def test_ok():\n    assert True\n"


def mount(target: Path, *options: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(("size=64k", *options)), "tmpfs", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); RLIMIT tests cover it")


@pytest.fixture
def tiny_disk_at(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Mounts a 64 KiB tmpfs on a folder (made if missing); all unmounted after the test."""
    mounted: list[Path] = []

    def at(target: Path) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        mount(target)
        mounted.append(target)
        return target

    try:
        yield at
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path, tiny_disk_at: Callable[[Path], Path]) -> Path:
    return tiny_disk_at(tmp_path / "disk")


def fill(folder: Path) -> None:
    """Write until the disk says no."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 1024):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def remount_read_only(target: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyprojecttoml("[tool.tddgate]\n")
    pytester.mkpydir("src")
    pytester.makepyfile(test_ok=PASSING)
    return pytester


def assert_clean_failure(result: pytest.RunResult, *lines: str) -> None:
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(list(lines), consecutive=False)
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str()


def test_a_full_disk_is_a_status_line_and_fails_the_run(
    project: pytest.Pytester, tiny_disk_at: Callable[[Path], Path]
) -> None:
    tiny_disk = tiny_disk_at(project.path / ".tddgate")
    fill(tiny_disk)

    result = project.runpytest(*ARGS)

    assert_clean_failure(
        result,
        "tddgate: could not write the report *No space left on device*",
        "tddgate: the run was not recorded in the ledger: *",
    )
    assert not (tiny_disk / "report.json").exists()


def test_a_read_only_folder_is_a_status_line_and_the_old_report_stays(
    project: pytest.Pytester, tiny_disk_at: Callable[[Path], Path]
) -> None:
    tiny_disk = tiny_disk_at(project.path / ".tddgate")
    assert project.runpytest(*ARGS).ret == 0
    before = (tiny_disk / "report.json").read_bytes()
    remount_read_only(tiny_disk)

    result = project.runpytest(*ARGS)

    assert_clean_failure(
        result,
        "tddgate: could not write the report *Read-only file system*",
        "tddgate: the run was not recorded in the ledger: *",
    )
    assert (tiny_disk / "report.json").read_bytes() == before


def test_a_read_only_docs_folder_leaves_the_learnings_as_they_were(
    project: pytest.Pytester, tiny_disk_at: Callable[[Path], Path]
) -> None:
    """Learnings need three failing runs; the third cannot write expertise.md."""
    tiny_disk = tiny_disk_at(project.path / "docs")
    notes = tiny_disk / "expertise.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    project.makepyfile(test_ok="def test_ok():\n    assert 1 == 2\n")
    for _ in range(2):
        project.runpytest(*ARGS)
    remount_read_only(tiny_disk)

    result = project.runpytest(*ARGS)

    assert_clean_failure(result, "tddgate: the learnings were not updated: *Read-only*")
    assert notes.read_text(encoding="utf-8") == "# Notes\n"


# -- everywhere: a file size limit stands in for a full disk ---------------------------


def limited_run(folder: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """`pytest --tddgate` in a child that may not grow any file beyond `limit` bytes."""

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *ARGS],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limit_file_size,  # the limit must be set in the child only
    )


def test_files_that_cannot_grow_are_a_status_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    (tmp_path / "test_ok.py").write_text(PASSING, encoding="utf-8")

    done = limited_run(tmp_path, 256)

    assert done.returncode == 1, done.stdout + done.stderr
    assert "tddgate: could not write the report" in done.stdout
    assert "File too large" in done.stdout
    assert "tddgate: the run was not recorded in the ledger" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# -- the tddgate command ---------------------------------------------------------------


def test_matrix_update_into_a_full_disk_is_a_message_not_a_traceback(
    tmp_path: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tiny_disk
    (project / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "test_a.py").write_text(
        "import pytest\n\n@pytest.mark.req('R-1')\ndef test_a():\n    pass\n", encoding="utf-8"
    )
    matrix = project / "traceability_matrix.json"
    matrix.write_text('[{"id": "R-1"}]\n', encoding="utf-8")
    fill(project)

    code = cli.main(["matrix", "--update", "--root", str(project)])

    _, err = capsys.readouterr()
    assert code == 4
    assert f"{matrix}: No space left on device" in err
    assert "fix:" in err
    assert matrix.read_text(encoding="utf-8") == '[{"id": "R-1"}]\n'


def test_baseline_into_a_read_only_folder_is_a_message_not_a_traceback(
    tiny_disk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUFF_NO_CACHE", "true")  # ruff itself may then run read-only
    project = tiny_disk
    (project / "pyproject.toml").write_text("[tool.tddgate]\n", encoding="utf-8")
    (project / "mod.py").write_text("import os\n", encoding="utf-8")
    remount_read_only(tiny_disk)

    code = cli.main(["baseline", "--root", str(project), "--gate", "ruff"])

    _, err = capsys.readouterr()
    assert code == 4
    assert "Read-only file system" in err
