"""Edits of the settings a control makes, as pure functions ``settings -> settings``.

Setting a key to the schema's default leaves it out of the file; a choice that decides whether
another key applies (``entropy = "mahalanobis"`` and ``matrix``) adds or drops that key; a new
kind of urgency law keeps the keys it shares with the old one and fills the others; the
``[[policies]]`` compared are a subset of the scenario's own (or of the default set).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from market.dashboard import hints
from market.dashboard.fields import MISSING, FieldSpec, table_fields
from market.dashboard.settings import drop_at, filled, first_value, get_at, set_at

__all__ = [
    "Candidate",
    "candidates_of",
    "resize_prior",
    "resize_tables",
    "select_policies",
    "selected_names",
    "set_field",
    "switch_variant",
]

#: Most states the prior control edits one by one (beyond: the list as text).
MAX_STATES = 8


def set_field(data: Mapping, path: tuple, spec: FieldSpec, value) -> dict:
    """``value`` at ``path`` (None, or the default of a key that has one: left out), then
    the keys of the same table that apply only with some values of it added or dropped."""
    default = spec.default
    is_default = default is not MISSING and not spec.required and value == default
    if value is None or (is_default and not hasattr(default, "model_dump")):
        out = drop_at(data, path)
    else:
        out = set_at(data, path, value)
    return _dependents(out, path)


def _dependents(data: dict, path: tuple) -> dict:
    for key in hints.dependents(path):
        target = (*path[:-1], key)
        table = get_at(data, path[:-1], {}) or {}
        if not hints.visible(target, table):
            data = drop_at(data, target) if key in table else data
        elif key not in table:
            value = hints.default_for(target, table)
            data = data if value is None else set_at(data, target, value)
    return data


def switch_variant(data: Mapping, path: tuple, spec: FieldSpec, tag) -> dict:
    """The table at ``path`` as the variant ``tag``: the keys both variants have are kept,
    the required ones it lacks filled (a mixture starts from the old law as its component)."""
    old = get_at(data, path) or {}
    if isinstance(old.get("components"), list) and old["components"]:
        old = old["components"][0]  # from a mixture: its first component
    model = spec.variants[tag]
    fields = table_fields(model)
    keys = {f.key for f in fields}
    table = {k: copy.deepcopy(v) for k, v in old.items() if k in keys and k != spec.tag}
    table = {spec.tag: tag, **table}
    for field in fields:
        if field.required and field.key not in table:
            table[field.key] = _first(field, (*path, field.key), table, old)
    return set_at(data, path, table)


def _first(field: FieldSpec, path: tuple, table: dict, old: Mapping):
    """A first value; a list of variant tables starts with the old table as its item."""
    if field.kind == "tables" and field.variants and old.get(field.tag) in field.variants:
        item = switch_variant({"item": old}, ("item",), field, old[field.tag])["item"]
        return [item]
    return first_value(field, path, table)


def resize_tables(data: Mapping, path: tuple, spec: FieldSpec, count: int) -> dict:
    """The list of tables at ``path`` with ``count`` items (new ones copy the last)."""
    items = list(get_at(data, path) or [])
    count = max(int(count), 1)
    while len(items) < count:
        items.append(copy.deepcopy(items[-1]) if items else filled(spec, (*path, 0), None))
    return set_at(data, path, items[:count])


def resize_prior(data: Mapping, states: int) -> dict:
    """A uniform prior over ``states`` states (and an identity matrix if one is given)."""
    states = min(max(int(states), 2), MAX_STATES)
    out = set_at(data, ("information", "prior"), [1.0 / states] * states)
    if get_at(out, ("information", "matrix")) is not None:
        identity = [[1.0 if i == j else 0.0 for j in range(states)] for i in range(states)]
        out = set_at(out, ("information", "matrix"), identity)
    return out


# -- the policies compared --------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A policy one may compare: its name, its kind and its ``[[policies]]`` table."""

    name: str
    kind: str
    table: dict


def candidates_of(data: Mapping, scenario=None) -> tuple[tuple[Candidate, ...], bool]:
    """The policies of a scenario's settings (its ``[[policies]]``, named as the policy layer
    names them) or, if it lists none, the default set; and whether it was the default set."""
    import market as mk

    tables = data.get("policies")
    if not isinstance(tables, list) or not tables:
        return tuple(Candidate(s["name"], s["kind"], dict(s)) for s in mk.default_policies()), True
    specs = list(scenario.policy_specs) if scenario is not None else []
    out = []
    for i, table in enumerate(tables):
        if not isinstance(table, Mapping):
            continue
        name = specs[i]["name"] if i < len(specs) else str(table.get("name", table.get("kind")))
        out.append(Candidate(name, str(table.get("kind")), {**table, "name": name}))
    return tuple(out), False


def selected_names(data: Mapping, candidates: Sequence[Candidate]) -> list[str]:
    """The names of the candidates the settings compare (all when they list none)."""
    tables = data.get("policies")
    if not isinstance(tables, list) or not tables:
        return [c.name for c in candidates]
    names = {t.get("name") for t in tables if isinstance(t, Mapping)}
    return [c.name for c in candidates if c.name in names]


def select_policies(
    data: Mapping, candidates: Sequence[Candidate], names: Sequence[str], default_set: bool
) -> dict:
    """Compare the candidates named ``names`` (at least one; the whole default set is
    written as no ``[[policies]]`` at all)."""
    chosen = [copy.deepcopy(c.table) for c in candidates if c.name in names]
    if not chosen:
        return dict(data)
    if default_set and len(chosen) == len(candidates):
        return drop_at(data, ("policies",))
    return set_at(data, ("policies",), chosen)
