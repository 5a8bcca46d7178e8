"""Changes that cannot change behaviour need no test (issue 17, point 4): comments,
docstrings, formatting, import order, the project's coverage exclusions, and the
annotations Python never reads. The finding names the first commit that changed
behaviour, not an earlier comment-only one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.model import Verdict
from tests.tddkit import judge, start_project

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

SESSIONS = '''\
"""Sessions."""

import sys
from os import path, sep


def load(raw):  # noqa: C901
    """Load a session."""
    text = raw.strip()
    return text


if __name__ == "__main__":  # pragma: no cover
    print(load(" x "))
'''
SESSIONS_TEST = (
    "from pkg.sessions import load\n\n\ndef test_load():\n    assert load(' a ') == 'a'\n"
)


def _base(repo: GitRepo, extra: str = "") -> str:
    """A project whose `sessions.py` and its test exist before the range."""
    repo.write("pyproject.toml", '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n' + extra)
    repo.write("src/pkg/__init__.py", '"""The package."""\n')
    repo.write("src/pkg/sessions.py", SESSIONS)
    repo.write("tests/test_sessions.py", SESSIONS_TEST)
    base = repo.commit("project with sessions")
    repo.git("checkout", "-q", "-b", "feature")
    return base


NEUTRAL_EDITS = {
    "a noqa comment dropped": SESSIONS.replace("  # noqa: C901", ""),
    "a docstring rewritten": SESSIONS.replace(
        '"""Load a session."""', '"""Read one.\n\n    More."""'
    ),
    "a module docstring dropped": SESSIONS.replace('"""Sessions."""\n', ""),
    "imported names reordered": SESSIONS.replace("path, sep", "sep, path"),
    "an import line split in two": SESSIONS.replace(
        "from os import path, sep\n", "from os import sep\nfrom os import path\n"
    ),
    "import statements reordered": SESSIONS.replace(
        "import sys\nfrom os import path, sep\n", "from os import sep, path\nimport sys\n"
    ),
    "reformatted over lines": SESSIONS.replace("= raw.strip()", "= (\n        raw.strip()\n    )"),
    "a pragma-no-cover demo block rewritten": SESSIONS.replace(
        'print(load(" x "))',
        "for word in sys.argv[1:]:\n        print(load(word), file=sys.stderr)",
    ),
    "a local variable annotated": SESSIONS.replace("text = raw", "text: str = raw"),
    "an undecorated signature annotated": SESSIONS.replace(
        "def load(raw):", "def load(raw: str) -> str:"
    ),
}


@pytest.mark.parametrize("edit", list(NEUTRAL_EDITS))
def test_a_change_that_keeps_behaviour_needs_no_test(repo: GitRepo, edit: str) -> None:
    _base(repo)
    repo.write("src/pkg/sessions.py", NEUTRAL_EDITS[edit])
    repo.commit(edit)

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    assert result.summary == "no implementation file changed in 1 commit(s)"


BEHAVIOUR_EDITS = {
    "a changed return": SESSIONS.replace("raw.strip()", "raw.lstrip()"),
    "a new import": SESSIONS.replace("import sys\n", "import sys\nimport json\n"),
    "a line outside the excluded block": SESSIONS.replace(
        'if __name__ == "__main__":  # pragma: no cover',
        'DEBUG = True\n\nif __name__ == "__main__":  # pragma: no cover',
    ),
}


@pytest.mark.parametrize("edit", list(BEHAVIOUR_EDITS))
def test_a_change_of_behaviour_still_needs_a_test(repo: GitRepo, edit: str) -> None:
    _base(repo)
    repo.write("src/pkg/sessions.py", BEHAVIOUR_EDITS[edit])
    sha = repo.commit(edit)

    result = judge(repo)

    assert result.status is Verdict.FAIL
    (finding,) = result.findings
    assert finding.commit == sha[:8]


def test_the_finding_names_the_first_commit_that_changed_behaviour(repo: GitRepo) -> None:
    """flask 5880befc dropped a `# noqa` from app.py; 4b8bde97 then added a branch."""
    _base(repo)
    repo.write("src/pkg/sessions.py", NEUTRAL_EDITS["a noqa comment dropped"])
    repo.commit("drop a noqa")
    repo.write(
        "src/pkg/sessions.py",
        NEUTRAL_EDITS["a noqa comment dropped"].replace(
            "    text = raw.strip()",
            "    if raw is None:\n        return ''\n    text = raw.strip()",
        ),
    )
    real = repo.commit("accept None")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    (finding,) = result.findings
    assert finding.commit == real[:8]
    assert "implementation changed first, in " + real[:8] + ' "accept None"' in finding.message


MAIN_BLOCK = 'if __name__ == "__main__":\n    print(load(" x "))\n'
DEMO = SESSIONS.replace(
    'if __name__ == "__main__":  # pragma: no cover\n    print(load(" x "))\n', MAIN_BLOCK
)


@pytest.mark.parametrize(
    ("config_file", "text"),
    [
        (
            ".coveragerc",
            '[report]\nexclude_lines =\n    pragma: no cover\n    if __name__ == "__main__":\n',
        ),
        ("setup.cfg", '[coverage:report]\nexclude_also =\n    if __name__ == "__main__":\n'),
        (
            "pyproject.toml",
            "[tool.coverage.report]\nexclude_also = ['if __name__ == .__main__.:']\n",
        ),
    ],
)
def test_lines_the_projects_coverage_configuration_excludes_need_no_test(
    repo: GitRepo, config_file: str, text: str
) -> None:
    """rich's .coveragerc excludes `if __name__ == "__main__":` blocks (spinner.py)."""
    if config_file == "pyproject.toml":
        _base(repo, extra=text)
    else:
        repo.write(config_file, text)
        _base(repo)
    repo.write("src/pkg/sessions.py", DEMO)
    repo.commit("a demo block without the pragma")  # the pragma goes: still excluded
    repo.write("src/pkg/sessions.py", DEMO.replace('print(load(" x "))', "print(load('y'), 1)"))
    repo.commit("another demo")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    assert result.metrics["files_checked"] == 0


