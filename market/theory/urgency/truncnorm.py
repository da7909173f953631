"""The truncated normal urgency law (see :mod:`market.theory.urgency`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from market.numerics.normal import (
    LOG_SQRT_2PI,
    as_array,
    bracketed_newton,
    log_normal_mass,
    ndtri_exp,
)
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
#: An interval this many standard deviations or more from the mean takes the one-sided route
#: (``_OneSided``): the two-sided one forms log-masses of size alpha^2 / 2, whose rounding
#: (alpha^2 eps / 2 relative) would exceed 2e-14.
ANCHOR = 20.0
_SQRT_HALF_PI = math.sqrt(math.pi / 2)
#: Gauss-Legendre nodes for the mass of a short stretch (see ``_OneSided.mass``).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
#: A stretch is short when the density falls by at most e^_SHORT across it.
_SHORT = 3.0


def _mills(x: NDArray) -> NDArray:
    r""":math:`M(x) = (1 - \Phi(x))/\varphi(x) = \sqrt{\pi/2}\,\mathrm{erfcx}(x/\sqrt2)`."""
    return _SQRT_HALF_PI * special.erfcx(np.asarray(x, dtype=float) / math.sqrt(2.0))


class _OneSided:
    r"""A standard normal truncated to :math:`[\alpha, \beta]` with :math:`0 \le \alpha`,
    in the coordinate :math:`y = x - \alpha \in [0, w]`, :math:`w = \beta - \alpha`.

    Everything is relative to :math:`\varphi(\alpha)`: the density ratio
    :math:`E(y) = \varphi(\alpha + y)/\varphi(\alpha) = e^{-y(2\alpha + y)/2}` and masses
    :math:`\int_{y_0}^{y_1} E` (:meth:`mass`), so no quantity of size
    :math:`e^{-\alpha^2/2}` is ever formed: a normal truncated far in its tail (all its mass
    within :math:`1/\alpha` of the end) keeps full relative accuracy.
    """

    def __init__(self, alpha: float, width: float):
        self.alpha, self.w = alpha, width
        self.k = float(self.mass(np.array([0.0]), np.array([self.w]))[0])  # Z / phi(alpha)

    def log_e(self, y: NDArray) -> NDArray:
        return -0.5 * y * (2.0 * self.alpha + y)

    def mass(self, y0: NDArray, y1: NDArray, span: NDArray | None = None) -> NDArray:
        r""":math:`\int_{y_0}^{y_1} E(y)\,dy`: Gauss-Legendre on a short stretch, else the
        non-cancelling difference :math:`E(y_0)M(\alpha + y_0) - E(y_1)M(\alpha + y_1)`.
        ``span``: :math:`y_1 - y_0` when known more precisely than the difference."""
        y0, y1 = np.broadcast_arrays(np.asarray(y0, float), np.asarray(y1, float))
        shape = y0.shape
        y0, y1 = y0.ravel(), y1.ravel()
        h = 0.5 * (y1 - y0 if span is None else np.broadcast_to(span, shape).ravel())
        short = h * (2 * self.alpha + y0 + y1) <= _SHORT
        out = np.empty(y0.size)
        if short.any():
            hs, mid = h[short], (y0 + h)[short]
            nodes = mid[:, None] + hs[:, None] * _GL_X
            out[short] = hs * (np.exp(self.log_e(nodes)) @ _GL_W)
        far = ~short
        if far.any():
            a, b = y0[far], y1[far]
            with np.errstate(under="ignore"):
                out[far] = np.exp(self.log_e(a)) * _mills(self.alpha + a) - np.exp(
                    self.log_e(b)
                ) * _mills(self.alpha + b)
        return out.reshape(shape)

    def lower(self, y: NDArray) -> NDArray:
        """:math:`G` at ``y``."""
        return self.mass(np.zeros_like(y), y) / self.k

    def upper(self, y: NDArray, rest: NDArray | None = None) -> NDArray:
        """:math:`1 - G` at ``y``; ``rest``: :math:`w - y`, if known more precisely."""
        return self.mass(y, np.full_like(y, self.w), rest) / self.k

    def ppf(self, u: NDArray, rest: NDArray | None = None) -> NDArray:
        """``y`` with :math:`G = u` (``rest``: :math:`1 - u` when known more precisely than the
        difference): safeguarded Newton (:func:`bracketed_newton`) on
        :math:`\\log G = \\log u` for ``u <= 1/2`` and on :math:`-\\log(1 - G) = -\\log(1 - u)`
        above (both nearly linear in the tails), from the exponential limit."""
        u = np.asarray(u, dtype=float)
        shape, flat = u.shape, u.ravel()
        comp = (1.0 - flat) if rest is None else np.broadcast_to(rest, shape).ravel()
        rate = 2 * self.alpha
        with np.errstate(divide="ignore"):
            start = -np.log1p(flat * np.expm1(-rate * self.w)) / rate if rate > 0 else flat * self.w
        start = np.clip(start, 0.0, self.w)
        tol = 1e-300
        y = np.where(flat >= 1.0, self.w, 0.0)
        inside = (flat > 0.0) & (flat < 1.0)
        low = flat <= 0.5
        for part, forward in ((low & inside, True), (~low & inside, False)):
            if not part.any():
                continue
            target = np.log(flat[part]) if forward else -np.log(comp[part])
            y[part] = bracketed_newton(
                (lambda v: self._log_lower(v)) if forward else (lambda v: -self._log_upper(v)),
                lambda v, f=forward: self._log_slope(v, f),
                target,
                np.zeros(target.size),
                np.full(target.size, self.w),
                start[part],
                tol,
                rtol=4e-16,
            )
        return np.clip(y, 0.0, self.w).reshape(shape)

    def _log_lower(self, y: NDArray) -> NDArray:
        with np.errstate(divide="ignore"):
            return np.log(self.lower(y))

    def _log_upper(self, y: NDArray) -> NDArray:
        with np.errstate(divide="ignore"):
            return np.log(self.upper(y))

    def _log_slope(self, y: NDArray, forward: bool) -> NDArray:
        """:math:`d\\log G/dy = g/G`, or :math:`-d\\log(1 - G)/dy = g/(1 - G)`."""
        mass = self.lower(y) if forward else self.upper(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.exp(self.log_e(y)) / self.k / mass

    def mean(self) -> float:
        """:math:`E[y] = ((1 - E(w)) - \alpha K)/K`."""
        tail = math.exp(float(self.log_e(np.array(self.w))))
        return max(((1.0 - tail) - self.alpha * self.k) / self.k, 0.0)


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
        #: Interval on one side of the mean: anchored at its nearer end (``_OneSided``), from
        #: ``low`` upwards, or (``_flip``) from ``high`` downwards.
        self._flip = self._beta <= -ANCHOR
        self._side = None
        width = (self.high - self.low) / self.sigma
        if self._alpha >= ANCHOR:
            self._side = _OneSided(self._alpha, width)
        elif self._beta <= -ANCHOR:
            self._side = _OneSided(-self._beta, width)
        if self._side is not None:
            self._log_z = math.nan  # not used: the one-sided route never forms Z
            return
        self._log_z = float(log_normal_mass(self._alpha, self._beta))
        if not math.isfinite(self._log_z):
            raise UrgencyError(
                f"sd = {show(sd)}: the normal(mean = {show(mean)}, sd = {show(sd)}) puts no "
                f"representable probability on [low, high] = [{self.low}, {self.high}]"
            )
        self._x_median = (float(self.ppf(0.5)) - self.mu) / self.sigma

    def _x(self, r: NDArray) -> NDArray:
        return np.clip((r - self.mu) / self.sigma, self._alpha, self._beta)

    def _y(self, r: NDArray) -> NDArray:
        """Distance from the anchored end, in standard deviations (one-sided route)."""
        y = (self.high - r) / self.sigma if self._flip else (r - self.low) / self.sigma
        return np.clip(y, 0.0, self._side.w)

    def _pair(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """:math:`G(r)` and :math:`1 - G(r)`, each to full relative accuracy (one-sided);
        each mass is measured from its own end of the support."""
        y = self._y(r)
        other = (r - self.low) if self._flip else (self.high - r)
        rest = np.clip(other / self.sigma, 0.0, self._side.w)
        low, up = self._side.lower(y), self._side.upper(y, rest)
        return (up, low) if self._flip else (low, up)

    def log_pdf(self, r):
        r = as_array(r)
        if self._side is not None:
            inside = self._side.log_e(self._y(r)) - math.log(self._side.k * self.sigma)
            return self._where_support(r, inside, -np.inf, -np.inf)
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
        if self._side is not None:
            g, rest = self._pair(r)
            with np.errstate(divide="ignore"):
                inside = np.where(g <= 0.5, np.log(g), np.log1p(-rest))
            return self._where_support(r, inside, -np.inf, 0.0)
        lower, log_t = self._tail(r)
        with np.errstate(divide="ignore"):
            inside = np.where(lower, log_t, np.log1p(-np.exp(log_t)))
        return self._where_support(r, inside, -np.inf, 0.0)

    def cdf(self, r):
        r = as_array(r)
        if self._side is not None:
            return self._where_support(r, self._pair(r)[0], 0.0, 1.0)
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
        if self._side is not None:
            if self._flip:
                y = self._side.ppf(1 - u, rest=u)
                return self._finish_ppf(u, valid, self.high - self.sigma * y)
            return self._finish_ppf(u, valid, self.low + self.sigma * self._side.ppf(u))
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
        if self._side is not None:
            shift = self.sigma * self._side.mean()
            return self.high - shift if self._flip else self.low + shift
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
