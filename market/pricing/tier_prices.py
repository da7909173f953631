"""Tiers with given prices: the qualities (caps or speeds) that earn most at those prices
(:mod:`market.pricing.tiers` has the ladders)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from market.pricing.plans import FiniteMenu
from market.pricing.regions import menu_outcome, menu_profit
from market.pricing.tiers import Ladder

__all__ = ["evaluate", "fixed_price_qualities"]


def fixed_price_qualities(ladder: Ladder, prices: NDArray) -> tuple[NDArray, float]:
    """Qualities maximising the actual revenue for given prices (Nelder-Mead, ``xatol``
    1e-9, ``fatol`` 1e-14, from qualities ordered like the prices)."""
    k = prices.size
    rank = np.argsort(np.argsort(-prices, kind="stable"), kind="stable")  # 0 = dearest

    def revenue(x):
        q = ladder.quality(np.clip(x, 0, 1))
        return menu_profit(ladder.menu(q, prices), ladder.market)

    starts = [1.0 - rank / k, 1.0 - (rank + 0.5) / (k + 1)]
    best_x, best_r = None, -np.inf
    for x0 in starts:
        res = minimize(
            lambda x: -revenue(x),
            np.asarray(x0, dtype=float),
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * k,
            options={"xatol": 1e-9, "fatol": 1e-14, "maxiter": 400 * k},
        )
        if -res.fun > best_r:
            best_x, best_r = res.x, -res.fun
    return ladder.quality(np.clip(best_x, 0, 1)), best_r


def evaluate(ladder: Ladder, menu: FiniteMenu):
    """Exact expected outcomes of a ladder's menu."""
    return menu_outcome(menu, ladder.market)
