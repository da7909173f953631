"""Every policy with users' valuations q(r) (Section 4) and a cost per token (Section 2.1):
profit maximised, token cost and welfare accounted, IC/IR of the optimal menu checked, and the
baseline (q = 1, no cost) unchanged to the last bit."""

import json
import math

import numpy as np
import pytest
from scipy import integrate

from market.pricing import Market, default_policies, solve_policies, solve_policy
from market.pricing.checks import problems
from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic
from market.theory.urgency import Uniform
from market.theory.valuation import Valuation

# The paper's example: tau exponential with rate lambda = 1/2, chi = 1/8, r ~ U[1, 2]:
# U(T|r) = lambda/(lambda + r)(1 - e^{-(lambda + r)T}), E[min(tau, T)] = (1 - e^{-lambda T})/lambda.
LAMBDA, CHI = 0.5, 0.125


def utility(r, cap):
    return LAMBDA / (LAMBDA + r) * -np.expm1(-(LAMBDA + r) * cap)


def busy(cap):
    return -np.expm1(-LAMBDA * cap) / LAMBDA


@pytest.fixture(scope="module")
def model():
    return GreedyModel(Quadratic(2), [0.5, 0.5], CHI)


def market(model, expression=None, cost=0.0):
    valuation = None if expression is None else Valuation.from_expression(expression)
    return Market(model, Uniform(1.0, 2.0), valuation=valuation, cost=cost)


def solve(m, kind, **values):
    return solve_policy(m, kind, kind, values)


# -- the market ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, True, "0.05", None])
def test_market_cost_must_be_a_finite_number(model, bad):
    with pytest.raises(ValueError, match=r"^cost = .*: expected a (finite )?number >= 0"):
        Market(model, Uniform(1.0, 2.0), cost=bad)


def test_market_valuation_is_checked_on_the_urgency_range(model):
    with pytest.raises(ValueError, match=r"^expression = '1.5 - r': q\(r\) = 0 at r = 1.5"):
        market(model, "1.5 - r")
    with pytest.raises(ValueError, match=r"^valuation = 2.0: expected a Valuation or None"):
        Market(model, Uniform(1.0, 2.0), valuation=2.0)
    assert Market(model, Uniform(1.0, 2.0), valuation=Valuation.constant(1.0)).plain


def test_market_value_of_a_plan(model):
    m = market(model, "exp(2*(r-1))")
    r = np.array([1.0, 1.4, 2.0])
    assert np.allclose(m.value(r, 1.5), np.exp(2 * (r - 1)) * utility(r, 1.5), rtol=1e-13)
    # speed s: stopping time tau/s, cap T: E[e^{-(r/s) tau} 1{tau <= s T}]
    assert np.allclose(m.value(r, 2.0, 0.5), np.exp(2 * (r - 1)) * utility(2 * r, 1.0), rtol=1e-13)


# -- the baseline is unchanged ----------------------------------------------------------------
def test_no_valuation_no_cost_is_bit_identical(model):
    # Recorded with commit 7f43c39 (before valuations and costs existed), paper example.
    before = {
        "optimal token menu": (0.20198057431619676, 0.2494726967771537, 0.16833903441886175),
        "flat price": (0.2, 0.25541281188299536, 0.25),
        "per-token price": (0.10850454383261483, 0.17519352578745356, 0.06377456776515877),
        "two-part tariff": (0.20087922397376975, 0.2520891878054388, 0.16604766974989577),
        "2 tiers": (0.20158511668083234, 0.25046516191827134, 0.19219268733253378),
        "2 speed tiers": (0.2, 0.25541281188299536, 0.25),
        "constant-delay menu": (0.024893534183931972, 0.042774107434374375, 0.125),
    }
    m = Market(model, Uniform(1.0, 2.0), valuation=Valuation.constant(1.0), cost=0.0)
    specs = [s for s in default_policies() if s["name"] in before]
    solved, _ = solve_policies(m, specs)
    assert {p.name: (p.revenue, p.welfare, p.tokens_per_user) for p in solved} == before
    assert all(p.token_cost == 0.0 and p.profit == p.revenue for p in solved)


# -- valuations ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, revenue",
    [("1 + 0.5*(r - 1)", 0.3012160559), ("3 - r", 0.2169486909)],  # errata 7 and 11
)
def test_optimal_menu_with_valuations(model, expression, revenue):
    m = market(model, expression)
    p = solve(m, "optimal_token_menu")
    assert p.revenue == pytest.approx(revenue, abs=2e-10)
    assert p.incentives["broken"] == [] and "individually rational on 801 types" in p.notes
    r = np.array([1.1, 1.5, 1.9])
    choice = p.menu.choose(r)
    q = Valuation.from_expression(expression).q(r)
    assert np.allclose(choice.expected_utility, q * utility(r, choice.cap), rtol=1e-12)


