"""Tests of market.urgency: each expected number comes from a closed form, from scipy.stats
(an independent implementation) or from an independent numerical method, named in a comment.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from market.theory.urgency import (
    Beta,
    Mixture,
    TruncNormal,
    Uniform,
    UrgencyDistribution,
    UrgencyError,
    make_urgency,
)

# A three-component mixture with overlapping supports, a kink of g at 1.2, 1.5, 1.7, 2.0
# and an infinite density at 1.7 (Beta a = 0.5).
MIXTURE = Mixture(
    [
        (2.0, Uniform(1.0, 1.5)),
        (1.0, TruncNormal(1.8, 0.1, 1.2, 2.0)),
        (1.0, Beta(0.5, 2.0, 1.7, 2.5)),
    ]
)
# Two uniforms with a gap (1.2, 1.5) where g = 0.
GAPPED = Mixture([(1.0, Uniform(1.0, 1.2)), (1.0, Uniform(1.5, 2.0))])

DISTRIBUTIONS = {
    "uniform": Uniform(1.0, 2.0),
    "truncnorm_inside": TruncNormal(1.4, 0.3, 1.0, 2.0),
    "truncnorm_above": TruncNormal(5.0, 0.3, 1.0, 2.0),  # low sits 13 sd below the mean
    "truncnorm_below": TruncNormal(-3.0, 0.3, 1.0, 2.0),  # low sits 13 sd above the mean
    "beta_2_3": Beta(2.0, 3.0, 1.0, 2.0),
    "beta_singular": Beta(0.5, 0.7, 1.0, 2.0),  # g infinite at both ends
    "beta_5_08": Beta(5.0, 0.8, 0.5, 3.0),
    "mixture": MIXTURE,
    "gapped": GAPPED,
}


def scipy_truncnorm(d: TruncNormal):
    return stats.truncnorm(
        (d.low - d.mu) / d.sigma, (d.high - d.mu) / d.sigma, loc=d.mu, scale=d.sigma
    )


def scipy_beta(d: Beta):
    return stats.beta(d.a, d.b, loc=d.low, scale=d.high - d.low)


def interior(d: UrgencyDistribution, n: int = 2001) -> np.ndarray:
    """Points strictly inside the support, avoiding the breakpoints."""
    return np.linspace(d.low, d.high, n)[1:-1] + 1e-7 * (d.high - d.low)


# -- Uniform: closed forms ----------------------------------------------------------------
def test_uniform_closed_forms():
    d = Uniform(1.0, 3.0)
    r = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0])
    # G = (r - 1)/2 clipped to [0, 1]; g = 1/2 on [1, 3]; by hand.
    np.testing.assert_array_equal(d.cdf(r), [0.0, 0.0, 0.25, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(d.pdf(r), [0.0, 0.5, 0.5, 0.5, 0.5, 0.0])
    expected = [-np.inf, -np.inf, math.log(0.25), math.log(0.5), 0.0, 0.0]
    np.testing.assert_allclose(d.log_cdf(r), expected, rtol=1e-15)
    np.testing.assert_array_equal(d.pdf_derivative(r), 0.0)
    np.testing.assert_array_equal(d.ppf([0.0, 0.25, 1.0]), [1.0, 1.5, 3.0])
    assert d.mean() == 2.0
    assert d.breakpoints() == (1.0, 3.0)
    assert d.kind == "uniform"


def test_uniform_paper_example_token_cap():
    # Section 3.1: r ~ U[1, 2] and chi = 1/8 give the token cap chi g/G = 1/(8 (r - 1)).
    d, chi = Uniform(1.0, 2.0), 1 / 8
    r = np.array([1.0 + 1e-12, 1.1, 1.5, 2.0])
    np.testing.assert_allclose(chi * d.reverse_hazard(r), 1 / (8 * (r - 1)), rtol=1e-15)


def test_uniform_log_cdf_near_low_exact():
    # r - low = 2^-40 exactly, so log G = -40 log 2 - log(high - low) exactly (by hand).
    d = Uniform(1.0, 2.0)
    assert d.log_cdf(1.0 + 2.0**-40) == pytest.approx(-40 * math.log(2.0), rel=1e-16)
    assert d.reverse_hazard(1.0 + 2.0**-40) == 2.0**40


# -- TruncNormal and Beta against scipy.stats (independent implementations) ----------------
@pytest.mark.parametrize("name", ["truncnorm_inside", "truncnorm_above", "truncnorm_below"])
def test_truncnorm_matches_scipy(name):
    d = DISTRIBUTIONS[name]
    ref = scipy_truncnorm(d)
    r = np.linspace(0.9, 2.1, 1201)
    inside = (r > d.low) & (r < d.high)
    np.testing.assert_allclose(d.pdf(r[inside]), ref.pdf(r[inside]), rtol=1e-12, atol=0)
    # scipy's truncnorm loses ~1e-11 relative right above low (it subtracts log_ndtr values);
    # ours is checked against a series to 1e-14 in test_truncnorm_log_cdf_near_low_series.
    np.testing.assert_allclose(d.cdf(r), ref.cdf(r), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(d.log_cdf(r[inside]), ref.logcdf(r[inside]), rtol=1e-9)
    u = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(d.ppf(u), ref.ppf(u), rtol=0, atol=1e-12)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-13)


@pytest.mark.parametrize("name", ["beta_2_3", "beta_singular", "beta_5_08"])
def test_beta_matches_scipy(name):
    d = DISTRIBUTIONS[name]
    ref = scipy_beta(d)
    r = np.linspace(0.4, 3.1, 1201)
    inside = (r > d.low) & (r < d.high)
    np.testing.assert_allclose(d.pdf(r[inside]), ref.pdf(r[inside]), rtol=1e-12)
    assert np.all(d.pdf(r[~inside]) == 0)
    np.testing.assert_allclose(d.cdf(r), ref.cdf(r), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(d.log_cdf(r[inside]), ref.logcdf(r[inside]), rtol=1e-12)
    u = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(d.ppf(u), ref.ppf(u), rtol=0, atol=1e-12)
    assert d.mean() == pytest.approx(ref.mean(), rel=1e-14)


def test_beta_one_one_is_uniform():
    # Beta(1, 1) on [1, 2] is U[1, 2] (closed form).
    beta, uni = Beta(1.0, 1.0, 1.0, 2.0), Uniform(1.0, 2.0)
    r = np.linspace(1.0, 2.0, 101)
    np.testing.assert_allclose(beta.cdf(r), uni.cdf(r), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(beta.pdf(r), uni.pdf(r), rtol=1e-14)
    np.testing.assert_allclose(beta.pdf_derivative(r), 0.0, atol=1e-13)


def test_beta_infinite_density_at_the_ends():
    # z^(a-1) with a < 1 is infinite at z = 0, (1-z)^(b-1) with b < 1 at z = 1.
    d = DISTRIBUTIONS["beta_singular"]
    assert d.pdf(d.low) == np.inf and d.pdf(d.high) == np.inf
    assert d.pdf_derivative(d.low) == -np.inf and d.pdf_derivative(d.high) == np.inf
    assert d.reverse_hazard(d.high) == np.inf
    # a > 1: the density vanishes at low; a = 1: it is finite (b / width = 3 for Beta(1, 3)).
    assert DISTRIBUTIONS["beta_2_3"].pdf(1.0) == 0.0
    assert Beta(1.0, 3.0, 1.0, 2.0).pdf(1.0) == pytest.approx(3.0, rel=1e-15)


# -- log G near low, against high-precision values from series ------------------------------
def normal_mass_series(alpha: float, h: float, terms: int = 30) -> float:
    """Phi(alpha + h) - Phi(alpha) by the Hermite series of phi(alpha + s) = phi(alpha)
    sum_n He_n(alpha) (-s)^n / n! (the generating function of He_n), integrated termwise.
    All terms are tiny for h <= 1e-3, so the float sum is accurate to rounding."""
    he_prev, he = 1.0, alpha  # He_0, He_1
    total = h  # n = 0 term
    power = h
    for n in range(1, terms):
        power *= -h / (n + 1)  # (-1)^n h^(n+1) / (n+1)!
        total += he * power
        he_prev, he = he, alpha * he - n * he_prev
    return math.exp(-0.5 * alpha * alpha) / math.sqrt(2 * math.pi) * total


@pytest.mark.parametrize("name", ["truncnorm_inside", "truncnorm_above", "truncnorm_below"])
@pytest.mark.parametrize("h", [1e-3, 1e-6, 1e-9, 1e-12])
def test_truncnorm_log_cdf_near_low_series(name, h):
    d = DISTRIBUTIONS[name]
    alpha, beta = (d.low - d.mu) / d.sigma, (d.high - d.mu) / d.sigma
    r = d.low + h * d.sigma
    x = (r - d.mu) / d.sigma
    # The implementation's standardised offset from low: x - alpha, or (r - low) / sigma on the
    # one-sided route of an interval far from the mean (measured from the end).
    offset = (r - d.low) / d.sigma if d._side is not None else x - alpha
    x = alpha + offset
    # Z on the side of the mean where ndtr does not cancel (mass >= 1e-40 here).
    z = (
        special.ndtr(-alpha) - special.ndtr(-beta)
        if alpha > 0
        else special.ndtr(beta) - special.ndtr(alpha)
    )
    expected = math.log(normal_mass_series(alpha, offset)) - math.log(z)
    assert float(d.log_cdf(r)) == pytest.approx(expected, rel=0, abs=5e-14)
    # g/G = phi(x) / (sigma * mass): the same series.
    expected_rh = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) / d.sigma
    expected_rh /= normal_mass_series(alpha, offset)
    assert float(d.reverse_hazard(r)) == pytest.approx(expected_rh, rel=5e-14)


def beta_lower_series(z: float, a: float, b: float, terms: int = 40) -> float:
    """log I_z(a, b) = log(z^a (1-z)^b / (a B(a, b)) sum_k (a+b)_k / (a+1)_k z^k)
    (Abramowitz & Stegun 26.5.23), summed in floats with B from math.lgamma: independent
    of scipy's betainc and hyp2f1."""
    total, term = 0.0, 1.0
    for k in range(terms):
        total += term
        term *= (a + b + k) / (a + 1 + k) * z
    log_b = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return a * math.log(z) + b * math.log1p(-z) - math.log(a) - log_b + math.log(total)


