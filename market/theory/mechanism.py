r"""The optimal token-cap menu for any urgency distribution (Theorem 1, with ironing), with
heterogeneous valuations (Section 4) and a cost per token (Section 2.1).

For a conversation model with stopping density :math:`f` and types :math:`r\sim G` on
:math:`[\underline r, \bar r]` who value a task solved at :math:`t` at :math:`q(r)e^{-rt}`, a
menu of time caps :math:`T(r)` (token caps :math:`\chi T`) with envelope prices earns
(docs/paper-notes.md, "The optimal menu for any urgency distribution")

.. math:: \text{Revenue} = \int_0^\infty f(t)\, q(\rho(t))G(\rho(t))\, e^{-\rho(t)t}\,dt,

where :math:`\rho(t)` is the most urgent type whose cap covers :math:`t`. The best menu takes
:math:`\rho^*(t) = \arg\max_r \log q(r) + \log G(r) - rt`, i.e. the cap of type :math:`r` is the
slope of the upper concave envelope of :math:`\ell = \log q + \log G` at :math:`r`:

.. math:: T(r) = \hat\ell'(r),

which is the paper's :math:`g/G + q'/q` (Definition 2, Section 4) where :math:`\ell` is concave,
a constant (the chord's slope) on each interval where the envelope lies above :math:`\ell`:
those types are pooled on one cap (ironing), and 0 above :math:`\arg\max qG` (exclusion). With a
cost :math:`c` per token the threshold maximises profit instead (:mod:`market.theory.costs`,
erratum 12). The allocations are in :mod:`market.theory.threshold`. Prices follow from the
envelope theorem (erratum 2), IR binding at the most urgent type served:

.. math:: P(r) = U(r) - \int_r^{\bar r} \big(q(z)B(z) - q'(z)A(z)\big)\,dz, \qquad
   U = qA,\ A(r) = E[e^{-r\tau}\mathbf 1\{\tau\le T(r)\}],\ B(r) = E[\tau e^{-r\tau}\mathbf
   1\{\tau\le T(r)\}],

equal to the tariff :math:`\int_0^{T(r)} f(t)q(\rho^*(t))e^{-\rho^*(t)t}dt` (erratum 11).
Expected user surplus is :math:`\int G(r)(qB - q'A)\,dr`, gross welfare :math:`\int g U`,
revenue their difference, the token cost :math:`c\chi\int g\,E[\min(\tau, T)]`, profit revenue
minus cost, welfare gross welfare minus cost. Nothing here checks IR: with steeply rising
:math:`q` it fails (erratum 7); :meth:`OptimalTokenMenu.incentive_report` finds out and
:mod:`market.theory.lottery` computes the best menu that satisfies it.
"""

from __future__ import annotations

import functools
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.numerics.chebyshev import HermiteTable, fit_panels
from market.numerics.integrate import expect, integrate
from market.theory.costs import ProfitAllocation, check_cost, first_best_caps
from market.theory.envelope import HULL_GRID, Pool, ironed_pools
from market.theory.incentives import IncentiveReport, check_caps
from market.theory.models import ConversationModel
from market.theory.threshold import EnvelopeAllocation
from market.theory.valuation import Valuation

__all__ = ["HULL_GRID", "OptimalTokenMenu", "Pool", "first_best_welfare", "ironed_pools"]

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
#: The tariff's integral over running time stops where e^{-r t} is below e^-TARIFF_HORIZON.
TARIFF_HORIZON = 45.0


