r"""The one integral over types: :math:`\int_a^b g(r)\,h(r)\,dr` for any urgency law.

Every expected value over the users' urgency :math:`r \sim G` (revenue, surplus, welfare,
participation, tokens) goes through :func:`expect`. It is exact for densities that are infinite
at an end of the support (a Beta law with ``a < 1`` or ``b < 1``): near such an end the
integral is taken in quantile space, :math:`\int h(G^{-1}(u))\,du`, where nothing is infinite;
elsewhere in type space, :math:`\int g h\,dr`, where :math:`G^{-1}` may have an infinite slope
(a density that vanishes at an end). Both are integrated by adaptive piecewise Chebyshev
interpolation (:func:`integrate`), split at the breakpoints given, where ``h`` may have a kink.

:func:`type_nodes` gives fixed Gauss-Legendre nodes and weights with the same split, for
optimisers that need a cheap, smooth approximation of the same integral.
"""

from __future__ import annotations

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


def _singular(urgency, x: NDArray) -> NDArray:
    """Whether the density is infinite at each of the types ``x``."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return ~np.isfinite(np.asarray(urgency.pdf(x), dtype=float))


def _pieces(urgency, edges: list[float]) -> list[tuple[float, float, bool]]:
    """The segments between consecutive ``edges`` as ``(lo, hi, in_quantiles)``: a segment
    with an end where the density is infinite is halved, and the half at that end is taken in
    quantile space (the other half, which may touch a zero of the density, in type space)."""
    edges = np.asarray(edges, dtype=float)
    singular = _singular(urgency, edges)
    out = []
    for k in range(edges.size - 1):
        p, q = float(edges[k]), float(edges[k + 1])
        if not (singular[k] or singular[k + 1]):
            out.append((p, q, False))
            continue
        m = 0.5 * (p + q)
        out += [(p, m, bool(singular[k])), (m, q, bool(singular[k + 1]))]
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


def type_nodes(urgency, a: float, b: float, nodes: int = 32, pieces: int = 4) -> tuple:
    r"""Gauss-Legendre nodes :math:`r_k` and weights :math:`w_k` with
    :math:`\sum_k w_k h(r_k) \approx \int_a^b g h\,dr`: ``nodes`` points on each of ``pieces``
    sub-intervals between breakpoints, in quantile space near an end where the density is
    infinite (as :func:`expect`). Returns ``(r, w)``."""
    x, w = np.polynomial.legendre.leggauss(nodes)
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
