"""Finite serving capacity: hand-computed schedules, the M/G/1 processor-sharing law, Little's
law, and the uncongested market as the limit of a large capacity."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

import market as mk
from market.pricing.plans import Choice, FiniteMenu, Plan
from market.scenario import build_market
from market.sim.capacity import Server
from market.sim.congested import Congestion, simulate_congested
from market.sim.draws import Draws, make_draws
from market.sim.engine import simulate_policy
from market.sim.offer import Offer

PAPER = "scenarios/paper_example.toml"


@pytest.fixture(scope="module")
def paper():
    scenario = mk.load_scenario(PAPER)
    return scenario, build_market(scenario), mk.solve(scenario)


def hand_offer(model, arrival, work, price=None, speed=None):
    """An offer of hand-picked conversation lengths: user i buys plan 0 (unlimited) and needs
    ``work[i]`` units of time at its plan's rate."""
    n = len(arrival)
    draws = Draws.given(arrival, np.ones(n), np.zeros(n), np.full(n, 0.5))
    price = np.zeros(n) if price is None else np.asarray(price, dtype=float)
    speed = np.ones(n) if speed is None else np.asarray(speed, dtype=float)
    choice = Choice(
        plan=np.zeros(n, dtype=np.int64), report=np.full(n, np.nan), cap=np.full(n, np.inf),
        price=price, expected_utility=np.zeros(n), speed=speed,
    )  # fmt: skip
    menu = FiniteMenu(model, (Plan("all", math.inf, 0.0),))
    rate = float(model.token_rate)
    return (
        Offer(draws, choice, np.asarray(work, float), ("all",), rate, speed, np.zeros(n), menu),
        menu,
    )


# -- the kernel, by hand ------------------------------------------------------------------
def test_three_user_processor_sharing_by_hand(paper):
    # Capacity = chi: one conversation at full speed. Arrivals 0, 1, 2 needing 3, 1, 2.
    # [0,1]: user 0 alone (2 left). [1,2]: two at 1/2 (user 0: 1.5, user 1: 0.5 left).
    # [2,3.5]: three at 1/3; user 1 ends at 3.5 (user 0: 1, user 2: 1.5 left).
    # [3.5,5.5]: two at 1/2; user 0 ends at 5.5 (user 2: 0.5 left); user 2 ends at 6.
    _, market, _ = paper
    offer, menu = hand_offer(market.model, [0.0, 1.0, 2.0], [3.0, 1.0, 2.0])
    chi = market.token_rate
    expected = np.array([5.5, 2.5, 4.0])
    for engine in ("vectorized", "abm"):
        out, _, _ = simulate_policy(
            offer.draws, menu, engine, 1.0, congestion=Congestion(chi), offer=offer
        )
        np.testing.assert_allclose(out.wall_time, expected, rtol=1e-12)
        np.testing.assert_allclose(out.utility, np.exp(-expected), rtol=1e-12)
        np.testing.assert_array_equal(out.time, [3.0, 1.0, 2.0])


def test_priority_preempts_by_price(paper):
    # Capacity = chi. User 0 (price 1) arrives at 0 needing 2; user 1 (price 2) at 0.5 needing
    # 1 preempts it: user 1 runs alone on [0.5, 1.5]; user 0 resumes with 1.5 left: ends at 3.
    _, market, _ = paper
    offer, menu = hand_offer(market.model, [0.0, 0.5], [2.0, 1.0], price=[1.0, 2.0])
    chi = market.token_rate
    for engine in ("vectorized", "abm"):
        out, _, _ = simulate_policy(
            offer.draws, menu, engine, 1.0, congestion=Congestion(chi, "priority"), offer=offer
        )
        np.testing.assert_allclose(out.wall_time, [3.0, 1.0], rtol=1e-12)
    shared, _ = simulate_congested(offer, Congestion(chi), 1.0)
    # shared: [0,0.5] user 0 alone (1.5 left); both at 1/2: user 1 ends at 2.5 (user 0: 0.5
    # left), user 0 ends at 3.
    np.testing.assert_allclose(shared.wall_time, [3.0, 2.0], rtol=1e-12)


def test_water_filling_with_rate_caps():
    # Capacity 1; two conversations wanting 0.2 and one wanting 1: the water level w solves
    # 2 min(0.2, w) + min(1, w) = 1, so w = 0.6: the slow ones run at their rate, the fast
    # one at 0.6 of its rate.
    server = Server(1.0)
    server.admit(0, 1.0, 0.2)
    server.admit(1, 2.0, 0.2)
    server.admit(2, 3.0, 1.0)
    assert server.rate == pytest.approx(1.0, rel=1e-15)
    # next to end: user 0 at 1.0 / 1.0 (full rate); user 2 would need 3 / 0.6 = 5.
    assert server.next_finish() == pytest.approx(1.0, rel=1e-15)
    assert server.finish() == (0, pytest.approx(1.0))
    # now one slow (0.2) and one fast: w = 0.8; user 2 has done 0.6 of 3 at rate 0.6.
    assert server.rate == pytest.approx(1.0, rel=1e-15)
    assert server.next_finish() == pytest.approx(min(1.0 + 1.0, 1.0 + 2.4 / 0.8), rel=1e-12)


