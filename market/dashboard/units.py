"""The scenario's ``[units]`` wherever the dashboard shows a number.

A scenario may say what its model units are in the world::

    [units]
    currency = "USD"          # prices, revenue, surplus and welfare
    time = "s"                # one unit of model time
    tokens_per_unit = 1000    # real tokens in one unit of χT
    value = 0.50              # what a solved task is worth, in currency (at q = 1)

Without it (or for a key it leaves out) numbers stay in model units: money in value units
(a solved task is worth 1 at q = 1), tokens in units of χT, time in model time. The
solver's numbers are in model units; :class:`Units` converts them for display only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Units"]


def _positive(value) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) and value > 0 else None


@dataclass(frozen=True)
class Units:
    """Display units: ``currency`` and ``value`` (currency per unit of model money),
    ``time`` (the name of one unit of model time), ``tokens_per_unit``."""

    currency: str | None = None
    time: str | None = None
    tokens_per_unit: float | None = None
    value: float | None = None

    @classmethod
    def of(cls, settings: Mapping | None) -> Units:
        """The units of a scenario's settings (its ``[units]`` table; missing keys: model
        units)."""
        table = (settings or {}).get("units")
        if not isinstance(table, Mapping):
            return cls()
        text = {
            k: table.get(k) if isinstance(table.get(k), str) else None for k in ("currency", "time")
        }
        return cls(
            currency=text["currency"],
            time=text["time"],
            tokens_per_unit=_positive(table.get("tokens_per_unit")),
            value=_positive(table.get("value")),
        )

    # -- conversions ----------------------------------------------------------------------
    def money(self, x: float) -> float:
        """Model money (the value of a solved task is 1) in the display currency."""
        return x * self.value if self.value and self.currency else x

    def tokens(self, x: float) -> float:
        """Tokens in units of χT in real tokens."""
        return x * self.tokens_per_unit if self.tokens_per_unit else x

    # -- labels ---------------------------------------------------------------------------
    @property
    def money_label(self) -> str:
        return self.currency if self.value and self.currency else "value units"

    @property
    def tokens_label(self) -> str:
        return "tokens" if self.tokens_per_unit else "χT units"

    @property
    def time_label(self) -> str:
        return self.time or "model time"
