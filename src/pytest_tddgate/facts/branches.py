"""Branch probes: which way each branch went, told to coverage.py as its own arcs.

coverage.py measures branches as arcs, pairs of lines one after the other in a frame,
and calls a line with more than one possible exit a branch line (`if`, `for`, `while`,
`case`, and a `def` or `class` whose body shares its line). A tracer sees every arc;
probes see sides. Before the probes of facts/probes.py are added, each branch of the
tree gets one probe per side, which adds `2 * line + side` to the file's set when that
side starts:

- side 1, the body: the first statement of the body runs (for a `case`, its body);
- side 0, the other way: the `else` part runs; one is added where there was none (a
  loop's `else` runs when the loop ends without `break`, exactly coverage.py's exit
  arc); for a `case`, a later case's body or no case matching; for a one-line `def`
  or `class`, the statement itself runs (defining it), as opposed to its body.

`to_arcs` turns the sides back into arcs with coverage.py's own parser of the file:
of the arcs it says the branch line can take, side 1 is the arc to where the body
starts (`bodies`, noted while instrumenting: the body's first line, or for a body on
the header's line the exit of its code object), side 0 every other one. Lines become
arcs `(-line, line)`, which coverage.py reads as the line run and never as a branch.
coverage.py's analysis then judges the arcs as it judges a tracer's: its exclusions,
`# pragma: no branch`, partial branches. benchmarks/probe_equivalence.py compares
the two on whole test suites.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

# statements that compile to nothing: control never stops at them (see `_has_code`)
_NO_CODE = (ast.Global, ast.Nonlocal)
# a body on the header's line that ends so: its exit is known (see `_same_line`)
_ENDS = (ast.Return, ast.Raise)

# branch line -> where side 1 goes and where side 0 goes, each None when it cannot be
# told from the tree (see `_same_line`; side 0 is known with an `else` or a next line),
# and whether both sides taken means every arc taken: not so for a jump out of a `try`
# or `with`, which coverage.py's tracer sees leave through the block's exit instead
Destinations = tuple[int | None, int | None, bool]
Bodies = dict[int, Destinations]


def instrument_branches(tree: ast.Module, name: str) -> Bodies:
    """Add the side probes (adding to the set called `name`) to the tree, in place;
    returns the branch lines' body destinations."""
    brancher = _Brancher(name)
    brancher.visit(tree)
    return brancher.bodies


def _bodies(node: ast.AST) -> list[list[ast.stmt]]:
    found = [getattr(node, f, None) for f in ("body", "orelse", "finalbody")]
    found += [h.body for h in getattr(node, "handlers", ())]
    found += [c.body for c in getattr(node, "cases", ())]
    return [b for b in found if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]


def _block_end(node: ast.AST, body: list[ast.stmt]) -> int | None:
    """Where control goes when `body` (a block of `node`) ends without a jump, as
    coverage.py's arcs have it; None where that takes its analysis (`try`, `with`,
    `match`: left to coverage.py's parser, see `to_arcs`)."""
    if isinstance(node, ast.Module):
        return -1
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return -_first(node)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return node.lineno if body is node.body else getattr(node, "_tddgate_next", None)
    if isinstance(node, ast.If):
        return getattr(node, "_tddgate_next", None)
    return None


def is_probe(statement: ast.stmt) -> bool:
    """A statement this module added: the line probes leave it alone."""
    return getattr(statement, "_tddgate_probe", False) is True


def probe(
    name: str, values: Iterable[int], at: ast.stmt | ast.pattern | ast.excepthandler
) -> ast.stmt:
    """`<name>.add(v)` (or `.update((v1, v2))`), placed on the first line of `at`.

    Every node gets its position here: `ast.fix_missing_locations` would also give
    end lines to nodes pytest's assertion rewriting leaves without (its imports), and
    give them wrong ones, which `compile` refuses."""
    numbers = sorted(set(values))
    method = "add" if len(numbers) == 1 else "update"
    argument: ast.expr = (
        ast.Constant(numbers[0])
        if len(numbers) == 1
        else ast.Tuple([ast.Constant(n) for n in numbers], ast.Load())
    )
    call = ast.Expr(ast.Call(ast.Attribute(ast.Name(name, ast.Load()), method, ast.Load()),
                             [argument], []))  # fmt: skip
    for node in ast.walk(call):  # one line, whatever `at` spans
        node.lineno = node.end_lineno = at.lineno  # type: ignore[attr-defined]
        node.col_offset = node.end_col_offset = at.col_offset  # type: ignore[attr-defined]
    call._tddgate_probe = True  # type: ignore[attr-defined]
    return call


def _has_code(statement: ast.stmt, *, in_function: bool) -> bool:
    """Whether control stops at `statement`: coverage.py takes its statements from the
    compiled code, and the compiler emits nothing for `global`, `nonlocal`, or a bare
    annotation of a name in a function (`x: int`, never evaluated there)."""
    if isinstance(statement, _NO_CODE):
        return False
    return not (
        in_function
        and isinstance(statement, ast.AnnAssign)
        and statement.value is None
        and isinstance(statement.target, ast.Name)
    )