@pytest.mark.parametrize("a, b", [(2.0, 3.0), (0.5, 0.7), (5.0, 0.8)])
@pytest.mark.parametrize("offset", [1e-3, 1e-8, 1e-100, 1e-200, 1e-300])
def test_beta_log_cdf_near_low_series(a, b, offset):
    # low = 1e-305 so that r - low can be 1e-300: G(r) is then far below the float range
    # for a >= 2 and betainc underflows; log G must not.
    d = Beta(a, b, 1e-305, 1.0)
    r = d.low + offset
    z = (r - d.low) / (d.high - d.low)
    assert float(d.log_cdf(r)) == pytest.approx(beta_lower_series(z, a, b), rel=1e-14)
    # g/G ~ a / (r - low) near low; exactly g / G with g from its closed form.
    log_g = (a - 1) * math.log(z) + (b - 1) * math.log1p(-z) - math.lgamma(a) - math.lgamma(b)
    log_g += math.lgamma(a + b)
    expected_rh = math.exp(log_g - beta_lower_series(z, a, b))
    assert float(d.reverse_hazard(r)) == pytest.approx(expected_rh, rel=1e-12)


@pytest.mark.parametrize(
    "a, b, u", [(5.0, 0.8, 1e-200), (20.0, 0.3, 1e-245), (2.0, 0.3, 1e-40), (0.5, 0.7, 1e-150)]
)
def test_beta_ppf_far_in_the_lower_tail(a, b, u):
    # There scipy's betaincinv returns nan or a wrong z (z < 1e-16); the quantile must still
    # solve I_z(a, b) = u, checked with the series: |d log I| = a |dz / z| <= a 1e-12.
    d = Beta(a, b, 1e-305, 1.0)
    z = (float(d.ppf(u)) - d.low) / (d.high - d.low)
    assert beta_lower_series(z, a, b) == pytest.approx(math.log(u), rel=0, abs=1e-12 * a)


