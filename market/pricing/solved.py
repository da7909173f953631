"""The one record of a solved policy (:class:`SolvedPolicy`), and of one that does not apply.

A solved policy carries what users choose from (``menu``), its expected outcomes per user
(the urgency distribution integrated out), its solved or fixed parameters, and its menu as
the types of the report grid meet it (``rows``). ``plans()`` shows what is sold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import FiniteMenu, ScheduleMenu, charge

__all__ = [
    "PLAN_COLUMNS",
    "MenuRow",
    "SolvedPolicy",
    "Unavailable",
    "finite_menu_rows",
    "json_number",
    "token_cap_value",
]

#: Columns of :meth:`SolvedPolicy.plans`.
PLAN_COLUMNS = ("plan", "urgency", "token_cap", "price", "per_token", "speed")


def json_number(x: float | None) -> float | None:
    """A JSON-safe number: ``None`` for infinity or NaN."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def token_cap_value(cap_tokens: float) -> float | str:
    """A token cap as the scenario writes it (``"unlimited"`` for infinity)."""
    return "unlimited" if math.isinf(cap_tokens) else float(cap_tokens)


@dataclass(frozen=True)
class MenuRow:
    """One menu item, as offered to the type ``urgency``.

    ``token_cap`` is :math:`s\\chi T(r)`; ``None`` means unlimited. ``served`` is False for a
    type that buys nothing (then ``price`` is 0). ``extra`` holds kind-specific fields (the
    plan's name, its speed, the delay of a constant-delay model, a per-token price).
    """

    urgency: float
    token_cap: float | None
    price: float
    served: bool = True
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "urgency": float(self.urgency),
            "token_cap": json_number(self.token_cap),
            "price": float(self.price),
        }
        if not self.served:
            out["served"] = False
        out.update(
            {k: json_number(v) if isinstance(v, float) else v for k, v in self.extra.items()}
        )
        return out