def test_without_such_configuration_the_same_block_needs_a_test(repo: GitRepo) -> None:
    _base(repo)
    repo.write("src/pkg/sessions.py", DEMO)
    repo.commit("a demo block without the pragma")
    repo.write("src/pkg/sessions.py", DEMO.replace('print(load(" x "))', "print(load('y'), 1)"))
    sha = repo.commit("another demo")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha[:8]


def test_type_checking_blocks_never_run(repo: GitRepo) -> None:
    _base(repo)
    repo.write(
        "src/pkg/sessions.py",
        SESSIONS.replace(
            "import sys\n",
            "import sys\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import json\n",
        ),
    )
    repo.commit("types only")
    text = (repo.path / "src/pkg/sessions.py").read_text()
    repo.write(
        "src/pkg/sessions.py",
        text.replace("    import json\n", "    import json\n    from os import PathLike\n"),
    )
    repo.commit("more types only")

    result = judge(repo)

    # the first commit imports TYPE_CHECKING: that import runs, so it counts
    assert result.status is Verdict.FAIL
    assert result.findings[0].message.count('"types only"') == 1


POINT_TEST = "from pkg.point import Point\n\n\ndef test_point():\n    assert Point(1).y == 0\n"
DATACLASS = (
    "import dataclasses\n\n\n@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n"
)


def test_class_body_annotations_are_behaviour(repo: GitRepo) -> None:
    """A dataclass (or pydantic model) builds its fields from them."""
    repo.write("src/pkg/point.py", DATACLASS)
    repo.write("tests/test_point.py", POINT_TEST)
    start_project(repo)
    repo.write(
        "src/pkg/point.py", DATACLASS.replace("y: int = 0", "y: dataclasses.InitVar[int] = 0")
    )
    sha = repo.commit("y becomes an init-only variable")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha[:8]


def test_decorated_function_annotations_are_behaviour(repo: GitRepo) -> None:
    """functools.singledispatch, FastAPI or typer read a decorated function's annotations."""
    registered = SESSIONS.replace("def load(raw):", "@register\ndef load(raw):")
    repo.write("src/pkg/sessions.py", registered)
    repo.write("tests/test_sessions.py", SESSIONS_TEST)
    start_project(repo)
    repo.write("src/pkg/sessions.py", registered.replace("load(raw)", "load(raw: int)"))
    sha = repo.commit("dispatch on int")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha[:8]


def test_a_version_that_does_not_parse_is_compared_by_its_lines(repo: GitRepo) -> None:
    _base(repo)
    broken = SESSIONS + "def broken(:\n"
    repo.write("src/pkg/sessions.py", broken)
    repo.commit("break it")
    repo.write("src/pkg/sessions.py", broken.replace("  # noqa: C901", ""))
    repo.commit("drop a comment of a broken file")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert '"break it"' in result.findings[0].message


@pytest.mark.parametrize("staged", [False, True])
def test_uncommitted_comment_edits_need_no_test_either(repo: GitRepo, *, staged: bool) -> None:
    """The pre-commit hook and CI agree: the same edit, committed or not."""
    _base(repo)
    repo.write(
        "src/pkg/sessions.py", SESSIONS.replace("  # noqa: C901", "  # noqa: C901, E501\n# a note")
    )
    if staged:
        repo.git("add", "src/pkg/sessions.py")

    result = judge(repo, staged=staged)

    assert result.status is Verdict.PASS, result.findings
    assert result.metrics["files_checked"] == 0


BRANCHES = """\
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import json
else:
    json = None


def f(a, b):
    if a:
        return 0
    elif b:
        x: int = 1
        return x
    else:
        return 2
"""


