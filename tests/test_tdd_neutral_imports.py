"""Changes the tdd gate counts as keeping behaviour: a fallback import (a
`sys.version_info` guard, or `try`/`except ImportError` of a standard-library module)
collapsed to the branch that runs on the Pythons still supported, and `str.format`
rewritten as the f-string it equals. Each is rebuilt from a real history (rich
28099548, asgiref e04afd54 and 09ed8e95, sqlparse 8efa3935); the changes around
them that do change behaviour are still flagged.
"""

from __future__ import annotations

from pytest_tddgate.model import Verdict
from tests.gitrepo import GitRepo
from tests.tddkit import judge, start_project

BODY = "\n\ndef first(x: Sequence[int]) -> List[int]:\n    return cast(List[int], list(x))[:1]\n"


def _project(repo: GitRepo) -> None:
    """A project with src/pkg/shapes.py and its test on `feature`."""
    start_project(repo)
    repo.write("src/pkg/shapes.py", "def area(width, height):\n    return width * height\n")
    repo.write(
        "tests/test_shapes.py",
        "from pkg.shapes import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n",
    )
    repo.commit("area with its test")


def _verdict(repo: GitRepo, old: str, new: str, path: str = "src/pkg/lit.py") -> Verdict:
    """The gate's verdict on a commit that rewrites `path` from `old` to `new`, no test."""
    _project(repo)
    repo.write(path, old)
    base = repo.commit("the module")
    repo.write(path, new)
    repo.commit("the rewrite")
    return judge(repo, base=base).status


GUARDED = (
    "import sys\nfrom typing import cast, List, Sequence\n\n"
    "if sys.version_info >= (3, 8):\n    from typing import Protocol\nelse:\n"
    "    from typing_extensions import Protocol{pragma}\n" + BODY
)
PLAIN = "from typing import cast, List, Sequence, Protocol\n" + BODY


def test_a_version_guarded_fallback_import_made_plain_needs_no_test(repo: GitRepo) -> None:
    """rich 28099548: the guard and `import sys`, used for it alone, go."""
    old = GUARDED.format(pragma="  # pragma: no cover")
    assert _verdict(repo, old, PLAIN) is Verdict.PASS


def test_the_guard_needs_no_pragma(repo: GitRepo) -> None:
    """asgiref e04afd54: the `else:` branch is not excluded from coverage."""
    assert _verdict(repo, GUARDED.format(pragma=""), PLAIN) is Verdict.PASS


def test_a_guard_testing_for_old_pythons_keeps_its_else_branch(repo: GitRepo) -> None:
    old = (
        "import sys\nfrom typing import cast, List, Sequence\n\n"
        "if sys.version_info < (3, 8):\n    from typing_extensions import Protocol\nelse:\n"
        "    from typing import Protocol\n" + BODY
    )
    assert _verdict(repo, old, PLAIN) is Verdict.PASS


def test_a_try_import_of_the_standard_library_made_plain_needs_no_test(repo: GitRepo) -> None:
    old = (
        "from typing import cast, List, Sequence\n\n"
        "try:\n    from typing import Protocol\nexcept ImportError:  # pragma: no cover\n"
        "    from typing_extensions import Protocol\n" + BODY
    )
    assert _verdict(repo, old, PLAIN) is Verdict.PASS


def test_keeping_the_branch_old_pythons_ran_is_a_change(repo: GitRepo) -> None:
    """The names now come from typing_extensions, which may define its own objects.
    (Parentheses make the kept line new: a change that only deletes needs no test.)"""
    new = "from typing import cast, List, Sequence\nfrom typing_extensions import (Protocol)\n"
    assert _verdict(repo, GUARDED.format(pragma=""), new + BODY) is Verdict.FAIL


def test_a_fallback_between_two_libraries_made_plain_is_a_change(repo: GitRepo) -> None:
    """Which branch ran depended on what was installed, not on the Python."""
    old = "try:\n    from orjson import loads\nexcept ImportError:\n    from json import loads\n"
    assert _verdict(repo, old, "from orjson import (loads)\n") is Verdict.FAIL


def test_a_fallback_to_a_library_other_than_typing_extensions_is_kept(repo: GitRepo) -> None:
    """What `tomli` did on older Pythons is not set aside unless coverage excludes it."""
    guard = "import sys\n\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n"
    old = guard + "    import tomli as tomllib{pragma}\n\nLIMIT = 8\n"
    new = "import tomllib\n\nLIMIT = (8)\n"
    assert _verdict(repo, old.format(pragma=""), new) is Verdict.FAIL


def test_a_fallback_coverage_excludes_is_set_aside(repo: GitRepo) -> None:
    guard = "import sys\n\nif sys.version_info >= (3, 11):\n    import tomllib\nelse:\n"
    old = guard + "    import tomli as tomllib  # pragma: no cover\n\nLIMIT = 8\n"
    assert _verdict(repo, old, "import tomllib\n\nLIMIT = (8)\n") is Verdict.PASS


