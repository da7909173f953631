r"""The vectorised engine: every user's outcome at once, with numpy, from the same draws.

Given the offer (:func:`market.sim.offer.prepare`), a buyer with time cap :math:`T` and
breakthrough time :math:`\tau` converses for :math:`\min(\tau, T)`, learns the true state iff
:math:`\tau \le T` and gets :math:`q(r)e^{-r\tau}\mathbf 1\{\tau \le T\}` (Zhong 2025, Definition 2:
the token cap :math:`\chi T` truncates the greedy model at :math:`T`). This is the same event
logic as the agent-based engine (:mod:`market.sim.abm`), computed without a clock, and the two
must agree user by user.
"""

from __future__ import annotations

import numpy as np

from market.pricing.plans import FiniteMenu, ScheduleMenu, charge
from market.sim.draws import Draws
from market.sim.offer import Offer, Outcomes, Timeseries, prepare

__all__ = ["sample_times", "simulate_vectorized", "outcomes_of", "timeseries_of"]


def outcomes_of(offer: Offer) -> Outcomes:
    """The deterministic kernel: per-user outcomes of an offer."""
    draws, choice, tau = offer.draws, offer.choice, offer.breakthrough
    buys = choice.buys
    cap = choice.cap
    learned = buys & (tau <= cap)
    time = np.where(buys, np.minimum(tau, cap), 0.0)
    discount = np.exp(-draws.urgency * np.where(learned, tau, 0.0))
    utility = np.where(learned, offer.worth * discount, 0.0)
    tokens = offer.token_rate * offer.speed * time
    payment = np.where(buys, charge(choice.price, offer.per_token, tokens), 0.0)
    return offer.outcomes(learned, time, utility, payment)


def simulate_vectorized(draws: Draws, menu: FiniteMenu | ScheduleMenu) -> Outcomes:
    """Per-user outcomes of the users of ``draws`` facing ``menu``."""
    return outcomes_of(prepare(draws, menu))


def sample_times(outcomes: Outcomes, interval: float) -> np.ndarray:
    """The sampling clock times :math:`k\\Delta`, :math:`k = 0, \\dots, K`.

    :math:`K` is the first :math:`k \\ge 1` at which every event (arrival or end of a
    conversation) lies strictly before :math:`k\\Delta`: the agent-based engine stops there.
    """
    last = float(max(outcomes.arrival.max(), outcomes.end.max()))
    k = int(np.floor(last / interval)) + 1
    return np.arange(k + 1) * interval


def timeseries_of(outcomes: Outcomes, interval: float) -> Timeseries:
    r"""The time series the agent-based engine's DataCollector records, from the outcomes.

    At a sample time :math:`t` (events strictly before :math:`t` count): users arrived
    :math:`\#\{a_i < t\}`; conversations open :math:`\#\{a_i < t \le e_i\}` among buyers;
    tokens served :math:`\chi\sum_i s_i(\min(t, e_i) - a_i)^+`; revenue
    :math:`\sum_{a_i<t} P_i + \sum_{e_i<t} p_i\,\mathrm{tokens}_i`; utility
    :math:`\sum_{e_i<t} U_i`.
    """
    t = sample_times(outcomes, interval)
    a, end = outcomes.arrival, outcomes.end
    buyer = outcomes.bought
    arrived = np.searchsorted(a, t, side="left")
    ab, eb, sb = a[buyer], end[buyer], outcomes.speed[buyer]
    by_end = np.argsort(eb, kind="stable")
    started = np.searchsorted(np.sort(ab), t, side="left")
    ended = np.searchsorted(eb[by_end], t, side="left")

    def cumulative(values, count):
        """Sums of the first ``count`` of ``values``, for each entry of ``count``."""
        return np.concatenate([[0.0], np.cumsum(values)])[count]

    # Tokens of finished conversations, in order of ending.
    finished = cumulative(outcomes.tokens[buyer][by_end], ended)
    # Tokens of open conversations: expand each buyer to the samples at which it is open.
    first = np.searchsorted(t, ab, side="right")  # first sample with t_k > a
    last = np.searchsorted(t, eb, side="right") - 1  # last sample with t_k <= e
    count = np.clip(last - first + 1, 0, None)
    owner = np.repeat(np.arange(ab.size), count)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    k = first[owner] + offset
    open_time = np.bincount(k, weights=sb[owner] * (t[k] - ab[owner]), minlength=t.size)
    # Prices are paid at purchase, per-token charges at the end of the conversation.
    billed = (outcomes.payment - outcomes.price)[buyer][by_end]
    return Timeseries(
        time=t,
        users_arrived=arrived.astype(np.int64),
        conversations_open=(started - ended).astype(np.int64),
        tokens_served=finished + outcomes.token_rate * open_time,
        revenue=cumulative(outcomes.price, arrived) + cumulative(billed, ended),
        utility=cumulative(outcomes.utility[buyer][by_end], ended),
    )
