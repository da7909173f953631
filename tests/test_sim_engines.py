"""The two engines agree user by user, and the event logic keeps its invariants.

Each market is run by the agent-based engine and by the vectorised engine on the same draws;
every per-user field must agree, discrete fields exactly and times, tokens and utilities to
floating-point tolerance, and so must the time series. The agent-based engine measures a
conversation on the SimPy clock, as a difference of two clock readings, so its time carries an
absolute rounding error of a few units in the last place of the clock (CLOCK_ULPS).
"""

import math

import numpy as np
import pytest
from sim_helpers import PAPER_EXAMPLE, speed_menu

from market.api import solve
from market.pricing.plans import FiniteMenu, Plan
from market.scenario import build_urgency, load_scenario
from market.sim.abm import MarketModel
from market.sim.draws import make_draws
from market.sim.offer import prepare
from market.sim.vectorized import outcomes_of, timeseries_of
from market.theory.greedy import GreedyModel
from market.theory.information import make_entropy
from market.theory.urgency import Uniform

USERS = 3000
SEED = 2025
#: Tolerance of a clock difference, in units in the last place of the latest clock reading.
CLOCK_ULPS = 8
EXACT = ("plan", "learned", "learned_state", "price", "speed", "per_token", "cap", "state")
CLOSE = ("time", "tokens", "utility", "payment", "surplus")


@pytest.fixture(scope="module")
def paper():
    scenario = load_scenario(PAPER_EXAMPLE)
    return scenario, solve(scenario, ["optimal_token_menu", "constant_delay", "diffusion"]).policies


def shannon_market():
    """A transient greedy model: Shannon entropy, three states of unequal prior, so the
    active set grows from {0} to {0, 1} to {0, 1, 2}; a three-tier menu."""
    prior = [0.5, 0.3, 0.2]
    model = GreedyModel(make_entropy("shannon", 3, None), prior, 0.4)
    assert len(model.phases) == 3
    menu = FiniteMenu(
        model,
        (Plan("small", 1.0, 0.08), Plan("medium", 3.0, 0.15), Plan("unlimited", math.inf, 0.25)),
    )
    draws = make_draws(SEED, USERS, 2.0, Uniform(0.1, 10.0), prior)
    return draws, menu


def run_both(draws, menu, interval):
    offer = prepare(draws, menu)
    market = MarketModel(draws, menu, interval, offer=offer)
    market.run_model()
    return offer, market, outcomes_of(offer)


def clock_tolerance(outcomes) -> float:
    return CLOCK_ULPS * float(np.spacing(outcomes.end.max()))


def assert_agree(market, vec, interval):
    abm = market.outcomes()
    for name in EXACT:
        np.testing.assert_array_equal(getattr(abm, name), getattr(vec, name), err_msg=name)
    atol = clock_tolerance(vec)
    for name in CLOSE:
        np.testing.assert_allclose(
            getattr(abm, name), getattr(vec, name), rtol=1e-12, atol=atol, err_msg=name
        )
    a, b = market.timeseries(), timeseries_of(vec, interval)
    for name in a.FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, err_msg=name)


def test_engines_agree_on_every_policy_of_the_paper_example(paper):
    scenario, policies = paper
    draws = make_draws(SEED, USERS, 1.0, build_urgency(scenario), scenario.prior)
    assert len(policies) >= 2
    for policy in policies:
        _, market, vec = run_both(draws, policy.menu, interval=50.0)
        assert_agree(market, vec, 50.0)


def test_engines_agree_on_a_transient_model():
    draws, menu = shannon_market()
    _, market, vec = run_both(draws, menu, interval=25.0)
    assert set(np.unique(vec.plan)) >= {-1, 0, 1, 2}  # every plan and leaving occur
    assert_agree(market, vec, 25.0)


def test_engines_agree_with_speeds_and_per_token_prices(paper):
    scenario, policies = paper
    draws = make_draws(SEED, USERS, 1.0, build_urgency(scenario), scenario.prior)
    menu = speed_menu(policies[0].menu.model)
    offer, market, vec = run_both(draws, menu, interval=50.0)
    assert set(np.unique(vec.plan)) == {0, 1, 2}
    assert_agree(market, vec, 50.0)
    out = market.outcomes()
    slow, metered = out.plan == 0, out.plan == 1
    # Half speed: half the token rate, and the breakthrough comes twice as late.
    np.testing.assert_allclose(out.tokens[slow], 0.5 * out.token_rate * out.time[slow])
    full = paper[1][0].menu.model.sample_time(draws.uniform, draws.state)
    np.testing.assert_allclose(offer.breakthrough[slow], 2 * full[slow])
    np.testing.assert_allclose(out.payment[metered], 0.05 + 0.4 * out.tokens[metered])


@pytest.mark.parametrize("market_of", ["paper", "shannon"])
def test_invariants(market_of, paper):
    if market_of == "paper":
        scenario, policies = paper
        draws = make_draws(SEED, USERS, 1.0, build_urgency(scenario), scenario.prior)
        menu = policies[0].menu
    else:
        draws, menu = shannon_market()
    offer, market, _ = run_both(draws, menu, interval=50.0)
    out = market.outcomes()
    # Learned states are always the true state.
    np.testing.assert_array_equal(out.learned_state[out.learned], out.state[out.learned])
    assert np.all(out.learned_state[~out.learned] == -1)
    # An unlimited user never stops before its breakthrough: it always learns, at tau.
    unlimited = out.bought & np.isinf(out.cap)
    assert np.all(out.learned[unlimited])
    atol = clock_tolerance(out)
    np.testing.assert_allclose(out.time[unlimited], offer.breakthrough[unlimited], atol=atol)
    # A capped user's tokens never exceed its cap; it stops before tau only at the cap.
    capped = out.bought & np.isfinite(out.cap)
    assert np.all(out.tokens[capped] <= out.token_rate * out.cap[capped])
    stopped = capped & ~out.learned
    np.testing.assert_array_equal(out.time[stopped], out.cap[stopped])
    assert np.all(offer.breakthrough[stopped] > out.cap[stopped])
    # Non-buyers pay nothing and get nothing.
    left = ~out.bought
    assert not np.any(out.payment[left]) and not np.any(out.time[left])
    assert not np.any(out.utility[left])
    # Utility is e^{-r tau} exactly when learned.
    np.testing.assert_allclose(
        out.utility[out.learned], np.exp(-out.urgency * out.time)[out.learned], rtol=1e-14
    )
