r"""What a learning platform learns from purchases: interval-censored maximum likelihood.

The platform posts a menu of token caps :math:`\hat T(r)` (non-increasing in the type) and
sees which item each user bought. Under its model of users (rational choice, so each type buys
the item meant for it), an item of time cap :math:`c` reveals the *set* of urgencies that buy
it, :math:`S(c) = \{r \in [\underline r, \bar r] : \hat T(r) = c\}`, an interval because
:math:`\hat T` is monotone (:func:`observe`):

- where :math:`\hat T` is strictly decreasing, :math:`S(c)` is one type: the urgency itself;
- on an ironed pool (Theorem 1 with ironing) it is the pool :math:`[r_1, r_2]`;
- a user who leaves reveals the types that buy nothing, :math:`\{\hat T = 0\}`.

Likelihood of a family :math:`G_\theta` on the known support (:func:`log_likelihood`).
The observed item is a function of :math:`r`, so its law under :math:`\theta` is the image of
:math:`G_\theta`: a pool or any set of positive width has probability
:math:`G_\theta(r_2) - G_\theta(r_1)`; on the strictly monotone stretch the item has a density
:math:`g_\theta(r)/|\hat T'(r)|` whose Jacobian does not depend on :math:`\theta`, so a point
observation contributes :math:`\log g_\theta(r)`. Hence

.. math:: \ell(\theta) = \sum_{\text{points}} \log g_\theta(r_i)
          + \sum_{\text{sets}} n_j \log\bigl(G_\theta(r_{2,j}) - G_\theta(r_{1,j})\bigr).

A set narrower than :data:`POINT_WIDTH` (of the support) counts as a point at its middle: its
mass is :math:`g_\theta(\text{mid})\,w` to relative order :math:`w^2`, and :math:`w` does not
depend on :math:`\theta`, while the difference of two CDF values so close would lose digits. A
set at an end of the support is always given a width of at least :data:`POINT_WIDTH` (a leaver
when only the top type buys nothing, :math:`\{\bar r\}`): a density that is infinite at an
end (Beta with :math:`a < 1` or :math:`b < 1`) would otherwise make the likelihood unbounded.
Rational users never produce such a set (it has probability 0); users who err may.

The maximum is found by Nelder-Mead (:func:`fit`) over unconstrained transforms of the
parameters (:data:`FAMILIES`: :math:`\log a, \log b` for ``beta``; :math:`m, \log s` for
``truncnorm``) within bounds; a parameter at which the law cannot be built or the likelihood is
not finite is rejected. ``uniform`` has no parameter: its fit is the uniform law.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from market.scenario.schema_base import BETA_SHAPES
from market.theory.urgency import Beta, TruncNormal, Uniform, UrgencyDistribution

__all__ = [
    "FAMILIES",
    "POINT_WIDTH",
    "Family",
    "Fit",
    "Observations",
    "check_parameters",
    "fit",
    "log_likelihood",
    "observe",
]

#: A revealed set narrower than this fraction of the support width is a point observation.
POINT_WIDTH = 1e-7
#: Bisection steps locating a set's ends (2**-60 of the width: below the float resolution).
BISECTIONS = 60
#: Truncated normals the fit may reach: mean within this many support widths of the support,
#: sd from SD_RANGE[0] to SD_RANGE[1] widths (beyond, the law is a uniform or a point mass to
#: the precision of any sample the platform sees).
MEAN_REACH = 10.0
SD_RANGE = (1e-4, 1e3)
#: Nelder-Mead tolerances on the transformed parameters and on the log-likelihood per
#: observation (the sampling error of log a from 10**5 observations is ~5e-3).
XATOL = 1e-6
FATOL = 1e-12
MAX_EVALUATIONS = 2000


@dataclass(frozen=True)
class Family:
    r"""A parametric family of urgency laws on a known support ``[low, high]``.

    ``law(params, low, high)`` builds the law; ``free`` / ``natural`` map the parameters to and
    from unconstrained coordinates; ``bounds(low, high)`` bounds those coordinates;
    ``start(low, high)`` is the default first estimate. Every family here is an exponential
    family on the support: :math:`\log g_\theta(r) = \log g_\theta(c) +
    \eta(\theta)\cdot(s(r) - s(c))` for any type :math:`c`, with ``statistic(r, low, high)``
    :math:`= s(r)` (rows) and ``eta(params, low, high)`` :math:`= \eta(\theta)`, so the
    points of a fit enter through :math:`\sum_i s(r_i)`, summed once.
    """

    name: str
    parameters: tuple[str, ...]
    law: Callable[[dict, float, float], UrgencyDistribution]
    free: Callable[[dict], NDArray]
    natural: Callable[[NDArray], dict]
    bounds: Callable[[float, float], list[tuple[float, float]]]
    start: Callable[[float, float], dict]
    statistic: Callable[[NDArray, float, float], NDArray]
    eta: Callable[[dict, float, float], NDArray]


def _beta_bounds(low: float, high: float) -> list[tuple[float, float]]:
    return [(math.log(BETA_SHAPES[0]), math.log(BETA_SHAPES[1]))] * 2


def _truncnorm_bounds(low: float, high: float) -> list[tuple[float, float]]:
    w = high - low
    return [
        (low - MEAN_REACH * w, high + MEAN_REACH * w),
        (math.log(SD_RANGE[0] * w), math.log(SD_RANGE[1] * w)),
    ]


def _beta_statistic(r: NDArray, low: float, high: float) -> NDArray:
    r""":math:`(\log z, \log(1 - z))`, :math:`1 - z` from ``high`` for its precision."""
    return np.log(np.stack([(r - low) / (high - low), (high - r) / (high - low)]))


def _truncnorm_statistic(r: NDArray, low: float, high: float) -> NDArray:
    """:math:`(x, x^2)` with :math:`x` centred on the support (for the precision of sums)."""
    x = r - 0.5 * (low + high)
    return np.stack([x, x * x])


def _truncnorm_eta(p: dict, low: float, high: float) -> NDArray:
    """:math:`-(x - m')^2/(2s^2) = (m'/s^2)x - x^2/(2s^2) + \text{const}`, with
    :math:`m'` the mean centred as :func:`_truncnorm_statistic` centres :math:`x`."""
    centred = p["mean"] - 0.5 * (low + high)
    return np.array([centred / p["sd"] ** 2, -0.5 / p["sd"] ** 2])


#: The families a platform may fit (the names of ``[platform] learning.family``).
FAMILIES = {
    "beta": Family(
        "beta",
        ("a", "b"),
        lambda p, lo, hi: Beta(p["a"], p["b"], lo, hi),
        lambda p: np.log([p["a"], p["b"]]),
        lambda x: {"a": float(math.exp(x[0])), "b": float(math.exp(x[1]))},
        _beta_bounds,
        lambda lo, hi: {"a": 1.0, "b": 1.0},
        _beta_statistic,
        lambda p, lo, hi: np.array([p["a"] - 1.0, p["b"] - 1.0]),
    ),
    "truncnorm": Family(
        "truncnorm",
        ("mean", "sd"),
        lambda p, lo, hi: TruncNormal(p["mean"], p["sd"], lo, hi),
        lambda p: np.array([p["mean"], math.log(p["sd"])]),
        lambda x: {"mean": float(x[0]), "sd": float(math.exp(x[1]))},
        _truncnorm_bounds,
        lambda lo, hi: {"mean": 0.5 * (lo + hi), "sd": 0.5 * (hi - lo)},
        _truncnorm_statistic,
        _truncnorm_eta,
    ),
    "uniform": Family(
        "uniform",
        (),
        lambda p, lo, hi: Uniform(lo, hi),
        lambda p: np.empty(0),
        lambda x: {},
        lambda lo, hi: [],
        lambda lo, hi: {},
        lambda r, lo, hi: np.empty((0, np.size(r))),
        lambda p, lo, hi: np.empty(0),
    ),
}


def check_parameters(family: str, params: dict, low: float, high: float) -> dict:
    """``params`` of ``family`` as floats (every parameter, or none for the default start);
    a ``ValueError`` names the field (``initial.a = -1: expected ...``) otherwise."""
    if family not in FAMILIES:
        raise ValueError(f"family = {family!r}: expected one of {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    for key, value in params.items():
        if key not in fam.parameters:
            names = ", ".join(fam.parameters) or "none"
            raise ValueError(
                f"initial.{key} = {value!r}: unknown parameter of family {family!r} "
                f"(expected: {names})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ValueError(f"initial.{key} = {value!r}: expected a number")
    if not params:
        return fam.start(low, high)
    missing = [k for k in fam.parameters if k not in params]
    if missing:
        raise ValueError(f"initial: missing {', '.join(missing)} (give every parameter or none)")
    out = {k: float(params[k]) for k in fam.parameters}
    for key, value in out.items():
        if key in ("a", "b") and not BETA_SHAPES[0] <= value <= BETA_SHAPES[1]:
            raise ValueError(
                f"initial.{key} = {value!r}: expected a shape from "
                f"{BETA_SHAPES[0]:g} to {BETA_SHAPES[1]:g}"
            )
        if not math.isfinite(value) or (key == "sd" and not value > 0):
            what = "a number > 0" if key == "sd" else "a finite number"
            raise ValueError(f"initial.{key} = {value!r}: expected {what}")
    return out


@dataclass(frozen=True)
class Observations:
    """What the platform saw: ``points`` (urgencies revealed exactly) and sets
    ``[lows[j], highs[j]]`` seen ``counts[j]`` times."""

    points: NDArray
    lows: NDArray
    highs: NDArray
    counts: NDArray

    @classmethod
    def empty(cls) -> Observations:
        none = np.empty(0)
        return cls(none, none, none, np.empty(0, dtype=np.int64))

    def __add__(self, other: Observations) -> Observations:
        return _grouped(
            np.concatenate([self.points, other.points]),
            np.concatenate([self.lows, other.lows]),
            np.concatenate([self.highs, other.highs]),
            np.concatenate([self.counts, other.counts]),
        )

    @property
    def size(self) -> int:
        return int(self.points.size + self.counts.sum())


def _grouped(points, lows, highs, counts) -> Observations:
    """Identical sets merged (a pool is seen by every user in it)."""
    if lows.size == 0:
        return Observations(points, lows, highs, counts.astype(np.int64))
    pairs, inverse = np.unique(np.stack([lows, highs], axis=1), axis=0, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=counts, minlength=pairs.shape[0])
    return Observations(points, pairs[:, 0], pairs[:, 1], total.astype(np.int64))


def _ends(cap_of, caps: NDArray, low: float, high: float) -> tuple[NDArray, NDArray]:
    r""":math:`\inf\{r : \hat T(r) \le c\}` and :math:`\sup\{r : \hat T(r) \ge c\}` on the
    support, by bisection (``cap_of`` non-increasing)."""
    ends = []
    for upper in (False, True):
        a, b = np.full(caps.size, low), np.full(caps.size, high)
        for _ in range(BISECTIONS):
            mid = 0.5 * (a + b)
            t = np.asarray(cap_of(mid), dtype=float)
            right = t >= caps if upper else t > caps  # the end lies right of mid
            a, b = np.where(right, mid, a), np.where(right, b, mid)
        if upper:
            ends.append(np.where(np.asarray(cap_of(np.full(1, high))) >= caps, high, a))
        else:
            ends.append(np.where(np.asarray(cap_of(np.full(1, low))) <= caps, low, b))
    return ends[0], ends[1]


def observe(cap_of, caps, buys, low: float, high: float, hint=None) -> Observations:
    r"""The sets revealed by the items bought: the item of time cap ``caps[i]`` if ``buys[i]``,
    else nothing (cap 0); ``cap_of`` is the posted :math:`\hat T` (non-increasing).

    ``hint`` (optional, e.g. the type each user reported) only saves work: where
    :math:`\hat T(h - \delta) > c > \hat T(h + \delta)` for :math:`2\delta` =
    :data:`POINT_WIDTH` of the support, the set :math:`\{\hat T = c\}` lies within
    :math:`\delta` of :math:`h` and is the point :math:`h`; every other set is located by
    bisection on :math:`\hat T` alone.
    """
    caps = np.where(np.asarray(buys, dtype=bool), np.asarray(caps, dtype=float), 0.0)
    least = POINT_WIDTH * (high - low)
    quick, h = np.zeros(caps.size, dtype=bool), np.empty(caps.size)
    if hint is not None:
        h = np.asarray(hint, dtype=float)
        inside = np.isfinite(h) & (h > low + least) & (h < high - least) & (caps > 0)
        h = np.where(inside, h, 0.5 * (low + high))
        below, above = (np.asarray(cap_of(h + d), dtype=float) for d in (-least / 2, least / 2))
        quick = inside & (below > caps) & (caps > above)
    unique, inverse = np.unique(caps[~quick], return_inverse=True)
    lo, hi = (end[inverse.ravel()] for end in _ends(cap_of, unique, low, high))
    lo = np.where(hi >= high - least, np.minimum(lo, high - least), lo)  # a set at an end
    hi = np.where(lo <= low + least, np.maximum(hi, low + least), hi)  # keeps its width
    point = hi - lo < least
    points = np.concatenate([h[quick], 0.5 * (lo[point] + hi[point])])
    return _grouped(points, lo[~point], hi[~point], np.ones((~point).sum(), np.int64))


def log_likelihood(law: UrgencyDistribution, obs: Observations) -> float:
    """:math:`\\ell` of the module's docstring: log density at the points, log mass of the
    sets (``-inf`` where the law gives an observation no probability)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        total = float(np.sum(law.log_pdf(obs.points)))
        if obs.counts.size:
            mass = np.asarray(law.cdf(obs.highs), float) - np.asarray(law.cdf(obs.lows), float)
            total += float(np.sum(obs.counts * np.log(np.maximum(mass, 0.0))))
    return total if not math.isnan(total) else -math.inf


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: the parameters, :math:`\\ell` there, and the optimiser's
    verdict."""

    params: dict
    log_likelihood: float
    converged: bool


def fit(family: str, obs: Observations, low: float, high: float, start: dict) -> Fit:
    """The maximum-likelihood parameters of ``family`` on ``[low, high]`` for ``obs``,
    from ``start`` (Nelder-Mead on the transformed parameters, within their bounds).

    The points enter through their sufficient statistic (:class:`Family`), so an evaluation
    costs the sets only; the log-likelihood returned is :func:`log_likelihood` at the fit.
    """
    fam = FAMILIES[family]
    if not fam.parameters:
        return Fit({}, log_likelihood(fam.law({}, low, high), obs), True)
    n, scale = obs.points.size, max(obs.size, 1)
    centre = 0.5 * (low + high)
    shift = fam.statistic(obs.points, low, high).sum(axis=1) - n * fam.statistic(
        np.array([centre]), low, high
    )[:, 0]  # fmt: skip
    sets = Observations(np.empty(0), obs.lows, obs.highs, obs.counts)

    def objective(x: NDArray) -> float:
        params = fam.natural(x)
        try:
            law = fam.law(params, low, high)
        except (ValueError, ArithmeticError):  # a law that cannot be built
            return math.inf
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            points = n * float(law.log_pdf(centre)) + float(fam.eta(params, low, high) @ shift)
        value = (points if n else 0.0) + log_likelihood(law, sets)
        return -value / scale if math.isfinite(value) else math.inf

    bounds = fam.bounds(low, high)
    lower, upper = np.array(bounds).T
    x0 = np.clip(fam.free(start), lower, upper)
    if not math.isfinite(objective(x0)):
        x0 = np.clip(fam.free(fam.start(low, high)), lower, upper)
    options = {"xatol": XATOL, "fatol": FATOL, "maxfev": MAX_EVALUATIONS}
    res = minimize(objective, x0, method="Nelder-Mead", bounds=bounds, options=options)
    if not math.isfinite(res.fun):
        raise ValueError(
            f"family = {family!r}: no parameter gives the observations a finite likelihood"
        )
    params = fam.natural(res.x)
    return Fit(params, log_likelihood(fam.law(params, low, high), obs), bool(res.success))
