r"""Exact choice regions of a finite menu, and the expected outcomes they give.

Users choose as in the market (:func:`market.pricing.plans.best_plan`): the plan of largest
:math:`s_j(r) = q(r)U_j(r) - P_j` if it is :math:`\ge 0`, ties to the larger cap. With time caps
at full speed and :math:`q\equiv 1`, :math:`s_j - s_k` for :math:`T_j > T_k` is strictly
decreasing in :math:`r` (:math:`\partial_r(U(T_j|r) - U(T_k|r)) = -E[\tau e^{-r\tau}1\{T_k<\tau
\le T_j\}] < 0`), so each plan is chosen on an interval and more patient types take larger
caps. With a valuation :math:`q(r)` (Section 4) single crossing can fail (urgent types may
value more); the grid search below still finds every region wider than a grid cell.

The regions are found by root finding, exactly under that single-crossing property: the chosen
plan is computed on a grid; in a cell where it changes from :math:`j` to :math:`k`, the
indifference point :math:`x^*` of :math:`s_j = s_k` is found by Brent's method (to 1e-15).
If no plan does strictly better at :math:`x^*`, it is the boundary; otherwise the winner
:math:`l` at :math:`x^*` and the cell is split at :math:`x^*` (with single crossing, a plan
that wins inside the cell must win at :math:`x^*`). The outside option is the plan "-1" with
:math:`s \equiv 0`. For menus that differ in speed the same search is used; single crossing
then holds where :math:`m(y) = -yU_1'(y)` is monotone on the relevant range (see
:func:`market.theory.families.screen_diffusion`), and a region narrower than a grid cell that
begins and ends inside it could be missed otherwise (257-point grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from market.pricing.plans import FiniteMenu, best_plan, expected_payments, plan_values

__all__ = [
    "MenuOutcome", "Region", "choice_regions", "menu_outcome", "menu_profit", "menu_revenue",
]  # fmt: skip

#: Points of the grid on which the chosen plan is first located.
REGION_GRID = 257
#: Recursion depth of the cell splitting (each split isolates at least one new plan).
MAX_DEPTH = 60


@dataclass(frozen=True)
class Region:
    """Types in ``[low, high]`` choose plan ``plan`` (-1: buy nothing)."""

    low: float
    high: float
    plan: int


@dataclass(frozen=True)
class MenuOutcome:
    """Expected per-user outcomes of a finite menu (types integrated out)."""

    regions: tuple[Region, ...]
    revenue: float
    welfare: float
    participation: float
    tokens_per_user: float
    token_cost: float = 0.0

    @property
    def user_surplus(self) -> float:
        """Gross welfare minus revenue (welfare is net of the token cost)."""
        return self.welfare + self.token_cost - self.revenue


class _Surplus:
    """Surpluses :math:`s_j(r)` of a menu's plans, and the market's choice rule."""

    def __init__(self, menu: FiniteMenu):
        self.menu = menu
        self.caps = np.array([p.cap * p.speed for p in menu.plans], dtype=float)

    def table(self, r: NDArray) -> NDArray:
        menu = self.menu
        util, pay = plan_values(menu.model, np.atleast_1d(r), menu.plans, menu.valuation)
        return util - pay

    def value(self, j: int, x: float) -> float:
        if j < 0:
            return 0.0
        return float(self.table(np.array([x]))[0, j])

    def choose(self, s: NDArray) -> NDArray:
        return best_plan(s, self.caps)


def _split(sur: _Surplus, a: float, ja: int, b: float, jb: int, depth: int = 0) -> list:
    """Boundaries ``(x, plan after x)`` in the cell [a, b] whose ends choose ``ja``, ``jb``."""

    def diff(x):
        return sur.value(ja, x) - sur.value(jb, x)

    fa, fb = diff(a), diff(b)
    if fa >= 0 >= fb:
        x = brentq(diff, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps) if fa > fb else a
    else:  # only within the tie tolerance: the nearer end
        x = a if abs(fa) <= abs(fb) else b
    s = sur.table(np.array([x]))
    jc = int(sur.choose(s)[0])
    top = max(float(s.max()), 0.0)
    if jc in (ja, jb) or top <= sur.value(ja, x) + 1e-13 or depth >= MAX_DEPTH:
        return [(x, jb)]
    return _split(sur, a, ja, x, jc, depth + 1) + _split(sur, x, jc, b, jb, depth + 1)


def choice_regions(menu: FiniteMenu, market) -> tuple[Region, ...]:
    """The intervals of urgency on which each plan (or nothing) is chosen; see module doc."""
    sur = _Surplus(menu)
    lo, hi = market.low, market.high
    r = np.unique(np.concatenate([np.linspace(lo, hi, REGION_GRID), market.breakpoints]))
    chosen = sur.choose(sur.table(r))
    bounds: list = []
    for i in np.flatnonzero(chosen[1:] != chosen[:-1]):
        bounds += _split(sur, r[i], int(chosen[i]), r[i + 1], int(chosen[i + 1]))
    regions, start, plan = [], lo, int(chosen[0])
    for x, nxt in bounds:
        if x > start:
            regions.append(Region(start, x, plan))
        start, plan = max(start, x), nxt
    regions.append(Region(start, hi, plan))
    # Merge neighbours with the same plan (left by ties inside a cell).
    merged: list[Region] = []
    for reg in regions:
        if merged and merged[-1].plan == reg.plan:
            merged[-1] = Region(merged[-1].low, reg.high, reg.plan)
        else:
            merged.append(reg)
    return tuple(merged)


def menu_revenue(menu: FiniteMenu, market) -> float:
    """Expected revenue only (for optimisers): payments times the regions' masses."""
    pay = expected_payments(menu.model, menu.plans)
    return sum(
        pay[reg.plan] * market.mass(reg.low, reg.high)
        for reg in choice_regions(menu, market)
        if reg.plan >= 0
    )


