"""Users who anticipate congestion, and a platform that prices for it: the fixed points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import market as mk
from market.scenario import build_market
from market.sim.anticipation import settle
from market.sim.behaviour import Behaviour
from market.sim.congested import Congestion
from market.sim.draws import make_draws

PAPER = "scenarios/paper_example.toml"


def congested(capacity, users=6000, **market):
    return {
        "name": "busy",
        "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
        "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
        "market": {"users": users, "capacity": capacity, "anticipate": True, **market},
    }


@pytest.fixture(scope="module")
def paper():
    scenario = mk.load_scenario(PAPER)
    return scenario, build_market(scenario), mk.solve(scenario, policies=["flat", "tiers"])


def test_ample_capacity_settles_at_once_on_the_rational_choice(paper):
    scenario, market, solution = paper
    draws = make_draws(2, 3000, 1.0, market.urgency, scenario.prior)
    for policy in solution.policies:
        offered, choice, done = settle(draws, policy.menu, Behaviour(), Congestion(1e6), 20.0)
        assert done.rounds == 1 and done.settled
        np.testing.assert_allclose(done.slowdown, 1.0, rtol=1e-9)
        np.testing.assert_array_equal(choice.plan, policy.menu.choose(draws.urgency).plan)


def test_flat_price_settles_where_the_marginal_user_is_indifferent(paper):
    # Under a flat price P with no cap, a user anticipating slowdown s buys iff
    # U(inf | r s) >= P; U falls with r, so buyers are r <= r* with U(inf | r* s) = P, and
    # participation is G(r*) = r* - 1 for r ~ U[1, 2].
    run = mk.simulate(congested(0.2), policies=["flat"], engine="vectorized")
    item = run.runs[0]
    done = item.settlement
    assert done.settled and done.rounds < 40
    slowdown = done.slowdown[0]
    assert slowdown > 1.05  # the capacity binds
    model, price = item.policy.menu.model, item.policy.menu.plans[0].price
    r_star = brentq(lambda r: float(model.laplace(r * slowdown, math.inf)) - price, 0.5, 2.0)
    buyers = item.outcomes.bought
    # the choices are best responses to the measured slowdown, but for the changed share
    threshold = item.outcomes.urgency <= r_star
    assert np.mean(buyers != threshold) <= max(done.changed, 1e-3) + 1e-12
    n = buyers.size
    assert abs(buyers.mean() - (r_star - 1.0)) <= 4 * math.sqrt(0.25 / n) + done.changed
    # the slowdown reported is the buyers' mean wall-clock over uncongested time
    ran = buyers & (item.outcomes.time > 0)
    measured = np.mean(item.outcomes.wall_time[ran] / item.outcomes.time[ran])
    assert measured == pytest.approx(slowdown, rel=1e-12)
    record = run.summary_record()["policies"][0]
    assert record["anticipation"]["rounds"] == done.rounds


def test_anticipation_never_reports_more_than_it_measured():
    # Under priority the fixed point may not settle; whatever it reports is finite and >= 1.
    run = mk.simulate(
        congested(0.2, 4000, discipline="priority"), policies=["tiers"], engine="vectorized"
    )
    for item in run.runs:
        done = item.settlement
        assert all(math.isfinite(s) and s >= 1.0 - 1e-12 for s in done.slowdown)
        assert 0.0 <= done.changed <= 1.0
        assert done.rounds >= 1


def test_platform_with_ample_capacity_keeps_its_menus(paper):
    spec = congested(1e6, 3000)
    spec["platform"] = {"anticipate_congestion": True}
    run = mk.simulate(spec, policies=["flat", "tiers"], engine="vectorized")
    plain = mk.solve(spec, policies=["flat", "tiers"])
    for item in run.runs:
        assert item.pricing.settled and item.pricing.rounds == 1
        assert item.pricing.slowdown == 1.0
        assert item.policy.revenue == pytest.approx(plain[item.policy.name].revenue, rel=1e-12)


def test_platform_prices_for_its_congestion():
    # The flat price re-solved for slowdown s is the IR price of the top type at r = 2 s:
    # P(s) = U(inf | 2 s); at the fixed point the slowdown priced is the one measured.
    spec = congested(0.2, 3000)
    spec["platform"] = {"anticipate_congestion": True}
    run = mk.simulate(spec, policies=["flat"], engine="vectorized")
    item = run.runs[0]
    s = item.pricing.slowdown
    model = item.policy.menu.model
    assert item.policy.menu.plans[0].price == pytest.approx(
        float(model.laplace(2.0 * s, math.inf)), rel=1e-6
    )
    if item.pricing.settled:
        assert abs(math.log(item.pricing.measured / s)) <= 0.02 + 1e-12
    assert run.summary_record()["policies"][0]["congestion_pricing"]["rounds"] >= 1