def test_log_cdf_near_high_keeps_one_minus_g():
    # Beta(2, 3): 1 - G = I_w(3, 2) with w = (high - r)/width = 1e-12, so
    # log G = log1p(-I_w(3, 2)) ~ -4e-36 (series above with a, b swapped).
    d = Beta(2.0, 3.0, 1.0, 2.0)
    w = (2.0 - (2.0 - 1e-12)) / 1.0
    expected = -math.exp(beta_lower_series(w, 3.0, 2.0))
    assert float(d.log_cdf(2.0 - 1e-12)) == pytest.approx(expected, rel=1e-9)


# -- properties of every distribution --------------------------------------------------------
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_pdf_integrates_to_one_and_mean(name):
    # scipy.integrate.quad (QAGS, whose extrapolation copes with the integrable end
    # singularities of the Beta densities), piece by piece between breakpoints.
    d = DISTRIBUTIONS[name]
    points = d.breakpoints()

    def integral(f):
        return sum(
            integrate.quad(f, lo, hi, epsabs=1e-11, epsrel=1e-11, limit=200)[0]
            for lo, hi in zip(points[:-1], points[1:], strict=True)
        )

    assert integral(lambda r: float(d.pdf(r))) == pytest.approx(1.0, abs=1e-9)
    assert d.mean() == pytest.approx(integral(lambda r: r * float(d.pdf(r))), abs=1e-9)


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_reverse_hazard_is_pdf_over_cdf(name):
    d = DISTRIBUTIONS[name]
    r = interior(d)
    np.testing.assert_allclose(d.reverse_hazard(r), d.pdf(r) / d.cdf(r), rtol=1e-12)
    # Conventions: inf at low, 0 above high, nan below low (0/0).
    np.testing.assert_array_equal(
        d.reverse_hazard([d.low, d.high + 1.0, d.low - 0.1]), [np.inf, 0.0, np.nan]
    )


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_pdf_derivative_matches_finite_difference(name):
    # Central difference with step 1e-6 width: error O(step^2 g''') plus rounding O(eps g /
    # step), below 1e-6 relative to the largest |g'| + g here; points away from breakpoints.
    d = DISTRIBUTIONS[name]
    width = d.high - d.low
    r = np.linspace(d.low, d.high, 997)[1:-1]
    near = np.min(np.abs(r[:, None] - np.array(d.breakpoints())[None, :]), axis=1)
    r = r[near > 1e-3 * width]
    step = 1e-6 * width
    fd = (d.pdf(r + step) - d.pdf(r - step)) / (2 * step)
    scale = np.max(np.abs(fd)) + np.max(d.pdf(r))
    np.testing.assert_allclose(d.pdf_derivative(r), fd, rtol=0, atol=1e-6 * scale)


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_outside_support_and_nan(name):
    d = DISTRIBUTIONS[name]
    r = np.array([d.low - 0.5, d.low, d.high, d.high + 0.5, np.nan])
    np.testing.assert_array_equal(d.cdf(r), [0.0, 0.0, 1.0, 1.0, np.nan])
    np.testing.assert_array_equal(d.log_cdf(r), [-np.inf, -np.inf, 0.0, 0.0, np.nan])
    assert d.pdf(r)[0] == 0 and d.pdf(r)[3] == 0 and np.isnan(d.pdf(r)[4])
    assert d.pdf_derivative(r)[0] == 0 and d.pdf_derivative(r)[3] == 0
    np.testing.assert_array_equal(
        d.ppf([0.0, 1.0, -0.1, 1.1, np.nan]), [d.low, d.high, np.nan, np.nan, np.nan]
    )


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_vectorised_shapes(name):
    d = DISTRIBUTIONS[name]
    r = np.linspace(d.low, d.high, 12).reshape(3, 4)
    for method in (d.pdf, d.cdf, d.log_cdf, d.pdf_derivative, d.reverse_hazard):
        assert method(r).shape == (3, 4)
        assert np.shape(method(float(r[1, 1]))) == ()
        assert float(method(float(r[1, 1]))) == pytest.approx(method(r)[1, 1], rel=1e-15)
    assert d.ppf(np.full((2, 5), 0.3)).shape == (2, 5)


