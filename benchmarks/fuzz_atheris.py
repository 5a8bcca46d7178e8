"""Coverage-guided fuzzing of the parsers: atheris (libFuzzer) drives the Hypothesis tests.

    pip install -e '.[fuzz]'   (or: pip install atheris)
    PYTHONPATH=src:. python benchmarks/fuzz_atheris.py TARGET [libFuzzer options]
    PYTHONPATH=src:. python benchmarks/fuzz_atheris.py --list

Hypothesis picks inputs at random from its strategies; libFuzzer instead keeps the
inputs that reach new branches of pytest-tddgate's code and mutates those. Each
target is one of the fuzz tests of tests/test_fuzz_*.py that needs no pytest fixture;
its property (a result or a clear error, a round trip, the person's lines kept) is
checked on every input, through `test.hypothesis.fuzz_one_input`. A failure stops
the run with the failing input written as `crash-*`. For example, ten minutes of
the matrix loader at the lowest priority:

    nice -n 19 python benchmarks/fuzz_atheris.py matrix -max_total_time=600

The matrix, settings and baseline targets wrap their loaders here, because their
fuzz tests take a folder fixture.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS = {
    "tools-bytes": ("tests.test_fuzz_toolparse", "test_any_bytes_are_findings_or_unparsable"),
    "tools-ruff-json": (
        "tests.test_fuzz_toolparse",
        "test_ruff_json_of_any_shape_are_findings_or_unparsable",
    ),
    "tools-mypy-json": (
        "tests.test_fuzz_toolparse",
        "test_mypy_json_lines_of_any_shape_are_findings_or_unparsable",
    ),
    "git-diff": ("tests.test_fuzz_git", "test_diff_output_reads_back_exactly"),
    "git-log": ("tests.test_fuzz_git", "test_log_output_reads_back_exactly"),
    "expertise": ("tests.test_fuzz_expertise", "test_merge_keeps_every_persons_line_and_is_stable"),
    "roles": ("tests.test_fuzz_roles", "test_any_text_gives_rules_or_a_usage_error"),
    "roles-document": ("tests.test_fuzz_roles", "test_any_document_gives_rules_or_a_usage_error"),
    "outputs": ("tests.test_fuzz_outputs", "test_every_format_renders_any_report"),
}


def raw_target(name: str) -> Callable[[bytes], None]:
    """Loaders whose fuzz tests need a folder: fed the fuzzer's bytes as the file."""
    from pytest_tddgate.errors import UsageError

    folder = Path(tempfile.mkdtemp(prefix="tddgate-atheris-"))

    def matrix(data: bytes) -> None:
        from pytest_tddgate.facts.matrix import load

        path = folder / "traceability_matrix.json"
        path.write_bytes(data)
        try:
            loaded = load(path, folder)
        except UsageError as exc:
            exc.render().encode("utf-8")
            return
        assert loaded is not None
        for req in loaded.requirements:
            json.dumps([req.id, req.title, req.tests, req.code], ensure_ascii=False).encode()

    def settings(data: bytes) -> None:
        from pytest_tddgate.settings import resolve

        text = data.decode("utf-8", errors="replace")
        (folder / "pyproject.toml").write_text("[tool.tddgate]\n" + text, encoding="utf-8")
        try:
            resolved = resolve(folder, environ={})
        except UsageError:
            return
        for key in ("matrix", "roles", "report", "ledger", "expertise", "baseline"):
            assert resolved.path(getattr(resolved.project, key)).is_relative_to(folder)

    def baseline(data: bytes) -> None:
        from pytest_tddgate.facts import baseline as bl

        path = folder / "baseline.json"
        path.write_bytes(data)
        try:
            loaded = bl.load(path)
        except UsageError:
            return
        bl.render(loaded.counts).encode("utf-8")

    return {"matrix": matrix, "settings": settings, "baseline": baseline}[name]


SEEDS = {  # valid inputs to start from: libFuzzer cannot see into json.loads or tomllib
    "matrix": [
        b'{"requirements": [{"id": "REQ-1", "title": "Login", "tests": ["tests/test_a.py"],'
        b' "code": ["src/a.py"], "status": "ok"}]}',
        b'[{"id": "R-1", "tests": ["tests/t.py::test_x[1]"], "code": null}, {"id": "R-2"}]',
    ],
    "settings": [
        b'source = ["src"]\nmatrix = "m.json"\n[tool.tddgate.gates.coverage]\nnew = 90\n'
        b'[[tool.tddgate.waivers]]\ngate = "ruff"\nreason = "r"\nowner = "o"\n'
        b"expires = 2030-01-01\n",
    ],
    "baseline": [
        b'{"schema": "tddgate-baseline/1", "findings": [{"gate": "ruff", "path": "a.py",'
        b' "rule": "F401", "message": "m", "source": "import os", "count": 2}]}',
    ],
}


def seed_corpus(name: str) -> None:
    """Start a raw target from valid inputs unless a corpus folder was given."""
    if name not in SEEDS or any(not arg.startswith("-") for arg in sys.argv[1:]):
        return
    corpus = Path(tempfile.mkdtemp(prefix=f"tddgate-corpus-{name}-"))
    for number, seed in enumerate(SEEDS[name]):
        (corpus / f"seed-{number}").write_bytes(seed)
    sys.argv.append(str(corpus))


def target(name: str) -> Callable[[bytes], Any]:
    if name in ("matrix", "settings", "baseline"):
        return raw_target(name)
    module, test = TESTS[name]
    return getattr(importlib.import_module(module), test).hypothesis.fuzz_one_input  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help", "--list"):
        print(__doc__)
        print("targets:", ", ".join(["matrix", "settings", "baseline", *TESTS]))
        return
    import atheris  # type: ignore[import-untyped]  # optional, untyped: pip install -e '.[fuzz]'   (or: pip install atheris)

    name = sys.argv.pop(1)
    with atheris.instrument_imports(include=["pytest_tddgate"]):
        import pytest_tddgate.facts.baseline
        import pytest_tddgate.facts.history
        import pytest_tddgate.facts.matrix
        import pytest_tddgate.facts.roles
        import pytest_tddgate.facts.toolparse
        import pytest_tddgate.learn.markdown
        import pytest_tddgate.report
        import pytest_tddgate.settings  # noqa: F401
    seed_corpus(name)
    atheris.Setup(sys.argv, target(name))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
