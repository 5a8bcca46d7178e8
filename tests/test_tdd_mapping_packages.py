"""A test that imports `pkg.sub.mod` runs `pkg/__init__.py` and `pkg/sub/__init__.py`
first (Python imports the packages before their module): the static import mapping
maps it to them, so `tddgate check` without a prior test run credits the test that
changed with a package's `__init__.py` (QA finding F3, cattrs a829300d)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tddgate.model import Verdict
from tests.tddkit import judge, start_project

if TYPE_CHECKING:
    from tests.gitrepo import GitRepo

CHECK = "def check(v):\n    if not isinstance(v, int):\n        raise {error}\n    return v\n"
OLD_ERROR = 'Exception("bad")'
NEW_ERROR = 'TypeError("not an int")'
LOADER = "from pkg import check\n\n\ndef load(v):\n    return check(v)\n"
TEST = (
    "import pytest\n\nfrom {module} import load\n\n\ndef test_load():\n"
    "    with pytest.raises({error}):\n        load('x')\n"
)


def _entry(result: object, path: str) -> dict[str, object]:
    files = result.details["files"]  # type: ignore[attr-defined]
    return next(f for f in files if f["path"] == path)


@pytest.mark.parametrize(
    ("module", "loader"),
    [("pkg.yaml", "src/pkg/yaml.py"), ("pkg.formats.yaml", "src/pkg/formats/yaml.py")],
)
def test_a_package_init_maps_to_the_tests_that_import_its_submodules(
    repo: GitRepo, module: str, loader: str
) -> None:
    start_project(repo)
    repo.write("src/pkg/__init__.py", CHECK.format(error=OLD_ERROR))
    if "formats" in module:
        repo.write("src/pkg/formats/__init__.py", "")
    repo.write(loader, LOADER)
    repo.write("tests/test_load.py", TEST.format(module=module, error="Exception"))
    repo.commit("check and load, with their test")
    repo.write("src/pkg/__init__.py", CHECK.format(error=NEW_ERROR))
    repo.write("tests/test_load.py", TEST.format(module=module, error="TypeError"))
    repo.commit("raise TypeError, with its test")

    result = judge(repo)

    assert result.status is Verdict.PASS, result.findings
    entry = _entry(result, "src/pkg/__init__.py")
    tests = entry["tests"]
    assert isinstance(tests, list)
    assert [(t["test"], t["sources"]) for t in tests] == [("tests/test_load.py", ["imports"])]


def test_a_test_of_another_package_does_not_map_to_its_init(repo: GitRepo) -> None:
    start_project(repo)
    repo.write("src/pkg/__init__.py", CHECK.format(error=OLD_ERROR))
    repo.write("src/other/__init__.py", "VERSION = 1\n")
    repo.write("src/other/util.py", "def load(v):\n    return v\n")
    repo.write("tests/test_load.py", TEST.format(module="other.util", error="Exception"))
    repo.commit("check first; a test of another package")

    result = judge(repo)

    assert result.status is Verdict.FAIL
    assert [f.path for f in result.findings] == ["src/pkg/__init__.py"]
