r"""The upper concave envelope of a log-target, and the types it pools (ironing).

Without a cost per token, the optimal menu's threshold type is
:math:`\rho^*(t) = \arg\max_r \ell(r) - rt` with :math:`\ell = \log G` (Theorem 1) or
:math:`\ell = \log q + \log G` (Section 4, heterogeneous valuations); type :math:`r`'s cap is
the slope of the upper concave envelope :math:`\hat\ell` at :math:`r` (docs/paper-notes.md,
"The optimal menu for any urgency distribution"). Where :math:`\hat\ell > \ell`, the types of
the chord share its slope: :func:`concave_pools` finds these intervals, :func:`ironed_pools` for
:math:`\ell = \log G`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

__all__ = ["HULL_GRID", "LogTarget", "Pool", "concave_pools", "ironed_pools", "log_cdf_target"]

#: Points of the grid on which the concave envelope is first located.
HULL_GRID = 4001


@dataclass(frozen=True)
class Pool:
    """Types in ``[low, high]`` pooled on one time cap ``cap`` (the envelope's chord slope)."""

    low: float
    high: float
    cap: float


@dataclass(frozen=True)
class LogTarget:
    r""":math:`\ell` (``value``) and :math:`\ell'` (``slope``) on ``[low, high]``, smooth
    between the sorted points ``kinks``; :math:`\ell(\underline r) = -\infty`."""

    value: Callable
    slope: Callable
    low: float
    high: float
    kinks: tuple[float, ...]


def log_cdf_target(urgency) -> LogTarget:
    r""":math:`\ell = \log G`, :math:`\ell' = g/G` (Theorem 1)."""
    return LogTarget(
        urgency.log_cdf, urgency.reverse_hazard, float(urgency.low), float(urgency.high),
        tuple(urgency.breakpoints()),
    )  # fmt: skip


def _upper_hull(x: NDArray, y: NDArray) -> list[int]:
    """Indices of the upper concave hull of the points (x, y), x increasing."""
    hull: list[int] = []
    for i in range(x.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # Drop b if it lies on or below the chord from a to i.
            if (y[b] - y[a]) * (x[i] - x[a]) <= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def _support_point(target: LogTarget, s: float, lo: float, hi: float) -> float:
    """argmax of :math:`\\ell(r) - s r` over [lo, hi], for a neighbourhood of a tangency."""
    h_lo = float(target.slope(lo)) - s
    h_hi = float(target.slope(hi)) - s
    if h_lo > 0 > h_hi:
        return brentq(lambda r: float(target.slope(r)) - s, lo, hi, xtol=1e-15, rtol=1e-15)
    # No interior stationary point: the best of the ends and any kinks in between.
    cand = [lo, hi] + [b for b in target.kinks if lo < b < hi]
    vals = [float(target.value(c)) - s * c for c in cand]
    return cand[int(np.argmax(vals))]


def concave_pools(target: LogTarget, grid_size: int = HULL_GRID) -> tuple[Pool, ...]:
    """The intervals where the concave envelope of :math:`\\ell` lies above it.

    The envelope is located on a grid (dense near the lowest type, where
    :math:`\\ell\\to-\\infty`) and each chord is refined to machine precision by iterating
    tangents: given a slope ``s``, the tangency points on either side maximise
    :math:`\\ell(r) - sr`; the new slope is the chord's between them.
    """
    lo, hi = target.low, target.high
    x = np.concatenate([np.geomspace(1e-10, 1e-2, 200), np.linspace(0.0, 1.0, grid_size)[1:]])
    r = np.unique(np.concatenate([lo + (hi - lo) * x, list(target.kinks)]))
    r = r[(r > lo) & (r <= hi)]
    ell = np.asarray(target.value(r), dtype=float)
    finite = np.isfinite(ell)
    r, ell = r[finite], ell[finite]
    slopes = np.diff(ell) / np.diff(r)
    if np.all(np.diff(slopes) <= 1e-12 * np.maximum(1.0, np.abs(slopes[1:]))):
        return ()  # the target is concave on the grid: nothing to pool
    hull = _upper_hull(r, ell)
    pools = []
    scale = max(1.0, float(np.abs(ell).max()))
    for a_i, b_i in zip(hull[:-1], hull[1:], strict=True):
        if b_i - a_i < 2:
            continue
        chord = ell[a_i] + (ell[b_i] - ell[a_i]) * (r[a_i + 1 : b_i] - r[a_i]) / (r[b_i] - r[a_i])
        if np.max(chord - ell[a_i + 1 : b_i]) <= 1e-12 * scale:
            continue
        a_rng = (r[max(a_i - 1, 0)], r[min(a_i + 1, r.size - 1)])
        b_rng = (r[max(b_i - 1, 0)], r[min(b_i + 1, r.size - 1)])
        a, b = r[a_i], r[b_i]
        s = (ell[b_i] - ell[a_i]) / (b - a)
        for _ in range(100):
            a = _support_point(target, s, *a_rng)
            b = _support_point(target, s, *b_rng)
            s_new = (float(target.value(b)) - float(target.value(a))) / (b - a)
            if abs(s_new - s) <= 4e-16 * abs(s):
                s = s_new
                break
            s = s_new
        pools.append(Pool(float(a), float(b), float(s)))
    return tuple(pools)


def ironed_pools(urgency, grid_size: int = HULL_GRID) -> tuple[Pool, ...]:
    """The intervals where the concave envelope of :math:`\\log G` lies above it
    (:func:`concave_pools` of :func:`log_cdf_target`)."""
    return concave_pools(log_cdf_target(urgency), grid_size)
