"""Piecewise Chebyshev interpolation with adaptive panels, and Gauss-Legendre helpers.

A smooth function on an interval is represented by Chebyshev interpolants of a fixed degree on
panels, each split in two until the interpolant agrees with the function to a relative
tolerance at a second set of points. Integrals of the representation are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from numpy.polynomial import chebyshev as cheb
from numpy.typing import ArrayLike, NDArray

#: Most panels one adaptive fit may use.
MAX_PANELS = 2000
#: A panel whose error is within NOISE of the scale and at least STALL times its parent's has
#: reached the function's noise floor (splitting no longer helps).
NOISE = 1e-8
STALL = 0.9
#: Gauss-Legendre nodes and weights on [-1, 1].
GAUSS_NODES = 24
GL_X, GL_W = np.polynomial.legendre.leggauss(GAUSS_NODES)


@dataclass(frozen=True)
class PiecewiseChebyshev:
    """Chebyshev interpolants on contiguous panels ``[starts[j], ends[j]]``."""

    starts: NDArray
    ends: NDArray
    coefs: NDArray  # (J, degree + 1)

    @property
    def degree(self) -> int:
        return self.coefs.shape[1] - 1

    def panel_of(self, x: NDArray) -> NDArray:
        return np.clip(np.searchsorted(self.starts, x, side="right") - 1, 0, self.starts.size - 1)

    def __call__(self, x: ArrayLike) -> NDArray:
        x = np.asarray(x, dtype=float)
        return self._evaluate(self.coefs, x.ravel()).reshape(x.shape)

    def _evaluate(self, coefs: NDArray, x: NDArray, j: NDArray | None = None) -> NDArray:
        """Evaluate the series ``coefs[j]`` of each point's panel, grouped by panel."""
        if j is None:
            j = self.panel_of(x)
        local = self._local(x, j)
        panels = self.starts.size
        if x.size <= 4 * panels:
            return clenshaw(coefs[j], local)
        if panels == 1:
            return cheb.chebval(local, coefs[0])
        out = np.empty_like(x)
        if panels <= 8:  # a few boolean masks beat sorting
            for k in range(panels):
                sel = j == k
                if sel.any():
                    out[sel] = cheb.chebval(local[sel], coefs[k])
            return out
        order = np.argsort(j, kind="stable")
        bounds = np.searchsorted(j[order], np.arange(panels + 1))
        for k in range(panels):
            sel = order[bounds[k] : bounds[k + 1]]
            if sel.size:
                out[sel] = cheb.chebval(local[sel], coefs[k])
        return out

    def derivative(self) -> PiecewiseChebyshev:
        """The derivative, as a piecewise Chebyshev interpolant on the same panels."""
        scale = 2.0 / (self.ends - self.starts)
        coefs = np.array([np.append(cheb.chebder(c), 0.0) for c in self.coefs]) * scale[:, None]
        return PiecewiseChebyshev(self.starts, self.ends, coefs)

    def evaluate_in(self, x: NDArray, j: NDArray) -> NDArray:
        """The interpolant at ``x`` known to lie in panels ``j`` (broadcast against ``x``)."""
        x, j = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(j))
        flat_x, flat_j = x.ravel(), j.ravel()
        return clenshaw(self.coefs[flat_j], self._local(flat_x, flat_j)).reshape(x.shape)

    def _local(self, x: NDArray, j: NDArray) -> NDArray:
        a, b = self.starts[j], self.ends[j]
        return 2 * (x - a) / (b - a) - 1

    @cached_property
    def _antiderivatives(self) -> NDArray:
        """Chebyshev coefficients of each panel's antiderivative (in the local variable)."""
        return np.array([cheb.chebint(c) for c in self.coefs])

    @cached_property
    def _panel_integrals(self) -> NDArray:
        ints = self._antiderivatives
        span = cheb.chebval(1.0, ints.T) - cheb.chebval(-1.0, ints.T)
        return 0.5 * (self.ends - self.starts) * span

    def panel_integrals(self) -> NDArray:
        """Exact integral over each panel."""
        return self._panel_integrals.copy()

    def integral(self) -> float:
        return float(self._panel_integrals.sum())

    def integral_to_end(self, x: ArrayLike) -> NDArray:
        """:math:`\\int_x^{b} p(z)\\,dz` with ``b`` the last panel's end."""
        x = np.asarray(x, dtype=float)
        shape = x.shape
        x = x.ravel()
        j = self.panel_of(x)
        per_panel = self._panel_integrals
        after = np.concatenate([np.cumsum(per_panel[::-1])[::-1][1:], [0.0]])
        ints = self._antiderivatives
        at_end = cheb.chebval(1.0, ints.T)  # antiderivative at each panel's end
        part = at_end[j] - self._evaluate(ints, x, j)
        return (after[j] + 0.5 * (self.ends[j] - self.starts[j]) * part).reshape(shape)