def _first(statement: ast.stmt) -> int:
    """The line coverage.py gives a statement: a decorated one starts at its decorator."""
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(d.lineno for d in decorators)])


def irrefutable(pattern: ast.pattern) -> bool:
    """A `case` pattern that matches anything (`_`, a bare name, an `or` of one)."""
    if isinstance(pattern, ast.MatchAs):
        return pattern.pattern is None or irrefutable(pattern.pattern)
    if isinstance(pattern, ast.MatchOr):
        return any(irrefutable(p) for p in pattern.patterns)
    return False


def elif_of(node: ast.If) -> ast.If | None:
    """The `if` that is all of `node`'s `else` (an `elif`, or `else:` + `if` alone,
    which compiles the same), besides probes; None when there is none."""
    rest = [s for s in node.orelse if not is_probe(s)]
    if len(rest) == 1 and isinstance(rest[0], ast.If) and node.orelse[-1] is rest[0]:
        return rest[0]
    return None


def is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


class _Brancher(ast.NodeVisitor):
    """Adds the side probes, depth first; knows the code object and loop it is in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bodies: Bodies = {}
        self._starts = [1]  # the first line of each enclosing code object (module: 1)
        self._functions = [False]  # whether each of those code objects is a function
        # the enclosing loops: their header line, and the line after them (None: the
        # loop is the last statement of its block)
        self._loops: list[tuple[int, int | None, int]] = []  # + `_blocks` at the loop
        # `try` and `with` blocks around this point in the code object: a jump out of
        # them passes through their exits first (a `finally`, a handler, the `with` line)
        self._blocks = 0

    # -- code objects: a one-line body is a branch of its own ------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._code_object(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._code_object(node)

    def _code_object(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        start = _first(node)
        self._starts.append(start)
        self._functions.append(not isinstance(node, ast.ClassDef))
        loops, self._loops = self._loops, []
        blocks, self._blocks = self._blocks, 0
        try:
            self.generic_visit(node)
        finally:
            self._starts.pop()
            self._functions.pop()
            self._loops = loops
            self._blocks = blocks
        if node.body[0].lineno == node.lineno:  # `def f(): ...`: defining, or running it
            self.bodies[node.lineno] = (-start, getattr(node, "_tddgate_next", None), True)
            at = 1 if is_docstring(node.body[0]) else 0
            node.body.insert(at, probe(self.name, [2 * node.lineno + 1], node.body[0]))
            node._tddgate_defined = 2 * node.lineno  # type: ignore[union-attr]

    def generic_visit(self, node: ast.AST) -> None:
        bodies = self._follow(node)
        # statements only: branches are statements, and expressions hold none (a visit
        # of every expression node cost a third of the import time on click's tests)
        for body in bodies:
            for statement in list(body):
                self.visit(statement)
        self._after(node)

    def _follow(self, node: ast.AST) -> list[list[ast.stmt]]:
        """Notes where each statement of `node`'s blocks goes on after it; returns the
        blocks."""
        bodies = _bodies(node)
        for body in bodies:
            after = _block_end(node, body)
            for statement in reversed(body):
                statement._tddgate_next = after  # type: ignore[attr-defined]
                if _has_code(statement, in_function=self._functions[-1]):
                    after = _first(statement)
        return bodies

    def _after(self, node: ast.AST) -> None:
        """Side 0 of a one-line `def` / `class` in `node`'s blocks: the statement runs,
        in its own body."""
        for body in _bodies(node):
            self._defined(body)

    def _defined(self, body: list[ast.stmt]) -> None:
        out: list[ast.stmt] = []
        for statement in body:
            side = getattr(statement, "_tddgate_defined", None)
            if side is not None:
                out.append(probe(self.name, [side], statement))
            out.append(statement)
        body[:] = out

    # -- if, loops, match -------------------------------------------------------------

    def visit_If(self, node: ast.If) -> None:
        # an `elif` is an `if` alone in the `else` of the one before: a chain of them
        # is walked in a loop, in the order a recursive visit would take, since
        # generated parsers and tables have chains of thousands (deeper than Python's
        # recursion limit)
        chain = [node]
        while True:
            current = chain[-1]
            self._follow(current)
            for statement in list(current.body):
                self.visit(statement)
            following = elif_of(current)
            if following is None:
                for statement in list(current.orelse):
                    self.visit(statement)
                break
            chain.append(following)
        for current in reversed(chain):
            self._after(current)
            self._two_ways(current)

    def visit_For(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        self._loops.append((node.lineno, getattr(node, "_tddgate_next", None), self._blocks))
        try:
            self.generic_visit(node)
        finally:
            self._loops.pop()
        self._two_ways(node)

    visit_AsyncFor = visit_For
    visit_While = visit_For

    def visit_Try(self, node: ast.Try | ast.With | ast.AsyncWith) -> None:
        self._blocks += 1
        try:
            self.generic_visit(node)
        finally:
            self._blocks -= 1

    visit_TryStar = visit_Try
    visit_With = visit_Try
    visit_AsyncWith = visit_Try

    def _two_ways(self, node: ast.If | ast.For | ast.AsyncFor | ast.While) -> None:
        line = node.lineno
        other = self._entry(node.orelse) if node.orelse else getattr(node, "_tddgate_next", None)
        self.bodies[line] = (self._destination(line, node.body), other, not self._blocks)
        node.body.insert(0, probe(self.name, [2 * line + 1], node.body[0]))
        if node.orelse:
            node.orelse.insert(0, probe(self.name, [2 * line], node.orelse[0]))
        else:
            node.orelse = [probe(self.name, [2 * line], node)]

    def visit_Match(self, node: ast.Match) -> None:
        self.generic_visit(node)
        # cases are tried in order: a case's body running means every earlier case
        # went the other way; no case matching means every one did
        tried: list[int] = []
        after = [c.pattern.lineno for c in node.cases[1:]] + [getattr(node, "_tddgate_next", None)]
        for case, other in zip(node.cases, after, strict=True):
            line = case.pattern.lineno
            body = self._destination(line, case.body)
            self.bodies[line] = (body, other, not self._blocks)
            case.body.insert(0, probe(self.name, [*tried, 2 * line + 1], case.body[0]))
            tried.append(2 * line)
        last = node.cases[-1]
        if last.guard is None and irrefutable(last.pattern):
            return  # the last case always matches: no way past it
        fallthrough = probe(self.name, tried, last.pattern)
        fallback = ast.match_case(ast.MatchAs(), None, [fallthrough])
        node.cases.append(ast.copy_location(fallback, last.pattern))
        ast.copy_location(fallback.pattern, last.pattern)

    def _destination(self, line: int, body: list[ast.stmt]) -> int | None:
        """Where coverage.py's arc for the body goes from `line`."""
        if body[0].lineno != line:
            return self._entry(body)
        return self._same_line(body)

    def _entry(self, body: list[ast.stmt]) -> int | None:
        """The line control enters `body` at: its first statement with code, or where
        the block goes on after it when it has none (`x: int` alone)."""
        first = body[0]
        if _has_code(first, in_function=self._functions[-1]):
            return _first(first)
        return getattr(first, "_tddgate_next", None)

    def _same_line(self, body: list[ast.stmt]) -> int | None:
        """A body on the header's line (`if x: return 1`) has no line of its own: the
        arc goes where its last statement leaves to. Known for `return` / `raise` (the
        code object's exit), `continue` (the loop) and `break` (what follows the loop),
        when no `try` or `with` is in the way; None otherwise, which counts the branch as
        not taken (never as covered, see `to_arcs`)."""
        last = body[-1]
        if isinstance(last, _ENDS) and not self._blocks:
            return -self._starts[-1]
        if not self._loops or self._loops[-1][2] != self._blocks:
            return None
        if isinstance(last, ast.Continue):
            return self._loops[-1][0]
        if isinstance(last, ast.Break):
            return self._loops[-1][1]
        return None