def test_failing_ir_is_reported_and_the_best_ic_ir_menu_deployed(model):
    # Erratum 7: q = e^{2(r-1)} breaks IR at every type below 2 (s(1) = -1.1450); the best cap
    # menu is one uncapped plan to r >= (3 + sqrt 5)/4, e^{(sqrt5 - 1)/2}(3 - sqrt5)/4.
    m = market(model, "exp(2*(r-1))")
    p = solve(m, "optimal_token_menu")
    closed = math.exp((math.sqrt(5) - 1) / 2) * (3 - math.sqrt(5)) / 4
    assert p.revenue == pytest.approx(closed, abs=1e-10) and p.profit == p.revenue
    assert p.participation == pytest.approx(1 - ((3 + math.sqrt(5)) / 4 - 1), abs=1e-8)
    inc = p.incentives
    assert inc["broken"] == ["individual rationality"] and inc["worst_type"] == 1.0
    assert inc["min_surplus"] == pytest.approx(-1.1450, abs=1e-4)
    assert inc["method"] == "linear program over lotteries of caps"
    assert inc["threshold_menu"]["revenue"] > 1  # what the paper's menu would claim
    assert inc["lottery_menu"]["profit"] == pytest.approx(closed, abs=5e-9)
    assert "individual rationality fails: type r = 1 pays more" in p.notes
    data = json.loads(json.dumps(p.to_dict(), allow_nan=False))
    assert data["incentives"]["broken"] == ["individual rationality"]
    # Users choose from the deployed menu: the patient ones buy nothing.
    choice = p.menu.choose(np.array([1.0, 1.2, 1.5, 2.0]))
    assert choice.buys.tolist() == [False, False, True, True]
    assert np.all(np.isinf(choice.cap[2:]))


def test_per_token_users_quit_like_a_q1_user_facing_p_over_q(model):
    # q e^{-rT} lambda = p chi  =>  T = ln(q lambda/(p chi))/r
    m = market(model, "3 - r")
    p = solve(m, "per_token", per_token=1.5)
    r = np.array([1.0, 1.3, 1.8, 2.0])
    q = 3 - r
    cap = np.maximum(np.log(q * LAMBDA / (1.5 * CHI)), 0) / r
    choice = p.menu.choose(r)
    assert np.allclose(choice.cap, cap, rtol=1e-12)
    assert np.allclose(choice.expected_utility, q * utility(r, cap), rtol=1e-12)
    revenue = integrate.quad(lambda x: 1.5 * CHI * busy(math.log((3 - x) * 4 / 1.5) / x), 1, 2)[0]
    assert p.revenue == pytest.approx(revenue, abs=1e-11)


@pytest.mark.parametrize("kind", ["constant_delay", "diffusion"])
def test_section_2_2_families_are_unavailable_with_q_or_c(model, kind):
    for m, what in [(market(model, "3 - r"), "heterogeneous valuations"),
                    (market(model, cost=0.1), "a token cost")]:  # fmt: skip
        solved, (skipped,) = solve_policies(m, [{"kind": kind, "name": kind}])
        assert solved == () and skipped.kind == kind
        assert skipped.reason.startswith(f"not derived for {what}")


# -- a cost per token ----------------------------------------------------------------------------
def test_optimal_menu_profit_with_a_cost(model):
    # Issue 10 / erratum 12: c = 0.05 gives profit 0.1941792071 (gross revenue 0.2016084993,
    # token cost 0.0074292922).
    p = solve(market(model, cost=0.05), "optimal_token_menu")
    d = p.to_dict()
    assert d["revenue"] == pytest.approx(0.2016084993, abs=2e-10)
    assert d["cost"] == pytest.approx(0.0074292922, abs=2e-10)
    assert d["profit"] == pytest.approx(0.1941792071, abs=2e-10)
    assert p.welfare == pytest.approx(p.profit + p.user_surplus, abs=1e-14)


def test_token_cost_is_c_times_tokens_for_every_policy(model):
    m = market(model, cost=0.05)
    specs = [s for s in default_policies() if s["kind"] in ("flat", "per_token", "tiers")][:3]
    solved, _ = solve_policies(m, specs)
    for p in solved:
        assert p.token_cost == pytest.approx(0.05 * p.tokens_per_user, rel=1e-14), p.name
        assert p.welfare == pytest.approx(p.profit + p.user_surplus, abs=1e-14), p.name
        by = p.by_type(np.linspace(1, 2, 5))
        assert np.all(by["utility"] >= by["payment"] - 1e-12)


