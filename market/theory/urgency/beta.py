"""The Beta urgency law rescaled to [low, high] (see :mod:`market.theory.urgency`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from market.numerics.normal import as_array
from market.theory.urgency.base import UrgencyDistribution, positive, support

__all__ = ["Beta"]


#: Below this value the regularised incomplete beta function is replaced by its series
#: (it would lose relative precision in the subnormal range and underflow to 0 after).
_BETAINC_TINY = 1e-280
#: ``betaincinv`` results below this are recomputed (scipy 1.18 returns nan or a wrong z
#: once z < ~1e-16 for some a > 1, b < 1), by Newton steps from the leading term of the
#: series, whose relative error O(z) they reduce to rounding.
_BETAINCINV_SMALL = 1e-8
_BETA_NEWTON_STEPS = 4


class Beta(UrgencyDistribution):
    """:math:`\\underline r + (\\bar r - \\underline r) X`, :math:`X \\sim \\mathrm{Beta}(a, b)`.

    With :math:`z = (r - \\underline r)/(\\bar r - \\underline r)`:
    :math:`g(r) = z^{a-1}(1-z)^{b-1} / (B(a, b)(\\bar r - \\underline r))` and
    :math:`G(r) = I_z(a, b)`, the regularised incomplete beta function. The density is
    infinite at ``low`` if ``a < 1`` and at ``high`` if ``b < 1`` (``pdf`` returns ``inf``
    there, ``pdf_derivative`` returns ``-inf`` resp. ``inf``); ``1 - z`` is computed as
    :math:`(\\bar r - r)/(\\bar r - \\underline r)` to keep its precision near ``high``.

    Parameters
    ----------
    a, b : float
        Shape parameters, both > 0.
    low, high : float
        :math:`0 < \\underline r < \\bar r`.
    """

    kind = "beta"

    def __init__(self, a: float, b: float, low: float, high: float):
        self.a = positive("a", a)
        self.b = positive("b", b)
        self.low, self.high = support(low, high)
        self._width = self.high - self.low
        self._log_beta = float(special.betaln(self.a, self.b))
        self._z_median = float(special.betaincinv(self.a, self.b, 0.5))

    def _zw(self, r: NDArray) -> tuple[NDArray, NDArray]:
        z = np.clip((r - self.low) / self._width, 0.0, 1.0)
        w = np.clip((self.high - r) / self._width, 0.0, 1.0)
        return z, w

    def log_pdf(self, r):
        r = as_array(r)
        z, w = self._zw(r)
        inside = (
            special.xlogy(self.a - 1, z)
            + special.xlogy(self.b - 1, w)
            - self._log_beta
            - math.log(self._width)
        )
        return self._where_support(r, inside, -np.inf, -np.inf)

    def _log_lower(self, z: NDArray, a: float, b: float) -> NDArray:
        """:math:`\\log I_z(a, b)` for a 1-d ``z``; where :math:`I_z` is tiny, from the series
        :math:`I_z = z^a (1-z)^b\\,{}_2F_1(a+b, 1; a+1; z) / (a B(a, b))`
        (Abramowitz & Stegun 1964, 26.5.23), which cannot underflow."""
        value = special.betainc(a, b, z)
        with np.errstate(divide="ignore"):
            out = np.log(value)
        tiny = (value <= _BETAINC_TINY) & (z > 0)
        if tiny.any():
            zt = z[tiny]
            out[tiny] = (
                a * np.log(zt)
                + b * np.log1p(-zt)
                - math.log(a)
                - self._log_beta
                + np.log(special.hyp2f1(a + b, 1.0, a + 1.0, zt))
            )
        return out

    def log_cdf(self, r):
        r = as_array(r)
        z, w = (v.ravel() for v in self._zw(r))
        lower = z <= self._z_median
        inside = np.empty(z.shape)
        inside[lower] = self._log_lower(z[lower], self.a, self.b)  # log G
        with np.errstate(divide="ignore"):
            inside[~lower] = np.log1p(-np.exp(self._log_lower(w[~lower], self.b, self.a)))
        return self._where_support(r, inside.reshape(r.shape), -np.inf, 0.0)

    def cdf(self, r):
        r = as_array(r)
        z, w = (v.ravel() for v in self._zw(r))
        lower = z <= self._z_median
        inside = np.empty(z.shape)
        inside[lower] = special.betainc(self.a, self.b, z[lower])
        inside[~lower] = 1.0 - special.betainc(self.b, self.a, w[~lower])
        return self._where_support(r, inside.reshape(r.shape), 0.0, 1.0)

    def pdf_derivative(self, r):
        # g' = [(a-1) z^(a-2) (1-z)^(b-1) - (b-1) z^(a-1) (1-z)^(b-2)] / (B(a, b) width^2);
        # a term whose coefficient is 0 is 0 (not 0 * inf at an end).
        r = as_array(r)
        z, w = self._zw(r)

        def term(c: float, pz: float, pw: float) -> NDArray:
            if c == 0:
                return np.zeros(r.shape)
            return c * np.exp(special.xlogy(pz, z) + special.xlogy(pw, w) - self._log_beta)

        first = term(self.a - 1, self.a - 2, self.b - 1)
        second = term(self.b - 1, self.a - 1, self.b - 2)
        # At z = 0 the first term dominates (z^(a-2) against z^(a-1)) unless a = 1, and at
        # z = 1 the second: this resolves inf - inf there.
        with np.errstate(invalid="ignore"):
            inside = np.where(
                (z == 0) & (self.a != 1),
                first,
                np.where((w == 0) & (self.b != 1), -second, first - second),
            )
        return self._where_support(r, inside / self._width**2, 0.0, 0.0)

    def _inverse_lower(self, p: NDArray, a: float, b: float) -> NDArray:
        """z with :math:`I_z(a, b) = p`, by ``betaincinv``; where that is unreliable (below
        z ~ 1e-16 it can return nan or a wrong z) or p is tiny, by Newton's method on
        :math:`\\log I_z - \\log p` in :math:`\\log z`, from the leading term
        :math:`z^a = p\\,a B(a, b)` of the series in :meth:`_log_lower`."""
        z = special.betaincinv(a, b, p)
        redo = (p > 0) & (np.isnan(z) | (z < _BETAINCINV_SMALL) | (p <= _BETAINC_TINY))
        if np.any(redo):
            log_p = np.log(p[redo])
            log_z = (log_p + math.log(a) + self._log_beta) / a
            for _ in range(_BETA_NEWTON_STEPS):
                # z underflows to 0 where log z < -745: then z = 0 is the answer to rounding.
                zr = np.exp(log_z)
                with np.errstate(invalid="ignore"):
                    log_i = self._log_lower(zr, a, b)
                    # d log I / d log z = z g_z(z) / I_z, g_z the Beta(a, b) density.
                    log_slope = a * log_z + (b - 1) * np.log1p(-zr) - self._log_beta - log_i
                    update = log_z - (log_i - log_p) / np.exp(log_slope)
                log_z = np.where(np.isfinite(update), np.minimum(update, 0.0), log_z)
            z[redo] = np.exp(log_z)
        return z

    def ppf(self, u):
        # Inverted from the end nearer to u, as cdf is, to keep the precision of z or 1 - z.
        u, valid = self._check_u(u)
        u = u.ravel()
        lower = u <= 0.5
        r = np.empty(u.shape)
        r[lower] = self.low + self._width * self._inverse_lower(u[lower], self.a, self.b)
        r[~lower] = self.high - self._width * self._inverse_lower(1.0 - u[~lower], self.b, self.a)
        return self._finish_ppf(u.reshape(valid.shape), valid, r.reshape(valid.shape))

    def mean(self) -> float:
        return self.low + self._width * self.a / (self.a + self.b)

    def describe(self) -> dict:
        return {
            "distribution": self.kind,
            "a": self.a,
            "b": self.b,
            "low": self.low,
            "high": self.high,
        }
