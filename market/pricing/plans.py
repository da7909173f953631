r"""Menus as a user meets them: plans (a time cap and a price) and the user's choice.

A plan gives the conversation model run up to a time cap :math:`T` (a token cap
:math:`\chi T`; :math:`T = \infty` is unlimited) for a price :math:`P` paid up front. A user of
urgency :math:`r` values it at :math:`q(r)U(T \mid r)`, :math:`U(T \mid r) = E[e^{-r\tau}\mathbf
1\{\tau\le T\}]`, with :math:`q` the menu's valuation (Section 4; :math:`q\equiv 1` without
one), and buys the plan of greatest :math:`U - P` if that is not negative (the outside option is 0);
ties go to the larger cap.

Two extensions serve the industry's menus (issue 4): a plan may run the model at a
``speed`` s in (0, 1] (a fraction of the token rate; every model here has dynamics
proportional to :math:`\chi`, so its stopping time is :math:`\tau/s`), and may charge
``per_token`` p on the tokens used. With a time cap :math:`T` its value to type :math:`r` is

.. math:: q(r)E[e^{-r\tau/s}\mathbf 1\{\tau/s \le T\}] - P - p\,\chi\,E[\min(\tau, sT)],

since :math:`s\chi\min(\tau/s, T) = \chi\min(\tau, sT)` tokens are used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.theory.models import ConversationModel
from market.theory.valuation import Valuation

__all__ = [
    "TIE_TOLERANCE",
    "Choice",
    "FiniteMenu",
    "Plan",
    "ScheduleMenu",
    "best_plan",
    "charge",
    "plan_values",
]

#: Two surpluses closer than this count as a tie (then the larger cap wins).
TIE_TOLERANCE = 1e-12


def charge(price, per_token, tokens):
    """What a user pays: the price up front plus ``per_token`` on the tokens used.

    The one payment rule of the package (expected payments, simulated payments and bills
    all use it); arguments broadcast.
    """
    return price + per_token * tokens


def best_plan(surplus: NDArray, caps: NDArray) -> NDArray:
    """The choice rule: each row's plan of largest surplus, -1 if that is negative.

    ``surplus`` is (users, plans), ``caps`` the plans' token caps (any increasing measure of
    size). Surpluses within :data:`TIE_TOLERANCE` of the best count as ties, and ties go to
    the larger cap (then to the earlier plan); a best surplus within the tolerance of 0 buys.
    """
    surplus = np.atleast_2d(surplus)
    if surplus.shape[1] == 0:  # an empty menu: nobody buys
        return np.full(surplus.shape[0], -1)
    order = np.argsort(-np.asarray(caps, dtype=float), kind="stable")
    best = surplus.max(axis=1)
    near = surplus[:, order] >= best[:, None] - TIE_TOLERANCE
    pick = order[np.argmax(near, axis=1)]
    return np.where(best >= -TIE_TOLERANCE, pick, -1)


@dataclass(frozen=True)
class Plan:
    """One menu item: a time cap (``inf`` = unlimited), a price paid up front, a speed
    (fraction of the token rate) and a price per token used."""

    name: str
    cap: float
    price: float
    speed: float = 1.0
    per_token: float = 0.0


def valued(valuation: Valuation | None, r: NDArray, util: NDArray) -> NDArray:
    """``util`` (rows: the types ``r``) times :math:`q(r)`; unchanged without a valuation."""
    if valuation is None:
        return util
    q = valuation.q(r)
    return q[:, None] * util if util.ndim == 2 else q * util


def plan_values(
    model: ConversationModel, r: NDArray, plans, valuation: Valuation | None = None
) -> tuple[NDArray, NDArray]:
    """Gross utility (including :math:`q(r)`) and expected payment of each plan for each type:
    arrays (len(r), K)."""
    caps = np.array([p.cap for p in plans], dtype=float)
    speed = np.array([p.speed for p in plans], dtype=float)
    util = model.laplace(r[:, None] / speed[None, :], caps[None, :] * speed[None, :])
    util = valued(valuation, r, util)
    return util, np.broadcast_to(expected_payments(model, plans)[None, :], util.shape)


def expected_payments(model: ConversationModel, plans) -> NDArray:
    r"""Expected payment of each plan (up front plus per token), independent of the type:
    :math:`P + p\chi E[\min(\tau, sT)]`."""
    caps = np.array([p.cap * p.speed for p in plans], dtype=float)
    per_token = np.array([p.per_token for p in plans], dtype=float)
    prices = np.array([p.price for p in plans], dtype=float)
    if not np.any(per_token > 0):
        return prices
    return charge(prices, per_token, model.token_rate * model.expected_truncated_time(caps))


@dataclass(frozen=True)
class Choice:
    """Vectorised choices of users: one entry per user.

    ``plan`` is the index of the chosen plan (-1: left without buying) for finite menus, or
    -2 for a type-indexed schedule (then ``report`` holds the reported type).
    """

    plan: NDArray
    report: NDArray
    cap: NDArray
    price: NDArray
    expected_utility: NDArray
    speed: NDArray | None = None  # None: full speed for everyone
    per_token: NDArray | None = None  # None: nothing charged per token

    @property
    def buys(self) -> NDArray:
        return self.plan != -1


@dataclass(frozen=True)
class FiniteMenu:
    r"""A finite list of plans over one conversation model, for users of valuation
    ``valuation`` (None: :math:`q\equiv 1`)."""

    model: ConversationModel
    plans: tuple[Plan, ...]
    valuation: Valuation | None = None

    def choose(self, r: ArrayLike) -> Choice:
        """Each user's best plan (largest expected utility minus price; ties: larger cap)."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        if not self.plans:  # an empty menu: everyone leaves
            none = np.zeros(r.size)
            return Choice(np.full(r.size, -1), np.full(r.size, np.nan), none, none, none)
        caps = np.array([p.cap for p in self.plans])
        speeds = np.array([p.speed for p in self.plans])
        util, pay = plan_values(self.model, r, self.plans, self.valuation)
        plan = best_plan(util - pay, caps * speeds)
        buys = plan >= 0
        pick = np.where(buys, plan, 0)
        rows = np.arange(r.size)
        per_token = np.array([p.per_token for p in self.plans])
        prices = np.array([p.price for p in self.plans])
        return Choice(
            plan=plan,
            report=np.full(r.size, np.nan),
            cap=np.where(buys, caps[pick], 0.0),
            price=np.where(buys, prices[pick], 0.0),
            expected_utility=np.where(buys, util[rows, pick], 0.0),
            speed=None if np.all(speeds == 1) else np.where(buys, speeds[pick], 1.0),
            per_token=None if np.all(per_token == 0) else np.where(buys, per_token[pick], 0.0),
        )