@dataclass(frozen=True)
class HermiteTable:
    """Cubic Hermite interpolation of a smooth function on a uniform grid, for bulk lookups.

    Built from values and exact derivatives at ``a + k h``; the error on a cell is at most
    :math:`h^4 \\max|f^{(4)}|/384`. Each cell stores the cubic's coefficients in the local
    variable ``t`` in [0, 1]. Cells that contain a point where the function is not smooth
    (``kinks``) are marked, and points in them go to ``fallback``, an exact evaluator.
    """

    a: float
    h: float
    coefs: NDArray  # (4, cells): c0 + c1 t + c2 t^2 + c3 t^3
    bad: NDArray  # bool per cell
    fallback: Callable[[NDArray], NDArray]

    @classmethod
    def build(cls, func, deriv, fallback, low: float, high: float, kinks=(), cells: int = 8192):
        x = np.linspace(low, high, cells + 1)
        h = (high - low) / cells
        y, dy = np.asarray(func(x)), np.asarray(deriv(x)) * h
        y0, y1, d0, d1 = y[:-1], y[1:], dy[:-1], dy[1:]
        coefs = np.array([y0, d0, 3 * (y1 - y0) - 2 * d0 - d1, 2 * (y0 - y1) + d0 + d1])
        bad = np.zeros(cells, dtype=bool)
        for k in kinks:
            if low < k < high:
                i = int((k - low) / h)
                bad[max(i - 1, 0) : min(i + 2, cells)] = True
        return cls(float(low), float(h), coefs, bad, fallback)

    def __call__(self, x: ArrayLike) -> NDArray:
        x = np.asarray(x, dtype=float)
        shape = x.shape
        x = x.ravel()
        cells = self.bad.size
        pos = (x - self.a) / self.h
        i = np.clip(pos.astype(np.int64), 0, cells - 1)
        t = pos - i
        c = self.coefs
        out = ((c[3, i] * t + c[2, i]) * t + c[1, i]) * t + c[0, i]
        slow = self.bad[i] | (pos < 0) | (pos > cells)
        if slow.any():
            out[slow] = self.fallback(x[slow])
        return out.reshape(shape)


def clenshaw(coefs: NDArray, x: NDArray) -> NDArray:
    """Evaluate Chebyshev series with per-point coefficients ``coefs[i]`` at ``x[i]``."""
    b1 = np.zeros_like(x)
    b2 = np.zeros_like(x)
    for k in range(coefs.shape[1] - 1, 0, -1):
        b1, b2 = coefs[:, k] + 2 * x * b1 - b2, b1
    return coefs[:, 0] + x * b1 - b2


@lru_cache(maxsize=8)
def _nodes_and_interpolation(degree: int) -> tuple[NDArray, NDArray]:
    """Chebyshev points of the first kind and the matrix from values to coefficients.

    With :math:`x_j = \\cos(\\pi(j + 1/2)/N)`, :math:`N` = degree + 1, discrete orthogonality
    gives :math:`c_k = (2/N)\\sum_j f(x_j)T_k(x_j)`, halved for :math:`k = 0`.
    """
    n = degree + 1
    nodes = np.cos(np.pi * (np.arange(n) + 0.5) / n)
    matrix = (2.0 / n) * cheb.chebvander(nodes, degree).T
    matrix[0] *= 0.5
    return nodes, matrix


def fit_panels(
    func: Callable[[NDArray], NDArray],
    breakpoints: Sequence[float],
    degree: int = 40,
    rtol: float = 1e-13,
    scale: float | None = None,
    min_width: float = 1e-10,
    max_panels: int = MAX_PANELS,
) -> PiecewiseChebyshev:
    """Adaptive piecewise Chebyshev interpolant of a vectorised ``func``.

    Each panel between consecutive ``breakpoints`` is split in two until the interpolant
    matches ``func`` at interleaved check points to ``rtol`` times ``scale`` (default: the
    largest absolute value seen on the panel). Splitting also stops at the function's noise
    floor: when a panel already within :data:`NOISE` of ``scale`` is no better than the panel
    it was split from (a smooth function improves by orders of magnitude, a kink by half,
    rounding noise not at all); at panels narrower than ``min_width`` (relative); and after
    ``max_panels`` panels, whatever the error.
    """
    nodes, to_coefs = _nodes_and_interpolation(degree)
    check = np.cos(np.pi * (np.arange(degree) + 0.5) / degree + 0.31)
    starts, ends, coefs = [], [], []
    bps = np.unique(np.asarray(breakpoints, dtype=float))
    todo = [(float(a), float(b), math.inf) for a, b in zip(bps[:-1], bps[1:], strict=True)]
    todo.reverse()
    while todo:
        a, b, parent = todo.pop()
        c = to_coefs @ func(a + (b - a) * (nodes + 1) / 2)
        exact = func(a + (b - a) * (check + 1) / 2)
        err = np.abs(cheb.chebval(check, c) - exact).max()
        ref = max(scale if scale is not None else max(np.abs(exact).max(), np.abs(c).max()), 1e-300)
        if (
            err <= rtol * ref
            or (err <= NOISE * ref and err >= STALL * parent)
            or (b - a) <= min_width * (1 + abs(b))
            or len(starts) + len(todo) >= max_panels
        ):
            starts.append(a)
            ends.append(b)
            coefs.append(c)
        else:
            m = 0.5 * (a + b)
            todo += [(m, b, err), (a, m, err)]
    return PiecewiseChebyshev(np.array(starts), np.array(ends), np.array(coefs))
