"""Users who err: logit choice against quadrature, its rational limit, hand-picked draws, and
users who misperceive their urgency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import market as mk
from market.pricing.plans import FiniteMenu, Plan
from market.scenario import build_market
from market.sim.behaviour import Behaviour, choose, logit_pick
from market.sim.draws import make_draws

PAPER = "scenarios/paper_example.toml"
#: A three-plan custom menu on the paper's market (caps in units of time, T = tokens / chi).
PLANS = (Plan("small", 1.0, 0.12), Plan("medium", 2.5, 0.18), Plan("unlimited", math.inf, 0.22))


@pytest.fixture(scope="module")
def paper():
    scenario = mk.load_scenario(PAPER)
    return scenario, build_market(scenario)


def quadrature_shares(model, plans, temperature):
    """P(choose j) = int_1^2 softmax_j(v(r)) dr for r ~ U[1, 2], leaving first (value 0),
    by adaptive quadrature, independently of the simulator's choice code."""

    def probabilities(r):
        values = [0.0] + [float(model.laplace(r, p.cap)) - p.price for p in plans]
        top = max(values)
        weights = [math.exp((v - top) / temperature) for v in values]
        return [w / sum(weights) for w in weights]

    return np.array(
        [
            integrate.quad(lambda r, j=j: probabilities(r)[j], 1.0, 2.0, epsabs=1e-11)[0]
            for j in range(len(plans) + 1)
        ]
    )


@pytest.mark.parametrize("temperature", [0.01, 0.05])
def test_logit_shares_match_quadrature(paper, temperature):
    scenario, market = paper
    menu = FiniteMenu(market.model, PLANS)
    n = 200_000
    draws = make_draws(17, n, 1.0, market.urgency, scenario.prior)
    _, choice = choose(
        menu, draws.urgency, Behaviour("logit", temperature), uniform=draws.choice_uniform
    )
    simulated = np.bincount(choice.plan + 1, minlength=4) / n
    expected = quadrature_shares(market.model, PLANS, temperature)
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(simulated - expected) <= 4 * se), (simulated, expected, se)
    assert expected[1:].min() > 0.004  # every plan is chosen: the test sees all of them


def test_logit_tends_to_the_rational_choice(paper):
    scenario, market = paper
    menu = FiniteMenu(market.model, PLANS)
    draws = make_draws(4, 50_000, 1.0, market.urgency, scenario.prior)
    rational = menu.choose(draws.urgency).plan
    disagree = []
    for temperature in (1e-2, 1e-3, 1e-5, 1e-8):
        _, choice = choose(
            menu, draws.urgency, Behaviour("logit", temperature), uniform=draws.choice_uniform
        )
        disagree.append(np.mean(choice.plan != rational))
    assert disagree == sorted(disagree, reverse=True)
    assert disagree[-1] < 1e-3  # only users within ~1e-8 of indifference can still differ


def test_logit_pick_by_hand():
    # Values 0.1 and 0.05 at temperature 0.1: weights 1 (leave), e, e^0.5.
    # Cumulative shares: 1/S, (1 + e)/S, 1 with S = 1 + e + e^0.5 = 5.367...
    e = math.e
    total = 1 + e + math.exp(0.5)
    cuts = [1 / total, (1 + e) / total]
    values = np.array([[0.1, 0.05]] * 6)
    u = np.array([1e-9, cuts[0] - 1e-9, cuts[0] + 1e-9, cuts[1] - 1e-9, cuts[1] + 1e-9, 1 - 1e-9])
    np.testing.assert_array_equal(logit_pick(values, 0.1, u), [-1, -1, 0, 0, 1, 1])


def test_logit_needs_its_uniforms(paper):
    _, market = paper
    menu = FiniteMenu(market.model, PLANS)
    with pytest.raises(ValueError, match="uniform"):
        choose(menu, np.array([1.5]), Behaviour("logit", 0.1))
    with pytest.raises(ValueError, match="temperature"):
        Behaviour("logit", 0.0)


def test_misperceiving_users_live_with_their_true_urgency(paper):
    scenario, market = paper
    menu = FiniteMenu(market.model, PLANS)
    # A user of r = 1.5 who believes r = 1.5 e^{1} = 4.08 sees every plan below its price
    # and leaves; believing r = 1.5 e^{-1} = 0.55 it buys. The choices are those of the
    # believed urgencies, computed here plan by plan.
    r = np.array([1.5, 1.5, 1.5])
    noise = np.array([1.0, -1.0, 0.0])
    _, choice = choose(menu, r, Behaviour(misperception=1.0), noise=noise)
    believed = r * np.exp(noise)
    best = [
        np.argmax([float(market.model.laplace(b, p.cap)) - p.price for p in PLANS])
        for b in believed
    ]
    surplus = [
        max(float(market.model.laplace(b, p.cap)) - p.price for p in PLANS) for b in believed
    ]
    expect = [j if s >= 0 else -1 for j, s in zip(best, surplus, strict=True)]
    np.testing.assert_array_equal(choice.plan, expect)
    assert choice.plan[0] == -1 and choice.plan[1] >= 0


def test_misperception_on_a_schedule_takes_the_nearest_end(paper):
    _, market = paper
    solution = mk.solve(PAPER, policies=["optimal_token_menu"])
    menu = solution.policies[0].menu
    # Believed types 0.5 (below the support) and 3 (above): the first takes the item of
    # r = 1 (unlimited cap), the second the item of r = 2 if worth its price (IR binds at 2,
    # and utility falls with r, so it is not) and leaves.
    r = np.array([1.2, 1.8])
    believed = np.array([0.5, 3.0])
    _, choice = choose(menu, r, Behaviour(misperception=1.0), noise=np.log(believed / r))
    top = menu.choose(np.array([2.0]))
    assert choice.plan[0] == -2 and math.isinf(choice.cap[0])
    assert choice.report[0] == 1.0
    assert float(market.model.laplace(3.0, top.cap[0])) < top.price[0]
    assert choice.plan[1] == -1


def test_a_run_with_logit_users_reports_lower_participation(paper):
    base = {
        "name": "noisy",
        "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
        "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
        "market": {"users": 4000},
        "users": {"choice": "logit", "temperature": 0.02},
    }
    run = mk.simulate(base, policies=["flat"])
    row = run.summary.iloc[0]
    # Under the flat price the top type is indifferent (IR binds), so rational users all buy;
    # logit users leave with positive probability whatever their type.
    assert row["participation"] < 1.0
    assert row["expected_participation"] == 1.0