@dataclass(frozen=True)
class ScheduleMenu:
    """A type-indexed menu :math:`\\{(T(r'), P(r'))\\}_{r'}` (Definition 2).

    It is incentive compatible (checked by
    :meth:`market.theory.mechanism.OptimalTokenMenu.incentive_report`), so a user's best item
    is the one meant for its own type: ``choose`` returns it. Types with a
    cap of 0 buy nothing. ``cap_of`` and ``price_of`` map types to the time cap and price;
    ``items_of``, if given, returns ``(cap, price, utility)`` of own items in one pass.
    ``support`` is the interval of types the schedule has items for (a user who believes
    its type lies outside takes the item of the nearest end, if it is worth its price).
    ``valuation``: the users' :math:`q(r)` (None: 1); ``items_of`` includes it.
    """

    model: ConversationModel
    cap_of: Callable[[NDArray], NDArray]
    price_of: Callable[[NDArray], NDArray]
    items_of: Callable[[NDArray], tuple[NDArray, NDArray, NDArray]] | None = None
    support: tuple[float, float] | None = None
    valuation: Valuation | None = None

    def choose(self, r: ArrayLike) -> Choice:
        """The item meant for each type; a type outside ``support`` takes the item of the
        nearest end if its utility minus price is not negative (ties count as buying), else
        nothing."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        if self.support is not None:
            report = np.clip(r, *self.support)
            outside = report != r
            if np.any(outside):
                return self._beyond(r, report, outside)
        if self.items_of is not None:
            cap, price, util = (np.asarray(a, dtype=float) for a in self.items_of(r))
        else:
            cap = np.asarray(self.cap_of(r), dtype=float)
            price = np.asarray(self.price_of(r), dtype=float)
            util = valued(self.valuation, r, self.model.laplace(r, cap))
        return self._choice(r, cap, price, util, cap > 0)

    def _beyond(self, r: NDArray, report: NDArray, outside: NDArray) -> Choice:
        inside = self.choose(report)  # the items of the clipped reports (all in support)
        own = valued(self.valuation, r, self.model.laplace(r, inside.cap))
        util = np.where(outside, own, inside.expected_utility)
        worth = util - inside.price >= -TIE_TOLERANCE
        buys = inside.buys & (~outside | worth)
        return self._choice(report, inside.cap, inside.price, util, buys)

    @staticmethod
    def _choice(report, cap, price, util, buys) -> Choice:
        return Choice(
            plan=np.where(buys, -2, -1),
            report=report.copy(),
            cap=np.where(buys, cap, 0.0),
            price=np.where(buys, price, 0.0),
            expected_utility=np.where(buys, util, 0.0),
        )