# -- quantiles ------------------------------------------------------------------------------
SMOOTH = [k for k in DISTRIBUTIONS if k != "gapped"]


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(SMOOTH), z=st.floats(0.0, 1.0))
def test_ppf_inverts_cdf(name, z):
    # r -> G(r) -> G^{-1}: exact up to the conditioning of G^{-1}, |dr| = |dG| / g with
    # |dG| ~ eps (hence the 1e-15 / g term where g is small).
    d = DISTRIBUTIONS[name]
    r = d.low + z * (d.high - d.low)
    back = float(d.ppf(d.cdf(r)))
    g = float(d.pdf(r))
    assert abs(back - r) <= 1e-12 * (d.high - d.low) + 1e-15 / max(g, 1e-300)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(list(DISTRIBUTIONS)), u=st.floats(0.0, 1.0))
def test_cdf_inverts_ppf(name, u):
    # u -> G^{-1}(u) -> G: exact up to the error of r times g (large where g is infinite).
    d = DISTRIBUTIONS[name]
    r = float(d.ppf(u))
    g = float(d.pdf(r))
    assert abs(float(d.cdf(r)) - u) <= 1e-14 + 1e-13 * (d.high - d.low) * min(g, 1e6)


def test_mixture_ppf_against_brentq():
    # An independent root finder (scipy.optimize.brentq) on G(r) - u.
    u = np.array([1e-12, 0.01, 0.3, 0.5, 0.5000001, 0.6, 0.75, 0.9, 0.999])
    ref = [
        optimize.brentq(lambda r, v=v: float(MIXTURE.cdf(r)) - v, 1.0, 2.5, xtol=1e-15) for v in u
    ]
    np.testing.assert_allclose(MIXTURE.ppf(u), ref, rtol=0, atol=1e-13)


