r"""A cost per token (Section 2.1; docs/paper-notes.md, erratum 12): the profit-maximising
allocation and the first best.

The platform pays :math:`c` per token; a type capped at :math:`T` uses
:math:`\chi E[\min(\tau, T)] = \chi\int_0^T S` tokens. Profit, as an integral over running time
(:mod:`market.theory.threshold`), is

.. math:: \Pi = \int_0^\infty S(t)\,\Psi(\rho(t), t)\,dt, \qquad
   \Psi(r, t) = G(r)\,[q(r)h(t)e^{-rt} - c\chi],

so the best threshold is :math:`\rho^*(t) = \arg\max_r \Psi(r, t)`, nobody served (:math:`G = 0`)
where the maximum is :math:`\le 0`. :class:`ProfitAllocation` computes it: the argmax on a grid
of types, polished to a root of :math:`\partial_r\Psi`, on a grid of times; the monotonicity of
:math:`\rho^*` — which token caps need — is checked there (:class:`AllocationError` otherwise);
jumps of :math:`\rho^*` (two local maxima tying) are located by bisection to machine precision
and become pools. Between grid times, the cap :math:`T(r) = \sup\{t : \rho^*(t) \ge r\}` is the
root in :math:`t` of the first-order condition :math:`\partial_r\Psi(r, t) = 0`. Even the most
patient type gets a finite cap: with an exponential stopping time of rate :math:`\lambda`,
:math:`T(\underline r) = \ln(\lambda q/(c\chi))/\underline r`, its first best
(:func:`first_best_caps`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.optimize import golden_max
from market.theory.envelope import Pool
from market.theory.threshold import INVERSE_STEPS
from market.theory.valuation import Valuation

__all__ = ["AllocationError", "ProfitAllocation", "check_cost", "first_best_caps", "hazard_of"]

#: Points of the time grid of the threshold table, and of the type grid of each argmax.
TIME_GRID = 600
TYPE_GRID = 1201
#: Bisection steps that locate a jump of the threshold type (2^-56 of a grid step).
JUMP_STEPS = 56
#: A drop of the threshold type larger than this share of the support, over a time interval of
#: 2^-56 grid steps, is a jump (a pool); the threshold may rise by at most MONOTONE_TOL. After
#: JUMP_SCREEN halvings, drops that halve with the interval are smooth declines and dropped
#: (a jump of at least ~2^-JUMP_SCREEN of the drop over a grid step is kept).
JUMP_SHARE = 1e-6
MONOTONE_TOL = 1e-9
#: Points of the grid on which a transient hazard is bounded and first-best caps are located.
HAZARD_GRID = 2001
FIRST_BEST_GRID = 257
#: Most argmax problems solved at once (memory: this times TYPE_GRID doubles).
CHUNK = 2000
#: Most iterations of a root search (Chandrupatla converges in ~10; bisection alone in ~60).
ROOT_STEPS = 200
#: Bisection steps applied to every candidate jump of the threshold before a candidate is
#: dropped as a smooth decline (its drop halves with the interval, a jump's does not).
JUMP_SCREEN = 12


def check_cost(cost) -> float:
    """``cost`` as a float, or a one-line error naming it (a finite number >= 0 expected)."""
    if isinstance(cost, bool) or not isinstance(cost, int | float | np.integer | np.floating):
        raise ValueError(f"cost = {cost!r}: expected a number >= 0 (currency per token)")
    if not (math.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost = {cost!r}: expected a finite number >= 0 (currency per token)")
    return float(cost)


class AllocationError(ValueError):
    """The profit-maximising threshold type is not monotone: no menu of caps implements it."""


def hazard_of(model):
    """The breakthrough hazard :math:`h = f/S` of a model (``model.hazard`` if it has one)."""
    hazard = getattr(model, "hazard", None)
    if hazard is not None:
        return hazard
    return lambda t: model.density(t) / model.survival(t)


def _roots(fun, a: NDArray, b: NDArray, args=()) -> tuple[NDArray, NDArray]:
    """Roots of ``fun`` in ``[a, b]`` elementwise (Chandrupatla); ``ok`` where the bracket
    holds a sign change."""
    fa, fb = fun(a, *args), fun(b, *args)
    ok = (np.sign(fa) * np.sign(fb) <= 0) & (a < b)
    x = np.where(fa == 0, a, b)
    sel = ok & (fa != 0) & (fb != 0)
    if np.any(sel):
        sub = tuple(np.broadcast_to(arg, a.shape)[sel] for arg in args)
        x[sel] = chandrupatla(fun, a[sel], b[sel], fa[sel], fb[sel], sub)
    return x, ok


def chandrupatla(fun, a: NDArray, b: NDArray, fa: NDArray, fb: NDArray, args=(),
                 rtol: float = 4e-16, steps: int = ROOT_STEPS) -> NDArray:  # fmt: skip
    """Vectorised Chandrupatla (1997) root finding on brackets ``[a, b]`` with values of
    opposite signs (inverse quadratic interpolation when it is safe, bisection otherwise),
    to ``rtol`` relative. A light version of :func:`scipy.optimize.elementwise.find_root`:
    the same method, without its per-call overhead (~10 ms), which dominated the profit
    allocation (one call per cap evaluation)."""
    x1, f1, x2, f2 = a.astype(float), fa.astype(float), b.astype(float), fb.astype(float)
    x3, f3 = x2.copy(), f2.copy()
    t = np.full(x1.shape, 0.5)
    out = np.where(np.abs(f1) < np.abs(f2), x1, x2)
    active = np.arange(x1.size)
    for _ in range(steps):
        xt = x1 + t * (x2 - x1)
        ft = fun(xt, *(arg[active] for arg in args))
        same = np.sign(ft) == np.sign(f1)
        x3, f3 = np.where(same, x1, x2), np.where(same, f1, f2)
        x2, f2 = np.where(same, x2, x1), np.where(same, f2, f1)
        x1, f1 = xt, ft
        small = np.abs(f1) < np.abs(f2)
        xm, fm = np.where(small, x1, x2), np.where(small, f1, f2)
        out[active] = xm
        width = np.abs(x2 - x1)
        tol = 2 * rtol * np.abs(xm) + 1e-300
        tl = tol / np.where(width > 0, width, 1.0)
        done = (tl > 0.5) | (fm == 0) | (width == 0) | ~np.isfinite(fm)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = (x1 - x2) / (x3 - x2)
            phi = (f1 - f2) / (f3 - f2)
            iqi = (phi**2 < xi) & ((1 - phi) ** 2 < 1 - xi)
            first = f1 / (f2 - f1) * f3 / (f2 - f3)
            t_iqi = first + (x3 - x1) / (x2 - x1) * f1 / (f3 - f1) * f2 / (f3 - f2)
        t = np.where(iqi & np.isfinite(t_iqi), t_iqi, 0.5)
        t = np.clip(t, tl, 1 - tl)
        keep = ~done
        if not np.any(keep):
            break
        active = active[keep]
        x1, f1, x2, f2, x3, f3, t = (v[keep] for v in (x1, f1, x2, f2, x3, f3, t))
    return out


class ProfitAllocation:
    r"""Profit-maximising caps with a cost ``cost`` (:math:`c`) per token.

    Parameters
    ----------
    model : ConversationModel
        The deployed model (its hazard :math:`h`, survival :math:`S`, token rate :math:`\chi`).
    urgency : UrgencyDistribution
        :math:`G`.
    valuation : Valuation or None
        :math:`q` (None: :math:`q \equiv 1`).
    cost : float
        :math:`c > 0`, currency per token.
    """

    def __init__(self, model, urgency, valuation: Valuation | None, cost: float):
        self.model, self.urgency, self.cost = model, urgency, float(cost)
        self.valuation = valuation
        self._q = valuation if valuation is not None else Valuation.constant()
        self.k = self.cost * float(model.token_rate)
        self.low, self.high = float(urgency.low), float(urgency.high)
        self._hazard = hazard_of(model)
        self._r = self._type_grid()
        self._g = np.asarray(urgency.cdf(self._r), dtype=float)
        self._qr = self._q.q(self._r)
        self._tab_t, self._tab_rho, self.pools = self._table()
        self.top = float(self._tab_rho[0])
        self.end = self._end()

    # -- the pointwise problem --------------------------------------------------------
    def _type_grid(self) -> NDArray:
        lo, hi = self.low, self.high
        x = np.concatenate([np.geomspace(1e-10, 1e-2, 120), np.linspace(0, 1, TYPE_GRID)[1:]])
        levels = np.array([1e-6, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1 - 1e-3])
        extra = [*self.urgency.breakpoints(), *self.urgency.ppf(levels)]
        r = np.unique(np.concatenate([lo + (hi - lo) * x, extra]))
        r = r[(r > lo) & (r <= hi)]
        keep = np.concatenate([[True], np.diff(r) > 1e-9 * (hi - lo)])
        return r[keep]

    def psi(self, r: ArrayLike, t: ArrayLike) -> NDArray:
        """:math:`\\Psi(r, t) = G(r)[q(r)h(t)e^{-rt} - c\\chi]` (profit rate per survivor)."""
        r, t = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(t, dtype=float))
        h = self._hazard(t)
        return self.urgency.cdf(r) * (self._q.q(r) * h * np.exp(-r * t) - self.k)

    def dpsi(self, r: ArrayLike, t: ArrayLike) -> NDArray:
        """:math:`\\partial_r\\Psi = g[qhe^{-rt} - c\\chi] + G(q' - tq)he^{-rt}`."""
        r, t = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(t, dtype=float))
        q, dq = self._q.values(r)
        he = self._hazard(t) * np.exp(-r * t)
        with np.errstate(invalid="ignore"):
            return self.urgency.pdf(r) * (q * he - self.k) + self.urgency.cdf(r) * (dq - t * q) * he

    def threshold(self, t: ArrayLike) -> NDArray:
        """:math:`\\rho^*(t)`; :math:`\\underline r` where nobody is served."""
        t = np.asarray(t, dtype=float)
        flat = t.ravel()
        out = np.empty(flat.size)
        for s in range(0, flat.size, CHUNK):
            out[s : s + CHUNK] = self._argmax(flat[s : s + CHUNK])
        return out.reshape(t.shape)

    def _argmax(self, t: NDArray) -> NDArray:
        h = self._hazard(t)
        value = self._qr[None, :] * h[:, None] * np.exp(-np.outer(t, self._r))
        psi = self._g[None, :] * (value - self.k)
        j = np.argmax(psi, axis=1)
        grid_best = psi[np.arange(t.size), j]
        n = self._r.size
        a = np.where(j > 0, self._r[np.maximum(j - 1, 0)], self.low)
        b = self._r[np.minimum(j + 1, n - 1)]
        root, ok = _roots(lambda r, tt: self.dpsi(r, tt), a, b, (t,))
        corner = (j == n - 1) & (self.dpsi(np.full(t.size, self.high), t) >= 0)
        best = np.where(corner, self.high, np.where(ok, root, self._r[j]))
        rest = ~ok & ~corner
        if np.any(rest):  # no sign change of the derivative (a kink): golden section
            wide_a = np.where(j > 1, self._r[np.maximum(j - 2, 0)], self.low)[rest]
            wide_b = self._r[np.minimum(j + 2, n - 1)][rest]
            x, _ = golden_max(lambda r: self.psi(r, t[rest]), wide_a, wide_b)
            best[rest] = x
        served = np.maximum(grid_best, self.psi(best, t)) > 0
        return np.where(served, best, self.low)

    # -- the threshold table ------------------------------------------------------------
    def _horizon(self) -> float:
        """A time after which nobody is served: :math:`q_{\\max}h_{\\max}e^{-\\underline r t}
        \\le c\\chi`."""
        switches = tuple(getattr(self.model, "switch_times", ()))
        span = (max(switches) if switches else 0.0) + float(self.model.expected_time)
        h_max = float(np.max(self._hazard(np.linspace(0.0, span, HAZARD_GRID))))
        q_max = float(np.max(self._qr)) * 1.01
        return max(np.log(q_max * h_max * 1.01 / self.k), 0.0) / self.low

    def _table(self) -> tuple[NDArray, NDArray, tuple[Pool, ...]]:
        t_hi = self._horizon()
        switches = [s for s in getattr(self.model, "switch_times", ()) if 0 < s < t_hi]
        t = np.unique(np.concatenate([np.linspace(0.0, t_hi, TIME_GRID), switches]))
        rho = self.threshold(t)
        rise = np.diff(rho) > MONOTONE_TOL * (self.high - self.low)
        if np.any(rise):
            i = int(np.argmax(rise))
            raise AllocationError(
                f"cost = {self.cost:g}: the profit-maximising threshold type rises from "
                f"{rho[i]:.6g} at t = {t[i]:.6g} to {rho[i + 1]:.6g} at t = {t[i + 1]:.6g}: no "
                "menu of token caps implements it (docs/paper-notes.md, erratum 12)"
            )
        return self._jumps(t, rho)

    def _jumps(self, t: NDArray, rho: NDArray) -> tuple[NDArray, NDArray, tuple[Pool, ...]]:
        """Insert the jumps of :math:`\\rho^*` (located by bisection) into the table."""
        big = JUMP_SHARE * (self.high - self.low)
        idx = np.flatnonzero(rho[:-1] - rho[1:] > big)
        a, b = t[idx], t[idx + 1]
        ra, rb = rho[idx], rho[idx + 1]
        for step in range(JUMP_STEPS):
            if a.size == 0:
                break
            mid = 0.5 * (a + b)
            rm = self.threshold(mid)
            drop = ra - rb
            left = ra - rm >= rm - rb  # keep the half with the larger drop
            a, b = np.where(left, a, mid), np.where(left, mid, b)
            ra, rb = np.where(left, ra, rm), np.where(left, rm, rb)
            if step >= JUMP_SCREEN:  # a smooth decline halves its drop, a jump keeps it
                keep = ra - rb > 0.75 * drop
                a, b, ra, rb = a[keep], b[keep], ra[keep], rb[keep]
        jump = ra - rb > big
        ends = zip(rb[jump], ra[jump], a[jump], b[jump], strict=True)
        pools = tuple(Pool(float(lo), float(hi), float(0.5 * (x + y))) for lo, hi, x, y in ends)
        times = np.concatenate([t, [p.cap for p in pools] * 2])
        values = np.concatenate([rho, [p.high for p in pools], [p.low for p in pools]])
        order = np.lexsort((-values, times))
        return times[order], values[order], pools

    def _end(self) -> float:
        """:math:`T(\\underline r)`: when even the most patient type stops being served."""
        below = [p.cap for p in self.pools if p.low <= self.low]
        if below:
            return below[0]
        if self.top <= self.low:
            return 0.0
        i = int(np.flatnonzero(self._tab_rho > self.low)[-1])
        q0 = float(self._q.q(np.array([self.low]))[0])

        def margin(tt):
            return q0 * self._hazard(tt) * np.exp(-self.low * tt) - self.k

        x, ok = _roots(margin, self._tab_t[i : i + 1], self._tab_t[i + 1 : i + 2])
        return float(x[0]) if ok[0] else float(self._tab_t[i + 1])

    # -- the caps -------------------------------------------------------------------------
    def cap(self, r: ArrayLike) -> NDArray:
        """Time cap :math:`T(r)`: 0 above the most urgent type served, one cap per pool,
        else the root of :math:`\\partial_r\\Psi(r, \\cdot)` between two rows of the table."""
        r = np.asarray(r, dtype=float)
        flat = r.ravel()
        out = np.zeros(flat.size)
        inner = (flat > self.low) & (flat < self.top)
        for p in self.pools:
            inside = (flat >= p.low) & (flat <= p.high)
            out[inside] = p.cap
            inner &= ~inside
        out[flat <= self.low] = self.end
        if self.top >= self.high and self.top > self.low:
            inner |= flat == self.top
        if np.any(inner):
            out[inner] = self._inverse(flat[inner])
        return out.reshape(r.shape)

    def _inverse(self, r: NDArray) -> NDArray:
        i = np.searchsorted(-self._tab_rho, -r, side="right") - 1
        i = np.clip(i, 0, self._tab_t.size - 2)
        a, b = self._tab_t[i], self._tab_t[i + 1]
        x, ok = _roots(lambda tt, rr: self.dpsi(rr, tt), a, b, (r,))
        if not np.all(ok):  # no sign change: bisect on the threshold itself
            lo, hi, rr = a[~ok], b[~ok], r[~ok]
            for _ in range(INVERSE_STEPS):
                mid = 0.5 * (lo + hi)
                above = self.threshold(mid) >= rr
                lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
            x[~ok] = lo
        return x

    def breakpoints(self) -> list[float]:
        """Types where the cap has a kink: the pools' ends and the most urgent type served."""
        out = {self.low, self.high, self.top}
        for p in self.pools:
            out |= {p.low, p.high}
        return sorted(x for x in out if self.low <= x <= self.high)


