r"""The agent-based platform with a finite capacity: the schedule as a SimPy process.

:class:`CongestedPlatform` holds the capacity kernel (:class:`market.sim.capacity.Server`).
A user who buys opens its conversation on the server and waits on its own completion event
(``user.done``); the platform's process :meth:`CongestedPlatform.serve` sleeps until the
next conversation is due to end, ends it (triggering that user's event) and sleeps again.
Every arrival changes the rates, so the platform re-arms its timer then; a timer armed before
the last change is stale and ignored (a generation count). Conversations due at or before an
arrival end first, as in the plain loop (:mod:`market.sim.congested`), so that both engines
run the same events in the same order.
"""

from __future__ import annotations

import math

import simpy
from simpy.events import Timeout

from market.sim.abm import PlatformAgent
from market.sim.capacity import Server
from market.sim.congested import Congestion, check_horizon, priority_levels

__all__ = ["CongestedPlatform"]


class CongestedPlatform(PlatformAgent):
    """The platform serving open conversations from a finite token throughput.

    Attributes
    ----------
    server : Server
        The capacity and the open conversations sharing it.
    """

    def __init__(self, model, menu, congestion: Congestion) -> None:
        super().__init__(model, menu)
        offer = model.offer
        check_horizon(offer, congestion, model.interval)
        self.server = Server(congestion.capacity)
        self.work = [min(b, c) for b, c in zip(model.breakthrough, model.cap, strict=True)]
        self.rate = [self.token_rate * s for s in model.speed]
        self.level = priority_levels(offer, congestion.discipline).tolist()
        self.open_users: dict[int, object] = {}
        self._generation = 0
        self._armed = math.inf  # the time the live timer rings at
        self._wake = simpy.Event(model.env)
        self.process = model.env.process(self.serve())

    def converse(self, user) -> None:
        """Open the user's conversation on the server; it waits on ``user.done``."""
        model, i = self.model, user.index
        env = model.env
        now = model.arrival[i]  # the drawn time (the clock may differ from it by an ulp)
        self.catch_up(now)
        user.started = now
        model.conversations_open += 1
        user.learns = model.breakthrough[i] <= model.cap[i]
        user.done = simpy.Event(env)
        user.done.callbacks.append(model._on_end)
        self.open_users[i] = user
        self.server.advance(now)
        self.server.admit(i, self.work[i], self.rate[i], self.level[i])
        self._arm()

    def catch_up(self, t: float) -> None:
        """End every conversation due at or before ``t`` (before an arrival at ``t``)."""
        ended = False
        while self.server.next_finish() <= t:
            self._end_next()
            ended = True
        if ended:
            self._arm()

    def serve(self):
        """The platform's SimPy process: end each conversation when it is due."""
        while True:
            generation = yield self._wake
            self._wake = simpy.Event(self.model.env)
            if generation == self._generation:  # not already ended by an arrival's catch-up
                self._armed = math.inf  # this timer has rung
                self._end_next()
                self._arm()

    def _end_next(self) -> None:
        i, t = self.server.finish()
        user = self.open_users.pop(i)
        user.ended = t
        user.done.succeed(user)

    def _arm(self) -> None:
        """Wake the process when the next conversation is due (earlier timers go stale; the
        armed timer is kept if the next conversation is still due at its time)."""
        t = self.server.next_finish()
        if t == self._armed:
            return
        self._armed = t
        self._generation += 1
        if t < math.inf:
            env = self.model.env
            timer = Timeout(env, max(t - env.now, 0.0), self._generation)
            timer.callbacks.append(self._ring)

    def _ring(self, event) -> None:
        if event.value == self._generation and not self._wake.triggered:
            self._wake.succeed(event.value)
