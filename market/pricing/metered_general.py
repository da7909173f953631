r"""Pay-as-you-go pricing for users whose valuations differ (Section 4): buyers anywhere.

With a valuation :math:`q(r)`, a user paying :math:`p` per token quits at
:math:`T(r, p/q(r))` (:func:`market.pricing.metered.quitting_time`) and its surplus
:math:`W(r, p) = q\,U(T|r) - p\chi E[\min(\tau, T)]` may rise or fall with :math:`r`, so the
buyers of a fee :math:`F` plus :math:`p` per token, :math:`\{r : T > 0,\ W(r, p) \ge F\}`, are
a union of intervals. They are located on a grid of :data:`BUYER_GRID` types, the urgency's
kinks and the minimum of the surplus near each local minimum on the grid (so that a dip below
the fee inside a cell is found), and their ends refined by Brent's method to 1e-15. Without
a fee the buyers are the types with :math:`T > 0`, i.e. :math:`q(r)h(0) > p\chi`. The
optimisers maximise the profit (revenue minus :math:`c` times the tokens served) by 1-D
searches (grid + bounded Brent, :func:`market.numerics.optimize.maximize`): the fee for a
per-token price, and the per-token price outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from market.numerics.optimize import maximize
from market.pricing.metered import (
    PRICE_GRID,
    PRICE_XTOL,
    MeteredOutcome,
    _hazard,
    _used,
    metered_outcome,
    quitting_time,
    surplus,
)
from market.pricing.plans import charge

__all__ = ["ValuedOutcome", "buyer_intervals", "valued_fee", "valued_outcome",
           "valued_per_token", "valued_two_part"]  # fmt: skip

#: Types on which the buyers' set is first located.
BUYER_GRID = 129
#: Grid of candidate fees (then bounded Brent) for a per-token price.
FEE_GRID = 17
#: Grid of candidate per-token prices of the outer search of a two-part tariff.
OUTER_GRID = 9


@dataclass(frozen=True)
class ValuedOutcome(MeteredOutcome):
    """A :class:`MeteredOutcome` whose buyers are the types in ``intervals``."""

    intervals: tuple[tuple[float, float], ...] = ()


def _margin(market, fee: float, per_token: float):
    """A function of the types, :math:`\\ge 0` exactly for the buyers."""
    model, valuation = market.model, market.valuation
    if fee > 0 or per_token == 0:
        return lambda x: surplus(model, x, per_token, valuation) - fee
    h0 = float(_hazard(model, np.zeros(1))[0])
    rate = per_token * market.token_rate
    return lambda x: valuation.q(x) * h0 - rate  # T > 0 iff q h(0) > p chi


def buyer_intervals(market, fee: float, per_token: float) -> tuple[tuple[float, float], ...]:
    """The intervals of types who buy (module docstring)."""
    margin = _margin(market, fee, per_token)
    xs = np.unique(np.concatenate([np.linspace(market.low, market.high, BUYER_GRID),
                                   market.breakpoints]))  # fmt: skip
    d = np.asarray(margin(xs), dtype=float)
    xs, d = _dips(margin, xs, d)
    strict = fee == 0 and per_token > 0  # without a fee a type buys iff T > 0 (strictly)
    buys = d > 0 if strict else d >= 0
    out, start = [], xs[0] if buys[0] else None
    for i in np.flatnonzero(buys[1:] != buys[:-1]):
        a, b = xs[i], xs[i + 1]
        cut = brentq(
            lambda x: float(margin(np.array([x]))[0]),
            a,
            b,
            xtol=1e-15,
            rtol=4 * np.finfo(float).eps,
        )
        if buys[i]:
            out.append((float(start), float(cut)))
            start = None
        else:
            start = cut
    if start is not None:
        out.append((float(start), float(xs[-1])))
    return tuple((a, b) for a, b in out if b > a)


def _dips(margin, xs, d):
    """Add to the grid the minimum of ``margin`` around each interior local minimum of the grid
    values (bounded Brent): a dip below 0 narrower than a grid cell is not missed (an
    optimiser of the fee would otherwise set it just above the surplus's minimum)."""
    rise = np.maximum(d[:-2] - d[1:-1], d[2:] - d[1:-1])  # how much the neighbours lie above
    near = (d[1:-1] > 0) & (d[1:-1] <= rise)  # a dip below 0 inside the cells is plausible
    inner = np.flatnonzero((d[1:-1] <= d[:-2]) & (d[1:-1] <= d[2:]) & near) + 1
    extra = []
    for i in inner:
        res = minimize_scalar(lambda x: float(margin(np.array([x]))[0]),
                              bounds=(xs[i - 1], xs[i + 1]), method="bounded",
                              options={"xatol": 1e-12})  # fmt: skip
        extra.append(float(res.x))
    if not extra:
        return xs, d
    xs = np.unique(np.concatenate([xs, extra]))
    return xs, np.asarray(margin(xs), dtype=float)


def valued_outcome(market, fee: float, per_token: float) -> ValuedOutcome:
    r"""Revenue :math:`\sum_I (F\,G(I) + \int_I g\,p\chi E\min(\tau, T))`, welfare
    :math:`\sum_I\int_I g\,q\,U(T|r)` minus the token cost, over the buyers' intervals."""
    model, valuation = market.model, market.valuation
    intervals = buyer_intervals(market, fee, per_token)

    def cap(z):
        return quitting_time(model, z, per_token, valuation.q(z))

    share = used = gross = 0.0
    for a, b in intervals:
        share += market.mass(a, b)
        if per_token > 0:
            used += market.expect(lambda z: _used(model, cap(z)), a, b)
        else:
            used += market.mass(a, b) * float(_used(model, np.inf))
        gross += market.expect(lambda z: valuation.q(z) * model.laplace(z, cap(z)), a, b)
    cost = market.cost * used if market.cost > 0 else 0.0
    buyer = intervals[-1][1] if intervals else market.low
    revenue = charge(fee * share, per_token, used)
    return ValuedOutcome(buyer, revenue, gross - cost, share, used, cost, intervals)


def _fast_profit(market, fee: float, per_token: float) -> float:
    """Profit over the buyers' intervals by fixed Gauss-Legendre (for optimisers)."""
    model, valuation = market.model, market.valuation
    total = 0.0
    for a, b in buyer_intervals(market, fee, per_token):
        share = market.mass(a, b)
        if per_token == 0:
            total += (fee - market.cost * float(_used(model, np.inf))) * share
            continue
        nodes, weights = market.nodes(a, b)
        used = float(weights @ _used(model, quitting_time(model, nodes, per_token,
                                                          valuation.q(nodes))))  # fmt: skip
        total += fee * share + (per_token - market.cost) * used
    return total


def _top_price(market, top: float) -> float:
    """The largest useful per-token price: :math:`\\max_r q(r)h(0)/\\chi`."""
    xs = np.linspace(market.low, market.high, BUYER_GRID)
    return top * float(np.max(market.valuation.q(xs)))


def valued_per_token(market, fee: float, top: float) -> float:
    """Profit-maximising per-token price for a given fee (grid + bounded Brent)."""
    top = _top_price(market, top)
    return maximize(lambda p: _fast_profit(market, fee, p), 0.0, top, grid=PRICE_GRID,
                    xtol=PRICE_XTOL * top, vectorized=False)[0]  # fmt: skip


def valued_fee(market, per_token: float) -> tuple[float, float]:
    """Profit-maximising fee for a per-token price, ``(fee, profit)`` (grid of
    :data:`FEE_GRID` fees up to the largest surplus, then bounded Brent)."""
    xs = np.linspace(market.low, market.high, BUYER_GRID)
    most = float(np.max(surplus(market.model, xs, per_token, market.valuation)))
    if not most > 0:
        return 0.0, _fast_profit(market, 0.0, per_token)
    fee, value = maximize(lambda f: _fast_profit(market, f, per_token), 0.0, most,
                          grid=FEE_GRID, xtol=1e-12 * most, vectorized=False)  # fmt: skip
    return fee, value


def valued_two_part(market, flat_price: float, top: float) -> tuple[float, float]:
    """Joint (fee, per-token price): the per-token price by a grid of :data:`OUTER_GRID`
    prices + bounded Brent over the best fee's profit; then the best, by exact profit, of
    that, the flat price ``(flat_price, 0)``, the best per-token price without a fee and with
    its best fee: the family contains flat and per-token pricing, so it never earns less."""
    top_q = _top_price(market, top)
    p, _ = maximize(lambda q: valued_fee(market, q)[1], 0.0, top_q, grid=OUTER_GRID,
                    xtol=PRICE_XTOL * top_q, vectorized=False)  # fmt: skip
    p_star = valued_per_token(market, 0.0, top)
    candidates = [(valued_fee(market, p)[0], p), (float(flat_price), 0.0), (0.0, p_star),
                  (valued_fee(market, p_star)[0], p_star)]  # fmt: skip
    return max(candidates, key=lambda c: metered_outcome(market, *c).profit)
