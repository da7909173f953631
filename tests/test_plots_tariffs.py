"""Tariffs of hand-picked plans (``market.plots.tariffs``): the least payment for q tokens.

Every expected value is typed in from the plans' definitions: a plan sells up to its cap at
its price plus its per-token charge times q, and a user takes the cheapest plan whose cap
reaches q.
"""

import numpy as np
import pandas as pd
import pytest

from market.plots.tariffs import GRID_POINTS, tariff, tariff_curves

INF = np.nan  # an unlimited cap, as plans.parquet stores it (null)


def plans(*rows, speed=1.0, plan="p"):
    """Rows ``(token_cap, price, per_token)`` as the columns of ``plans.parquet``."""
    caps, prices, per_token = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "policy": "x",
            "plan": plan,
            "urgency": np.nan,
            "token_cap": caps,
            "price": prices,
            "per_token": per_token,
            "speed": speed,
        }
    )


def test_flat_price_is_constant():
    q = np.array([0.0, 0.1, 1.0, 1e6])
    np.testing.assert_array_equal(tariff(plans((INF, 0.2, 0.0)), q), [0.2] * 4)


def test_per_token_price_is_a_ray_through_zero():
    q = np.array([0.0, 0.1, 2.0])
    np.testing.assert_allclose(tariff(plans((INF, 0.0, 1.5)), q), [0.0, 0.15, 3.0], rtol=1e-15)


def test_cheapest_of_a_two_part_tariff_and_a_flat_price():
    # 0.1 + 0.5 q against 0.3: the two-part tariff is cheaper below q = 0.4.
    menu = plans((INF, 0.1, 0.5), (INF, 0.3, 0.0))
    q = np.array([0.0, 0.2, 0.4, 0.6])
    np.testing.assert_allclose(tariff(menu, q), [0.1, 0.2, 0.3, 0.3], rtol=1e-15)


def test_tiers_are_a_staircase_that_jumps_past_each_cap():
    # free up to 0.05, 0.15 up to 0.25, 0.2 unlimited (scenarios/custom_plans.toml).
    menu = plans((0.05, 0.0, 0.0), (0.25, 0.15, 0.0), (INF, 0.2, 0.0))
    q = np.array([0.0, 0.05, 0.0500001, 0.25, 0.2500001, 10.0])
    np.testing.assert_array_equal(tariff(menu, q), [0.0, 0.0, 0.15, 0.15, 0.2, 0.2])


def test_no_plan_beyond_the_largest_cap():
    menu = plans((0.1, 0.05, 0.0), (0.3, 0.1, 0.0))
    assert tariff(menu, [0.3, 0.31]).tolist() == [0.1, np.inf]


def test_curves_per_speed_fastest_first():
    menu = pd.concat([plans((INF, 0.2, 0.0)), plans((INF, 0.11, 0.0), speed=0.5)])
    slow_cheap, fast = tariff_curves(menu, q_max=1.0)[::-1]
    assert (fast.speed, slow_cheap.speed) == (1.0, 0.5)
    assert fast.tokens[0] == 0.0 and fast.tokens[-1] == 1.0
    assert fast.tokens.size == GRID_POINTS and not fast.continuum
    np.testing.assert_array_equal(fast.payment, 0.2)
    np.testing.assert_array_equal(slow_cheap.payment, 0.11)


def test_a_step_is_drawn_at_its_cap_and_a_line_ends_at_the_last_cap():
    (curve,) = tariff_curves(plans((0.2, 0.1, 0.0), (0.5, 0.3, 0.0)), q_max=1.0)
    at = np.flatnonzero(curve.tokens == 0.2)[0]
    assert curve.payment[at] == 0.1 and curve.payment[at + 1] == 0.3
    assert curve.tokens[at + 1] == np.nextafter(0.2, 1.0)  # a vertical step
    beyond = curve.tokens > 0.5
    assert beyond.any() and np.isnan(curve.payment[beyond]).all()
    assert not np.isnan(curve.payment[~beyond]).any()


def test_a_schedule_is_drawn_through_its_sampled_caps():
    # Section 3.1: caps chi T(r) = (1/8)/(r - 1) priced P(r) (docs/paper-notes.md, erratum 2).
    r = np.linspace(1.2, 2.0, 9)
    cap = 0.125 / (r - 1)
    price = (3 + 2 * np.exp(-2.5) - 5 * np.exp(-(r + 0.5) / (r - 1))) / 15
    schedule = plans(*zip(cap, price, np.zeros_like(r), strict=True), plan=None)
    schedule = pd.concat([schedule, plans((INF, price.max() + 0.01, 0.0), plan=None)])
    (curve,) = tariff_curves(schedule, q_max=1.0)
    assert curve.continuum
    inner = np.isin(curve.tokens, cap)
    assert inner.sum() == cap.size  # every sampled cap below q_max is a point of the line
    np.testing.assert_allclose(curve.payment[inner], np.sort(price), rtol=1e-15)
    assert curve.tokens[0] == 0.0 and curve.payment[0] == pytest.approx(price.min())
    # Past the largest cap (r = 1.2): the unlimited plan.
    assert curve.payment[-1] == pytest.approx(price.max() + 0.01)


def test_plans_that_sell_nothing_are_left_out():
    (curve,) = tariff_curves(plans((0.0, 0.0, 0.0), (INF, 0.2, 0.0)), q_max=1.0)
    np.testing.assert_array_equal(curve.payment, 0.2)


def test_a_plan_listed_twice_is_one_plan():
    # The same unlimited plan twice, its price differing in the last bit (as a solver may
    # list it): one plan, so the legend does not read "2 plans".
    (curve,) = tariff_curves(
        plans((INF, 0.21327786990184, 0.0), (INF, 0.213277869901839, 0.0)), 1.0
    )
    assert len(curve.plans) == 1
