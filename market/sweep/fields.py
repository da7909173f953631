"""Dotted field paths into a scenario: ``information.token_rate``, ``policies[1].count``.

A path is a tuple of keys (str) and list indices (int). :func:`parse_field` reads one,
:func:`field_text` writes it back, and :func:`with_value` returns a scenario dictionary with
one field replaced, copying only the tables and lists along the path (the base is never
changed). Missing tables along the path are created (the scenario's schema then says whether
the key is allowed); a list index must exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FieldError", "field_text", "parse_field", "related", "with_value"]

#: One key of a path with its list indices: ``components[0]``.
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")

Path = tuple[str | int, ...]


class FieldError(ValueError):
    """A path that is not well formed or does not fit the scenario (the message says why)."""


def parse_field(text: Any) -> Path:
    """``"urgency.components[0].weight"`` -> ``("urgency", "components", 0, "weight")``."""
    if not isinstance(text, str) or not text:
        raise FieldError("expected a dotted path into the scenario, e.g. 'urgency.high'")
    path: list[str | int] = []
    for step in text.split("."):
        match = _STEP.fullmatch(step)
        if match is None:
            raise FieldError(
                "expected a dotted path into the scenario, e.g. 'urgency.high' or "
                "'policies[1].count'"
            )
        path.append(match.group(1))
        path.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(path)


def field_text(path: Path) -> str:
    """The inverse of :func:`parse_field`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def with_value(base: Mapping, path: Path, value: Any) -> dict:
    """A copy of ``base`` whose field at ``path`` is ``value`` (``base`` is not changed).

    Raises
    ------
    FieldError
        When the path goes through a value that is not a table or a list, or past the end
        of a list.
    """
    return _set(base, path, value, ())


def _set(node: Any, path: Path, value: Any, done: Path) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    where = field_text(done) or "the scenario"
    if isinstance(head, int):
        if node is None:
            raise FieldError(f"{where} is missing (no list to index)")
        if not isinstance(node, list):
            raise FieldError(f"{where} is {_kind(node)}, not a list")
        if head >= len(node):
            raise FieldError(f"{where} has {len(node)} item(s); index {head} is out of range")
        copy = list(node)
        copy[head] = _set(node[head], rest, value, (*done, head))
        return copy
    if node is None:
        node = {}
    if not isinstance(node, Mapping):
        raise FieldError(f"{where} is {_kind(node)}, not a table")
    copy = dict(node)
    copy[head] = _set(node.get(head), rest, value, (*done, head))
    return copy


def _kind(node: Any) -> str:
    if isinstance(node, list):
        return "a list"
    if isinstance(node, bool):
        return "true/false"
    if isinstance(node, int | float):
        return f"a number ({node!r})"
    if isinstance(node, str):
        return f"a string ({node!r})"
    return type(node).__name__


def related(a: Path, b: Path) -> int:
    """How many leading steps two paths share (``urgency.low`` and ``urgency.high``: 1)."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
