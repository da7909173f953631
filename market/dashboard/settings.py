"""The dashboard's settings: a scenario as the dictionary its TOML file would hold.

The controls edit one plain dictionary (what ``tomllib`` would read from the file); it is
validated by the public API (``market.scenario_from_dict``) on every change, and its problems,
one line each, are attributed to the controls by the field path each line names
(``urgency.high = 0.5: expected ...`` goes beside the control of ``urgency.high``). Nothing
here knows Solara: these are pure functions of dictionaries, tested as such.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from market.dashboard import hints
from market.dashboard.fields import MISSING, FieldSpec, table_fields

__all__ = [
    "Checked",
    "Problem",
    "check",
    "messages_for",
    "stray_messages",
    "dotted",
    "drop_at",
    "first_value",
    "get_at",
    "parse_text",
    "parse_toml",
    "set_at",
    "show_value",
]

#: What names the settings in the messages of the schema (stripped beside a control).
SOURCE = "dashboard"

#: A field path at the start of a problem: ``urgency.components[0].low``.
_WHERE = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*)(?= = |: | \()")


# -- reading and writing a path ---------------------------------------------------------------


def get_at(data: Any, path: tuple, default: Any = None) -> Any:
    """The value at ``path`` (keys and list indices), or ``default``."""
    node = data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return default
    return node


def set_at(data: Mapping, path: tuple, value: Any) -> dict:
    """A copy of ``data`` with ``value`` at ``path`` (missing tables created)."""
    out = copy.deepcopy(dict(data))
    node = out
    for part, nxt in zip(path[:-1], path[1:], strict=True):
        child = node[part] if _has(node, part) else None
        if not isinstance(child, dict | list):
            child = [] if isinstance(nxt, int) else {}
            node[part] = child
        node = child
    node[path[-1]] = value
    return out


def drop_at(data: Mapping, path: tuple) -> dict:
    """A copy of ``data`` without the key at ``path`` (empty tables left out too)."""
    out = copy.deepcopy(dict(data))
    parent = get_at(out, path[:-1]) if len(path) > 1 else out
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
        if not parent and len(path) > 1 and not isinstance(path[-2], int):
            return drop_at(out, path[:-1])
    return out


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


# -- text <-> values --------------------------------------------------------------------------


def parse_text(kind: str, text: str) -> Any:
    """The value a control's text stands for; None for an empty text. Text that is not a
    value of ``kind`` is kept as it is, so that the schema names the problem."""
    text = text.strip()
    if not text:
        return None
    if kind == "number":
        return _float(text)
    if kind == "integer":
        value = _float(text)
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if kind == "numbers":
        values = [_float(part) for part in re.split(r"[,\s]+", text.strip("[] ")) if part]
        return values if all(isinstance(v, float) for v in values) else text
    if kind == "matrix":
        rows = [row for row in re.split(r"[;\n]+", text) if row.strip()]
        matrix = [parse_text("numbers", row) for row in rows]
        return matrix if all(isinstance(r, list) for r in matrix) else text
    if kind == "mapping":
        return _mapping(text)
    return text


def _float(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _mapping(text: str) -> dict | str:
    out = {}
    for item in re.split(r"[,;\n]+", text.strip("{} ")):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        number = _float(value.strip())
        if not sep or not key.strip() or isinstance(number, str):
            return text
        out[key.strip()] = number
    return out


def show_value(kind: str, value: Any) -> str:
    """The text of a value in its control (the inverse of :func:`parse_text`)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if kind == "numbers" and isinstance(value, list):
        return ", ".join(show_value("number", v) for v in value)
    if kind == "matrix" and isinstance(value, list):
        return "; ".join(show_value("numbers", row) for row in value)
    if kind == "mapping" and isinstance(value, dict):
        return ", ".join(f"{k} = {show_value('number', v)}" for k, v in value.items())
    return str(value)


# -- first values -----------------------------------------------------------------------------


def first_value(spec: FieldSpec, path: tuple, table: Mapping) -> Any:
    """A value for a key the settings do not give yet: a hint's, the schema's default, or
    one inside the field's limits."""
    hinted = hints.default_for(path, table)
    if hinted is not None:
        return hinted
    if spec.default is not MISSING and spec.default is not None:
        default = spec.default
        return default.model_dump() if hasattr(default, "model_dump") else copy.deepcopy(default)
    return _inside_limits(spec, path)


