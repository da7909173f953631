r"""The allocation of the optimal token menu: threshold types :math:`\rho^*(t)` and caps
:math:`T(r)` (docs/paper-notes.md, "The optimal menu for any urgency distribution", errata 7 and
12).

Every type :math:`r` gets the greedy model truncated at its time cap :math:`T(r)`. Revenue (and
profit) is an integral over running time of what the *threshold type* :math:`\rho(t)` — the
most urgent type whose cap still covers :math:`t` — is worth at :math:`t`:

.. math:: \Pi = \int_0^\infty S(t)\,G(\rho(t))\big[q(\rho(t))\,h(t)\,e^{-\rho(t)t} - c\chi\big]dt,

with :math:`h = f/S` the breakthrough hazard, :math:`q` the valuation (Section 4) and :math:`c`
the cost per token (Section 2.1). The best menu maximises the integrand at every :math:`t`:

- **no cost** (:class:`EnvelopeAllocation`): :math:`\rho^*(t) = \arg\max_r \ell(r) - rt` with
  :math:`\ell = \log q + \log G`; :math:`T(r)` is the slope of the upper concave envelope of
  :math:`\ell` (:mod:`market.theory.envelope`): the paper's :math:`g/G + q'/q` where
  :math:`\ell` is concave, one cap for the types of each chord (ironing), and cap 0 — exclusion
  — for the types above :math:`\arg\max_r q(r)G(r)`;
- **a cost per token** (:class:`market.theory.costs.ProfitAllocation`): the pointwise argmax
  of :math:`G(r)[q(r)h(t)e^{-rt} - c\chi]`, nobody served where it is :math:`\le 0`.

In both, :math:`T(r) = \sup\{t : \rho^*(t) \ge r\}`; an allocation exposes ``cap(r)``,
``threshold(t)`` (:math:`\rho^*`), ``pools``, ``top`` (the most urgent type served) and
``breakpoints()`` (types where the cap has a kink).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from market.numerics.optimize import maximize
from market.theory.envelope import HULL_GRID, LogTarget, Pool, concave_pools, ironed_pools
from market.theory.valuation import Valuation

__all__ = ["EnvelopeAllocation", "valued_target"]

#: Bisection steps that invert a non-increasing cap (the interval shrinks by 2^-64).
INVERSE_STEPS = 64


def valued_target(urgency, valuation: Valuation) -> LogTarget:
    r""":math:`\ell = \log q + \log G`, :math:`\ell' = g/G + q'/q` (Section 4)."""

    def value(r):
        with np.errstate(divide="ignore"):
            return urgency.log_cdf(r) + np.log(valuation.q(r))

    def slope(r):
        return urgency.reverse_hazard(r) + valuation.log_slope(r)

    kinks = tuple(urgency.breakpoints())
    return LogTarget(value, slope, float(urgency.low), float(urgency.high), kinks)


def _argmax(target: LogTarget) -> float:
    """:math:`\\arg\\max \\ell` on the support, polished to a root of :math:`\\ell'`."""
    lo, hi = target.low, target.high
    top, _ = maximize(target.value, lo, hi, grid=HULL_GRID, points=target.kinks)
    if top >= hi or float(target.slope(hi)) >= 0 and target.value(hi) >= target.value(top):
        return hi
    step = (hi - lo) / (HULL_GRID - 1)
    a, b = max(lo + 1e-12 * (hi - lo), top - step), min(hi, top + step)
    if float(target.slope(a)) > 0 > float(target.slope(b)):
        return float(brentq(lambda r: float(target.slope(r)), a, b, xtol=1e-15, rtol=1e-15))
    return float(top)


def invert_cap(cap, t: ArrayLike, low: float, top: float) -> NDArray:
    """:math:`\\rho(t) = \\sup\\{r \\in [\\underline r, top] : T(r) > t\\}` for a non-increasing
    ``cap`` (vectorised bisection); ``low`` where no type's cap exceeds ``t``."""
    t = np.asarray(t, dtype=float)
    a, b = np.full(t.shape, low), np.full(t.shape, top)
    covered = cap(np.full(t.shape, top)) > t
    for _ in range(INVERSE_STEPS):
        mid = 0.5 * (a + b)
        above = cap(mid) > t
        a, b = np.where(above, mid, a), np.where(above, b, mid)
    return np.where(covered, top, a)


class EnvelopeAllocation:
    r"""Caps without a cost per token: the slope of the concave envelope of
    :math:`\ell = \log q + \log G` (:math:`q \equiv 1` when ``valuation`` is None).

    Parameters
    ----------
    urgency : UrgencyDistribution
        :math:`G`.
    valuation : Valuation or None
        :math:`q` (Section 4); None: :math:`q \equiv 1`, Theorem 1 exactly.
    iron : bool
        Pool the types where :math:`\ell` is not concave. ``False``: the paper's raw
        :math:`g/G + q'/q` (clipped at 0), not incentive compatible where it increases.
    """

    cost = 0.0

    def __init__(self, urgency, valuation: Valuation | None = None, iron: bool = True):
        self.urgency = urgency
        self.valuation = valuation
        self.low, self.high = float(urgency.low), float(urgency.high)
        if valuation is None:
            self.top = self.high
            self.pools: tuple[Pool, ...] = ironed_pools(urgency) if iron else ()
            return
        target = valued_target(urgency, valuation)
        #: The most urgent type served, :math:`\arg\max_r q(r)G(r)`; above it caps are 0.
        self.top = _argmax(target)
        if iron and self.top > self.low:
            restricted = LogTarget(
                target.value, target.slope, self.low, self.top,
                tuple(k for k in target.kinks if k < self.top) + (self.top,),
            )  # fmt: skip
            self.pools = concave_pools(restricted)
        else:
            self.pools = ()
        self._target = target

    @property
    def end(self) -> float:
        """:math:`T(\\underline r)`: unlimited without a cost."""
        return np.inf

    def cap(self, r: ArrayLike) -> NDArray:
        """Time cap :math:`T(r)`; ``inf``: unlimited; 0: excluded."""
        r = np.asarray(r, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.valuation is None:
                t = np.asarray(self.urgency.reverse_hazard(r), dtype=float).copy()
            else:
                t = np.asarray(self._target.slope(r), dtype=float).copy()
        t = np.where(r <= self.low, np.inf, t)
        for pool in self.pools:
            t = np.where((r >= pool.low) & (r <= pool.high), pool.cap, t)
        if self.valuation is not None:
            t = np.where(r > self.top, 0.0, np.maximum(t, 0.0))
        return t

    def threshold(self, t: ArrayLike) -> NDArray:
        """:math:`\\rho^*(t)`, the most urgent type whose cap exceeds ``t``."""
        return invert_cap(self.cap, t, self.low, self.top)

    def breakpoints(self) -> list[float]:
        """Types where the cap has a kink: the pools' ends and the most urgent type served."""
        out = {self.low, self.high, self.top}
        for p in self.pools:
            out |= {p.low, p.high}
        return sorted(out)
