r"""The tables of a scenario that set what a task is worth and what a token costs, and the
units the numbers are shown in (Zhong 2025, Sections 2.1 and 4)::

    [valuation]                      # optional; q ≡ 1 without it
    expression = "1 + 0.5*(r - 1)"   # q(r): + - * / ^, exp, log, sqrt, tanh, min, max, numbers
    # or: urgency = [1.0, 1.5, 2.0] and value = [1.0, 1.3, 1.4]  (a monotone cubic)

    [costs]                          # optional
    per_token = 0.05                 # c: what the platform pays per token served

    [units]                          # optional; without it every number is in model units
    currency = "USD"
    time = "s"                       # what one unit of model time is: "s", "min" or "h"
    tokens_per_unit = 1000           # real tokens in one model token (one unit of chi T)
    value = 0.50                     # what a solved task is worth, in currency, at q = 1

A user of urgency :math:`r` values a task solved at :math:`t` at :math:`q(r)e^{-rt}`. The
expression is parsed, never executed (:mod:`market.theory.formula`); it must be positive and
finite on the urgency range (checked when the scenario is read).

**Every input is in model units**, with or without ``[units]``: prices and ``per_token`` in
units of a solved task's value at :math:`q = 1`, token caps in model tokens (:math:`\chi T`),
times in model time. ``[units]`` converts what the tool shows and writes: a price :math:`p`
is :math:`p \times` ``value`` in currency, a token cap :math:`k` is :math:`k \times`
``tokens_per_unit`` real tokens, a cost of :math:`c` per model token is
:math:`c \times` ``value`` / ``tokens_per_unit`` currency per real token
(:class:`market.pricing.units.Units`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from market.pricing.units import Units
from market.scenario.errors import Verbatim
from market.scenario.errors import fail as _fail
from market.scenario.schema_base import Table
from market.theory.valuation import Valuation, ValuationError

__all__ = [
    "COSTS",
    "CostsSpec",
    "UnitsSpec",
    "ValuationSpec",
    "valuation_problem",
]

#: Costs per model token a scenario may have (a solved task at q = 1 is worth 1).
COSTS = (0.0, 1e6)
#: Longest valuation expression (characters).
MAX_EXPRESSION = 1000
#: Most points of a valuation curve.
MAX_POINTS = 10_000
#: Real tokens per model token, and currency per solved task, a scenario may state.
SCALES = (1e-12, 1e15)

_MESSAGE = re.compile(r"^(expression|urgency|value) = (.*?): (.*)$", re.DOTALL)


def valuation_problem(err: ValuationError):
    """The theory's error (``expression = '1 +': expected ...``) as the scenario's
    (``valuation.expression = '1 +': expected ...``)."""
    text = " ".join(str(err).split())
    match = _MESSAGE.match(text)
    if match is None:
        return _fail(text)
    name, shown, what = match.groups()
    return _fail(what, (name,), Verbatim(shown))


class ValuationSpec(Table):
    """The optional ``[valuation]`` table: :math:`q(r)` by ``expression`` or by points."""

    expression: str | None = None
    urgency: list[float] | None = None
    value: list[float] | None = None

    @field_validator("expression")
    @classmethod
    def _short(cls, text: str | None) -> str | None:
        if text is not None and len(text) > MAX_EXPRESSION:
            raise _fail(f"expected a formula of at most {MAX_EXPRESSION} characters", (), text)
        return text

    @field_validator("urgency", "value")
    @classmethod
    def _few(cls, points: list[float] | None) -> list[float] | None:
        if points is not None and len(points) > MAX_POINTS:
            raise _fail(f"expected at most {MAX_POINTS} points", (), points)
        return points

    @model_validator(mode="after")
    def _one_way(self) -> ValuationSpec:
        points = self.urgency is not None or self.value is not None
        if self.expression is not None and points:
            key = "urgency" if self.urgency is not None else "value"
            raise _fail(
                "expected either expression or urgency and value, not both",
                key,
                getattr(self, key),
            )
        if self.expression is None and not points:
            raise _fail('expected expression = "..." (a formula in r) or urgency and value')
        if points and (self.urgency is None or self.value is None):
            missing = "value" if self.value is None else "urgency"
            raise _fail(f"missing (required with {'urgency' if missing == 'value' else 'value'})",
                        missing)  # fmt: skip
        try:
            self.build()
        except ValuationError as err:
            raise valuation_problem(err) from None
        return self

    def build(self) -> Valuation:
        """The :class:`~market.theory.valuation.Valuation` of the table."""
        if self.expression is not None:
            return Valuation.from_expression(self.expression)
        return Valuation.from_points(self.urgency, self.value)


class CostsSpec(Table):
    """The optional ``[costs]`` table: ``per_token`` = :math:`c \\ge 0`, what the platform
    pays per model token served (Section 2.1); profit = revenue - c x tokens served."""

    per_token: float = Field(default=0.0, ge=COSTS[0], le=COSTS[1])


class UnitsSpec(Table):
    """The optional ``[units]`` table: what model units are in the real world."""

    currency: str = Field(min_length=1, max_length=12)
    time: Literal["s", "min", "h"] = "s"
    tokens_per_unit: float = Field(ge=SCALES[0], le=SCALES[1])
    value: float = Field(ge=SCALES[0], le=SCALES[1])

    @field_validator("currency")
    @classmethod
    def _printable(cls, currency: str) -> str:
        if not currency.strip() or not currency.isprintable():
            raise _fail("expected a currency name or symbol (printable text)", (), currency)
        return currency

    def build(self) -> Units:
        """The :class:`~market.pricing.units.Units` that convert what the tool shows."""
        return Units(self.currency, self.time, self.tokens_per_unit, self.value)
