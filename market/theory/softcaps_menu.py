r"""The menu of soft caps (Section 4, "Endogenous reasoning quality") and the hard-cap menu it is
compared with, on the value function :math:`V(\mu) = |\mu - \tfrac12|` (docs/paper-notes.md,
erratum 10; the models are in :mod:`market.theory.softcaps`).

**Soft caps** (:class:`SoftCapMenu`). Type :math:`r'` is sold the model of the pointwise problem
(13) with soft cap :math:`T(r')`: the slope of the concave envelope of :math:`\log G` (the
paper's :math:`g/G`, ironed where :math:`\log G` is not concave, by the threshold allocation of
:mod:`market.theory.threshold` — for pooled types this reuses Theorem 1's pooling, which the
paper does not derive for soft caps: the incentive check below is what vouches for it). A
type :math:`r` taking the model of :math:`r'` gets

.. math:: V(r\mid r') = E_{r'}[\kappa_{r'}(\tau)e^{-r\tau}],

prices follow from the envelope condition with IR binding at :math:`\bar r` (erratum 2 with
:math:`\kappa`): :math:`P(r) = V(r\mid r) - \int_r^{\bar r} E_z[\tau\kappa_z(\tau)e^{-z\tau}]dz`.
Where :math:`T = g/G` the revenue equals the relaxed revenue
:math:`\int g\,(\alpha-1)\kappa_r(0)/\alpha` (the pointwise values, erratum 10). The paper does not
prove that the menu is incentive compatible; :meth:`SoftCapMenu.incentive_report` checks every
type of a grid against every report of a grid.

**The hard-cap comparison** (:class:`FixedQualityMenu`). A single model of *fixed* quality
:math:`k \in (0, \tfrac12]` — the belief jumps from :math:`\tfrac12` to :math:`\tfrac12\pm k`
at rate :math:`\lambda = \chi/k^\alpha` ((Info.) binds), so :math:`\tau\sim\text{Exp}(\lambda)`
and the user gains :math:`k e^{-r\tau}` — sold with Theorem 1's token caps: a conversation cut
at :math:`T(r)` without a jump gains nothing. For a fixed model the optimal caps do not depend
on its stopping law (the threshold :math:`\rho^*(t) = \arg\max_r G(r)e^{-rt}` does not), and
the value scales by :math:`k`, so revenue is
:math:`k\int_0^\infty \lambda e^{-\lambda t}G(\rho^*(t))e^{-\rho^*(t)t}dt`, maximised over
:math:`k` here. :math:`k = \tfrac12` is the paper's greedy model (learning the state); the
quality aligned with the most patient type is :math:`(\chi/((\alpha-1)\underline r))^{1/\alpha}`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize_scalar

from market.numerics.chebyshev import fit_panels
from market.numerics.integrate import expect
from market.theory.softcaps import QualityLaw, stationary_quality
from market.theory.threshold import EnvelopeAllocation

__all__ = ["FixedQualityLaw", "IncentiveCheck", "SoftCapMenu", "best_fixed_quality"]

#: Relative accuracy and degree of the Chebyshev fits in type space (rent rate, utility, time).
FIT_RTOL = 1e-11
FIT_DEGREE = 24
#: Narrowest panel of those fits, relative to the support: where the cap vanishes at the top
#: (a density g -> 0 there) the utility is not analytic, and panels stop splitting here.
FIT_MIN_WIDTH = 1e-7
#: Gauss-Legendre nodes per panel of :func:`unit_revenue`.
UNIT_NODES = 24
#: Above this many types, :meth:`SoftCapMenu.items` reads utilities from their fit.
BULK_TYPES = 4096
#: How many calls of :meth:`SoftCapMenu.own` are remembered.
MEMO = 256
#: Grid of the global incentive check: types x reports.
IC_POINTS = 61


@dataclass(frozen=True)
class IncentiveCheck:
    """The global IC/IR check of a soft-cap menu on a grid of types x reports.

    ``max_gain`` is the largest :math:`[V(r|r') - P(r')] - [V(r|r) - P(r)]` over types
    :math:`r` and reports :math:`r' \\ne r` of the grid, at type ``type_at`` reporting
    ``report_at`` (negative: every misreport loses); ``relative`` divides it by that type's
    truthful utility. ``min_surplus`` is the smallest truthful surplus (IR holds iff >= 0).
    """

    max_gain: float
    type_at: float
    report_at: float
    relative: float
    min_surplus: float
    points: int

    @property
    def incentive_compatible(self) -> bool:
        return self.max_gain <= 1e-9

    def describe(self) -> str:
        ok = "holds" if self.incentive_compatible else "FAILS"
        return (
            f"global IC {ok} on {self.points} x {self.points} types x reports: largest misreport "
            f"gain {self.max_gain:.3g} (type {self.type_at:.4g} reporting {self.report_at:.4g}, "
            f"{100 * self.relative:.3g}% of its utility); smallest surplus {self.min_surplus:.3g}"
        )


class SoftCapMenu:
    r"""The menu of soft caps: one model per type, envelope prices (Section 4).

    Parameters
    ----------
    alpha : float
        :math:`\alpha` of :math:`H = |\mu - \tfrac12|^\alpha`.
    token_rate : float
        :math:`\chi`.
    urgency : UrgencyDistribution
        :math:`G` on :math:`[\underline r, \bar r]`.
    """

    def __init__(self, alpha: float, token_rate: float, urgency):
        self.law = QualityLaw(alpha, token_rate)
        self.urgency = urgency
        self.low, self.high = float(urgency.low), float(urgency.high)
        self.allocation = EnvelopeAllocation(urgency, None, iron=True)
        self.pools = self.allocation.pools
        self._memo: dict = {}
        self._fits: dict = {}

    @property
    def alpha(self) -> float:
        return self.law.alpha

    @property
    def token_rate(self) -> float:
        return self.law.token_rate

    def cap(self, r: ArrayLike) -> NDArray:
        """Soft cap :math:`T(r)` in time (token cap :math:`\\chi T`; ``inf`` at :math:`G = 0`)."""
        return self.allocation.cap(np.asarray(r, dtype=float))

    def quality(self, r: ArrayLike, t: ArrayLike) -> NDArray:
        r""":math:`\kappa_r(t)`: the quality of type ``r``'s model at running time ``t``."""
        r = np.asarray(r, dtype=float)
        return self.law.quality(r, self.cap(r), t)

    def own(self, r: ArrayLike) -> dict[str, NDArray]:
        """Each type's own expectations (:meth:`QualityLaw.own`); the last few calls are
        remembered (the expectations of :attr:`welfare` and the others share their nodes)."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        key = (r.shape, r.tobytes())
        if key not in self._memo:
            if len(self._memo) >= MEMO:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = self.law.own(r, self.cap(r))
        return self._memo[key]

    def value(self, r: ArrayLike, report: ArrayLike) -> NDArray:
        """:math:`V(r\\mid r')`: rows types ``r``, columns reports."""
        report = np.atleast_1d(np.asarray(report, dtype=float))
        return self.law.values(r, report, self.cap(report))

    @cached_property
    def _breakpoints(self) -> list[float]:
        bps = {self.low, self.high, *self.urgency.breakpoints(), *self.allocation.breakpoints()}
        bps |= {float(q) for q in self.urgency.ppf(np.array([0.01, 0.1, 0.5, 0.9, 0.99]))}
        return sorted(b for b in bps if self.low <= b <= self.high)

    def _fit(self, name: str):
        """Piecewise Chebyshev fit in type space of one of :meth:`own`'s expectations (the
        fits share their nodes, so :meth:`own` computes each node once)."""
        if name not in self._fits:
            probe = self.own(np.linspace(self.low, self.high, 9))[name]
            scale = max(float(np.max(np.abs(probe))), 1e-300)
            self._fits[name] = fit_panels(
                lambda z: self.own(z)[name], self._breakpoints, degree=FIT_DEGREE,
                rtol=FIT_RTOL, scale=scale, min_width=FIT_MIN_WIDTH,
            )  # fmt: skip
        return self._fits[name]

    @property
    def _rent(self):
        return self._fit("rent")

    def surplus(self, r: ArrayLike) -> NDArray:
        """:math:`V(r|r) - P(r) = \\int_r^{\\bar r} E_z[\\tau\\kappa e^{-z\\tau}]dz` (IR binds at
        :math:`\\bar r`)."""
        return self._rent.integral_to_end(np.clip(np.asarray(r, dtype=float), self.low, self.high))

    def items(self, r: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """``(cap, price, utility)`` of each type's own item: the utility by quadrature, or for
        more than :data:`BULK_TYPES` types (a population) from its Chebyshev fit in type space
        (relative accuracy :data:`FIT_RTOL` of its largest value). A cap of 0 sells nothing."""
        r = np.clip(np.atleast_1d(np.asarray(r, dtype=float)), self.low, self.high)
        cap = self.cap(r)
        if r.size > BULK_TYPES:
            utility = self._fit("utility")(r)
        else:
            utility = self.own(r)["utility"]
        utility = np.where(cap > 0, utility, 0.0)
        return cap, np.where(cap > 0, utility - self.surplus(r), 0.0), utility

    def expected_time(self, r: ArrayLike) -> NDArray:
        """:math:`E_r[\tau]` of each type's own model (from its fit in type space)."""
        r = np.clip(np.atleast_1d(np.asarray(r, dtype=float)), self.low, self.high)
        return self._fit("time")(r)

    def price(self, r: ArrayLike) -> NDArray:
        return self.items(r)[1]

    def _expect(self, func) -> float:
        return float(expect(self.urgency, func, breakpoints=self.allocation.breakpoints()))

    @cached_property
    def welfare(self) -> float:
        """Expected utility :math:`\\int g V(r|r)` (no cost of tokens: gross welfare)."""
        return self._expect(self._fit("utility"))

    @cached_property
    def user_surplus(self) -> float:
        return self._expect(self.surplus)

    @cached_property
    def revenue(self) -> float:
        return self.welfare - self.user_surplus

    @cached_property
    def relaxed_revenue(self) -> float:
        """:math:`\\int g\\,(\\alpha-1)\\kappa_r(0)/\\alpha`: the pointwise values (erratum 10),
        equal to :attr:`revenue` where no type is pooled."""
        return self._expect(lambda r: self.law.pointwise_value(r, self.cap(r)))

    @cached_property
    def tokens_per_user(self) -> float:
        """:math:`\\chi\\int g\\,E_r[\\tau]`: tokens at rate :math:`\\chi` while a conversation
        runs (it always ends at a jump, before the soft cap)."""
        return self.token_rate * self._expect(self._fit("time"))

    def incentive_report(self, points: int = IC_POINTS) -> IncentiveCheck:
        """Global IC and IR on ``points`` types x ``points`` reports (evenly spaced)."""
        grid = np.linspace(self.low, self.high, points)
        _, price, _ = self.items(grid)
        value = self.value(grid, grid)  # one quadrature for truthful and misreported values
        utility = np.diag(value)
        gain = value - price[None, :] - (utility - price)[:, None]
        np.fill_diagonal(gain, -np.inf)  # a misreport: r' != r (the truth gains 0)
        i, j = np.unravel_index(np.argmax(gain), gain.shape)
        best = float(gain[i, j])
        if utility[i] > 0:
            relative = best / float(utility[i])
        else:
            relative = math.inf if best > 0 else 0.0
        return IncentiveCheck(
            best, float(grid[i]), float(grid[j]), relative,
            float(np.min(utility - price)), points,
        )  # fmt: skip


