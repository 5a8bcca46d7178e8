"""Run mypy without the project folder on `sys.path`: Python 3.10's `python -P`.

`python -m mypy` puts the current folder first on `sys.path`, so in the project folder
a module named like one of mypy's dependencies (`pathspec.py`, `tomli.py`) is imported,
and run, in place of the library. Python 3.11 has `-P` against that; on 3.10 the
gate runs this file instead. A script's own folder is put first on `sys.path` in the
same way, so the first thing it does, before any import can read the path, is to
drop that entry. Nothing else changes: mypy sees the same arguments, environment and
site-packages as `python -m mypy`.
"""

import sys

del sys.path[0]  # this file's folder; nothing has been imported from it yet

import runpy  # noqa: E402  (after the path is safe)


def main() -> None:
    runpy.run_module("mypy", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
