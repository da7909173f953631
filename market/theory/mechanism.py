r"""The optimal token-cap menu for any urgency distribution (Theorem 1, with ironing).

For a conversation model with stopping density :math:`f` and types :math:`r\sim G` on
:math:`[\underline r, \bar r]`, a menu of time caps :math:`T(r)` (token caps :math:`\chi T`) with
envelope prices earns (docs/paper-notes.md, "The optimal menu for any urgency distribution")

.. math:: \text{Revenue} = \int_0^\infty f(t)\, G(\rho(t))\, e^{-\rho(t)t}\,dt,

where :math:`\rho(t)` is the most urgent type whose cap covers :math:`t`. The best menu takes
:math:`\rho^*(t) = \arg\max_r \log G(r) - rt`, i.e. the cap of type :math:`r` is the slope of the
upper concave envelope of :math:`\ell = \log G` at :math:`r`:

.. math:: T(r) = \hat\ell'(r),

which is the paper's :math:`g/G` (Definition 2) where :math:`\log G` is concave and a constant
(the chord's slope) on each interval where the envelope lies above :math:`\ell`: those types are
pooled on one cap (ironing). Prices follow from the envelope theorem (docs/paper-notes.md,
erratum 2):

.. math:: P(r) = U(r) - \int_r^{\bar r} E[\tau e^{-z\tau}\mathbf 1\{\tau\le T(z)\}]\,dz,
   \qquad U(r) = E[e^{-r\tau}\mathbf 1\{\tau\le T(r)\}].

Expected user surplus is :math:`\int G(r)E[\tau e^{-r\tau}\mathbf 1\{\tau\le T(r)\}]dr`,
welfare :math:`\int g U`, and revenue their difference (production is free).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from market.numerics.chebyshev import HermiteTable, fit_panels
from market.numerics.integrate import expect, integrate
from market.theory.incentives import IncentiveReport, check_menu
from market.theory.models import ConversationModel

__all__ = ["OptimalTokenMenu", "Pool", "first_best_welfare", "ironed_pools"]

#: Points of the grid on which the concave envelope of log G is first located.
HULL_GRID = 4001
#: Relative accuracy of the piecewise Chebyshev representations of the menu's integrands.
MENU_RTOL = 1e-13
#: Levels of the quantiles of G added to the breakpoints of the menu's fits in type space.
QUANTILES = np.array([1e-9, 1e-6, 1e-3, 0.05, 0.25, 0.5, 0.75, 0.95, 1 - 1e-3, 1 - 1e-6])
#: Caps (in units of E[tau]) whose types are breakpoints of those fits, and the bisection
#: steps that find them.
CAP_LEVELS = 10.0 ** np.arange(-4, 5)
CAP_BISECTIONS = 60
#: From this many types on, surpluses come from a Hermite table (a simulated population).
BULK_TYPES = 20_000


@dataclass(frozen=True)
class Pool:
    """Types in ``[low, high]`` pooled on one time cap ``cap`` (the envelope's chord slope)."""

    low: float
    high: float
    cap: float


def _upper_hull(x: NDArray, y: NDArray) -> list[int]:
    """Indices of the upper concave hull of the points (x, y), x increasing."""
    hull: list[int] = []
    for i in range(x.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # Drop b if it lies on or below the chord from a to i.
            if (y[b] - y[a]) * (x[i] - x[a]) <= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def _support_point(urgency, s: float, lo: float, hi: float) -> float:
    """argmax of log G(r) - s r over [lo, hi], for a neighbourhood of a tangency."""
    h_lo = float(urgency.reverse_hazard(lo)) - s
    h_hi = float(urgency.reverse_hazard(hi)) - s
    if h_lo > 0 > h_hi:
        return brentq(
            lambda r: float(urgency.reverse_hazard(r)) - s, lo, hi, xtol=1e-15, rtol=1e-15
        )
    # No interior stationary point: the best of the ends and any kinks in between.
    cand = [lo, hi] + [b for b in urgency.breakpoints() if lo < b < hi]
    vals = [float(urgency.log_cdf(c)) - s * c for c in cand]
    return cand[int(np.argmax(vals))]


def ironed_pools(urgency, grid_size: int = HULL_GRID) -> tuple[Pool, ...]:
    """The intervals where the concave envelope of :math:`\\log G` lies above it.

    The envelope is located on a grid (dense near the lowest type, where
    :math:`\\log G\\to-\\infty`) and each chord is refined to machine precision by iterating
    tangents: given a slope ``s``, the tangency points on either side maximise
    :math:`\\log G(r) - sr`; the new slope is the chord's between them.
    """
    lo, hi = float(urgency.low), float(urgency.high)
    x = np.concatenate([np.geomspace(1e-10, 1e-2, 200), np.linspace(0.0, 1.0, grid_size)[1:]])
    r = np.unique(np.concatenate([lo + (hi - lo) * x, list(urgency.breakpoints())]))
    r = r[(r > lo) & (r <= hi)]
    ell = np.asarray(urgency.log_cdf(r), dtype=float)
    finite = np.isfinite(ell)
    r, ell = r[finite], ell[finite]
    slopes = np.diff(ell) / np.diff(r)
    if np.all(np.diff(slopes) <= 1e-12 * np.maximum(1.0, np.abs(slopes[1:]))):
        return ()  # log G is concave on the grid: nothing to pool
    hull = _upper_hull(r, ell)
    pools = []
    scale = max(1.0, float(np.abs(ell).max()))
    for a_i, b_i in zip(hull[:-1], hull[1:], strict=True):
        if b_i - a_i < 2:
            continue
        chord = ell[a_i] + (ell[b_i] - ell[a_i]) * (r[a_i + 1 : b_i] - r[a_i]) / (r[b_i] - r[a_i])
        if np.max(chord - ell[a_i + 1 : b_i]) <= 1e-12 * scale:
            continue
        a_rng = (r[max(a_i - 1, 0)], r[min(a_i + 1, r.size - 1)])
        b_rng = (r[max(b_i - 1, 0)], r[min(b_i + 1, r.size - 1)])
        a, b = r[a_i], r[b_i]
        s = (ell[b_i] - ell[a_i]) / (b - a)
        for _ in range(100):
            a = _support_point(urgency, s, *a_rng)
            b = _support_point(urgency, s, *b_rng)
            s_new = (float(urgency.log_cdf(b)) - float(urgency.log_cdf(a))) / (b - a)
            if abs(s_new - s) <= 4e-16 * abs(s):
                s = s_new
                break
            s = s_new
        pools.append(Pool(float(a), float(b), float(s)))
    return tuple(pools)


class OptimalTokenMenu:
    r"""Theorem 1's menu for a conversation model and an urgency distribution.

    Parameters
    ----------
    model : ConversationModel
        The deployed model (the greedy model for the optimum).
    urgency : UrgencyDistribution
        :math:`G` on :math:`[\underline r, \bar r]`.
    iron : bool
        Pool the types where :math:`\log G` is not concave (default). ``False`` gives the
        paper's raw :math:`T = g/G` with envelope prices, which is not incentive compatible
        where :math:`g/G` increases; it exists to show that.
    """

    def __init__(self, model: ConversationModel, urgency, iron: bool = True):
        self.model = model
        self.urgency = urgency
        self.low, self.high = float(urgency.low), float(urgency.high)
        self.pools: tuple[Pool, ...] = ironed_pools(urgency) if iron else ()

    # -- the allocation ---------------------------------------------------------------
    def cap(self, r: ArrayLike) -> NDArray:
        """Time cap :math:`T(r)`; the token cap is ``token_rate * cap``. ``inf``: unlimited."""
        r = np.asarray(r, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.asarray(self.urgency.reverse_hazard(r), dtype=float).copy()
        t = np.where(r <= self.low, np.inf, t)
        for pool in self.pools:
            t = np.where((r >= pool.low) & (r <= pool.high), pool.cap, t)
        return t

    def token_cap(self, r: ArrayLike) -> NDArray:
        return self.model.token_rate * self.cap(r)

    def utility(self, r: ArrayLike) -> NDArray:
        """Truthful utility :math:`U(r) = E[e^{-r\\tau}\\mathbf 1\\{\\tau\\le T(r)\\}]`."""
        r = np.asarray(r, dtype=float)
        return self.model.laplace(r, self.cap(r))

    def _time_weighted(self, r: ArrayLike) -> NDArray:
        r = np.asarray(r, dtype=float)
        return self.model.laplace(r, self.cap(r), moment=1)

    @cached_property
    def _breakpoints(self) -> list[float]:
        """The urgency's kinks, the pooling intervals' ends and quantiles of G: panels start
        where the types are, so fits in type space cannot miss a concentrated mass."""
        bps = {self.low, self.high, *self.urgency.breakpoints()}
        for p in self.pools:
            bps |= {p.low, p.high}
        bps |= {float(q) for q in self.urgency.ppf(QUANTILES)}
        bps |= set(self._cap_levels())
        return sorted(b for b in bps if self.low <= b <= self.high)

    def _cap_levels(self) -> list[float]:
        """Types where the cap :math:`T` (non-increasing) crosses :math:`E[\\tau]` times
        :data:`CAP_LEVELS` or a switch time of the model, by bisection: a type's rent changes
        fastest where its cap is near the conversation's time scale, and has a kink where the
        cap is a switch time (the density's kink), wherever in the support these fall."""
        scale = float(self.model.expected_time)
        switches = np.asarray(getattr(self.model, "switch_times", ()), dtype=float)
        levels = np.concatenate([scale * CAP_LEVELS, switches])
        lo, hi = np.full(levels.size, self.low), np.full(levels.size, self.high)
        for _ in range(CAP_BISECTIONS):
            mid = 0.5 * (lo + hi)
            above = self.cap(mid) >= levels
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return [float(x) for x in lo if self.low < x < self.high]

    @cached_property
    def _rent_rate(self):
        """Piecewise Chebyshev of :math:`E[\\tau e^{-z\\tau}1\\{\\tau\\le T(z)\\}]` in z."""
        scale = float(np.max(np.abs(self._time_weighted(np.linspace(self.low, self.high, 65)))))
        return fit_panels(self._time_weighted, self._breakpoints, rtol=MENU_RTOL, scale=scale)

    def surplus(self, r: ArrayLike) -> NDArray:
        """:math:`U(r) - P(r) = \\int_r^{\\bar r} E[\\tau e^{-z\\tau}1\\{\\tau\\le T(z)\\}]dz`.

        Exact integrals of the piecewise Chebyshev representation; for many types at once
        (a simulated population), a cubic Hermite table of it with exact derivatives
        (:class:`market.quadrature.HermiteTable`, agreeing to ~1e-15).
        """
        r = np.asarray(r, dtype=float)
        if r.size >= BULK_TYPES:
            lo, hi = float(np.nanmin(r)), float(np.nanmax(r))
            if hi > lo:
                return self._surplus_table(max(lo, self.low), min(hi, self.high))(r)
        return self._rent_rate.integral_to_end(r)

    @functools.lru_cache(maxsize=4)  # noqa: B019 - a few tables per menu, freed with it
    def _surplus_table(self, lo: float, hi: float) -> HermiteTable:
        """A Hermite table of the surplus on the range of the types asked for (a simulated
        population may sit within 1e-7 of an end of a wide support)."""
        rent = self._rent_rate
        return HermiteTable.build(
            rent.integral_to_end, lambda z: -rent(z), rent.integral_to_end, lo, hi,
            kinks=self._breakpoints,
        )  # fmt: skip

    def items(self, r: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """``(cap, price, utility)`` of the items meant for types ``r``, in one pass.

        For many types (a simulated population) of a model with transient phases, the
        utility comes from a piecewise Chebyshev fit of :math:`U(r)` (relative accuracy
        ``MENU_RTOL``) instead of one quadrature per type.
        """
        r = np.asarray(r, dtype=float)
        cap = self.cap(r)
        if r.size >= BULK_TYPES and getattr(self.model, "switch_times", ()):
            util = self._utility_fit(r)
        else:
            util = self.model.laplace(r, cap)
        return cap, util - self.surplus(r), util

    @cached_property
    def _utility_fit(self):
        scale = float(np.max(np.abs(self.utility(np.linspace(self.low, self.high, 65)))))
        return fit_panels(self.utility, self._breakpoints, rtol=MENU_RTOL, scale=scale)

    def price(self, r: ArrayLike) -> NDArray:
        """:math:`P(r)`, Definition 2 with erratum 2."""
        return self.utility(r) - self.surplus(r)

    # -- what it earns ----------------------------------------------------------------
    @cached_property
    def welfare(self) -> float:
        """:math:`\\int g(r) U(r) dr` (:func:`market.numerics.integrate.expect`)."""
        return expect(self.urgency, self.utility, breakpoints=self._breakpoints)

    @cached_property
    def user_surplus(self) -> float:
        """:math:`\\int g(r)(U(r) - P(r))dr = \\int G(r)E[\\tau e^{-r\\tau}1\\{\\tau\\le T(r)\\}]dr`
        (by parts, so no density appears; the breakpoints include quantiles of G, so a
        concentrated population is not missed)."""
        return integrate(lambda z: self.urgency.cdf(z) * self._time_weighted(z), self._breakpoints)

    @cached_property
    def tokens_per_user(self) -> float:
        """:math:`\\int g(r)\\,\\chi E[\\min(\\tau, T(r))]\\,dr`."""
        chi = self.model.token_rate
        return expect(
            self.urgency,
            lambda z: chi * self.model.expected_truncated_time(self.cap(z)),
            breakpoints=self._breakpoints,
        )

    @cached_property
    def revenue(self) -> float:
        """:math:`\\int g(r)P(r)dr = \\int g U - G\\,E[\\tau e^{-r\\tau}1\\{\\tau\\le T\\}]\\,dr`.

        The virtual-value integral of Section 3, i.e. welfare minus user surplus.
        """
        return self.welfare - self.user_surplus

    # -- checks -----------------------------------------------------------------------
    def incentive_report(self, types: ArrayLike | None = None) -> IncentiveReport:
        """Every type's best report among the items of ``types`` (default: 401 types)."""
        if types is None:
            types = np.linspace(self.low, self.high, 401)
        types = np.asarray(types, dtype=float)
        caps = self.cap(types)
        utility = self.model.laplace(types[:, None], caps[None, :])
        return check_menu(types, utility, self.price(types))


def first_best_welfare(model: ConversationModel, urgency) -> float:
    """Welfare when every type gets the unlimited model: :math:`\\int g(r)E[e^{-r\\tau}]dr`."""
    return expect(urgency, lambda z: model.laplace(z, np.inf))
