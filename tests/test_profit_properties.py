"""Random valuations q(r) and costs per token (hypothesis): every solved policy obeys what
must hold (:mod:`market.pricing.checks`: 0 <= revenue, profit <= welfare <= first best, cap
menus <= the optimal menu's profit), and families never earn less than those they contain
(2 tiers >= 1 tier >= flat, two-part >= max(flat, per-token)). The paper's model
(chi = 1/8, binary quadratic entropy) with uniform or beta urgencies."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.pricing import Market, solve_policies
from market.pricing.checks import problems
from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic
from market.theory.urgency import Beta, Uniform
from market.theory.valuation import Valuation

TOL = 1e-9
MODEL = GreedyModel(Quadratic(2), [0.5, 0.5], 0.125)


@st.composite
def economies(draw):
    low = draw(st.floats(0.5, 1.5))
    high = low + draw(st.floats(0.3, 1.5))
    if draw(st.booleans()):
        urgency = Uniform(low, high)
    else:
        urgency = Beta(draw(st.floats(0.7, 4.0)), draw(st.floats(0.7, 4.0)), low, high)
    shape = draw(st.sampled_from(["none", "rising", "falling", "exp"]))
    k = draw(st.floats(0.05, 1.5))
    w = high - low
    expression = {
        "none": None,
        "rising": f"1 + {k}*(r - {low})/{w}",
        "falling": f"1 + {k} - {k}*(r - {low})/{w}",
        "exp": f"exp({k}*(r - {low})/{w})",
    }[shape]
    cost = draw(st.sampled_from([0.0, 0.0, 0.02, 0.3]))
    valuation = None if expression is None else Valuation.from_expression(expression)
    return Market(MODEL, urgency, valuation=valuation, cost=cost)


def check(market: Market, slow: bool) -> None:
    specs = [
        {"kind": "optimal_token_menu", "name": "optimal"},
        {"kind": "flat", "name": "flat"},
        {"kind": "per_token", "name": "per-token"},
        {"kind": "tiers", "name": "1 tier", "count": 1},
        {"kind": "tiers", "name": "2 tiers", "count": 2},
    ]
    if slow:
        specs += [
            {"kind": "two_part", "name": "two-part"},
            {"kind": "tiers", "name": "3 tiers", "count": 3},
            {"kind": "speed_tiers", "name": "2 speed tiers", "count": 2},
        ]
    solved, _ = solve_policies(market, specs)
    by = {p.name: p for p in solved}
    first = market.first_best_welfare()
    where = (f"{market.valuation!r}, cost {market.cost}, {type(market.urgency).__name__} "
             f"{vars(market.urgency)}")  # fmt: skip
    assert problems(solved, first, by["optimal"], plain=market.plain) == [], where
    profit = {name: p.profit for name, p in by.items()}
    assert profit["2 tiers"] >= profit["1 tier"] - TOL >= profit["flat"] - 2 * TOL, profit
    for p in solved:
        assert p.token_cost == pytest.approx(market.cost * p.tokens_per_user, rel=1e-12, abs=1e-15)
        assert p.profit <= p.welfare + TOL <= first + 2 * TOL, p.name
    if slow:
        assert profit["3 tiers"] >= profit["2 tiers"] - TOL
        assert profit["two-part"] >= max(profit["flat"], profit["per-token"]) - TOL
        assert profit["2 speed tiers"] >= profit["flat"] - TOL


@settings(max_examples=1, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(market=economies())
def test_random_valuations_and_costs(market):
    check(market, slow=False)


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market=economies())
def test_many_random_valuations_and_costs(market):
    check(market, slow=True)