class OptimalTokenMenu:
    r"""Theorem 1's menu for a conversation model and an urgency distribution.

    Parameters
    ----------
    model : ConversationModel
        The deployed model (the greedy model for the optimum).
    urgency : UrgencyDistribution
        :math:`G` on :math:`[\underline r, \bar r]`.
    iron : bool
        Pool the types where :math:`\log q + \log G` is not concave (default). ``False`` gives
        the paper's raw :math:`T = g/G + q'/q` with envelope prices, which is not incentive
        compatible where it increases; it exists to show that. Ignored with a cost (the
        profit-maximising threshold pools by construction).
    valuation : Valuation or None
        :math:`q(r)` (Section 4); None (or :math:`q \equiv 1`): Theorem 1 exactly.
    cost : float
        :math:`c \ge 0`, what the platform pays per token (Section 2.1).
    """

    def __init__(self, model: ConversationModel, urgency, iron: bool = True,
                 valuation: Valuation | None = None, cost: float = 0.0):  # fmt: skip
        self.model = model
        self.urgency = urgency
        self.low, self.high = float(urgency.low), float(urgency.high)
        cost = check_cost(cost)
        if valuation is not None:
            valuation.check(self.low, self.high)
            if valuation.is_one():
                valuation = None
        self.valuation: Valuation | None = valuation
        self.cost = float(cost)
        if self.cost > 0:
            self.allocation = ProfitAllocation(model, urgency, valuation, self.cost)
        else:
            self.allocation = EnvelopeAllocation(urgency, valuation, iron)
        self.pools: tuple[Pool, ...] = self.allocation.pools

    # -- the allocation ---------------------------------------------------------------
    def cap(self, r: ArrayLike) -> NDArray:
        """Time cap :math:`T(r)`; the token cap is ``token_rate * cap``. ``inf``: unlimited;
        0: the type is excluded (it buys nothing and pays nothing)."""
        return self.allocation.cap(r)

    def token_cap(self, r: ArrayLike) -> NDArray:
        return self.model.token_rate * self.cap(r)

    def threshold(self, t: ArrayLike) -> NDArray:
        """:math:`\\rho^*(t)`: the most urgent type whose cap covers running time ``t``."""
        return self.allocation.threshold(t)

    @property
    def top(self) -> float:
        """The most urgent type served (:math:`\\bar r` unless types are excluded)."""
        return float(self.allocation.top)

    @property
    def participation(self) -> float:
        """The share of types served, :math:`G(\\text{top})`."""
        return float(self.urgency.cdf(self.top)) if self.top < self.high else 1.0

    def _values(self, r: NDArray) -> tuple[NDArray, NDArray]:
        return self.valuation.values(r)

    def utility(self, r: ArrayLike) -> NDArray:
        """Truthful utility :math:`U(r) = q(r)E[e^{-r\\tau}\\mathbf 1\\{\\tau\\le T(r)\\}]`."""
        r = np.asarray(r, dtype=float)
        if self.valuation is None:
            return self.model.laplace(r, self.cap(r))
        return self.valuation.q(r) * self.model.laplace(r, self.cap(r))

    def _time_weighted(self, r: ArrayLike) -> NDArray:
        """The rent rate :math:`-d(U - P)/dr = qB - q'A` (:math:`B` when :math:`q\\equiv 1`)."""
        r = np.asarray(r, dtype=float)
        if self.valuation is None:
            return self.model.laplace(r, self.cap(r), moment=1)
        cap = self.cap(r)
        q, dq = self._values(r)
        return q * self.model.laplace(r, cap, moment=1) - dq * self.model.laplace(r, cap)

    @cached_property
    def _breakpoints(self) -> list[float]:
        """The urgency's kinks, the pooling intervals' ends and quantiles of G: panels start
        where the types are, so fits in type space cannot miss a concentrated mass."""
        bps = {self.low, self.high, *self.urgency.breakpoints()}
        bps |= set(self.allocation.breakpoints())
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
        """Piecewise Chebyshev of the rent rate :meth:`_time_weighted` in z."""
        probe = np.abs(self._time_weighted(np.linspace(self.low, self.high, 65)))
        scale = max(float(np.max(probe)), 1e-300)
        return fit_panels(self._time_weighted, self._breakpoints, rtol=MENU_RTOL, scale=scale)

    def surplus(self, r: ArrayLike) -> NDArray:
        """:math:`U(r) - P(r) = \\int_r^{\\bar r} (qB - q'A)(z)\\,dz` (with :math:`q\\equiv 1`:
        :math:`\\int_r^{\\bar r} E[\\tau e^{-z\\tau}1\\{\\tau\\le T(z)\\}]dz`).

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
        elif self.valuation is None:
            util = self.model.laplace(r, cap)
        else:
            util = self.valuation.q(r) * self.model.laplace(r, cap)
        return cap, util - self.surplus(r), util

    @cached_property
    def _utility_fit(self):
        probe = np.abs(self.utility(np.linspace(self.low, self.high, 65)))
        scale = max(float(np.max(probe)), 1e-300)
        return fit_panels(self.utility, self._breakpoints, rtol=MENU_RTOL, scale=scale)

    def price(self, r: ArrayLike) -> NDArray:
        """:math:`P(r)`, Definition 2 with erratum 2 (envelope formula)."""
        return self.utility(r) - self.surplus(r)

    def tariff(self, r: ArrayLike) -> NDArray:
        """:math:`P(r) = \\int_0^{T(r)} f(t)\\,q(\\rho^*(t))e^{-\\rho^*(t)t}dt` (erratum 11): the
        marginal price of running time :math:`t` is the threshold type's value of a
        completion at :math:`t`. An independent route to :meth:`price` (one adaptive
        quadrature over running time per type, with :math:`\\rho^*` by inversion)."""
        r = np.asarray(r, dtype=float)
        kinks = {p.cap for p in self.pools} | set(getattr(self.model, "switch_times", ()))
        kinks |= {float(self.cap(np.array([self.top]))[0]), float(self.allocation.end)}
        kinks = sorted(k for k in kinks if np.isfinite(k))
        horizon = TARIFF_HORIZON / self.low

        def rate(t):
            rho = self.threshold(t)
            q = 1.0 if self.valuation is None else self.valuation.q(rho)
            return self.model.density(t) * q * np.exp(-rho * t)

        out = np.zeros(r.size)
        for i, cap in enumerate(self.cap(r).ravel()):
            end = min(float(cap), horizon)
            if end > 0:
                out[i] = integrate(rate, [0.0, *(k for k in kinks if 0 < k < end), end])
        return out.reshape(r.shape)

    # -- what it earns ----------------------------------------------------------------
    @cached_property
    def gross_welfare(self) -> float:
        """:math:`\\int g(r) U(r) dr` (:func:`market.numerics.integrate.expect`): what users
        get, before the platform's token cost."""
        return expect(self.urgency, self.utility, breakpoints=self._breakpoints)

    @cached_property
    def welfare(self) -> float:
        """Gross welfare minus the token cost (= user surplus + profit)."""
        return self.gross_welfare - self.token_cost if self.cost > 0 else self.gross_welfare

    @cached_property
    def user_surplus(self) -> float:
        """:math:`\\int g(r)(U(r) - P(r))dr = \\int G(r)(qB - q'A)(r)dr`
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
        """:math:`\\int g(r)P(r)dr = \\int g U - G\\,(qB - q'A)\\,dr` (gross of the token cost).

        The virtual-value integral of Section 3, i.e. gross welfare minus user surplus.
        """
        return self.gross_welfare - self.user_surplus

    @cached_property
    def token_cost(self) -> float:
        """:math:`c` times tokens per user: what the platform pays for the tokens it serves."""
        return self.cost * self.tokens_per_user if self.cost > 0 else 0.0

    @cached_property
    def profit(self) -> float:
        """Revenue minus token cost."""
        return self.revenue - self.token_cost

    # -- checks -----------------------------------------------------------------------
    def incentive_report(self, types: ArrayLike | None = None) -> IncentiveReport:
        """Every type's best report among the items of ``types`` (default: 401 types):
        :func:`market.theory.incentives.check_caps`, independent of how the menu was built."""
        if types is None:
            types = np.linspace(self.low, self.high, 401)
        types = np.asarray(types, dtype=float)
        return check_caps(self.model, types, self.cap(types), self.price(types), self.valuation)


def first_best_welfare(model: ConversationModel, urgency, valuation: Valuation | None = None,
                       cost: float = 0.0) -> float:  # fmt: skip
    """Welfare when every type gets its own best cap: the unlimited model without a cost,
    :math:`\\int g(r)q(r)E[e^{-r\\tau}]dr`; with a cost :math:`c`, each type capped where
    :math:`q\\,h(T)e^{-rT} = c\\chi` (:func:`market.theory.costs.first_best_caps`; e.g.
    :math:`T = \\ln(\\lambda q/(c\\chi))/r` for an exponential stopping time of rate
    :math:`\\lambda`), net of the token cost."""
    if valuation is None and not cost > 0:
        return expect(urgency, lambda z: model.laplace(z, np.inf))
    q = valuation.q if valuation is not None else (lambda z: np.ones(np.shape(z)))
    if not cost > 0:
        return expect(urgency, lambda z: q(z) * model.laplace(z, np.inf))
    k = float(cost) * float(model.token_rate)

    def net(z):
        qz = q(z)
        cap = first_best_caps(model, z, qz, cost)
        return qz * model.laplace(z, cap) - k * model.expected_truncated_time(cap)

    return expect(urgency, net)
