r"""A platform that prices for the congestion its menu produces.

With a constant slowdown :math:`\sigma` type :math:`r` values every plan as type
:math:`\sigma r` does at full speed (:func:`market.theory.urgency.scaled_urgency`), so the
menu that is optimal for the congested market is the menu solved for the law of
:math:`\sigma r`. But :math:`\sigma` depends on the menu. For each policy the platform finds
the fixed point:

1. solve the policy for the law of :math:`\sigma r` (at first :math:`\sigma = 1`);
2. let users who anticipate congestion settle on it (:mod:`market.sim.anticipation`) and
   measure the mean slowdown :math:`\hat\sigma` of the buyers;
3. stop when :math:`|\log\hat\sigma - \log\sigma| \le` :data:`PRICED`, else move
   :math:`\log\sigma` by bisection (as :mod:`market.sim.anticipation` does per item).

The solved policy returned is the one for the last :math:`\sigma`: its expected revenue and
welfare are the solver's numbers for the market with slowdown :math:`\sigma`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from market.pricing.market import Market
from market.sim.congested import simulate_congested
from market.sim.draws import Draws
from market.theory.urgency import scaled_urgency

__all__ = ["MAX_REPRICES", "PRICED", "Pricing", "price_for_congestion"]

#: At most this many menus solved per policy.
MAX_REPRICES = 12
#: The platform's slowdown has settled when expected and measured agree to this (in log).
PRICED = 0.02


@dataclass(frozen=True)
class Pricing:
    """The fixed point of a congestion-aware platform for one policy: ``rounds`` solved,
    whether ``settled``, the ``slowdown`` priced in and the one ``measured`` last."""

    rounds: int
    settled: bool
    slowdown: float
    measured: float

    def to_dict(self) -> dict:
        return {
            "rounds": self.rounds,
            "settled": self.settled,
            "slowdown_priced": self.slowdown,
            "slowdown_measured": self.measured,
        }


def scaled_market(market: Market, slowdown: float) -> Market:
    """The market whose types are :math:`\\sigma r`: the market with slowdown ``slowdown``."""
    if slowdown == 1.0:
        return market
    urgency = scaled_urgency(market.urgency, slowdown)
    if market.valuation is not None:  # the scenario refuses it (q would be read at sigma r)
        raise ValueError("a congestion-priced market with a valuation q(r) is not supported")
    return Market(
        market.model, urgency, entropy=market.entropy, prior=market.prior, cost=market.cost
    )


def price_for_congestion(
    market: Market,
    solve: Callable[[Market], object],
    draws: Draws,
    offer_of: Callable,
    congestion,
    interval: float,
):
    """The policy priced for its own congestion: ``(solved policy, offer, settlement,
    Pricing)``. ``solve(market)`` solves the policy for a market; ``offer_of(menu)`` returns
    the users' settled ``(offer, settlement)`` for a menu."""
    low, high, guess = 0.0, math.inf, 0.0
    for rounds in range(1, MAX_REPRICES + 1):
        policy = solve(scaled_market(market, math.exp(guess)))
        offer, settlement = offer_of(policy.menu)
        outcomes, _ = simulate_congested(offer, congestion, interval)
        measured = _mean_slowdown(outcomes)
        gap = math.log(measured) - guess
        if abs(gap) <= PRICED or rounds == MAX_REPRICES:
            done = Pricing(rounds, abs(gap) <= PRICED, math.exp(guess), measured)
            return policy, offer, settlement, done
        if gap > 0:
            low = guess
        else:
            high = guess
        guess = (low + high) / 2 if math.isfinite(high) else guess + gap
    raise AssertionError("unreachable")  # pragma: no cover


def _mean_slowdown(outcomes) -> float:
    """Mean wall-clock over uncongested time of the buyers (1 if nobody bought)."""
    ran = outcomes.bought & (outcomes.time > 0)
    if not ran.any():
        return 1.0
    return float(np.mean(outcomes.wall_time[ran] / outcomes.time[ran]))