# -- the hard-cap comparison ------------------------------------------------------------------


class FixedQualityLaw:
    r"""One model of fixed quality :math:`k`: jumps to :math:`\tfrac12\pm k` at rate
    :math:`\lambda = \chi/k^\alpha`, cut by a hard cap. The interface of :class:`QualityLaw`
    the simulation uses (``jump``, ``quality``)."""

    def __init__(self, alpha: float, token_rate: float, quality: float):
        if not (0 < quality <= 0.5):
            raise ValueError(f"quality = {quality!r}: expected a number in (0, 0.5]")
        self.alpha, self.token_rate, self.k = float(alpha), float(token_rate), float(quality)
        self.rate = self.token_rate / self.k**self.alpha

    def jump(self, r: ArrayLike, cap: ArrayLike, e: ArrayLike) -> tuple[NDArray, NDArray]:
        """Jump time :math:`E/\\lambda` (whatever the cap: beyond it nothing is gained) and
        the quality :math:`k`."""
        r, cap, e = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (r, cap, e)))
        return e / self.rate, np.full(e.shape, self.k)

    def quality(self, r: ArrayLike, cap: ArrayLike, t: ArrayLike) -> NDArray:
        """:math:`k` before the hard cap, 0 from it on."""
        r, cap, t = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (r, cap, t)))
        return np.where(t < cap, self.k, 0.0)


