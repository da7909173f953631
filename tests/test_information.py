"""Entropies and Bregman divergences (Section 2, footnote 4, Assumption 1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr

from market.theory.information import (
    AssumptionViolation,
    Mahalanobis,
    Quadratic,
    Shannon,
    check_belief,
    make_entropy,
)


def test_paper_divergence_is_one_quarter():
    # Section 3.1: D(0 | 0.5) = D(1 | 0.5) = 1/4 for H = 1/2 |mu|^2.
    assert np.allclose(Quadratic(2).divergences(np.array([0.5, 0.5])), [0.25, 0.25], atol=1e-15)


def test_quadratic_reproduces_the_example_constraint():
    # docs/paper-notes.md: for the scalar belief p, H(p) = 1/2 (p^2 + (1-p)^2) has H'' = 2, so
    # E[dH] = 1/2 * 2 * E[dp^2] = E[dp^2]: (Info.) is E[(mu_{t+s} - mu_t)^2] <= chi s.
    ent = Quadratic(2)
    p, h = 0.3, 1e-4
    second = (
        ent.value(np.array([1 - p - h, p + h]))
        - 2 * ent.value(np.array([1 - p, p]))
        + ent.value(np.array([1 - p + h, p - h]))
    ) / h**2
    assert second == pytest.approx(2.0, rel=1e-6)


def test_shannon_divergence_is_kl():
    # D(e_theta | mu) = KL(e_theta || mu) = -log mu_theta; KL computed by scipy's rel_entr.
    mu = np.array([0.1, 0.2, 0.3, 0.4])
    expected = [rel_entr(np.eye(4)[k], mu).sum() for k in range(4)]
    assert np.allclose(Shannon(4).divergences(mu), expected, rtol=1e-14)


def test_mahalanobis_divergence_by_hand():
    # D(e | mu) = 1/2 (e - mu)' A (e - mu) for H = 1/2 mu' A mu.
    a = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    mu = np.array([0.2, 0.5, 0.3])
    expected = [0.5 * (e - mu) @ a @ (e - mu) for e in np.eye(3)]
    assert np.allclose(Mahalanobis(a).divergences(mu), expected, rtol=1e-14)


def test_shannon_stationary_divergence_is_log_n():
    # docs/paper-notes.md: at the uniform belief D(e_theta | mu) = log n.
    assert np.allclose(Shannon(5).divergences(np.full(5, 0.2)), np.log(5))


def _random_entropy(kind, n, seed):
    if kind == "quadratic":
        return Quadratic(n)
    if kind == "shannon":
        return Shannon(n)
    rng = np.random.default_rng(seed)
    b = rng.normal(size=(n, n))
    return Mahalanobis(b @ b.T + n * np.eye(n))


def _homogeneous(ent, x):
    # Degree-1 homogeneous extension of H (footnote 4): s H(x / s), s = sum(x).
    s = x.sum()
    return s * ent.value(x / s)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["quadratic", "shannon", "mahalanobis"]),
    n=st.integers(2, 6),
    seed=st.integers(0, 10_000),
)
def test_normalised_derivatives(kind, n, seed):
    ent = _random_entropy(kind, n, seed)
    mu = np.random.default_rng(seed).dirichlet(np.ones(n))
    mu = (mu + 0.05) / (1 + 0.05 * n)
    grad, hess = ent.gradient(mu), ent.hessian(mu)
    # Footnote 4: grad . mu = H(mu), Hess mu = 0.
    assert grad @ mu == pytest.approx(ent.value(mu), abs=1e-12)
    assert np.allclose(hess @ mu, 0, atol=1e-10)
    # Independent method: central finite differences of the homogeneous extension.
    h = 1e-5
    fd_grad = np.array(
        [
            (_homogeneous(ent, mu + h * e) - _homogeneous(ent, mu - h * e)) / (2 * h)
            for e in np.eye(n)
        ]
    )
    assert np.allclose(grad, fd_grad, atol=1e-7)
    h = 1e-4
    fd_hess = np.array(
        [
            [
                (
                    _homogeneous(ent, mu + h * ei + h * ej)
                    - _homogeneous(ent, mu + h * ei - h * ej)
                    - _homogeneous(ent, mu - h * ei + h * ej)
                    + _homogeneous(ent, mu - h * ei - h * ej)
                )
                / (4 * h * h)
                for ej in np.eye(n)
            ]
            for ei in np.eye(n)
        ]
    )
    assert np.allclose(hess, fd_hess, atol=1e-5 * max(1, np.abs(hess).max()))
    # Block of the Hessian equals the rows/columns of the full one.
    idx = np.array([0, n - 1])
    assert np.allclose(ent.hessian_block(mu, idx), hess[np.ix_(idx, idx)], atol=1e-12)
    # Sigma^{-1} 1 (closed form for Shannon) against a dense solve, on a proper subset of
    # states (the full normalised Hessian is singular).
    idx = np.arange(n - 1)
    direct = np.linalg.solve(hess[np.ix_(idx, idx)], np.ones(n - 1))
    assert np.allclose(ent.rate_direction(mu, idx), direct, rtol=1e-9)
    # Divergences from the definition D = H(e) - H(mu) - grad . (e - mu).
    direct = [ent.divergence(e, mu) for e in np.eye(n)]
    assert np.allclose(ent.divergences(mu), direct, atol=1e-12)


def test_information_to_learn_for_the_example():
    # docs/paper-notes.md: constant delay is feasible iff t >= (sum mu0 H(e) - H(mu0)) / chi = 2.
    assert Quadratic(2).information_to_learn(np.array([0.5, 0.5])) / 0.125 == pytest.approx(2.0)


def test_quadratic_violates_assumption_1iii_for_three_states():
    # docs/paper-notes.md erratum 6: mu = (0.9, 0.05, 0.05), states 2 and 3.
    with pytest.raises(AssumptionViolation, match=r"Assumption 1\(iii\).*e_1.*e_2"):
        Quadratic(3).check_assumption1(np.array([0.9, 0.05, 0.05]))
    Shannon(3).check_assumption1(np.array([0.9, 0.05, 0.05]))


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1.0, 0.5], [0.2, 1.0]], "expected a symmetric matrix"),
        ([[1.0, 2.0], [2.0, 1.0]], "expected a positive-definite matrix"),
        ([[1.0, 0.0, 0.0]], "expected a square matrix"),
    ],
)
def test_bad_matrices(matrix, message):
    with pytest.raises(AssumptionViolation, match=message):
        Mahalanobis(matrix)


def test_make_entropy_errors():
    with pytest.raises(AssumptionViolation, match="required when entropy = 'mahalanobis'"):
        make_entropy("mahalanobis", 2)
    with pytest.raises(AssumptionViolation, match="is 3 x 3 but the prior has 2 states"):
        make_entropy("mahalanobis", 2, np.eye(3))
    with pytest.raises(AssumptionViolation, match="expected 'quadratic', 'shannon'"):
        make_entropy("renyi", 2)


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ([0.6, 0.6], "must sum to 1"),
        ([1.0], "at least 2"),
        ([1.2, -0.2], "must be > 0"),
        ([1.0, 0.0], "must be > 0"),
    ],
)
def test_bad_priors(prior, message):
    with pytest.raises(AssumptionViolation, match=message):
        check_belief(prior)
