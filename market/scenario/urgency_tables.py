"""The ``[urgency]`` table of a scenario: the law :math:`G` of the users' urgency
(see :mod:`market.scenario.schema` for the format)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from market.scenario.errors import fail as _fail
from market.scenario.schema_base import BETA_SHAPES
from market.scenario.schema_base import Table as _Table

__all__ = [
    "BetaComponent",
    "BetaUrgency",
    "MixtureUrgency",
    "TruncNormComponent",
    "TruncNormUrgency",
    "UniformComponent",
    "UniformUrgency",
    "UrgencySpec",
]


class _Interval(_Table):
    """An urgency law on ``[low, high]`` = :math:`[\\underline r, \\bar r]`, ``0 < low < high``."""

    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise _fail(f"expected low < high = {self.high!r}", "low", self.low)
        return self


class UniformUrgency(_Interval):
    """``distribution = "uniform"``: :math:`r \\sim U[\\text{low}, \\text{high}]`."""

    distribution: Literal["uniform"]


class TruncNormUrgency(_Interval):
    """``distribution = "truncnorm"``: ``N(mean, sd**2)`` cut to ``[low, high]``."""

    distribution: Literal["truncnorm"]
    mean: float
    sd: float = Field(gt=0)


class BetaUrgency(_Interval):
    """``distribution = "beta"``: :math:`\\text{low} + (\\text{high}-\\text{low})\\,B(a, b)`."""

    distribution: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)

    @field_validator("a", "b")
    @classmethod
    def _shape(cls, value: float) -> float:
        if not BETA_SHAPES[0] <= value <= BETA_SHAPES[1]:
            raise _fail(
                f"expected a shape from {BETA_SHAPES[0]:g} to {BETA_SHAPES[1]:g} (beyond them "
                "the law is a point mass the incomplete beta function cannot resolve)",
                (),
                value,
            )
        return value


class _Weighted(_Table):
    weight: float = Field(gt=0)


class UniformComponent(UniformUrgency, _Weighted):
    """A uniform component of a mixture."""


class TruncNormComponent(TruncNormUrgency, _Weighted):
    """A truncated-normal component of a mixture."""


class BetaComponent(BetaUrgency, _Weighted):
    """A beta component of a mixture."""


Component = Annotated[
    UniformComponent | TruncNormComponent | BetaComponent, Field(discriminator="distribution")
]


class MixtureUrgency(_Table):
    """``distribution = "mixture"``: components drawn with probability proportional to weight."""

    distribution: Literal["mixture"]
    components: list[Component] = Field(min_length=1)


UrgencySpec = Annotated[
    UniformUrgency | TruncNormUrgency | BetaUrgency | MixtureUrgency,
    Field(discriminator="distribution"),
]

#: Loc entries pydantic inserts for the branch of a tagged union; not keys of the file.
_UNION_TAGS = frozenset({"uniform", "truncnorm", "beta", "mixture"})
