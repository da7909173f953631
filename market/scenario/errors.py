"""The error messages of scenario files: one line per problem, every problem at once.

A problem reads ``<file>: <field> = <value>: expected <what>``, e.g.
``paper.toml: information.token_rate = -1: expected a number > 0``. A misspelt key is named as
unknown, with the nearest valid key suggested:
``paper.toml: urgency.distrbution: unknown key; did you mean 'distribution'?``.
:func:`problems` turns pydantic's errors into such lines (at most :data:`MAX_PROBLEMS`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

__all__ = ["MAX_PROBLEMS", "ScenarioError", "fail", "one_line", "problems", "show"]

#: At most this many problems are listed; the rest are counted.
MAX_PROBLEMS = 10
#: A value longer than this is shortened in error messages.
MAX_SHOWN = 80
#: Loc entries pydantic inserts for the branch of a tagged union; not keys of the file.
UNION_TAGS = frozenset({"uniform", "truncnorm", "beta", "mixture", "function-after"})


class ScenarioError(ValueError):
    """A scenario that cannot be read or is not valid: one line per problem.

    ``problems`` holds the lines (each naming the file); ``str()`` joins them.
    """

    def __init__(self, *problems: str):
        self.problems = tuple(one_line(p) for p in problems) or ("invalid scenario",)
        super().__init__("\n".join(self.problems))


def fail(what: str, field: tuple | str | int = (), value: Any = ...) -> PydanticCustomError:
    """An error for :func:`problems`: ``<loc>.<field> = <value>: <what>``."""
    field = (field,) if isinstance(field, str | int) else tuple(field)
    return PydanticCustomError("scenario", "{what}", {"what": what, "field": field, "value": value})


_EXPECTED = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string (quoted text)",
    "string_too_short": "expected a non-empty string",
    "list_type": "expected a list [...]",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dict_type": "expected a table",
    "bool_type": "expected true or false",
}


def problems(errors: list[dict], raw: Any, fields_of) -> list[str]:
    """One line per pydantic error (unknown keys before missing ones they explain).

    ``raw`` is the parsed file; ``fields_of(loc)`` returns the keys allowed at a table's loc
    (for the suggestions), or None.
    """
    lines: list[str] = []
    suggested: set[tuple] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            lines.append(_unknown(err["loc"], fields_of))
            close = _nearest(str(err["loc"][-1]), fields_of(tuple(err["loc"][:-1])) or ())
            if close:
                suggested.add((*_keys(err["loc"][:-1]), close))
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            continue
        if err["type"] == "missing" and _keys(loc) in suggested:
            continue  # the misspelt key already explains it
        if err["type"] == "union_tag_not_found":
            typo = _misspelt(_at(raw, loc), "distribution")
            if typo is not None:
                lines.append(f"{_path([*loc, typo])}: unknown key; did you mean 'distribution'?")
                continue
        lines.append(format_error(err))
    unique = list(dict.fromkeys(lines))
    if len(unique) > MAX_PROBLEMS:
        more = len(unique) - MAX_PROBLEMS + 1
        unique = [*unique[: MAX_PROBLEMS - 1], f"... and {more} more problems"]
    return unique


def _keys(loc) -> tuple:
    return tuple(p for p in loc if p not in UNION_TAGS)


def _at(raw: Any, loc: tuple) -> Any:
    """The value of the file at a pydantic loc (union tags skipped), or None."""
    node = raw
    for part in _keys(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _nearest(key: str, allowed) -> str | None:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return close[0] if close else None


def _misspelt(table: Any, wanted: str) -> str | None:
    """A key of ``table`` that looks like ``wanted`` (and is not it)."""
    if not isinstance(table, Mapping) or wanted in table:
        return None
    for key in table:
        if _nearest(str(key), [wanted]):
            return str(key)
    return None


def _unknown(loc, fields_of) -> str:
    key = str(loc[-1])
    allowed = fields_of(tuple(loc[:-1])) or ()
    close = _nearest(key, allowed)
    hint = f"did you mean {close!r}?" if close else f"expected one of: {', '.join(allowed)}"
    return f"{_path(list(loc))}: unknown key; {hint}"


def format_error(err: dict) -> str:
    """One line for a pydantic error: ``<path> = <value>: expected <what>``."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, list(err["loc"])
    if kind == "scenario":
        loc += list(ctx["field"])
        if ctx["value"] is ...:
            return f"{_path(loc)}: {ctx['what']}"
        return f"{_path(loc)} = {show(ctx['value'])}: {ctx['what']}"
    path = _path(loc)
    if kind == "missing":
        return f"{path}: missing (required)"
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tags = _expected_tags(loc)
        if kind == "union_tag_not_found":
            return f"{path}.distribution: missing (required: one of {tags})"
        return f"{path}.distribution = {show(ctx['tag'])}: expected one of {tags}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(ctx[k] for k in ("gt", "ge", "lt", "le") if k in ctx)
        sign = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        what = f"expected a number {sign} {bound:g}"
    elif kind == "literal_error":
        what = f"expected {ctx['expected']}"
    elif kind == "too_short":
        what = f"expected at least {ctx['min_length']} item(s)"
    else:
        what = _EXPECTED.get(kind, one_line(err["msg"]))
    return f"{path} = {show(err['input'])}: {what}"


def _expected_tags(loc: list) -> str:
    kinds = ["'uniform'", "'truncnorm'", "'beta'"]
    return ", ".join(kinds if "components" in loc else [*kinds, "'mixture'"])


def _path(loc: list) -> str:
    """A pydantic loc as a dotted path without union tags.

    ``('urgency', 'mixture', 'components', 0, 'uniform', 'low')`` -> ``urgency.components[0].low``.
    """
    out = ""
    for part in _keys(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Verbatim(str):
    """A value already written as the file would write it (shown as is, not quoted)."""


def show(value: Any) -> str:
    """A value as it would be written in TOML, shortened to :data:`MAX_SHOWN` characters."""
    text = _toml(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _toml(value: Any) -> str:
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return (
            "[" + ", ".join(_toml(v) for v in value[:20]) + (", ...]" if len(value) > 20 else "]")
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return one_line(repr(value) if isinstance(value, int | float) else str(value))


def one_line(text: str) -> str:
    return " ".join(str(text).split())
