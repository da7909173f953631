"""Realised outcomes per user: sample means with standard errors.

Welfare is the users' utility net of the platform's token cost (Section 2.1; zero unless the
scenario has ``[costs]``), so welfare is profit plus user surplus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from market.sim.offer import Outcomes

__all__ = ["CONFIDENCE_Z", "Estimate", "Realized", "summarize"]

#: Two-sided 95% normal quantile, for confidence intervals mean ± z·se.
CONFIDENCE_Z = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error (NaN for a single observation, 0 for values
    that are all equal)."""

    mean: float
    se: float

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        n = values.size
        if n < 2:
            se = math.nan
        elif np.all(values == values[0]):
            se = 0.0  # not the rounding noise of std()
        else:
            se = float(values.std(ddof=1) / math.sqrt(n))
        return cls(float(values.mean()), se)

    @property
    def ci95(self) -> tuple[float, float]:
        """The 95% normal interval mean ± 1.96 se."""
        half = CONFIDENCE_Z * self.se
        return (self.mean - half, self.mean + half)

    def to_dict(self) -> dict:
        lo, hi = self.ci95
        return {"mean": self.mean, "se": _num(self.se), "ci95": [_num(lo), _num(hi)]}


@dataclass(frozen=True)
class Realized:
    """Realised outcomes of one policy, per user (over every user, buyer or not)."""

    users: int
    revenue: Estimate
    user_surplus: Estimate
    welfare: Estimate
    learned_share: float
    mean_tokens: float
    participation: float = math.nan
    cost: Estimate | None = None
    profit: Estimate | None = None

    def to_dict(self) -> dict:
        return {
            "users": self.users,
            "participation": self.participation,
            "revenue": self.revenue.to_dict(),
            "cost": None if self.cost is None else self.cost.to_dict(),
            "profit": None if self.profit is None else self.profit.to_dict(),
            "user_surplus": self.user_surplus.to_dict(),
            "welfare": self.welfare.to_dict(),
            "learned_share": self.learned_share,
            "mean_tokens": self.mean_tokens,
        }


def summarize(outcomes: Outcomes, cost: float = 0.0) -> Realized:
    """Means and standard errors per user of payment (revenue), the platform's token cost
    :math:`c \times` tokens served, profit (their difference), surplus and welfare
    (utility net of the cost, Section 2.1)."""
    spent = float(cost) * outcomes.tokens
    return Realized(
        users=outcomes.users,
        revenue=Estimate.of(outcomes.payment),
        user_surplus=Estimate.of(outcomes.surplus),
        welfare=Estimate.of(outcomes.utility - spent),
        learned_share=float(outcomes.learned.mean()),
        mean_tokens=float(outcomes.tokens.mean()),
        participation=float(outcomes.bought.mean()),
        cost=Estimate.of(spent),
        profit=Estimate.of(outcomes.payment - spent),
    )


def _num(x: float) -> float | None:
    """A JSON-safe number: None for NaN or infinity."""
    return float(x) if math.isfinite(x) else None
