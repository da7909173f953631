"""What each control of the dashboard edits, read off the scenario schema (``market.Scenario``).

The controls are not written by hand: every table of a scenario file is a pydantic model, and
each of its fields says what it holds (a number, an integer, one of a few words, a table, one
of several kinds of table, a list of them ...), whether it may be left out, its default and
the limits of its constraints (``Field(gt=0)``). :func:`table_fields` turns a model into a list
of :class:`FieldSpec`, and the controls (:mod:`market.dashboard.controls`) render each by its
``kind``. A table added to the schema (``[costs]``, ``[units]``, ...) therefore gets its
controls with no code here; :mod:`market.dashboard.hints` only adds the paper's symbols and
defaults where they help.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["MISSING", "Bounds", "FieldSpec", "scenario_fields", "table_fields"]

#: The default of a field that has none (it is required).
MISSING = PydanticUndefined

#: Kinds of field, by what the control edits.
KINDS = (
    "number",  # a float
    "integer",  # an int
    "flag",  # a bool
    "text",  # a str
    "choice",  # one of a few literals
    "numbers",  # a list of floats
    "matrix",  # a list of lists of floats
    "mapping",  # a table of names to floats
    "table",  # a nested table (a pydantic model)
    "variants",  # one of several tables, told apart by a tag key
    "tables",  # a list of tables (or of variants)
    "policies",  # the [[policies]] tables (validated by the policy layer)
    "other",  # anything else: shown, edited in the file
)


@dataclass(frozen=True)
class Bounds:
    """The limits of a field's constraints (``None``: no such limit)."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    min_items: int | None = None
    max_items: int | None = None

    def hint(self, kind: str = "") -> str:
        """The limits as a short text: ``> 0``, ``from 1 to 10``, ``at least 1 item``, and
        for a ``text`` (``kind``) ``1 to 12 characters``."""
        if kind == "text":
            low, high = self.min_items, self.max_items
            if low and high:
                return f"{low} to {high} characters"
            if low or high:
                return f"at {'least' if low else 'most'} {low or high} characters"
            return ""
        low = f"> {self.gt:g}" if self.gt is not None else None
        low = f">= {self.ge:g}" if self.ge is not None else low
        high = f"< {self.lt:g}" if self.lt is not None else None
        high = f"<= {self.le:g}" if self.le is not None else high
        if self.ge is not None and self.le is not None:
            return f"from {self.ge:g} to {self.le:g}"
        parts = [p for p in (low, high) if p]
        if self.min_items:
            parts.append(f"at least {self.min_items} item{'s' if self.min_items > 1 else ''}")
        return ", ".join(parts)


@dataclass(frozen=True)
class FieldSpec:
    """One key of a scenario table, as a control edits it.

    Attributes
    ----------
    key : str
        The key in the file (the field's alias if it has one: ``urgency``).
    kind : str
        One of :data:`KINDS`.
    required : bool
        The file must give it.
    optional : bool
        ``None`` is allowed: the key may be left out even without a default.
    default : object
        The schema's default, :data:`MISSING` if none.
    bounds : Bounds
        Limits from the field's constraints.
    choices : tuple
        The allowed values of a ``choice``.
    model : type or None
        The model of a ``table`` (or of the items of ``tables``).
    variants : dict or None
        Tag value -> model, for ``variants`` (or items of ``tables`` that are variants).
    tag : str or None
        The key that tells the variants apart (``distribution``).
    """

    key: str
    kind: str
    required: bool = False
    optional: bool = False
    default: Any = MISSING
    bounds: Bounds = field(default_factory=Bounds)
    choices: tuple = ()
    model: type | None = None
    variants: dict | None = None
    tag: str | None = None


def scenario_fields() -> list[FieldSpec]:
    """The top-level keys of a scenario file."""
    import market as mk

    return table_fields(mk.Scenario)


def table_fields(model: type[BaseModel]) -> list[FieldSpec]:
    """The keys of the table ``model``, in the schema's order."""
    out = []
    for name, info in model.model_fields.items():
        out.append(_spec(info.alias or name, info))
    return out


def _spec(key: str, info) -> FieldSpec:
    annotation, metadata = _unwrap(info.annotation)
    metadata = [*metadata, *info.metadata]
    annotation, optional = _without_none(annotation)
    default = info.default
    if info.default_factory is not None:
        default = info.default_factory()
    common = {
        "key": key,
        "required": info.is_required(),
        "optional": optional,
        "default": default,
        "bounds": _bounds(metadata),
    }
    tag = info.discriminator or _discriminator(metadata)
    return FieldSpec(**common, **_shape(key, annotation, tag))


def _shape(key: str, annotation, tag: str | None) -> dict:
    """``kind`` and what goes with it, for a (non-optional) annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return {"kind": "flag"}
    if annotation is int:
        return {"kind": "integer"}
    if annotation is float:
        return {"kind": "number"}
    if annotation is str:
        return {"kind": "text"}
    if origin is Literal:
        return {"kind": "choice", "choices": args}
    if _is_model(annotation):
        return {"kind": "table", "model": annotation}
    if _is_union(annotation) and tag and all(_is_model(a) for a in args):
        return {"kind": "variants", "variants": _variants(args, tag), "tag": tag}
    if origin is list and args:
        return _list_shape(key, args[0])
    if origin is dict and args == (str, float):
        return {"kind": "mapping"}
    return {"kind": "other"}


def _list_shape(key: str, item) -> dict:
    item, metadata = _unwrap(item)
    if item is float:
        return {"kind": "numbers"}
    if typing.get_origin(item) is list and typing.get_args(item) == (float,):
        return {"kind": "matrix"}
    if item is dict or typing.get_origin(item) is dict:
        return {"kind": "policies" if key == "policies" else "other"}
    if _is_model(item):
        return {"kind": "tables", "model": item}
    tag = _discriminator(metadata)
    args = typing.get_args(item)
    if _is_union(item) and tag and all(_is_model(a) for a in args):
        return {"kind": "tables", "variants": _variants(args, tag), "tag": tag}
    return {"kind": "other"}


def _variants(models, tag: str) -> dict:
    """Tag value -> model (the value of each model's ``Literal`` tag field)."""
    out = {}
    for model in models:
        (value,) = typing.get_args(model.model_fields[tag].annotation)
        out[value] = model
    return out


def _unwrap(annotation) -> tuple[Any, list]:
    """``Annotated[X, m...]`` -> ``(X, [m...])`` (FieldInfo metadata flattened)."""
    metadata: list = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            metadata.extend([item, *getattr(item, "metadata", [])])
    return annotation, metadata


def _without_none(annotation) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``."""
    if not _is_union(annotation):
        return annotation, False
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == len(typing.get_args(annotation)):
        return annotation, False
    return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # noqa: UP007


def _discriminator(metadata) -> str | None:
    for item in metadata:
        tag = getattr(item, "discriminator", None)
        if isinstance(tag, str):
            return tag
    return None


def _bounds(metadata) -> Bounds:
    found = {}
    for item in metadata:
        for name in ("gt", "ge", "lt", "le"):
            value = getattr(item, name, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[name] = float(value)
        if getattr(item, "min_length", None) is not None:
            found["min_items"] = int(item.min_length)
        if getattr(item, "max_length", None) is not None:
            found["max_items"] = int(item.max_length)
    return Bounds(**found)


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