def to_arcs(
    path: str, lines: Iterable[int], sides: Iterable[int], bodies: Mapping[int, Destinations]
) -> tuple[set[tuple[int, int]], list[int]]:
    """The arcs coverage.py would have measured, from the probes of one file; and the
    branch lines whose arcs could not be told apart (none of their arcs counts as
    taken: the numbers can be low, never high)."""
    arcs = {(-line, line) for line in lines}
    taken_sides: dict[int, set[int]] = {}
    for value in sides:
        line, side = divmod(value, 2)
        taken_sides.setdefault(line, set()).add(side)
    nowhere: Destinations = (None, None, False)
    known = {line: _known(both, bodies.get(line, nowhere)) for line, both in taken_sides.items()}
    # coverage.py's parser only where the tree did not tell: it costs as much as the
    # report's own analysis (a second of click's run)
    possible = _possible(path) if None in known.values() else {}
    unknown: list[int] = []
    for line, both in taken_sides.items():
        found = known[line]
        if found is None:
            found = _taken(possible.get(line, set()), both, bodies.get(line, nowhere))
        if found is None:
            unknown.append(line)
            continue
        arcs.update((line, end) for end in found)
    return arcs, sorted(unknown)


def _known(sides: set[int], where: Destinations) -> set[int] | None:
    """The arcs the sides taken stand for, when the tree told both ways' destination."""
    body, other, _ = where
    found = {body if side else other for side in sides}
    return None if None in found else found  # type: ignore[return-value]


def _possible(path: str) -> dict[int, set[int]]:
    from coverage.parser import PythonParser

    parser = PythonParser(filename=path)
    parser.parse_source()
    possible: dict[int, set[int]] = {}
    for start, end in parser.arcs():
        possible.setdefault(start, set()).add(end)
    return possible


def _taken(ends: set[int], sides: set[int], where: Destinations) -> set[int] | None:
    """The arcs of one branch line that the sides taken stand for (None: unknown)."""
    body, other, whole = where
    if len(ends) < 2 or (whole and sides == {0, 1}):  # no branch, or every way taken
        return set(ends)
    found: set[int] = set()
    for side in sides:
        if body is not None:
            found |= ends & {body} if side else ends - {body}
        elif other is not None:
            found |= ends - {other} if side else ends & {other}
        else:
            return None
    return found
