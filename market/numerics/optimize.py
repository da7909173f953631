"""The one maximiser of a function of one variable, and its vectorised golden-section cousin.

:func:`maximize` locates the maximum of ``fun`` on ``[a, b]`` on a grid (plus any points
given, such as kinks) and polishes it with bounded Brent (``scipy.optimize.minimize_scalar``)
between the grid neighbours of the best point; the polished point is kept only if it is
better. Every 1-D search of the package (posted prices, marginal buyers, per-token prices,
boundary types) goes through it. :func:`golden_max` maximises many independent unimodal
problems at once (one per array entry).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize_scalar

__all__ = ["golden_max", "maximize"]

#: Golden-section steps (the bracket shrinks by 0.618^80 ~ 2e-17).
GOLDEN_STEPS = 80


def maximize(
    fun: Callable,
    a: float,
    b: float,
    *,
    grid: int = 401,
    xtol: float = 1e-13,
    points: Sequence[float] = (),
    vectorized: bool = True,
) -> tuple[float, float]:
    """``(x, fun(x))`` maximising ``fun`` on ``[a, b]``: a grid of ``grid`` points and
    ``points``, then bounded Brent to ``xtol`` around the best grid point.

    ``fun`` takes an array of points if ``vectorized`` (else one float); NaN counts as
    ``-inf``.
    """
    a, b = float(a), float(b)
    xs = np.unique(np.concatenate([np.linspace(a, b, grid), [p for p in points if a <= p <= b]]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if vectorized:
            vals = np.asarray(fun(xs), dtype=float)
        else:
            vals = np.array([float(fun(float(x))) for x in xs])
    vals = np.where(np.isnan(vals), -np.inf, vals)
    j = int(np.argmax(vals))
    best = (float(xs[j]), float(vals[j]))
    lo, hi = xs[max(j - 1, 0)], xs[min(j + 1, xs.size - 1)]
    if hi > lo:

        def negative(x: float) -> float:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                v = float(fun(np.array([x]))[0]) if vectorized else float(fun(x))
            return math.inf if math.isnan(v) else -v

        res = minimize_scalar(negative, bounds=(lo, hi), method="bounded", options={"xatol": xtol})
        if -res.fun > best[1]:
            best = (float(res.x), float(-res.fun))
    return best


def golden_max(
    fun: Callable[[NDArray], NDArray], a: NDArray, b: NDArray, steps: int = GOLDEN_STEPS
) -> tuple[NDArray, NDArray]:
    """Vectorised golden-section search: the maximum of ``fun`` on each ``[a_i, b_i]``.

    ``fun`` maps an array of points (one per problem) to their values. Returns the points and
    the values.
    """
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
