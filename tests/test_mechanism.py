"""Theorem 1's token menu: the paper's numbers, ironing, and the incentive check."""

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import exp1

from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic, Shannon
from market.theory.mechanism import OptimalTokenMenu, first_best_welfare, ironed_pools
from market.theory.urgency import Mixture, TruncNormal, Uniform

# docs/paper-notes.md erratum 4: the optimal revenue of the paper's example.
PAPER_REVENUE = 0.2 * (1 - np.exp(-2.5)) + 0.5 * np.exp(-1) * exp1(1.5)


@pytest.fixture(scope="module")
def paper_menu():
    model = GreedyModel(Quadratic(2), [0.5, 0.5], 0.125)
    return OptimalTokenMenu(model, Uniform(1.0, 2.0))


def test_paper_revenue(paper_menu):
    assert PAPER_REVENUE == pytest.approx(0.2019806, abs=5e-8)
    assert paper_menu.revenue == pytest.approx(PAPER_REVENUE, rel=1e-12)


def test_paper_caps_and_prices(paper_menu):
    # Section 3.1: T(r) = g/G = 1/(r - 1), token cap chi T = (1/8)/(r - 1), and (erratum 2)
    # P(r) = (3 + 2 e^{-5/2} - 5 e^{-(r + 1/2)/(r - 1)}) / 15.
    r = np.array([1.05, 1.2, 1.5, 1.75, 1.99, 2.0])
    assert np.allclose(paper_menu.cap(r), 1 / (r - 1), rtol=1e-14)
    assert np.allclose(paper_menu.token_cap(r), 0.125 / (r - 1), rtol=1e-14)
    closed = (3 + 2 * np.exp(-2.5) - 5 * np.exp(-(r + 0.5) / (r - 1))) / 15
    assert np.allclose(paper_menu.price(r), closed, rtol=1e-12, atol=0)
    assert paper_menu.cap(np.array([1.0]))[0] == np.inf
    assert paper_menu.pools == ()


def test_paper_welfare_and_first_best(paper_menu):
    # Welfare = int_1^2 (1/2)/(r + 1/2) (1 - e^{-(r + 1/2)/(r - 1)}) dr by quad (independent);
    # first best = int_1^2 (1/2)/(r + 1/2) dr = log(5/3)/2.
    w, _ = integrate.quad(
        lambda r: 0.5 / (r + 0.5) * (1 - np.exp(-(r + 0.5) / (r - 1))), 1, 2, epsabs=1e-14
    )
    assert paper_menu.welfare == pytest.approx(w, rel=1e-11)
    assert paper_menu.user_surplus == pytest.approx(w - PAPER_REVENUE, rel=1e-10)
    fb = first_best_welfare(paper_menu.model, paper_menu.urgency)
    assert fb == pytest.approx(np.log(5 / 3) / 2, rel=1e-13)


def test_revenue_equals_expected_payment(paper_menu):
    # Independent route: integrate the price schedule against g by quad.
    val, _ = integrate.quad(lambda r: paper_menu.price(np.array([r]))[0], 1, 2, epsabs=1e-13)
    assert val == pytest.approx(paper_menu.revenue, rel=1e-10)


def test_paper_menu_is_incentive_compatible(paper_menu):
    report = paper_menu.incentive_report()
    assert report.passes(1e-9), report
    assert report.min_surplus >= -1e-12


def _bimodal():
    return Mixture(
        [(0.6, TruncNormal(1.3, 0.15, 1.0, 3.0)), (0.4, TruncNormal(2.5, 0.2, 1.0, 3.0))]
    )


def _relaxed_revenue_by_brute_force(model, urgency):
    # docs/paper-notes.md: Revenue = int_0^inf f(t) max_r G(r) e^{-rt} dt. The inner maximum is
    # taken
    # on a grid of 20,001 types and polished by a bounded scalar search (independent of the
    # concave-envelope construction of the solver).
    grid = np.linspace(urgency.low, urgency.high, 20_001)
    log_g = urgency.log_cdf(grid)

    def best(t):
        k = int(np.argmax(log_g - grid * t))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        res = optimize.minimize_scalar(
            lambda r: -(float(urgency.log_cdf(r)) - r * t),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-12},
        )
        return max(np.exp(-res.fun), np.exp(log_g[k] - grid[k] * t))

    val, _ = integrate.quad(
        lambda t: model.density(np.array([t]))[0] * best(t), 0, np.inf, epsabs=1e-12, limit=400
    )
    return val


