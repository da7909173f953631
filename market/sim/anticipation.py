r"""Users who expect the slowdown the market produces: a fixed point of choices and slowdowns.

With a finite capacity a plan's conversations take :math:`\sigma_j \ge 1` times longer than
at the plan's rate, and a user who knows it values plan :math:`j` as type
:math:`r\sigma_j` does (:mod:`market.sim.behaviour`). The slowdowns depend on who buys what,
so the market settles at a fixed point, found by iterating on the same draws:

1. users choose on the slowdowns :math:`\sigma` they expect (at first 1: no congestion);
2. the congested market is simulated (:mod:`market.sim.congested`) and each item's mean
   slowdown :math:`\hat\sigma_j` measured (wall-clock over uncongested time of its buyers;
   an item nobody bought gets what a deviator to it would meet, :func:`measured_slowdown`);
3. if :math:`|\log\hat\sigma_j - \log\sigma_j|` is at most :data:`SETTLED` or two
   standard errors of the measurement for every item, the choices have settled: users
   choose on the slowdowns their choices produce. Else each
   :math:`\log\sigma_j` moves by bisection: the measured slowdown falls as the expected one
   rises (fewer buy), so an expected slowdown below the measured one is a lower bound of
   the fixed point and one above it an upper bound; until an upper bound is known the next
   guess is the measured slowdown. Bisection rather than the plain iteration
   :math:`\sigma \leftarrow \hat\sigma`, which see-saws: everyone flees a congested plan,
   which then empties, and everyone returns.

:class:`Settlement` reports the rounds, whether the choices settled and the slowdowns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import Choice, ScheduleMenu
from market.sim.behaviour import Behaviour, choose, schedule_items
from market.sim.congested import Congestion, simulate_congested
from market.sim.draws import Draws
from market.sim.offer import Outcomes, prepare

__all__ = ["MAX_ROUNDS", "SETTLED", "Settlement", "settle"]

#: At most this many rounds of choices and simulation.
MAX_ROUNDS = 40
#: The slowdowns have settled when expected and measured agree to this (in log).
SETTLED = 0.01
#: A collapsed bracket of log sigma reopens this far around its guess.
REOPEN = 0.2


@dataclass(frozen=True)
class Settlement:
    """The fixed point of anticipated congestion: ``rounds`` simulated, whether the slowdowns
    ``settled``, the share of users whose best response to the measured slowdowns differs
    from their choice (``changed``), and the ``slowdown`` measured on each item of the menu
    offered (``items``: their names)."""

    rounds: int
    settled: bool
    changed: float
    slowdown: tuple[float, ...]
    items: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "rounds": self.rounds,
            "settled": self.settled,
            "changed_share": self.changed,
            "slowdown": dict(zip(self.items, self.slowdown, strict=True)),
        }


def measured_slowdown(outcomes: Outcomes, classes: NDArray, levels: NDArray, shared: bool):
    """Each item's mean slowdown and its standard error, measured over the buyers of its
    class (items of the same priority level and rate share the capacity alike). An item of a
    class nobody bought gets what a user who deviated to it would meet: under priority, the
    slowdown of the nearest busy level above it (it would be served right after that level),
    or 1 if none is above (served first); when capacity is shared, the slowdown of every
    buyer. Its standard error is 0 (it must be matched exactly)."""
    plan, time = outcomes.plan, outcomes.time
    ran = (plan >= 0) & (time > 0)
    ratio = np.where(ran, outcomes.wall_time / np.where(ran, time, 1.0), 1.0)[ran]
    overall = float(ratio.mean()) if ratio.size else 1.0
    cls = classes[plan[ran]]
    size = int(classes.max()) + 1 if classes.size else 0
    count = np.bincount(cls, minlength=size)
    total = np.bincount(cls, weights=ratio, minlength=size)
    square = np.bincount(cls, weights=ratio**2, minlength=size)
    busy = count > 0
    mean = np.where(busy, total / np.maximum(count, 1), overall)
    var = np.where(count > 1, (square - count * mean**2) / np.maximum(count - 1, 1), 0.0)
    se = np.sqrt(np.maximum(var, 0.0) / np.maximum(count, 1))
    item_mean, item_se = mean[classes], se[classes]
    if shared or not busy.any():
        return item_mean, item_se
    item_busy = busy[classes]
    for j in np.flatnonzero(~item_busy):  # served right after the nearest busy level above
        above = item_busy & (levels > levels[j])
        if above.any():
            k = np.flatnonzero(above)[np.argmin(levels[above])]
            item_mean[j] = item_mean[k]
        else:
            item_mean[j] = 1.0  # served first: alone at the top it runs at its rate
    return item_mean, item_se


def settle(
    draws: Draws,
    menu,
    behaviour: Behaviour,
    congestion: Congestion,
    interval: float,
    noise: NDArray | None = None,
    uniform: NDArray | None = None,
):
    """The settled choices of users anticipating congestion: ``(menu offered, Choice,
    Settlement)``."""
    offered = menu
    if isinstance(menu, ScheduleMenu):
        offered, _ = schedule_items(menu, draws.urgency)
    k = len(offered.plans)
    names = tuple(p.name for p in offered.plans)
    levels = _item_levels(offered, congestion.discipline)
    speeds = np.array([p.speed for p in offered.plans])
    _, classes = np.unique(np.stack([levels, speeds], axis=1), axis=0, return_inverse=True)
    classes = classes.ravel()
    args = (draws.urgency, behaviour, noise, uniform)
    low, high = np.zeros(k), np.full(k, np.inf)  # brackets of log sigma
    guess = np.zeros(k)
    for rounds in range(1, MAX_ROUNDS + 1):
        _, choice = choose(offered, *args, slowdown=np.exp(guess))
        outcomes, _ = simulate_congested(prepare(draws, offered, choice), congestion, interval)
        shared = congestion.discipline == "shared"
        measured, se = measured_slowdown(outcomes, classes, levels, shared)
        gap = np.log(measured) - guess
        # settled: agreement to SETTLED, or within two standard errors of the measurement
        settled = bool(np.all(np.abs(gap) <= np.maximum(SETTLED, 2 * se / measured)))
        if settled or rounds == MAX_ROUNDS:
            _, best = choose(offered, *args, slowdown=measured)
            changed = float(np.mean(best.plan != choice.plan))
            return offered, choice, Settlement(rounds, settled, changed, tuple(measured), names)
        guess = _bisect(guess, gap, low, high)
    raise AssertionError("unreachable")  # pragma: no cover


def _bisect(guess: NDArray, gap: NDArray, low: NDArray, high: NDArray) -> NDArray:
    """The next expected log slowdowns (``low`` and ``high`` are updated in place)."""
    up = gap > 0
    low[up] = np.maximum(low[up], guess[up])
    high[~up] = np.minimum(high[~up], guess[~up])
    collapsed = high - low < SETTLED / 4  # the fixed point moved out: reopen around it
    low[collapsed] = np.maximum(guess[collapsed] - REOPEN, 0.0)
    high[collapsed] = guess[collapsed] + REOPEN
    return np.where(np.isfinite(high), (low + high) / 2, guess + gap)


def merged(a: Choice, b: Choice, take: NDArray) -> Choice:
    """The choices ``b`` where ``take``, else ``a``."""

    def pick(x, y, default):
        if x is None and y is None:
            return None
        x = np.full(take.size, default) if x is None else x
        y = np.full(take.size, default) if y is None else y
        return np.where(take, y, x)

    return Choice(
        plan=np.where(take, b.plan, a.plan),
        report=np.where(take, b.report, a.report),
        cap=np.where(take, b.cap, a.cap),
        price=np.where(take, b.price, a.price),
        expected_utility=np.where(take, b.expected_utility, a.expected_utility),
        speed=pick(a.speed, b.speed, 1.0),
        per_token=pick(a.per_token, b.per_token, 0.0),
    )


def _item_levels(menu, discipline: str) -> NDArray:
    """The priority level of each plan of a finite menu (its rank by price), as
    :func:`market.sim.congested.priority_levels` ranks users."""
    if discipline == "shared" or not menu.plans:
        return np.zeros(len(menu.plans))
    pairs = np.array([(p.price, p.per_token) for p in menu.plans])
    _, rank = np.unique(pairs, axis=0, return_inverse=True)
    return rank.ravel().astype(float)
