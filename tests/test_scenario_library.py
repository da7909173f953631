"""Every scenario in scenarios/ solves, and what it reports respects the theory."""

from pathlib import Path

import pytest

from market.api import solve
from market.scenario import build_market, load_scenario
from market.theory.mechanism import OptimalTokenMenu

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.toml"))


def test_the_library_is_there():
    names = {p.stem for p in SCENARIOS}
    assert {"paper_example", "three_state_shannon", "mahalanobis_correlated"} <= names
    assert {"wide_urgency", "truncnorm_population", "bimodal_population"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_solves(path):
    scenario = load_scenario(path)
    assert scenario.description.strip()
    solution = solve(scenario)
    optimal = next(p for p in solution.policies if p.kind == "optimal_token_menu")
    for policy in solution.policies:
        # Theorem 1: nothing beats the optimal token menu; welfare = revenue + surplus and
        # stays below first best (every type served the unlimited greedy model).
        assert policy.revenue <= optimal.revenue + 1e-9, policy.name
        assert policy.welfare == pytest.approx(policy.revenue + policy.user_surplus, abs=1e-12)
        assert policy.welfare <= solution.first_best_welfare + 1e-9
        assert len(policy.rows) == 201
    market = build_market(scenario)
    assert OptimalTokenMenu(market.model, market.urgency).incentive_report().passes(1e-9)