def _inside_limits(spec: FieldSpec, path: tuple) -> Any:
    b = spec.bounds
    if spec.kind in ("number", "integer"):
        low = b.ge if b.ge is not None else (b.gt + 1.0 if b.gt is not None else 1.0)
        high = b.le if b.le is not None else b.lt
        value = low if high is None or low <= high else high
        return int(math.ceil(value)) if spec.kind == "integer" else float(value)
    if spec.kind == "choice":
        return spec.choices[0]
    if spec.kind in ("table", "variants"):
        return filled(spec, path, None)
    if spec.kind == "tables":
        return [filled(spec, (*path, 0), None)]
    empty = {"flag": False, "text": "", "numbers": [1.0], "matrix": [[1.0]], "mapping": {}}
    return copy.deepcopy(empty.get(spec.kind))


def filled(spec: FieldSpec, path: tuple, tag: Any) -> dict:
    """A table of ``spec`` (its variant ``tag``, else the first) with its required keys (and
    the first keys :func:`market.dashboard.hints.first_table` gives an optional table)."""
    model = spec.model
    table: dict = hints.first_table(path)
    if spec.variants:
        tag = tag if tag in spec.variants else next(iter(spec.variants))
        model, table = spec.variants[tag], {spec.tag: tag}
    for child in table_fields(model):
        if child.required and child.key not in table:
            table[child.key] = first_value(child, (*path, child.key), table)
    return table


# -- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One line of a scenario's problems: the field path it names (``""`` if none) and the
    line without the name of the source."""

    where: str
    text: str


def dotted(path: tuple) -> str:
    """``("urgency", "components", 0, "low")`` -> ``"urgency.components[0].low"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problem_of(line: str, source: str = SOURCE) -> Problem:
    text = line.removeprefix(f"{source}: ")
    found = _WHERE.match(text)
    return Problem(found.group(1) if found else "", text)


@dataclass(frozen=True)
class Checked:
    """The settings validated: the scenario (None if invalid) and its problems.

    ``key`` identifies the settings (equal settings, equal keys).
    """

    key: str
    scenario: Any
    problems: tuple[Problem, ...]


def key_of(data: Mapping) -> str:
    return json.dumps(data, sort_keys=True, default=repr)


def check(data: Mapping, default_name: str | None = None) -> Checked:
    """Validate the settings with the public API; problems one line each, never raised."""
    import market as mk

    try:
        scenario = mk.scenario_from_dict(data, SOURCE, default_name=default_name)
    except mk.ScenarioError as exc:
        return Checked(key_of(data), None, tuple(problem_of(p) for p in exc.problems))
    except Exception as exc:  # noqa: BLE001 - a problem is shown, never a traceback
        return Checked(key_of(data), None, (Problem("", f"{type(exc).__name__}: {exc}"),))
    return Checked(key_of(data), scenario, ())


def parse_toml(text: str, name: str) -> tuple[dict | None, str | None]:
    """The settings a scenario file's text holds, or None and the one-line reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, f"{name}: invalid TOML: {' '.join(str(exc).split())}"
    return data, None


def messages_for(problems, path: tuple) -> list[str]:
    """The problems to show beside the control of ``path``: those naming it, and those of its
    table whose expectation names its key (``expected low < high = 0.5`` beside ``high``)."""
    where, parent = dotted(path), dotted(path[:-1])
    key = re.escape(str(path[-1]))
    out = []
    for p in problems:
        _, _, expected = p.text.partition(": ")
        named = p.where == where
        sibling = p.where.rpartition(".")[0] == parent and re.search(rf"\b{key}\b", expected)
        if named or (sibling and not isinstance(path[-1], int)):
            out.append(p.text)
    return out


def stray_messages(problems, path: tuple, keys) -> list[str]:
    """Problems of the table at ``path`` that no control of its ``keys`` shows: the table's
    own, and those of keys it does not have (a misspelt key in a loaded file)."""
    prefix = dotted(path)
    out = []
    for p in problems:
        if prefix and not (p.where == prefix or p.where.startswith(prefix + ".")):
            continue
        rest = p.where[len(prefix) :].lstrip(".") if prefix else p.where
        first = re.split(r"[.\[]", rest, maxsplit=1)[0]
        shown = any(messages_for([p], (*path, key)) for key in keys)
        if (not rest or first not in keys) and not shown:
            out.append(p.text)
    return out
