"""Gitignore-style path globs, compiled once (pathspec does the matching).

We use pathspec rather than fnmatch because users write these globs the way they
write .gitignore: `docs/*.md` does not match `docs/deep/x.md`, `**` crosses folders,
a pattern without a slash matches at any depth, `!` negates.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pathspec


class Globs:
    """A compiled list of gitignore-style patterns; paths are repo-relative, `/`-separated."""

    __slots__ = ("_spec", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self._spec: pathspec.GitIgnoreSpec | None = None
        if self.patterns:
            # imported here: it takes 10 ms to load, and most runs have no pattern
            import pathspec

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, path: str) -> bool:
        return self._spec is not None and bool(self._spec.match_file(path))


@lru_cache(maxsize=256)
def compiled(patterns: tuple[str, ...]) -> Globs:
    """The same patterns compile once per process, however many gates use them."""
    return Globs(patterns)
