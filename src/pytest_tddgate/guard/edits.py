"""The file an edit tool would leave, computed from its `tool_input` as Claude Code
applies it (nothing is written): Write replaces the content, Edit replaces
`old_string` by `new_string` (every occurrence with `replace_all`), MultiEdit
applies its `edits` in order, NotebookEdit changes a notebook (not Python source).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Edit:
    """The target of an edit tool and the text it would leave (None: the tool would
    fail, e.g. `old_string` is not in the file, so nothing changes)."""

    path: str
    after: str | None


class EditInputError(Exception):
    """The tool input lacks what its tool needs; the message names it."""


def target(tool_name: str, tool_input: Mapping[str, Any]) -> str:
    """The path the tool writes, as given (absolute in Claude Code)."""
    key = "notebook_path" if tool_name == "NotebookEdit" else "file_path"
    value = tool_input.get(key)
    if not isinstance(value, str) or not value:
        raise EditInputError(f"{tool_name} input has no `{key}`")
    return value


def apply(tool_name: str, tool_input: Mapping[str, Any], before: str | None) -> Edit:
    """The edit of `tool_name` on a file whose text is `before` (None: no such file)."""
    path = target(tool_name, tool_input)
    if tool_name == "Write":
        content = tool_input.get("content")
        if not isinstance(content, str):
            raise EditInputError("Write input has no `content`")
        return Edit(path, content)
    if tool_name == "Edit":
        return Edit(path, _replace(before, tool_input))
    if tool_name == "MultiEdit":
        edits = tool_input.get("edits")
        if not isinstance(edits, list):
            raise EditInputError("MultiEdit input has no `edits` list")
        text = before
        for item in edits:
            if not isinstance(item, dict):
                raise EditInputError("each MultiEdit `edits` entry must be an object")
            text = _replace(text, item)
        return Edit(path, text)
    return Edit(path, None)  # NotebookEdit: a notebook is not judged as Python source


def _replace(text: str | None, item: Mapping[str, Any]) -> str | None:
    old, new = item.get("old_string"), item.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str):
        raise EditInputError("an edit needs `old_string` and `new_string`")
    if text is None:
        # Claude Code creates a file from an edit with an empty `old_string`
        return new if old == "" else None
    if old == "":
        return new if text == "" else None
    if old not in text:
        return None  # the tool fails and changes nothing
    if item.get("replace_all") is True:
        return text.replace(old, new)
    return text.replace(old, new, 1)
