r"""Urgency distributions: the law of the users' private discount rate (Zhong 2025, Section 2).

A user's urgency :math:`r \in [\underline r, \bar r]`, :math:`0 < \underline r < \bar r`, is
private; the platform knows its CDF :math:`G` and density :math:`g`. The optimal token price
menu (Definition 2, Theorem 1) gives type :math:`r` the time cap

.. math:: T(r) = \frac{g(r)}{G(r)} = \frac{d}{dr}\log G(r),

the *reverse hazard rate*, which is infinite at :math:`\underline r`. Where :math:`\log G` is
not concave the menu irons it through the concave envelope of :math:`\log G` (NOTES.md, "The
optimal menu for any urgency distribution"). Both need :math:`\log G` and :math:`g/G` to full
relative accuracy near :math:`\underline r`, where :math:`G \to 0`: every method here works in
log space and never forms :math:`G` as a difference of two nearly equal numbers.

Four families are provided (``kind``):

``uniform``    :math:`g = 1/(\bar r - \underline r)`; the paper's example is
               :math:`U[1, 2]`, with :math:`g/G = 1/(r - 1)` (Section 3.1).
``truncnorm``  a normal :math:`N(m, s^2)` conditioned on :math:`[\underline r, \bar r]`, as
               ``scipy.stats.truncnorm`` defines it.
``beta``       :math:`\mathrm{Beta}(a, b)` rescaled to :math:`[\underline r, \bar r]`; the
               density is infinite at :math:`\underline r` if :math:`a < 1` and at
               :math:`\bar r` if :math:`b < 1`.
``mixture``    :math:`G = \sum_k w_k G_k` of the above, components on any supports.

Conventions shared by all methods: inputs broadcast as numpy arrays and outputs have their
shape; ``nan`` in gives ``nan`` out; the support is the closed interval, so ``pdf(low)`` is
the density's (right) limit at ``low``; outside the support ``pdf`` and ``pdf_derivative``
are 0. :func:`make_urgency` builds a distribution from a scenario's ``[urgency]`` table.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from market._numerics import (
    _LOG_SQRT_2PI,
    _array,
    _bracketed_newton,
    _log_normal_mass,
    _log_sum_exp,
    _ndtri_exp,
)

__all__ = [
    "Beta",
    "Mixture",
    "TruncNormal",
    "Uniform",
    "UrgencyDistribution",
    "UrgencyError",
    "make_urgency",
]

#: Anything ``np.random.default_rng`` accepts.
SeedLike = int | np.random.SeedSequence | np.random.Generator | None

_LOG_HALF = math.log(0.5)

#: Below this value the regularised incomplete beta function is replaced by its series
#: (it would lose relative precision in the subnormal range and underflow to 0 after).
_BETAINC_TINY = 1e-280
#: ``betaincinv`` results below this are recomputed (scipy 1.18 returns nan or a wrong z
#: once z < ~1e-16 for some a > 1, b < 1), by Newton steps from the leading term of the
#: series, whose relative error O(z) they reduce to rounding.
_BETAINCINV_SMALL = 1e-8
_BETA_NEWTON_STEPS = 4

#: Mixture quantiles: grid points per component and tolerance (a fraction of the support
#: width) of the bracketed Newton iteration (its iteration cap is in market._numerics).
_PPF_GRID = 65
_PPF_XTOL = 1e-13


class UrgencyError(ValueError):
    """Raised for an urgency distribution whose parameters the paper does not allow."""


# -- helpers ------------------------------------------------------------------------------
def _show(value: object) -> str:
    """A parameter value as a user typed it: ``-1``, ``2.0``, ``'abc'``."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def _number(name: str, value: object) -> float:
    """``value`` as a finite float, or an :class:`UrgencyError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UrgencyError(f"{name} = {_show(value)}: expected a number")
    out = float(value)
    if not math.isfinite(out):
        raise UrgencyError(f"{name} = {_show(value)}: expected a finite number")
    return out


def _positive(name: str, value: object, symbol: str | None = None) -> float:
    """``value`` as a float > 0; the message says ``expected {symbol} > 0``."""
    out = _number(name, value)
    if out <= 0:
        raise UrgencyError(f"{name} = {_show(value)}: expected {symbol or name} > 0")
    return out


def _support(low: object, high: object) -> tuple[float, float]:
    lo, hi = _number("low", low), _number("high", high)
    if not 0 < lo < hi:
        raise UrgencyError(f"low = {_show(low)}: expected 0 < low < high = {_show(high)}")
    return lo, hi


# -- the contract -------------------------------------------------------------------------
class UrgencyDistribution(ABC):
    """The law of the urgency :math:`r` on :math:`[\\underline r, \\bar r]` = ``[low, high]``.

    Subclasses provide :meth:`log_pdf`, :meth:`cdf`, :meth:`log_cdf`,
    :meth:`pdf_derivative`, :meth:`ppf`, :meth:`mean` and :meth:`describe`; the density,
    the reverse hazard rate and sampling follow.

    Attributes
    ----------
    low, high : float
        :math:`\\underline r` and :math:`\\bar r`, with :math:`0 < \\underline r < \\bar r`.
    kind : str
        ``"uniform"``, ``"truncnorm"``, ``"beta"`` or ``"mixture"``.
    """

    kind: str = "urgency"
    low: float
    high: float

    # -- what a subclass provides -------------------------------------------------------
    @abstractmethod
    def log_pdf(self, r: ArrayLike) -> NDArray:
        """:math:`\\log g(r)`: ``-inf`` outside ``[low, high]``, ``inf`` where g is."""

    @abstractmethod
    def cdf(self, r: ArrayLike) -> NDArray:
        """:math:`G(r)`: 0 at and below ``low``, 1 at and above ``high``."""

    @abstractmethod
    def log_cdf(self, r: ArrayLike) -> NDArray:
        """:math:`\\log G(r)`, accurate relative to :math:`G` near ``low``; ``-inf`` at
        ``r <= low``, 0 at ``r >= high``."""

    @abstractmethod
    def pdf_derivative(self, r: ArrayLike) -> NDArray:
        """:math:`g'(r)` on ``[low, high]`` (one-sided at the ends, possibly infinite there)
        and 0 outside."""

    @abstractmethod
    def ppf(self, u: ArrayLike) -> NDArray:
        """Quantile :math:`G^{-1}(u) = \\inf\\{r : G(r) \\ge u\\}`, to about 1e-12 absolute.

        ``ppf(0) = low``, ``ppf(1) = high``; ``nan`` for ``u`` outside [0, 1].
        """

    @abstractmethod
    def mean(self) -> float:
        """:math:`E[r]`."""

    @abstractmethod
    def describe(self) -> dict:
        """Plain record of the parameters, as in a scenario's ``[urgency]`` table
        (``make_urgency(d.describe())`` rebuilds ``d``)."""

    # -- derived quantities -------------------------------------------------------------
    def pdf(self, r: ArrayLike) -> NDArray:
        """:math:`g(r)`; 0 outside ``[low, high]``."""
        return np.exp(self.log_pdf(r))

    def reverse_hazard(self, r: ArrayLike) -> NDArray:
        """:math:`g(r)/G(r)`, the time cap :math:`T(r)` of Definition 2.

        Computed as :math:`\\exp(\\log g - \\log G)`, so it stays finite where g and G both
        underflow. ``inf`` at ``low``, 0 above ``high``, ``nan`` below ``low`` (where g and G
        are both 0).
        """
        r = _array(r)
        with np.errstate(invalid="ignore"):
            out = np.exp(self.log_pdf(r) - self.log_cdf(r))
        return np.where(r == self.low, np.inf, np.where(r < self.low, np.nan, out))

    def sample(self, rng: SeedLike, size: int | tuple[int, ...]) -> NDArray:
        """``size`` draws of :math:`r`, as ``ppf(rng.random(size))``.

        By inversion, so that one uniform stream gives the same users under every
        distribution compared (common random numbers).

        Parameters
        ----------
        rng : int, SeedSequence, Generator or None
            Anything :func:`numpy.random.default_rng` accepts.
        size : int or tuple of int
            Shape of the result.
        """
        return self.ppf(np.random.default_rng(rng).random(size))

    def breakpoints(self) -> tuple[float, ...]:
        """Sorted points of ``[low, high]`` where g or g' may be non-smooth (the ends of the
        supports of the components), including ``low`` and ``high``."""
        return (self.low, self.high)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "distribution")
        return f"{type(self).__name__}({params})"

    # -- shared pieces of the subclasses ------------------------------------------------
    def _where_support(self, r: NDArray, inside: NDArray, below: float, above: float) -> NDArray:
        """``inside`` on ``[low, high]``, ``below``/``above`` outside, ``nan`` kept."""
        out = np.where(r < self.low, below, np.where(r > self.high, above, inside))
        return np.where(np.isnan(r), np.nan, out)

    def _check_u(self, u: ArrayLike) -> tuple[NDArray, NDArray]:
        u = _array(u)
        valid = (u >= 0) & (u <= 1)
        return np.where(valid, u, 0.5), valid

    def _finish_ppf(self, u: NDArray, valid: NDArray, r: NDArray) -> NDArray:
        r = np.clip(r, self.low, self.high)
        r = np.where(u == 0, self.low, np.where(u == 1, self.high, r))
        return np.where(valid, r, np.nan)


class Uniform(UrgencyDistribution):
    """:math:`r \\sim U[\\underline r, \\bar r]` (the paper's example is :math:`U[1, 2]`).

    Parameters
    ----------
    low, high : float
        :math:`\\underline r < \\bar r`, with :math:`\\underline r > 0`.
    """

    kind = "uniform"

    def __init__(self, low: float, high: float):
        self.low, self.high = _support(low, high)
        self._width = self.high - self.low

    def log_pdf(self, r):
        r = _array(r)
        return self._where_support(r, np.full(r.shape, -math.log(self._width)), -np.inf, -np.inf)

    def cdf(self, r):
        r = _array(r)
        return np.clip((r - self.low) / self._width, 0.0, 1.0)

    def log_cdf(self, r):
        r = _array(r)
        z = (r - self.low) / self._width
        w = (self.high - r) / self._width
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.where(z <= 0.5, np.log(z), np.log1p(-w))
        return self._where_support(r, np.where(r == self.low, -np.inf, inside), -np.inf, 0.0)

    def pdf_derivative(self, r):
        r = _array(r)
        return self._where_support(r, np.zeros(r.shape), 0.0, 0.0)

    def reverse_hazard(self, r):
        r = _array(r)
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = 1.0 / (r - self.low)
        return self._where_support(r, inside, np.nan, 0.0)

    def ppf(self, u):
        u, valid = self._check_u(u)
        return self._finish_ppf(u, valid, self.low + u * self._width)

    def mean(self) -> float:
        return 0.5 * (self.low + self.high)

    def describe(self) -> dict:
        return {"distribution": self.kind, "low": self.low, "high": self.high}


class TruncNormal(UrgencyDistribution):
    """:math:`N(m, s^2)` conditioned on :math:`[\\underline r, \\bar r]`.

    With :math:`\\alpha = (\\underline r - m)/s`, :math:`\\beta = (\\bar r - m)/s` and
    :math:`Z = \\Phi(\\beta) - \\Phi(\\alpha)`: :math:`g(r) = \\varphi((r - m)/s)/(sZ)` and
    :math:`G(r) = (\\Phi((r-m)/s) - \\Phi(\\alpha))/Z`, as ``scipy.stats.truncnorm(alpha,
    beta, loc=m, scale=s)``. The normal masses are computed by ``_log_normal_mass``.

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
        self.mu = _number("mean", mean)
        self.sigma = _positive("sd", sd)
        self.low, self.high = _support(low, high)
        self._alpha = (self.low - self.mu) / self.sigma
        self._beta = (self.high - self.mu) / self.sigma
        self._log_z = float(_log_normal_mass(self._alpha, self._beta))
        if not math.isfinite(self._log_z):
            raise UrgencyError(
                f"sd = {_show(sd)}: the normal(mean = {_show(mean)}, sd = {_show(sd)}) puts no "
                f"representable probability on [low, high] = [{self.low}, {self.high}]"
            )
        self._x_median = (float(self.ppf(0.5)) - self.mu) / self.sigma

    def _x(self, r: NDArray) -> NDArray:
        return np.clip((r - self.mu) / self.sigma, self._alpha, self._beta)

    def log_pdf(self, r):
        r = _array(r)
        x = self._x(r)
        inside = -0.5 * x**2 - _LOG_SQRT_2PI - self._log_z - math.log(self.sigma)
        return self._where_support(r, inside, -np.inf, -np.inf)

    def _tail(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """``(lower, log t)``: ``lower`` where :math:`G(r) \\le 1/2`, and t the smaller of
        :math:`G(r)` and :math:`1 - G(r)`, each a normal mass over Z."""
        x = self._x(r).ravel()
        lower = x <= self._x_median
        log_t = np.empty(x.shape)
        log_t[lower] = _log_normal_mass(self._alpha, x[lower])
        log_t[~lower] = _log_normal_mass(x[~lower], self._beta)
        return lower.reshape(r.shape), (log_t - self._log_z).reshape(r.shape)

    def log_cdf(self, r):
        r = _array(r)
        lower, log_t = self._tail(r)
        with np.errstate(divide="ignore"):
            inside = np.where(lower, log_t, np.log1p(-np.exp(log_t)))
        return self._where_support(r, inside, -np.inf, 0.0)

    def cdf(self, r):
        r = _array(r)
        lower, log_t = self._tail(r)
        inside = np.where(lower, np.exp(log_t), -np.expm1(log_t))
        return self._where_support(r, inside, 0.0, 1.0)

    def pdf_derivative(self, r):
        r = _array(r)
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
            _ndtri_exp(np.minimum(log_p, _LOG_HALF)),
            -_ndtri_exp(np.minimum(log_q, _LOG_HALF)),
        )
        return self._finish_ppf(u, valid, self.mu + self.sigma * x)

    def mean(self) -> float:
        # E[r] = m + s (phi(alpha) - phi(beta)) / Z (the mean of a truncated normal), with
        # phi(alpha) - phi(beta) = +-phi(c) (1 - e^(-(d^2 - c^2)/2)), c the end nearer 0 and
        # d the other, so that a narrow interval does not cancel.
        alpha, beta = self._alpha, self._beta
        near, sign = (alpha, 1.0) if abs(alpha) <= abs(beta) else (beta, -1.0)
        factor = -math.expm1(-sign * 0.5 * (beta - alpha) * (beta + alpha))
        log_ratio = -0.5 * near * near - _LOG_SQRT_2PI - self._log_z
        return self.mu + self.sigma * sign * math.exp(log_ratio) * factor

    def describe(self) -> dict:
        return {
            "distribution": self.kind,
            "mean": self.mu,
            "sd": self.sigma,
            "low": self.low,
            "high": self.high,
        }


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
        self.a = _positive("a", a)
        self.b = _positive("b", b)
        self.low, self.high = _support(low, high)
        self._width = self.high - self.low
        self._log_beta = float(special.betaln(self.a, self.b))
        self._z_median = float(special.betaincinv(self.a, self.b, 0.5))

    def _zw(self, r: NDArray) -> tuple[NDArray, NDArray]:
        z = np.clip((r - self.low) / self._width, 0.0, 1.0)
        w = np.clip((self.high - r) / self._width, 0.0, 1.0)
        return z, w

    def log_pdf(self, r):
        r = _array(r)
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
        r = _array(r)
        z, w = (v.ravel() for v in self._zw(r))
        lower = z <= self._z_median
        inside = np.empty(z.shape)
        inside[lower] = self._log_lower(z[lower], self.a, self.b)  # log G
        with np.errstate(divide="ignore"):
            inside[~lower] = np.log1p(-np.exp(self._log_lower(w[~lower], self.b, self.a)))
        return self._where_support(r, inside.reshape(r.shape), -np.inf, 0.0)

    def cdf(self, r):
        r = _array(r)
        z, w = (v.ravel() for v in self._zw(r))
        lower = z <= self._z_median
        inside = np.empty(z.shape)
        inside[lower] = special.betainc(self.a, self.b, z[lower])
        inside[~lower] = 1.0 - special.betainc(self.b, self.a, w[~lower])
        return self._where_support(r, inside.reshape(r.shape), 0.0, 1.0)

    def pdf_derivative(self, r):
        # g' = [(a-1) z^(a-2) (1-z)^(b-1) - (b-1) z^(a-1) (1-z)^(b-2)] / (B(a, b) width^2);
        # a term whose coefficient is 0 is 0 (not 0 * inf at an end).
        r = _array(r)
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
            weights.append(_positive(f"components[{k}].weight", pair[0], "weight"))
        total = math.fsum(weights)
        self.weights = tuple(w / total for w in weights)
        self.components = tuple(pair[1] for pair in components)
        self._log_weights = np.log(np.array(self.weights))
        self.low = min(c.low for c in self.components)
        self.high = max(c.high for c in self.components)
        self._table = self._cdf_table()

    def _stack(self, method: str, r: NDArray) -> NDArray:
        return np.stack([getattr(c, method)(r) for c in self.components])

    def _weighted_sum(self, method: str, r: ArrayLike) -> NDArray:
        r = _array(r)
        return np.tensordot(np.array(self.weights), self._stack(method, r), axes=1)

    def log_pdf(self, r):
        r = _array(r)
        return _log_sum_exp(self._stack("log_pdf", r), self._log_weights)

    def pdf(self, r):
        return self._weighted_sum("pdf", r)

    def cdf(self, r):
        r = _array(r)
        inside = np.clip(self._weighted_sum("cdf", r), 0.0, 1.0)
        return np.where(r >= self.high, 1.0, inside)

    def log_cdf(self, r):
        r = _array(r)
        inside = np.minimum(_log_sum_exp(self._stack("log_cdf", r), self._log_weights), 0.0)
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
        x = _bracketed_newton(
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


# -- scenario tables ----------------------------------------------------------------------
_SIMPLE = {
    "uniform": (Uniform, ("low", "high")),
    "truncnorm": (TruncNormal, ("mean", "sd", "low", "high")),
    "beta": (Beta, ("a", "b", "low", "high")),
}
_KINDS = "'uniform', 'truncnorm', 'beta' or 'mixture'"


def _build(prefix: str, params: dict, cls: type) -> UrgencyDistribution:
    try:
        return cls(**params)
    except UrgencyError as err:
        raise UrgencyError(f"{prefix}{err}") from None


def _fields(
    prefix: str, spec: Mapping, kind: str, required: Sequence[str], extra: Sequence[str] = ()
) -> dict:
    """The required fields of ``spec``; errors for a missing or unknown key."""
    allowed = ("distribution", *required, *extra)
    for key in spec:
        if key not in allowed:
            raise UrgencyError(
                f"{prefix}{key}: unknown key for {kind!r} (expected {', '.join(allowed)})"
            )
    for key in (*required, *extra):
        if key not in spec:
            what = f"required for {kind!r}" if key != "weight" else "required for a component"
            raise UrgencyError(f"{prefix}{key}: missing ({what})")
    return {key: spec[key] for key in required}


def _kind(prefix: str, spec: object, kinds: str) -> str:
    if not isinstance(spec, Mapping):
        raise UrgencyError(
            f"{prefix.rstrip('.')} = {spec!r}: expected a table with a 'distribution' key"
        )
    if "distribution" not in spec:
        raise UrgencyError(f"{prefix}distribution: missing (expected {kinds})")
    kind = spec["distribution"]
    if not isinstance(kind, str):
        raise UrgencyError(f"{prefix}distribution = {kind!r}: expected {kinds}")
    return kind


def make_urgency(spec: Mapping) -> UrgencyDistribution:
    """Build an urgency distribution from a scenario's ``[urgency]`` table.

    Parameters
    ----------
    spec : mapping
        ``{"distribution": "uniform", "low": 1.0, "high": 2.0}``; ``"truncnorm"`` takes
        ``mean, sd, low, high``; ``"beta"`` takes ``a, b, low, high``; ``"mixture"`` takes
        ``components``, a list of such tables (not mixtures) each with a ``weight`` > 0.

    Raises
    ------
    UrgencyError
        For an unknown distribution, an unknown or missing key or a bad value, naming the
        field as ``urgency.sd`` or ``urgency.components[1].sd``.
    """
    kind = _kind("urgency.", spec, _KINDS)
    if kind in _SIMPLE:
        cls, required = _SIMPLE[kind]
        return _build("urgency.", _fields("urgency.", spec, kind, required), cls)
    if kind != "mixture":
        raise UrgencyError(f"urgency.distribution = {kind!r}: expected {_KINDS}")
    table = _fields("urgency.", spec, kind, ("components",))["components"]
    if isinstance(table, (str, bytes, Mapping)) or not isinstance(table, Sequence) or not table:
        raise UrgencyError(
            f"urgency.components = {table!r}: expected a non-empty list of component tables"
        )
    pairs = []
    for k, item in enumerate(table):
        prefix = f"urgency.components[{k}]."
        simple = "'uniform', 'truncnorm' or 'beta'"
        sub = _kind(prefix, item, simple)
        if sub not in _SIMPLE:
            raise UrgencyError(f"{prefix}distribution = {sub!r}: expected {simple}")
        cls, required = _SIMPLE[sub]
        params = _fields(prefix, item, sub, required, extra=("weight",))
        pairs.append((item["weight"], _build(prefix, params, cls)))
    return _build("urgency.", {"components": pairs}, Mixture)
