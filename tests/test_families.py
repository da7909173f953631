"""Tests of market.families: constant-delay and diffusion models and their menus (Section 2.2).

Reference numbers come from the paper (Zhong 2025, Section 2.2), docs/paper-notes.md (errata and
checked
formulas), closed forms, or an independent computation (solve_bvp, Crank-Nicolson, quadrature),
named in a comment at each assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.linalg import solve_banded

from market.numerics.optimize import golden_max as _golden_max
from market.theory.families import (
    ConstantDelay,
    Diffusion,
    screen_constant_delay,
    screen_diffusion,
)
from market.theory.incentives import check_menu
from market.theory.information import Mahalanobis, Quadratic, Shannon
from market.theory.models import ConversationModel
from market.theory.urgency import Beta, Mixture, Uniform

CHI = 1 / 8  # paper example: E[(mu_{t+s} - mu_t)^2] <= s/8 (Section 2.2)
HALF = [0.5, 0.5]
PAPER_URGENCY = Uniform(1.0, 2.0)
PAPER_GRID = np.linspace(1.0, 2.0, 201)


def example_diffusion(p: float = 0.5, entropy=None, speed: float = 1.0) -> Diffusion:
    return Diffusion(entropy or Quadratic(2), [1 - p, p], CHI, speed=speed)


def crank_nicolson_survival(half_variance, t_end: float, n: int = 400, steps: int = 500):
    """Independent P(tau > t_end) on a grid: u_t = a(x) u_xx, u(0, .) = 1, u = 0 at 0 and 1.

    Four implicit-Euler half steps (Rannacher start-up) damp the corner discontinuity, then
    Crank-Nicolson. Returns the grid and u(t_end, grid).
    """
    x = np.linspace(0, 1, n + 2)[1:-1]
    h = x[1] - x[0]
    dt = t_end / steps
    coef = half_variance(x) / h**2

    def step(u, theta, dt):
        # (I - theta dt L) u_new = (I + (1 - theta) dt L) u
        ab = np.zeros((3, n))
        ab[0, 1:] = -theta * dt * coef[:-1]
        ab[1] = 1 + 2 * theta * dt * coef
        ab[2, :-1] = -theta * dt * coef[1:]
        lu = np.zeros(n)
        lu[1:-1] = u[2:] - 2 * u[1:-1] + u[:-2]
        lu[0], lu[-1] = u[1] - 2 * u[0], u[-2] - 2 * u[-1]
        return solve_banded((1, 1), ab, u + (1 - theta) * dt * coef * lu)

    u = np.ones(n)
    for _ in range(4):
        u = step(u, 1.0, dt / 2)
    for _ in range(steps - 2):
        u = step(u, 0.5, dt)
    return x, u


# -- constant delay -------------------------------------------------------------------------
def test_constant_delay_fastest_is_two_in_the_example():
    model = ConstantDelay(Quadratic(2), HALF, CHI)
    # Section 2.2: "a constant-delay model is feasible if it takes more than 2 unit of time".
    assert model.min_delay == pytest.approx(2.0, abs=1e-15)
    assert model.delay == model.min_delay
    assert model.kind == "constant_delay"
    assert isinstance(model, ConversationModel)


def test_constant_delay_below_minimum_raises():
    with pytest.raises(
        ValueError, match=r"delay = 1\.5: below the shortest feasible delay d_min = 2"
    ):
        ConstantDelay(Quadratic(2), HALF, CHI, delay=1.5)


def test_constant_delay_stopping_law():
    entropy = Shannon(3)
    prior = [0.2, 0.3, 0.5]
    model = ConstantDelay(entropy, prior, 0.4, delay=5.0)
    assert model.min_delay == pytest.approx(entropy.information_to_learn(prior) / 0.4)
    np.testing.assert_array_equal(model.survival([0.0, 4.99, 5.0, 6.0]), [1, 1, 0, 0])
    r = np.array([[0.5], [1.0]])
    cap = np.array([4.0, 5.0, np.inf])
    out = model.laplace(r, cap, moment=1)
    assert out.shape == (2, 3)
    # d^m e^{-rd} 1{d <= cap}
    np.testing.assert_allclose(out, 5 * np.exp(-5 * r) * (cap >= 5), rtol=1e-15)
    np.testing.assert_array_equal(model.sample_time([0.1, 0.9], [0, 2]), [5.0, 5.0])
    # Fastest model: (Info.) binds, so E[tau] = information to learn / chi (docs/paper-notes.md).
    fastest = ConstantDelay(entropy, prior, 0.4)
    assert fastest.expected_time == pytest.approx(entropy.information_to_learn(prior) / 0.4)


def test_screen_constant_delay_paper_example():
    sol = screen_constant_delay(Quadratic(2), HALF, CHI, PAPER_URGENCY, PAPER_GRID)
    # Section 2.2 and docs/paper-notes.md erratum 4: take-it-or-leave-it price e^{-3} for t = 2,
    # served
    # r <= 1.5, revenue e^{-3}/2 = 0.0248935.
    assert sol.revenue == pytest.approx(0.5 * math.exp(-3), abs=1e-9)
    # welfare = int_1^1.5 e^{-2r} dr = (e^{-2} - e^{-3}) / 2 (closed form)
    assert sol.welfare == pytest.approx((math.exp(-2) - math.exp(-3)) / 2, abs=1e-10)
    assert sol.user_surplus == pytest.approx(sol.welfare - sol.revenue, abs=1e-15)
    assert sol.threshold == pytest.approx(1.5, abs=1e-12)
    assert "serving [1, 1.5]" in sol.notes and "agreeing with r*" in sol.notes
    assert sol.model.delay == pytest.approx(2.0)
    served = sol.speed > 0
    np.testing.assert_array_equal(served, PAPER_GRID <= 1.5)
    np.testing.assert_allclose(sol.price[served], math.exp(-3), rtol=1e-12)
    assert np.all(sol.price[~served] == 0.0)
    # Independent IC/IR check: type i from item j gets e^{-2 r_i} if item j is served.
    prices = sol.price
    utility = np.exp(-2 * PAPER_GRID)[:, None] * served[None, :]
    assert check_menu(PAPER_GRID, utility, prices).passes(1e-9)


# -- diffusion: construction -------------------------------------------------------------------
def test_diffusion_volatility_matches_paper():
    model = example_diffusion()
    # Section 2.2: sigma^2 <= 1/8 is the quadratic-variation constraint; the fastest binds.
    assert model.variance == pytest.approx(1 / 8, rel=1e-14)
    assert model.kind == "diffusion" and isinstance(model, ConversationModel)
    # Mahalanobis: h = a00 + a11 - 2 a01 = 2 + 3 - 1 = 4, sigma^2 = 2 chi / h.
    maha = Diffusion(Mahalanobis([[2.0, 0.5], [0.5, 3.0]]), [0.3, 0.7], 0.2, speed=0.5)
    assert maha.variance == pytest.approx(2 * 0.2 * 0.5 / 4, rel=1e-14)


def test_diffusion_needs_binary_state():
    with pytest.raises(ValueError, match="diffusion needs a binary state"):
        Diffusion(Quadratic(3), [0.2, 0.3, 0.5], CHI)
    with pytest.raises(ValueError, match=r"speed = 1\.5"):
        example_diffusion(speed=1.5)


@pytest.mark.parametrize(
    "entropy, p",
    [
        (Quadratic(2), 0.5),
        (Quadratic(2), 0.2),
        (Mahalanobis([[2.0, 0.5], [0.5, 3.0]]), 0.7),
        (Shannon(2), 0.5),
        (Shannon(2), 0.15),
    ],
)
def test_expected_time_is_information_over_rate(entropy, p):
    model = Diffusion(entropy, [1 - p, p], CHI)
    info = entropy.information_to_learn(np.array([1 - p, p]))
    # docs/paper-notes.md "Mean duration": (Info.) binds, so E[tau] = information to learn / chi.
    assert model.expected_time == pytest.approx(info / CHI, rel=1e-14)
    # ... and the same number as -dU/dr at r = 0 (a different computation of E[tau]).
    assert -model.utility_dr(0.0) == pytest.approx(info / CHI, rel=1e-10)
    if model.variance is not None:  # constant sigma: p(1-p)/sigma^2
        assert model.expected_time == pytest.approx(p * (1 - p) / model.variance, rel=1e-13)
    # Martingale: the per-state exit probabilities equal the prior.
    np.testing.assert_allclose(model.laplace_by_state(0.0), [1 - p, p], rtol=1e-12)
    np.testing.assert_allclose(model.survival_by_state(0.0), [1 - p, p], rtol=1e-12)


@pytest.mark.parametrize("entropy", [Quadratic(2), Shannon(2)])
def test_speed_is_a_time_change(entropy):
    # sigma^2 scaled by s is the time change tau_s = tau_1 / s: U(s | r) = U_1(r / s).
    slow = Diffusion(entropy, [0.6, 0.4], CHI, speed=0.25)
    full = Diffusion(entropy, [0.6, 0.4], CHI)
    r = np.array([0.2, 1.0, 3.0])
    np.testing.assert_allclose(slow.utility(r), full.utility(4 * r), rtol=1e-12)
    np.testing.assert_allclose(slow.utility_dr(r), 4 * full.utility_dr(4 * r), rtol=1e-12)
    np.testing.assert_allclose(slow.survival(8.0), full.survival(2.0), rtol=1e-12)
    assert slow.expected_time == pytest.approx(4 * full.expected_time, rel=1e-14)


@pytest.mark.parametrize("entropy", [Quadratic(2), Shannon(2)])
def test_expected_truncated_time_integrates_the_survival(entropy):
    model = Diffusion(entropy, [0.7, 0.3], CHI)
    for cap in (0.3, 3.9, 4.1, 10.0):
        # E[min(tau, T)] = int_0^T P(tau > t) dt, by quadrature.
        direct, _ = integrate.quad(lambda t: model.survival(t), 0, cap, epsabs=1e-13)
        assert model.expected_truncated_time(cap) == pytest.approx(direct, rel=1e-10)
    assert model.expected_truncated_time(np.inf) == pytest.approx(model.expected_time)
    delay = ConstantDelay(entropy, [0.7, 0.3], CHI)
    np.testing.assert_allclose(delay.expected_truncated_time([1.0, np.inf]), [1.0, delay.delay])


# -- diffusion: the uncapped Laplace transform -------------------------------------------------
def test_diffusion_utility_is_the_paper_sech():
    model = example_diffusion()
    r = np.linspace(0.5, 3.0, 11)
    # Section 2.2: U(sigma | r) = sech(sqrt(r/2)/sigma), sigma = 1/(2 sqrt 2).
    np.testing.assert_allclose(
        model.utility(r), 1 / np.cosh(np.sqrt(r / 2) * 2 * np.sqrt(2)), rtol=1e-13
    )


def test_diffusion_per_state_laplace_closed_form():
    p = 0.2
    model = example_diffusion(p)
    r = np.array([0.3, 1.0, 4.0])
    k = np.sqrt(2 * r) / model.volatility
    # docs/paper-notes.md: E[e^{-r tau} 1{learn 1}] = sinh(kp)/sinh(k) (and 1 - p for state 0).
    expected = np.stack([np.sinh(k * (1 - p)), np.sinh(k * p)], axis=-1) / np.sinh(k)[:, None]
    np.testing.assert_allclose(model.laplace_by_state(r), expected, rtol=1e-13)
    # moment 1 = -d/dr, against a central difference.
    h = 1e-5
    numeric = -(model.laplace_by_state(r + h) - model.laplace_by_state(r - h)) / (2 * h)
    np.testing.assert_allclose(model.laplace_by_state(r, moment=1), numeric, rtol=1e-8)


def test_diffusion_utility_against_solve_bvp():
    # Independent: solve r V = (1/2) sigma^2 V'' with V(0) = V(1) = 1 (footnote 6) by
    # collocation, for an asymmetric prior.
    p, r = 0.2, 1.3
    model = example_diffusion(p)
    x = np.linspace(0, 1, 101)
    sol = integrate.solve_bvp(
        lambda x, y: np.vstack([y[1], r * y[0] / (CHI / 2)]),
        lambda ya, yb: np.array([ya[0] - 1, yb[0] - 1]),
        x,
        np.vstack([np.ones_like(x), np.zeros_like(x)]),
        tol=1e-11,
        max_nodes=100_000,
    )
    assert sol.status == 0
    assert model.utility(r) == pytest.approx(sol.sol(p)[0], rel=1e-10)


def test_shannon_utility_against_shooting():
    # Independent: r V = chi p(1-p) V'' integrated (DOP853) from the prior to delta and
    # 1 - delta, with V = 1 imposed there. V - 1 ~ C delta log delta at an end, so delta = 1e-8
    # limits the agreement to ~1e-5 (the singular ends are why solve_bvp is not used here).
    p, r, delta = 0.2, 1.3, 1e-8
    model = Diffusion(Shannon(2), [1 - p, p], CHI)
    lam = r / CHI

    def rhs(x, y):
        return [y[1], lam * y[0] / (x * (1 - x))]

    ends = [
        [
            integrate.solve_ivp(rhs, (p, end), y0, method="DOP853", rtol=1e-13, atol=1e-15).y[0, -1]
            for y0 in ([1.0, 0.0], [0.0, 1.0])
        ]
        for end in (delta, 1 - delta)
    ]
    value = np.linalg.solve(np.array(ends), [1.0, 1.0])[0]
    assert model.utility(r) == pytest.approx(value, rel=1e-5)


def test_shannon_utility_against_the_eigen_series_density():
    # Two representations: the hypergeometric Laplace transform against the quadrature of the
    # Jacobi eigen-series density.
    model = Diffusion(Shannon(2), [0.6, 0.4], CHI)
    for r in (0.4, 2.0):
        direct, _ = integrate.quad(
            lambda t, r=r: math.exp(-r * t) * model.density(t), 0, np.inf, limit=200, epsabs=1e-14
        )
        assert model.utility(r) == pytest.approx(direct, rel=1e-9)


# -- diffusion: time law --------------------------------------------------------------------
@pytest.mark.parametrize("entropy, p", [(Quadratic(2), 0.3), (Shannon(2), 0.3)])
def test_density_integrates_to_the_prior(entropy, p):
    # Exit probabilities equal the prior (martingale, docs/paper-notes.md), via the time density.
    model = Diffusion(entropy, [1 - p, p], CHI)
    for state, prob in enumerate([1 - p, p]):
        mass, _ = integrate.quad(
            lambda t, state=state: model.density_by_state(t)[state], 0, np.inf, limit=200
        )
        assert mass == pytest.approx(prob, abs=1e-9)


@pytest.mark.parametrize("entropy", [Quadratic(2), Shannon(2)])
def test_finite_cap_laplace_against_quadrature_of_the_density(entropy):
    # Caps on both sides of the image/sine switch (standard time 0.5 = 4 time units here).
    model = Diffusion(entropy, [0.65, 0.35], CHI)
    r = 1.7
    for cap in [0.5, 3.9, 4.1, 12.0]:
        for moment in (0, 1):
            direct, _ = integrate.quad(
                lambda t, m=moment: t**m * math.exp(-r * t) * model.density(t),
                0,
                cap,
                limit=200,
                epsabs=1e-14,
            )
            assert model.laplace(r, cap, moment) == pytest.approx(direct, rel=1e-9, abs=1e-15)
    # A large cap gives the uncapped closed form.
    np.testing.assert_allclose(
        model.laplace([0.5, 2.0], 400.0), model.laplace([0.5, 2.0]), rtol=1e-13
    )
    assert model.laplace(r, 0.0) == 0.0


def test_capped_laplace_is_continuous_at_the_series_switch():
    # Standard time sigma^2 t = 0.5 at t = 4: images below, sine series above. The symmetric
    # difference across the switch must be the derivative T^m e^{-rT} f(T) (error O(delta^3)).
    model = example_diffusion(0.4)
    r, cap, delta = 1.2, 4.0, 1e-5
    for moment in (0, 1):
        jump = model.laplace(r, cap + delta, moment) - model.laplace(r, cap - delta, moment)
        slope = cap**moment * math.exp(-r * cap) * model.density(cap)
        assert jump == pytest.approx(2 * delta * slope, abs=1e-14)
    survival_jump = model.survival(cap + delta) - model.survival(cap - delta)
    assert survival_jump == pytest.approx(-2 * delta * model.density(cap), abs=1e-14)


@pytest.mark.parametrize("entropy", [Quadratic(2), Shannon(2)])
def test_survival_against_crank_nicolson(entropy):
    p = 0.3
    model = Diffusion(entropy, [1 - p, p], CHI)
    curvature = (
        (lambda x: 2.0 + 0 * x) if entropy.name == "quadratic" else (lambda x: 1 / (x * (1 - x)))
    )
    for t_end in (1.0, 6.0):
        # Independent finite-difference solution of the backward equation. Shannon's
        # degenerate coefficient makes the scheme first order in h, so it is extrapolated
        # (Richardson) from h = 1/401 and 1/801; the quadratic case is second order.
        x, u = crank_nicolson_survival(lambda x: CHI / curvature(x), t_end)
        reference = np.interp(p, x, u)
        if entropy.name == "shannon":
            x2, u2 = crank_nicolson_survival(lambda x: CHI / curvature(x), t_end, 801)
            reference = 2 * np.interp(p, x2, u2) - reference
        assert model.survival(t_end) == pytest.approx(reference, abs=1e-5)


@pytest.mark.parametrize(
    "entropy, p", [(Quadratic(2), 0.5), (Quadratic(2), 0.15), (Shannon(2), 0.25)]
)
def test_sample_time_inverts_the_conditional_survival(entropy, p):
    model = Diffusion(entropy, [1 - p, p], CHI)
    u = np.array([1e-9, 0.05, 0.3, 0.5, 0.8, 0.999, 1 - 1e-10])
    for state, prob in enumerate([1 - p, p]):
        t = model.sample_time(u, state)
        # P(tau > t | theta) = P(tau > t, theta) / P(theta) must equal u at the draw.
        np.testing.assert_allclose(
            model.survival_by_state(t)[:, state] / prob, u, rtol=1e-10, atol=1e-13
        )
        assert np.all(np.diff(t) < 0)
    with pytest.raises(ValueError, match="u: expected"):
        model.sample_time([0.0], [1])


def test_shannon_extreme_prior_supports_only_uncapped_laplace():
    model = Diffusion(Shannon(2), [0.9995, 0.0005], CHI)
    info = Shannon(2).information_to_learn(np.array([0.9995, 0.0005]))
    assert -model.utility_dr(0.0) == pytest.approx(info / CHI, rel=1e-9)
    with pytest.raises(NotImplementedError, match="both probabilities >= 0.001"):
        model.survival(1.0)


# -- diffusion menu ---------------------------------------------------------------------------
def menu_ic_report(sol, model: Diffusion):
    r, s, prices = sol.grid, sol.speed, sol.price
    safe = np.where(s > 0, s, 1.0)
    ratio, where = np.unique(r[:, None] / safe[None, :], return_inverse=True)  # few distinct
    utility = np.where(s[None, :] > 0, model.utility(ratio)[where], 0.0)
    return check_menu(r, utility, prices)


def test_screen_diffusion_paper_example():
    sol = screen_diffusion(Quadratic(2), HALF, CHI, PAPER_URGENCY, PAPER_GRID)
    # Section 2.2 and docs/paper-notes.md erratum 4: sigma* = 1/(2 sqrt 2) for every type, price and
    # revenue sech(2 sqrt 2) = 0.1177999.
    assert sol.revenue == pytest.approx(1 / math.cosh(2 * math.sqrt(2)), abs=1e-9)
    assert np.all(sol.speed == 1.0)
    assert sol.model.volatility == pytest.approx(1 / (2 * math.sqrt(2)), rel=1e-14)
    np.testing.assert_allclose(sol.price, 1 / math.cosh(2 * math.sqrt(2)), atol=1e-12)
    # welfare = int_1^2 sech(2 sqrt r) dr, by adaptive quadrature.
    welfare, _ = integrate.quad(lambda r: 1 / math.cosh(2 * math.sqrt(r)), 1, 2, epsabs=1e-14)
    assert sol.welfare == pytest.approx(welfare, abs=1e-10)
    assert "non-increasing: holds" in sol.notes
    assert menu_ic_report(sol, example_diffusion()).passes(1e-9)


def test_screen_diffusion_singular_density_is_a_posted_price():
    # Beta(0.5, 5) has an infinite density at low; the pointwise schedule is s = 1 on an
    # interval [low, r*], so its revenue must be max_r G(r) U_1(r) (found here by Brent).
    urgency = Beta(0.5, 5.0, 0.1, 5.0)
    prior = [0.7, 0.3]
    model = Diffusion(Quadratic(2), prior, CHI)
    sol = screen_diffusion(Quadratic(2), prior, CHI, urgency, np.linspace(0.1, 5.0, 201))
    best = optimize.minimize_scalar(
        lambda r: -float(urgency.cdf(r) * model.utility(r)),
        bounds=(0.3, 0.8),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert sol.revenue == pytest.approx(-best.fun, abs=1e-9)
    assert menu_ic_report(sol, model).passes(1e-9)


def test_screen_diffusion_falls_back_to_a_posted_price():
    # Two clusters of types: the pointwise schedule serves both ends and excludes the middle,
    # which no IC menu can do; the fallback is the best posted price for the full model.
    urgency = Mixture([(0.5, Uniform(0.1, 0.2)), (0.5, Uniform(5.0, 6.0))])
    prior = [0.7, 0.3]
    model = Diffusion(Quadratic(2), prior, CHI)
    sol = screen_diffusion(Quadratic(2), prior, CHI, urgency, np.linspace(0.1, 6.0, 201))
    assert "fell back to a posted price" in sol.notes
    # G(r) U_1(r) increases on [0.1, 0.2] (G = 5(r - 0.1)) and is below 0.5 U_1(5) on [5, 6],
    # so the best posted price serves [0.1, 0.2]: revenue G(0.2) U_1(0.2) = U_1(0.2) / 2.
    r = np.linspace(0.1, 6.0, 20_001)
    assert np.all((urgency.cdf(r) * model.utility(r)) <= 0.5 * model.utility(0.2) + 1e-15)
    assert sol.revenue == pytest.approx(0.5 * float(model.utility(0.2)), rel=1e-12)
    assert list(sol.speed > 0) == list(np.linspace(0.1, 6.0, 201) <= 0.2 + 1e-12)
    assert menu_ic_report(sol, model).passes(1e-9)


def test_screen_diffusion_shannon_is_incentive_compatible():
    sol = screen_diffusion(Shannon(2), HALF, CHI, PAPER_URGENCY, PAPER_GRID)
    model = Diffusion(Shannon(2), HALF, CHI)
    served = list(sol.grid[sol.speed > 0])
    # s in {0, 1} on an interval, so revenue = G(r*) U_1(r*) with r* the last served type.
    r_star = optimize.brentq(
        lambda r: float(model.utility(r) + (r - 1) * model.utility_dr(r)), 1.2, 1.9, xtol=1e-14
    )  # first-order condition of max (r - 1) U_1(r)
    assert max(served) <= r_star < max(served) + 0.005
    assert sol.revenue == pytest.approx((r_star - 1) * float(model.utility(r_star)), abs=1e-9)
    assert menu_ic_report(sol, model).passes(1e-9)


def test_golden_max_finds_an_interior_maximum():
    a, b = np.array([0.0, 0.0]), np.array([1.0, 3.0])
    x, f = _golden_max(lambda x: -((x - np.array([0.3, 2.5])) ** 2), a, b)
    np.testing.assert_allclose(x, [0.3, 2.5], atol=1e-8)
