"""Realised outcomes agree with the solver's expectations and with the stopping law.

The paper's example with 200,000 users (vectorised engine; seed 20251012, the scenario's).
Means: revenue, utility (welfare) and surplus per user within 4 standard errors of the
expected values (a false alarm has probability about 6e-5 per check), plus ROUNDING for a
quantity that does not vary (a posted price paid by everyone has a standard error of 0).
Distributions: Kolmogorov-Smirnov at level 0.001.
"""

import numpy as np
import pytest
from scipy import stats
from sim_helpers import PAPER_EXAMPLE, RATE, paper_greedy, paper_optimal_menu, speed_menu

from market.api import solve
from market.pricing.plans import FiniteMenu, Plan, plan_values
from market.scenario import build_urgency, load_scenario
from market.sim.draws import make_draws
from market.sim.offer import prepare
from market.sim.stats import summarize
from market.sim.vectorized import outcomes_of

USERS = 200_000
SEED = 20251012
LEVEL = 1e-3
Z = 4.0
ROUNDING = 1e-12

#: Optimal revenue of the example, 0.2(1 - e^{-2.5}) + 0.5 e^{-1} E1(1.5) (docs/paper-notes.md,
#: erratum 4).
OPTIMAL_REVENUE = 0.2019806


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(PAPER_EXAMPLE)


@pytest.fixture(scope="module")
def draws(scenario):
    return make_draws(SEED, USERS, 1.0, build_urgency(scenario), scenario.prior)


@pytest.fixture(scope="module")
def policies(scenario):
    return solve(scenario, ["optimal_token_menu", "constant_delay", "diffusion"]).policies


#: Drawing diffusion exit times is slow (about 100 microseconds each, market.families): the
#: full-size check of the diffusion menu is marked slow; a 20,000-user one always runs.
SLOW_KINDS = ("diffusion",)
FAST_USERS = 20_000


@pytest.fixture(scope="module")
def outcomes(draws, policies):
    """Outcomes of each policy but the slow ones on the same 200,000 users (computed once)."""
    return {
        p.name: outcomes_of(prepare(draws, p.menu)) for p in policies if p.kind not in SLOW_KINDS
    }


def assert_means_agree(policy, out):
    real = summarize(out)
    for field in ("revenue", "user_surplus", "welfare"):
        est, expected = getattr(real, field), getattr(policy, field)
        assert abs(est.mean - expected) < Z * est.se + ROUNDING, (policy.name, field, est)


def test_means_agree_with_the_solver(policies, outcomes):
    assert len(outcomes) >= 2
    for policy in policies:
        if policy.name in outcomes:
            assert_means_agree(policy, outcomes[policy.name])


@pytest.mark.parametrize(
    "users", [FAST_USERS, pytest.param(USERS, marks=pytest.mark.slow, id="200000")]
)
def test_diffusion_menu(scenario, policies, users):
    """Means against the solver, and (no cap) exit times against 1 - S(t) directly."""
    draws = make_draws(SEED, users, 1.0, build_urgency(scenario), scenario.prior)
    for policy in policies:
        if policy.kind in SLOW_KINDS:
            out = outcomes_of(prepare(draws, policy.menu))
            assert_means_agree(policy, out)
            assert np.all(np.isinf(out.cap[out.bought])) and out.learned[out.bought].all()
            model = policy.menu.model
            times = out.time[out.bought]
            assert stats.kstest(times, lambda t, m=model: 1 - m.survival(t)).pvalue > LEVEL


def test_optimal_revenue_agrees_with_the_closed_form(draws):
    """Independent of the solver: Section 3.1's menu in closed form."""
    real = summarize(outcomes_of(prepare(draws, paper_optimal_menu(paper_greedy()))))
    assert abs(real.revenue.mean - OPTIMAL_REVENUE) < Z * real.revenue.se


def test_uncapped_times_are_exponential(draws):
    """No cap, price 0: everyone converses until the breakthrough, tau ~ Exp(1/2)."""
    menu = FiniteMenu(paper_greedy(), (Plan("free", np.inf, 0.0),))
    out = outcomes_of(prepare(draws, menu))
    assert out.learned.all()
    assert stats.kstest(out.time, stats.expon(scale=1 / RATE).cdf).pvalue > LEVEL
    # ... and independent of the true state: the hazard given theta is 1/2 as well.
    for state in (0, 1):
        times = out.time[out.state == state]
        assert stats.kstest(times, stats.expon(scale=1 / RATE).cdf).pvalue > LEVEL


def test_capped_times_follow_the_stopping_law(policies, outcomes):
    """Conversation times min(tau, T) of the optimal menu against 1 - S(min(t, T)).

    Caps differ between users, so each time is mapped through its own law: the randomised
    probability integral transform U = F(X-) + V (F(X) - F(X-)) with V uniform (seed 1) is
    uniform on (0, 1) exactly when X follows F. Here F(t) = 1 - S(t) below the cap and 1 at
    it (the atom P(tau > T) = S(T) at the cap)."""
    policy = next(p for p in policies if p.kind == "optimal_token_menu")
    model = policy.menu.model
    out = outcomes[policy.name]
    x, cap = out.time[out.bought], out.cap[out.bought]
    v = np.random.default_rng(1).random(x.size)
    at_cap = x >= cap
    below = 1.0 - model.survival(x)
    at_atom = 1.0 - model.survival(cap) + v * model.survival(cap)
    u = np.where(at_cap, at_atom, below)
    assert stats.kstest(u, stats.uniform.cdf).pvalue > LEVEL
    # The share stopped by the cap is E[S(T(r))].
    share = model.survival(cap).mean()
    assert abs(at_cap.mean() - share) < Z * np.sqrt(share * (1 - share) / x.size)


def test_speeds_and_per_token_prices_agree_with_the_menu(draws):
    """Plans at half speed and priced per token: realised utility and payment of each user
    against what market.menu.plan_values expects for its type."""
    model = paper_greedy()
    menu = speed_menu(model)
    out = outcomes_of(prepare(draws, menu))
    util, pay = plan_values(model, draws.urgency, menu.plans)
    rows = np.arange(out.users)
    for k in range(3):
        mine = out.plan == k
        assert mine.sum() > 1000
        for realized, expected in ((out.utility, util), (out.payment, pay)):
            x, e = realized[mine], expected[rows[mine], k]
            assert abs(x.mean() - e.mean()) < Z * x.std(ddof=1) / np.sqrt(x.size) + ROUNDING


def test_learned_states_are_the_true_states(outcomes):
    assert outcomes
    for out in outcomes.values():
        np.testing.assert_array_equal(out.learned_state[out.learned], out.state[out.learned])
