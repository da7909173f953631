r"""The two model families of Section 2.2 (see :mod:`market.theory.families`).

This module holds :class:`ConstantDelay` (the state revealed at a deterministic time),
:class:`Diffusion` (the binary belief diffusion at a given speed), :func:`edge_curvature`
(the curvature :math:`h(p)` of :math:`H` along the edge, which sets the diffusion's
volatility) and their argument checks. The exit-time series behind :class:`Diffusion` live in
:mod:`market.theory.families.exit_laws` and :mod:`market.theory.families.shannon_law`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.theory.families.exit_laws import (
    _EIGEN,
    _bm_joint_density,
    _bm_joint_parts,
    _bm_joint_survival,
    _bm_laplace,
    _bm_truncated_time,
    _invert_survival,
)
from market.theory.families.shannon_law import _ShannonLaw
from market.theory.information import Entropy, Shannon, check_belief


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} = {value}: expected a finite number > 0")
    return value


def _check_moment(moment: int) -> int:
    if moment not in (0, 1):
        raise ValueError(f"moment = {moment}: expected 0 or 1")
    return int(moment)


def _sample_args(u: ArrayLike, state: ArrayLike, n: int) -> tuple[NDArray, NDArray]:
    u, state = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(state))
    if np.any((u <= 0) | (u >= 1)) or np.any(~np.isfinite(u)):
        raise ValueError("u: expected uniform draws strictly between 0 and 1")
    if np.any((state != np.round(state)) | (state < 0) | (state >= n)):
        raise ValueError(f"state: expected integers in 0..{n - 1}")
    return u, state.astype(int)


# ---------------------------------------------------------------------------------------
# Constant delay
# ---------------------------------------------------------------------------------------
class ConstantDelay:
    r"""The model that learns the state at the deterministic time :math:`d` (Section 2.2).

    Parameters
    ----------
    entropy : Entropy
        :math:`H`.
    prior : array_like
        :math:`\mu_0`.
    token_rate : float
        :math:`\chi`.
    delay : float, optional
        :math:`d`; defaults to the fastest feasible :math:`d_{\min}`. A smaller value
        violates (Info.) and raises ``ValueError``.
    """

    kind = "constant_delay"

    def __init__(
        self, entropy: Entropy, prior: ArrayLike, token_rate: float, delay: float | None = None
    ):
        self.prior = check_belief(prior)
        if entropy.n != self.prior.size:
            raise ValueError(f"prior has {self.prior.size} states but the entropy has {entropy.n}")
        self.entropy = entropy
        self.token_rate = _check_positive("token_rate", token_rate)
        info = entropy.information_to_learn(self.prior)
        #: :math:`d_{\min}`: the information to learn over the token rate.
        self.min_delay = info / self.token_rate
        if delay is None:
            delay = self.min_delay
        delay = float(delay)
        if not math.isfinite(delay):
            raise ValueError(f"delay = {delay}: expected a finite number")
        if delay < self.min_delay * (1 - 1e-12):
            raise ValueError(
                f"delay = {delay}: below the shortest feasible delay d_min = {self.min_delay:.12g}"
                f" (information to learn {info:.6g} / token_rate {self.token_rate:.6g})"
            )
        self.delay = delay

    @property
    def expected_time(self) -> float:
        """:math:`E[\\tau] = d`."""
        return self.delay

    def survival(self, t: ArrayLike) -> NDArray:
        """:math:`P(\\tau > t) = \\mathbf 1\\{t < d\\}`."""
        return (np.asarray(t, dtype=float) < self.delay).astype(float)

    def laplace(self, r: ArrayLike, cap: ArrayLike = float("inf"), moment: int = 0) -> NDArray:
        """:math:`d^m e^{-rd}\\mathbf 1\\{d \\le T\\}`, broadcasting ``r`` and ``cap``."""
        moment = _check_moment(moment)
        r, cap = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(cap, dtype=float))
        return self.delay**moment * np.exp(-r * self.delay) * (self.delay <= cap)

    def expected_truncated_time(self, cap: ArrayLike) -> NDArray:
        """:math:`E[\\min(\\tau, T)] = \\min(d, T)`."""
        return np.minimum(self.delay, np.asarray(cap, dtype=float))

    def utility(self, r: ArrayLike) -> NDArray:
        """:math:`U(r) = e^{-rd}`."""
        return self.laplace(r)

    def utility_dr(self, r: ArrayLike) -> NDArray:
        """:math:`dU/dr = -d e^{-rd}`."""
        return -self.laplace(r, moment=1)

    def sample_time(self, u: ArrayLike, state: ArrayLike) -> NDArray:
        """The breakthrough time is :math:`d` whatever ``u`` and ``state``."""
        u, _ = _sample_args(u, state, self.prior.size)
        return np.full(u.shape, self.delay)


# ---------------------------------------------------------------------------------------
# Diffusion
# ---------------------------------------------------------------------------------------
def edge_curvature(entropy: Entropy, p: float) -> float:
    """:math:`h(p) = (e_1-e_0)^\\top M (e_1-e_0)` at :math:`\\mu = (1-p, p)`."""
    edge = np.array([-1.0, 1.0])
    return float(edge @ entropy.euclidean_hessian(np.array([1 - p, p])) @ edge)


class Diffusion:
    r"""The binary diffusion model :math:`dp = \sigma(p)\,dB` at the fastest speed (Section 2.2).

    Parameters
    ----------
    entropy : Entropy
        :math:`H` on two states.
    prior : array_like
        :math:`\mu_0 = (1-p_0, p_0)`.
    token_rate : float
        :math:`\chi`.
    speed : float
        Fraction ``s`` in (0, 1] of the fastest variance: :math:`\sigma(p)^2 = 2\chi s/h(p)`.
        ``s = 1`` makes (Info.) bind; ``s > 1`` violates it.

    Notes
    -----
    Quadratic and Mahalanobis entropies give a constant :math:`\sigma`; Shannon gives
    :math:`\sigma(p)^2 = 2\chi s\,p(1-p)`. Any other entropy with a non-constant edge curvature
    raises ``NotImplementedError``. All methods are supported for both cases, except that for
    Shannon with a prior probability below 1e-3 only uncapped :meth:`laplace` (and
    :meth:`utility`) work; survival, density, finite caps and sampling raise
    ``NotImplementedError``.
    """

    kind = "diffusion"

    def __init__(self, entropy: Entropy, prior: ArrayLike, token_rate: float, speed: float = 1.0):
        prior_arr = np.asarray(prior, dtype=float)
        if prior_arr.ndim != 1 or prior_arr.size != 2 or entropy.n != 2:
            raise ValueError(
                f"diffusion needs a binary state (prior has {prior_arr.size} states, "
                f"entropy has {entropy.n})"
            )
        self.prior = check_belief(prior_arr)
        self.entropy = entropy
        self.token_rate = _check_positive("token_rate", token_rate)
        speed = float(speed)
        if not (0 < speed <= 1):
            raise ValueError(f"speed = {speed}: expected a number in (0, 1] (1 is the fastest)")
        self.speed = speed
        self.p = float(self.prior[1])
        #: :math:`h(p_0)`, the curvature of :math:`H` along the edge at the prior.
        self.curvature = edge_curvature(entropy, self.p)
        #: :math:`\sigma(p_0)`.
        self.volatility = math.sqrt(2 * self.token_rate * speed / self.curvature)
        self._shannon: _ShannonLaw | None = None
        if isinstance(entropy, Shannon):
            self._shannon = _ShannonLaw(self.p, self.token_rate * speed)
            self.variance = None
        else:
            probe = [edge_curvature(entropy, q) for q in (0.1, 0.3, 0.5, 0.7, 0.9)]
            if not np.allclose(probe, self.curvature, rtol=1e-10, atol=0):
                raise NotImplementedError(
                    f"diffusion for the {entropy.name} entropy: its edge curvature is not "
                    "constant; only constant curvature and Shannon are implemented"
                )
            #: :math:`\sigma^2` (constant curvature only; ``None`` for Shannon).
            self.variance = self.volatility**2

    def check_simulable(self) -> None:
        """Raise ``NotImplementedError`` if the stopping law cannot be sampled (a Shannon
        diffusion from a prior probability below 1e-3: only its uncapped utility is known)."""
        if self._shannon is not None:
            self._shannon._eigen_data()

    # -- stopping law ---------------------------------------------------------------------
    @property
    def expected_time(self) -> float:
        """:math:`E[\\tau]`: information to learn over :math:`\\chi s` ((Info.) binds at rate s)."""
        return self.entropy.information_to_learn(self.prior) / (self.token_rate * self.speed)

    @property
    def exit_probabilities(self) -> NDArray:
        """:math:`P(\\theta)`: equal to the prior (the belief is a martingale)."""
        return self.prior.copy()

    def laplace_by_state(
        self, r: ArrayLike, cap: ArrayLike = float("inf"), moment: int = 0
    ) -> NDArray:
        """:math:`E[\\tau^m e^{-r\\tau}\\mathbf 1\\{\\tau\\le T,\\theta\\}]`, shape ``(..., 2)``."""
        moment = _check_moment(moment)
        r, cap = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(cap, dtype=float))
        if np.any(r < 0):
            raise ValueError("r: expected urgencies >= 0")
        shape = r.shape
        r, cap = r.ravel(), cap.ravel()
        if self._shannon is not None:
            return self._shannon.laplace(r, cap, moment).reshape(shape + (2,))
        v = self.variance
        rho, scap = r / v, cap * v
        states = [_bm_laplace(rho, scap, x, moment) for x in (1 - self.p, self.p)]
        return (np.stack(states, axis=-1) / v**moment).reshape(shape + (2,))

    def laplace(self, r: ArrayLike, cap: ArrayLike = float("inf"), moment: int = 0) -> NDArray:
        """:math:`E[\\tau^m e^{-r\\tau}\\mathbf 1\\{\\tau\\le T\\}]`; ``r`` and ``cap`` broadcast.

        For constant :math:`\\sigma` and ``cap = inf``:
        :math:`(\\sinh kp + \\sinh k(1-p))/\\sinh k`, :math:`k = \\sqrt{2r}/\\sigma`
        (docs/paper-notes.md).
        """
        return self.laplace_by_state(r, cap, moment).sum(axis=-1)

    def utility(self, r: ArrayLike) -> NDArray:
        """:math:`U(r) = E[e^{-r\\tau}]` (uncapped)."""
        return self.laplace(r)

    def utility_dr(self, r: ArrayLike) -> NDArray:
        """:math:`dU/dr = -E[\\tau e^{-r\\tau}]`."""
        return -self.laplace(r, moment=1)

    def utility_and_slope(self, r: ArrayLike) -> tuple[NDArray, NDArray]:
        """:meth:`utility` and :meth:`utility_dr` together (one series for Shannon)."""
        if self._shannon is None:
            return self.utility(r), self.utility_dr(r)
        r = np.asarray(r, dtype=float)
        if np.any(r < 0):
            raise ValueError("r: expected urgencies >= 0")
        m0, m1 = self._shannon.laplace_inf_both(r)
        return m0.sum(axis=-1), -m1.sum(axis=-1)

    def survival_by_state(self, t: ArrayLike) -> NDArray:
        """:math:`P(\\tau > t, \\theta)`, shape ``t.shape + (2,)``."""
        t = np.asarray(t, dtype=float)
        if self._shannon is not None:
            return self._shannon.joint_survival(t)
        s = t.ravel() * self.variance
        out = np.stack([_bm_joint_survival(s, x) for x in (1 - self.p, self.p)], axis=-1)
        return out.reshape(t.shape + (2,))

    def density_by_state(self, t: ArrayLike) -> NDArray:
        """Density of :math:`\\tau` on the event :math:`\\theta`, shape ``t.shape + (2,)``."""
        t = np.asarray(t, dtype=float)
        if self._shannon is not None:
            return self._shannon.joint_density(t)
        s = t.ravel() * self.variance
        dens = [_bm_joint_density(s, x) for x in (1 - self.p, self.p)]
        return (np.stack(dens, axis=-1) * self.variance).reshape(t.shape + (2,))

    def survival(self, t: ArrayLike) -> NDArray:
        """:math:`P(\\tau > t)`."""
        return self.survival_by_state(t).sum(axis=-1)

    def density(self, t: ArrayLike) -> NDArray:
        """Density of :math:`\\tau`."""
        return self.density_by_state(t).sum(axis=-1)

    def expected_truncated_time(self, cap: ArrayLike) -> NDArray:
        """:math:`E[\\min(\\tau, T)] = \\int_0^T P(\\tau > t)\\,dt` (``inf``: :math:`E[\\tau]`)."""
        cap = np.asarray(cap, dtype=float)
        if np.any(cap < 0):
            raise ValueError("cap: expected time caps >= 0")
        if self._shannon is not None:
            return self._shannon.truncated_time(cap, self.expected_time)
        s = cap.ravel() * self.variance
        out = sum(_bm_truncated_time(s, x) for x in (1 - self.p, self.p)) / self.variance
        return out.reshape(cap.shape)

    def sample_time(self, u: ArrayLike, state: ArrayLike) -> NDArray:
        """Solve :math:`P(\\tau > t\\mid\\theta) = u` (the Doob h-transform's exit time).

        The conditional survival is :math:`P(\\tau > t, \\theta)/P(\\theta)`; see
        :func:`_invert_survival` (relative accuracy about 1e-14 in ``t``).
        """
        u, state = _sample_args(u, state, 2)
        out = np.empty(u.shape)
        for theta, x in enumerate((1 - self.p, self.p)):
            sel = state == theta
            if not np.any(sel):
                continue
            # Beyond `upper` the conditional survival is below exp(-700); u is never that small.
            if self._shannon is not None:
                law = self._shannon
                law._eigen_data()  # fail early if unsupported

                def parts(t, law=law, theta=theta, x=x):
                    surv = law.joint_survival(t)[..., theta] / x
                    return surv, 1 - surv

                def density(t, law=law, theta=theta, x=x):
                    return law.joint_density(t)[..., theta] / x

                lower = 0.5 * law.t_min / law.rate
                upper = (700 + math.log(1 / x)) / (2 * law.rate)
            else:
                v = self.variance

                def parts(t, v=v, x=x):
                    surv, cdf = _bm_joint_parts(t * v, x)
                    return surv / x, cdf / x

                def density(t, v=v, x=x):
                    return _bm_joint_density(t * v, x) * v / x

                lower = (1 - x) ** 2 / 1000 / v  # images: 1 - S(lower) < 1e-200
                upper = (700 + math.log(1 / x)) / (_EIGEN[0] * v)
            out[sel] = _invert_survival(parts, density, np.maximum(u[sel], 1e-300), lower, upper)
        return out