def test_server_refuses_nonsense():
    with pytest.raises(ValueError, match="capacity"):
        Server(0.0)
    with pytest.raises(ValueError, match="discipline"):
        Congestion(1.0, "fifo")


# -- M/G/1 processor sharing --------------------------------------------------------------
def _batch_se(values: np.ndarray, batches: int = 25) -> float:
    """Standard error of the mean of a correlated series by batch means."""
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


@pytest.mark.parametrize("load, users", [(0.3, 60_000), (0.6, 80_000), (0.9, 200_000)])
def test_mg1_processor_sharing_mean_duration(paper, load, users):
    # Capacity = chi, one plan at full speed with no cap: the service requirement is tau.
    # M/G/1-PS: E[duration] = E[S] / (1 - rho) for any law of S (Kleinrock 1967), with
    # E[S] = int_0^inf P(tau > t) dt by quadrature.
    _, market, _ = paper
    model = market.model
    mean_s = integrate.quad(lambda t: float(model.survival(np.array([t]))[0]), 0, np.inf)[0]
    rate = load / mean_s
    menu = FiniteMenu(model, (Plan("all", math.inf, 0.0),))
    draws = make_draws(11, users, rate, market.urgency, [0.5, 0.5])
    out, series, _ = simulate_policy(
        draws, menu, "vectorized", 20 * mean_s, congestion=Congestion(market.token_rate)
    )
    warm = users // 10  # leave the empty start out
    wall = out.wall_time[warm:]
    expected = mean_s / (1 - load)
    se = _batch_se(wall)
    assert abs(wall.mean() - expected) <= 4 * se, (wall.mean(), expected, se)
    # Little's law: the mean number open equals the arrival rate times the mean duration.
    keep = (series.time > draws.arrival[warm]) & (series.time < draws.arrival[-1])
    open_ = series.conversations_open[keep].astype(float)
    little = rate * wall.mean()
    assert abs(open_.mean() - little) <= 4 * _batch_se(open_, 20) + 4 * rate * se


# -- the limit of a large capacity --------------------------------------------------------
@pytest.mark.parametrize("engine", ["vectorized", "abm"])
def test_far_capacity_is_the_uncongested_market(paper, engine):
    scenario, market, solution = paper
    draws = make_draws(3, 3000, 1.0, market.urgency, scenario.prior)
    for policy in solution.policies:
        free, free_series, _ = simulate_policy(draws, policy.menu, "vectorized", 20.0)
        busy, series, _ = simulate_policy(
            draws, policy.menu, engine, 20.0, congestion=Congestion(1e9)
        )
        np.testing.assert_array_equal(busy.plan, free.plan)
        np.testing.assert_array_equal(busy.learned, free.learned)
        np.testing.assert_allclose(busy.wall_time, free.time, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(busy.utility, free.utility, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(busy.payment, free.payment, rtol=1e-12)
        np.testing.assert_array_equal(series.conversations_open, free_series.conversations_open)
        np.testing.assert_allclose(series.tokens_served, free_series.tokens_served, rtol=1e-9)
        np.testing.assert_array_equal(series.slowdown[np.isfinite(series.slowdown)] >= 1, True)


@pytest.mark.parametrize("discipline", ["shared", "priority"])
def test_engines_agree_user_by_user_when_congested(paper, discipline):
    scenario, market, solution = paper
    draws = make_draws(5, 2000, 1.0, market.urgency, scenario.prior)
    congestion = Congestion(0.18, discipline)
    for policy in solution.policies:
        a, sa, _ = simulate_policy(draws, policy.menu, "vectorized", 20.0, congestion=congestion)
        b, sb, _ = simulate_policy(draws, policy.menu, "abm", 20.0, congestion=congestion)
        np.testing.assert_array_equal(a.wall_time, b.wall_time)
        np.testing.assert_array_equal(a.utility, b.utility)
        np.testing.assert_array_equal(a.payment, b.payment)
        for name, column in sa.as_dict().items():
            np.testing.assert_array_equal(column, sb.as_dict()[name], err_msg=name)
        buyers = a.bought & (a.time > 0)
        assert np.all(a.wall_time[buyers] >= a.time[buyers])  # never faster than its rate
        assert np.all(a.utility <= np.exp(-a.urgency * a.time) + 1e-15)
