"""From a scenario to its solved policies: the glue between configuration and mathematics.

:func:`solve` builds the greedy model, Theorem 1's menu and the Section 2.2 family menus, and
returns a :class:`market.results.Solution`. :func:`build_policies` gives the same policies as
menus a simulated user can choose from, each beside its expected outcomes
(:class:`market.policies.SolvedPolicy`, solved by the policy layer).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from market.families import screen_constant_delay, screen_diffusion
from market.greedy import GreedyModel
from market.mechanism import OptimalTokenMenu, first_best_welfare
from market.results import MenuRow, PolicySolution, Solution

#: Menus are reported at this many evenly spaced urgencies from low to high.
MENU_POINTS = 201


class Solver:
    """Lazily solved pieces of one scenario (each computed once)."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.entropy = scenario.entropy()
        self.urgency = scenario.urgency()
        self.prior = scenario.prior
        self.token_rate = scenario.token_rate
        self.grid = np.linspace(self.urgency.low, self.urgency.high, MENU_POINTS)

    @cached_property
    def greedy(self) -> GreedyModel:
        return GreedyModel(self.entropy, self.prior, self.token_rate, label=self.scenario.name)

    @cached_property
    def optimal_menu(self) -> OptimalTokenMenu:
        return OptimalTokenMenu(self.greedy, self.urgency)

    @cached_property
    def first_best(self) -> float:
        return first_best_welfare(self.greedy, self.urgency)

    @cached_property
    def optimal(self) -> PolicySolution:
        menu = self.optimal_menu
        caps = menu.token_cap(self.grid)
        prices = menu.price(self.grid)
        rows = tuple(
            MenuRow(float(r), float(c) if np.isfinite(c) else None, float(p))
            for r, c, p in zip(self.grid, caps, prices, strict=True)
        )
        notes = ""
        if menu.pools:
            notes = "pooled types: " + ", ".join(
                f"[{p.low:.6g}, {p.high:.6g}] on cap {self.token_rate * p.cap:.6g}"
                for p in menu.pools
            )
        return PolicySolution(
            name="optimal token menu",
            kind="optimal_token_menu",
            revenue=menu.revenue,
            user_surplus=menu.user_surplus,
            welfare=menu.welfare,
            menu=rows,
            notes=notes,
        )

    @cached_property
    def constant_delay(self) -> PolicySolution:
        return screen_constant_delay(
            self.entropy, self.prior, self.token_rate, self.urgency, self.grid
        )

    @cached_property
    def diffusion(self) -> PolicySolution | None:
        if self.prior.size != 2:
            return None
        return screen_diffusion(self.entropy, self.prior, self.token_rate, self.urgency, self.grid)

    def policies(self) -> tuple[PolicySolution, ...]:
        found = [self.optimal, self.constant_delay]
        if self.diffusion is not None:
            found.append(self.diffusion)
        return tuple(found)

    def compared(self, specs: list[dict] | None = None) -> list:
        """Policies solved as menus users choose from: ``specs`` (default: the scenario's
        ``[[policies]]``, or the default set).

        Returns :class:`market.policies.SolvedPolicy` records in the order of ``specs``.
        """
        from market.policies import default_policies, solve_policy

        if specs is None:
            specs = [p.model_dump() for p in self.scenario.policies] or default_policies(
                self.prior.size
            )
        return [
            solve_policy(
                spec,
                self.greedy,
                self.urgency,
                self.grid,
                self.entropy,
                self.prior,
                self.token_rate,
                index=i,
            )
            for i, spec in enumerate(specs)
        ]

    def solution(self) -> Solution:
        return Solution(
            scenario=self.scenario.name,
            switch_times=self.greedy.switch_times,
            stationary_rate=self.greedy.stationary_rate,
            expected_time=self.greedy.expected_time,
            first_best_welfare=self.first_best,
            policies=self.policies(),
        )

    def offered(self) -> list:
        """The paper's policies as menus users choose from (see :func:`build_policies`)."""
        specs = [{"kind": "optimal_token_menu"}, {"kind": "constant_delay"}]
        if self.prior.size == 2:
            specs.append({"kind": "diffusion"})
        return [p for p in self.compared(specs) if p.kind != "diffusion" or _single_speed(p)]


def _single_speed(policy) -> bool:
    """A diffusion menu that sells one full-speed model (then it is one model at a price)."""
    speeds = {row.extra.get("speed") for row in policy.expected.menu if row.served}
    return speeds == {1.0}


def solve(scenario) -> Solution:
    """Solve every policy of ``scenario`` (a :class:`market.scenario.Scenario`)."""
    return Solver(scenario).solution()


def build_policies(scenario) -> list:
    """The scenario's policies as menus over their deployed models, for simulation.

    The diffusion menu is included when it sells one full-speed model at a posted price
    (as in the paper's example); a menu of several speeds is not one model and is left out.
    """
    return Solver(scenario).offered()
