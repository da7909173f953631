"""Validation of a ``[[policies]]`` table: the kind, its parameters and their values
(the kinds and their parameters are :data:`market.pricing.PARAMETERS`).

A policy is a mapping with a ``kind``, an optional ``name`` and the kind's parameters; every
parameter may be omitted, and is then solved for (revenue-maximising). :func:`parse_policy`
checks one mapping and returns a :class:`ParsedPolicy`; every problem raises
:class:`PolicyError` with one line naming the policy, the field, its value and what was
expected, e.g. ``policies[2] (tiers 'three tiers'): count = 0: expected an integer >= 1``.

Prices are in the currency of the utility :math:`e^{-r\\tau}`, token caps in tokens (a time
cap :math:`T` is a token cap :math:`\\chi T`), speeds are fractions of the token rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from market.pricing import DEFAULT_NAMES, KINDS, PARAMETERS

__all__ = ["ParsedPolicy", "PolicyError", "parse_policy"]


class PolicyError(ValueError):
    """A policy whose kind, parameters or values the policy layer does not accept."""


#: The keys of one plan of a ``custom`` menu.
PLAN_KEYS = ("name", "token_cap", "price")
#: Most plans a ``tiers`` or ``speed_tiers`` policy may have (each adds two variables to a
#: non-convex search).
MAX_COUNT = 10
#: Most plans a ``custom`` menu may list.
MAX_PLANS = 1000
#: The word for an unlimited token cap.
UNLIMITED = "unlimited"


@dataclass(frozen=True)
class ParsedPolicy:
    """A validated policy. ``values`` holds the parameters given (the others are solved for):
    ``price``, ``per_token``, ``fee`` floats; ``count`` int; ``caps`` token caps
    (``inf`` = unlimited), ``speeds``, ``prices`` tuples of floats; ``plans`` a tuple of
    ``(name, token_cap, price)``."""

    kind: str
    name: str
    label: str
    values: Mapping = field(default_factory=dict)

    def fail(self, what: str, value: object, expected: str) -> PolicyError:
        return PolicyError(f"{self.label}: {what} = {_show(value)}: {expected}")

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def to_spec(self) -> dict:
        """``{"kind", "name", **values}``, as :func:`market.pricing.solve_policies` takes it."""
        return {"kind": self.kind, "name": self.name, **self.values}


def _show(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    return str(value)


def _label(index: int | None, kind: object, name: object) -> str:
    where = "policy" if index is None else f"policies[{index}]"
    inner = str(kind) if isinstance(kind, str) else repr(kind)
    if isinstance(name, str) and name:
        inner += f" {name!r}"
    return f"{where} ({inner})"


def _number(policy: ParsedPolicy, what: str, value: object, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise policy.fail(what, value, "expected a number")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise policy.fail(what, value, "expected a finite number")
    return x


def _price(policy: ParsedPolicy, what: str, value: object) -> float:
    x = _number(policy, what, value)
    if x < 0:
        raise policy.fail(what, value, "expected a price >= 0")
    return x


def _token_cap(policy: ParsedPolicy, what: str, value: object) -> float:
    if value == UNLIMITED:
        return math.inf
    if isinstance(value, str):
        raise policy.fail(what, value, f"expected a number >= 0 or {UNLIMITED!r}")
    x = _number(policy, what, value, allow_inf=True)
    if x < 0:
        raise policy.fail(what, value, f"expected a token cap >= 0 or {UNLIMITED!r}")
    return x


def _speed(policy: ParsedPolicy, what: str, value: object) -> float:
    x = _number(policy, what, value)
    if not 0 < x <= 1:
        raise policy.fail(what, value, "expected a speed in (0, 1] (a fraction of the token rate)")
    return x


def _list(policy: ParsedPolicy, what: str, value: object) -> list:
    if not isinstance(value, (list, tuple)) or not value:
        raise policy.fail(what, value, "expected a non-empty list")
    return list(value)


def _count(policy: ParsedPolicy, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise policy.fail("count", value, f"expected an integer from 1 to {MAX_COUNT}")
    return int(value)


def _plans(policy: ParsedPolicy, value: object) -> tuple:
    plans, seen = [], set()
    listed = _list(policy, "plans", value)
    if len(listed) > MAX_PLANS:
        raise policy.fail("plans", f"<{len(listed)} plans>", f"expected at most {MAX_PLANS} plans")
    for i, plan in enumerate(listed):
        where = f"plans[{i}]"
        if not isinstance(plan, Mapping):
            raise policy.fail(where, plan, "expected a table with name, token_cap and price")
        for key in plan:
            if key not in PLAN_KEYS:
                raise policy.fail(
                    f"{where}.{key}", plan[key], f"unknown key (a plan has {', '.join(PLAN_KEYS)})"
                )
        name = plan.get("name")
        if not isinstance(name, str) or not name:
            raise policy.fail(f"{where}.name", name, "expected a non-empty string")
        if name in seen:
            raise policy.fail(f"{where}.name", name, "expected a name no other plan has")
        seen.add(name)
        if "price" not in plan:
            raise policy.fail(f"{where}.price", None, "expected a price >= 0 (it is missing)")
        price = _price(policy, f"{where}.price", plan["price"])
        cap = _token_cap(policy, f"{where}.token_cap", plan.get("token_cap", UNLIMITED))
        plans.append((name, cap, price))
    return tuple(plans)


def _ladder(policy: ParsedPolicy, spec: Mapping, quality: str, check) -> dict:
    """``count`` and the optional lists ``quality`` (caps or speeds) and ``prices``."""
    out: dict = {}
    if "count" in spec:
        out["count"] = _count(policy, spec["count"])
    for key, item in ((quality, check), ("prices", _price)):
        if key in spec:
            values = _list(policy, key, spec[key])
            out[key] = tuple(item(policy, f"{key}[{i}]", v) for i, v in enumerate(values))
            count = out.setdefault("count", len(values))
            if len(values) != count:
                raise policy.fail(
                    key, spec[key], f"expected {count} values (count = {count}), got {len(values)}"
                )
    if "count" not in out:
        raise policy.fail(
            "count", None, f"expected an integer from 1 to {MAX_COUNT} (it is missing)"
        )
    return out


def parse_policy(spec: Mapping, index: int | None = None) -> ParsedPolicy:
    """Validate one policy mapping (a ``[[policies]]`` table).

    Parameters
    ----------
    spec : mapping
        ``kind``, optional ``name`` and the kind's parameters (:data:`PARAMETERS`).
    index : int, optional
        Position in the scenario's list, named in error messages (``policies[2]``).
    """
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{_label(index, '?', None)}: expected a table, got {_show(spec)}")
    kind, name = spec.get("kind"), spec.get("name")
    label = _label(index, kind, name)
    if kind not in PARAMETERS:
        raise PolicyError(f"{label}: kind = {_show(kind)}: expected one of {', '.join(KINDS)}")
    if name is not None and (not isinstance(name, str) or not name):
        raise PolicyError(f"{label}: name = {_show(name)}: expected a non-empty string")
    policy = ParsedPolicy(kind, name or "", label)
    allowed = PARAMETERS[kind]
    for key in spec:
        if key not in ("kind", "name", *allowed):
            takes = ", ".join(allowed) if allowed else "no parameters"
            raise policy.fail(key, spec[key], f"unknown parameter ({kind} takes {takes})")
    values: dict = {}
    if kind == "flat" and "price" in spec:
        values["price"] = _price(policy, "price", spec["price"])
    elif kind in ("per_token", "two_part"):
        for key in ("fee", "per_token"):
            if key in spec:
                values[key] = _price(policy, key, spec[key])
    elif kind == "tiers":
        values = _ladder(policy, spec, "caps", _token_cap)
    elif kind == "speed_tiers":
        values = _ladder(policy, spec, "speeds", _speed)
    elif kind == "hard_caps" and "quality" in spec:
        values["quality"] = _number(policy, "quality", spec["quality"])
        if not 0 < values["quality"] <= 0.5:
            raise policy.fail("quality", spec["quality"], "expected a quality in (0, 0.5]")
    elif kind == "custom":
        if "plans" not in spec:
            raise policy.fail("plans", None, "expected a non-empty list of plans (it is missing)")
        values["plans"] = _plans(policy, spec["plans"])
    if not name:
        name = DEFAULT_NAMES[kind].format(count=values.get("count", ""))
    return ParsedPolicy(kind, name, label, values)
