"""What a version of a Python file does, compared with another: two versions that
behave alike need no test for the change between them.

The comparison reads the files' syntax trees (`ast`, which already drops comments
and formatting), with what cannot change what the code does set aside:

- docstrings, and any other statement that is a bare string;
- the order and grouping of consecutive imports (`from m import a, b` binds what two
  lines `from m import b` and `from m import a` bind), and the old name of a module
  the same commit renamed;
- a fallback import (`sys.version_info` guard, `try`/`except ImportError` of the
  standard library) read as the branch the supported Pythons run (`_fallback`);
- an import whose name only the annotations set aside below use, from a module
  whose import runs no new code (`_for_annotations`);
- a string literal's `.format()` read as the f-string it equals (`_as_f_string`);
- the code the project's coverage configuration excludes (`exclude_lines`,
  `exclude_also`; by default `# pragma: no cover`), read with coverage.py's own
  configuration reader, and excluded as coverage.py does: a matching line excludes
  its statement, and a statement that opens a block (`if`, `def`, `else:`) excludes
  the block;
- the body of `if TYPE_CHECKING:`, which never runs;
- constants given to dunder names at module level (`__version__`): release metadata;
- the annotations Python never reads: those of local variables (never evaluated),
  the keys of a `TypedDict`, and those of a function's signature, unless a
  decorator that may read them wraps the function (`functools.singledispatch`'s
  `register`, FastAPI, typer, pydantic's `validate_call` do). Other annotations in a
  class body or at module level stay: a dataclass, a `NamedTuple` or a pydantic
  model builds its fields from them.

Only the top-level statements a change touched are compared (`region`), each
normalized once for its exact text. A version that does not parse cannot be
compared (the caller then compares lines).
"""

from __future__ import annotations