def test_flat_price_maximises_profit(model):
    # Buyers r <= lambda/P - lambda; profit (P - c chi E[tau]) G(buyers); brute force over P.
    c = 1.0
    p = solve(market(model, cost=c), "flat")
    prices = np.linspace(0.0, LAMBDA / (LAMBDA + 1), 200_001)
    edge = np.clip(LAMBDA / np.maximum(prices, 1e-300) - LAMBDA, 1.0, 2.0)
    brute = np.max((prices - c * CHI / LAMBDA) * (edge - 1.0))
    assert p.profit == pytest.approx(brute, abs=1e-9) and p.profit >= brute - 1e-12


def test_per_token_price_maximises_profit(model):
    # T(r, p) = ln(lambda/(p chi))/r; profit int_1^2 (p - c) chi E[min(tau, T)] dr by quad.
    c = 0.2

    def profit(p):
        t = lambda r: max(math.log(LAMBDA / (p * CHI)), 0.0) / r  # noqa: E731
        return integrate.quad(lambda r: (p - c) * CHI * busy(t(r)), 1.0, 2.0, epsabs=1e-14)[0]

    grid = np.linspace(c, LAMBDA / CHI, 801)
    values = np.array([profit(x) for x in grid])
    k = int(np.argmax(values))
    fine = np.linspace(grid[max(k - 1, 0)], grid[k + 1], 201)
    brute = max(profit(x) for x in fine)
    sol = solve(market(model, cost=c), "per_token")
    assert sol.profit == pytest.approx(brute, abs=1e-9) and sol.profit >= brute - 1e-12
    assert sol.profit == pytest.approx(profit(sol.parameters["per_token"]), abs=1e-11)


def test_one_tier_maximises_profit(model):
    # One cap T at price U(T|b) to the buyers r <= b: profit (b - 1)(U(T|b) - c chi E[min(tau, T)])
    # on a grid of (T, b), then refined around the best point.
    c = 0.05

    def profit(cap, b):
        return (b - 1) * (utility(b, cap) - c * CHI * busy(cap))

    caps, bs = np.meshgrid(np.linspace(0.5, 6, 551), np.linspace(1, 2, 501), indexing="ij")
    v = profit(caps, bs)
    i, j = np.unravel_index(np.argmax(v), v.shape)
    near = np.linspace(bs[i, j] - 0.002, min(bs[i, j] + 0.002, 2.0), 401)  # b within [1, 2]
    caps, bs = np.meshgrid(np.linspace(caps[i, j] - 0.01, caps[i, j] + 0.01, 401), near,
                           indexing="ij")  # fmt: skip
    brute = float(np.max(profit(caps, bs)))
    sol = solve(market(model, cost=c), "tiers", count=1)
    assert sol.profit == pytest.approx(brute, abs=1e-8) and sol.profit >= brute - 1e-12
    assert sol.parameters["caps"][0] != "unlimited"  # a cost makes the top cap finite


# -- what must hold -------------------------------------------------------------------------------
def test_checks_bound_cap_menus_by_the_optimal_profit(model):
    m = market(model, "1 + 0.5*(r - 1)", cost=0.05)
    solved, _ = solve_policies(m, [{"kind": "optimal_token_menu", "name": "opt"},
                                   {"kind": "flat", "name": "flat"}])  # fmt: skip
    opt, flat = solved
    assert problems(solved, m.first_best_welfare(), opt, plain=m.plain) == []
    assert flat.profit <= opt.profit <= opt.welfare <= m.first_best_welfare()
    (found,) = problems([flat], m.first_best_welfare(), flat.profit - 1e-3, plain=False)
    assert found[0] is flat and "exceeds the optimal token menu" in found[1][0]
    ((_, (line,)),) = problems([flat], flat.welfare - 1e-3, opt, plain=False)
    assert line.startswith("profit") and line.endswith("fails")


@pytest.mark.slow
def test_a_cost_with_mild_valuations_deploys_the_best_ic_ir_menu_found(model):
    # q = 1 + (r - 1)/2 with c = 0.5 breaks IR (tests/test_costs.py); the LP's lotteries cannot
    # be sold as plans, so the deployed menu is the best of its finite stand-ins, the flat
    # price and the two-part tariff, none above the lottery menu (up to the LP's grid).
    p = solve(market(model, "1 + 0.5*(r - 1)", cost=0.5), "optimal_token_menu")
    inc = p.incentives
    assert inc["broken"] == ["individual rationality"]
    assert p.profit == pytest.approx(max(inc["candidates"].values()), abs=1e-15)
    assert p.profit <= inc["lottery_menu"]["profit"] * (1 + 1e-4)
    assert p.profit > inc["threshold_menu"]["profit"] - 0.01  # close to what IR cost it
    assert p.profit == pytest.approx(p.revenue - 0.5 * p.tokens_per_user, abs=1e-14)