def unit_revenue(rate: float, threshold, kinks: ArrayLike = ()) -> float:
    r""":math:`\int_0^\infty \lambda e^{-\lambda t} G(\rho^*(t))e^{-\rho^*(t)t}\,dt` for an
    exponential stopping time: Theorem 1's revenue at value 1. ``threshold(t)`` returns
    :math:`(\rho^*(t), G(\rho^*(t)))` (vectorised); ``kinks``: times where :math:`\rho^*` has a
    kink or a jump. Gauss-Legendre panels in :math:`x = \lambda t` up to 60
    (:math:`e^{-60}` beyond)."""
    x, w = np.polynomial.legendre.leggauss(UNIT_NODES)
    edges = {0.0, 0.25, 1.0, 3.0, 8.0, 20.0, 40.0, 60.0}
    edges |= {float(rate * k) for k in np.asarray(kinks, dtype=float) if 0 < rate * k < 60}
    edges = np.array(sorted(edges))
    a, width = edges[:-1, None], np.diff(edges)[:, None]
    xs = (a + 0.5 * width * (x[None, :] + 1.0)).ravel()
    ws = (0.5 * width * w[None, :]).ravel()
    rho, big_g = threshold(xs / rate)
    return float(np.sum(ws * np.exp(-xs) * big_g * np.exp(-rho * xs / rate)))


