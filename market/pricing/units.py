"""Real-world units for the model's numbers (a scenario's ``[units]`` table).

The solver and the simulator work in model units: a solved task at :math:`q = 1` is worth 1,
a token cap is :math:`\\chi T` model tokens, time is model time. :class:`Units` says what those
are in the world, and converts what the tool shows and writes; it never changes a number the
solver computes. A price (or revenue, cost, profit, surplus, welfare per user) of :math:`x` is
:math:`x \\times` ``value`` in ``currency``; :math:`k` model tokens are :math:`k \\times`
``tokens_per_unit`` real tokens; a price of :math:`p` per model token is
:math:`p \\times` ``value`` / ``tokens_per_unit`` per real token; a time :math:`t` is
:math:`t` of ``time`` (``"s"``, ``"min"`` or ``"h"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MONEY_FIELDS", "TOKEN_FIELDS", "Units"]

#: Per-user expectations that are amounts of money (converted by :meth:`Units.money`).
MONEY_FIELDS = ("revenue", "cost", "profit", "user_surplus", "welfare")
#: Per-user expectations that are amounts of tokens (converted by :meth:`Units.tokens`).
TOKEN_FIELDS = ("tokens_per_user",)


@dataclass(frozen=True)
class Units:
    """What one model unit is in the world.

    Attributes
    ----------
    currency : str
        The currency prices are shown in (``"USD"``).
    time : {"s", "min", "h"}
        What one unit of model time is.
    tokens_per_unit : float
        Real tokens in one model token (one unit of :math:`\\chi T`).
    value : float
        What a solved task is worth at :math:`q = 1`, in ``currency``.
    """

    currency: str
    time: str
    tokens_per_unit: float
    value: float

    def __post_init__(self) -> None:
        for name in ("tokens_per_unit", "value"):
            x = getattr(self, name)
            if not (isinstance(x, int | float) and math.isfinite(x) and x > 0):
                raise ValueError(f"{name} = {x!r}: expected a finite number > 0")

    def money(self, x: float) -> float:
        """``x`` in model units of value, in :attr:`currency`."""
        return float(x) * self.value

    def tokens(self, x: float) -> float:
        """``x`` model tokens in real tokens (infinity stays infinity)."""
        return float(x) * self.tokens_per_unit

    def per_token(self, x: float) -> float:
        """A price of ``x`` per model token, in :attr:`currency` per real token."""
        return float(x) * self.value / self.tokens_per_unit

    def describe(self) -> dict:
        """The ``[units]`` table, for JSON (``"units"``)."""
        return {
            "currency": self.currency,
            "time": self.time,
            "tokens_per_unit": float(self.tokens_per_unit),
            "value": float(self.value),
        }

    def convert(self, record: dict) -> dict:
        """The money and token fields of ``record`` (:data:`MONEY_FIELDS`,
        :data:`TOKEN_FIELDS`) in real units; other keys are left out."""
        out = {}
        for key in MONEY_FIELDS:
            if record.get(key) is not None:
                out[key] = self.money(record[key])
        for key in TOKEN_FIELDS:
            if record.get(key) is not None:
                out[key] = self.tokens(record[key])
        return out
