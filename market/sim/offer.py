r"""What the platform offers each user, and what happened to each user: plain arrays.

Both engines share the same two steps before their event logic:

1. the users' choices, vectorised: ``menu.choose(r)`` gives each user's item, its time cap
   :math:`T` (a token cap :math:`\chi T`) and its price :math:`P`;
2. the breakthrough times, exactly: the deployed model turns the user's uniform :math:`u`
   into :math:`\tau = \inf\{t : P(\tau > t\mid\theta) \le u\}` given the true state
   :math:`\theta` (``model.sample_time(u, state)``).

The conversation then stops at :math:`\min(\tau, T)`; the user learned the state (and it is
the true state) iff :math:`\tau \le T`, and then gets :math:`e^{-r\tau}`, else 0.

A plan may run the model at a ``speed`` :math:`s \in (0, 1]` and charge ``per_token``
:math:`p` on the tokens used (:mod:`market.pricing.plans`): the breakthrough then comes at
:math:`\tau/s`, the conversation uses :math:`s\chi` tokens per unit of time, and the user
pays :math:`P` up front and :math:`p` per token at the end. With the defaults (:math:`s = 1`,
:math:`p = 0`) this is the paper's token-cap menu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import Choice, FiniteMenu, ScheduleMenu
from market.sim.draws import Draws

__all__ = ["NO_PLAN", "SCHEDULE_PLAN", "Offer", "Outcomes", "Timeseries", "prepare"]

#: ``Outcomes.plan`` of a user who bought nothing, and of a user served by a schedule menu.
NO_PLAN = -1
SCHEDULE_PLAN = -2

#: ``Outcomes.learned_state`` of a user who did not learn the state.
NOT_LEARNED = -1


@dataclass(frozen=True, eq=False)
class Offer:
    """The deterministic inputs of the event logic for one policy.

    ``choice`` is the users' choices (:class:`market.pricing.plans.Choice`), ``breakthrough`` the
    breakthrough time :math:`\\tau/s` of each user under the deployed model at the speed
    :math:`s` of its plan, ``item_names`` the names of a finite menu's plans (empty for a
    schedule), ``token_rate`` :math:`\\chi`, ``speed`` and ``per_token`` each user's plan's
    speed and price per token (1 and 0 for a user who buys nothing), ``menu`` the menu
    offered (a schedule may be offered as its items, :mod:`market.sim.behaviour`),
    ``worth`` each user's :math:`q(r)` (Section 4: a task solved at :math:`t` is worth
    :math:`q(r)e^{-rt}`; 1 without a valuation), at its true urgency.
    """

    draws: Draws
    choice: Choice
    breakthrough: NDArray
    item_names: tuple[str, ...]
    token_rate: float
    speed: NDArray
    per_token: NDArray
    menu: FiniteMenu | ScheduleMenu | None = None
    worth: NDArray | None = None

    def __post_init__(self) -> None:
        if self.worth is None:  # no valuation: every task is worth 1
            object.__setattr__(self, "worth", np.ones(self.draws.users))

    def outcomes(
        self,
        learned: NDArray,
        time: NDArray,
        utility: NDArray,
        payment: NDArray,
        wall_time: NDArray | None = None,
    ) -> Outcomes:
        """The per-user record of what an engine computed from this offer (``wall_time``:
        None when every conversation ran at its plan's rate, so it is ``time``)."""
        draws, choice = self.draws, self.choice
        learned = np.asarray(learned, dtype=bool)
        time = np.asarray(time, dtype=float)
        return Outcomes(
            arrival=draws.arrival,
            urgency=draws.urgency,
            state=draws.state,
            plan=np.asarray(choice.plan, dtype=np.int64),
            report=np.asarray(choice.report, dtype=float),
            cap=np.asarray(choice.cap, dtype=float),
            price=np.asarray(choice.price, dtype=float),
            speed=self.speed,
            per_token=self.per_token,
            learned=learned,
            learned_state=np.where(learned, draws.state, NOT_LEARNED),
            time=time,
            utility=np.asarray(utility, dtype=float),
            payment=np.asarray(payment, dtype=float),
            token_rate=self.token_rate,
            item_names=self.item_names,
            wall_time=time if wall_time is None else np.asarray(wall_time, dtype=float),
        )


def prepare(draws: Draws, menu: FiniteMenu | ScheduleMenu, choice: Choice | None = None) -> Offer:
    """Choices and breakthrough times of every user of ``draws`` facing ``menu``; ``choice``:
    the users' choices if already made (:func:`market.sim.behaviour.choose`), else rational
    choices on their urgencies."""
    # -- menus of reasoning quality (issue 10 §3, Section 4): their own jump law ----------
    if getattr(menu, "quality_menu", False):
        from market.sim.softcaps import quality_offer

        return quality_offer(draws, menu, choice)
    # -- end of the reasoning-quality hook ----------------------------------------------
    model = menu.model
    n = draws.users
    choice = menu.choose(draws.urgency) if choice is None else choice
    speed = np.ones(n) if choice.speed is None else np.asarray(choice.speed, dtype=float)
    per_token = np.zeros(n) if choice.per_token is None else np.asarray(choice.per_token, float)
    tau = np.asarray(model.sample_time(draws.uniform, draws.state), dtype=float)
    if choice.speed is not None:
        tau = tau / speed  # the model's dynamics are proportional to its token rate
    names = tuple(p.name for p in menu.plans) if isinstance(menu, FiniteMenu) else ()
    worth = worth_of(menu, draws.urgency)
    return Offer(draws, choice, tau, names, float(model.token_rate), speed, per_token, menu, worth)


def worth_of(menu, urgency: NDArray) -> NDArray:
    """:math:`q(r)` of each user (the menu's valuation, Section 4), 1 without one."""
    valuation = getattr(menu, "valuation", None)
    if valuation is None:
        return np.ones(np.shape(urgency))
    return np.asarray(valuation.q(urgency), dtype=float)


@dataclass(frozen=True, eq=False)
class Outcomes:
    r"""Per-user outcomes of one policy; entry ``i`` is the ``i``-th user to arrive.

    Attributes
    ----------
    arrival, urgency, state : ndarray
        From the draws: arrival time, :math:`r`, true state :math:`\theta`.
    plan : ndarray of int
        Index of the chosen plan, :data:`NO_PLAN` (left) or :data:`SCHEDULE_PLAN`.
    report : ndarray of float
        The reported type for a schedule menu (NaN otherwise).
    cap : ndarray of float
        Time cap :math:`T` of the chosen item (``inf``: unlimited; 0 if nothing bought).
    price : ndarray of float
        Up-front price of the chosen item (0 if nothing bought).
    speed, per_token : ndarray of float
        Speed :math:`s` of the chosen item (1 if nothing bought) and its price per token.
    learned : ndarray of bool
        Whether the conversation reached the breakthrough before the cap.
    learned_state : ndarray of int
        The state learned, :data:`NOT_LEARNED` if none.
    time : ndarray of float
        Conversation time at the plan's rate :math:`\min(\tau/s, T)` (0 if nothing
        bought): the wall-clock time it takes without congestion.
    utility : ndarray of float
        :math:`q(r)e^{-rw}` if learned (:math:`w` the wall-clock time), else 0.
    payment : ndarray of float
        What the user paid: the price, plus ``per_token * tokens``.
    token_rate : float
        :math:`\chi`; ``tokens = token_rate * speed * time``.
    item_names : tuple of str
        Names of a finite menu's plans, indexed by ``plan``.
    wall_time : ndarray of float
        Clock time from the start of the conversation to its end: ``time`` without
        congestion, longer when the capacity is shared (:mod:`market.sim.capacity`).
    """

    arrival: NDArray
    urgency: NDArray
    state: NDArray
    plan: NDArray
    report: NDArray
    cap: NDArray
    price: NDArray
    speed: NDArray
    per_token: NDArray
    learned: NDArray
    learned_state: NDArray
    time: NDArray
    utility: NDArray
    payment: NDArray
    token_rate: float
    item_names: tuple[str, ...] = ()
    wall_time: NDArray | None = None

    @property
    def users(self) -> int:
        return int(self.arrival.size)

    @property
    def bought(self) -> NDArray:
        return self.plan != NO_PLAN

    @property
    def tokens(self) -> NDArray:
        """Tokens used, :math:`s\\chi \\times` conversation time."""
        return self.token_rate * self.speed * self.time

    @property
    def surplus(self) -> NDArray:
        """Realised user surplus: utility minus payment."""
        return self.utility - self.payment

    @property
    def end(self) -> NDArray:
        """Clock time at which each user leaves."""
        return self.arrival + (self.time if self.wall_time is None else self.wall_time)

    @property
    def model_time(self) -> NDArray:
        r"""The model's own time used, :math:`s \times` ``time`` = :math:`\min(\tau, sT)`."""
        return self.speed * self.time


@dataclass(frozen=True, eq=False)
class Timeseries:
    """The market at regular clock times ``time``: each field is an array over the samples.

    A sample at time :math:`t` counts the events strictly before :math:`t`. ``revenue`` and
    ``utility`` are cumulative (prices at purchase, per-token charges at the end of the
    conversation, utilities at the breakthrough);
    ``tokens_served`` counts the tokens of finished and of open conversations.
    With a finite capacity, ``utilisation`` is the share of the capacity used over the
    interval before each sample and ``slowdown`` the mean wall-clock time over uncongested
    time of the conversations that ended in it (NaN where none did); both are None without.
    """

    time: NDArray
    users_arrived: NDArray
    conversations_open: NDArray
    tokens_served: NDArray
    revenue: NDArray
    utility: NDArray
    utilisation: NDArray | None = None
    slowdown: NDArray | None = None

    FIELDS = (
        "time",
        "users_arrived",
        "conversations_open",
        "tokens_served",
        "revenue",
        "utility",
    )

    LOAD_FIELDS = ("utilisation", "slowdown")

    def as_dict(self) -> dict[str, NDArray]:
        """The columns: :data:`FIELDS`, and the load fields with a finite capacity."""
        names = self.FIELDS + tuple(f for f in self.LOAD_FIELDS if getattr(self, f) is not None)
        return {name: getattr(self, name) for name in names}
