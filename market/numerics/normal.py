r"""Normal-distribution and root-finding helpers of the urgency laws (:mod:`market.theory.urgency`).

This module holds:

- :func:`log_normal_mass`, :math:`\log(\Phi(b) - \Phi(a))` to full relative precision
  (Gauss-Legendre on short intervals, a non-cancelling difference of ``log_ndtr`` otherwise);
- :func:`ndtri_exp`, the inverse of :math:`\log\Phi` polished by one Newton step;
- :func:`log_sum_exp`, a weighted log-sum-exp that allows infinite terms;
- :func:`bracketed_newton`, a vectorised safeguarded Newton iteration for ``cdf(x) = u``
  (Press et al. 2007, Section 9.4, ``rtsafe``);
- :func:`as_array`, an input as a float array; and the constants these use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

#: Gauss-Legendre nodes for the normal mass of a short interval (see ``log_normal_mass``).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)
#: An interval [a, b] (in standard deviations) is "short" if b - a <= _SHORT_WIDTH and
#: (b - a) * max(|a|, |b|) <= _SHORT_SPREAD: there the density varies by at most a factor
#: e^(_SHORT_SPREAD + _SHORT_WIDTH^2 / 8) and 12-point Gauss-Legendre is exact to rounding,
#: while outside it the log_ndtr difference loses at most a few digits.
_SHORT_WIDTH = 1.5
_SHORT_SPREAD = 3.0
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: Iteration cap of the bracketed Newton iteration (used for the mixture quantiles).
_PPF_MAX_ITER = 100


def as_array(x: ArrayLike) -> NDArray:
    return np.asarray(x, dtype=float)


def log_sum_exp(logs: NDArray, log_weights: NDArray) -> NDArray:
    """:math:`\\log\\sum_k e^{\\ell_k + \\log w_k}` over axis 0, allowing ``-inf`` and ``inf``."""
    terms = logs + log_weights.reshape((-1,) + (1,) * (logs.ndim - 1))
    top = np.max(terms, axis=0)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return shift + np.log(np.sum(np.exp(terms - shift), axis=0))


def log_normal_mass(a: NDArray, b: NDArray) -> NDArray:
    """:math:`\\log(\\Phi(b) - \\Phi(a))` for ``a <= b``, to full relative precision.

    Short intervals (where any difference of :math:`\\Phi` or :math:`\\log\\Phi` values cancels)
    are integrated by Gauss-Legendre; long ones take the difference on the side of the
    mean where it does not cancel: :math:`\\log\\Phi(b) + \\log(1 - e^{\\log\\Phi(a) -
    \\log\\Phi(b)})` left of 0, its mirror image right of 0, and :math:`\\log(1 - \\Phi(a) -
    \\Phi(-b))` across 0.
    """
    a, b = np.broadcast_arrays(as_array(a), as_array(b))
    out = np.full(a.shape, np.nan)
    width = b - a
    short = (width <= _SHORT_WIDTH) & (width * np.maximum(np.abs(a), np.abs(b)) <= _SHORT_SPREAD)
    left = ~short & (b <= 0)
    right = ~short & (a >= 0)
    across = ~short & ~left & ~right & (width > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if short.any():
            # phi(c + h y) = phi(c) exp(-c h y - h^2 y^2 / 2), |c h| <= _SHORT_SPREAD / 2.
            c, h = 0.5 * (a[short] + b[short]), 0.5 * width[short]
            ch, hh = c * h, 0.5 * h**2
            total = np.zeros(c.shape)
            for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
                total += weight * np.exp(-(node * ch + node**2 * hh))
            out[short] = np.log(h) - 0.5 * c**2 - LOG_SQRT_2PI + np.log(total)
        if left.any():
            la, lb = special.log_ndtr(a[left]), special.log_ndtr(b[left])
            out[left] = lb + np.log(-np.expm1(la - lb))
        if right.any():
            la, lb = special.log_ndtr(-b[right]), special.log_ndtr(-a[right])
            out[right] = lb + np.log(-np.expm1(la - lb))
        if across.any():
            out[across] = np.log1p(-(special.ndtr(a[across]) + special.ndtr(-b[across])))
    return out


def ndtri_exp(y: NDArray) -> NDArray:
    """x with :math:`\\log\\Phi(x) = y`: ``ndtri_exp`` and one Newton step on ``log_ndtr``
    (``ndtri_exp`` alone is off by tens of ulps of y in the far left tail)."""
    x = special.ndtri_exp(y)
    log_cdf = special.log_ndtr(x)
    with np.errstate(over="ignore", invalid="ignore"):
        # d log Phi / dx = phi(x) / Phi(x)
        step = (y - log_cdf) * np.exp(log_cdf + 0.5 * x**2 + LOG_SQRT_2PI)
    return np.where(np.isfinite(step), x + step, x)


def bracketed_newton(
    cdf: Callable[[NDArray], NDArray],
    pdf: Callable[[NDArray], NDArray],
    u: NDArray,
    lo: NDArray,
    hi: NDArray,
    x: NDArray,
    tol: float,
    rtol: float = 0.0,
) -> NDArray:
    """Solve ``cdf(x) = u`` elementwise, given ``cdf(lo) < u <= cdf(hi)`` and a start ``x``.

    Newton's method, replaced by bisection whenever its step leaves the bracket or fails
    to halve the step before last (Press et al. 2007, Section 9.4, ``rtsafe``); the bracket
    keeps ``cdf(lo) < u <= cdf(hi)``, so the limit is :math:`\\inf\\{x: G(x) \\ge u\\}`.
    An entry stops when its Newton step or its bracket is below ``tol`` or ``rtol`` times
    ``|x|``; only unfinished entries are evaluated.
    """
    lo, hi, x = lo.copy(), hi.copy(), x.copy()
    step = hi - lo
    prev_step = step.copy()
    active = np.arange(u.size)
    for _ in range(_PPF_MAX_ITER):
        if active.size == 0:
            break
        xa = x[active]
        f = cdf(xa) - u[active]
        la = lo[active] = np.where(f < 0, xa, lo[active])
        ha = hi[active] = np.where(f >= 0, xa, hi[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = f / pdf(xa)
        limit = np.maximum(tol, rtol * np.abs(xa))
        converged = (f == 0) | (np.isfinite(newton) & (np.abs(newton) <= limit))
        x_new = xa - np.where(f == 0, 0.0, newton)
        bisect = ~converged & (
            ~np.isfinite(x_new)
            | (x_new <= la)
            | (x_new >= ha)
            | (np.abs(newton) > 0.5 * np.abs(prev_step[active]))
        )
        x_new = np.where(bisect, 0.5 * (la + ha), np.clip(x_new, la, ha))
        prev_step[active] = step[active]
        step[active] = x_new - xa
        x[active] = x_new
        active = active[~(converged | (ha - la <= limit))]
    return x