def test_mixture_ppf_large_vector():
    u = np.random.default_rng(20250101).random(50_000)
    r = MIXTURE.ppf(u)
    g = MIXTURE.pdf(r)
    assert np.all(np.abs(MIXTURE.cdf(r) - u) <= 1e-14 + 1.5e-13 * np.minimum(g, 1e6))


def test_gapped_mixture_flat_cdf():
    # G = 0.5 on the gap [1.2, 1.5], g = 0 inside it; G^{-1}(0.5) = inf{r: G >= 0.5} = 1.2.
    r = np.array([1.25, 1.3, 1.45])
    np.testing.assert_allclose(GAPPED.cdf(r), 0.5, rtol=1e-15)
    np.testing.assert_array_equal(GAPPED.pdf(r), 0.0)
    np.testing.assert_array_equal(GAPPED.reverse_hazard(r), 0.0)
    assert float(GAPPED.ppf(0.5)) == pytest.approx(1.2, abs=1e-13)
    # Just above 0.5, the second uniform: 1.5 + (u - 0.5) * 0.5 / 0.5.
    assert float(GAPPED.ppf(0.5 + 1e-6)) == pytest.approx(1.5 + 1e-6, abs=1e-13)


# -- Mixture against its components --------------------------------------------------------
def test_mixture_is_weighted_sum():
    # Weights 2:1:1 normalise to 1/2, 1/4, 1/4; components by scipy.stats.
    w = np.array([0.5, 0.25, 0.25])
    refs = [
        stats.uniform(loc=1.0, scale=0.5),
        scipy_truncnorm(MIXTURE.components[1]),
        scipy_beta(MIXTURE.components[2]),
    ]
    r = interior(MIXTURE)
    np.testing.assert_allclose(MIXTURE.weights, w, rtol=1e-15)
    np.testing.assert_allclose(
        MIXTURE.cdf(r),
        sum(wk * f.cdf(r) for wk, f in zip(w, refs, strict=True)),
        rtol=1e-9,
        atol=1e-15,
    )
    np.testing.assert_allclose(
        MIXTURE.pdf(r), sum(wk * f.pdf(r) for wk, f in zip(w, refs, strict=True)), rtol=1e-12
    )
    np.testing.assert_allclose(MIXTURE.log_cdf(r), np.log(MIXTURE.cdf(r)), rtol=1e-13, atol=1e-15)
    assert MIXTURE.mean() == pytest.approx(
        sum(wk * f.mean() for wk, f in zip(w, refs, strict=True)), rel=1e-13
    )
    assert (MIXTURE.low, MIXTURE.high) == (1.0, 2.5)
    assert MIXTURE.breakpoints() == (1.0, 1.2, 1.5, 1.7, 2.0, 2.5)


