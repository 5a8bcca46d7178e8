"""Probes for modules imported before the measurement started.

A pytest plugin that imports the project (time-machine and freezegun import dateutil,
pytest imports pluggy, a plugin project's own entry point) loads its modules before
the import hook is in place: their code has no probes. A tracer would still see their
functions run, but on Python 3.11 and older its mere presence costs the whole run
(dateutil's suite: 50 s traced with nothing to measure, against 20 s plain). So the
functions of those modules get probed code instead, in place: each function object's
`__code__` becomes the probed compile of the same function, found by its qualified
name and first line. Lines those modules ran when imported (their `def`s, constants)
ran before any measurement, as under a tracer started then, and are not counted. One
difference remains: a lambda defined at module level (`key = lambda v: v.name`) counts
its line under a tracer when it is called; probes count it only when the statement
holding it runs, at import here.

All or nothing: when a function cannot be matched (two with the same name on one line,
a code object made at run time, a file changed since it was imported), or a generator
of those modules is suspended (it would go on in its old code), nothing is swapped and
the caller traces as before.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Sequence
from types import AsyncGeneratorType, CodeType, CoroutineType, FunctionType, GeneratorType
from typing import TYPE_CHECKING, Any

from pytest_tddgate.facts.probes import probe_loader

if TYPE_CHECKING:
    from pytest_tddgate.facts.probes import Probes

_Key = tuple[str, int]  # a function's qualified name, its first line


def adopt(probes: Probes, paths: Sequence[str]) -> bool:
    """Swap probed code into every function of the files `paths` (real paths of
    modules imported already, `Probes.imported`); False, with nothing changed, when
    that cannot be done for all of them."""
    wanted = set(paths)
    modules = {os.path.realpath(m.__file__): m for m in probes.loaded()}
    if not wanted <= set(modules):
        return False
    probed: dict[str, dict[_Key, CodeType | None]] = {}
    for path in wanted:
        code = _probed_code(probes, modules[path])
        if code is None:
            return False
        probed[path] = _functions(code)
    swaps = _matches(probed)
    if swaps is None:
        return False
    probes.install(hook=False)  # the probes' sets first: swapped code may run at once
    for function, code in swaps:
        function.__code__ = code
    return True


def _probed_code(probes: Probes, module: Any) -> CodeType | None:
    """The module compiled as the import hook would have compiled it (pytest rewrote
    the asserts of a plugin it loaded: so are they here)."""
    spec = getattr(module, "__spec__", None)
    if spec is None:
        return None
    loader = probe_loader(probes, spec.name, module.__file__, spec.loader)
    if loader is None:
        return None
    try:
        code = loader.get_code(spec.name)
    except (OSError, SyntaxError, ValueError):
        return None  # changed or gone since it was imported
    # the probes could not be compiled into it: its code came back without them
    return None if os.path.realpath(module.__file__) in probes.failed else code


def _key(code: CodeType) -> _Key:
    return (getattr(code, "co_qualname", code.co_name), code.co_firstlineno)


def _functions(module_code: CodeType) -> dict[_Key, CodeType | None]:
    """Every code object under the module's, by key; None for a key two share."""
    found: dict[_Key, CodeType | None] = {}
    for code in _nested(module_code):
        key = _key(code)
        found[key] = None if key in found else code
    return found


def _nested(code: CodeType) -> Iterator[CodeType]:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const
            yield from _nested(const)


def _matches(
    probed: dict[str, dict[_Key, CodeType | None]],
) -> list[tuple[FunctionType, CodeType]] | None:
    """Each live function of the files with its probed code; None when one has none,
    or when a generator or coroutine of the files is suspended."""
    reals: dict[str, str | None] = {}  # co_filename -> the real path, when one of ours
    names = {os.path.basename(p) for p in probed}  # noqa: PTH119

    def ours(filename: str) -> str | None:
        if filename not in reals:
            real = None
            if os.path.basename(filename) in names:  # noqa: PTH119 (cheap test first)
                real = os.path.realpath(filename)
            reals[filename] = real if real in probed else None
        return reals[filename]

    swaps: list[tuple[FunctionType, CodeType]] = []
    for obj in gc.get_objects():
        if isinstance(obj, FunctionType):
            code = obj.__code__
            path = ours(code.co_filename)
            if path is None:
                continue
            new = probed[path].get(_key(code))
            if new is None or new.co_freevars != code.co_freevars:
                return None
            swaps.append((obj, new))
        elif isinstance(obj, (GeneratorType, CoroutineType, AsyncGeneratorType)):
            frame = getattr(obj, "gi_frame", None) or getattr(obj, "cr_frame", None)
            frame = frame or getattr(obj, "ag_frame", None)
            if frame is not None and ours(frame.f_code.co_filename) is not None:
                return None
    return swaps


def adopted_note(paths: Sequence[str]) -> str:
    names = ", ".join(os.path.basename(p) for p in sorted(paths)[:3])  # noqa: PTH119
    more = " and more" if len(paths) > 3 else ""
    return (
        f"{names}{more} imported before the run: probed in place; the lines they ran when "
        "imported are not counted, as under `pytest --cov`"
    )