import ast
import hashlib
import re
import string
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# decorators that never read the annotations of what they wrap
_BLIND_DECORATORS = frozenset(
    {
        "abstractmethod",
        "asynccontextmanager",
        "cache",
        "cached_property",
        "classmethod",
        "contextmanager",
        "deleter",
        "final",
        "getter",
        "lru_cache",
        "overload",
        "override",
        "property",
        "setter",
        "staticmethod",
        "wraps",
    }
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_IMPORTS = (ast.Import, ast.ImportFrom)
_PASS = ast.Pass()
_SYS = "import sys as None"  # `import sys`, as `_imported` names it
_SYS_WORD = re.compile(r"\bsys\b")
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


Key = tuple[str, int, int]  # a top-level statement's exact text and columns
Renames = dict[str, str]  # old module name -> new: `pkg._width` -> `pkg.width`, `_width` -> `width`


def module_renames(moves: list[tuple[str, str]]) -> Renames:
    """The module names a commit's renames of Python files change: each file's dotted
    path (from any folder depth) and its last part, for relative imports."""
    found: Renames = {}
    for old, new in moves:
        before, after = old.removesuffix(".py").split("/"), new.removesuffix(".py").split("/")
        if before[-1] == "__init__" or after[-1] == "__init__":
            continue
        found[before[-1]] = after[-1]
        if before[:-1] == after[:-1]:  # the same folder: `pkg._width` -> `pkg.width` too
            for depth in range(1, len(before)):
                found[".".join(before[-depth - 1 :])] = ".".join(after[-depth - 1 :])
    return dict(sorted(found.items(), key=lambda item: -len(item[0])))  # longest first


class Version:
    """One parsed version: its top-level statements, each known by its exact text."""

    __slots__ = ("hit_lines", "hits", "keys", "statements", "sys_unused")

    def __init__(self, tree: ast.Module, lines: list[str], hits: frozenset[int]) -> None:
        self.statements = tree.body
        self.hits = hits
        self.hit_lines = tuple(sorted(lines[n - 1].strip() for n in hits))
        self.sys_unused: dict[bool, bool] = {}  # with exclusions or not: told when asked
        self.keys: list[Key] = []
        for statement in tree.body:
            first = min([statement.lineno, *(d.lineno for d in _decorators(statement))])
            segment = "".join(lines[first - 1 : statement.end_lineno])
            self.keys.append((segment, statement.col_offset, statement.end_col_offset or 0))


class Fingerprints:
    """Compares versions under one set of exclusions. A top-level statement the
    other version has with the same text is the same; only the others are
    normalized and dumped, each once for its exact text: a change costs the
    statements it touched, not the whole file."""

    def __init__(self, excluded: Sequence[str]) -> None:
        self._pattern = re.compile("|".join(f"(?:{r})" for r in excluded)) if excluded else None
        # (statement, exclusions applied) -> (an import?, digest; None: dropped)
        self._digests: dict[tuple[Key, bool], tuple[bool, bytes | None]] = {}

    def of(self, data: bytes) -> Version | None:
        """One version, parsed (None: it does not parse)."""
        try:
            text = data.decode("utf-8-sig")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes and the like
                tree = ast.parse(text)
        except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError):
            return None
        lines = text.splitlines(keepends=True)
        pattern = self._pattern
        hits = (
            frozenset(n for n, line in enumerate(lines, 1) if pattern.search(line))
            if pattern
            else frozenset()
        )
        return Version(tree, lines, hits)

    def same(self, old: Version, new: Version, renames: Renames | None = None) -> bool:
        """Whether two versions behave alike: equal once the excluded code is left
        out, or equal with it kept, when only what excludes it changed (a `# pragma:
        no cover` added or dropped). `renames`: modules the same commit renamed, whose
        old names the old version's imports are read with the new ones."""
        moved = renames or {}
        if self._digest(old, new, excluded=True, renames=moved) == self._digest(
            new, old, excluded=True
        ):
            return True
        if old.hit_lines == new.hit_lines:
            return False
        return self._digest(old, new, excluded=False, renames=moved) == self._digest(
            new, old, excluded=False
        )

    def inert(self, version: Version) -> bool:
        """Whether a version does nothing at all (a new file of docstrings and
        comments): told without normalizing or dumping its statements."""
        return all(_inert(s) or _is_excluded(s, version.hits) for s in version.statements)

    def _digest(
        self, version: Version, other: Version, *, excluded: bool, renames: Renames | None = None
    ) -> list[bytes]:
        shared = set(other.keys)
        hits = version.hits if excluded else frozenset()
        their_hits = other.hits if excluded else frozenset()
        theirs = {
            n for s in other.statements for i in _imports(s, their_hits) or () for n in _imported(i)
        }
        parts: list[tuple[bool, bytes | None]] = []
        for key, statement in zip(version.keys, version.statements, strict=True):
            imports = _imports(statement, hits)
            if imports is not None:  # one part per name: `import a, b` is two
                if not _is_excluded(statement, hits):
                    names = [n for i in imports for n in _imported(i, renames)]
                    if _SYS in names and _sys_unused(version, hits):
                        names.remove(_SYS)  # imported for the version guards alone
                    names = [
                        n for n in names if n in theirs or not _for_annotations(n, version, imports)
                    ]
                    parts += [(True, _digest_of(name)) for name in names]
                continue
            if key in shared:  # the same text in both: the same, whatever it does
                digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
                parts.append((isinstance(statement, _IMPORTS), digest))
                continue
            memo = (key, excluded)
            if memo not in self._digests:
                # the digest with exclusions may have dropped parts of the parsed
                # statement: the one without them parses its text again
                fresh = statement if excluded else _reparsed(key, statement)
                formats = bool(_FORMAT_CALL.search(key[0]))
                self._digests[memo] = _statement_digest(fresh, hits, formats=formats)
            parts.append(self._digests[memo])
        return _combined(parts)


def _reparsed(key: Key, statement: ast.stmt) -> ast.stmt:
    segment, column, _ = key
    if column == 0:
        try:
            body = ast.parse(segment).body
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            body = []
        if len(body) == 1:
            return body[0]
    return statement  # `a; b` on one line: rare enough to compare as it is


def _statement_digest(
    statement: ast.stmt, hits: frozenset[int], *, formats: bool
) -> tuple[bool, bytes | None]:
    """A statement's digest, normalized in place (the tree was parsed for this)."""
    kept = _statements([statement], hits)
    if not kept:
        return False, None
    try:
        dump = ast.dump(_Formats().visit(kept[0]) if formats else kept[0])  # `.format(`: rare
    except RecursionError:
        dump = ast.dump(statement, include_attributes=True)  # unlike any normalized one
    return isinstance(statement, _IMPORTS), hashlib.blake2b(dump.encode(), digest_size=16).digest()