def test_ironing_on_a_bimodal_population():
    model = GreedyModel(Quadratic(2), [0.5, 0.5], 0.125)
    urgency = _bimodal()
    pools = ironed_pools(urgency)
    assert len(pools) == 1
    pool = pools[0]
    # The pooled cap is the slope of the chord of log G between its ends, and is tangent to
    # log G at both (bitangent), computed here from the distribution directly.
    chord = (urgency.log_cdf(pool.high) - urgency.log_cdf(pool.low)) / (pool.high - pool.low)
    assert pool.cap == pytest.approx(chord, rel=1e-12)
    assert urgency.reverse_hazard(pool.low) == pytest.approx(chord, rel=1e-7)
    assert urgency.reverse_hazard(pool.high) == pytest.approx(chord, rel=1e-7)
    ironed = OptimalTokenMenu(model, urgency)
    assert ironed.revenue == pytest.approx(
        _relaxed_revenue_by_brute_force(model, urgency), rel=1e-9
    )
    report = ironed.incentive_report(np.linspace(1.0, 3.0, 601))
    assert report.passes(1e-9), report
    # The paper's g/G menu without ironing is not incentive compatible here.
    naive = OptimalTokenMenu(model, urgency, iron=False)
    bad = naive.incentive_report(np.linspace(1.0, 3.0, 601))
    assert bad.max_gain > 1e-5, bad
    assert pool.low <= bad.worst_type <= pool.high or pool.low <= bad.worst_report <= pool.high


def test_shannon_menu_incentive_compatible_and_revenue_by_brute_force():
    # A model with transient phases (three states, Shannon), and a truncated-normal population.
    model = GreedyModel(Shannon(3), [0.5, 0.3, 0.2], 0.4)
    urgency = TruncNormal(1.0, 0.5, 0.5, 2.5)
    menu = OptimalTokenMenu(model, urgency)
    assert menu.pools == ()
    assert menu.revenue == pytest.approx(_relaxed_revenue_by_brute_force(model, urgency), rel=1e-9)
    assert menu.incentive_report().passes(1e-9)
    assert menu.welfare == pytest.approx(menu.revenue + menu.user_surplus, rel=1e-12)
    assert menu.welfare <= first_best_welfare(model, urgency)


def test_bulk_routes_agree_with_the_exact_ones():
    # A simulated population takes bulk routes (a Hermite table of surpluses, Chebyshev fits
    # of utilities in r); the same types in small batches take the exact per-type routes.
    model = GreedyModel(Shannon(3), [0.5, 0.3, 0.2], 0.4)
    menu = OptimalTokenMenu(model, _bimodal())
    r = np.random.default_rng(3).uniform(1.0, 3.0, 30_000)
    cap, price, util = menu.items(r)
    small = [menu.items(chunk) for chunk in np.array_split(r, 10)]
    assert np.array_equal(cap, np.concatenate([s[0] for s in small]))
    assert np.allclose(price, np.concatenate([s[1] for s in small]), rtol=0, atol=1e-12)
    assert np.allclose(util, np.concatenate([s[2] for s in small]), rtol=0, atol=1e-12)
    caps = np.array([np.inf, 2.0, 0.5])
    bulk = model.laplace(r[:, None], caps[None, :])
    exact = np.concatenate(
        [model.laplace(c[:, None], caps[None, :]) for c in np.array_split(r, 10)]
    )
    assert np.allclose(bulk, exact, rtol=0, atol=1e-13)


def test_density_infinite_at_the_lowest_type():
    # Beta(1/2, 2) on [1, 2]: g is infinite at r = 1 and r - 1 keeps few digits there; the
    # adaptive fits stop at their noise floor instead of splitting forever. Revenue against
    # the brute-force relaxed revenue; welfare against quad of g U with the singularity
    # handled by quad's algebraic weight (weight="alg": (r - 1)^(-1/2)).
    from market.theory.urgency import Beta

    model = GreedyModel(Quadratic(2), [0.5, 0.5], 0.125)
    urgency = Beta(0.5, 2.0, 1.0, 2.0)
    menu = OptimalTokenMenu(model, urgency)
    assert menu.revenue == pytest.approx(_relaxed_revenue_by_brute_force(model, urgency), rel=1e-8)
    # g(r) = (r-1)^{-1/2} (2-r) / B(1/2, 2), B(1/2, 2) = 4/3.
    w, _ = integrate.quad(
        lambda r: 0.75 * (2 - r) * menu.utility(np.array([r]))[0],
        1,
        2,
        weight="alg",
        wvar=(-0.5, 0),
        epsabs=1e-13,
    )
    assert menu.welfare == pytest.approx(w, rel=1e-9)
    assert menu.incentive_report().passes(1e-9)