def test_dropping_import_sys_still_used_elsewhere_is_a_change(repo: GitRepo) -> None:
    tail = "\n\ndef argv():\n    return sys.argv\n"
    old = GUARDED.format(pragma="") + tail
    assert _verdict(repo, old, PLAIN + tail) is Verdict.FAIL


def test_a_guard_around_code_other_than_imports_is_a_change(repo: GitRepo) -> None:
    old = "import sys\n\nif sys.version_info >= (3, 8):\n    LIMIT = 8\nelse:\n    LIMIT = 7\n"
    assert _verdict(repo, old, "LIMIT = (8)\n") is Verdict.FAIL


FORMATTED = "def show(x, y):\n    return {text}\n"


def test_format_rewritten_as_the_equal_f_string_needs_no_test(repo: GitRepo) -> None:
    """sqlparse 8efa3935: `'{!r}'.format(x)` became `f'{x!r}'`."""
    old = FORMATTED.format(text="'<{!r} at {:>4}>'.format(x, y)")
    new = FORMATTED.format(text="f'<{x!r} at {y:>4}>'")
    assert _verdict(repo, old, new) is Verdict.PASS


def test_an_f_string_of_other_values_is_a_change(repo: GitRepo) -> None:
    old = FORMATTED.format(text="'<{} at {}>'.format(x, y)")
    new = FORMATTED.format(text="f'<{y} at {x}>'")
    assert _verdict(repo, old, new) is Verdict.FAIL


def test_format_by_keyword_and_attribute_needs_no_test(repo: GitRepo) -> None:
    """sqlparse 8efa3935 (output.py): `'{f.varname}{f.count}'.format(f=self)`."""
    old = FORMATTED.format(text="'{f.real}:{0}'.format(y, f=x)")
    new = FORMATTED.format(text="f'{x.real}:{y}'")
    assert _verdict(repo, old, new) is Verdict.PASS


def test_a_field_read_twice_of_a_call_is_a_change(repo: GitRepo) -> None:
    """`'{0}{0}'.format(g(x))` calls `g` once; `f'{g(x)}{g(x)}'` twice."""
    old = FORMATTED.format(text="'{0}{0}'.format(abs(x))")
    new = FORMATTED.format(text="f'{abs(x)}{abs(x)}'")
    assert _verdict(repo, old, new) is Verdict.FAIL


RUNNER = (
    "import typing as t\n{imports}\n\n\ndef run(args: list) -> {returns}:\n"
    "    return CliRunner().invoke(args)\n"
)


def test_an_import_read_only_by_a_signature_annotation_needs_no_test(repo: GitRepo) -> None:
    """flask 6b054f8f: `-> t.Any` became `-> Result`, imported from a module the
    file imports anyway."""
    old = RUNNER.format(imports="from click.testing import CliRunner", returns="t.Any")
    new = RUNNER.format(
        imports="from click.testing import CliRunner\nfrom click.testing import Result",
        returns="Result",
    )
    assert _verdict(repo, old, new) is Verdict.PASS


def test_a_typing_name_taken_from_collections_abc_needs_no_test(repo: GitRepo) -> None:
    """asgiref e04afd54: `Callable`, read only by signatures, moved modules."""
    body = "\n\ndef call(fn: Callable[[], int]) -> Any:\n    return fn()\n"
    old = "from typing import Any, Callable\n" + body
    new = "from collections.abc import Callable\nfrom typing import Any\n" + body
    assert _verdict(repo, old, new) is Verdict.PASS


def test_an_import_the_code_reads_is_a_change(repo: GitRepo) -> None:
    body = "\n\ndef is_callable(fn: object) -> bool:\n    return isinstance(fn, Callable)\n"
    old = "from typing import Callable\n" + body
    new = "from collections.abc import Callable\n" + body
    assert _verdict(repo, old, new) is Verdict.FAIL


def test_an_annotation_import_from_a_module_not_imported_before_is_a_change(
    repo: GitRepo,
) -> None:
    """Importing a module runs its code (and fails where it is not installed)."""
    old = RUNNER.format(imports="from click.testing import CliRunner", returns="t.Any")
    new = RUNNER.format(
        imports="from click.testing import CliRunner\nfrom rich.console import Console",
        returns="Console",
    )
    assert _verdict(repo, old, new) is Verdict.FAIL


def test_an_import_named_in_all_is_a_change(repo: GitRepo) -> None:
    """`from pkg.lit import *` now binds `Result` too."""
    exported = "__all__ = ['run', 'Result']\n"
    old = exported + RUNNER.format(imports="from click.testing import CliRunner", returns="t.Any")
    new = exported + RUNNER.format(
        imports="from click.testing import CliRunner\nfrom click.testing import Result",
        returns="Result",
    )
    assert _verdict(repo, old, new) is Verdict.FAIL
