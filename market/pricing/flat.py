r"""The flat price: one price for unlimited use, chosen for profit.

A type buys unlimited use at price :math:`P` iff :math:`v(r) = q(r)U(\infty|r) \ge P`
(Section 4's valuation :math:`q`; :math:`q\equiv 1` without one); each buyer costs the
platform :math:`k = c\chi E[\tau]` (Section 2.1). Without a valuation or a cost the buyers are
:math:`r \le r^*` and :math:`r^* = \arg\max G(r)U(\infty|r)` (Section 3.1).
"""

from __future__ import annotations

import math

import numpy as np

from market.numerics.optimize import maximize
from market.pricing.plans import FiniteMenu, Plan
from market.pricing.regions import menu_profit

__all__ = ["ARGMAX_GRID", "ARGMAX_XTOL", "best_flat_buyer", "best_flat_price", "flat_menu"]

#: Grid for 1-D maximisations, polished by bounded Brent to this tolerance in r.
ARGMAX_GRID = 401
ARGMAX_XTOL = 1e-13


def best_flat_buyer(market) -> float:
    """:math:`r^* = \\arg\\max_r \\log G(r) + \\log U(\\infty|r)`; the flat price is
    :math:`U(\\infty|r^*)` (:math:`q\\equiv 1`, no cost: Theorem 1's setting)."""
    return maximize(
        lambda r: market.urgency.log_cdf(r) + np.log(market.model.laplace(r, np.inf)),
        market.low,
        market.high,
        grid=ARGMAX_GRID,
        xtol=ARGMAX_XTOL,
    )[0]


def best_flat_price(market) -> tuple[float, str]:
    r"""The profit-maximising price of unlimited use, and how it was found.

    A type buys iff :math:`v(r) = q(r)U(\infty|r) \ge P`; each buyer costs
    :math:`k = c\chi E[\tau]`. Where :math:`v` falls with :math:`r` (always when
    :math:`q\equiv 1`) the buyers are :math:`r \le r^*`, :math:`P = v(r^*)`,
    :math:`r^* = \arg\max G(r)(v(r) - k)`; where it rises they are :math:`r \ge r^*`,
    :math:`r^* = \arg\max (1 - G(r))(v(r) - k)`; otherwise the price itself is searched
    (grid + bounded Brent on the profit from the users' exact choice regions). When no type
    values unlimited use above its cost, the price is the largest value (nobody buys).
    """
    if market.plain:
        r_star = best_flat_buyer(market)
        note = f"price U(inf | r*) at r* = {r_star:.12g} = argmax G(r) U(inf | r) (grid + Brent)"
        return float(market.model.laplace(r_star, np.inf)), note
    k = market.cost * float(market.tokens(np.inf))
    xs = np.unique(np.concatenate([np.linspace(market.low, market.high, ARGMAX_GRID),
                                   market.breakpoints]))  # fmt: skip
    v = market.value(xs, np.inf)
    if not np.any(v > k):
        return float(v.max()), "no type values unlimited use above its token cost: nobody buys"
    step = np.diff(v)
    if np.all(step <= 0) or np.all(step >= 0):
        rising = bool(np.all(step >= 0) and np.any(step > 0))
        share = (lambda r: 1.0 - market.urgency.cdf(r)) if rising else market.urgency.cdf
        with np.errstate(divide="ignore", invalid="ignore"):
            r_star = maximize(
                lambda r: share(r) * (market.value(r, np.inf) - k),
                market.low, market.high, grid=ARGMAX_GRID, xtol=ARGMAX_XTOL,
            )[0]  # fmt: skip
        side = "r >= r*" if rising else "r <= r*"
        what = "(1 - G(r))" if rising else "G(r)"
        note = (f"price v(r*) = q(r*) U(inf | r*) at r* = {r_star:.12g}, buyers {side}, "
                f"r* = argmax {what} (v(r) - c chi E[tau]) (grid + Brent)")  # fmt: skip
        return float(market.value(r_star, np.inf)), note
    top = float(v.max())
    price = maximize(
        lambda p: menu_profit(flat_menu(market, p), market), max(k, 0.0), top,
        grid=101, xtol=1e-12 * top, vectorized=False,
    )[0]  # fmt: skip
    note = "q(r) U(inf | r) is not monotone: price by grid + bounded Brent on the exact profit"
    return float(price), note


def flat_menu(market, price: float) -> FiniteMenu:
    """One plan of unlimited use at ``price``, for the market's users."""
    return FiniteMenu(market.model, (Plan("flat", math.inf, float(price)),), market.valuation)