def _imports(statement: ast.stmt, hits: frozenset[int]) -> list[ast.Import | ast.ImportFrom] | None:
    """The imports a statement stands for: itself, or a fallback's (None: not one)."""
    return [statement] if isinstance(statement, _IMPORTS) else _fallback(statement, hits)


def _fallback(
    statement: ast.stmt, hits: frozenset[int]
) -> list[ast.Import | ast.ImportFrom] | None:
    """A fallback import as the imports that run on the Pythons its author meant to
    keep (None: not one). Two shapes, each with branches that only import and bind
    the same names:

    - `if sys.version_info >= (3, 8):` / `else:`: the branch of the newer Pythons;
    - `try:` importing from the standard library / `except ImportError:`: the `try`
      branch, which runs wherever the standard library has the names.

    and whose other branch, for older Pythons, imports from `typing_extensions` (the
    backport of `typing`) or is excluded by the coverage configuration (`hits`):
    then what it does is no behaviour the project pins. Collapsing one to the kept
    branch (`from typing import Protocol`) changes nothing on the newer Pythons;
    which branch a fallback between two libraries (`orjson` / `json`) takes depends
    on what is installed, so it is not one."""
    if isinstance(statement, ast.If):
        newer = _newer_branch(statement.test)
        if newer is None:
            return None
        kept, other = (statement.body, statement.orelse)[:: 1 if newer else -1]
    elif isinstance(statement, ast.Try):
        if statement.orelse or statement.finalbody or len(statement.handlers) != 1:
            return None
        handler = statement.handlers[0]
        if not _catches_import_error(handler.type):
            return None
        kept, other = statement.body, handler.body
        if not all(_standard(i) for i in kept):
            return None
    else:
        return None
    if not all(isinstance(i, _IMPORTS) for i in (*kept, *other)) or not other:
        return None
    if _bound(kept) != _bound(other):
        return None
    backport = all(isinstance(i, ast.ImportFrom) and i.module == "typing_extensions" for i in other)
    if not (backport or _aside(statement, other, hits)):
        return None
    return [i for i in kept if isinstance(i, _IMPORTS)]


def _aside(statement: ast.If | ast.Try, other: list[ast.stmt], hits: frozenset[int]) -> bool:
    """Whether the coverage configuration excludes a fallback's other branch: its
    statements, its `else:` line or its `except` line. (Only called on branches of
    imports, so on a statement no normalizing has replaced parts of.)"""
    if all(_is_excluded(i, hits) for i in other):
        return True
    if isinstance(statement, ast.Try):
        return _is_excluded(statement.handlers[0], hits)
    header = _else_line(statement, "orelse") if other is statement.orelse else range(0)
    return any(line in hits for line in header)


