"""Shared pieces of the simulation tests (a plain module, imported by the test files).

The paper's example (Sections 2.2 and 3.1): two states, prior (1/2, 1/2), quadratic entropy,
token rate chi = 1/8, urgency uniform on [1, 2]. Its greedy model is stationary: conditional on
either true state the breakthrough hazard is 1/2 (docs/paper-notes.md, "Conditional on the true
state"),
so P(tau > t | theta) = exp(-t/2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from market.pricing.plans import FiniteMenu, Plan, ScheduleMenu
from market.theory.greedy import GreedyModel
from market.theory.information import make_entropy

PAPER_EXAMPLE = Path(__file__).parent.parent / "scenarios" / "paper_example.toml"

#: The example's primitives (Section 2.2).
PRIOR = (0.5, 0.5)
TOKEN_RATE = 0.125
#: Total breakthrough rate of the example's greedy model (Section 3.1; docs/paper-notes.md erratum
#: 3).
RATE = 0.5


def paper_greedy() -> GreedyModel:
    return GreedyModel(make_entropy("quadratic", 2, None), PRIOR, TOKEN_RATE)


def paper_optimal_menu(model) -> ScheduleMenu:
    """Section 3.1 in closed form: T(r) = 1/(r - 1) and, with the factor t of docs/paper-notes.md
    erratum 2, P(r) = (3 + 2 e^{-5/2} - 5 e^{-(r + 1/2)/(r - 1)}) / 15."""

    def cap(r):
        with np.errstate(divide="ignore"):
            return 1.0 / (np.asarray(r) - 1.0)

    def price(r):
        with np.errstate(divide="ignore"):
            r = np.asarray(r)
            return (3 + 2 * np.exp(-2.5) - 5 * np.exp(-(r + 0.5) / (r - 1))) / 15

    return ScheduleMenu(model, cap, price)


def speed_menu(model) -> FiniteMenu:
    """Plans at half and full speed, one priced per token (market.menu). On the paper's
    example each is chosen by about a third of the types in [1, 2]: "fast" by the most
    patient, "metered" by the middle, "slow" by the most urgent."""
    return FiniteMenu(
        model,
        (
            Plan("slow", 4.0, 0.01, speed=0.5),
            Plan("metered", 1.5, 0.05, per_token=0.4),
            Plan("fast", np.inf, 0.123),
        ),
    )


def uniform_for_time(tau) -> np.ndarray:
    """The breakthrough uniform giving time ``tau`` under P(tau > t | theta) = exp(-t/2)."""
    return np.exp(-RATE * np.asarray(tau, dtype=float))
