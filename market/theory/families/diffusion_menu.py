r"""The best menu of diffusion speeds (Section 2.2; see :mod:`market.theory.families`).

A menu sells the binary diffusion at speeds :math:`s\in[0,1]` (``s`` scales :math:`\sigma^2`;
``s = 0`` never learns). Scaling :math:`\sigma^2` by ``s`` is a time change,
:math:`\tau_s = \tau_1/s`, so :math:`U(s\mid r) = U_1(r/s)`. The virtual value of type
:math:`r` for speed ``s`` is :math:`g(r)U(s\mid r) + G(r)\,\partial_r U(s\mid r)`; it is
maximised pointwise (:class:`SpeedChoice`), prices follow from the envelope formula, and the
schedule is checked for incentive compatibility (:func:`screen_diffusion`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from market.numerics.optimize import golden_max
from market.theory.families.models import Diffusion
from market.theory.families.screening import (
    CHECK_TYPES,
    IC_TOLERANCE,
    FamilyMenu,
    check_grid,
    inner_breakpoints,
    posted_price,
)
from market.theory.incentives import check_menu
from market.theory.information import Entropy

if TYPE_CHECKING:  # pragma: no cover
    from market.theory.urgency import UrgencyDistribution

__all__ = ["SpeedChoice", "screen_diffusion"]

#: Slowest speed the diffusion grid search considers, and the grid size (in y = r / s).
MIN_SPEED = 1e-3
N_SPEEDS = 300
#: Gauss-Legendre nodes per interval of the integration partition, and levels of its
#: geometric grading towards the ends and breakpoints of the urgency density.
GAUSS_NODES = 8
GRADING_LEVELS = 25


class SpeedChoice:
    r"""Pointwise best speed: :math:`\max_{s\in[0,1]} g(r)U_1(r/s) + G(r)U_1'(r/s)/s`.

    The search runs in :math:`y = r/s \ge r`: a geometric grid of ``y`` down to speed
    :data:`MIN_SPEED`, then golden section around the best point. The full speed ``s = 1``
    (``y = r``) is kept without refinement when it beats the whole grid and the virtual value
    does not increase (beyond rounding) just inside it, at ``y = r(1 + 1e-7)``.
    """

    def __init__(self, full: Diffusion, urgency: UrgencyDistribution):
        self.pair = full.utility_and_slope
        self.urgency = urgency
        lo = max(float(urgency.low), 1e-9 * float(urgency.high))
        self.y = np.geomspace(lo, float(urgency.high) / MIN_SPEED, N_SPEEDS)
        self.uy, self.duy = self.pair(self.y)

    def virtual(self, y: NDArray, r: NDArray, g: NDArray, cdf: NDArray) -> NDArray:
        u, du = self.pair(y)
        return g * u + cdf * (y / r) * du

    def best(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """Speed ``s(r)`` (0: excluded) and the unclipped best virtual value over s > 0."""
        r = np.asarray(r, dtype=float)
        g, cdf = self.urgency.pdf(r), self.urgency.cdf(r)
        u_one, du_one = self.pair(r)
        at_one = g * u_one + cdf * du_one
        near_one = self.virtual(r * (1 + 1e-7), r, g, cdf)
        noise = 1e-12 * (g * u_one - cdf * du_one)  # rounding scale of the virtual value
        table = g[:, None] * self.uy + (cdf / r)[:, None] * self.y * self.duy
        table[self.y[None, :] <= r[:, None]] = -np.inf
        j = np.argmax(table, axis=1)
        top = table[np.arange(r.size), j]
        inner = top > at_one
        # Where no speed gives a positive virtual value the type is excluded: no refinement.
        refine = (inner | (near_one > at_one + noise)) & (np.maximum(top, near_one) > 0)
        speed = np.where(inner, r / self.y[j], 1.0)
        value = np.where(inner, top, at_one)
        if np.any(refine):
            k = refine
            first = np.minimum(np.searchsorted(self.y, r[k], side="right"), self.y.size - 1)
            lo = np.where(inner[k], np.maximum(self.y[np.maximum(j[k] - 1, 0)], r[k]), r[k])
            hi = np.where(inner[k], self.y[np.minimum(j[k] + 1, self.y.size - 1)], self.y[first])
            y_opt, f_opt = golden_max(
                lambda y: self.virtual(y, r[k], g[k], cdf[k]), lo, np.maximum(hi, lo)
            )
            better = f_opt > at_one[k]
            speed[k] = np.where(better, r[k] / y_opt, 1.0)
            value[k] = np.where(better, f_opt, at_one[k])
        return np.where(value >= 0, speed, 0.0), value


def graded(points: ArrayLike, lo: float, hi: float) -> NDArray:
    """Points clustering geometrically (ratio 1/4, down to ~1e-15 of the range) at ``points``.

    Gauss-Legendre on such a mesh converges fast for integrands with an algebraic
    singularity at a point (a Beta density, or a CDF like :math:`\\sqrt{r - \\underline r}`).
    """
    steps = (hi - lo) * 4.0 ** -np.arange(1, GRADING_LEVELS + 1)
    pts = np.asarray(points, dtype=float)[:, None]
    out = np.concatenate([(pts + steps).ravel(), (pts - steps).ravel(), pts.ravel()])
    return out[(out >= lo) & (out <= hi)]


def gauss_partition(edges: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Gauss-Legendre nodes, weights and interval index on every interval of ``edges``."""
    x, w = special.roots_legendre(GAUSS_NODES)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    nodes = left + width * (x + 1) / 2
    weights = width * w / 2
    index = np.repeat(np.arange(edges.size - 1), GAUSS_NODES)
    return nodes.ravel(), weights.ravel(), index