def first_best_caps(model, r: ArrayLike, q: ArrayLike, cost: float) -> NDArray:
    r"""Each type's own best cap with a cost :math:`c`: the maximiser of
    :math:`q\,E[e^{-r\tau}1\{\tau\le T\}] - c\chi E[\min(\tau, T)]`, a downward crossing of
    :math:`q\,h(t)e^{-rt} = c\chi`. On the stationary phase (hazard :math:`\lambda`) it is
    :math:`\ln(\lambda q/(c\chi))/r`; crossings on transient phases are located on a grid,
    refined by root finding, and the best candidate kept. ``inf`` if ``cost`` is 0."""
    r, q = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(q, dtype=float))
    k = float(cost) * float(model.token_rate)
    if k <= 0:
        return np.full(r.shape, np.inf)
    hazard = hazard_of(model)
    switches = tuple(getattr(model, "switch_times", ()))
    t_s = max(switches) if switches else 0.0
    rate = float(hazard(np.array([t_s + 1.0]))[0])
    with np.errstate(divide="ignore"):
        tail = np.log(q * rate / k) / r
    cands = [np.zeros(r.shape), np.where(tail > t_s, tail, 0.0)]
    if t_s > 0:
        grid = np.linspace(0.0, t_s, FIRST_BEST_GRID)
        margin = q[..., None] * hazard(grid) * np.exp(-r[..., None] * grid) - k
        down = (margin[..., :-1] > 0) & (margin[..., 1:] <= 0)
        for j in np.flatnonzero(down.reshape(-1, grid.size - 1).any(axis=0)):
            a, b = np.full(r.shape, grid[j]), np.full(r.shape, grid[j + 1])
            x, ok = _roots(lambda tt, rr, qq: qq * hazard(tt) * np.exp(-rr * tt) - k, a, b, (r, q))
            cands.append(np.where(ok & down[..., j], x, 0.0))
        cands.append(np.where(margin[..., -1] > 0, np.maximum(tail, t_s), 0.0))
    c = np.stack(cands, axis=-1)
    value = q[..., None] * model.laplace(r[..., None], c) - k * model.expected_truncated_time(c)
    return np.take_along_axis(c, np.argmax(value, axis=-1)[..., None], axis=-1)[..., 0]