def test_mixture_near_low_is_its_lowest_component():
    # Below 1.2 only the uniform on [1, 1.5] (weight 1/2) has mass: G = (r - 1), g/G = 1/(r-1).
    r = 1.0 + np.array([2.0**-50, 1e-12, 1e-6, 1e-3])
    np.testing.assert_allclose(MIXTURE.log_cdf(r), np.log(r - 1.0), rtol=1e-15)
    np.testing.assert_allclose(MIXTURE.reverse_hazard(r), 1 / (r - 1.0), rtol=1e-14)


def test_mixture_log_cdf_below_the_float_range():
    # Near low only the Beta(3, 2) on [1e-305, 1] (weight 1/4) has mass; there G ~ 1e-600
    # underflows, but log G = log(1/4) + log I_z(3, 2) (series above) and
    # g/G = g_beta / I_z(3, 2) do not.
    beta = Beta(3.0, 2.0, 1e-305, 1.0)
    mix = Mixture([(1.0, beta), (3.0, Uniform(0.5, 1.0))])
    r = np.array([1e-200, 1e-100, 1e-10])
    z = (r - beta.low) / (beta.high - beta.low)
    log_i = np.array([beta_lower_series(zk, 3.0, 2.0) for zk in z])
    np.testing.assert_allclose(mix.log_cdf(r), math.log(0.25) + log_i, rtol=1e-14)
    log_g = 2 * np.log(z) + np.log1p(-z) + math.log(12.0)  # 1 / B(3, 2) = 12
    np.testing.assert_allclose(mix.reverse_hazard(r), np.exp(log_g - log_i), rtol=1e-12)


# -- sampling ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_sample_reproducible_and_mean(name):
    d = DISTRIBUTIONS[name]
    n, seed = 10_000, 12345
    draws = d.sample(seed, n)
    # Reproducible, and by inversion of the same uniforms (common random numbers).
    np.testing.assert_array_equal(draws, d.ppf(np.random.default_rng(seed).random(n)))
    np.testing.assert_array_equal(draws[:100], d.sample(np.random.default_rng(seed), 100))
    assert not np.array_equal(draws[:100], d.sample(seed + 1, 100))
    assert np.all((draws >= d.low) & (draws <= d.high))
    # Sample mean within 5 standard errors (seed 12345, n = 10000).
    assert abs(draws.mean() - d.mean()) <= 5 * draws.std() / math.sqrt(n)


def test_sample_shape():
    assert Uniform(1.0, 2.0).sample(0, (3, 4)).shape == (3, 4)


# -- scenario tables ------------------------------------------------------------------------
@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_describe_round_trip(name):
    d = DISTRIBUTIONS[name]
    rebuilt = make_urgency(d.describe())
    assert type(rebuilt) is type(d) and rebuilt.describe() == d.describe()
    r = np.linspace(d.low, d.high, 11)
    np.testing.assert_array_equal(rebuilt.cdf(r), d.cdf(r))


