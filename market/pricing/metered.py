r"""Pay-as-you-go pricing: a price :math:`p` per token, with or without a fee.

A user of urgency :math:`r` who pays :math:`p` per token keeps conversing while the next
tokens are worth their price. Without a breakthrough nothing new is learned about the time to
come, so the plan made at the start is optimal: stop at

.. math:: T(r, p) = \arg\max_T\; \int_0^T e^{-rt}f(t)\,dt - p\chi E[\min(\tau, T)],

whose first-order condition is :math:`e^{-rT}f(T) = p\chi S(T)`, i.e. :math:`e^{-rT}h(T) =
p\chi` with :math:`h = f/S` the hazard of :math:`\tau`. For the greedy model the hazard is
non-increasing: it is :math:`\chi/\zeta_t` (equation (4) with all active divergences equal to
:math:`\zeta_t`), and on a transient phase :math:`d\zeta_t/dt = c > 0` (differentiate
:math:`D(e_\theta|\hat\mu_t)` along (5): :math:`-\nabla_\mu D(e_\theta|\mu) = \mathrm{Hess}
(e_\theta-\mu)` and :math:`\Sigma\beta\propto\mathbf 1`, proof of Proposition 1, Step I). So
:math:`e^{-rt}h(t)` is strictly decreasing, :math:`T(r,p)` is its unique crossing of
:math:`p\chi` (0 if :math:`h(0) \le p\chi`), found in closed form on the stationary phase and
by Chandrupatla's method (to 1e-14) on the transient ones; it decreases in :math:`r`.

The surplus :math:`W(r, p) = U(T(r,p)|r) - p\chi E[\min(\tau, T(r,p))]` decreases in
:math:`r` (envelope theorem: :math:`\partial_r W = -E[\tau e^{-r\tau}1\{\tau\le T\}]`), so with
a fee :math:`F` the buyers are :math:`r \le \hat r`, :math:`W(\hat r, p) = F`.

**Valuations and a cost per token.** A user of valuation :math:`q(r)` (Section 4) gets
:math:`qU - p\chi E\min(\tau, T) = q\,(U - (p/q)\chi E\min(\tau, T))`: it quits like a
:math:`q = 1` user facing :math:`p/q` (``quitting_time(..., q=)``). Its surplus need no longer
fall with :math:`r` (:math:`\partial_r W = q'U - qE[\tau e^{-r\tau}1\{\tau\le T\}]`), so with a
valuation the buyers are found anywhere (:mod:`market.pricing.metered_general`). With a cost
:math:`c` per token every optimiser here maximises the profit, revenue minus
:math:`c\chi E\min(\tau, T)` per buyer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq, elementwise

from market.numerics.optimize import maximize
from market.pricing.plans import Choice, best_plan, charge
from market.pricing.quitting import (  # noqa: F401  (re-exported: the metered vocabulary)
    _hazard,
    _used,
    check_hazard,
    quitting_time,
    surplus,
)
from market.pricing.solved import MenuRow, SolvedPolicy

__all__ = ["MeteredMenu", "check_hazard", "metered_outcome", "quitting_time"]

#: Grid of candidate per-token prices (a fraction of the largest useful price h(0)/χ),
#: polished by bounded Brent to this fraction.
PRICE_GRID = 25
PRICE_XTOL = 1e-10
#: Grid on which the first-order condition of the marginal buyer of a two-part tariff is scanned.
BUYER_GRID = 65


@dataclass(frozen=True)
class MeteredMenu:
    """A fee paid up front and a price per token used (``fee = 0``: pay-as-you-go).

    ``choose(r)`` gives each buyer's planned quitting time :math:`T(r, p)` as its ``cap``,
    the fee as its ``price`` and ``per_token``; a type buys iff :math:`T > 0` and
    :math:`W(r,p) \\ge` fee (ties buy). ``valuation``: the users' :math:`q(r)` (None: 1);
    ``expected_utility`` includes it.
    """

    model: object
    fee: float
    per_token: float
    valuation: object = None

    def choose(self, r: ArrayLike) -> Choice:
        r = np.atleast_1d(np.asarray(r, dtype=float))
        if self.valuation is None:
            cap = quitting_time(self.model, r, self.per_token)
            util = self.model.laplace(r, cap)
        else:
            q = self.valuation.q(r)
            cap = quitting_time(self.model, r, self.per_token, q)
            util = q * self.model.laplace(r, cap)
        gain = util - charge(self.fee, self.per_token, _used(self.model, cap))
        buys = (cap > 0) & (best_plan(gain[:, None], np.ones(1)) == 0)
        return Choice(
            plan=np.where(buys, 0, -1),
            report=np.full(r.size, np.nan),
            cap=np.where(buys, cap, 0.0),
            price=np.where(buys, self.fee, 0.0),
            expected_utility=np.where(buys, util, 0.0),
            speed=None,
            per_token=np.where(buys, self.per_token, 0.0),
        )


def _marginal_buyer(model, market, fee: float, per_token: float) -> float:
    """:math:`\\hat r`: the least patient buyer (``low``: nobody; ``high``: everyone)."""
    lo, hi = market.low, market.high
    if quitting_time(model, np.array([lo]), per_token)[0] <= 0:
        return lo
    w_lo, w_hi = surplus(model, np.array([lo, hi]), per_token)
    if w_hi >= fee:
        return hi
    if w_lo < fee:
        return lo
    return brentq(
        lambda x: float(surplus(model, np.array([x]), per_token)[0]) - fee,
        lo,
        hi,
        xtol=1e-15,
        rtol=4 * np.finfo(float).eps,
    )


@dataclass(frozen=True)
class MeteredOutcome:
    """Expected per-user outcomes of a metered menu; ``buyer`` is :math:`\\hat r`."""

    buyer: float
    revenue: float
    welfare: float
    participation: float
    tokens_per_user: float
    token_cost: float = 0.0

    @property
    def profit(self) -> float:
        return self.revenue - self.token_cost


def metered_outcome(market, fee: float, per_token: float) -> MeteredOutcome:
    r"""Expected outcomes of a fee and a per-token price, integrated over the buyers.

    Revenue :math:`F G(\hat r) + \int_{\underline r}^{\hat r} g\,p\chi E[\min(\tau, T)]`,
    welfare :math:`\int g\,U(T(r,p)|r)` minus the token cost, tokens :math:`\int g\,\chi
    E[\min(\tau,T)]`, each by :meth:`Market.expect` (the one integral over types); with a
    valuation, over the buyers wherever they are
    (:func:`market.pricing.metered_general.valued_outcome`).
    """
    if getattr(market, "valuation", None) is not None:
        from market.pricing.metered_general import valued_outcome

        return valued_outcome(market, fee, per_token)
    model = market.model
    cost = getattr(market, "cost", 0.0)
    r_hat = _marginal_buyer(model, market, fee, per_token)
    if r_hat <= market.low:
        return MeteredOutcome(r_hat, 0.0, 0.0, 0.0, 0.0)

    def tokens(z):
        return _used(model, quitting_time(model, z, per_token))

    def welfare(z):
        return model.laplace(z, quitting_time(model, z, per_token))

    share = market.mass(market.low, r_hat)
    kinks = _phase_types(model, per_token)
    if per_token > 0:
        used = market.expect(tokens, market.low, r_hat, kinks)
    else:  # unlimited use: everyone converses to the end
        used = share * float(_used(model, np.inf))
    token_cost = cost * used if cost > 0 else 0.0
    return MeteredOutcome(
        r_hat,
        charge(fee * share, per_token, used),
        market.expect(welfare, market.low, r_hat, kinks) - token_cost,
        share,
        used,
        token_cost,
    )


def _phase_types(model, per_token: float) -> list[float]:
    """The types whose quitting time is a switch time of the model, where :math:`T(r, p)` has
    a kink: :math:`r = (\\log h(t_k) - \\log p\\chi)/t_k` (the first-order condition for r)."""
    rate = per_token * model.token_rate
    times = np.array([p.start for p in getattr(model, "phases", ())[1:]])
    if rate <= 0 or times.size == 0:
        return []
    with np.errstate(divide="ignore"):
        r = (np.log(_hazard(model, times)) - math.log(rate)) / times
    return [float(x) for x in r if np.isfinite(x)]


# -- fast revenue, for the optimisers --------------------------------------------------------
def _fast_revenue(market, fee: float, per_token: float, r_hat: float) -> float:
    """Profit (revenue without a cost) with buyers ``[low, r_hat]`` by fixed Gauss-Legendre
    (for optimisers)."""
    if r_hat <= market.low:
        return 0.0
    share = market.mass(market.low, r_hat)
    cost = getattr(market, "cost", 0.0)
    if per_token == 0:
        if cost > 0:
            return (fee - cost * float(_used(market.model, np.inf))) * share
        return fee * share
    nodes, weights = market.nodes(market.low, r_hat)
    cap = quitting_time(market.model, nodes, per_token)
    if cost > 0:
        return charge(fee * share, per_token - cost, float(weights @ _used(market.model, cap)))
    return charge(fee * share, per_token, float(weights @ _used(market.model, cap)))


def max_price(market) -> float:
    """:math:`h(0)/\\chi`: above this per-token price nobody converses."""
    return float(_hazard(market.model, np.zeros(1))[0]) / market.token_rate


def best_per_token(market, fee: float = 0.0) -> float:
    """Profit-maximising per-token price for a given fee (grid + bounded Brent)."""
    top = max_price(market)
    check_hazard(market.model)
    if getattr(market, "valuation", None) is not None:
        from market.pricing.metered_general import valued_per_token

        return valued_per_token(market, fee, top)

    def revenue(p):
        return _fast_revenue(market, fee, p, _marginal_buyer(market.model, market, fee, p))

    return maximize(revenue, 0.0, top, grid=PRICE_GRID, xtol=PRICE_XTOL * top, vectorized=False)[0]


def _buyer_gain(market, x: NDArray, per_token: float) -> NDArray:
    r"""Derivative in :math:`\hat r` of the two-part profit with :math:`F = W(\hat r, p)`:
    :math:`gW + GW_r + g\,(p - c)\chi E\min(\tau,T) = g\,(U(T|\hat r) - c\chi E\min(\tau, T))
    - G\,E[\tau e^{-\hat r\tau}1\{\tau\le T\}]` (envelope theorem)."""
    model, urgency = market.model, market.urgency
    cap = quitting_time(model, x, per_token)
    own = model.laplace(x, cap)
    cost = getattr(market, "cost", 0.0)
    if cost > 0:
        own = own - cost * _used(model, cap)
    with np.errstate(invalid="ignore"):  # g = inf at an end where U = 0: no gain
        gain = urgency.pdf(x) * own - urgency.cdf(x) * model.laplace(x, cap, 1)
    return np.nan_to_num(gain, nan=0.0)


def best_fee(market, per_token: float) -> tuple[float, float]:
    r"""Profit-maximising fee for a per-token price. Returns ``(fee, profit)``.

    The marginal buyer :math:`\hat r` is the best of ``high`` and the roots of the
    first-order condition :func:`_buyer_gain` (sign changes on a 65-point grid, refined all
    at once by Chandrupatla's method to 1e-14); then :math:`F = W(\hat r, p)`.
    """
    model = market.model
    if getattr(market, "valuation", None) is not None:
        from market.pricing.metered_general import valued_fee

        return valued_fee(market, per_token)
    xs = np.linspace(market.low, market.high, BUYER_GRID)
    gain = _buyer_gain(market, xs, per_token)
    cells = np.flatnonzero((gain[:-1] > 0) & (gain[1:] <= 0))
    candidates = [market.high]
    if cells.size:
        roots = elementwise.find_root(
            lambda x: _buyer_gain(market, x, per_token),
            (xs[cells], xs[cells + 1]),
            tolerances={"xatol": 1e-14, "xrtol": 4 * np.finfo(float).eps},
        )
        candidates += [float(x) for x in roots.x]
    best = (0.0, 0.0)
    for x in candidates:
        fee = max(float(surplus(model, np.array([x]), per_token)[0]), 0.0)
        value = _fast_revenue(market, fee, per_token, x)
        if value > best[1]:
            best = (fee, value)
    return best


def best_two_part(market, flat_price: float) -> tuple[float, float]:
    """Joint (fee, per-token price): nested 1-D searches (outer: grid + bounded Brent in p),
    then the best by exact revenue of that, the flat price ``(flat_price, 0)`` and the best
    per-token price with the fee its most urgent buyer pays, ``(W(high, p*), p*)``: the family
    contains both, so it never earns less than either."""
    top = max_price(market)
    check_hazard(market.model)
    if getattr(market, "valuation", None) is not None:
        from market.pricing.metered_general import valued_two_part

        return valued_two_part(market, flat_price, top)
    p, _ = maximize(
        lambda q: best_fee(market, q)[1],
        0.0,
        top,
        grid=PRICE_GRID,
        xtol=PRICE_XTOL * top,
        vectorized=False,
    )
    p_star = best_per_token(market)
    w_star = max(float(surplus(market.model, np.array([market.high]), p_star)[0]), 0.0)
    candidates = [(best_fee(market, p)[0], p), (float(flat_price), 0.0), (w_star, p_star)]
    # Ranked by the fast revenue; those within its accuracy of the best, by the exact one.
    fast = [
        _fast_revenue(market, f, q, _marginal_buyer(market.model, market, f, q))
        for f, q in candidates
    ]
    close = [c for c, v in zip(candidates, fast, strict=True) if v >= max(fast) - 1e-6]
    return max(close, key=lambda c: metered_outcome(market, *c).profit)


def metered_solution(
    market, name: str, kind: str, fee: float, per_token: float, notes: str, parameters: dict
) -> SolvedPolicy:
    """The metered menu as a solved policy: expected outcomes, menu rows at the report grid."""
    model = market.model
    check_hazard(model)
    menu = MeteredMenu(model, fee, per_token, getattr(market, "valuation", None))
    out = metered_outcome(market, fee, per_token)
    choice = menu.choose(market.grid)
    used = _used(model, choice.cap)
    rows = tuple(
        MenuRow(
            float(r),
            market.token_rate * float(cap) if math.isfinite(cap) else None,
            float(price),
            bool(buy),
            {
                "per_token": float(per_token) if buy else 0.0,
                "expected_payment": float(charge(price, per_token, u)) if buy else 0.0,
            },
        )
        for r, cap, price, buy, u in zip(
            market.grid, choice.cap, choice.price, choice.buys, used, strict=True
        )
    )
    return SolvedPolicy(
        name=name,
        kind=kind,
        revenue=out.revenue,
        user_surplus=out.welfare + out.token_cost - out.revenue,
        welfare=out.welfare,
        participation=out.participation,
        tokens_per_user=out.tokens_per_user,
        menu=menu,
        rows=rows,
        parameters=parameters,
        notes=notes + buyers_note(out),
        token_cost=out.token_cost,
    )


def buyers_note(out: MeteredOutcome) -> str:
    """Who buys: the marginal buyer, or (with a valuation) the intervals of buyers."""
    intervals = getattr(out, "intervals", None)
    if intervals is None:
        return f"; marginal buyer r = {out.buyer:.12g}"
    shown = ", ".join(f"[{a:.6g}, {b:.6g}]" for a, b in intervals) or "none"
    return f"; buyers r in {shown}"
