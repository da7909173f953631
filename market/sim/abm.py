r"""The agent-based market: a Mesa model whose clock is a SimPy environment.

The market (:class:`MarketModel`, a Mesa ``Model``) owns a :class:`simpy.Environment`;
SimPy's clock is the market's clock. Users arrive as a Poisson process, one SimPy timeout after
another, until every user of the draws has arrived.

- A **user** (:class:`UserAgent`) has an urgency :math:`r` and a task whose true state is
  :math:`\theta`. It takes the item of greatest expected utility minus price among those the
  platform offers if that is not negative, else leaves (the outside option is 0; ties go to
  the larger cap; Section 2). The evaluation is vectorised over all users before the event
  loop (:meth:`market.pricing.plans.FiniteMenu.choose`); at its arrival a user acts on it: it pays
  and converses, or leaves.
- The **platform** (:class:`PlatformAgent`) holds the deployed conversation model and the
  menu, takes payments and serves conversations.
- A **conversation** is one SimPy timeout, at its end, whose callback ends it (a SimPy
  process reduced to its single wait: the cheapest event per user). Between breakthroughs the
  belief follows :math:`\hat\mu_t`; the breakthrough to :math:`e_\theta` comes at the hazard
  conditional on the true state, and its time :math:`\tau` is drawn exactly beforehand
  (:func:`market.sim.offer.prepare`). The conversation stops at the breakthrough or when
  the token cap :math:`\chi T` is used up (tokens used = :math:`\chi \times` conversation
  time), whichever comes first, so its only event is at :math:`\min(\tau, T)`. The user's
  utility is :math:`e^{-r\tau}` if it learned the state by then, else 0. (A plan run at a
  speed :math:`s` and priced per token: see :mod:`market.sim.offer`.)
- A finished user leaves the model (``agent.remove()``); the market keeps its outcome in plain
  lists, so only the open conversations are live agents.
- A Mesa :class:`~mesa.DataCollector` records the market every ``interval`` of clock time:
  users arrived, conversations open, tokens served, cumulative revenue and utility. A sample
  at time :math:`t` counts the events strictly before :math:`t` (SimPy stops a run at
  :math:`t` before the events scheduled at :math:`t`).

Pass ``log=True`` to record every event as ``(time, user, event)`` in :attr:`MarketModel.log`,
with ``event`` one of :data:`EVENTS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mesa
import numpy as np
import simpy
from simpy.events import Timeout

from market.pricing.plans import FiniteMenu, ScheduleMenu, charge
from market.sim.draws import Draws
from market.sim.offer import Offer, Outcomes, Timeseries, prepare

__all__ = ["EVENTS", "MarketModel", "PlatformAgent", "UserAgent", "simulate_abm"]

#: The events of the log: a user arrives; buys an item or leaves; its conversation ends with
#: the breakthrough or when the token cap is used up.
EVENTS = ("arrive", "buy", "leave", "breakthrough", "cap")


class UserAgent(mesa.Agent):
    r"""A user, alive from its arrival to the end of its conversation.

    Parameters
    ----------
    model : MarketModel
        The market.
    index : int
        The user's position in the draws (the user id).

    Attributes
    ----------
    urgency : float
        :math:`r`.
    state : int
        The true state :math:`\theta` of the user's task.
    started : float
        Clock time at which the conversation started (NaN before).
    learns : bool
        Set when the conversation starts: whether the breakthrough comes before the cap.
    """

    def __init__(self, model: MarketModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.started = math.nan

    @property
    def urgency(self) -> float:
        return self.model.offer.draws.urgency[self.index]

    @property
    def state(self) -> int:
        return int(self.model.offer.draws.state[self.index])

    @property
    def elapsed(self) -> float:
        """Conversation time so far."""
        return self.model.env.now - self.started

    @property
    def tokens_used(self) -> float:
        """:math:`s\\chi \\times` the conversation time so far (:math:`s` the plan's speed)."""
        model = self.model
        rate = model.platform.token_rate * model.speed[self.index]
        return rate * (model.env.now - self.started)

    @property
    def belief(self):
        r""":math:`\hat\mu_t` at the conversation time :math:`t` so far (the user is still open,
        so no breakthrough has come); None if the deployed model does not expose its path."""
        path = getattr(self.model.platform.conversation_model, "belief", None)
        return None if path is None else path([self.elapsed])[0]

    def arrive(self) -> None:
        """Act on the best item of the menu: buy it and converse, or leave."""
        model = self.model
        if model.log is not None:
            model.log.append((model.env.now, self.index, "arrive"))
        if model.buys[self.index]:
            platform = model.platform
            platform.sell(self)
            platform.converse(self)
        else:
            model.leave(self, False)


class PlatformAgent(mesa.Agent):
    r"""The platform: the deployed conversation model, the menu and the till.

    Attributes
    ----------
    menu : FiniteMenu or ScheduleMenu
        The menu offered to every user.
    conversation_model : ConversationModel
        The deployed model (``menu.model``).
    token_rate : float
        :math:`\chi`.
    revenue : float
        Payments received so far: prices at purchase, per-token charges at the end.
    """

    def __init__(self, model: MarketModel, menu: FiniteMenu | ScheduleMenu) -> None:
        super().__init__(model)
        self.menu = menu
        self.conversation_model = menu.model
        self.token_rate = float(menu.model.token_rate)
        self.revenue = 0.0

    def sell(self, user: UserAgent) -> None:
        """Take the price of the user's item."""
        model, i = self.model, user.index
        price = model.price[i]
        self.revenue += price
        model.payment[i] = price
        if model.log is not None:
            model.log.append((model.env.now, i, "buy"))

    def bill(self, user: UserAgent, tokens: float) -> None:
        """Charge the per-token price of the user's item on the tokens it used."""
        model, i = self.model, user.index
        bill = charge(0.0, model.per_token[i], tokens)
        self.revenue += bill
        model.payment[i] += bill

    def converse(self, user: UserAgent) -> None:
        """Start the user's conversation: one event, at the breakthrough or at the cap."""
        model, i = self.model, user.index
        env = model.env
        user.started = env.now
        model.conversations_open += 1
        tau, cap = model.breakthrough[i], model.cap[i]  # at the plan's speed
        user.learns = learned = tau <= cap
        Timeout(env, tau if learned else cap, user).callbacks.append(model._on_end)


class MarketModel(mesa.Model):
    r"""The market for one policy, over the users of ``draws``.

    Parameters
    ----------
    draws : Draws
        Arrival times, urgencies, true states and breakthrough uniforms of the users.
    menu : FiniteMenu or ScheduleMenu
        The policy: the menu, over the deployed model ``menu.model``.
    interval : float
        Clock time between two records of the DataCollector (:math:`\Delta > 0`).
    log : bool
        Record every event in :attr:`log`.
    offer : Offer, optional
        The users' choices and breakthrough times, if already computed for these draws and
        this menu (:func:`market.sim.offer.prepare`).
    congestion : Congestion, optional
        A finite capacity (:class:`market.sim.congested.Congestion`): the platform is then a
        :class:`market.sim.abm_capacity.CongestedPlatform`.
    """

    def __init__(
        self,
        draws: Draws,
        menu: FiniteMenu | ScheduleMenu,
        interval: float,
        *,
        log: bool = False,
        offer: Offer | None = None,
        congestion=None,
    ) -> None:
        # Every random number is in the draws; the model's own generator is never used.
        super().__init__(rng=0 if draws.seed is None else draws.seed)
        if not (interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval = {interval!r}: expected a number > 0")
        self.env = simpy.Environment()
        self.interval = float(interval)
        self.offer = prepare(draws, menu) if offer is None else offer
        self.log: list[tuple[float, int, str]] | None = [] if log else None
        n = self._users = draws.users
        choice = self.offer.choice
        # Plain lists: fast scalar access in the event loop.
        self.arrival = draws.arrival.tolist()
        self.urgency = draws.urgency.tolist()
        self.worth = self.offer.worth.tolist()
        self.buys = choice.buys.tolist()
        self.cap = choice.cap.tolist()
        self.price = choice.price.tolist()
        self.speed = self.offer.speed.tolist()
        self.per_token = self.offer.per_token.tolist()
        self.breakthrough = self.offer.breakthrough.tolist()
        self.payment = [0.0] * n
        self.time = 0.0
        self.duration = [0.0] * n
        self.learned = [False] * n
        self.utility_of = [0.0] * n
        self.users_arrived = 0
        self.conversations_open = 0
        self.utility = 0.0
        self._finished_tokens = 0.0
        self.platform, self.wall, self.recorder = self._platform(menu, congestion)
        fields = Timeseries.FIELDS + (() if congestion is None else Timeseries.LOAD_FIELDS)
        self.datacollector = mesa.DataCollector(model_reporters={name: name for name in fields})
        # The event callbacks, bound once.
        self._on_arrival, self._on_end = self._arrive, self.end_conversation
        if n:
            self.env.timeout(self.arrival[0]).callbacks.append(self._on_arrival)

    def _platform(self, menu, congestion):
        """The platform, the wall-clock times (None: uncongested) and the load recorder."""
        if congestion is None:
            return PlatformAgent(self, menu), None, None
        from market.sim.abm_capacity import CongestedPlatform
        from market.sim.congested import Recorder

        recorder = Recorder(self.interval, congestion.capacity)
        return CongestedPlatform(self, menu, congestion), [0.0] * self._users, recorder

    # -- what the DataCollector reads ---------------------------------------------------
    @property
    def revenue(self) -> float:
        return self.platform.revenue

    @property
    def tokens_served(self) -> float:
        """Tokens of finished conversations and of the open ones so far."""
        if self.wall is not None:
            return self.platform.server.served_at(self.env.now)
        users = self.agents_by_type.get(UserAgent, ())
        return self._finished_tokens + sum(user.tokens_used for user in users)

    @property
    def done(self) -> bool:
        """Every user has arrived and every conversation has ended."""
        return self.users_arrived == self._users and self.conversations_open == 0

    # -- the event logic ----------------------------------------------------------------
    def _arrive(self, event: simpy.Event) -> None:
        """A user arrives; the next arrival is scheduled at its drawn time."""
        i = self.users_arrived
        self.users_arrived = j = i + 1
        if j < self._users:
            env = self.env
            Timeout(env, self.arrival[j] - env.now).callbacks.append(self._on_arrival)
        UserAgent(self, i).arrive()

    def end_conversation(self, event: simpy.Event) -> None:
        """A conversation's event: the breakthrough, or the cap used up (``event.value`` is
        the user)."""
        user = event.value
        self.leave(user, user.learns)

    def leave(self, user: UserAgent, learned: bool) -> None:
        """Record the user's outcome and remove it from the model."""
        i = user.index
        if user.started == user.started:  # it conversed (started is not NaN)
            elapsed, wall = self._times(user, learned)
            self.duration[i] = elapsed
            tokens = self.platform.token_rate * self.speed[i] * elapsed
            self._finished_tokens += tokens
            if self.per_token[i]:
                self.platform.bill(user, tokens)
            self.conversations_open -= 1
            u = self.worth[i] * math.exp(-self.urgency[i] * wall) if learned else 0.0
            if learned:
                self.learned[i] = True
                self.utility_of[i] = u
                self.utility += u
            if self.recorder is not None:
                self.recorder.ended(wall / elapsed if elapsed > 0 else 1.0, 0.0, 0.0)
            if self.log is not None:
                self.log.append((self.env.now, i, "breakthrough" if learned else "cap"))
        elif self.log is not None:
            self.log.append((self.env.now, i, "leave"))
        user.remove()

    def _times(self, user: UserAgent, learned: bool) -> tuple[float, float]:
        """The conversation time at the plan's rate and the wall-clock time it took."""
        i = user.index
        cap = self.cap[i]
        if self.wall is None:
            # Stopped by the cap: exactly the cap was used up. Otherwise the clock difference,
            # which never exceeds the cap (rounding could push it over by an ulp).
            elapsed = min(self.env.now - user.started, cap) if learned else cap
            return elapsed, elapsed
        elapsed = min(self.breakthrough[i], cap)
        self.wall[i] = wall = max(user.ended - user.started, elapsed)
        return elapsed, wall

    # -- running ------------------------------------------------------------------------
    def collect(self) -> None:
        """One record of the DataCollector, at the current clock time."""
        self.time = now = self.env.now  # Mesa's time mirrors the clock at every record
        if self.recorder is not None:
            row = self.recorder.record(now, self.users_arrived, self.platform.server)
            self.utilisation, self.slowdown = row[6], row[7]
        self.datacollector.collect(self)

    def run_model(self, progress: Callable[[int], None] | None = None) -> None:
        """Run until every conversation has ended, recording every ``interval``.

        ``progress`` is called after each interval with the number of users that arrived
        during it.
        """
        self.collect()
        k, seen = 0, 0
        while not self.done:
            k += 1
            self.env.run(until=k * self.interval)
            self.collect()
            if progress is not None:
                progress(self.users_arrived - seen)
                seen = self.users_arrived
        self.running = False

    def outcomes(self) -> Outcomes:
        """The per-user outcomes (once :meth:`run_model` has returned)."""
        return self.offer.outcomes(
            self.learned, self.duration, self.utility_of, self.payment, self.wall
        )

    def timeseries(self) -> Timeseries:
        """The DataCollector's records."""
        records = self.datacollector.model_vars
        load = {
            name: np.array(records[name], dtype=float)
            for name in Timeseries.LOAD_FIELDS
            if name in records
        }
        return Timeseries(
            time=np.array(records["time"], dtype=float),
            users_arrived=np.array(records["users_arrived"], dtype=np.int64),
            conversations_open=np.array(records["conversations_open"], dtype=np.int64),
            tokens_served=np.array(records["tokens_served"], dtype=float),
            revenue=np.array(records["revenue"], dtype=float),
            utility=np.array(records["utility"], dtype=float),
            **load,
        )


def simulate_abm(
    draws: Draws,
    menu: FiniteMenu | ScheduleMenu,
    interval: float,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[Outcomes, Timeseries]:
    """Run the agent-based market for one policy; per-user outcomes and the time series."""
    market = MarketModel(draws, menu, interval)
    market.run_model(progress)
    return market.outcomes(), market.timeseries()