def _util_and_rent(full: Diffusion, r: NDArray, s: NDArray) -> tuple[NDArray, NDArray]:
    """:math:`U(s|r) = U_1(r/s)` and :math:`E_s[\\tau e^{-r\\tau}] = -U_1'(r/s)/s` (0 if s = 0)."""
    safe = np.where(s > 0, s, 1.0)
    u, du = full.utility_and_slope(r / safe)
    return np.where(s > 0, u, 0.0), np.where(s > 0, -du / safe, 0.0)


def _edges(chooser: SpeedChoice, urgency, grid: NDArray, types: NDArray) -> tuple:
    """The integration mesh: exclusion thresholds (where the best virtual value changes sign)
    found by Brent's method, and a mesh graded towards them and the urgency's kinks."""
    low, high = float(urgency.low), float(urgency.high)
    bps = inner_breakpoints(urgency)
    coarse = np.unique(np.concatenate([np.linspace(low, high, 401), grid, types, bps]))
    _, raw = chooser.best(coarse)
    thresholds = [
        optimize.brentq(
            lambda x: float(chooser.best(np.array([x]))[1][0]),
            coarse[i],
            coarse[i + 1],
            xtol=1e-14,
        )
        for i in np.flatnonzero(np.diff(raw >= 0))
    ]
    kinks = np.concatenate([[low, high], bps, thresholds])
    return np.unique(np.concatenate([coarse, thresholds, graded(kinks, low, high)])), kinks


def _schedule(full: Diffusion, chooser: SpeedChoice, urgency, edges: NDArray, kinks: NDArray):
    """Speeds and envelope prices at ``edges``, user surplus and welfare.

    User surplus :math:`= \\int G(z) E_{s(z)}[\\tau e^{-z\\tau}] dz` and welfare
    :math:`= \\int_0^1 U(s(r(u))|r(u))\\,du`, :math:`r(u) = G^{-1}(u)`: neither needs the
    density, which may be infinite at an end of the support.
    """
    nodes, weights, index = gauss_partition(edges)
    s_nodes, _ = chooser.best(nodes)
    s_edges, _ = chooser.best(edges)
    _, rent_nodes = _util_and_rent(full, nodes, s_nodes)
    pieces = np.bincount(index, weights=weights * rent_nodes, minlength=edges.size - 1)
    rent = np.concatenate([np.cumsum(pieces[::-1])[::-1], [0.0]])  # int_r^high
    price_edges = np.where(s_edges > 0, _util_and_rent(full, edges, s_edges)[0] - rent, 0.0)
    surplus = float(weights @ (urgency.cdf(nodes) * rent_nodes))
    u_edges = np.unique(np.concatenate([urgency.cdf(edges), graded(urgency.cdf(kinks), 0.0, 1.0)]))
    u_nodes, u_weights, _ = gauss_partition(u_edges)
    r_of_u = np.clip(urgency.ppf(u_nodes), urgency.low, urgency.high)
    welfare = float(u_weights @ _util_and_rent(full, r_of_u, chooser.best(r_of_u)[0])[0])
    return s_edges, price_edges, surplus, welfare