@pytest.mark.parametrize(
    "edit",
    [
        ("return 0", "return 0  # zero"),  # pyparsing/results.py's shape
        ("json = None", "json = None  # at run time"),
        ("x: int = 1", "x: float = 1"),
    ],
)
def test_blocks_after_a_normalized_one_are_compared_too(
    repo: GitRepo, edit: tuple[str, str]
) -> None:
    """An `else:` after a block that was normalized (a local annotation, a
    TYPE_CHECKING body) broke the comparison: the gate said `error`."""
    repo.write("src/pkg/branches.py", BRANCHES)
    start_project(repo)
    repo.write("src/pkg/branches.py", BRANCHES.replace(*edit))
    repo.commit("a comment")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.summary
    assert result.metrics["files_checked"] == 0


EVENTS = "from typing import Optional, TypedDict\n\n\nclass Event(TypedDict):\n    code: int\n"


def test_a_typeddict_key_is_for_type_checkers(repo: GitRepo) -> None:
    """asgiref f86642b8 added `reason: Optional[str]` to a TypedDict of asgiref/typing.py."""
    repo.write("src/pkg/events.py", EVENTS)
    start_project(repo)
    repo.write("src/pkg/events.py", EVENTS + "    reason: Optional[str]\n")
    repo.commit("add reason")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings


def test_importing_another_name_is_behaviour(repo: GitRepo) -> None:
    _base(repo)
    repo.write(
        "src/pkg/sessions.py",
        SESSIONS.replace("from os import path, sep", "from os import path, pathsep as sep"),
    )
    sha = repo.commit("another separator")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha[:8]


def test_a_version_bump_needs_no_test(repo: GitRepo) -> None:
    """pyparsing 96711846 changed `__version_time__` in its __init__.py."""
    versioned = SESSIONS.replace('"""Sessions."""\n', '"""Sessions."""\n\n__version__ = "1.0"\n')
    repo.write("src/pkg/sessions.py", versioned)
    repo.write("tests/test_sessions.py", SESSIONS_TEST)
    start_project(repo)
    repo.write("src/pkg/sessions.py", versioned.replace("1.0", "1.1"))
    repo.commit("release 1.1")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings


def test_importing_from_a_module_renamed_in_the_same_commit_needs_no_test(repo: GitRepo) -> None:
    """rich e778af6a renamed rich/_render_width.py and changed only the imports of it."""
    repo.write("src/pkg/_width.py", "class Width:\n    pass\n")
    pad = (
        "from ._width import Width\nfrom pkg._width import Width as W\n\n\n"
        "def w():\n    return Width(), W\n"
    )
    repo.write("src/pkg/pad.py", pad)
    repo.write("tests/test_width.py", "from pkg.pad import w\n\n\ndef test_w():\n    assert w()\n")
    start_project(repo)
    repo.git("mv", "src/pkg/_width.py", "src/pkg/width.py")
    repo.write("src/pkg/pad.py", pad.replace("_width", "width"))
    repo.commit("rename")
    repo.write(
        "src/pkg/pad.py",
        pad.replace("_width", "width")
        .replace("import Width as W", "import Width as X")
        .replace("W\n", "X\n"),
    )
    sha = repo.commit("another name")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.commit for f in result.findings] == [sha[:8]]


TEMPLATE = (
    'QUERY = """\nselect a\nfrom t  # not a comment\n"""\n\n\ndef query():\n    return QUERY\n'
)


@pytest.mark.parametrize(
    "edit",
    [("select a", "select b"), ("from t  # not a comment", "from t  # really not")],
)
def test_a_change_inside_a_string_at_column_0_is_behaviour(
    repo: GitRepo, edit: tuple[str, str]
) -> None:
    """The changed lines look like code to the part of the comparison that only
    reads the statements a change touched; the string they are in says otherwise."""
    repo.write("src/pkg/sessions.py", TEMPLATE)
    repo.write("tests/test_sessions.py", "from pkg.sessions import query\n")
    start_project(repo)
    repo.write("src/pkg/sessions.py", TEMPLATE.replace(*edit))
    sha = repo.commit("another query")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert result.findings[0].commit == sha[:8]


def test_the_default_exclusion_is_coverage_pys_own() -> None:
    """Kept as a copy so that a project without exclusions never imports coverage.py."""
    import coverage
    from coverage.config import DEFAULT_EXCLUDE

    if coverage.version_info < (7, 18):  # the newest coverage.py on Python 3.10 is 7.16
        pytest.skip("the copy is 7.18's list; 7.16 leaves its TYPE_CHECKING pattern unanchored")

    from pytest_tddgate.facts import behaviour_cache

    assert list(behaviour_cache.DEFAULT_EXCLUDE) == DEFAULT_EXCLUDE
