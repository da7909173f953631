"""The scenario's ``[units]`` wherever the dashboard shows a number.

A scenario may say what its model units are in the world (``market.scenario.economics``)::

    [units]
    currency = "USD"          # prices, revenue, surplus and welfare
    time = "s"                # one unit of model time ("s", "min" or "h")
    tokens_per_unit = 1000    # real tokens in one model token (one unit of χT)
    value = 0.50              # what a solved task is worth, in currency (at q = 1)

Without it numbers stay in model units: money in value units (a solved task is worth 1 at
q = 1), tokens in units of χT, time in model time. Every input, and every number the solver
returns, is in model units; :class:`Units` converts them for display only. The units shown
are those of the scenario solved (:meth:`Units.of_scenario`), so that a table and its
headers always belong together.
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

    @classmethod
    def of_scenario(cls, scenario) -> Units:
        """The units of a validated scenario (``market.Scenario.units``, its defaults
        included; model units without it)."""
        spec = getattr(scenario, "units", None)
        if spec is None:
            return cls()
        return cls(
            currency=spec.currency,
            time=spec.time,
            tokens_per_unit=_positive(spec.tokens_per_unit),
            value=_positive(spec.value),
        )

    # -- conversions ----------------------------------------------------------------------
    def money(self, x: float) -> float:
        """Model money (the value of a solved task is 1) in the display currency."""
        return x * self.value if self.value and self.currency else x

    def tokens(self, x: float) -> float:
        """Tokens in units of χT in real tokens."""
        return x * self.tokens_per_unit if self.tokens_per_unit else x

    def cost_text(self, c: float) -> str:
        """A cost of ``c`` per model token as shown: in currency per real token when the
        units say what both are (``c x value / tokens_per_unit``), else in model units."""
        if self.value and self.currency and self.tokens_per_unit:
            return f"{c * self.value / self.tokens_per_unit:.4g} {self.currency}/token"
        return f"{c:.4g} {self.money_label}/{self.tokens_label}"

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