def _single_crossing(full: Diffusion, edges: NDArray, s_edges: NDArray) -> tuple[str, bool]:
    """Single crossing of :math:`U(s|r)` on the relevant range, and whether ``s(r)`` is
    monotone the way incentive compatibility then needs (see :func:`screen_diffusion`)."""
    served = s_edges > 0
    if not np.any(served):
        return "nobody has a positive virtual value", True
    y_lo = edges[served].min() / s_edges[served].max()
    y_hi = edges[-1] / s_edges[served].min()
    y = np.geomspace(max(y_lo, 1e-12), max(y_hi, y_lo * (1 + 1e-9), 1e-12), 2001)
    m = -y * full.utility_dr(y)
    dm = np.diff(m)
    scale = 1e-12 * np.abs(m).max()
    if np.all(dm <= scale):
        direction, ok = "non-increasing", np.all(np.diff(s_edges) <= IC_TOLERANCE)
    elif np.all(dm >= -scale):
        direction, ok = "non-decreasing", np.all(np.diff(s_edges) >= -IC_TOLERANCE)
    else:
        return "no single crossing on the relevant range (relying on check_menu)", True
    return f"single crossing: IC needs s(r) {direction}: " + ("holds" if ok else "fails"), bool(ok)


def screen_diffusion(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> FamilyMenu:
    r"""Best menu of diffusion models indexed by speed ``s`` in [0, 1] (Section 2.2).

    Prices come from the envelope formula
    :math:`P(r) = U(s(r)\mid r) - \int_r^{\bar r} E_{s(z)}[\tau e^{-z\tau}]dz`.

    **Incentive compatibility.** :math:`\partial_s U(s\mid r) = m(r/s)/s` with
    :math:`m(y) = -yU_1'(y)`, so :math:`\partial_r\partial_s U = m'(r/s)/s^2`. Where
    :math:`m' < 0` on the relevant range of :math:`y` single crossing holds and IC needs
    ``s(r)`` non-increasing in :math:`r`; where :math:`m' > 0`, non-decreasing. The menu is
    then verified independently with :func:`market.theory.incentives.check_menu` on 301 types.
    If the pointwise schedule fails either test, the menu falls back to the best posted price
    for the full-speed model, :math:`r^* = \arg\max G(r)U_1(r)`, and ``notes`` says so. Paper
    example: ``s = 1`` for all types at the price :math:`\operatorname{sech}(2\sqrt2)`, the
    revenue (docs/paper-notes.md, erratum 4).
    """
    full = Diffusion(entropy, prior, token_rate)
    grid = check_grid(grid, urgency)
    chooser = SpeedChoice(full, urgency)
    types = np.linspace(urgency.low, urgency.high, CHECK_TYPES)
    edges, kinks = _edges(chooser, urgency, grid, types)
    s_edges, price_edges, surplus, welfare = _schedule(full, chooser, urgency, edges, kinks)
    crossing, monotone = _single_crossing(full, edges, s_edges)
    pos = np.searchsorted(edges, types)
    s_types, p_types = s_edges[pos], price_edges[pos]
    safe = np.where(s_types > 0, s_types, 1.0)
    ratio, where = np.unique(types[:, None] / safe[None, :], return_inverse=True)
    matrix = np.where(s_types[None, :] > 0, full.utility(ratio)[where], 0.0)
    report = check_menu(types, matrix, p_types)
    notes = [
        crossing,
        f"check_menu on {CHECK_TYPES} types: max gain {report.max_gain:.3g}, "
        f"min surplus {report.min_surplus:.3g}",
    ]
    if not (monotone and report.passes(IC_TOLERANCE)):
        posted = posted_price(full.utility, urgency, grid, "the full-speed model")
        note = f"pointwise schedule not implementable ({'; '.join(notes)}): fell back to a "
        return FamilyMenu(
            full, posted.revenue, posted.user_surplus, posted.welfare, grid, posted.speed,
            posted.price, note + posted.notes, posted.threshold,
        )  # fmt: skip
    pos = np.searchsorted(edges, grid)
    s_grid, p_grid = s_edges[pos], price_edges[pos]
    served = s_grid[s_grid > 0]
    notes.insert(
        0,
        "pointwise-optimal speeds "
        + (f"in [{served.min():.6g}, {served.max():.6g}]" if served.size else "(nobody served)"),
    )
    return FamilyMenu(
        full, welfare - surplus, surplus, welfare, grid, s_grid, np.where(s_grid > 0, p_grid, 0.0),
        "; ".join(notes),
    )  # fmt: skip
