r"""The best menu within each model family of Section 2.2 (see :mod:`market.families`).

This module holds :func:`screen_constant_delay` (a posted price for the fastest constant
delay) and :func:`screen_diffusion` (a menu of diffusion speeds), which follow the paper's
Mussa-Rosen reduction, and their helpers: grid and breakpoint checks, a one-dimensional
argmax, adaptive quadrature, a vectorised golden-section search, the pointwise best speed
(:class:`_SpeedChoice`) and a graded Gauss-Legendre partition.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

from market.families.models import ConstantDelay, Diffusion
from market.incentives import check_menu
from market.information import Entropy
from market.results import MenuRow, PolicySolution

if TYPE_CHECKING:  # pragma: no cover
    from market.urgency import UrgencyDistribution


# ---------------------------------------------------------------------------------------
# Screening within a family (Section 2.2)
# ---------------------------------------------------------------------------------------
#: Dense grid for a one-dimensional argmax before the bounded refinement.
_ARGMAX_GRID = 4001
#: Slowest speed the diffusion grid search considers, and the grid size (in y = r / s).
_MIN_SPEED = 1e-3
_N_SPEEDS = 300
#: Golden-section steps (bracket shrinks by 0.618^80 ~ 2e-17).
_GOLDEN_STEPS = 80
#: Gauss-Legendre nodes per interval of the integration partition, and levels of its
#: geometric grading towards the ends and breakpoints of the urgency density.
_GAUSS_NODES = 8
_GRADING_LEVELS = 25
#: Types of the independent incentive check, and its tolerance.
_CHECK_TYPES = 301
_IC_TOLERANCE = 1e-9


def _check_grid(grid: ArrayLike, urgency: UrgencyDistribution) -> NDArray:
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


def _inner_breakpoints(urgency: UrgencyDistribution) -> NDArray:
    bps = np.asarray(urgency.breakpoints(), dtype=float).ravel()
    return bps[(bps > urgency.low) & (bps < urgency.high)]


def _argmax_1d(fun, low: float, high: float, points: NDArray) -> float:
    """Argmax of a vectorised ``fun`` on [low, high]: dense grid, then bounded Brent to 1e-13."""
    r = np.unique(np.concatenate([np.linspace(low, high, _ARGMAX_GRID), points]))
    with np.errstate(divide="ignore"):
        values = fun(r)
    j = int(np.argmax(values))
    a, b = r[max(j - 1, 0)], r[min(j + 1, r.size - 1)]
    best_x, best_f = r[j], values[j]
    if b > a:
        res = optimize.minimize_scalar(
            lambda x: -float(fun(np.array([x]))[0]),
            bounds=(a, b),
            method="bounded",
            options={"xatol": 1e-13},
        )
        if -res.fun > best_f:
            best_x = float(res.x)
    return float(best_x)


def _quad(fun, a: float, b: float, points: NDArray) -> float:
    """:func:`scipy.integrate.quad` to 1e-11 (relative), splitting at ``points``."""
    if b <= a:
        return 0.0
    inner = [p for p in points if a < p < b]
    value, _ = integrate.quad(
        fun, a, b, points=inner or None, epsabs=1e-13, epsrel=1e-11, limit=500
    )
    return float(value)


def screen_constant_delay(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> PolicySolution:
    r"""Best menu of constant-delay models (Section 2.2): a posted price for :math:`d_{\min}`.

    The virtual value of delay :math:`t` for type :math:`r` is :math:`e^{-rt}(g(r) - tG(r))`;
    where positive it decreases in :math:`t`, so each type gets :math:`d_{\min}` or nothing.
    With a single product the menu is a posted price serving a lower interval
    :math:`[\underline r, r^*]`, :math:`r^* = \arg\max_r G(r)e^{-rd_{\min}}`, at price
    :math:`e^{-r^*d_{\min}}`. When :math:`\log G` is concave this agrees with the pointwise
    solution :math:`\{r: g(r) > d_{\min}G(r)\}`; ``notes`` reports whether it does. Paper
    example: :math:`r^* = 1.5`, revenue :math:`\tfrac12 e^{-3}` (NOTES.md erratum 4).

    Parameters
    ----------
    entropy, prior, token_rate
        :math:`H`, :math:`\mu_0`, :math:`\chi`.
    urgency : UrgencyDistribution
        Distribution of :math:`r` (``pdf`` = g, ``cdf`` = G).
    grid : array_like
        Urgencies at which the menu rows are reported.
    """
    model = ConstantDelay(entropy, prior, token_rate)
    d = model.delay
    grid = _check_grid(grid, urgency)
    low, high = float(urgency.low), float(urgency.high)
    bps = _inner_breakpoints(urgency)
    r_star = _argmax_1d(lambda r: urgency.log_cdf(r) - r * d, low, high, bps)
    price = math.exp(-r_star * d)
    revenue = float(urgency.cdf(r_star)) * price
    # Information rent, integrated by parts so that no density appears (g may be infinite):
    # int_low^r* g e^{-rd} dr = G(r*) e^{-r* d} + d int_low^r* G e^{-rd} dr.
    surplus = d * _quad(lambda r: float(urgency.cdf(r)) * math.exp(-r * d), low, r_star, bps)
    welfare = revenue + surplus

    # The pointwise virtual-value solution, for the record.
    probe = np.linspace(low, high, 2001)
    served = urgency.pdf(probe) > d * urgency.cdf(probe)
    changes = np.flatnonzero(np.diff(served.astype(int)))
    if served[0] and changes.size <= 1:
        r_v = probe[changes[0]] if changes.size else high
        agree = abs(r_v - r_star) <= 1.5 * (probe[1] - probe[0])
        pointwise = f"the pointwise virtual-value set {{g > d G}} is [{low:.6g}, ~{r_v:.6g}], " + (
            "agreeing with r*" if agree else "which differs from r* (log G is not concave)"
        )
    else:
        pointwise = "the pointwise set {g > d G} is not a lower interval: ironed to one price"
    notes = (
        f"posted price exp(-r* d) for delay d = d_min = {d:.12g}; r* = {r_star:.12g}; " + pointwise
    )
    rows = tuple(
        MenuRow(float(r), None, price, True, {"delay": d})
        if r <= r_star
        else MenuRow(float(r), 0.0, 0.0, False, {"delay": d})
        for r in grid
    )
    return PolicySolution(
        name="constant-delay menu",
        kind="constant_delay",
        revenue=revenue,
        user_surplus=surplus,
        welfare=welfare,
        menu=rows,
        notes=notes,
    )


def _golden_max(fun, a: NDArray, b: NDArray, steps: int = _GOLDEN_STEPS):
    """Vectorised golden-section search for the maximum of ``fun`` on ``[a, b]``."""
    inv = (math.sqrt(5) - 1) / 2
    c, d = b - inv * (b - a), a + inv * (b - a)
    fc, fd = fun(c), fun(d)
    for _ in range(steps):
        left = fc >= fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        new = np.where(left, b - inv * (b - a), a + inv * (b - a))
        fnew = fun(new)
        c, fc, d, fd = (
            np.where(left, new, d),
            np.where(left, fnew, fd),
            np.where(left, c, new),
            np.where(left, fc, fnew),
        )
    take_c = fc >= fd
    return np.where(take_c, c, d), np.where(take_c, fc, fd)


class _SpeedChoice:
    r"""Pointwise best speed: :math:`\max_{s\in[0,1]} g(r)U_1(r/s) + G(r)U_1'(r/s)/s`.

    Scaling :math:`\sigma^2` by ``s`` is a time change, :math:`\tau_s = \tau_1/s`, so
    :math:`U(s\mid r) = U_1(r/s)`. The search runs in :math:`y = r/s \ge r`: a geometric grid
    of ``y`` down to speed :data:`_MIN_SPEED`, then golden section around the best point. The
    full speed ``s = 1`` (``y = r``) is kept without refinement when it beats the whole grid
    and the virtual value does not increase (beyond rounding) just inside it, at
    ``y = r(1 + 1e-7)``.
    """

    def __init__(self, full: Diffusion, urgency: UrgencyDistribution):
        self.pair = full.utility_and_slope
        self.urgency = urgency
        lo = max(float(urgency.low), 1e-9 * float(urgency.high))
        self.y = np.geomspace(lo, float(urgency.high) / _MIN_SPEED, _N_SPEEDS)
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
            y_opt, f_opt = _golden_max(
                lambda y: self.virtual(y, r[k], g[k], cdf[k]), lo, np.maximum(hi, lo)
            )
            better = f_opt > at_one[k]
            speed[k] = np.where(better, r[k] / y_opt, 1.0)
            value[k] = np.where(better, f_opt, at_one[k])
        return np.where(value >= 0, speed, 0.0), value


def _graded(points: ArrayLike, lo: float, hi: float) -> NDArray:
    """Points clustering geometrically (ratio 1/4, down to ~1e-15 of the range) at ``points``.

    Gauss-Legendre on such a mesh converges fast for integrands with an algebraic
    singularity at a point (a Beta density, or a CDF like :math:`\\sqrt{r - \\underline r}`).
    """
    steps = (hi - lo) * 4.0 ** -np.arange(1, _GRADING_LEVELS + 1)
    pts = np.asarray(points, dtype=float)[:, None]
    out = np.concatenate([(pts + steps).ravel(), (pts - steps).ravel(), pts.ravel()])
    return out[(out >= lo) & (out <= hi)]


def _gauss_partition(edges: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Gauss-Legendre nodes, weights and interval index on every interval of ``edges``."""
    x, w = special.roots_legendre(_GAUSS_NODES)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    nodes = left + width * (x + 1) / 2
    weights = width * w / 2
    index = np.repeat(np.arange(edges.size - 1), _GAUSS_NODES)
    return nodes.ravel(), weights.ravel(), index


