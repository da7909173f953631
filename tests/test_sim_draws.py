"""The random draws: one root seed, one stream per purpose, reproducible and independent."""

import numpy as np
import pytest
from scipy import stats

from market.sim.draws import STREAMS, Draws, make_draws, open_uniforms, stream
from market.theory.urgency import Uniform

URGENCY = Uniform(1.0, 2.0)


def test_same_seed_same_draws_and_different_seeds_differ():
    a = make_draws(7, 1000, 2.0, URGENCY, [0.3, 0.7])
    b = make_draws(7, 1000, 2.0, URGENCY, [0.3, 0.7])
    c = make_draws(8, 1000, 2.0, URGENCY, [0.3, 0.7])
    for name in ("arrival", "urgency", "state", "uniform"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))


def test_more_users_extend_the_same_streams():
    """Each purpose has its own stream, so the first users do not change with the count."""
    small = make_draws(3, 100, 1.0, URGENCY, [0.5, 0.5])
    large = make_draws(3, 1000, 1.0, URGENCY, [0.5, 0.5])
    for name in ("arrival", "urgency", "state", "uniform"):
        np.testing.assert_array_equal(getattr(small, name), getattr(large, name)[:100])


def test_streams_are_spawned_children_of_the_root():
    """stream(seed, purpose) is SeedSequence(seed).spawn(...)[index of the purpose]."""
    children = np.random.SeedSequence(11).spawn(len(STREAMS))
    for i, purpose in enumerate(STREAMS):
        expected = np.random.default_rng(children[i]).random(5)
        np.testing.assert_array_equal(stream(11, purpose).random(5), expected)


def test_distributions():
    """Seed 5, 200,000 users; KS level 0.001: gaps ~ Exp(rate 2), urgency ~ U[1, 2];
    state frequencies within 4 standard errors of the prior."""
    n, rate, prior = 200_000, 2.0, np.array([0.2, 0.3, 0.5])
    d = make_draws(5, n, rate, URGENCY, prior)
    gaps = np.diff(np.concatenate([[0.0], d.arrival]))
    assert stats.kstest(gaps, stats.expon(scale=1 / rate).cdf).pvalue > 1e-3
    assert stats.kstest(d.urgency, stats.uniform(1, 1).cdf).pvalue > 1e-3
    assert stats.kstest(d.uniform, stats.uniform.cdf).pvalue > 1e-3
    freq = np.bincount(d.state, minlength=3) / n
    assert np.all(np.abs(freq - prior) < 4 * np.sqrt(prior * (1 - prior) / n))


def test_open_uniforms_are_strictly_inside():
    u = open_uniforms(np.random.default_rng(0), 100_000)
    assert u.min() > 0 and u.max() < 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, r"seed = -1: expected an integer >= 0"),
        ({"users": 0}, r"users = 0: expected an integer >= 1"),
        ({"arrival_rate": 0.0}, r"arrival_rate = 0.0: expected a number > 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"seed": 1, "users": 10, "arrival_rate": 1.0, "urgency": URGENCY, "prior": [0.5, 0.5]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_draws(**args)


def test_hand_picked_draws_are_checked():
    with pytest.raises(ValueError, match=r"urgency has 1 entries; expected 2"):
        Draws.given([0.0, 1.0], [1.0], [0, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"non-decreasing"):
        Draws.given([1.0, 0.5], [1.0, 1.0], [0, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"strictly inside \(0, 1\)"):
        Draws.given([1.0], [1.0], [0], [1.0])
