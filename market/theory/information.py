r"""Generalised entropies and Bregman divergences (Zhong 2025, Section 2).

A belief :math:`\mu` lies in the simplex :math:`\Delta(\Theta)`, :math:`\Theta = \{0, \dots, n-1\}`.
An entropy :math:`H` is strictly convex and :math:`C^2`; the information a conversation
produces is the expected increase of :math:`H` (constraint (Info.)), bounded by the token rate
:math:`\chi`. Its Bregman divergence is

.. math:: D(\mu' \mid \mu) = H(\mu') - H(\mu) - \nabla H(\mu)\cdot(\mu' - \mu).

Footnote 4 normalises the derivatives through the degree-1 homogeneous extension of
:math:`H` to :math:`\mathbb{R}^n_+`: :math:`\nabla H(\mu)\cdot\mu = H(\mu)` and
:math:`\operatorname{Hess}H(\mu)\,\mu = 0`. If :math:`M` is the ordinary Hessian of the formula
for :math:`H` on :math:`\mathbb{R}^n`, the normalised Hessian is
:math:`(I - \mathbf{1}\mu^\top) M (I - \mu\mathbf{1}^\top)`, with entries
:math:`(e_i - \mu)^\top M (e_j - \mu)` (docs/paper-notes.md).

Three entropies are provided:

``quadratic``    :math:`H = \tfrac12\|\mu\|^2`;
                 :math:`D(e_\theta\mid\mu) = \tfrac12\|e_\theta-\mu\|^2`.
``mahalanobis``  :math:`H = \tfrac12\mu^\top A\mu`, :math:`A` symmetric positive definite.
``shannon``      :math:`H = \sum_i \mu_i\log\mu_i`;
                 :math:`D(e_\theta\mid\mu) = -\log\mu_\theta` (the KL divergence).
``power``        two states only: :math:`H = |\mu_1 - \tfrac12|^\alpha`, :math:`\alpha \ge 2`
                 (Section 4, endogenous reasoning quality; :math:`\alpha = 2` is the
                 quadratic entropy up to the constant :math:`\tfrac14`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "AssumptionViolation",
    "Entropy",
    "Mahalanobis",
    "Power",
    "Quadratic",
    "Shannon",
    "check_belief",
    "make_entropy",
]

#: Tolerance for a belief to count as a probability vector.
PROBABILITY_TOLERANCE = 1e-9


class AssumptionViolation(ValueError):
    """Raised when an entropy or a belief violates what the paper assumes of it."""


def check_belief(mu: ArrayLike, name: str = "prior", interior: bool = True) -> NDArray:
    """Return ``mu`` as a float array after checking that it is a probability vector.

    Parameters
    ----------
    mu : array_like
        Candidate belief.
    name : str
        Name used in error messages.
    interior : bool
        Require every entry to be strictly positive (a prior must be interior: a state of
        probability 0 can never be learned and the greedy model is defined on the interior).
    """
    arr = np.asarray(mu, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise AssumptionViolation(
            f"{name} = {np.asarray(mu).tolist()}: expected a list of at least 2 probabilities"
        )
    if not np.all(np.isfinite(arr)):
        raise AssumptionViolation(f"{name} = {arr.tolist()}: expected finite probabilities")
    if np.any(arr < 0) or (interior and np.any(arr <= 0)):
        bound = "> 0" if interior else ">= 0"
        raise AssumptionViolation(f"{name} = {arr.tolist()}: every probability must be {bound}")
    if abs(arr.sum() - 1.0) > PROBABILITY_TOLERANCE:
        raise AssumptionViolation(
            f"{name} = {arr.tolist()}: probabilities must sum to 1 (they sum to {arr.sum():.12g})"
        )
    return arr / arr.sum()


class Entropy(ABC):
    """A generalised entropy :math:`H` on the simplex of ``n`` states.

    Subclasses provide :meth:`value`, :meth:`euclidean_gradient` and
    :meth:`euclidean_hessian` (derivatives of the formula for :math:`H` on
    :math:`\\mathbb{R}^n`); the normalised derivatives and divergences follow.
    """

    name: str = "entropy"

    def __init__(self, n: int):
        if int(n) != n or n < 2:
            raise AssumptionViolation(f"number of states = {n}: expected an integer >= 2")
        self.n = int(n)

    # -- what a subclass provides -------------------------------------------------------
    @abstractmethod
    def value(self, mu: NDArray) -> float:
        """:math:`H(\\mu)`."""

    @abstractmethod
    def euclidean_gradient(self, mu: NDArray) -> NDArray:
        """Gradient of the formula for :math:`H` on :math:`\\mathbb{R}^n` at ``mu``."""

    @abstractmethod
    def euclidean_hessian(self, mu: NDArray) -> NDArray:
        """Hessian :math:`M` of the formula for :math:`H` on :math:`\\mathbb{R}^n` at ``mu``."""

    # -- derived quantities -------------------------------------------------------------
    def gradient(self, mu: NDArray) -> NDArray:
        """Normalised gradient (footnote 4): :math:`\\nabla H(\\mu)\\cdot\\mu = H(\\mu)`."""
        mu = np.asarray(mu, dtype=float)
        grad = self.euclidean_gradient(mu)
        return grad + (self.value(mu) - grad @ mu)

    def hessian(self, mu: NDArray) -> NDArray:
        """Normalised Hessian (footnote 4): :math:`(I-\\mathbf 1\\mu^T)M(I-\\mu\\mathbf 1^T)`.

        Its entries are :math:`(e_i-\\mu)^T M (e_j-\\mu)`; it satisfies
        :math:`\\operatorname{Hess}H(\\mu)\\,\\mu = 0`.
        """
        mu = np.asarray(mu, dtype=float)
        m = self.euclidean_hessian(mu)
        proj = np.eye(self.n) - mu[None, :]  # rows: (e_i - mu)^T
        return proj @ m @ proj.T

    def hessian_block(self, mu: NDArray, idx: NDArray) -> NDArray:
        """Rows and columns ``idx`` of the normalised Hessian (the matrix :math:`\\Sigma`)."""
        mu = np.asarray(mu, dtype=float)
        proj = np.eye(self.n)[idx] - mu[None, :]
        return proj @ self.euclidean_hessian(mu) @ proj.T

    def rate_direction(self, mu: NDArray, idx: NDArray) -> NDArray:
        """:math:`\\Sigma^{-1}\\mathbf 1` for the block ``idx`` (proof of Proposition 1, Step I)."""
        return np.linalg.solve(self.hessian_block(mu, idx), np.ones(len(idx)))

    def vertex_values(self) -> NDArray:
        """:math:`(H(e_\\theta))_\\theta`."""
        return np.array([self.value(row) for row in np.eye(self.n)])

    def divergences(self, mu: NDArray) -> NDArray:
        """:math:`(D(e_\\theta \\mid \\mu))_{\\theta}`, the divergence from ``mu`` to each state."""
        mu = np.asarray(mu, dtype=float)
        grad = self.euclidean_gradient(mu)
        # D(e_t | mu) = H(e_t) - H(mu) - grad . (e_t - mu); any normalisation of grad
        # cancels because (e_t - mu) sums to zero.
        return self.vertex_values() - self.value(mu) - (grad - grad @ mu)

    def divergence(self, target: NDArray, mu: NDArray) -> float:
        """:math:`D(\\mu' \\mid \\mu)` for two beliefs."""
        target = np.asarray(target, dtype=float)
        mu = np.asarray(mu, dtype=float)
        return float(
            self.value(target) - self.value(mu) - self.euclidean_gradient(mu) @ (target - mu)
        )

    def information_to_learn(self, prior: NDArray) -> float:
        """:math:`\\sum_\\theta \\mu_0(\\theta) H(e_\\theta) - H(\\mu_0)`.

        The total information a conversation must produce to learn the state from
        ``prior``; divided by :math:`\\chi` it is :math:`E[\\tau]` of any process on which
        (Info.) binds, and the shortest feasible constant delay (docs/paper-notes.md).
        """
        prior = np.asarray(prior, dtype=float)
        return float(prior @ self.vertex_values() - self.value(prior))

    def check_assumption1(self, mu: NDArray, tol: float = 1e-12) -> None:
        """Check Assumption 1(iii) at ``mu``: off-diagonal normalised Hessian entries <= 0.

        Raises
        ------
        AssumptionViolation
            Naming the belief and the offending pair of states.
        """
        hess = self.hessian(mu)
        off = hess - np.diag(np.diag(hess))
        i, j = np.unravel_index(np.argmax(off), off.shape)
        if off[i, j] > tol:
            raise AssumptionViolation(
                f"{self.name} entropy violates Assumption 1(iii) at belief "
                f"{np.round(mu, 6).tolist()}: (e_{i} - mu)' Hess (e_{j} - mu) = "
                f"{off[i, j]:.3g} > 0"
            )

    def describe(self) -> dict:
        """Plain record of the entropy, for metadata."""
        return {"entropy": self.name, "n": self.n}


class Quadratic(Entropy):
    """:math:`H(\\mu) = \\tfrac12\\|\\mu\\|^2` (the paper's example, Section 2.2)."""

    name = "quadratic"

    def value(self, mu):
        mu = np.asarray(mu, dtype=float)
        return 0.5 * float(mu @ mu)

    def euclidean_gradient(self, mu):
        return np.asarray(mu, dtype=float).copy()

    def euclidean_hessian(self, mu):
        return np.eye(self.n)

    def vertex_values(self):
        return np.full(self.n, 0.5)


class Mahalanobis(Entropy):
    """:math:`H(\\mu) = \\tfrac12 \\mu^\\top A \\mu` for a symmetric positive-definite ``A``."""

    name = "mahalanobis"

    def __init__(self, matrix: ArrayLike):
        a = np.asarray(matrix, dtype=float)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise AssumptionViolation(
                f"matrix = {np.asarray(matrix).tolist()}: expected a square matrix"
            )
        super().__init__(a.shape[0])
        if not np.all(np.isfinite(a)):
            raise AssumptionViolation("matrix: expected finite entries")
        if not np.allclose(a, a.T, rtol=0, atol=1e-12 * max(1.0, np.abs(a).max())):
            raise AssumptionViolation(f"matrix = {a.tolist()}: expected a symmetric matrix")
        a = 0.5 * (a + a.T)
        eig = np.linalg.eigvalsh(a)
        if eig.min() <= 0:
            raise AssumptionViolation(
                f"matrix = {a.tolist()}: expected a positive-definite matrix "
                f"(smallest eigenvalue {eig.min():.6g})"
            )
        self.matrix = a

    def value(self, mu):
        mu = np.asarray(mu, dtype=float)
        return 0.5 * float(mu @ self.matrix @ mu)

    def euclidean_gradient(self, mu):
        return self.matrix @ np.asarray(mu, dtype=float)

    def euclidean_hessian(self, mu):
        return self.matrix

    def vertex_values(self):
        return 0.5 * np.diag(self.matrix).copy()

    def describe(self):
        return {"entropy": self.name, "n": self.n, "matrix": self.matrix.tolist()}


class Shannon(Entropy):
    """Shannon: :math:`H(\\mu) = \\sum_i \\mu_i \\log \\mu_i`, :math:`D = -\\log\\mu_\\theta`."""

    name = "shannon"

    def value(self, mu):
        mu = np.asarray(mu, dtype=float)
        pos = mu > 0
        return float(np.sum(mu[pos] * np.log(mu[pos])))

    def euclidean_gradient(self, mu):
        return np.log(np.asarray(mu, dtype=float)) + 1.0

    def euclidean_hessian(self, mu):
        return np.diag(1.0 / np.asarray(mu, dtype=float))

    def hessian(self, mu):
        # Closed form of the normalised Hessian: diag(1/mu) - 1 1^T.
        mu = np.asarray(mu, dtype=float)
        return np.diag(1.0 / mu) - 1.0

    def hessian_block(self, mu, idx):
        mu = np.asarray(mu, dtype=float)
        return np.diag(1.0 / mu[idx]) - 1.0

    def rate_direction(self, mu, idx):
        # Sherman-Morrison on diag(1/mu_A) - 1 1^T: Sigma^{-1} 1 = mu_A / (1 - sum mu_A).
        m = np.asarray(mu, dtype=float)[idx]
        return m / (1.0 - m.sum())

    def vertex_values(self):
        return np.zeros(self.n)

    def divergences(self, mu):
        return -np.log(np.asarray(mu, dtype=float))


class Power(Entropy):
    r"""Two states: :math:`H(\mu) = |\mu_1 - \tfrac12|^\alpha`, :math:`\alpha \ge 2`
    (Zhong 2025, Section 4, "Endogenous reasoning quality").

    On the simplex :math:`\mu_1 - \tfrac12 = (\mu_1 - \mu_0)/2 =: d`; the formula on
    :math:`\mathbb R^2` is :math:`|d|^\alpha` (any extension gives the same normalised
    derivatives, footnote 4). Strictly convex along the simplex for :math:`\alpha \ge 2`; for
    :math:`\alpha > 2` its second derivative vanishes at :math:`\mu = \tfrac12`, where the
    quadratic variation of a diffusion would be free (so the diffusion family does not apply).
    :math:`D(e_\theta\mid\tfrac12) = 2^{-\alpha}`. The greedy model needs no Hessian from
    the prior ½ (both states are active at once, erratum 1) and only the 1 x 1 block of an
    active state elsewhere, where the Hessian cancels from the rates.

    Parameters
    ----------
    alpha : float
        :math:`\alpha \ge 2`, finite.
    """

    name = "power"

    def __init__(self, alpha: float):
        if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating):
            raise AssumptionViolation(f"alpha = {alpha!r}: expected a number >= 2")
        if not (np.isfinite(alpha) and alpha >= 2):
            raise AssumptionViolation(f"alpha = {alpha!r}: expected a finite number >= 2")
        super().__init__(2)
        self.alpha = float(alpha)

    def _d(self, mu) -> float:
        mu = np.asarray(mu, dtype=float)
        return 0.5 * float(mu[1] - mu[0])

    def value(self, mu):
        return abs(self._d(mu)) ** self.alpha

    def euclidean_gradient(self, mu):
        d, a = self._d(mu), self.alpha
        g = 0.5 * a * np.sign(d) * abs(d) ** (a - 1)
        return np.array([-g, g])

    def euclidean_hessian(self, mu):
        d, a = self._d(mu), self.alpha
        h = 0.25 * a * (a - 1) * abs(d) ** (a - 2)
        return h * np.array([[1.0, -1.0], [-1.0, 1.0]])

    def vertex_values(self):
        return np.full(2, 0.5**self.alpha)

    def describe(self):
        return {"entropy": self.name, "n": self.n, "alpha": self.alpha}


def make_entropy(
    name: str, n: int, matrix: ArrayLike | None = None, alpha: float | None = None
) -> Entropy:
    """Build an entropy from its scenario name (``quadratic``, ``shannon``, ``mahalanobis``,
    ``power``)."""
    if name == "power":
        if n != 2:
            raise AssumptionViolation(
                f"entropy = 'power': defined for 2 states (the prior has {n})"
            )
        if alpha is None:
            raise AssumptionViolation("alpha: required when entropy = 'power' (a number >= 2)")
        return Power(alpha)
    if name == "quadratic":
        return Quadratic(n)
    if name == "shannon":
        return Shannon(n)
    if name == "mahalanobis":
        if matrix is None:
            raise AssumptionViolation(
                "matrix: required when entropy = 'mahalanobis' (an n x n "
                "symmetric positive-definite matrix)"
            )
        ent = Mahalanobis(matrix)
        if ent.n != n:
            raise AssumptionViolation(f"matrix: is {ent.n} x {ent.n} but the prior has {n} states")
        return ent
    raise AssumptionViolation(
        f"entropy = {name!r}: expected 'quadratic', 'shannon', 'mahalanobis' or 'power'"
    )