def menu_profit(menu: FiniteMenu, market) -> float:
    """Expected profit only (for optimisers): payments minus token costs times the masses;
    the revenue when the market has no cost per token."""
    if market.cost == 0:
        return menu_revenue(menu, market)
    net = expected_payments(menu.model, menu.plans) - market.cost * _tokens(menu)
    return sum(
        net[reg.plan] * market.mass(reg.low, reg.high)
        for reg in choice_regions(menu, market)
        if reg.plan >= 0
    )


def _tokens(menu: FiniteMenu) -> NDArray:
    """Expected tokens of each plan, :math:`\\chi E[\\min(\\tau, s_jT_j)]`."""
    model = menu.model
    return np.array(
        [
            model.token_rate * float(model.expected_truncated_time(p.cap * p.speed))
            for p in menu.plans
        ]
    )


def menu_outcome(menu: FiniteMenu, market) -> MenuOutcome:
    r"""Revenue, welfare, participation and tokens of a finite menu over exact regions.

    Revenue is :math:`\sum_j P_j (G(b_j) - G(a_j))` (payments do not depend on the type),
    tokens :math:`\sum_j \chi E[\min(\tau, s_jT_j)](G(b_j) - G(a_j))`, their cost :math:`c`
    times that, and welfare :math:`\sum_j\int_{a_j}^{b_j} g(r)q(r)U_j(r)dr` (:meth:`Market.expect`)
    minus the token cost.
    """
    model = menu.model
    regions = choice_regions(menu, market)
    pay = expected_payments(menu.model, menu.plans)
    used = _tokens(menu)
    revenue = welfare = share = tokens = 0.0
    for reg in regions:
        if reg.plan < 0 or reg.high <= reg.low:
            continue
        plan = menu.plans[reg.plan]
        mass = market.mass(reg.low, reg.high)
        revenue += pay[reg.plan] * mass
        share += mass
        tokens += used[reg.plan] * mass

        def utility(z, plan=plan):
            util = model.laplace(z / plan.speed, plan.cap * plan.speed)
            return util if menu.valuation is None else menu.valuation.q(z) * util

        welfare += market.expect(utility, reg.low, reg.high)
    cost = market.cost * tokens if market.cost > 0 else 0.0
    return MenuOutcome(regions, revenue, welfare - cost, share, tokens, cost)
