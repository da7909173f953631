"""Simulating solved policies on one population, with either engine (plain arguments only).

:func:`simulate_policies` runs every policy on the same draws (common random numbers) and
returns, per policy, the per-user outcomes, the breakthrough times, the time series and the
realised summary. :class:`Dynamics` switches on what the paper's market does not have: users
who choose by logit or on a noisy urgency (:mod:`market.sim.behaviour`), a finite capacity
(:mod:`market.sim.capacity`) and users who anticipate it (:mod:`market.sim.anticipation`);
off, the market is the paper's. Nothing here reads or writes files.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from numpy.typing import NDArray

from market.sim.anticipation import Settlement, settle
from market.sim.behaviour import Behaviour, choose
from market.sim.congested import Congestion, simulate_congested
from market.sim.draws import Draws
from market.sim.offer import Offer, Outcomes, Timeseries, prepare
from market.sim.platform import price_for_congestion
from market.sim.stats import Realized, summarize
from market.sim.vectorized import outcomes_of, timeseries_of

__all__ = [
    "ENGINES",
    "Dynamics",
    "PolicyRun",
    "dynamics_of",
    "sample_interval",
    "simulate_policies",
    "simulate_policy",
]

#: The simulation engines.
ENGINES = ("abm", "vectorized")

#: The time series has about this many records over the arrival period.
SAMPLES = 100


@dataclass(frozen=True)
class Dynamics:
    """What the market has beyond the paper's: how users choose, a finite capacity, and
    whether users anticipate the slowdown (which needs a capacity)."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    congestion: Congestion | None = None
    anticipate: bool = False

    def __post_init__(self) -> None:
        if self.anticipate and self.congestion is None:
            raise ValueError("anticipate = True: expected a finite capacity (congestion)")


@dataclass(frozen=True, eq=False)
class PolicyRun:
    """One simulated policy: the solved policy, what happened to each user, the time series
    and the realised means per user.

    ``breakthrough`` is each user's breakthrough time :math:`\\tau/s` under the deployed model
    at its plan's speed (drawn for every user, buyer or not); ``settlement`` the fixed point
    of anticipated congestion (None unless users anticipate it).
    """

    policy: object
    outcomes: Outcomes
    breakthrough: NDArray
    timeseries: Timeseries
    realized: Realized
    settlement: Settlement | None = None
    pricing: object = None


def dynamics_of(scenario) -> Dynamics:
    """The scenario's market beyond the paper's: ``[market] capacity`` and ``discipline``,
    ``[users]`` choice and noise, ``[market] anticipate``."""
    market, users = scenario.market, scenario.users
    congestion = None
    if market.capacity is not None:
        congestion = Congestion(market.capacity, market.discipline)
    behaviour = Behaviour(users.choice, users.temperature, users.misperception_sd)
    return Dynamics(behaviour, congestion, market.anticipate)


def sample_interval(users: int, arrival_rate: float, samples: int = SAMPLES) -> float:
    """A round clock interval (1, 2 or 5 times a power of ten) giving about ``samples``
    records over the arrival period ``users / arrival_rate``."""
    raw = users / arrival_rate / samples
    if not (math.isfinite(raw) and raw > 0):
        raise ValueError(
            f"arrival_rate = {arrival_rate!r}: the arrival period of {users} users is not a "
            "finite positive time"
        )
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0):
        if raw < step * power * 1.5:
            return step * power
    return 10.0 * power


def offer_of(draws: Draws, menu, dynamics: Dynamics, interval: float):
    """The users' choices and breakthrough times: ``(Offer, Settlement or None)``."""
    if dynamics.anticipate:
        offered, choice, settlement = settle(
            draws, menu, dynamics.behaviour, dynamics.congestion, interval,
            draws.noise, draws.choice_uniform,
        )  # fmt: skip
        return prepare(draws, offered, choice), settlement
    behaviour = dynamics.behaviour
    if behaviour.rational and behaviour.misperception == 0:
        return prepare(draws, menu), None
    offered, choice = choose(menu, draws.urgency, behaviour, draws.noise, draws.choice_uniform)
    return prepare(draws, offered, choice), None


def simulate_policy(
    draws: Draws,
    menu,
    engine: str,
    interval: float,
    progress: Callable[[int], None] | None = None,
    congestion: Congestion | None = None,
    offer: Offer | None = None,
) -> tuple[Outcomes, Timeseries, NDArray]:
    """Per-user outcomes, the time series and the breakthrough times of one menu, served
    without limit or with a finite capacity (``congestion``); ``offer``: the users' choices
    if already made (:func:`offer_of`), else rational choices."""
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r}: expected one of {', '.join(ENGINES)}")
    offer = prepare(draws, menu) if offer is None else offer
    if engine == "abm":
        from market.sim.abm import MarketModel  # lazy: Mesa and SimPy load only for the ABM

        market = MarketModel(draws, menu, interval, offer=offer, congestion=congestion)
        market.run_model(progress)
        outcomes, series = market.outcomes(), market.timeseries()
        del market
        gc.collect()  # a Mesa model is a reference cycle: free its lists now
        return outcomes, series, offer.breakthrough
    if congestion is not None:
        outcomes, series = simulate_congested(offer, congestion, interval, progress)
        return outcomes, series, offer.breakthrough
    outcomes = outcomes_of(offer)
    if progress is not None:
        progress(draws.users)
    return outcomes, timeseries_of(outcomes, interval), offer.breakthrough


def simulate_policies(
    policies: Sequence,
    draws: Draws,
    engine: str,
    interval: float,
    progress: Callable[[str, int], None] | None = None,
    dynamics: Dynamics | None = None,
    reprice: Callable | None = None,
    market=None,
) -> tuple[PolicyRun, ...]:
    """Simulate each solved policy (anything with ``name`` and ``menu``) on ``draws``.

    ``progress(policy_name, users_done)`` is called as users are simulated. With
    ``reprice``, the platform prices for congestion (:mod:`market.sim.platform`):
    ``reprice(policy)(market)`` solves ``policy`` again for a ``market`` (the true one
    being ``market``), and the policies returned are those priced at the fixed point.
    ``market.cost``, if any, is charged per token served (realised cost and profit).
    """
    dynamics = Dynamics() if dynamics is None else dynamics
    cost = float(getattr(market, "cost", 0.0) or 0.0)  # per token served (Section 2.1)
    runs = []
    for policy in policies:
        step = None if progress is None else (lambda k, name=policy.name: progress(name, k))
        pricing = None
        if reprice is not None:
            policy, offer, settlement, pricing = price_for_congestion(
                market, reprice(policy), draws,
                lambda menu: offer_of(draws, menu, dynamics, interval),
                dynamics.congestion, interval,
            )  # fmt: skip
        else:
            offer, settlement = offer_of(draws, policy.menu, dynamics, interval)
        menu = offer.menu if offer.menu is not None else policy.menu
        try:
            outcomes, series, tau = simulate_policy(
                draws, menu, engine, interval, step, dynamics.congestion, offer
            )
        except ValueError as exc:
            raise ValueError(f"{exc} (policy {policy.name!r})") from exc
        realized = summarize(outcomes, cost)
        runs.append(PolicyRun(policy, outcomes, tau, series, realized, settlement, pricing))
    return tuple(runs)
