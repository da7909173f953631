"""What the schema does not say: the paper's symbols, when a key applies, and good first values.

Everything here is optional: a key of the schema without an entry gets its field name as a
label, is always shown, and starts from the schema's default (or a value inside its limits).
Keys are dotted paths without list indices (``urgency.components.low``); the keys of a mixture
component share the hints of ``urgency``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "PRESENT",
    "default_for",
    "first_table",
    "help_for",
    "hint_path",
    "label_for",
    "visible",
]

#: ``VISIBLE_WHEN`` condition: the other key is given (not left out).
PRESENT = object()

#: Labels, with the paper's symbols (Zhong 2025, Section 2).
LABELS = {
    "name": "name",
    "description": "description",
    "seed": "seed",
    "information": "information",
    "information.prior": "prior μ₀",
    "information.entropy": "entropy H",
    "information.token_rate": "token rate χ",
    "information.matrix": "matrix A",
    "information.alpha": "exponent α",
    "urgency": "urgency r ~ G",
    "urgency.distribution": "distribution G",
    "urgency.low": "lower bound r̲",
    "urgency.high": "upper bound r̄",
    "urgency.mean": "mean",
    "urgency.sd": "standard deviation",
    "urgency.a": "shape a",
    "urgency.b": "shape b",
    "urgency.weight": "weight",
    "urgency.components": "components",
    "market": "market",
    "market.users": "users",
    "market.arrival_rate": "arrival rate λ",
    "market.capacity": "capacity K",
    "users.temperature": "logit temperature β",
    "market.discipline": "discipline",
    "costs": "costs",
    "costs.per_token": "cost per token c",
    "valuation": "valuation q(r)",
    "valuation.expression": "valuation q(r) =",
    "valuation.urgency": "or: urgencies r of points",
    "valuation.value": "and: values q(r) at them",
    "units": "units",
    "units.currency": "currency",
    "units.time": "one unit of model time",
    "units.tokens_per_unit": "real tokens per model token",
    "units.value": "value of a solved task (q = 1), in currency",
    "policies": "policies to compare",
}

#: One line of help under a control.
HELP = {
    "seed": "root of every random stream of the market",
    "information.token_rate": "information produced per unit of time (Info.)",
    "information.matrix": "H = ½ μᵀAμ; rows separated by ';', entries by ','",
    "information.prior": "one probability per state, summing to 1",
    "information.alpha": "H = |μ − ½|^α, α ≥ 2 (2 states only)",
    "market.users": "users the market simulates",
    "market.capacity": "tokens per unit of time; empty: unlimited",
    "market.discipline": "how a finite capacity is shared",
    "costs.per_token": "model units: a solved task at q = 1 is worth 1",
    "valuation.expression": "a formula in r: + - * / ^, exp, log, sqrt, tanh, min, max",
    "valuation.urgency": "instead of a formula: points (r, q), a monotone cubic",
    "units.tokens_per_unit": "real tokens in one model token (one unit of χT)",
    "units.value": "what a solved task is worth at q = 1",
}

#: The first keys of an optional table when its box is ticked (beyond its required keys).
FIRST_TABLES: dict[str, dict] = {
    "valuation": {"expression": "1 + 0.5*(r - 1)"},  # economics.py's example
}

#: A key shown only when another key of its table has a value (else left out of the file).
VISIBLE_WHEN: dict[str, tuple[str, Any]] = {
    "information.matrix": ("entropy", "mahalanobis"),
    "information.alpha": ("entropy", "power"),
    "users.temperature": ("choice", "logit"),
    "market.discipline": ("capacity", PRESENT),
    "market.anticipate": ("capacity", PRESENT),
}


def _identity(table: Mapping) -> list[list[float]]:
    prior = table.get("prior")
    n = len(prior) if isinstance(prior, list) and prior else 2
    return [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]


def _number(table: Mapping, key: str, fallback: float) -> float:
    value = table.get(key)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else fallback


#: First values of keys that have no default in the schema, from the rest of their table.
DEFAULTS: dict[str, Callable[[Mapping], Any]] = {
    "information.matrix": _identity,
    "information.alpha": lambda table: 2.0,
    "users.temperature": lambda table: 0.01,
    "urgency.low": lambda table: 1.0,
    "urgency.high": lambda table: max(2.0, _number(table, "low", 1.0) + 1.0),
    "urgency.mean": lambda t: (_number(t, "low", 1.0) + _number(t, "high", 2.0)) / 2,
    "urgency.sd": lambda t: max((_number(t, "high", 2.0) - _number(t, "low", 1.0)) / 4, 1e-3),
    "urgency.a": lambda table: 2.0,
    "urgency.b": lambda table: 2.0,
    "urgency.weight": lambda table: 1.0,
    "units.currency": lambda table: "USD",
    "units.tokens_per_unit": lambda table: 1000.0,
    "units.value": lambda table: 1.0,
}


def hint_path(path: tuple) -> str:
    """The key of a path in these tables: indices dropped, mixture components as urgency."""
    keys = [str(p) for p in path if not isinstance(p, int)]
    if keys[:2] == ["urgency", "components"] and len(keys) > 2:
        keys = ["urgency", *keys[2:]]
    return ".".join(keys)


def label_for(path: tuple) -> str:
    """The label of the control of ``path``."""
    key = hint_path(path)
    return LABELS.get(key, str(path[-1]).replace("_", " "))


def help_for(path: tuple) -> str:
    return HELP.get(hint_path(path), "")


def visible(path: tuple, table: Mapping) -> bool:
    """Whether the key at ``path`` applies, given the rest of its table."""
    rule = VISIBLE_WHEN.get(hint_path(path))
    if rule is None:
        return True
    other, wanted = rule
    value = table.get(other)
    return value is not None if wanted is PRESENT else value == wanted


def dependents(path: tuple) -> list[str]:
    """Keys of the same table whose visibility depends on the key at ``path``."""
    prefix, key = hint_path(path[:-1]), str(path[-1])
    return [
        target.rsplit(".", 1)[1]
        for target, (other, _) in VISIBLE_WHEN.items()
        if other == key and target.rsplit(".", 1)[0] == prefix
    ]


def default_for(path: tuple, table: Mapping) -> Any:
    """A first value for the key at ``path`` from the rest of its table, or None."""
    make = DEFAULTS.get(hint_path(path))
    return None if make is None else make(table)


def first_table(path: tuple) -> dict:
    """The keys an optional table starts with when it is added (besides its required ones)."""
    return dict(FIRST_TABLES.get(hint_path(path), {}))
