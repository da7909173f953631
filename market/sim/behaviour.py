r"""How users choose: rationally or by logit, on their true urgency or a noisy view of it,
expecting the market's slowdown or not.

A user of urgency :math:`r` values plan :math:`j` at

.. math:: v_j = U(T_j \mid \tilde r\,\sigma_j) - E[\text{payment}_j],

where :math:`\tilde r = r e^{\varepsilon}`, :math:`\varepsilon \sim N(0, s^2)` is the urgency it
*believes* it has (``misperception``; :math:`s = 0`: :math:`\tilde r = r`) and
:math:`\sigma_j \ge 1` the slowdown it expects on the plan (1 unless users anticipate
congestion, :mod:`market.sim.anticipation`): a constant slowdown :math:`\sigma` makes every
breakthrough come :math:`\sigma` times later, so the plan is worth what it is worth to type
:math:`\tilde r\sigma` at full speed. It lives with its true :math:`r` whatever it chose.

- ``rational``: the plan of largest :math:`v_j` if not negative, else leave
  (:func:`market.pricing.plans.best_plan`, the package's one rational choice rule);
- ``logit`` with temperature :math:`\beta`: plan :math:`j` with probability
  :math:`e^{v_j/\beta} / (1 + \sum_k e^{v_k/\beta})`, leaving (value 0) with probability
  :math:`1 / (1 + \sum_k e^{v_k/\beta})`; the draw inverts the cumulative probabilities at one
  uniform per user (stream ``choice``). As :math:`\beta \to 0` this is the rational choice.

A type-indexed schedule (the optimal menu) is a continuum of items. A rational user who
expects no slowdown takes the item meant for the type it believes it has, exactly. To weigh
items one by one (logit, or slowdowns that differ by item) the schedule is offered as its
:data:`SCHEDULE_ITEMS` items meant for evenly spaced types of its support
(:func:`schedule_items`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import Choice, FiniteMenu, Plan, ScheduleMenu, best_plan, plan_values

__all__ = [
    "CHOICES",
    "SCHEDULE_ITEMS",
    "Behaviour",
    "choose",
    "logit_pick",
    "schedule_items",
]

#: The choice rules.
CHOICES = ("rational", "logit")
#: Items a schedule is offered as when users weigh items one by one.
SCHEDULE_ITEMS = 32
#: Users whose plan values are computed at once (bounds the memory of a choice).
CHUNK = 65536


@dataclass(frozen=True)
class Behaviour:
    """How users choose: ``choice`` (``"rational"`` or ``"logit"``), the logit
    ``temperature`` and the ``misperception`` sd of the urgency they choose with."""

    choice: str = "rational"
    temperature: float | None = None
    misperception: float = 0.0

    def __post_init__(self) -> None:
        if self.choice not in CHOICES:
            raise ValueError(f"choice = {self.choice!r}: expected one of {', '.join(CHOICES)}")
        if self.choice == "logit" and not (self.temperature is not None and self.temperature > 0):
            raise ValueError(f"temperature = {self.temperature!r}: expected a number > 0")
        if not self.misperception >= 0:
            raise ValueError(f"misperception = {self.misperception!r}: expected an sd >= 0")

    @property
    def rational(self) -> bool:
        return self.choice == "rational"


def schedule_items(menu: ScheduleMenu, urgency: NDArray, count: int = SCHEDULE_ITEMS):
    """A schedule as a finite menu: the items meant for ``count`` types, and those types
    (items with a cap of 0 are not sold). The types are the midpoints of ``count`` equal
    parts of the schedule's support, or (without one) the mid-quantiles
    ``(k + 1/2)/count`` of ``urgency``."""
    mid = (np.arange(count) + 0.5) / count
    if menu.support is not None:
        low, high = menu.support
        reports = low + (high - low) * mid
    else:
        reports = np.unique(np.quantile(urgency, mid))
    caps = np.asarray(menu.cap_of(reports), dtype=float)
    prices = np.asarray(menu.price_of(reports), dtype=float)
    keep = caps > 0
    plans = tuple(
        Plan(f"r={r:.6g}", float(c), float(p))
        for r, c, p in zip(reports[keep], caps[keep], prices[keep], strict=True)
    )
    return FiniteMenu(menu.model, plans, valuation=menu.valuation), reports[keep]


def _values(menu: FiniteMenu, believed: NDArray, slowdown: NDArray | None) -> NDArray:
    """:math:`v_{ij}` for the users' believed urgencies and the plans' expected slowdowns."""
    out = np.empty((believed.size, len(menu.plans)))
    for j, plan in enumerate(menu.plans):
        r = believed if slowdown is None else believed * slowdown[j]
        util, pay = plan_values(menu.model, r, (plan,))  # e^{-r sigma t}: slowdown as urgency
        if menu.valuation is not None:  # q at the believed urgency, not at the slowed one
            util = menu.valuation.q(believed)[:, None] * util
        out[:, j] = util[:, 0] - pay[:, 0]
    return out


def logit_pick(values: NDArray, temperature: float, uniform: NDArray) -> NDArray:
    """Logit choices among the columns of ``values`` and leaving (value 0): the index of the
    plan, -1 to leave, by inverting the cumulative probabilities at ``uniform``."""
    v = np.concatenate([np.zeros((values.shape[0], 1)), values], axis=1) / temperature
    v -= v.max(axis=1, keepdims=True)
    weight = np.exp(v)
    cumulative = np.cumsum(weight, axis=1)
    target = uniform * cumulative[:, -1]
    pick = (cumulative <= target[:, None]).sum(axis=1)  # first column whose sum exceeds it
    return np.minimum(pick, values.shape[1]) - 1


def choose(
    menu: FiniteMenu | ScheduleMenu,
    urgency: NDArray,
    behaviour: Behaviour,
    noise: NDArray | None = None,
    uniform: NDArray | None = None,
    slowdown: NDArray | None = None,
):
    """The users' choices: ``(menu offered, Choice)``.

    ``noise`` (standard normals) and ``uniform`` (in (0, 1)) are one per user, needed for
    misperception and logit; ``slowdown`` is the slowdown expected on each item of the
    menu offered (a schedule weighed item by item is offered as :func:`schedule_items`).
    """
    urgency = np.asarray(urgency, dtype=float)
    believed = urgency
    for needed, given, what in (
        (behaviour.misperception > 0, noise, "noise: expected a standard normal per user"),
        (not behaviour.rational, uniform, "uniform: expected a uniform in (0, 1) per user"),
    ):
        if needed and (given is None or np.shape(given) != urgency.shape):
            raise ValueError(f"{what} ({urgency.size} users)")
    if behaviour.misperception > 0:
        believed = urgency * np.exp(behaviour.misperception * np.asarray(noise, dtype=float))
    if behaviour.rational and slowdown is None:
        return menu, menu.choose(believed)
    offered, reports = (menu, None)
    if isinstance(menu, ScheduleMenu):
        offered, reports = schedule_items(menu, urgency)
    return offered, _weighed(offered, reports, believed, behaviour, uniform, slowdown)


def _weighed(menu, reports, believed, behaviour, uniform, slowdown) -> Choice:
    """Choices among a finite menu's plans, valued one by one."""
    n = believed.size
    caps = np.array([p.cap * p.speed for p in menu.plans], dtype=float)
    pick = np.full(n, -1)
    if menu.plans:
        for lo in range(0, n, CHUNK):
            part = slice(lo, min(lo + CHUNK, n))
            values = _values(menu, believed[part], slowdown)
            if behaviour.rational:
                pick[part] = best_plan(values, caps)
            else:
                pick[part] = logit_pick(values, behaviour.temperature, uniform[part])
    return choice_of(menu, pick, reports)


def choice_of(menu: FiniteMenu, pick: NDArray, reports: NDArray | None = None) -> Choice:
    """The :class:`Choice` of users who took the plans ``pick`` (-1: left) of ``menu``;
    ``reports``: the types a schedule's items were meant for."""
    n = pick.size
    buys = pick >= 0
    at = np.where(buys, pick, 0)

    def column(name: str, empty: float) -> NDArray:
        values = np.array([getattr(p, name) for p in menu.plans] or [empty], dtype=float)
        return np.where(buys, values[at], empty)

    speed, per_token = column("speed", 1.0), column("per_token", 0.0)
    if reports is None or reports.size == 0:
        report = np.full(n, np.nan)
    else:
        report = np.where(buys, reports[at], np.nan)
    return Choice(
        plan=pick.astype(np.int64),
        report=report,
        cap=column("cap", 0.0),
        price=column("price", 0.0),
        expected_utility=np.full(n, np.nan),
        speed=None if np.all(speed == 1) else speed,
        per_token=None if np.all(per_token == 0) else per_token,
    )