@dataclass(frozen=True, eq=False)
class SolvedPolicy:
    """A pricing policy, solved or evaluated, as the market deploys it.

    Attributes
    ----------
    name, kind : str
        As in the scenario (``kind`` one of :data:`market.pricing.KINDS`).
    revenue, user_surplus, welfare : float
        Expected per user (types integrated out). ``revenue`` is gross (what users pay);
        welfare = revenue + user surplus - token cost = profit + user surplus.
    participation : float
        Share of types who buy.
    tokens_per_user : float
        Expected tokens served per user (buyers and non-buyers averaged).
    menu : FiniteMenu, ScheduleMenu or MeteredMenu
        What a user chooses from (``menu.choose(r)``), over the deployed model ``menu.model``.
    rows : tuple of MenuRow
        The menu as each type of the report grid meets it.
    parameters : dict
        The solved or fixed parameters under the scenario's keys (token caps in tokens,
        ``"unlimited"`` for no cap): the same policy with these parameters evaluates the same.
    notes : str
        How it was solved, and what was checked.
    pooled : tuple of (float, float, float)
        Intervals of types pooled on one token cap (ironing): ``(r_from, r_to, token_cap)``.
    token_cost : float
        What the platform pays for the tokens it serves, per user: :math:`c` times
        ``tokens_per_user`` (Section 2.1; 0 without a cost).
    incentives : dict or None
        For the optimal token menu: the global IC/IR check of the threshold menu and, when it
        fails, what was deployed instead (:func:`market.pricing.paper.solve_optimal`).
    """

    name: str
    kind: str
    revenue: float
    user_surplus: float
    welfare: float
    participation: float
    tokens_per_user: float
    menu: object
    rows: tuple[MenuRow, ...]
    parameters: dict = field(default_factory=dict)
    notes: str = ""
    pooled: tuple[tuple[float, float, float], ...] = ()
    token_cost: float = 0.0
    incentives: dict | None = None

    @property
    def profit(self) -> float:
        """Revenue minus the token cost, per user."""
        return self.revenue - self.token_cost

    @property
    def model(self):
        """The deployed conversation model."""
        return self.menu.model

    def by_type(self, r) -> dict[str, NDArray]:
        """What the types ``r`` buy and expect, by their own choice: ``served``, ``utility``
        (expected :math:`q(r)e^{-r\\tau}` within the cap), ``payment`` (price plus the expected
        per-token charge) and ``tokens`` (expected tokens used)."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        own = getattr(self.menu, "by_type", None)
        if own is not None:  # a menu of models of its own (soft caps, market.pricing.softcaps)
            return own(r)
        choice = self.menu.choose(r)
        speed = np.ones(r.size) if choice.speed is None else np.asarray(choice.speed)
        per_token = np.zeros(r.size) if choice.per_token is None else choice.per_token
        model = self.model
        cap = np.where(choice.buys, choice.cap * speed, 0.0)
        tokens = np.where(choice.buys, model.token_rate * model.expected_truncated_time(cap), 0.0)
        return {
            "served": np.asarray(choice.buys, dtype=bool),
            "utility": np.asarray(choice.expected_utility, dtype=float),
            "payment": np.where(choice.buys, charge(choice.price, per_token, tokens), 0.0),
            "tokens": tokens,
        }

    def quality(self, urgency, time) -> NDArray:
        """Reasoning quality :math:`\\kappa` of the item the types ``urgency`` choose, at running
        time ``time`` (Section 4; menus with a ``quality`` method: ``soft_caps``, ``hard_caps``)."""
        quality = getattr(self.menu, "quality", None)
        if quality is None:
            raise ValueError(
                f"policy {self.name!r} ({self.kind}): quality(urgency, time) is defined for "
                "soft_caps and hard_caps policies (a model of endogenous reasoning quality)"
            )
        return quality(urgency, time)

    def plans(self):
        """What is sold, as a :class:`pandas.DataFrame` (columns :data:`PLAN_COLUMNS`).

        One row per plan of a finite menu (``urgency`` NaN), or the schedule of a continuum
        sampled at the report grid (``plan`` NaN); ``token_cap`` is ``inf`` for unlimited,
        ``per_token`` the price per token used, ``speed`` the fraction of the token rate.
        """
        import pandas as pd  # lazy: pandas loads pyarrow, which `market solve` never needs

        return pd.DataFrame(self._plan_records(), columns=list(PLAN_COLUMNS))

    def _plan_records(self) -> list[tuple]:
        menu = self.menu
        chi = float(self.model.token_rate)
        if isinstance(menu, FiniteMenu):
            return [
                (p.name, math.nan, chi * p.speed * p.cap, p.price, p.per_token, p.speed)
                for p in menu.plans
            ]
        if hasattr(menu, "fee"):  # a metered menu: one plan, unlimited, fee + per token
            return [("metered", math.nan, math.inf, menu.fee, menu.per_token, 1.0)]
        return [
            (
                None,
                row.urgency,
                math.inf if row.token_cap is None else row.token_cap,
                row.price,
                float(row.extra.get("per_token", 0.0)),
                float(row.extra.get("speed", 1.0)),
            )
            for row in self.rows
            if row.served
        ]

    def to_dict(self) -> dict:
        """JSON-friendly: every number finite or ``null`` (unlimited caps). ``revenue`` is
        gross, ``cost`` the token cost, ``profit`` their difference; ``incentives`` appears
        for the optimal token menu."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "revenue": float(self.revenue),
            "cost": float(self.token_cost),
            "profit": float(self.profit),
            "user_surplus": float(self.user_surplus),
            "welfare": float(self.welfare),
            "participation": float(self.participation),
            "tokens_per_user": float(self.tokens_per_user),
            "parameters": self.parameters,
            "pooled": [[float(a), float(b), json_number(c)] for a, b, c in self.pooled],
            "notes": self.notes,
            "menu": [row.to_dict() for row in self.rows],
        }
        if self.incentives is not None:
            out["incentives"] = _json(self.incentives)
        return out


def _json(value):
    """A plain-data copy with every non-finite float as ``None``."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, float | np.floating):
        return json_number(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


@dataclass(frozen=True)
class Unavailable:
    """A policy that does not apply to the scenario, and why (it is listed, never dropped)."""

    name: str
    kind: str
    reason: str

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "reason": self.reason}


def finite_menu_rows(
    menu: FiniteMenu | ScheduleMenu, grid: NDArray, token_rate: float, speeds: bool = False
) -> tuple[MenuRow, ...]:
    """Menu rows of a finite menu at ``grid``: each type's chosen plan (by its own choice)."""
    choice = menu.choose(grid)
    speed = choice.speed if choice.speed is not None else np.ones(grid.size)
    rows = []
    for i, r in enumerate(grid):
        j = int(choice.plan[i])
        extra = {}
        if j >= 0:
            extra["plan"] = menu.plans[j].name
        if speeds:
            extra["speed"] = float(speed[i]) if j >= 0 else 0.0
        if j == -1:
            rows.append(MenuRow(float(r), 0.0, 0.0, False, extra))
            continue
        cap = float(choice.cap[i])
        tokens = token_rate * cap * float(speed[i]) if math.isfinite(cap) else None
        rows.append(MenuRow(float(r), tokens, float(choice.price[i]), True, extra))
    return tuple(rows)
