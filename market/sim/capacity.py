r"""Finite serving capacity: open conversations share the platform's token throughput.

The platform serves at most :math:`K` tokens per unit of time. A conversation of a plan at
speed :math:`s` wants :math:`m = s\chi` tokens per unit of time and needs :math:`d` units of
time at that rate (:math:`d = \min(\tau/s, T)`, its uncongested duration); served at a
fraction :math:`f \in [0, 1]` of its rate it ends :math:`d/f` later.

Disciplines (:data:`DISCIPLINES`):

- ``"shared"``, processor sharing with rate caps: each open conversation gets
  :math:`\min(m, w)` where the water level :math:`w` solves
  :math:`\sum_i \min(m_i, w) = K` (or every conversation gets its rate if
  :math:`\sum_i m_i \le K`): capacity is split equally among those that want more;
- ``"priority"``: conversations carry a priority level (the price of their plan); the highest
  level is served first, as above with all of :math:`K`, each lower level shares what the
  levels above leave (preemptive priority).

**Virtual time.** Conversations of the same level and rate form a *class*; all of a class
get the same fraction :math:`f_c`, so one virtual clock :math:`V_c` per class, advancing at
:math:`f_c` per unit of clock time, measures the work done by each of its conversations. A
conversation admitted when :math:`V_c = v` ends when :math:`V_c = v + d`: a heap per class
holds these finishing virtual times. An arrival or a departure changes the fractions
(water-filling over the classes with open conversations) but no finishing virtual time, so
each event costs :math:`O(C + \log n)` for :math:`C` busy classes and :math:`n` open
conversations, not :math:`O(n)`. A class's clock restarts at 0 when it empties (fewer
rounding errors over long runs).

:class:`Server` is the kernel both engines run (the agent-based platform as a SimPy process,
:mod:`market.sim.abm`; the plain event loop of :mod:`market.sim.congested`).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left

__all__ = ["DISCIPLINES", "Server"]

#: How open conversations share the capacity.
DISCIPLINES = ("shared", "priority")


class _Class:
    """The open conversations of one priority level and one rate: a virtual clock, the
    fraction of the rate each gets, and the heap of their finishing virtual times."""

    __slots__ = ("clock", "heap", "key", "level", "rate", "share")

    def __init__(self, level: float, rate: float) -> None:
        self.level, self.rate = level, rate
        self.key = (-level, rate)  # served order: highest level first, then smaller rates
        self.clock = 0.0
        self.share = 1.0
        self.heap: list[tuple[float, int]] = []

    def __lt__(self, other: _Class) -> bool:
        return self.key < other.key


class Server:
    r"""The platform's capacity :math:`K` and the open conversations sharing it.

    Parameters
    ----------
    capacity : float
        :math:`K > 0`, tokens per unit of time.

    Attributes
    ----------
    now : float
        The clock time the virtual clocks have been advanced to.
    open : int
        Number of open conversations.
    served : float
        Tokens served up to ``now``.
    rate : float
        Tokens per unit of time served now (at most ``capacity``).
    """

    def __init__(self, capacity: float) -> None:
        if not (capacity > 0 and math.isfinite(capacity)):
            raise ValueError(f"capacity = {capacity!r}: expected a finite number > 0")
        self.capacity = float(capacity)
        self.now = 0.0
        self.open = 0
        self.served = 0.0
        self.rate = 0.0
        self._classes: dict[tuple[float, float], _Class] = {}
        self._busy: list[_Class] = []  # classes with open conversations, in served order
        self._upto = 0  # busy[:upto] may get capacity; the rest get none
        self._next: tuple[float, _Class | None] = (math.inf, None)

    # -- the clock ------------------------------------------------------------------------
    def advance(self, t: float) -> None:
        """Run the virtual clocks to clock time ``t`` (>= ``now``) at the current fractions."""
        dt = t - self.now
        if dt > 0:
            busy = self._busy
            for k in range(self._upto):  # the classes after them get nothing
                c = busy[k]
                c.clock += c.share * dt
            self.served += self.rate * dt
        self.now = t

    def served_at(self, t: float) -> float:
        """Tokens served up to ``t`` >= ``now`` (no event in between), without advancing."""
        return self.served + self.rate * max(t - self.now, 0.0)

    # -- the events -----------------------------------------------------------------------
    def admit(self, user: int, work: float, rate: float, level: float = 0.0) -> None:
        """Open a conversation at ``now`` that needs ``work`` units of time at ``rate`` tokens
        per unit of time, at priority ``level`` (higher first)."""
        key = (level, rate)
        c = self._classes.get(key)
        if c is None:
            c = self._classes[key] = _Class(level, rate)
        if not c.heap:
            at = bisect_left(self._busy, c)
            self._busy.insert(at, c)
            c.share = 0.0
            if at < self._upto:
                self._upto += 1
        heapq.heappush(c.heap, (c.clock + work, user))
        self.open += 1
        self._allocate()

    def next_finish(self) -> float:
        """Clock time of the next conversation to end if nothing arrives (``inf``: none)."""
        return self._next[0]

    def finish(self) -> tuple[int, float]:
        """End the conversation due at :meth:`next_finish`: advance to that time and return
        ``(user, time)``."""
        t, c = self._next
        if c is None:
            raise RuntimeError("no open conversation gets any capacity")
        self.advance(t)
        target, user = heapq.heappop(c.heap)
        c.clock = max(c.clock, target)  # exactly the work done, whatever the rounding
        if not c.heap:
            at = self._busy.index(c)
            del self._busy[at]
            if at < self._upto:
                self._upto -= 1
            c.clock = 0.0
        self.open -= 1
        self._allocate()
        return user, t

    # -- water-filling --------------------------------------------------------------------
    def _allocate(self) -> None:
        """The fractions of every busy class (water-filling level by level), the rate served
        and the next conversation to end."""
        left, total = self.capacity, 0.0
        busy = self._busy
        count = upto = len(busy)
        i = 0
        while i < count:
            c = busy[i]
            j = i + 1
            while j < count and busy[j].level == c.level:
                j += 1
            if left <= 0.0:  # the levels above took everything: nothing for the rest
                for k in range(i, max(self._upto, i)):
                    busy[k].share = 0.0
                upto = i
                break
            if j == i + 1:  # one rate at this level: no water level to find
                want = len(c.heap) * c.rate
                if want <= left:
                    c.share = 1.0
                    left -= want
                    total += want
                else:
                    c.share = left / want
                    total += left
                    left = 0.0
            else:
                left, used = _fill(busy, i, j, left)
                total += used
            i = j
        self._upto = upto
        self.rate = total
        best, due, now = math.inf, None, self.now
        for k in range(upto):
            c = busy[k]
            if c.share > 0.0:
                t = now + max(c.heap[0][0] - c.clock, 0.0) / c.share
                if t < best:
                    best, due = t, c
        self._next = (best, due)


def _fill(busy: list[_Class], i: int, j: int, left: float) -> tuple[float, float]:
    """Water-fill ``left`` tokens per unit of time over the classes ``busy[i:j]`` of one
    level (sorted by rate): each conversation gets ``min(rate, w)``. Returns what is left
    and what was used."""
    count = sum(len(busy[k].heap) for k in range(i, j))
    start = left
    for k in range(i, j):
        c = busy[k]
        n = len(c.heap)
        level = left / count if left > 0 else 0.0
        if c.rate <= level:
            c.share = 1.0
            left -= n * c.rate
        else:  # this class and every faster one get the water level w
            for m in range(k, j):
                busy[m].share = level / busy[m].rate
            return 0.0, start
        count -= n
    return max(left, 0.0), start - max(left, 0.0)
