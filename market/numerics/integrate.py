r"""The one integral over types: :math:`\int_a^b g(r)\,h(r)\,dr` for any urgency law.

Every expected value over the users' urgency :math:`r \sim G` (revenue, surplus, welfare,
participation, tokens) goes through :func:`expect`. The support is cut at the breakpoints (the
urgency's own and those given, where ``h`` may have a kink). On a segment where the density
is infinite at an end (a Beta law with ``a < 1`` or ``b < 1``), steep, or too concentrated for
a grid to see (a normal truncated far in its tail puts all its mass within 1e-7 of an end), the
integral is taken in quantile space, :math:`\int h(G^{-1}(u))\,du`, where nothing is infinite
and no mass hides; elsewhere in type space, :math:`\int g h\,dr`, where :math:`G^{-1}` may
have an infinite slope (a density that vanishes at an end). Both are integrated by adaptive
piecewise Chebyshev interpolation (:func:`integrate`).

:func:`type_nodes` gives fixed Gauss-Legendre nodes and weights with the same split, for
optimisers that need a cheap, smooth approximation of the same integral.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from market.numerics.chebyshev import fit_panels

__all__ = ["RTOL", "expect", "integrate", "type_nodes"]

#: Relative accuracy of the piecewise Chebyshev integrals.
RTOL = 1e-13
#: Points at which an integrand is probed to set the scale of the accuracy target.
SCALE_PROBES = 65


def integrate(func: Callable[[NDArray], NDArray], breakpoints: Sequence[float]) -> float:
    r""":math:`\int` of a vectorised ``func`` between the first and last of ``breakpoints``.

    ``breakpoints`` are sorted; ``func`` must be smooth between consecutive ones. Exact
    integral of an adaptive piecewise Chebyshev interpolant (relative accuracy :data:`RTOL`
    of the integrand's largest value).
    """
    bps = np.unique(np.asarray(breakpoints, dtype=float))
    if bps.size < 2 or bps[-1] <= bps[0]:
        return 0.0
    grid = np.linspace(bps[0], bps[-1], SCALE_PROBES)
    with np.errstate(invalid="ignore", over="ignore"):
        probe = np.abs(np.asarray(func(grid), dtype=float))
    scale = float(np.max(probe, initial=0.0, where=np.isfinite(probe)))
    return fit_panels(func, bps, rtol=RTOL, scale=max(scale, 1e-300)).integral()


#: Probe points per segment for the test of whether a grid resolves the density.
RESOLVE_PROBES = 257
#: A segment is integrated in type space only if the trapezoid rule on the probes recovers its
#: probability mass to this relative accuracy (the density has no spike the grid misses) ...
RESOLVE_RTOL = 1e-3
#: ... and its density varies by at most this factor across it, or vanishes at an end (a
#: steeper density is smooth in quantile space, while in type space its value near an end of
#: the support depends on r - low, which keeps few digits).
STEEP = math.inf


def _in_quantiles(urgency, p: float, q: float) -> bool | None:
    """Whether to integrate ``[p, q]`` in quantile space; None if it carries no probability.

    Quantile space where the density is infinite, steep or unresolved by a grid; type space
    where it is gentle, or vanishes at an end (there :math:`G^{-1}` has an infinite slope).
    """
    mass = float(urgency.cdf(q)) - float(urgency.cdf(p))
    if not mass > 0:
        return None
    x = np.linspace(p, q, RESOLVE_PROBES)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        g = np.asarray(urgency.pdf(x), dtype=float)
    if not np.all(np.isfinite(g)):
        return True
    trapezoid = float(np.sum((g[1:] + g[:-1]) * np.diff(x)) / 2)
    if abs(trapezoid - mass) > RESOLVE_RTOL * mass:
        return True
    low = g.min()
    return low > 0 and g.max() > STEEP * low


def _pieces(urgency, edges: list[float]) -> list[tuple[float, float, bool]]:
    """The segments between consecutive ``edges`` that carry probability, as ``(lo, hi,
    in_quantiles)`` (:func:`_in_quantiles`)."""
    out = []
    for p, q in zip(edges[:-1], edges[1:], strict=True):
        space = _in_quantiles(urgency, float(p), float(q))
        if space is not None:
            out.append((float(p), float(q), space))
    return out


def expect(
    urgency,
    func: Callable[[NDArray], NDArray],
    a: float | None = None,
    b: float | None = None,
    breakpoints: Sequence[float] = (),
) -> float:
    r""":math:`\int_a^b g(r)\,h(r)\,dr` for a vectorised ``h = func`` (default: the support).

    Parameters
    ----------
    urgency : UrgencyDistribution
        :math:`G` (``pdf``, ``cdf``, ``ppf``, ``breakpoints``).
    func : callable
        :math:`h`, vectorised over an array of urgencies.
    a, b : float, optional
        The interval of types (clipped to the support).
    breakpoints : sequence of float
        Types where ``h`` may have a kink (plan boundaries, pooling intervals); the urgency's
        own breakpoints are added.
    """
    lo, hi = float(urgency.low), float(urgency.high)
    a = lo if a is None else max(float(a), lo)
    b = hi if b is None else min(float(b), hi)
    if not b > a:
        return 0.0
    kinks = (*urgency.breakpoints(), *breakpoints)
    edges = sorted({a, b, *(float(x) for x in kinks if a < x < b)})
    total = 0.0
    for p, q, in_quantiles in _pieces(urgency, edges):
        if in_quantiles:

            def of_quantile(u, p=p, q=q):
                return func(np.clip(urgency.ppf(u), p, q))

            total += integrate(of_quantile, [float(urgency.cdf(p)), float(urgency.cdf(q))])
        else:
            total += integrate(lambda r: urgency.pdf(r) * func(r), [p, q])
    return total


@functools.lru_cache(maxsize=8)
def _leggauss(nodes: int) -> tuple[NDArray, NDArray]:
    """Gauss-Legendre nodes and weights on [-1, 1], computed once per order (read only)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def type_nodes(urgency, a: float, b: float, nodes: int = 32, pieces: int = 4) -> tuple:
    r"""Gauss-Legendre nodes :math:`r_k` and weights :math:`w_k` with
    :math:`\sum_k w_k h(r_k) \approx \int_a^b g h\,dr`: ``nodes`` points on each of ``pieces``
    sub-intervals between breakpoints, in quantile space near an end where the density is
    infinite (as :func:`expect`). Returns ``(r, w)``."""
    x, w = _leggauss(nodes)
    lo, hi = float(urgency.low), float(urgency.high)
    a, b = max(float(a), lo), min(float(b), hi)
    rs, ws = [np.empty(0)], [np.empty(0)]
    if not b > a:
        return rs[0], ws[0]
    edges = sorted({a, b, *(float(k) for k in urgency.breakpoints() if a < k < b)})
    for p, q, in_quantiles in _pieces(urgency, edges):
        s, e = (float(urgency.cdf(p)), float(urgency.cdf(q))) if in_quantiles else (p, q)
        cuts = np.linspace(s, e, pieces + 1)
        left, width = cuts[:-1, None], np.diff(cuts)[:, None]
        pts = (left + width * (x + 1) / 2).ravel()
        wts = (width * w / 2).ravel()
        if in_quantiles:
            rs.append(np.clip(urgency.ppf(pts), p, q))
            ws.append(wts)
        else:
            rs.append(pts)
            ws.append(wts * urgency.pdf(pts))
    return np.concatenate(rs), np.concatenate(ws)