def test_make_urgency_builds_each_kind():
    spec = {
        "distribution": "mixture",
        "components": [
            {"distribution": "uniform", "low": 1, "high": 1.5, "weight": 2.0},
            {
                "distribution": "truncnorm",
                "mean": 1.8,
                "sd": 0.1,
                "low": 1.2,
                "high": 2,
                "weight": 1,
            },
            {"distribution": "beta", "a": 0.5, "b": 2, "low": 1.7, "high": 2.5, "weight": 1},
        ],
    }
    d = make_urgency(spec)
    assert isinstance(d, Mixture) and d.describe() == MIXTURE.describe()
    assert isinstance(make_urgency({"distribution": "uniform", "low": 1, "high": 2}), Uniform)


BAD_PARAMETERS = [
    (lambda: Uniform(2.0, 1.0), "low = 2.0: expected 0 < low < high = 1.0"),
    (lambda: Uniform(0, 1), "low = 0: expected 0 < low < high = 1"),
    (lambda: Uniform(-1.0, 1.0), "low = -1.0: expected 0 < low < high = 1.0"),
    (lambda: Uniform(1.0, math.inf), "high = inf: expected a finite number"),
    (lambda: Uniform("a", 2.0), "low = 'a': expected a number"),
    (lambda: Uniform(True, 2.0), "low = True: expected a number"),
    (lambda: TruncNormal(1.5, -1, 1.0, 2.0), "sd = -1: expected sd > 0"),
    (lambda: TruncNormal(1.5, 0, 1.0, 2.0), "sd = 0: expected sd > 0"),
    (lambda: TruncNormal(math.nan, 1, 1.0, 2.0), "mean = nan: expected a finite number"),
    (lambda: Beta(0, 1.0, 1.0, 2.0), "a = 0: expected a > 0"),
    (lambda: Beta(1.0, -2.5, 1.0, 2.0), "b = -2.5: expected b > 0"),
    (
        lambda: Mixture([(1.0, Uniform(1, 2)), (0, Uniform(1, 2))]),
        "components[1].weight = 0: expected weight > 0",
    ),
    (lambda: Mixture([]), "components = []: expected at least one"),
    (lambda: Mixture([(1.0, "uniform")]), "components[0] = (1.0, 'uniform'): expected a (weight"),
]


@pytest.mark.parametrize("build, message", BAD_PARAMETERS)
def test_bad_parameters(build, message):
    with pytest.raises(UrgencyError, match=re.escape(message)):
        build()


def test_urgency_error_is_value_error():
    assert issubclass(UrgencyError, ValueError)


def component(**kw):
    return {"distribution": "uniform", "low": 1.0, "high": 2.0, "weight": 1.0, **kw}


BAD_SPECS = [
    (
        {"distribution": "uniform", "low": 2.0, "high": 1.0},
        "urgency.low = 2.0: expected 0 < low < high = 1.0",
    ),
    (
        {"distribution": "truncnorm", "mean": 1.5, "sd": -1, "low": 1, "high": 2},
        "urgency.sd = -1: expected sd > 0",
    ),
    (
        {"distribution": "beta", "a": 0, "b": 1, "low": 1, "high": 2},
        "urgency.a = 0: expected a > 0",
    ),
    (
        {"distribution": "gamma", "low": 1, "high": 2},
        "urgency.distribution = 'gamma': expected 'uniform', 'truncnorm', 'beta' or 'mixture'",
    ),
    ({"low": 1, "high": 2}, "urgency.distribution: missing"),
    ({"distribution": "uniform", "low": 1}, "urgency.high: missing (required for 'uniform')"),
    (
        {"distribution": "uniform", "low": 1, "high": 2, "scale": 3},
        "urgency.scale: unknown key for 'uniform' (expected distribution, low, high)",
    ),
    ([1, 2], "urgency = [1, 2]: expected a table"),
    (
        {"distribution": "mixture", "components": []},
        "urgency.components = []: expected a non-empty",
    ),
    (
        {
            "distribution": "mixture",
            "components": [
                component(),
                {"distribution": "truncnorm", "mean": 1.5, "low": 1, "high": 2, "weight": 1},
            ],
        },
        "urgency.components[1].sd: missing (required for 'truncnorm')",
    ),
    (
        {"distribution": "mixture", "components": [component(), component(weight=0)]},
        "urgency.components[1].weight = 0: expected weight > 0",
    ),
    (
        {"distribution": "mixture", "components": [component(weight=None)]},
        "urgency.components[0].weight = None: expected a number",
    ),
    (
        {
            "distribution": "mixture",
            "components": [{"distribution": "uniform", "low": 1, "high": 2}],
        },
        "urgency.components[0].weight: missing",
    ),
    (
        {"distribution": "mixture", "components": [component(low=3.0)]},
        "urgency.components[0].low = 3.0: expected 0 < low < high = 2.0",
    ),
    (
        {"distribution": "mixture", "components": [{"distribution": "mixture", "components": []}]},
        "urgency.components[0].distribution = 'mixture': expected 'uniform', 'truncnorm' or 'beta'",
    ),
    (
        {"distribution": "mixture", "components": [component(), 3]},
        "urgency.components[1] = 3: expected a table",
    ),
]


