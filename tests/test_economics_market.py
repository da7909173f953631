"""The market with valuations (Section 4) and a cost per token (Section 2.1): what the
simulated users realise matches what the solver expects, and the two engines agree user by
user.

Statistical checks: seed 2025, USERS users per policy, tolerance 4 standard errors of the
realised mean (a false alarm once in ~16,000 checks of a correct engine).
"""

import numpy as np
import pytest

import market as mk

USERS = 20_000
SEED = 2025
Z = 4.0

BASE = {
    "name": "economics-market",
    "seed": SEED,
    "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
    "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
}
POLICIES = [
    {"kind": "optimal_token_menu"},
    {"kind": "flat"},
    {"kind": "per_token"},
    {"kind": "two_part"},
    {"kind": "tiers", "count": 2},
    {"kind": "custom", "plans": [
        {"name": "small", "token_cap": 0.1, "price": 0.1},
        {"name": "big", "token_cap": "unlimited", "price": 0.2},
    ]},
]  # fmt: skip


def within(realized, expected: float, what: str) -> None:
    gap = abs(realized.mean - expected)
    assert gap <= Z * realized.se + 1e-12, (
        f"{what}: realized {realized.mean:.6g} ± {realized.se:.2g}, expected {expected:.6g}"
    )


@pytest.fixture(
    scope="module",
    params=[
        {"valuation": {"expression": "1 + 0.5*(r - 1)"}},
        {"valuation": {"expression": "3 - r"}, "costs": {"per_token": 0.2}},
        {"costs": {"per_token": 0.05}},
        {"valuation": {"expression": "exp(2*(r - 1))"}},  # the threshold menu fails IR
    ],
    ids=["rising-q", "falling-q-with-cost", "cost", "ir-fails"],
)
def run(request):
    scenario = mk.scenario_from_dict({**BASE, **request.param, "policies": POLICIES})
    return scenario, mk.simulate(scenario, users=USERS, seed=SEED)


def test_realized_means_match_the_solver(run):
    _, result = run
    for item in result.runs:
        p, real = item.policy, item.realized
        within(real.revenue, p.revenue, f"{p.name} revenue")
        within(real.cost, p.token_cost, f"{p.name} cost")
        within(real.profit, p.profit, f"{p.name} profit")
        within(real.user_surplus, p.user_surplus, f"{p.name} user surplus")
        within(real.welfare, p.welfare, f"{p.name} welfare")


def test_cost_is_the_price_of_the_tokens_served(run):
    scenario, result = run
    c = scenario.costs.per_token
    for item in result.runs:
        tokens = item.outcomes.tokens
        # Independent of the solver: c times the tokens each simulated user used.
        assert item.realized.cost.mean == pytest.approx(c * tokens.mean(), rel=1e-12, abs=0)
        assert item.realized.profit.mean == pytest.approx(
            item.outcomes.payment.mean() - c * tokens.mean(), rel=1e-12, abs=1e-15
        )


def test_a_user_values_a_solved_task_at_q(run):
    scenario, result = run
    item = result.runs[0]
    out = item.outcomes
    if scenario.valuation is None:
        q = np.ones(out.users)
    else:
        q = scenario.valuation.build().q(out.urgency)
    learned = out.learned
    # q(r) e^{-r tau} for those who learned, from the draws, not from the engine's kernel.
    np.testing.assert_allclose(
        out.utility[learned], q[learned] * np.exp(-out.urgency[learned] * out.time[learned]),
        rtol=1e-12,
    )  # fmt: skip
    assert np.all(out.utility[~learned] == 0.0)


def test_the_engines_agree_user_by_user():
    scenario = mk.scenario_from_dict(
        {
            **BASE,
            "valuation": {"expression": "3 - r"},
            "costs": {"per_token": 0.2},
            "policies": POLICIES,
        }  # fmt: skip
    )
    solution = mk.solve(scenario)
    a = mk.simulate(scenario, users=1500, seed=7, engine="abm", solution=solution)
    v = mk.simulate(scenario, users=1500, seed=7, engine="vectorized", solution=solution)
    for x, y in zip(a.runs, v.runs, strict=True):
        np.testing.assert_array_equal(x.outcomes.plan, y.outcomes.plan)
        np.testing.assert_array_equal(x.outcomes.learned, y.outcomes.learned)
        # The agent-based engine reads times off the SimPy clock (a difference of two clock
        # readings, a few ulps of the clock: tests/test_sim_engines.py), hence 1e-9.
        np.testing.assert_allclose(x.outcomes.utility, y.outcomes.utility, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(x.outcomes.payment, y.outcomes.payment, rtol=1e-9, atol=1e-12)
        assert x.realized.profit.mean == pytest.approx(y.realized.profit.mean, rel=1e-9)
