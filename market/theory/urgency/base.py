"""The contract of an urgency law, its argument checks, and the uniform law
(see :mod:`market.theory.urgency`)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.normal import as_array

__all__ = ["SeedLike", "Uniform", "UrgencyDistribution", "UrgencyError"]

#: Anything ``np.random.default_rng`` accepts.
SeedLike = int | np.random.SeedSequence | np.random.Generator | None


class UrgencyError(ValueError):
    """Raised for an urgency distribution whose parameters the paper does not allow."""


# -- helpers ------------------------------------------------------------------------------
def show(value: object) -> str:
    """A parameter value as a user typed it: ``-1``, ``2.0``, ``'abc'``."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return str(value)
    return repr(value)


def number(name: str, value: object) -> float:
    """``value`` as a finite float, or an :class:`UrgencyError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UrgencyError(f"{name} = {show(value)}: expected a number")
    out = float(value)
    if not math.isfinite(out):
        raise UrgencyError(f"{name} = {show(value)}: expected a finite number")
    return out


def positive(name: str, value: object, symbol: str | None = None) -> float:
    """``value`` as a float > 0; the message says ``expected {symbol} > 0``."""
    out = number(name, value)
    if out <= 0:
        raise UrgencyError(f"{name} = {show(value)}: expected {symbol or name} > 0")
    return out


def support(low: object, high: object) -> tuple[float, float]:
    lo, hi = number("low", low), number("high", high)
    if not 0 < lo < hi:
        raise UrgencyError(f"low = {show(low)}: expected 0 < low < high = {show(high)}")
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
        r = as_array(r)
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
        u = as_array(u)
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
        self.low, self.high = support(low, high)
        self._width = self.high - self.low

    def log_pdf(self, r):
        r = as_array(r)
        return self._where_support(r, np.full(r.shape, -math.log(self._width)), -np.inf, -np.inf)

    def cdf(self, r):
        r = as_array(r)
        return np.clip((r - self.low) / self._width, 0.0, 1.0)

    def log_cdf(self, r):
        r = as_array(r)
        z = (r - self.low) / self._width
        w = (self.high - r) / self._width
        with np.errstate(divide="ignore", invalid="ignore"):
            inside = np.where(z <= 0.5, np.log(z), np.log1p(-w))
        return self._where_support(r, np.where(r == self.low, -np.inf, inside), -np.inf, 0.0)

    def pdf_derivative(self, r):
        r = as_array(r)
        return self._where_support(r, np.zeros(r.shape), 0.0, 0.0)

    def reverse_hazard(self, r):
        r = as_array(r)
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
