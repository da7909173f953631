"""Pricing policies (market.pricing): closed forms on the paper's example, independent
optimisations, brute-force choices, the theory's inequalities and the validation messages.

The paper's example (Section 3.1): quadratic H, prior (1/2, 1/2), chi = 1/8, r ~ U[1, 2];
tau ~ Exp(1/2), so U(T|r) = (1 - e^{-(r+1/2)T}) / (2r + 1), E[min(tau, T)] = 2(1 - e^{-T/2}).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import exp1

from market.pricing import Market, default_policies, solve_policies, solve_policy
from market.pricing.metered import MeteredMenu, quitting_time
from market.pricing.regions import choice_regions
from market.scenario.policies import PolicyError, parse_policy
from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic, Shannon
from market.theory.urgency import Uniform

CHI = 0.125
GRID = np.linspace(1.0, 2.0, 201)
# docs/paper-notes.md erratum 4.
OPTIMAL = 0.2 * (1 - np.exp(-2.5)) + 0.5 * np.exp(-1) * exp1(1.5)


def _quad(f, a=1.0, b=2.0):
    return integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0]


def _u(r, cap):  # U(T|r) for tau ~ Exp(1/2)
    return (1 - np.exp(-(r + 0.5) * cap)) / (2 * r + 1)


class Setting:
    def __init__(self, entropy, prior, chi=CHI):
        self.entropy, self.prior, self.chi = entropy, prior, chi
        self.model = GreedyModel(entropy, prior, chi)
        self.urgency = Uniform(1.0, 2.0)

    @property
    def market(self):
        return Market(self.model, self.urgency, GRID, self.entropy, self.prior)

    def solve(self, spec, index=None):
        parsed = parse_policy(spec, index=index)
        return solve_policy(self.market, parsed.kind, parsed.name, parsed.values)


@pytest.fixture(scope="module")
def paper():
    return Setting(Quadratic(2), [0.5, 0.5])


@pytest.fixture(scope="module")
def paper_tiers(paper):
    return {k: paper.solve({"kind": "tiers", "count": k}) for k in (1, 2, 3, 4)}


@pytest.fixture(scope="module")
def shannon():
    # Three states, a transient phase (switch times 1.47 and 3.86) before the stationary one.
    return Setting(Shannon(3), [0.5, 0.3, 0.2])


# -- flat ----------------------------------------------------------------------------------
def test_flat_paper_closed_form(paper):
    # Revenue G(r*) U(inf|r*) = (r* - 1)/(2r* + 1), whose derivative 3/(2r* + 1)^2 > 0: the
    # optimum is the corner r* = 2 (sell to everyone) at price U(inf|2) = 1/5, revenue 1/5.
    # Welfare = int_1^2 dr/(2r + 1) = log(5/3)/2; tokens chi E[tau] = 2/8 = 1/4.
    sol = paper.solve({"kind": "flat"})
    assert sol.parameters["price"] == pytest.approx(0.2, rel=1e-12)
    assert sol.revenue == pytest.approx(0.2, rel=1e-12)
    assert sol.welfare == pytest.approx(math.log(5 / 3) / 2, rel=1e-12)
    assert sol.user_surplus == pytest.approx(math.log(5 / 3) / 2 - 0.2, rel=1e-10)
    assert sol.participation == pytest.approx(1.0, abs=1e-12)
    assert sol.tokens_per_user == pytest.approx(0.25, rel=1e-12)


def test_flat_fixed_price(paper):
    # Price 1/4: buyers 1/(2r + 1) >= 1/4, i.e. r <= 3/2; revenue 1/8, welfare log(4/3)/2.
    sol = paper.solve({"kind": "flat", "price": 0.25})
    assert sol.revenue == pytest.approx(0.125, rel=1e-12)
    assert sol.participation == pytest.approx(0.5, rel=1e-12)
    assert sol.welfare == pytest.approx(math.log(4 / 3) / 2, rel=1e-12)
    assert sol.tokens_per_user == pytest.approx(0.125, rel=1e-12)
    assert sol.menu.choose(np.array([1.49, 1.51])).buys.tolist() == [True, False]


# -- per token -----------------------------------------------------------------------------
def _per_token_closed(q):
    # Hazard 1/2: e^{-rT}/2 = p chi gives T = log(1/q)/r with q = 2 p chi, and
    # p chi E[min(tau, T)] = q (1 - e^{-T/2}) = q (1 - q^{1/(2r)}).
    revenue = _quad(lambda r: q * (1 - q ** (1 / (2 * r))))
    welfare = _quad(lambda r: (1 - q ** (1 + 1 / (2 * r))) / (2 * r + 1))
    tokens = _quad(lambda r: 2 * CHI * (1 - q ** (1 / (2 * r))))
    return revenue, welfare, tokens


def test_per_token_fixed_price_closed_form(paper):
    p = 1.0
    q = 2 * p * CHI
    sol = paper.solve({"kind": "per_token", "per_token": p})
    revenue, welfare, tokens = _per_token_closed(q)
    assert sol.revenue == pytest.approx(revenue, rel=1e-10)
    assert sol.welfare == pytest.approx(welfare, rel=1e-10)
    assert sol.tokens_per_user == pytest.approx(tokens, rel=1e-10)
    assert sol.participation == pytest.approx(1.0, abs=1e-12)
    r = np.array([1.0, 1.5, 2.0])
    assert np.allclose(quitting_time(paper.model, r, p), np.log(1 / q) / r, rtol=1e-13)
    choice = sol.menu.choose(r)
    assert isinstance(sol.menu, MeteredMenu)
    assert np.allclose(choice.cap, np.log(1 / q) / r, rtol=1e-13)
    assert np.all(choice.price == 0) and np.all(choice.per_token == p) and choice.speed is None


def test_per_token_optimum(paper):
    # Independent: maximise the closed-form revenue over q = 2 p chi by bounded Brent.
    res = optimize.minimize_scalar(
        lambda q: -_per_token_closed(q)[0], bounds=(1e-6, 1), method="bounded",
        options={"xatol": 1e-12},
    )  # fmt: skip
    sol = paper.solve({"kind": "per_token"})
    assert sol.revenue == pytest.approx(-res.fun, rel=1e-9)
    assert sol.parameters["per_token"] == pytest.approx(res.x / (2 * CHI), rel=1e-5)


def test_quitting_time_transient_model(shannon):
    # The planned stop maximises V(T) = U(T|r) - p chi E[min(tau, T)]: compare with a dense
    # grid of T (brute force) for a price whose stop falls in a transient phase.
    model, p = shannon.model, 0.9
    for r in (1.0, 1.7):
        t_star = float(quitting_time(model, np.array([r]), p)[0])
        assert 0 < t_star < model.switch_times[-1]
        t = np.linspace(0, 8, 8001)
        v = model.laplace(r, t) - p * CHI * model.expected_truncated_time(t)
        assert t_star == pytest.approx(t[np.argmax(v)], abs=2e-3)
        h = model.density(t_star) / model.survival(t_star)
        assert np.exp(-r * t_star) * h == pytest.approx(p * CHI, rel=1e-11)


# -- two-part ------------------------------------------------------------------------------
def _two_part_closed(rh, q):
    # W(r) = U(T|r) - q(1 - q^{1/(2r)}); buyers r <= rh pay F = W(rh) (IR binds at rh).
    fee = (1 - q ** (1 + 1 / (2 * rh))) / (2 * rh + 1) - q * (1 - q ** (1 / (2 * rh)))
    return fee, fee * (rh - 1) + _quad(lambda r: q * (1 - q ** (1 / (2 * r))), 1.0, rh)


def test_two_part_optimum(paper):
    # Independent: Nelder-Mead on the closed form over (rh, q) from several starts.
    best = min(
        (
            optimize.minimize(
                lambda v: -_two_part_closed(*v)[1], x0, method="Nelder-Mead",
                bounds=[(1.0, 2.0), (1e-9, 1.0)],
                options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 5000},
            )
            for x0 in ([1.5, 0.02], [2.0, 0.1], [1.8, 0.3])
        ),
        key=lambda res: res.fun,
    )  # fmt: skip
    sol = paper.solve({"kind": "two_part"})
    assert sol.revenue == pytest.approx(-best.fun, rel=1e-9)
    fee, _ = _two_part_closed(*best.x)
    assert sol.parameters["fee"] == pytest.approx(fee, rel=1e-5)
    assert sol.parameters["per_token"] == pytest.approx(best.x[1] / (2 * CHI), rel=1e-5)
    # A two-part tariff contains the flat price (p = 0) and pay-as-you-go (F = 0).
    assert sol.revenue >= paper.solve({"kind": "flat"}).revenue
    assert sol.revenue >= paper.solve({"kind": "per_token"}).revenue


def test_two_part_fixed_closed_form(paper):
    # F = 0.13: W(2) = 0.13446 > F at p = 0.5 (q = 1/8), so everyone buys; F = 0.3 > W(1):
    # nobody. In between, F = 0.2: rh solves W(rh) = F.
    q = 0.125
    for fee in (0.13, 0.2, 0.3):
        sol = paper.solve({"kind": "two_part", "fee": fee, "per_token": 0.5})
        gap = [_two_part_closed(r, q)[0] - fee for r in (1.0, 2.0)]
        rh = 2.0 if gap[1] >= 0 else 1.0 if gap[0] < 0 else optimize.brentq(
            lambda r, fee=fee: _two_part_closed(r, q)[0] - fee, 1.0, 2.0, xtol=1e-15)  # fmt: skip
        expected = fee * (rh - 1) + _quad(lambda r: q * (1 - q ** (1 / (2 * r))), 1.0, rh)
        assert sol.revenue == pytest.approx(expected, rel=1e-10, abs=1e-15)
        assert sol.participation == pytest.approx(rh - 1, abs=1e-12)


# -- tiers ---------------------------------------------------------------------------------
def test_tiers_one_equals_flat(paper, paper_tiers):
    flat = paper.solve({"kind": "flat"})
    assert paper_tiers[1].revenue == pytest.approx(flat.revenue, abs=1e-8)
    assert paper_tiers[1].parameters["caps"] == ["unlimited"]


def test_tiers_rise_with_count_towards_optimal(paper, paper_tiers):
    optimal = paper.solve({"kind": "optimal_token_menu"}).revenue
    assert optimal == pytest.approx(OPTIMAL, rel=1e-12)
    revenues = [paper_tiers[k].revenue for k in (1, 2, 3, 4)]
    assert all(b >= a - 1e-12 for a, b in zip(revenues, revenues[1:], strict=False))
    assert revenues[-1] > revenues[0] + 1e-3
    assert all(r <= optimal + 1e-9 for r in revenues)
    for sol in paper_tiers.values():
        assert "WARNING" not in sol.notes  # users' choices = relaxed revenue


def test_two_tiers_independent_optimum(paper, paper_tiers):
    # Independent: the ladder revenue with closed forms, an unlimited top plan and a cap T:
    # R = G(b1)[U(inf|b1) - U(T|b1)] + G(b2) U(T|b2), Nelder-Mead over (b1, b2, T).
    def revenue(v):
        b1, b2, t = np.sort(v[:2]).tolist() + [v[2]]
        return (b1 - 1) * (1 / (2 * b1 + 1) - _u(b1, t)) + (b2 - 1) * _u(b2, t)

    res = optimize.minimize(
        lambda v: -revenue(v), [1.5, 2.0, 1.0], method="Nelder-Mead",
        bounds=[(1, 2), (1, 2), (1e-6, 50)],
        options={"xatol": 1e-12, "fatol": 1e-16, "maxiter": 20000},
    )  # fmt: skip
    sol = paper_tiers[2]
    assert sol.revenue == pytest.approx(-res.fun, rel=1e-10)
    assert sol.parameters["caps"][1] == pytest.approx(CHI * res.x[2], rel=1e-5)


def test_tiers_parameters_round_trip(paper, paper_tiers):
    solved = paper_tiers[3]
    again = paper.solve({"kind": "tiers", **solved.parameters})
    assert again.revenue == pytest.approx(solved.revenue, rel=1e-12)
    caps_only = {"kind": "tiers", "caps": solved.parameters["caps"]}
    assert paper.solve(caps_only).revenue == pytest.approx(solved.revenue, rel=1e-10)


def test_speed_tiers_do_not_beat_flat(paper):
    # Pointwise bound: the virtual value of speed s for type r is
    # g U + G dU/dr = s(s + 2)/(s + 2r)^2 (U = s/(s + 2r)), increasing in s, so no menu of
    # speeds beats selling s = 1 to everyone: revenue U(1|2) = 1/5.
    sol = paper.solve({"kind": "speed_tiers", "count": 2})
    assert sol.revenue == pytest.approx(0.2, abs=1e-9)
    assert sol.parameters["speeds"][0] == 1.0


# -- custom --------------------------------------------------------------------------------
CUSTOM = {
    "kind": "custom",
    "name": "three plans",
    "plans": [
        {"name": "basic", "token_cap": 0.1, "price": 0.185},
        {"name": "plus", "token_cap": 0.25, "price": 0.23},
        {"name": "pro", "token_cap": "unlimited", "price": 0.24},
    ],
}


def test_custom_regions_against_brute_force(paper):
    sol = paper.solve(CUSTOM)
    market = Market(paper.model, paper.urgency, GRID)
    regions = choice_regions(sol.menu, market)
    assert [reg.plan for reg in regions] == [2, 1, 0, -1]
    # Brute force: 10^5 midpoint types, each choosing by FiniteMenu.choose.
    n = 100_000
    r = 1 + (np.arange(n) + 0.5) / n
    choice = sol.menu.choose(r)
    for reg in regions:
        share = np.mean(choice.plan == reg.plan)
        assert share == pytest.approx(reg.high - reg.low, abs=2.0 / n)
    assert sol.revenue == pytest.approx(np.mean(choice.price), abs=2e-5)
    welfare = np.mean(choice.expected_utility)
    assert sol.welfare == pytest.approx(welfare, abs=1e-5)
    assert sol.participation == pytest.approx(np.mean(choice.buys), abs=2.0 / n)
    # Each interior boundary is an exact indifference point (closed forms).
    caps = [0.1 / CHI, 0.25 / CHI, np.inf]
    prices = [0.185, 0.23, 0.24]
    for left, right in zip(regions[:-1], regions[1:], strict=True):
        x = left.high
        s = [_u(x, c) - p for c, p in zip(caps, prices, strict=True)] + [0.0]
        assert s[left.plan] == pytest.approx(s[right.plan], abs=1e-13)


# -- every policy --------------------------------------------------------------------------
def _check_all(setting, extra=()):
    specs = [parse_policy(s, i).to_spec() for i, s in enumerate(default_policies() + list(extra))]
    solved, skipped = solve_policies(setting.market, specs)
    assert [u.kind for u in skipped] == ([] if len(setting.prior) == 2 else ["diffusion"])
    optimal = solved[0]
    assert optimal.kind == "optimal_token_menu"
    for sol in solved:
        e = sol
        assert e.revenue <= optimal.revenue + 1e-9, sol.name
        assert e.welfare == pytest.approx(e.revenue + e.user_surplus, rel=1e-12)
        assert e.user_surplus >= -1e-12
        assert 0 <= sol.participation <= 1 + 1e-12
        assert sol.tokens_per_user >= 0
        assert len(e.rows) == GRID.size
    return {sol.kind + str(sol.parameters.get("count", "")): sol for sol in solved}


def test_every_policy_below_optimal_paper(paper):
    solved = _check_all(paper)
    # Section 2.2 (docs/paper-notes.md erratum 4): constant delay 1/2 e^{-3}, half the types buy,
    # each
    # served chi d_min = 1/4 tokens; diffusion sech(2 sqrt 2), everyone buys.
    assert solved["constant_delay"].revenue == pytest.approx(0.5 * math.exp(-3), rel=1e-10)
    assert solved["constant_delay"].participation == pytest.approx(0.5, rel=1e-9)
    assert solved["constant_delay"].tokens_per_user == pytest.approx(0.125, rel=1e-9)
    assert solved["diffusion"].revenue == pytest.approx(1 / math.cosh(2 * math.sqrt(2)), rel=1e-9)
    assert solved["diffusion"].participation == pytest.approx(1.0, rel=1e-9)
    # Optimal menu tokens: int_1^2 chi 2 (1 - e^{-T/2}) dr with T = 1/(r - 1).
    tokens = _quad(lambda r: 2 * CHI * (1 - np.exp(-0.5 / (r - 1))) if r > 1 else 2 * CHI)
    assert solved["optimal_token_menu"].tokens_per_user == pytest.approx(tokens, rel=1e-10)


def test_every_policy_below_optimal_shannon(shannon):
    solved = _check_all(shannon, [{"kind": "tiers", "count": 1}, {"kind": "flat"}])
    assert "diffusion" not in solved
    assert solved["tiers1"].revenue == pytest.approx(solved["flat"].revenue, abs=1e-8)
    assert solved["tiers3"].revenue >= solved["tiers2"].revenue - 1e-12
    assert solved["tiers2"].revenue >= solved["tiers1"].revenue - 1e-12
    assert solved["two_part"].revenue >= solved["flat"].revenue - 1e-12


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "tiers", "name": "three tiers", "count": 0},
         r"^policies\[2\] \(tiers 'three tiers'\): count = 0: expected an integer from 1 to 10$"),
        ({"kind": "tiers", "count": 2.5}, r"policies\[2\] \(tiers\): count = 2.5: expected an "
         r"integer from 1 to 10"),
        ({"kind": "tiers", "count": 11}, r"count = 11: expected an integer from 1 to 10"),
        ({"kind": "flat", "name": "f", "price": -1},
         r"^policies\[2\] \(flat 'f'\): price = -1: expected a price >= 0$"),
        ({"kind": "tiers", "caps": [1, -0.5]}, r"caps\[1\] = -0.5: expected a token cap >= 0"),
        ({"kind": "speed_tiers", "speeds": [1.0, 1.5]},
         r"speeds\[1\] = 1.5: expected a speed in \(0, 1\]"),
        ({"kind": "speed_tiers", "speeds": [0, 1]}, r"speeds\[0\] = 0: expected a speed in"),
        ({"kind": "tiers", "count": 3, "prices": [0.1, 0.2]},
         r"prices = \[0.1, 0.2\]: expected 3 values \(count = 3\), got 2"),
        ({"kind": "custom", "plans": [{"name": "a", "price": 1}, {"name": "a", "price": 2}]},
         r"plans\[1\].name = 'a': expected a name no other plan has"),
        ({"kind": "custom", "plans": [{"name": "a", "price": 1, "speed": 1}]},
         r"plans\[0\].speed = 1: unknown key"),
        ({"kind": "auction", "name": "x"},
         r"^policies\[2\] \(auction 'x'\): kind = 'auction': expected one of optimal_token_menu"),
        ({"kind": "flat", "prise": 0.2},
         r"^policies\[2\] \(flat\): prise = 0.2: unknown parameter \(flat takes price\)$"),
        ({"kind": "two_part", "fee": True}, r"fee = True: expected a number"),
        ({"kind": "tiers"}, r"count = None: expected an integer from 1 to 10 \(it is missing\)"),
    ],
)  # fmt: skip
def test_validation_messages(paper, spec, message):
    with pytest.raises(PolicyError, match=message):
        paper.solve(spec, index=2)


def test_diffusion_does_not_apply_to_three_states(shannon):
    # Listed with the reason, never dropped silently.
    solved, skipped = solve_policies(shannon.market, [{"kind": "diffusion", "name": "d"}])
    assert solved == () and len(skipped) == 1
    assert skipped[0].name == "d" and "needs 2 states (the prior has 3)" in skipped[0].reason


def test_default_policies():
    kinds = [s["kind"] for s in default_policies()]
    assert kinds == [
        "optimal_token_menu", "flat", "per_token", "two_part", "tiers", "tiers",
        "speed_tiers", "constant_delay", "diffusion",
    ]  # fmt: skip
    assert [s.get("count") for s in default_policies() if s["kind"] == "tiers"] == [2, 3]
