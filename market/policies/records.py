"""The record of a solved policy, and the market it is solved for."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from market.menu import FiniteMenu, ScheduleMenu
from market.results import MenuRow, PolicySolution

__all__ = ["Market", "SolvedPolicy", "finite_menu_rows", "token_cap_value"]

#: Gauss-Legendre nodes per sub-interval of the fast type quadrature used inside optimisers.
FAST_NODES = 32
#: Sub-intervals per piece between the urgency's breakpoints, for that quadrature.
FAST_PIECES = 4


@dataclass(frozen=True)
class SolvedPolicy:
    """A pricing policy, solved or evaluated, as the market deploys it.

    Attributes
    ----------
    name, kind : str
        As in the scenario (``kind`` one of :data:`market.policies.KINDS`).
    parameters : dict
        The solved or fixed parameters, JSON-friendly, under the scenario's keys (token caps
        in tokens, ``"unlimited"`` for no cap): ``solve_policy({"kind": kind, **parameters})``
        evaluates the same policy.
    menu : FiniteMenu, ScheduleMenu or MeteredMenu
        What a user chooses from (``menu.choose(r)``).
    expected : PolicySolution
        Expected revenue, user surplus and welfare per user, the menu at the report grid.
    participation : float
        Share of types who buy.
    tokens_per_user : float
        Expected tokens served per user (buyers and non-buyers averaged).
    """

    name: str
    kind: str
    parameters: dict
    menu: object
    expected: PolicySolution
    participation: float
    tokens_per_user: float

    @property
    def revenue(self) -> float:
        return self.expected.revenue

    def to_dict(self) -> dict:
        out = self.expected.to_dict()
        out["parameters"] = self.parameters
        out["participation"] = float(self.participation)
        out["tokens_per_user"] = float(self.tokens_per_user)
        out["notes"] = self.expected.notes
        return out


class Market:
    """The deployed model, the urgency distribution and the report grid of one scenario.

    ``model`` is the greedy model (:class:`market.greedy.GreedyModel`) at token rate
    :math:`\\chi`; ``urgency`` is :math:`G`; ``grid`` the urgencies of the reported menu rows.
    """

    def __init__(self, model, urgency, grid):
        self.model = model
        self.urgency = urgency
        self.token_rate = float(model.token_rate)
        self.low, self.high = float(urgency.low), float(urgency.high)
        grid = np.asarray(grid, dtype=float)
        if grid.ndim != 1 or grid.size < 1:
            raise ValueError("grid: expected a 1-d array of urgencies")
        self.grid = grid

    @cached_property
    def breakpoints(self) -> list[float]:
        bps = {self.low, self.high, *(float(b) for b in self.urgency.breakpoints())}
        return sorted(b for b in bps if self.low <= b <= self.high)

    def pieces(self, a: float, b: float) -> list[float]:
        """``a``, the urgency's breakpoints strictly inside (a, b), and ``b``."""
        return [a, *(x for x in self.breakpoints if a < x < b), b]

    @cached_property
    def expected_time(self) -> float:
        return float(self.model.expected_time)

    def fast_nodes(self, a: float, b: float) -> tuple[NDArray, NDArray]:
        """Gauss-Legendre nodes and weights ``g(r) dr`` on [a, b] (split at breakpoints)."""
        x, w = np.polynomial.legendre.leggauss(FAST_NODES)
        edges = []
        pts = self.pieces(a, b)
        for lo, hi in zip(pts[:-1], pts[1:], strict=True):
            edges.extend(np.linspace(lo, hi, FAST_PIECES + 1)[:-1])
        edges = np.append(edges, b)
        left, width = edges[:-1, None], np.diff(edges)[:, None]
        nodes = (left + width * (x + 1) / 2).ravel()
        weights = (width * w / 2).ravel() * self.urgency.pdf(nodes)
        return nodes, weights

    @cached_property
    def all_nodes(self) -> tuple[NDArray, NDArray]:
        return self.fast_nodes(self.low, self.high)

    def mass(self, a: float, b: float) -> float:
        """:math:`G(b) - G(a)`."""
        return float(self.urgency.cdf(b)) - float(self.urgency.cdf(a))


def token_cap_value(cap_tokens: float) -> float | str:
    """A token cap as the scenario writes it (``"unlimited"`` for infinity)."""
    return "unlimited" if math.isinf(cap_tokens) else float(cap_tokens)


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