@pytest.mark.parametrize("spec, message", BAD_SPECS)
def test_urgency_table_errors_name_the_field(spec, message):
    # The scenario schema validates [urgency] once; each problem names its field.
    from market.scenario import ScenarioError, scenario_from_dict

    field = re.split(r" = |: ", message)[0]
    scenario = {
        "name": "x",
        "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
        "urgency": spec,
    }
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario)
    assert field in str(err.value), str(err.value)


@pytest.mark.parametrize(("mean", "sd"), [(-6.5, 0.3), (9.5, 0.3), (1.0 - 7.0, 0.3)])
def test_truncnorm_one_sided_route_agrees_with_the_two_sided_one(monkeypatch, mean, sd):
    # Two implementations of the same law: the one-sided route (Mills ratios anchored at the
    # nearer end, for intervals >= ANCHOR sds from the mean) and the two-sided one (log-space
    # normal masses, accurate to alpha^2 eps / 2 ~ 1e-14 at alpha ~ 25), forced on intervals
    # 25 sds away.
    from market.theory.urgency import truncnorm

    monkeypatch.setattr(truncnorm, "ANCHOR", 20.0)
    one = TruncNormal(mean, sd, 1.0, 2.0)
    monkeypatch.setattr(truncnorm, "ANCHOR", math.inf)
    two = TruncNormal(mean, sd, 1.0, 2.0)
    assert one._side is not None and two._side is None
    r = np.linspace(1.0, 2.0, 41)
    np.testing.assert_allclose(one.log_pdf(r), two.log_pdf(r), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.log_cdf(r[1:]), two.log_cdf(r[1:]), rtol=1e-12)
    u = np.array([1e-9, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-9])
    np.testing.assert_allclose(one.ppf(u), two.ppf(u), rtol=0, atol=1e-12)
    assert one.mean() == pytest.approx(two.mean(), abs=1e-12)


def test_truncnorm_far_below_its_range_is_an_exponential():
    # mean -1000, sd 0.01 on [0.5, 3] (issue 8): alpha = 100050 sds. As alpha -> inf the law of
    # y = (r - low)/sd is exponential with rate alpha to O(1/alpha^2): mean sd/alpha, median
    # sd log(2)/alpha, G(low + sd y) = 1 - e^{-alpha y}.
    d = TruncNormal(-1000.0, 0.01, 0.5, 3.0)
    alpha = (0.5 + 1000.0) / 0.01
    assert d.mean() - 0.5 == pytest.approx(0.01 / alpha, rel=1e-9)
    assert float(d.ppf(0.5)) - 0.5 == pytest.approx(0.01 * math.log(2) / alpha, rel=1e-6)
    y = np.array([0.1, 1.0, 3.0]) / alpha
    np.testing.assert_allclose(d.cdf(0.5 + 0.01 * y), -np.expm1(-alpha * y), rtol=1e-5)
    assert d.pdf(0.5) == pytest.approx(alpha / 0.01, rel=1e-9)  # g(low) = alpha / sd