def best_fixed_quality(alpha: float, token_rate: float, urgency) -> tuple[float, float]:
    r"""The quality :math:`k^*\in(0,\tfrac12]` of the best hard-cap menu and its revenue,
    :math:`\max_k k\,R(\chi/k^\alpha)` (:func:`unit_revenue`, bounded search in
    :math:`\log k`)."""
    alloc = EnvelopeAllocation(urgency, None, iron=True)
    kinks = [float(c) for c in alloc.cap(np.array(alloc.breakpoints())) if np.isfinite(c)]
    kinks += [p.cap for p in alloc.pools]

    def threshold(t):
        rho = alloc.threshold(t)
        return rho, np.asarray(urgency.cdf(rho), dtype=float)

    def revenue(log_k):
        k = float(np.exp(log_k))
        return k * unit_revenue(token_rate / k**alpha, threshold, kinks)

    aligned = float(stationary_quality(alpha, token_rate, float(urgency.low)))
    low = np.log(min(aligned, 0.5)) - 3.0
    res = minimize_scalar(lambda x: -revenue(x), bounds=(low, np.log(0.5)), method="bounded",
                          options={"xatol": 1e-10})  # fmt: skip
    best_x = float(res.x)
    for x in (np.log(0.5), np.log(min(aligned, 0.5))):  # the ends the search may miss
        if revenue(x) > revenue(best_x):
            best_x = float(x)
    return float(np.exp(best_x)), float(revenue(best_x))