def _newer_branch(test: ast.expr) -> bool | None:
    """For `sys.version_info >= (3, 8)` (or `>`, or `sys.version_info[:2]`): True;
    for `<` / `<=`: False, the `else:` branch is the newer Pythons'; None: not such a
    test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if isinstance(left, ast.Subscript):
        left = left.value
    if not (
        isinstance(left, ast.Attribute)
        and left.attr == "version_info"
        and isinstance(left.value, ast.Name)
        and left.value.id == "sys"
        and isinstance(right, ast.Tuple)
        and all(isinstance(e, ast.Constant) and isinstance(e.value, int) for e in right.elts)
    ):
        return None
    if isinstance(op, (ast.GtE, ast.Gt)):
        return True
    return False if isinstance(op, (ast.Lt, ast.LtE)) else None


def _catches_import_error(caught: ast.expr | None) -> bool:
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return bool(names) and all(isinstance(n, ast.Name) and n.id in _IMPORT_ERRORS for n in names)


def _standard(statement: ast.stmt) -> bool:
    """An import from the standard library (absolute, every module of it)."""
    if isinstance(statement, ast.ImportFrom):
        modules = [statement.module or ""] if statement.level == 0 else []
    elif isinstance(statement, ast.Import):
        modules = [a.name for a in statement.names]
    else:
        return False
    return bool(modules) and all(m.partition(".")[0] in sys.stdlib_module_names for m in modules)


def _bound(block: list[ast.stmt]) -> set[str]:
    """The names a block of imports binds."""
    names: set[str] = set()
    for statement in block:
        if isinstance(statement, _IMPORTS):
            for alias in statement.names:
                names.add(alias.asname or alias.name.partition(".")[0])
    return names


def _sys_unused(version: Version, hits: frozenset[int]) -> bool:
    """Whether nothing of a version reads `sys` but its imports and version guards:
    `import sys` is then there for the guards alone, and goes with them. Told on
    the whole file, since `region` does not cut around a version guard."""
    if bool(hits) not in version.sys_unused:
        rest = [  # only a statement whose text holds the word can read it
            s
            for (text, _, _), s in zip(version.keys, version.statements, strict=True)
            if _SYS_WORD.search(text)
            and not isinstance(s, _IMPORTS)
            and not (isinstance(s, ast.If) and _fallback(s, hits))
        ]
        version.sys_unused[bool(hits)] = not any(
            isinstance(node, ast.Name) and node.id == "sys"
            for statement in rest
            for node in ast.walk(statement)
        )
    return version.sys_unused[bool(hits)]


# modules whose import runs nothing a program can tell: a name imported from one (or
# from a module the file imports anyway) and read only by annotations is no change
_SILENT_MODULES = frozenset({"typing", "collections.abc", "types"})
_FIELD = re.compile(r"([0-9]*|[A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_FORMAT_CALL = re.compile(r"\.\s*format\b")


def _for_annotations(
    name: str, version: Version, imports: list[ast.Import | ast.ImportFrom]
) -> bool:
    """Whether the import `name` (one of `_imported`'s texts, from `imports`) binds a
    name only the annotations Python never reads use (an unused import is not one:
    its name is still the module's attribute, changed), from a
    module whose import runs no new code. Told on the whole file: `region` does not
    cut around an import."""
    for statement in imports:
        if not isinstance(statement, ast.ImportFrom) or statement.level:
            continue
        for alias in statement.names:
            text = f"from {statement.module} import {alias.name} as {alias.asname}"
            if text == name:
                module = statement.module or ""
                silent = module in _SILENT_MODULES or _imports_module(version, module, name)
                return silent and _only_annotated(version, alias.asname or alias.name)
    return False


def _imports_module(version: Version, module: str, name: str) -> bool:
    """Whether `version` imports `module` by another import than `name`."""
    for statement in version.statements:
        if isinstance(statement, ast.ImportFrom) and statement.level == 0:
            if statement.module == module and any(t != name for t in _imported(statement)):
                return True
        elif isinstance(statement, ast.Import) and any(a.name == module for a in statement.names):
            return True
    return False


def _only_annotated(version: Version, name: str) -> bool:
    """Whether `name` is mentioned by `version` (imports aside) and read only by the
    annotations Python never reads: not by code, not in a string (`__all__`, a string
    annotation), not as an `if TYPE_CHECKING:` test. Only the statements whose text
    holds the name are parsed again and normalized; one that cannot be reparsed
    alone (`a; b` on one line) reads it."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    mentioned = False
    for key, statement in zip(version.keys, version.statements, strict=True):
        if isinstance(statement, _IMPORTS) or not word.search(key[0]):
            continue
        if _read_outside_annotations(statement, name):
            return False  # told without normalizing: most names are read by code
        fresh = _reparsed(key, statement)
        if fresh is statement:  # normalizing it would change the version's tree
            return False
        tests: list[ast.expr] = []  # of TYPE_CHECKING blocks, which normalizing may drop
        for node in ast.walk(fresh):  # before normalizing drops the annotations
            mentioned = mentioned or (isinstance(node, ast.Name) and node.id == name)
            if isinstance(node, ast.If) and _type_checking(node.test):
                tests.append(node.test)
        kept = _statements([fresh], frozenset())
        if any(_reads(node, name, word) for top in (*tests, *kept) for node in ast.walk(top)):
            return False
    return mentioned


def _read_outside_annotations(statement: ast.stmt, name: str) -> bool:
    """Whether `name` is read somewhere no annotation holds it (of any kind)."""
    inside: set[int] = set()
    found = []
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and node.id == name:
            found.append(node)
        annotations = [getattr(node, "annotation", None), getattr(node, "returns", None)]
        for annotation in annotations:
            if annotation is not None:
                inside.update(id(n) for n in ast.walk(annotation))
    return any(id(n) not in inside for n in found)


def _reads(node: ast.AST, name: str, word: re.Pattern[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id == name
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(word.search(node.value))
    )


class _Formats(ast.NodeTransformer):
    """`"<{!r}>".format(x)` read as the f-string it equals, `f"<{x!r}>"`: both
    format each value with `format(value, spec)` after its conversion, in order."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        return _as_f_string(node) or node


def _as_f_string(call: ast.Call) -> ast.JoinedStr | None:
    """The f-string a `.format` call on a string literal equals: `'{}'`, `'{0}'`,
    `'{name}'` fields, with attributes (`'{f.count}'`) and constant format specs,
    each argument read by some field; one read more than once must be a plain name
    (the f-string evaluates each field's expression, `.format` its arguments once)."""
    target = call.func
    if not (
        isinstance(target, ast.Attribute)
        and target.attr == "format"
        and isinstance(target.value, ast.Constant)
        and isinstance(target.value.value, str)
        and not any(isinstance(a, ast.Starred) for a in call.args)
        and all(k.arg is not None for k in call.keywords)  # no `**options`
    ):
        return None
    try:
        fields = list(string.Formatter().parse(target.value.value))
    except ValueError:
        return None
    arguments: dict[str, ast.expr] = {str(n): a for n, a in enumerate(call.args)}
    arguments.update((str(k.arg), k.value) for k in call.keywords)
    reads: dict[str, int] = dict.fromkeys(arguments, 0)
    values: list[ast.expr] = []
    automatic, manual = 0, False
    for literal, name, spec, conversion in fields:
        if literal:
            previous = values[-1] if values else None
            if isinstance(previous, ast.Constant) and isinstance(previous.value, str):
                values[-1] = ast.Constant(previous.value + literal)  # `{{` splits it
            else:
                values.append(ast.Constant(literal))
        if name is None:
            continue
        match = _FIELD.fullmatch(name)
        if match is None or "{" in (spec or ""):
            return None  # `{0[1]}` indexes as str.format does, not as Python does
        key, attributes = match.group(1), match.group(2)
        if key == "":
            key, automatic = str(automatic), automatic + 1
        elif key.isdigit():
            manual = True
        if key not in arguments:
            return None
        reads[key] += 1
        value = arguments[key]
        for attribute in attributes.split(".")[1:]:
            value = ast.Attribute(value, attribute, ast.Load())
        shown = ast.JoinedStr([ast.Constant(spec)]) if spec else None
        values.append(ast.FormattedValue(value, ord(conversion) if conversion else -1, shown))
    if automatic and manual:
        return None  # automatic and manual numbering mixed: str.format raises
    for key, count in reads.items():
        if count == 0 or (count > 1 and not isinstance(arguments[key], ast.Name)):
            return None
    return ast.JoinedStr(values)


def _combined(parts: list[tuple[bool, bytes | None]]) -> list[bytes]:
    """The module's statements in order, each run of imports sorted."""
    ordered: list[bytes] = []
    run: list[bytes] = []
    for is_import, digest in [*parts, (False, b"")]:
        if digest is None:
            continue
        if is_import:
            run.append(digest)
            continue
        ordered += sorted(run)
        run = []
        ordered.append(digest)
    return ordered


def _statements(
    body: list[ast.stmt], hits: frozenset[int], *, local: bool = False
) -> list[ast.stmt]:
    """`body` normalized: excluded and inert statements dropped, imports sorted."""
    kept: list[ast.stmt] = []
    for statement in body:
        if _is_excluded(statement, hits) or _inert(statement):
            continue
        kept.append(_normalized(statement, hits, local=local))
    return _sorted_imports(kept)


def _is_excluded(statement: ast.stmt | ast.excepthandler, hits: frozenset[int]) -> bool:
    if not hits:
        return False
    first = min([statement.lineno, *(d.lineno for d in _decorators(statement))])
    body = getattr(statement, "body", None) or getattr(statement, "cases", None)
    if isinstance(body, list) and body:  # a block: its header lines
        opening = body[0].pattern if isinstance(body[0], ast.match_case) else body[0]
        last = max(first, opening.lineno - 1)
    else:
        last = statement.end_lineno or statement.lineno
    return any(line in hits for line in range(first, last + 1))


def _decorators(statement: ast.stmt | ast.excepthandler) -> list[ast.expr]:
    return list(getattr(statement, "decorator_list", ()))


def _inert(statement: ast.stmt) -> bool:
    """A bare string (a docstring) does nothing; nor does a TYPE_CHECKING block
    without an `else`."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return isinstance(statement.value.value, str)
    return isinstance(statement, ast.If) and _type_checking(statement.test) and not statement.orelse


def _metadata(statement: ast.Assign) -> bool:
    """A constant given to dunder names (`__version__`, `__author__`): release
    metadata, which a test of behaviour does not pin."""
    if not isinstance(statement.value, ast.Constant):
        return False
    return all(
        isinstance(t, ast.Name) and len(t.id) > 4 and t.id[:2] == t.id[-2:] == "__"
        for t in statement.targets
    )


def _named(node: ast.expr, name: str) -> bool:
    """`name` or `module.name`."""
    return (isinstance(node, ast.Name) and node.id == name) or (
        isinstance(node, ast.Attribute) and node.attr == name
    )


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _normalized(statement: ast.stmt, hits: frozenset[int], *, local: bool) -> ast.stmt:
    """One statement with its blocks normalized (the tree is changed in place: it
    was parsed for this fingerprint alone)."""
    if isinstance(statement, _FUNCTIONS):
        _signature(statement)
        statement.body = _block(statement.body, hits, local=True)
        return statement
    if isinstance(statement, ast.ClassDef):
        body = statement.body
        if any(_named(base, "TypedDict") for base in statement.bases):
            # a TypedDict's keys are types for type checkers: at run time it is a dict
            body = [s for s in body if not (isinstance(s, ast.AnnAssign) and s.value is None)]
        statement.body = _block(body, hits, local=False)
        return statement
    if not local and isinstance(statement, ast.Assign) and _metadata(statement):
        statement.value = ast.Constant(None)  # `__version__ = "1.2"`: release metadata
        return statement
    if isinstance(statement, ast.AnnAssign) and local:
        # a local's annotation is never evaluated: `x: int = 1` is `x = 1`
        if statement.value is None:
            statement.annotation = ast.Constant(None)
            return statement
        return ast.copy_location(ast.Assign([statement.target], statement.value), statement)
    # the `else:` / `finally:` header lines, read before any block is replaced (the
    # replacements have no positions)
    blocks = [(name, block, _else_line(statement, name)) for name, block in _blocks(statement)]
    if isinstance(statement, _IMPORTS):
        statement.names.sort(key=lambda a: (a.name, a.asname or ""))
    for name, block, header in blocks:
        setattr(statement, name, _block(block, hits, local=local, header=header))
    if isinstance(statement, ast.If) and _type_checking(statement.test):
        statement.body = [_PASS]
    handlers = getattr(statement, "handlers", None)
    if isinstance(handlers, list):  # try: an excluded `except` line excludes its handler
        handlers[:] = [h for h in handlers if not _is_excluded(h, hits)]
    for part in (*(handlers or ()), *getattr(statement, "cases", ())):
        part.body = _block(part.body, hits, local=local)
    return statement


def _blocks(statement: ast.stmt) -> Iterator[tuple[str, list[ast.stmt]]]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(statement, name, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield name, block


def _else_line(statement: ast.stmt, name: str) -> range:
    """The lines of the `else:` / `finally:` header before block `name`."""
    if name == "body":
        return range(0)
    before = getattr(statement, "body", [])
    if name == "finalbody":
        before = [*before, *getattr(statement, "handlers", ()), *getattr(statement, "orelse", ())]
    block = getattr(statement, name)
    start = max((s.end_lineno or s.lineno for s in before), default=statement.lineno) + 1
    return range(start, block[0].lineno)


def _block(
    body: list[ast.stmt], hits: frozenset[int], *, local: bool, header: range = range(0)
) -> list[ast.stmt]:
    """A block's statements; an excluded `else:` excludes its block."""
    if any(line in hits for line in header):
        return []
    return _statements(body, hits, local=local) or [_PASS]


def _signature(function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    """Drop a function's annotations when nothing that wraps it may read them."""
    if not all(_blind(d) for d in function.decorator_list):
        return
    arguments = function.args
    for argument in (
        *arguments.posonlyargs,
        *arguments.args,
        *arguments.kwonlyargs,
        *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
    ):
        argument.annotation = None
        argument.type_comment = None
    function.returns = None
    function.type_comment = None


def _blind(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        return target.attr in _BLIND_DECORATORS
    return isinstance(target, ast.Name) and target.id in _BLIND_DECORATORS


def _imported(statement: ast.Import | ast.ImportFrom, renames: Renames | None = None) -> list[str]:
    """The bindings an import statement makes, one text each: `from m import a, b`
    binds the same as `from m import a` and `from m import b`. A module `renames`
    maps (its dotted name or, relative, its last part) is named as renamed."""
    if isinstance(statement, ast.Import):
        return [f"import {_renamed(a.name, renames)} as {a.asname}" for a in statement.names]
    where = "." * statement.level + _renamed(statement.module or "", renames)
    return [f"from {where} import {a.name} as {a.asname}" for a in statement.names]


def _renamed(module: str, renames: Renames | None) -> str:
    if not renames or not module:
        return module
    for old, new in renames.items():
        if module == old or module.endswith("." + old):
            return module[: len(module) - len(old)] + new
    return module


def _digest_of(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _sorted_imports(body: list[ast.stmt]) -> list[ast.stmt]:
    """Each run of consecutive import statements in a stable order, one statement per
    name (their order and grouping are formatting; isort and ruff rewrite them)."""
    result: list[ast.stmt] = []
    run: list[ast.stmt] = []
    for statement in [*body, None]:
        if isinstance(statement, _IMPORTS):
            run += [ast.Expr(ast.Constant(name)) for name in _imported(statement)]
            continue
        result += sorted(run, key=ast.dump)
        run = []
        if statement is not None:
            result.append(statement)
    return result


def region(old: bytes, new: bytes) -> tuple[bytes, bytes] | None:
    """The parts of two versions that differ, widened to whole top-level statements
    (from a line that starts one, decorators included, to the next line that starts
    one after the change): comparing them is comparing the files, for the cost of
    the change, not of the file. None when that is the whole of both."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    shortest = min(len(before), len(after))
    same_start = 0
    while same_start < shortest and before[same_start] == after[same_start]:
        same_start += 1
    same_end = 0
    while same_end < shortest - same_start and before[-1 - same_end] == after[-1 - same_end]:
        same_end += 1
    start = same_start - 1
    while start > 0 and not _opens(before, start):
        start -= 1
    while start > 0 and before[start - 1].startswith(b"@"):
        start -= 1  # a decorator belongs to what it decorates
    start = max(start, 0)
    stop = len(before) - same_end
    while stop < len(before) and not _opens(before, stop):
        stop += 1
    if start == 0 and stop == len(before):
        return None
    cut = len(after) - len(before)
    if any(b"version_info" in line for line in before[start:stop]) or any(
        line.startswith((b"import ", b"from "))
        for line in (*before[start:stop], *after[start : stop + cut])
    ):
        return None  # whether a name is read elsewhere: `_sys_unused`, `_for_annotations`
    return b"".join(before[start:stop]), b"".join(after[start : stop + cut])


def _opens(lines: list[bytes], index: int) -> bool:
    """Whether line `index` may start a top-level statement: code at column 0, not a
    closing bracket, a string or the continuation of a compound statement. A wrong
    guess leaves a part that does not parse (the files are compared whole)."""
    line = lines[index]
    if not line[:1].isalpha() and line[:1] not in (b"_", b"@"):
        return False
    if index > 0 and lines[index - 1].rstrip().endswith(b"\\"):
        return False
    return not line.startswith((b"else", b"elif", b"except", b"finally"))
