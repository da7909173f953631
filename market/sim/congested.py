r"""The congested market as a plain event loop: the twin of the agent-based platform.

With a finite capacity (:mod:`market.sim.capacity`) a user's outcome depends on every other
open conversation, so no engine can compute it in bulk. This loop runs the same kernel
(:class:`market.sim.capacity.Server`) on the same events in the same order as the agent-based
market (:mod:`market.sim.abm`): at equal times, conversations end before users arrive. The
two agree user by user.

A buyer's conversation opens at its arrival and needs :math:`d = \min(\tau/s, T)` units of
time at its plan's rate :math:`s\chi`; whether it learns is decided in the model's own time
(:math:`\tau \le T`), unchanged by congestion; the wall-clock time :math:`w \ge d` it takes
is what congestion changes, and the user's utility is :math:`e^{-rw}` if it learns.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import charge
from market.sim.capacity import DISCIPLINES, Server
from market.sim.offer import Offer, Outcomes, Timeseries

__all__ = [
    "MAX_SAMPLES",
    "PRICE_BANDS",
    "Congestion",
    "Recorder",
    "check_horizon",
    "priority_levels",
    "simulate_congested",
]

#: Most records a congested time series may have: a capacity so small that the conversations
#: outlast this many sampling intervals is refused before the run.
MAX_SAMPLES = 100_000

#: Under priority, a schedule's continuum of prices is served in this many bands (equal
#: shares of the buyers), each band sharing its capacity: O(log n) per event needs few levels.
PRICE_BANDS = 16


@dataclass(frozen=True)
class Congestion:
    """A finite capacity :math:`K` (tokens per unit of time) and its discipline."""

    capacity: float
    discipline: str = "shared"

    def __post_init__(self) -> None:
        if not (self.capacity > 0 and math.isfinite(self.capacity)):
            raise ValueError(f"capacity = {self.capacity!r}: expected a finite number > 0")
        if self.discipline not in DISCIPLINES:
            raise ValueError(
                f"discipline = {self.discipline!r}: expected one of {', '.join(DISCIPLINES)}"
            )


def priority_levels(offer: Offer, discipline: str) -> NDArray:
    """Each user's priority level (higher is served first; 0 for everyone when shared).

    A finite menu's plans rank by price (then price per token); a schedule's prices fall in
    :data:`PRICE_BANDS` bands with equal numbers of buyers.
    """
    n = offer.draws.users
    if discipline == "shared":
        return np.zeros(n)
    choice = offer.choice
    buys = choice.buys
    price, per_token = choice.price, offer.per_token
    if offer.item_names:  # a finite menu: rank the distinct (price, per-token) pairs
        pairs = np.stack([price, per_token], axis=1)
        _, rank = np.unique(pairs, axis=0, return_inverse=True)
        return np.where(buys, rank.ravel(), 0).astype(float)
    paid = np.sort(price[buys])
    if paid.size == 0:
        return np.zeros(n)
    edges = np.quantile(paid, np.arange(1, PRICE_BANDS) / PRICE_BANDS)
    return np.where(buys, np.searchsorted(edges, price, side="right"), 0).astype(float)


def check_horizon(offer: Offer, congestion: Congestion, interval: float) -> None:
    """Refuse a capacity under which serving the buyers' tokens would take more than
    :data:`MAX_SAMPLES` sampling intervals (the least time it takes: every token they need
    over the capacity)."""
    choice = offer.choice
    work = np.minimum(offer.breakthrough, choice.cap)[choice.buys]
    tokens = offer.token_rate * float(np.sum(offer.speed[choice.buys] * work))
    horizon = max(float(offer.draws.arrival[-1]) if offer.draws.users else 0.0, 0.0)
    horizon = max(horizon, tokens / congestion.capacity)
    if horizon > MAX_SAMPLES * interval:
        raise ValueError(
            f"market.capacity = {congestion.capacity:g}: serving the {tokens:.4g} tokens the "
            f"buyers need takes at least {horizon:.4g} units of time, more than "
            f"{MAX_SAMPLES:,} sampling intervals of {interval:g}; expected a capacity of at "
            f"least {tokens / (MAX_SAMPLES * interval):.3g} tokens per unit of time"
        )


class Recorder:
    """The time series of a congested market, recorded at sample times before the events
    at those times: arrivals, open conversations, tokens served, cumulative revenue and
    utility, the utilisation of the capacity over the last interval and the mean slowdown
    (wall-clock over uncongested duration) of the conversations that ended in it."""

    def __init__(self, interval: float, capacity: float) -> None:
        self.interval, self.capacity = interval, capacity
        self.rows: list[tuple] = []
        self.revenue = self.utility = 0.0
        self._slow_sum, self._slow_count = 0.0, 0

    def ended(self, slowdown: float, utility: float, bill: float) -> None:
        """A conversation ended: its slowdown, the utility it brought and its bill."""
        self._slow_sum += slowdown
        self._slow_count += 1
        self.utility += utility
        self.revenue += bill

    def record(self, t: float, arrived: int, server: Server) -> tuple:
        """The sample at clock time ``t``, before the events at ``t``."""
        tokens = server.served_at(t)
        if self.rows:
            use = (tokens - self.rows[-1][3]) / (self.capacity * self.interval)
        else:
            use = math.nan
        slow = self._slow_sum / self._slow_count if self._slow_count else math.nan
        row = (t, arrived, server.open, tokens, self.revenue, self.utility, use, slow)
        self.rows.append(row)
        self._slow_sum, self._slow_count = 0.0, 0
        return row

    def timeseries(self) -> Timeseries:
        cols = list(zip(*self.rows, strict=True))
        f = [np.array(c, dtype=float) for c in cols]
        return Timeseries(
            time=f[0],
            users_arrived=f[1].astype(np.int64),
            conversations_open=f[2].astype(np.int64),
            tokens_served=f[3],
            revenue=f[4],
            utility=f[5],
            utilisation=f[6],
            slowdown=f[7],
        )


def simulate_congested(
    offer: Offer,
    congestion: Congestion,
    interval: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[Outcomes, Timeseries]:
    """Per-user outcomes (with ``wall_time``) and the time series of one policy's offer
    served with a finite capacity."""
    check_horizon(offer, congestion, interval)
    jobs = _Jobs(offer, congestion)
    server, rec = Server(congestion.capacity), Recorder(interval, congestion.capacity)
    arrival, n = jobs.arrival, len(jobs.arrival)
    i, k, step = 0, 0, max(n // 100, 1)
    while True:
        t_a = arrival[i] if i < n else math.inf
        t_f = server.next_finish()
        t_e = min(t_a, t_f)
        if t_e == math.inf:  # every conversation ended: one sample after the last event
            rec.record(k * interval, i, server)
            break
        while k * interval <= t_e:
            rec.record(k * interval, i, server)
            k += 1
        if t_f <= t_a:
            jobs.end(*server.finish(), rec)
        else:
            jobs.start(i, server, rec)
            i += 1
            if progress is not None and i % step == 0:
                progress(step)
    if progress is not None and n % step:
        progress(n % step)
    return jobs.outcomes(), rec.timeseries()


class _Jobs:
    """The per-user inputs of the loop as plain lists, and what happened to each user."""

    def __init__(self, offer: Offer, congestion: Congestion) -> None:
        choice = offer.choice
        self.offer = offer
        self.arrival = offer.draws.arrival.tolist()
        self.urgency = offer.draws.urgency.tolist()
        self.worth = offer.worth.tolist()
        self.buys = choice.buys.tolist()
        self.work = np.minimum(offer.breakthrough, choice.cap).tolist()
        self.learns = (offer.breakthrough <= choice.cap).tolist()
        self.rate = (offer.token_rate * offer.speed).tolist()
        self.level = priority_levels(offer, congestion.discipline).tolist()
        self.price = choice.price.tolist()
        self.per_token = offer.per_token.tolist()
        n = len(self.arrival)
        self.wall = [0.0] * n
        self.payment = [0.0] * n
        self.utility = [0.0] * n

    def start(self, i: int, server: Server, rec: Recorder) -> None:
        """User ``i`` arrives: it buys and opens its conversation, or leaves."""
        if self.buys[i]:
            server.advance(self.arrival[i])
            self.payment[i] = self.price[i]
            rec.revenue += self.price[i]
            server.admit(i, self.work[i], self.rate[i], self.level[i])

    def end(self, i: int, t: float, rec: Recorder) -> None:
        """User ``i``'s conversation ends at clock time ``t``."""
        wall = max(t - self.arrival[i], self.work[i])  # never faster than uncongested
        self.wall[i] = wall
        u = self.worth[i] * math.exp(-self.urgency[i] * wall) if self.learns[i] else 0.0
        self.utility[i] = u
        bill = charge(0.0, self.per_token[i], self.rate[i] * self.work[i])
        self.payment[i] += bill
        work = self.work[i]
        rec.ended(wall / work if work > 0 else 1.0, u, bill)

    def outcomes(self) -> Outcomes:
        offer = self.offer
        learned = offer.choice.buys & (offer.breakthrough <= offer.choice.cap)
        time = np.where(offer.choice.buys, np.asarray(self.work), 0.0)
        return offer.outcomes(
            learned, time, np.asarray(self.utility), np.asarray(self.payment), self.wall
        )
