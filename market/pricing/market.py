r"""The market a policy is solved for: the deployed model, the urgency law, the report grid, the
users' valuation :math:`q(r)` (Section 4) and the platform's cost per token :math:`c`
(Section 2.1).

A user of urgency :math:`r` values a task solved at :math:`t` at :math:`q(r)e^{-rt}`; a plan of
time cap :math:`T` run at speed :math:`s` (stopping time :math:`\tau/s`) is worth
:meth:`Market.value` :math:`= q(r)E[e^{-(r/s)\tau}\mathbf 1\{\tau\le sT\}]` to it. The platform
pays :math:`c` for every token it serves; a solved task at :math:`q = 1` is worth 1, so
:math:`c` is in the same units as prices, per token.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.integrate import expect, type_nodes
from market.theory.costs import check_cost
from market.theory.valuation import Valuation

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
    valuation : Valuation, optional
        :math:`q(r)` (Section 4), checked positive and finite on the urgency range; None or
        :math:`q\\equiv 1`: every user values a solved task at 1 (``self.valuation`` is then
        None, and every result is exactly the baseline's).
    cost : float
        :math:`c \\ge 0`, what the platform pays per token served (Section 2.1).
    """

    def __init__(self, model, urgency, grid=None, entropy=None, prior=None,
                 valuation: Valuation | None = None, cost: float = 0.0):  # fmt: skip
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
        if valuation is not None and not isinstance(valuation, Valuation):
            raise ValueError(f"valuation = {valuation!r}: expected a Valuation or None")
        if valuation is not None:
            valuation.check(self.low, self.high)
            if valuation.is_one():
                valuation = None
        self.valuation: Valuation | None = valuation
        self.cost = check_cost(cost)

    @property
    def plain(self) -> bool:
        """:math:`q\\equiv 1` and no cost: Theorem 1's setting, solved exactly as before."""
        return self.valuation is None and self.cost == 0

    @property
    def token_price(self) -> float:
        """:math:`c\\chi`: what a unit of running time at full speed costs the platform."""
        return self.cost * self.token_rate

    def q(self, r: ArrayLike) -> NDArray:
        """:math:`q(r)` (ones without a valuation)."""
        r = np.asarray(r, dtype=float)
        return np.ones(r.shape) if self.valuation is None else self.valuation.q(r)

    def value(self, r: ArrayLike, cap: ArrayLike, speed: ArrayLike = 1.0) -> NDArray:
        """What a plan of time cap ``cap`` at ``speed`` is worth to type ``r``:
        :math:`q(r)E[e^{-(r/s)\\tau}\\mathbf 1\\{\\tau\\le sT\\}]` (arguments broadcast)."""
        r = np.asarray(r, dtype=float)
        speed = np.asarray(speed, dtype=float)
        util = self.model.laplace(r / speed, np.asarray(cap, dtype=float) * speed)
        return util if self.valuation is None else self.valuation.q(r) * util

    def tokens(self, cap: ArrayLike, speed: ArrayLike = 1.0) -> NDArray:
        """Expected tokens of a plan: :math:`\\chi E[\\min(\\tau, sT)]`."""
        cap = np.asarray(cap, dtype=float) * np.asarray(speed, dtype=float)
        return self.token_rate * self.model.expected_truncated_time(cap)

    @cached_property
    def optimal_menu(self):
        """The optimal token menu for this market's :math:`q` and :math:`c`
        (:class:`market.theory.mechanism.OptimalTokenMenu`), built once."""
        from market.theory.mechanism import OptimalTokenMenu

        return OptimalTokenMenu(self.model, self.urgency, valuation=self.valuation, cost=self.cost)

    def first_best_welfare(self) -> float:
        """Welfare when each type gets its own best cap, net of the token cost
        (:func:`market.theory.mechanism.first_best_welfare`)."""
        from market.theory.mechanism import first_best_welfare

        return first_best_welfare(self.model, self.urgency, self.valuation, self.cost)

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
