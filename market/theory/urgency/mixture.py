"""Mixtures of urgency laws (see :mod:`market.theory.urgency`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.normal import as_array, bracketed_newton, log_sum_exp
from market.theory.urgency.base import UrgencyDistribution, UrgencyError, positive

__all__ = ["Mixture"]


#: Mixture quantiles: grid points per component and tolerance (a fraction of the support
#: width) of the bracketed Newton iteration (its iteration cap is in market._numerics).
_PPF_GRID = 65
_PPF_XTOL = 1e-13


class Mixture(UrgencyDistribution):
    """:math:`G = \\sum_k w_k G_k`, :math:`g = \\sum_k w_k g_k` with :math:`\\sum_k w_k = 1`.

    Components may have different supports; ``low`` and ``high`` are the smallest and
    largest of their ends, and g is 0 on any gap between them. At a point where one
    component's support ends and another's begins, ``pdf`` adds both one-sided values.
    ``log_cdf`` is a weighted log-sum-exp of the components' ``log_cdf``. ``ppf`` solves
    :math:`G(r) = u` for all ``u`` at once by Newton's method safeguarded by bisection
    (Press et al. 2007, ``rtsafe``), from brackets read off a table of :math:`G` on the
    components' quantiles.

    Parameters
    ----------
    components : sequence of (float, UrgencyDistribution)
        ``(weight, distribution)`` pairs; weights > 0, normalised to sum to 1.

    Attributes
    ----------
    weights : tuple of float
        The normalised weights :math:`w_k`.
    components : tuple of UrgencyDistribution
        The :math:`G_k`.
    """

    kind = "mixture"

    def __init__(self, components: Sequence[tuple[float, UrgencyDistribution]]):
        if isinstance(components, (str, bytes)) or not isinstance(components, Sequence):
            raise UrgencyError(
                f"components = {components!r}: expected a list of (weight, distribution) pairs"
            )
        if len(components) == 0:
            raise UrgencyError("components = []: expected at least one (weight, distribution)")
        weights = []
        for k, pair in enumerate(components):
            if (
                not isinstance(pair, Sequence)
                or len(pair) != 2
                or not isinstance(pair[1], UrgencyDistribution)
            ):
                raise UrgencyError(
                    f"components[{k}] = {pair!r}: expected a (weight, UrgencyDistribution) pair"
                )
            weights.append(positive(f"components[{k}].weight", pair[0], "weight"))
        top = max(weights)  # scaled first, so that huge weights cannot overflow the sum
        total = math.fsum(w / top for w in weights)
        self.weights = tuple(w / top / total for w in weights)
        self.components = tuple(pair[1] for pair in components)
        self._log_weights = np.log(np.array(self.weights))
        self.low = min(c.low for c in self.components)
        self.high = max(c.high for c in self.components)
        self._table = self._cdf_table()

    def _stack(self, method: str, r: NDArray) -> NDArray:
        return np.stack([getattr(c, method)(r) for c in self.components])

    def _weighted_sum(self, method: str, r: ArrayLike) -> NDArray:
        r = as_array(r)
        return np.tensordot(np.array(self.weights), self._stack(method, r), axes=1)

    def log_pdf(self, r):
        r = as_array(r)
        return log_sum_exp(self._stack("log_pdf", r), self._log_weights)

    def pdf(self, r):
        return self._weighted_sum("pdf", r)

    def cdf(self, r):
        r = as_array(r)
        inside = np.clip(self._weighted_sum("cdf", r), 0.0, 1.0)
        return np.where(r >= self.high, 1.0, inside)

    def log_cdf(self, r):
        r = as_array(r)
        inside = np.minimum(log_sum_exp(self._stack("log_cdf", r), self._log_weights), 0.0)
        return np.where(r >= self.high, 0.0, inside)

    def pdf_derivative(self, r):
        return self._weighted_sum("pdf_derivative", r)

    def breakpoints(self) -> tuple[float, ...]:
        return tuple(sorted({float(p) for c in self.components for p in c.breakpoints()}))

    def _cdf_table(self) -> tuple[NDArray, NDArray]:
        """Support points (breakpoints and component quantiles) and G there, non-decreasing."""
        levels = np.linspace(0.0, 1.0, _PPF_GRID)
        xs = np.unique(
            np.concatenate([self.breakpoints(), *(c.ppf(levels) for c in self.components)])
        )
        return xs, np.maximum.accumulate(self.cdf(xs))

    def ppf(self, u):
        u, valid = self._check_u(u)
        flat = u.ravel()
        xs, gs = self._table
        # Bracket: gs[k-1] < u <= gs[k], so G(lo) < u <= G(hi) holds throughout.
        k = np.clip(np.searchsorted(gs, flat, side="left"), 1, xs.size - 1)
        lo, hi = xs[k - 1].copy(), xs[k].copy()
        g_lo, g_hi = gs[k - 1], gs[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(g_hi > g_lo, (flat - g_lo) / (g_hi - g_lo), 0.5)
        x = lo + np.clip(frac, 0.0, 1.0) * (hi - lo)
        x = bracketed_newton(
            self.cdf, self.pdf, flat, lo, hi, x, _PPF_XTOL * (self.high - self.low)
        )
        return self._finish_ppf(u, valid, x.reshape(u.shape))

    def mean(self) -> float:
        return math.fsum(w * c.mean() for w, c in zip(self.weights, self.components, strict=True))

    def describe(self) -> dict:
        return {
            "distribution": self.kind,
            "components": [
                {**c.describe(), "weight": w}
                for w, c in zip(self.weights, self.components, strict=True)
            ],
        }
