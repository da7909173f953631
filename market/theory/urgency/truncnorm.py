"""The truncated normal urgency law (see :mod:`market.theory.urgency`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from market.numerics.normal import LOG_SQRT_2PI, as_array, log_normal_mass, ndtri_exp
from market.theory.urgency.base import (
    UrgencyDistribution,
    UrgencyError,
    number,
    positive,
    show,
    support,
)

__all__ = ["TruncNormal"]

_LOG_HALF = math.log(0.5)


class TruncNormal(UrgencyDistribution):
    """:math:`N(m, s^2)` conditioned on :math:`[\\underline r, \\bar r]`.

    With :math:`\\alpha = (\\underline r - m)/s`, :math:`\\beta = (\\bar r - m)/s` and
    :math:`Z = \\Phi(\\beta) - \\Phi(\\alpha)`: :math:`g(r) = \\varphi((r - m)/s)/(sZ)` and
    :math:`G(r) = (\\Phi((r-m)/s) - \\Phi(\\alpha))/Z`, as ``scipy.stats.truncnorm(alpha,
    beta, loc=m, scale=s)``. The normal masses are computed by ``log_normal_mass``.

    Parameters
    ----------
    mean : float
        :math:`m`, the mean of the untruncated normal (stored as ``mu``).
    sd : float
        :math:`s > 0`, its standard deviation (stored as ``sigma``).
    low, high : float
        :math:`0 < \\underline r < \\bar r`.
    """

    kind = "truncnorm"

    def __init__(self, mean: float, sd: float, low: float, high: float):
        self.mu = number("mean", mean)
        self.sigma = positive("sd", sd)
        self.low, self.high = support(low, high)
        self._alpha = (self.low - self.mu) / self.sigma
        self._beta = (self.high - self.mu) / self.sigma
        self._log_z = float(log_normal_mass(self._alpha, self._beta))
        if not math.isfinite(self._log_z):
            raise UrgencyError(
                f"sd = {show(sd)}: the normal(mean = {show(mean)}, sd = {show(sd)}) puts no "
                f"representable probability on [low, high] = [{self.low}, {self.high}]"
            )
        self._x_median = (float(self.ppf(0.5)) - self.mu) / self.sigma

    def _x(self, r: NDArray) -> NDArray:
        return np.clip((r - self.mu) / self.sigma, self._alpha, self._beta)

    def log_pdf(self, r):
        r = as_array(r)
        x = self._x(r)
        inside = -0.5 * x**2 - LOG_SQRT_2PI - self._log_z - math.log(self.sigma)
        return self._where_support(r, inside, -np.inf, -np.inf)

    def _tail(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """``(lower, log t)``: ``lower`` where :math:`G(r) \\le 1/2`, and t the smaller of
        :math:`G(r)` and :math:`1 - G(r)`, each a normal mass over Z."""
        x = self._x(r).ravel()
        lower = x <= self._x_median
        log_t = np.empty(x.shape)
        log_t[lower] = log_normal_mass(self._alpha, x[lower])
        log_t[~lower] = log_normal_mass(x[~lower], self._beta)
        return lower.reshape(r.shape), (log_t - self._log_z).reshape(r.shape)

    def log_cdf(self, r):
        r = as_array(r)
        lower, log_t = self._tail(r)
        with np.errstate(divide="ignore"):
            inside = np.where(lower, log_t, np.log1p(-np.exp(log_t)))
        return self._where_support(r, inside, -np.inf, 0.0)

    def cdf(self, r):
        r = as_array(r)
        lower, log_t = self._tail(r)
        inside = np.where(lower, np.exp(log_t), -np.expm1(log_t))
        return self._where_support(r, inside, 0.0, 1.0)

    def pdf_derivative(self, r):
        r = as_array(r)
        inside = -self._x(r) / self.sigma * self.pdf(r)
        return self._where_support(r, inside, 0.0, 0.0)

    def ppf(self, u):
        # Phi(x) = Phi(alpha) + u Z, solved on the side of 0 where x lies:
        # x = ndtri_exp(log(Phi(alpha) + u Z)) if that is <= 1/2, else the mirror image
        # -x = ndtri_exp(log(Phi(-beta) + (1 - u) Z)).
        u, valid = self._check_u(u)
        with np.errstate(divide="ignore"):
            log_p = np.logaddexp(special.log_ndtr(self._alpha), np.log(u) + self._log_z)
            log_q = np.logaddexp(special.log_ndtr(-self._beta), np.log1p(-u) + self._log_z)
        x = np.where(
            log_p <= _LOG_HALF,
            ndtri_exp(np.minimum(log_p, _LOG_HALF)),
            -ndtri_exp(np.minimum(log_q, _LOG_HALF)),
        )
        return self._finish_ppf(u, valid, self.mu + self.sigma * x)

    def mean(self) -> float:
        # E[r] = m + s (phi(alpha) - phi(beta)) / Z (the mean of a truncated normal), with
        # phi(alpha) - phi(beta) = +-phi(c) (1 - e^(-(d^2 - c^2)/2)), c the end nearer 0 and
        # d the other, so that a narrow interval does not cancel.
        alpha, beta = self._alpha, self._beta
        near, sign = (alpha, 1.0) if abs(alpha) <= abs(beta) else (beta, -1.0)
        factor = -math.expm1(-sign * 0.5 * (beta - alpha) * (beta + alpha))
        log_ratio = -0.5 * near * near - LOG_SQRT_2PI - self._log_z
        return self.mu + self.sigma * sign * math.exp(log_ratio) * factor

    def describe(self) -> dict:
        return {
            "distribution": self.kind,
            "mean": self.mu,
            "sd": self.sigma,
            "low": self.low,
            "high": self.high,
        }
