"""Small typed records of solved policies, shared by :mod:`market.solve` and the CLI."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


def _num(x: float | None) -> float | None:
    """A JSON-safe number: ``None`` for infinity or NaN."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class MenuRow:
    """One menu item, as offered to the type ``urgency``.

    ``token_cap`` is :math:`\\chi T(r)`; ``None`` means unlimited. ``served`` is False for a
    type that buys nothing (then ``price`` is 0). ``extra`` holds family-specific fields
    (for example the delay of a constant-delay model or the volatility of a diffusion).
    """

    urgency: float
    token_cap: float | None
    price: float
    served: bool = True
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "urgency": float(self.urgency),
            "token_cap": _num(self.token_cap),
            "price": float(self.price),
        }
        if not self.served:
            out["served"] = False
        out.update({k: _num(v) if isinstance(v, float) else v for k, v in self.extra.items()})
        return out


@dataclass(frozen=True)
class PolicySolution:
    """Expected outcomes of one policy, per user (the urgency distribution integrated out)."""

    name: str
    kind: str
    revenue: float
    user_surplus: float
    welfare: float
    menu: tuple[MenuRow, ...]
    notes: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "revenue": float(self.revenue),
            "user_surplus": float(self.user_surplus),
            "welfare": float(self.welfare),
            "menu": [row.to_dict() for row in self.menu],
        }


@dataclass(frozen=True)
class Solution:
    """Everything ``market solve`` reports about a scenario."""

    scenario: str
    switch_times: tuple[float, ...]
    stationary_rate: float
    expected_time: float
    first_best_welfare: float
    policies: tuple[PolicySolution, ...]

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario,
            "model": {
                "switch_times": [float(t) for t in self.switch_times],
                "stationary_rate": float(self.stationary_rate),
                "expected_time": float(self.expected_time),
            },
            "first_best_welfare": float(self.first_best_welfare),
            "policies": [p.to_dict() for p in self.policies],
        }
