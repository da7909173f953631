"""The market a policy is solved for: the deployed model, the urgency law, the report grid."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from market.numerics.integrate import expect, type_nodes

__all__ = ["MENU_POINTS", "Market"]

#: Menus are reported at this many evenly spaced urgencies from low to high.
MENU_POINTS = 201


class Market:
    """The deployed model, the urgency distribution and the report grid of one scenario.

    Parameters
    ----------
    model : ConversationModel
        The greedy model (:class:`market.theory.greedy.GreedyModel`) at token rate
        :math:`\\chi`.
    urgency : UrgencyDistribution
        :math:`G`.
    grid : array_like, optional
        The urgencies at which menus are reported (default: :data:`MENU_POINTS` evenly spaced
        from low to high).
    entropy, prior : optional
        :math:`H` and :math:`\\mu_0`, for the Section 2.2 families (default: the model's).
    """

    def __init__(self, model, urgency, grid=None, entropy=None, prior=None):
        self.model = model
        self.urgency = urgency
        self.token_rate = float(model.token_rate)
        self.low, self.high = float(urgency.low), float(urgency.high)
        if grid is None:
            grid = np.linspace(self.low, self.high, MENU_POINTS)
        grid = np.asarray(grid, dtype=float)
        if grid.ndim != 1 or grid.size < 1:
            raise ValueError("grid: expected a 1-d array of urgencies")
        self.grid = grid
        self.entropy = entropy if entropy is not None else getattr(model, "entropy", None)
        self.prior = np.asarray(prior if prior is not None else model.prior, dtype=float)

    @cached_property
    def breakpoints(self) -> list[float]:
        bps = {self.low, self.high, *(float(b) for b in self.urgency.breakpoints())}
        return sorted(b for b in bps if self.low <= b <= self.high)

    def pieces(self, a: float, b: float) -> list[float]:
        """``a``, the urgency's breakpoints strictly inside (a, b), and ``b``."""
        return [a, *(x for x in self.breakpoints if a < x < b), b]

    @cached_property
    def expected_time(self) -> float:
        return float(self.model.expected_time)

    def expect(self, func, a: float | None = None, b: float | None = None, breakpoints=()):
        """:math:`\\int_a^b g(r)h(r)\\,dr` (:func:`market.numerics.integrate.expect`)."""
        return expect(self.urgency, func, a, b, breakpoints)

    def nodes(self, a: float, b: float) -> tuple[NDArray, NDArray]:
        """Gauss-Legendre nodes and weights for :math:`\\int_a^b g\\,h` inside optimisers
        (:func:`market.numerics.integrate.type_nodes`)."""
        return type_nodes(self.urgency, a, b)

    def mass(self, a: float, b: float) -> float:
        """:math:`G(b) - G(a)`."""
        return float(self.urgency.cdf(b)) - float(self.urgency.cdf(a))
