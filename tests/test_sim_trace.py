"""Exact traces of the agent-based market's event logic, on hand-picked draws.

The model is the paper's example greedy model, P(tau > t | theta) = exp(-t/2), so a user's
breakthrough time is chosen through its uniform u = exp(-tau/2). The menu has two plans:

- "basic": time cap 2 (token cap 2/8 = 0.25), price 0.1;
- "pro": unlimited, price 0.2.

A type r values a cap T at U(T | r) = (1 - e^{-(r + 1/2) T}) / (2r + 1) (integral of
e^{-rt} e^{-t/2}/2 up to T), so

- r = 1/4: basic 0.5179 - 0.1 = 0.418 < pro 0.6667 - 0.2 = 0.467: buys pro;
- r = 1: basic 0.3167 - 0.1 = 0.217 > pro 0.3333 - 0.2 = 0.133: buys basic;
- r = 9: basic 0.0526 - 0.1 < 0 and pro 0.0526 - 0.2 < 0: leaves.
"""

import math

import numpy as np
import pytest
from sim_helpers import TOKEN_RATE, paper_greedy, uniform_for_time

from market.pricing.plans import FiniteMenu, Plan
from market.sim.abm import MarketModel, UserAgent
from market.sim.draws import Draws
from market.sim.vectorized import simulate_vectorized, timeseries_of

BASIC, PRO = 0.1, 0.2


@pytest.fixture(scope="module")
def model():
    return paper_greedy()


@pytest.fixture(scope="module")
def menu(model):
    return FiniteMenu(model, (Plan("basic", 2.0, BASIC), Plan("pro", math.inf, PRO)))


@pytest.fixture(scope="module")
def draws():
    # user:           0      1      2      3
    return Draws.given(
        arrival=[0.5, 1.0, 1.5, 2.0],
        urgency=[0.25, 1.0, 9.0, 1.0],
        state=[1, 0, 1, 1],
        uniform=uniform_for_time([3.0, 2.5, 1.0, 0.5]),
    )


def rounded(log):
    return [(round(t, 12), user, event) for t, user, event in log]


def test_event_log(draws, menu):
    market = MarketModel(draws, menu, interval=1.0, log=True)
    market.run_model()
    assert rounded(market.log) == [
        (0.5, 0, "arrive"),
        (0.5, 0, "buy"),  # pro: unlimited
        (1.0, 1, "arrive"),
        (1.0, 1, "buy"),  # basic: cap 2
        (1.5, 2, "arrive"),
        (1.5, 2, "leave"),  # nothing is worth its price
        (2.0, 3, "arrive"),
        (2.0, 3, "buy"),  # basic
        (2.5, 3, "breakthrough"),  # tau = 0.5 < cap 2
        (3.0, 1, "cap"),  # tau = 2.5 > cap 2: stops at 1 + 2
        (3.5, 0, "breakthrough"),  # tau = 3, no cap
    ]
    assert market.done and len(market.agents_by_type[UserAgent]) == 0


def test_outcomes_of_the_trace(draws, menu):
    market = MarketModel(draws, menu, interval=1.0)
    market.run_model()
    out = market.outcomes()
    assert out.plan.tolist() == [1, 0, -1, 0]
    assert out.learned.tolist() == [True, False, False, True]
    assert out.learned_state.tolist() == [1, -1, -1, 1]
    np.testing.assert_allclose(out.time, [3.0, 2.0, 0.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(out.tokens, TOKEN_RATE * np.array([3.0, 2.0, 0.0, 0.5]))
    np.testing.assert_allclose(out.utility, [math.exp(-0.75), 0.0, 0.0, math.exp(-0.5)])
    np.testing.assert_array_equal(out.payment, [PRO, BASIC, 0.0, BASIC])
    np.testing.assert_allclose(out.surplus, out.utility - out.payment)


def test_datacollector_records(draws, menu):
    """Samples at t = 0, 1, ..., 4 count the events strictly before t (so the arrival at
    exactly 1.0 and the cap at exactly 3.0 are counted one sample later)."""
    market = MarketModel(draws, menu, interval=1.0)
    market.run_model()
    ts = market.timeseries()
    chi = TOKEN_RATE
    np.testing.assert_allclose(ts.time, [0, 1, 2, 3, 4])
    assert ts.users_arrived.tolist() == [0, 1, 3, 4, 4]
    assert ts.conversations_open.tolist() == [0, 1, 2, 2, 0]
    # tokens: open users' elapsed time plus finished conversations, times chi
    np.testing.assert_allclose(ts.tokens_served, chi * np.array([0, 0.5, 2.5, 5.0, 5.5]))
    np.testing.assert_allclose(ts.revenue, [0, PRO, PRO + BASIC, PRO + 2 * BASIC, 0.4])
    u3, u0 = math.exp(-0.5), math.exp(-0.75)
    np.testing.assert_allclose(ts.utility, [0, 0, 0, u3, u3 + u0])
    # The Mesa DataCollector holds the same records, and Mesa's time mirrors the clock.
    frame = market.datacollector.get_model_vars_dataframe()
    np.testing.assert_allclose(frame["users_arrived"], ts.users_arrived)
    assert market.time == 4.0


def test_vectorized_engine_gives_the_same_trace(draws, menu):
    market = MarketModel(draws, menu, interval=1.0)
    market.run_model()
    vec = simulate_vectorized(draws, menu)
    abm = market.outcomes()
    for name in ("plan", "learned", "learned_state", "payment"):
        np.testing.assert_array_equal(getattr(vec, name), getattr(abm, name))
    for name in ("time", "utility", "tokens"):
        np.testing.assert_allclose(getattr(vec, name), getattr(abm, name), rtol=1e-12)
    a, b = timeseries_of(vec, 1.0), market.timeseries()
    for name in a.FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-15)


def test_open_user_follows_the_survivors_belief(draws, menu):
    """While open, a user's belief is mu_hat_t, here (1/2, 1/2) (Section 3.1)."""
    market = MarketModel(draws, menu, interval=1.0)
    market.env.run(until=1.25)  # users 0 and 1 are conversing
    users = sorted(market.agents_by_type[UserAgent], key=lambda a: a.index)
    assert [u.index for u in users] == [0, 1]
    np.testing.assert_allclose(users[0].belief, [0.5, 0.5])
    assert users[0].elapsed == pytest.approx(0.75)
    assert users[1].tokens_used == pytest.approx(TOKEN_RATE * 0.25)


def test_a_tie_goes_to_the_larger_cap(model):
    """Two plans of equal surplus for every type (the same cap and price but one unlimited
    with a cap beyond any breakthrough): the user takes the larger cap."""
    menu = FiniteMenu(model, (Plan("small", 1e6, 0.0), Plan("large", math.inf, 0.0)))
    draws = Draws.given([1.0], [1.0], [0], uniform_for_time([1.0]))
    market = MarketModel(draws, menu, interval=1.0, log=True)
    market.run_model()
    assert market.outcomes().plan.tolist() == [1]


def test_interval_must_be_positive(draws, menu):
    with pytest.raises(ValueError, match=r"interval = 0: expected a number > 0"):
        MarketModel(draws, menu, interval=0)