def screen_diffusion(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> PolicySolution:
    r"""Best menu of diffusion models indexed by speed ``s`` in [0, 1] (Section 2.2).

    ``s`` scales :math:`\sigma^2` (``s = 0`` never learns). The virtual value of type
    :math:`r` for speed ``s`` is :math:`g(r)U(s\mid r) + G(r)\,\partial_r U(s\mid r)`; it is
    maximised pointwise (grid in :math:`y = r/s`, then golden section). Prices come from the
    envelope formula :math:`P(r) = U(s(r)\mid r) - \int_r^{\bar r} E_{s(z)}[\tau e^{-z\tau}]dz`
    and welfare is :math:`\int g\,U(s(r)\mid r)`.

    **Incentive compatibility.** :math:`\partial_s U(s\mid r) = m(r/s)/s` with
    :math:`m(y) = -yU_1'(y)`, so :math:`\partial_r\partial_s U = m'(r/s)/s^2`. Where
    :math:`m' < 0` on the relevant range of :math:`y` (the usual case: urgent users value a
    faster model less at the margin, since they gain little from any model) single crossing
    holds and IC needs ``s(r)`` non-increasing in :math:`r`; where :math:`m' > 0`,
    non-decreasing. The menu is then verified independently with
    :func:`market.incentives.check_menu` on 301 types. If the pointwise schedule fails either
    test, the menu falls back to the best posted price for the full-speed model,
    :math:`r^* = \arg\max G(r)U_1(r)`, and ``notes`` says so. Paper example: ``s = 1`` for all
    types at the price :math:`\operatorname{sech}(2\sqrt2)`, the revenue (NOTES.md erratum 4).
    """
    full = Diffusion(entropy, prior, token_rate)
    grid = _check_grid(grid, urgency)
    low, high = float(urgency.low), float(urgency.high)
    bps = _inner_breakpoints(urgency)
    chooser = _SpeedChoice(full, urgency)
    types = np.linspace(low, high, _CHECK_TYPES)

    # Exclusion thresholds (where the best virtual value changes sign), then the partition.
    coarse = np.unique(np.concatenate([np.linspace(low, high, 401), grid, types, bps]))
    _, raw = chooser.best(coarse)
    thresholds = []
    for i in np.flatnonzero(np.diff(raw >= 0)):
        thresholds.append(
            optimize.brentq(
                lambda x: float(chooser.best(np.array([x]))[1][0]),
                coarse[i],
                coarse[i + 1],
                xtol=1e-14,
            )
        )
    kinks = np.concatenate([[low, high], bps, thresholds])
    edges = np.unique(np.concatenate([coarse, thresholds, _graded(kinks, low, high)]))
    nodes, weights, index = _gauss_partition(edges)
    s_nodes, _ = chooser.best(nodes)
    s_edges, _ = chooser.best(edges)

    def util_and_rent(r, s):
        # U(s|r) = U_1(r/s) and E_s[tau e^{-r tau}] = -U_1'(r/s)/s; both 0 when s = 0.
        safe = np.where(s > 0, s, 1.0)
        u, du = full.utility_and_slope(r / safe)
        return np.where(s > 0, u, 0.0), np.where(s > 0, -du / safe, 0.0)

    u_nodes, rent_nodes = util_and_rent(nodes, s_nodes)
    pieces = np.bincount(index, weights=weights * rent_nodes, minlength=edges.size - 1)
    rent = np.concatenate([np.cumsum(pieces[::-1])[::-1], [0.0]])  # int_r^high
    price_edges = np.where(s_edges > 0, util_and_rent(edges, s_edges)[0] - rent, 0.0)
    # User surplus = int g(r) int_r^high E[tau e^{-z tau}] dz dr = int G(z) E[tau e^{-z tau}] dz;
    # welfare = int g U dr = int_0^1 U(s(r(u))|r(u)) du with r(u) = G^{-1}(u): neither needs
    # the density, which may be infinite at an end of the support (Beta with a or b < 1).
    surplus = float(weights @ (urgency.cdf(nodes) * rent_nodes))
    u_kinks = urgency.cdf(kinks)
    u_edges = np.unique(np.concatenate([urgency.cdf(edges), _graded(u_kinks, 0.0, 1.0)]))
    u_nodes_, u_weights, _ = _gauss_partition(u_edges)
    r_of_u = np.clip(urgency.ppf(u_nodes_), low, high)
    welfare = float(u_weights @ util_and_rent(r_of_u, chooser.best(r_of_u)[0])[0])
    revenue = welfare - surplus

    # Single crossing and monotonicity.
    served = s_edges > 0
    notes = []
    monotone = True
    if np.any(served):
        y_lo = edges[served].min() / s_edges[served].max()
        y_hi = high / s_edges[served].min()
        y = np.geomspace(max(y_lo, 1e-12), max(y_hi, y_lo * (1 + 1e-9), 1e-12), 2001)
        m = -y * full.utility_dr(y)
        dm = np.diff(m)
        scale = 1e-12 * np.abs(m).max()
        if np.all(dm <= scale):
            direction, ok = "non-increasing", np.all(np.diff(s_edges) <= _IC_TOLERANCE)
        elif np.all(dm >= -scale):
            direction, ok = "non-decreasing", np.all(np.diff(s_edges) >= -_IC_TOLERANCE)
        else:
            direction, ok = None, True
        if direction is None:
            notes.append("no single crossing on the relevant range (relying on check_menu)")
        else:
            notes.append(
                f"single crossing: IC needs s(r) {direction}: " + ("holds" if ok else "fails")
            )
        monotone = bool(ok)
    else:
        notes.append("nobody has a positive virtual value")
    pos = np.searchsorted(edges, types)
    s_types, p_types = s_edges[pos], price_edges[pos]
    safe = np.where(s_types > 0, s_types, 1.0)
    ratio, where = np.unique(types[:, None] / safe[None, :], return_inverse=True)
    matrix = np.where(s_types[None, :] > 0, full.utility(ratio)[where], 0.0)
    report = check_menu(types, matrix, p_types)
    notes.append(
        f"check_menu on {_CHECK_TYPES} types: max gain {report.max_gain:.3g}, "
        f"min surplus {report.min_surplus:.3g}"
    )

    if monotone and report.passes(_IC_TOLERANCE):
        speed = np.where(s_edges > 0, s_edges, 0.0)
        pos = np.searchsorted(edges, grid)
        s_grid, p_grid = speed[pos], price_edges[pos]
        notes.insert(
            0,
            "pointwise-optimal speeds"
            + (
                f" in [{s_grid[s_grid > 0].min():.6g}, {s_grid.max():.6g}]"
                if np.any(s_grid)
                else " (nobody served)"
            ),
        )
    else:
        r_star = _argmax_1d(lambda r: urgency.log_cdf(r) + np.log(full.utility(r)), low, high, bps)
        price = float(full.utility(r_star))
        revenue = float(urgency.cdf(r_star)) * price
        surplus = _quad(lambda r: -float(urgency.cdf(r) * full.utility_dr(r)), low, r_star, bps)
        welfare = revenue + surplus  # by parts, as in screen_constant_delay
        s_grid = np.where(grid <= r_star, 1.0, 0.0)
        p_grid = np.where(grid <= r_star, price, 0.0)
        served_types = types <= r_star
        posted = check_menu(
            types,
            np.where(served_types[None, :], full.utility(types)[:, None], 0.0),
            np.where(served_types, price, 0.0),
        )
        notes = [
            f"pointwise schedule not implementable ({'; '.join(notes)}): fell back to a posted "
            f"price {price:.12g} for the full-speed model, serving [{low:.6g}, {r_star:.12g}]; "
            f"check_menu on {_CHECK_TYPES} types: max gain {posted.max_gain:.3g}, "
            f"min surplus {posted.min_surplus:.3g}"
        ]
    rows = tuple(
        MenuRow(
            float(r),
            None if s > 0 else 0.0,
            float(p) if s > 0 else 0.0,
            bool(s > 0),
            {"speed": float(s), "volatility": full.volatility * math.sqrt(s)},
        )
        for r, s, p in zip(grid, s_grid, p_grid, strict=True)
    )
    return PolicySolution(
        name="diffusion menu",
        kind="diffusion",
        revenue=revenue,
        user_surplus=surplus,
        welfare=welfare,
        menu=rows,
        notes="; ".join(notes),
    )
