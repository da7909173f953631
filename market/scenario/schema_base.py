"""The base of every table of a scenario file, its bounds, and the ``[market]`` table
(see :mod:`market.scenario.schema` for the format)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from market.scenario.errors import fail

__all__ = [
    "ARRIVAL_RATES",
    "BETA_SHAPES",
    "CAPACITIES",
    "DEFAULT_SEED",
    "MAX_USERS",
    "MarketSpec",
    "Table",
]

#: Root seed when a scenario gives none (the date of the paper, October 12, 2025).
DEFAULT_SEED = 20251012

#: Characters allowed in a scenario name, so that it can name a results folder.
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

#: Relative tolerance for a symmetric matrix, as :class:`market.information.Mahalanobis` uses.
SYMMETRY_TOLERANCE = 1e-12

#: Shapes a and b of a beta urgency law the incomplete beta function resolves.
BETA_SHAPES = (1e-4, 1e6)
#: Most users a scenario may simulate, and the arrival rates it may have.
MAX_USERS = 10**9
ARRIVAL_RATES = (1e-9, 1e9)


class Table(BaseModel):
    """A TOML table: strict types, no unknown keys, finite numbers, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @classmethod
    def keys(cls) -> list[str]:
        """The keys this table allows (the union tag first)."""
        allowed = [f.alias or name for name, f in cls.model_fields.items()]
        return sorted(allowed, key=lambda key: key != "distribution")


# -- [market] ------------------------------------------------------------------------------

#: Token throughputs a finite capacity may have (tokens per unit of time).
CAPACITIES = (1e-12, 1e12)


class MarketSpec(Table):
    """The optional ``[market]`` table, read by the simulator.

    Attributes
    ----------
    users : int
        Number of simulated users (>= 1).
    arrival_rate : float
        Rate of the Poisson process of user arrivals (> 0).
    capacity : float, optional
        :math:`K`, the platform's total token throughput (tokens per unit of time); omitted:
        unlimited, every conversation runs at its plan's rate :math:`s\\chi`.
    discipline : {"shared", "priority"}
        How open conversations share :math:`K`: ``"shared"``, processor sharing (each runs at
        the lesser of its plan's rate and an equal share of what those wanting more leave);
        ``"priority"``, the most expensive plans first (preemptive), sharing within a price.
    anticipate : bool
        Users choose on the slowdown the market produces (a fixed point) rather than on the
        uncongested utility.
    """

    users: int = 10000
    arrival_rate: float = Field(default=1.0, gt=0)
    capacity: float | None = None
    discipline: Literal["shared", "priority"] = "shared"
    anticipate: bool = False

    @field_validator("users")
    @classmethod
    def _positive(cls, users: int) -> int:
        if not 1 <= users <= MAX_USERS:
            raise fail(f"expected an integer from 1 to {MAX_USERS:.0e}", (), users)
        return users

    @field_validator("arrival_rate")
    @classmethod
    def _rate(cls, rate: float) -> float:
        if not ARRIVAL_RATES[0] <= rate <= ARRIVAL_RATES[1]:
            raise fail(
                f"expected a rate from {ARRIVAL_RATES[0]:g} to {ARRIVAL_RATES[1]:g} users per "
                "unit of time",
                (),
                rate,
            )
        return rate

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, capacity: float | None) -> float | None:
        if capacity is not None and not CAPACITIES[0] <= capacity <= CAPACITIES[1]:
            raise fail(
                f"expected a token throughput from {CAPACITIES[0]:g} to {CAPACITIES[1]:g} "
                "tokens per unit of time (omit it for unlimited capacity)",
                (),
                capacity,
            )
        return capacity

    @model_validator(mode="after")
    def _congestion(self) -> MarketSpec:
        if self.capacity is not None:
            return self
        for key in ("discipline", "anticipate"):
            if key in self.model_fields_set:
                raise fail(
                    "expected a finite market.capacity with it (with unlimited capacity "
                    "conversations never meet)",
                    key,
                    getattr(self, key),
                )
        return self
