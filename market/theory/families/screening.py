r"""The best menu within a model family of Section 2.2 (see :mod:`market.theory.families`).

This module holds the record every family screening returns (:class:`FamilyMenu`), the best
constant-delay menu (:func:`screen_constant_delay`, a posted price for the fastest delay),
the best posted price of any one model (:func:`posted_price`) and their shared helpers: grid
and breakpoint checks and adaptive quadrature. The diffusion menu of several speeds is in
:mod:`market.theory.families.diffusion_menu`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.integrate import expect
from market.numerics.optimize import maximize
from market.theory.families.models import ConstantDelay
from market.theory.incentives import check_menu
from market.theory.information import Entropy

if TYPE_CHECKING:  # pragma: no cover
    from market.theory.urgency import UrgencyDistribution

__all__ = ["FamilyMenu", "check_grid", "posted_price", "screen_constant_delay"]

#: Dense grid for a one-dimensional argmax before the bounded refinement.
ARGMAX_GRID = 4001
#: Types of the independent incentive check, and its tolerance.
CHECK_TYPES = 301
IC_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class FamilyMenu:
    """The best menu within a family, as the types of ``grid`` meet it.

    ``model`` is the family's fastest model; type ``grid[i]`` buys the model at speed
    ``speed[i]`` (a fraction of the fastest; 0: not served) for ``price[i]``. ``threshold`` is
    the most urgent type served when the menu is one posted price (None otherwise).
    Revenue, user surplus and welfare are expected values per user.
    """

    model: object
    revenue: float
    user_surplus: float
    welfare: float
    grid: NDArray
    speed: NDArray
    price: NDArray
    notes: str
    threshold: float | None = None


def check_grid(grid: ArrayLike, urgency: UrgencyDistribution) -> NDArray:
    """``grid`` as an increasing array of urgencies inside the support (clipped to it)."""
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid: expected an increasing 1-d array of at least 2 urgencies")
    eps = 1e-12 * max(1.0, abs(urgency.high))
    if grid[0] < urgency.low - eps or grid[-1] > urgency.high + eps:
        raise ValueError(
            f"grid: spans [{grid[0]:.6g}, {grid[-1]:.6g}], outside the urgency support "
            f"[{urgency.low:.6g}, {urgency.high:.6g}]"
        )
    return np.clip(grid, urgency.low, urgency.high)


def inner_breakpoints(urgency: UrgencyDistribution) -> NDArray:
    bps = np.asarray(urgency.breakpoints(), dtype=float).ravel()
    return bps[(bps > urgency.low) & (bps < urgency.high)]


def posted_price(utility, urgency: UrgencyDistribution, grid: NDArray, label: str) -> FamilyMenu:
    r"""The best posted price for one model of utility :math:`U(r)` (decreasing in r).

    Buyers are :math:`[\underline r, r^*]`, :math:`r^* = \arg\max_r \log G(r) + \log U(r)`
    (grid, then bounded Brent), at the price :math:`U(r^*)`; the information rent is
    :math:`\int_{\underline r}^{r^*} g(U - P)\,dr` (:func:`market.numerics.integrate.expect`).
    """
    low, high = float(urgency.low), float(urgency.high)
    bps = inner_breakpoints(urgency)
    r_star, _ = maximize(
        lambda r: urgency.log_cdf(r) + np.log(utility(r)), low, high, grid=ARGMAX_GRID, points=bps
    )
    price = float(utility(np.array([r_star]))[0])
    revenue = float(urgency.cdf(r_star)) * price
    surplus = max(expect(urgency, lambda r: utility(r) - price, low, r_star), 0.0)
    served = grid <= r_star
    types = np.linspace(low, high, CHECK_TYPES)
    buys = types <= r_star
    report = check_menu(
        types,
        np.where(buys[None, :], utility(types)[:, None], 0.0),
        np.where(buys, price, 0.0),
    )
    notes = (
        f"posted price {price:.12g} for {label}, serving [{low:.6g}, {r_star:.12g}]; check_menu "
        f"on {CHECK_TYPES} types: max gain {report.max_gain:.3g}, min surplus "
        f"{report.min_surplus:.3g}"
    )
    return FamilyMenu(
        model=None,
        revenue=revenue,
        user_surplus=surplus,
        welfare=revenue + surplus,
        grid=grid,
        speed=served.astype(float),
        price=np.where(served, price, 0.0),
        notes=notes,
        threshold=float(r_star),
    )


def screen_constant_delay(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> FamilyMenu:
    r"""Best menu of constant-delay models (Section 2.2): a posted price for :math:`d_{\min}`.

    The virtual value of delay :math:`t` for type :math:`r` is :math:`e^{-rt}(g(r) - tG(r))`;
    where positive it decreases in :math:`t`, so each type gets :math:`d_{\min}` or nothing.
    With a single product the menu is a posted price serving a lower interval
    :math:`[\underline r, r^*]`, :math:`r^* = \arg\max_r G(r)e^{-rd_{\min}}`, at price
    :math:`e^{-r^*d_{\min}}`. When :math:`\log G` is concave this agrees with the pointwise
    solution :math:`\{r: g(r) > d_{\min}G(r)\}`; ``notes`` reports whether it does. Paper
    example: :math:`r^* = 1.5`, revenue :math:`\tfrac12 e^{-3}` (docs/paper-notes.md, erratum 4).
    """
    model = ConstantDelay(entropy, prior, token_rate)
    d = model.delay
    grid = check_grid(grid, urgency)
    menu = posted_price(model.utility, urgency, grid, f"delay d = d_min = {d:.12g}")
    notes = menu.notes + "; " + _pointwise_note(urgency, d, menu.threshold)
    return FamilyMenu(
        model, menu.revenue, menu.user_surplus, menu.welfare, grid, menu.speed, menu.price,
        notes, menu.threshold,
    )  # fmt: skip


def _pointwise_note(urgency: UrgencyDistribution, d: float, r_star: float) -> str:
    """Whether the pointwise virtual-value set :math:`\\{g > dG\\}` is the posted price's."""
    low, high = float(urgency.low), float(urgency.high)
    probe = np.linspace(low, high, 2001)
    with np.errstate(invalid="ignore", over="ignore"):
        served = urgency.pdf(probe) > d * urgency.cdf(probe)
    changes = np.flatnonzero(np.diff(served.astype(int)))
    if not (served[0] and changes.size <= 1):
        return "the pointwise set {g > d G} is not a lower interval: ironed to one price"
    r_v = probe[changes[0]] if changes.size else high
    agree = math.isclose(r_v, r_star, abs_tol=1.5 * (probe[1] - probe[0]))
    return f"the pointwise virtual-value set {{g > d G}} is [{low:.6g}, ~{r_v:.6g}], " + (
        "agreeing with r*" if agree else "which differs from r* (log G is not concave)"
    )
