r"""The paper's two alternative model families and the best menu within each (Section 2.2).

Zhong (2025), Section 2.2, compares the optimal token-cap mechanism with two parametric
families a platform might sell instead, each run at the fastest speed the throughput
constraint (Info.) allows:

**Constant delay.** The model reveals the state at a deterministic time :math:`d`. It is
feasible iff :math:`\chi d \ge \sum_\theta \mu_0(\theta)H(e_\theta) - H(\mu_0)` (NOTES.md), so
:math:`d_{\min} = (\sum_\theta\mu_0(\theta)H(e_\theta) - H(\mu_0))/\chi` (2 in the paper's example).

**Diffusion** (binary states). The belief :math:`p_t = \mu_t(1)` follows
:math:`dp = \sigma(p)\,dB` from :math:`p_0 = \mu_0(1)` until it hits 0 or 1. For a diffusion
(Info.) reads :math:`\tfrac12\sigma(p)^2 h(p) \le \chi`, with
:math:`h(p) = (e_1-e_0)^\top M (e_1-e_0)` the curvature of :math:`H` along the edge, so the fastest
(``speed = 1``) is :math:`\sigma(p)^2 = 2\chi\,\mathrm{speed}/h(p)`. For the quadratic and
Mahalanobis entropies :math:`\sigma` is constant (:math:`\sigma^2 = \chi = 1/8` in the example);
for Shannon :math:`\sigma(p)^2 = 2\chi\,\mathrm{speed}\,p(1-p)`.

The stopping law is computed from classical series:

- constant :math:`\sigma`: after the time change :math:`s = \sigma^2 t`, :math:`p` is a standard
  Brownian motion on :math:`(0,1)`. Its Laplace transform is
  :math:`E[e^{-\rho\tau}\mathbf 1\{\text{exit at }1\}] = \sinh(\kappa p)/\sinh\kappa`,
  :math:`\kappa = \sqrt{2\rho}` (Borodin and Salminen 2002, 3.0.5); the exit densities are the
  eigenfunction (sine) series :math:`\sum_n n\pi(-1)^{n+1}\sin(n\pi p)e^{-n^2\pi^2 s/2}` for
  large times and the method-of-images series
  :math:`\sum_k c_k(2\pi s^3)^{-1/2}e^{-c_k^2/2s}`, :math:`c_k = 1-p+2k`, for small times
  (Feller 1971, X.5), each used where it converges fast;
- Shannon: :math:`rV = \chi\,\mathrm{speed}\,p(1-p)V''` is a degenerate hypergeometric
  equation; the solution vanishing at 0 is :math:`y_1(p) = p\,{}_2F_1(\alpha,\beta;2;p)`,
  :math:`\alpha\beta = \lambda = r/(\chi\,\mathrm{speed})`, :math:`\alpha+\beta = 1`, and
  :math:`y_1(1) = \cosh(\pi\sqrt{\lambda-1/4})/(\pi\lambda)` (Gauss's theorem, Abramowitz and
  Stegun 15.1.20, with :math:`|\Gamma(3/2+i\omega)|^2 = \pi(1/4+\omega^2)/\cosh\pi\omega`).
  The killed generator has the Jacobi eigenfunctions :math:`p(1-p)P^{(1,1)}_n(2p-1)` with
  eigenvalues :math:`-\chi\,\mathrm{speed}\,(n+1)(n+2)`, which give survival and densities.

Sampling a breakthrough time given the true state inverts the conditional survival
:math:`P(\tau > t, \theta)/P(\theta)` (the exit law of the Doob h-transform) by a bracketed
Newton iteration in :math:`\log t`.

The menus (:func:`screen_constant_delay`, :func:`screen_diffusion`) follow the paper's
Mussa-Rosen reduction: with :math:`g, G` the density and CDF of the urgency :math:`r`, the
virtual value of type :math:`r` for an item of utility :math:`U(\cdot\mid r)` is
:math:`g(r)U + G(r)\,\partial_r U` (low urgency is the "high" type; IR binds at the most urgent
type served).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special

from market.incentives import check_menu
from market.information import Entropy, Shannon, check_belief
from market.results import MenuRow, PolicySolution

if TYPE_CHECKING:  # pragma: no cover
    from market.urgency import UrgencyDistribution

__all__ = [
    "ConstantDelay",
    "Diffusion",
    "edge_curvature",
    "screen_constant_delay",
    "screen_diffusion",
]

#: Standard-Brownian time below which the image series is used (above it, the sine series).
_SWITCH_TIME = 0.5
#: Image terms k = -K..K: those left out have |c_k| > 2K + 1, so below exp(-121) ~ 1e-53.
_N_IMAGES = 5
#: Sine modes: at s >= 0.5 the first one left out is below exp(-25^2 pi^2 / 4) ~ 1e-670.
_N_MODES = 24
#: Shannon eigen-series: below chi*speed*t = min(p, 1-p)/60 the exit probability is below
#: exp(-60) (squared-Bessel comparison near a vertex) and is taken as 0.
_SHANNON_TMIN_FACTOR = 1.0 / 60.0
#: ... and modes are kept until exp(-(n+1)(n+2) t_min) < exp(-45); so a prior probability
#: below _SHANNON_MIN_PRIOR (> 1600 modes) is not supported for those.
_SHANNON_TAIL_EXPONENT = 45.0
_SHANNON_MIN_PRIOR = 1e-3
#: Elements x terms per block of the vectorised hypergeometric series.
_SERIES_BLOCK = 2**18
#: Sampling: table points bracketing each root in log-time, and the cap on Newton steps.
_SAMPLE_TABLE = 512
_NEWTON_STEPS = 60


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
# Standard Brownian motion on (0, 1): exit at 1 from x (exit at 0: use 1 - x)
# ---------------------------------------------------------------------------------------
_MODES = np.arange(1, _N_MODES + 1)
_EIGEN = _MODES**2 * np.pi**2 / 2
_IMAGES = np.arange(-_N_IMAGES, _N_IMAGES + 1)


def _sine_coefficients(x: float) -> NDArray:
    """Density of exit at 1 from ``x``: :math:`\\sum_n b_n e^{-\\lambda_n s}`."""
    return _MODES * np.pi * (-1.0) ** (_MODES + 1) * np.sin(_MODES * np.pi * x)


def _image_distances(x: float) -> NDArray:
    """Signed image distances :math:`c_k = 1 - x + 2k`."""
    return 1.0 - x + 2.0 * _IMAGES


def _bm_joint_parts(s: NDArray, x: float) -> tuple[NDArray, NDArray]:
    """:math:`P(\\tau > s, \\text{exit at }1)` and :math:`P(\\tau \\le s, \\text{exit at }1)`.

    Standard BM from ``x``. Each is computed directly where it is small (the CDF by images for
    small ``s``, the survival by the sine series for large ``s``) and the other as ``x`` minus
    it, so both keep full relative accuracy where it matters.
    """
    s = np.asarray(s, dtype=float)
    cdf = np.zeros(s.shape)
    small = (s > 0) & (s < _SWITCH_TIME)
    big = s >= _SWITCH_TIME
    c = _image_distances(x)
    ss = s[small][..., None]
    cdf[small] = np.sum(np.sign(c) * special.erfc(np.abs(c) / np.sqrt(2 * ss)), axis=-1)
    surv = x - cdf
    b = _sine_coefficients(x)
    surv[big] = np.exp(-_EIGEN * s[big][..., None]) @ (b / _EIGEN)
    cdf[big] = x - surv[big]
    return surv, cdf


def _bm_joint_survival(s: NDArray, x: float) -> NDArray:
    """:math:`P(\\tau > s, \\text{exit at } 1)` for standard BM from ``x``."""
    return _bm_joint_parts(s, x)[0]


def _bm_joint_density(s: NDArray, x: float) -> NDArray:
    """Density of the exit time on the event of exit at 1, standard BM from ``x``."""
    s = np.asarray(s, dtype=float)
    out = np.zeros(s.shape)
    small = (s > 0) & (s < _SWITCH_TIME)
    big = s >= _SWITCH_TIME
    c = _image_distances(x)
    ss = s[small][..., None]
    out[small] = np.sum(c / np.sqrt(2 * np.pi * ss**3) * np.exp(-(c**2) / (2 * ss)), axis=-1)
    out[big] = np.exp(-_EIGEN * s[big][..., None]) @ _sine_coefficients(x)
    return out


def _bm_truncated_time(s: NDArray, x: float) -> NDArray:
    """:math:`\\int_0^s P(\\tau > v, \\text{exit at } 1)\\,dv` for standard BM from ``x``.

    Small ``s``: termwise :math:`\\int_0^s \\operatorname{erfc}(c/\\sqrt{2v})dv =
    (s + c^2)\\operatorname{erfc}(c/\\sqrt{2s}) - c\\sqrt{2s/\\pi}\\,e^{-c^2/2s}`; large ``s``:
    :math:`E[\\tau; \\text{exit at }1] = x(1-x^2)/3` minus the sine-series tail.
    """
    s = np.asarray(s, dtype=float)
    out = np.full(s.shape, x * (1 - x * x) / 3)
    small = (s >= 0) & (s < _SWITCH_TIME)
    big = np.isfinite(s) & (s >= _SWITCH_TIME)
    c = np.abs(_image_distances(x))
    sign = np.sign(_image_distances(x))
    ss = np.maximum(s[small], 1e-300)[..., None]
    erfc_int = (ss + c**2) * special.erfc(c / np.sqrt(2 * ss)) - c * np.sqrt(
        2 * ss / np.pi
    ) * np.exp(-(c**2) / (2 * ss))
    out[small] = x * s[small] - erfc_int @ sign
    b = _sine_coefficients(x)
    out[big] -= np.exp(-_EIGEN * s[big][..., None]) @ (b / _EIGEN**2)
    return out


def _psi(y: NDArray) -> NDArray:
    """:math:`(\\coth y - 1/y)/y`, smooth at 0 (series :math:`1/3 - y^2/45 + 2y^4/945`)."""
    y = np.asarray(y, dtype=float)
    out = np.empty(y.shape)
    small = y < 1e-2
    ys = y[small]
    out[small] = 1 / 3 - ys**2 / 45 + 2 * ys**4 / 945
    yb = y[~small]
    out[~small] = (1 / np.tanh(yb) - 1 / yb) / yb
    return out


def _bm_laplace_inf(rho: NDArray, x: float, moment: int) -> NDArray:
    """:math:`E[\\tau^m e^{-\\rho\\tau}\\mathbf 1\\{\\text{exit at }1\\}]`, standard BM from ``x``.

    :math:`q = \\sinh(\\kappa x)/\\sinh\\kappa`, :math:`\\kappa = \\sqrt{2\\rho}`; the first
    moment is :math:`-dq/d\\rho = q\\,(\\psi(\\kappa) - x^2\\psi(\\kappa x))`.
    """
    kappa = np.sqrt(2 * np.asarray(rho, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.exp(-kappa * (1 - x)) * np.expm1(-2 * kappa * x) / np.expm1(-2 * kappa)
    q = np.where(kappa < 1e-12, x, q)
    if moment == 0:
        return q
    return q * (_psi(kappa) - x**2 * _psi(kappa * x))


def _image_term(c: NDArray, rho: NDArray, cap: NDArray, moment: int) -> NDArray:
    """:math:`\\int_0^T t^m e^{-\\rho t}\\,c(2\\pi t^3)^{-1/2}e^{-c^2/2t}dt` for ``c > 0``.

    With :math:`\\kappa = \\sqrt{2\\rho}`, :math:`w, z = c/\\sqrt{2T} \\mp \\sqrt{\\rho T}`,
    :math:`A = e^{-c\\kappa}\\operatorname{erfc} w`, :math:`B = e^{c\\kappa}\\operatorname{erfc} z`:
    the integral is :math:`(A+B)/2` for ``m = 0`` (the inverse-Gaussian CDF) and
    :math:`c(A-B)/(2\\kappa)` for ``m = 1`` (minus its :math:`\\rho`-derivative).
    """
    kappa = np.sqrt(2 * rho)
    root = np.sqrt(rho * cap)
    w = c / np.sqrt(2 * cap) - root
    z = c / np.sqrt(2 * cap) + root
    both = np.exp(-(c**2) / (2 * cap) - rho * cap)  # e^{-c kappa - w^2} = e^{c kappa - z^2}
    with np.errstate(over="ignore"):
        a = np.where(
            w > 0,
            special.erfcx(np.maximum(w, 0)) * both,
            np.exp(-c * kappa) * special.erfc(np.minimum(w, 0)),
        )
    b = special.erfcx(z) * both
    if moment == 0:
        return (a + b) / 2
    tiny = kappa * (c + np.sqrt(cap)) < 1e-5
    x0 = c / np.sqrt(2 * cap)
    limit = c * np.sqrt(2 * cap / np.pi) * np.exp(-(x0**2)) - c**2 * special.erfc(x0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tiny, limit, c * (a - b) / (2 * kappa))


def _bm_laplace(rho: NDArray, cap: NDArray, x: float, moment: int) -> NDArray:
    """:math:`E[\\tau^m e^{-\\rho\\tau}\\mathbf 1\\{\\tau\\le T, \\text{exit at }1\\}]`.

    ``rho`` and ``cap`` have one shape. Caps below :data:`_SWITCH_TIME` use the image series;
    larger finite caps subtract the sine-series tail
    :math:`\\sum_n b_n\\int_T^\\infty t^m e^{-(\\rho+\\lambda_n)t}dt` from the closed form.
    """
    out = _bm_laplace_inf(rho, x, moment)
    small = cap < _SWITCH_TIME
    big = np.isfinite(cap) & ~small
    if np.any(small):
        c = _image_distances(x)
        rs, ts = rho[small][..., None], np.maximum(cap[small], 1e-300)[..., None]
        terms = np.sign(c) * _image_term(np.abs(c), rs, ts, moment)
        out[small] = np.where(cap[small] > 0, terms.sum(axis=-1), 0.0)
    if np.any(big):
        a = rho[big][..., None] + _EIGEN
        tb = cap[big][..., None]
        integral = np.exp(-a * tb) / a
        if moment == 1:
            integral = integral * (tb + 1 / a)
        out[big] = out[big] - integral @ _sine_coefficients(x)
    return out


def _invert_survival(parts, density, u: NDArray, lower: float, upper: float) -> NDArray:
    """Solve :math:`S(t) = u` for a conditional survival ``S`` falling from 1 to 0.

    ``parts(t)`` returns :math:`(S(t), 1 - S(t))`, each accurate where it is small;
    ``density(t) = -S'(t)``. Requires ``S(lower) > u > S(upper)``. Works on
    :math:`h(z) = \\log S(e^z) - \\log u`, which is nearly linear in both tails: a table of
    :data:`_SAMPLE_TABLE` points brackets each root, then Newton steps (bisection whenever a
    step leaves the bracket) run until the step is below 1e-14 in :math:`\\log t`.
    """

    def h(surv, cdf):  # log S, from whichever of S and 1 - S is accurate
        with np.errstate(divide="ignore"):
            return np.where(surv < 0.5, np.log(np.maximum(surv, 1e-320)), np.log1p(-cdf))

    log_u = np.log(u)
    table = np.linspace(math.log(lower), math.log(upper), _SAMPLE_TABLE)
    log_s = h(*parts(np.exp(table)))
    i = np.clip(np.searchsorted(-log_s, -log_u), 1, table.size - 1)  # log_s decreases
    lo, hi = table[i - 1], table[i]
    w = (log_s[i - 1] - log_u) / np.where(log_s[i - 1] > log_s[i], log_s[i - 1] - log_s[i], 1.0)
    z = lo + np.clip(w, 0.0, 1.0) * (hi - lo)
    active = np.ones(z.shape, dtype=bool)
    for _ in range(_NEWTON_STEPS):
        za = z[active]
        t = np.exp(za)
        surv, cdf = parts(t)
        value = h(surv, cdf) - log_u[active]
        la = np.where(value > 0, za, lo[active])
        ha = np.where(value > 0, hi[active], za)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = value * surv / (t * density(t))  # h / (-dh/dz)
        new = za + step
        new = np.where(np.isfinite(new) & (new >= la) & (new <= ha), new, (la + ha) / 2)
        lo[active], hi[active], z[active] = la, ha, new
        active[active] = (np.abs(new - za) >= 1e-14) & (value != 0)
        if not np.any(active):
            break
    return np.exp(z)


# ---------------------------------------------------------------------------------------
# Shannon diffusion: hypergeometric Laplace transform and Jacobi eigen-series
# ---------------------------------------------------------------------------------------
def _shannon_log_c1(lam: NDArray) -> tuple[NDArray, NDArray]:
    """:math:`\\log y_1(1)` and its :math:`\\lambda`-derivative.

    :math:`y_1(1) = \\cosh(\\pi\\omega)/(\\pi\\lambda)`, :math:`\\omega^2 = \\lambda - 1/4`
    (:math:`= \\sin(\\pi b)/(\\pi\\lambda)`, :math:`b(1-b) = \\lambda`, for small :math:`\\lambda`).
    """
    lam = np.asarray(lam, dtype=float)
    log_c1 = np.empty(lam.shape)
    dlog = np.empty(lam.shape)
    w2 = lam - 0.25
    hi = w2 > 1e-8
    om = np.sqrt(w2[hi])
    log_c1[hi] = np.pi * om + np.log1p(np.exp(-2 * np.pi * om)) - np.log(2 * np.pi * lam[hi])
    dlog[hi] = np.pi * np.tanh(np.pi * om) / (2 * om) - 1 / lam[hi]
    mid = (np.abs(w2) <= 1e-8) | ((w2 < 0) & (lam >= 0.05))
    nu = np.sqrt(np.maximum(-w2[mid], 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        tanc = np.where(nu > 1e-6, np.tan(np.pi * nu) / nu, np.pi + np.pi**3 * nu**2 / 3)
    log_c1[mid] = np.log(np.cos(np.pi * nu) / (np.pi * lam[mid]))
    dlog[mid] = np.pi * tanc / 2 - 1 / lam[mid]
    low = lam < 0.05
    lo = lam[low]
    b = 2 * lo / (1 + np.sqrt(1 - 4 * lo))
    pb = np.pi * b
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(b > 1e-8, np.sin(pb) / np.where(b > 0, pb, 1), 1 - pb**2 / 6)
        gcot = np.where(
            b > 1e-3,
            np.pi / np.tan(pb) - 1 / np.where(b > 0, b, 1),
            -(np.pi**2) * b / 3 - np.pi**4 * b**3 / 45,
        )
    log_c1[low] = np.log(sinc) - np.log1p(-b)
    dlog[low] = (gcot + 1 / (1 - b)) / (1 - 2 * b)
    return log_c1, dlog


def _shannon_series(q: float, lam: NDArray) -> tuple[NDArray, NDArray]:
    """:math:`\\log F(\\alpha,\\beta;2;q)` and :math:`\\partial_\\lambda F / F`, by the series.

    :math:`F = \\sum_n A_n q^n`, :math:`A_{n+1} = A_n (n^2+n+\\lambda)/((n+1)(n+2))`,
    :math:`\\partial_\\lambda A_n = A_n\\sum_{k<n} 1/(k^2+k+\\lambda)`. Every term is positive,
    so the sum has no cancellation; it is summed in log-space (vectorised over terms) with as
    many terms as make the geometric tail bound below 1e-17 of the sum.
    """
    lam = np.maximum(np.asarray(lam, dtype=float).ravel(), 1e-300)
    log_f = np.empty(lam.shape)
    dlog_f = np.empty(lam.shape)
    log_q = math.log(q)
    # Terms needed: up to the peak of A_n q^n (n ~ sqrt(lam q/(1-q))), then the geometric tail.
    order = np.argsort(lam)  # similar lambdas share a block (and a number of terms)
    terms = (64 + 2 * np.sqrt(lam[order] * q / (1 - q)) + 45 / -log_q).astype(int)
    start = 0
    while start < lam.size:
        # The largest block whose size times its (largest) number of terms fits the budget.
        fits = np.arange(1, lam.size - start + 1) * terms[start:] <= _SERIES_BLOCK
        size = max(1, int(np.argmin(fits)) if not fits.all() else fits.size)
        block = order[start : start + size]
        n_terms = int(terms[start + size - 1])
        start += size
        lb = lam[block][:, None]
        while True:
            n = np.arange(n_terms)
            quad_n = n * n + n + lb
            log_ratio = np.log(quad_n) + log_q - np.log((n + 1.0) * (n + 2.0))
            log_term = np.concatenate([np.zeros((lb.size, 1)), np.cumsum(log_ratio[:, :-1], 1)], 1)
            top = log_term.max(axis=1, keepdims=True)
            weight = np.exp(log_term - top)
            total = weight.sum(axis=1)
            slope = np.concatenate([np.zeros((lb.size, 1)), np.cumsum(1 / quad_n[:, :-1], 1)], 1)
            dtotal = (weight * slope).sum(axis=1)
            ratio = np.exp(log_ratio[:, -1])
            bound = np.maximum(ratio, q)
            with np.errstate(divide="ignore"):
                tail = weight[:, -1] * bound / (1 - bound)
            limit = slope[:, -1] + 1 / lb[:, 0] + 1  # >= sum_k 1/(k^2+k+lam)
            if np.all((ratio < 1) & (tail < 1e-17 * total) & (tail * limit < 1e-17 * dtotal)):
                break
            if n_terms > 10_000_000:  # pragma: no cover
                raise RuntimeError("Shannon diffusion: hypergeometric series did not converge")
            n_terms *= 2
        log_f[block] = np.log(total) + top[:, 0]
        dlog_f[block] = dtotal / total
    return log_f, dlog_f


class _ShannonLaw:
    """Exit law of :math:`dp = \\sqrt{2c\\,p(1-p)}\\,dB`; ``rate`` is :math:`c = \\chi s`."""

    def __init__(self, p: float, rate: float):
        self.p = p
        self.rate = rate
        #: Time (in units of 1/rate) below which exit is taken as impossible.
        self.t_min = min(p, 1 - p) * _SHANNON_TMIN_FACTOR
        self._coef: NDArray | None = None

    def _eigen_data(self) -> tuple[NDArray, NDArray]:
        """Per-state coefficients (state 0, state 1) and eigenvalues (in units of ``rate``).

        :math:`c_n = \\langle p,\\phi_n\\rangle_w/\\langle\\phi_n,\\phi_n\\rangle_w` with
        :math:`\\phi_n = p(1-p)P^{(1,1)}_n(2p-1)`, :math:`w = 1/(p(1-p))`,
        :math:`\\langle\\phi_n,\\phi_n\\rangle_w = (n+1)/((2n+3)(n+2))` (Abramowitz and Stegun
        22.2.1); the numerator is exact by Gauss-Legendre.
        """
        if self._coef is None:
            if min(self.p, 1 - self.p) < _SHANNON_MIN_PRIOR:
                raise NotImplementedError(
                    f"Shannon diffusion with prior {self.p:.3g} of state 1: survival, density, "
                    f"finite caps and sampling need both probabilities >= {_SHANNON_MIN_PRIOR} "
                    "(the eigen-series would need too many modes); cap = inf works"
                )
            n_modes = int(math.ceil(math.sqrt(_SHANNON_TAIL_EXPONENT / self.t_min))) + 2
            n = np.arange(n_modes)
            nodes, weights = special.roots_legendre(n_modes + 2)
            jac = special.eval_jacobi(n[:, None], 1, 1, nodes[None, :])
            numer = jac @ (weights * (1 + nodes) / 4)  # int_0^1 p P_n(2p - 1) dp
            norm = (n + 1) / ((2 * n + 3) * (n + 2))
            phi = self.p * (1 - self.p) * special.eval_jacobi(n, 1, 1, 2 * self.p - 1)
            up = numer / norm * phi
            self._coef = np.stack([(-1.0) ** n * up, up])
            self._eigen = ((n + 1) * (n + 2)).astype(float)
        return self._coef, self._eigen

    def laplace_inf_both(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """Moments 0 and 1 of :math:`e^{-r\\tau}` on each exit state, shape ``r.shape + (2,)``.

        Exit at 1 is :math:`y_1(p)/y_1(1)`; exit at 0 is :math:`y_1(1-p)/y_1(1)` (symmetry);
        moment 1 is minus the :math:`r`-derivative.
        """
        lam = np.asarray(r, dtype=float).ravel() / self.rate
        log_c1, dlog_c1 = _shannon_log_c1(lam)
        values, firsts = [], []
        for q in (1 - self.p, self.p):
            log_f, dlog_f = _shannon_series(q, lam)
            value = np.exp(math.log(q) + log_f - log_c1)
            values.append(value)
            firsts.append(-value * (dlog_f - dlog_c1) / self.rate)
        shape = np.shape(r) + (2,)
        return np.stack(values, axis=-1).reshape(shape), np.stack(firsts, axis=-1).reshape(shape)

    def laplace_inf(self, r: NDArray, moment: int) -> NDArray:
        """Shape ``r.shape + (2,)``: :math:`E[\\tau^m e^{-r\\tau}\\mathbf 1\\{\\theta\\}]`."""
        return self.laplace_inf_both(r)[moment]

    def _series(self, t: NDArray, weights: NDArray) -> tuple[NDArray, NDArray]:
        """Scaled time :math:`t' = ct` and :math:`\\sum_n w_n e^{-(n+1)(n+2)\\max(t', t_{min})}`.

        ``weights`` has shape ``(N, k)``; the result ``t.shape + (k,)``. Times are grouped by
        octave pairs of :math:`t'/t_{min}` and each group keeps only the modes with
        :math:`((n+1)(n+2) - 2)\\,t' \\le 60` (relative to the slowest mode, the rest are
        below :math:`e^{-60}`).
        """
        scaled = np.asarray(t, dtype=float) * self.rate
        flat = np.maximum(scaled.ravel(), self.t_min)
        _, eigen = self._eigen_data()
        out = np.empty((flat.size, weights.shape[1]))
        group = np.floor(np.log(flat / self.t_min) / math.log(4.0)).astype(int)
        for g in np.unique(group):
            sel = group == g
            keep = (eigen - 2.0) * self.t_min * 4.0**g <= 60.0
            out[sel] = np.exp(-eigen[keep] * flat[sel][:, None]) @ weights[keep]
        return scaled, out.reshape(scaled.shape + (weights.shape[1],))

    def joint_survival(self, t: NDArray) -> NDArray:
        """Shape ``t.shape + (2,)``: :math:`P(\\tau > t, \\theta)`."""
        coef, _ = self._eigen_data()
        scaled, surv = self._series(t, coef.T)
        prior = np.array([1 - self.p, self.p])
        return np.where(scaled[..., None] < self.t_min, prior, surv)

    def joint_density(self, t: NDArray) -> NDArray:
        """Shape ``t.shape + (2,)``: density of :math:`\\tau` on the event :math:`\\theta`."""
        coef, eigen = self._eigen_data()
        scaled, dens = self._series(t, (coef * eigen * self.rate).T)
        return np.where(scaled[..., None] < self.t_min, 0.0, dens)

    def truncated_time(self, cap: NDArray, mean: float) -> NDArray:
        """:math:`E[\\min(\\tau, T)] = E[\\tau] - \\int_T^\\infty P(\\tau > t)dt` (``cap`` >= 0)."""
        cap = np.asarray(cap, dtype=float)
        out = np.where(cap * self.rate < self.t_min, cap, mean)
        big = np.isfinite(cap) & (cap * self.rate >= self.t_min)
        if np.any(big):
            coef, eigen = self._eigen_data()
            decay = self.rate * eigen
            tail = np.exp(-decay * cap[big][..., None]) @ (coef.sum(axis=0) / decay)
            out[big] = mean - tail
        return out

    def laplace(self, r: NDArray, cap: NDArray, moment: int) -> NDArray:
        """Like :meth:`laplace_inf`, with caps: closed form minus the eigen-series tail."""
        out = self.laplace_inf(r, moment)
        finite = np.isfinite(cap)
        if not np.any(finite):
            return out
        coef, eigen = self._eigen_data()
        big = finite & (cap * self.rate >= self.t_min)
        out[cap * self.rate < self.t_min] = 0.0
        if np.any(big):
            a = r[big][..., None] + self.rate * eigen
            tb = cap[big][..., None]
            integral = np.exp(-a * tb) / a
            if moment == 1:
                integral = integral * (tb + 1 / a)
            out[big] = out[big] - integral @ (coef * eigen * self.rate).T
        return out


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
        :math:`(\\sinh kp + \\sinh k(1-p))/\\sinh k`, :math:`k = \\sqrt{2r}/\\sigma` (NOTES.md).
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


# ---------------------------------------------------------------------------------------
# Screening within a family (Section 2.2)
# ---------------------------------------------------------------------------------------
#: Dense grid for a one-dimensional argmax before the bounded refinement.
_ARGMAX_GRID = 4001
#: Slowest speed the diffusion grid search considers, and the grid size (in y = r / s).
_MIN_SPEED = 1e-3
_N_SPEEDS = 300
#: Golden-section steps (bracket shrinks by 0.618^80 ~ 2e-17).
_GOLDEN_STEPS = 80
#: Gauss-Legendre nodes per interval of the integration partition, and levels of its
#: geometric grading towards the ends and breakpoints of the urgency density.
_GAUSS_NODES = 8
_GRADING_LEVELS = 25
#: Types of the independent incentive check, and its tolerance.
_CHECK_TYPES = 301
_IC_TOLERANCE = 1e-9


def _check_grid(grid: ArrayLike, urgency: UrgencyDistribution) -> NDArray:
    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid: expected an increasing 1-d array of at least 2 urgencies")
    eps = 1e-12 * max(1.0, abs(urgency.high))
    if grid[0] < urgency.low - eps or grid[-1] > urgency.high + eps:
        raise ValueError(
            f"grid: spans [{grid[0]:.6g}, {grid[-1]:.6g}], outside the urgency support "
            f"[{urgency.low:.6g}, {urgency.high:.6g}]"
        )
    return np.clip(grid, urgency.low, urgency.high)


def _inner_breakpoints(urgency: UrgencyDistribution) -> NDArray:
    bps = np.asarray(urgency.breakpoints(), dtype=float).ravel()
    return bps[(bps > urgency.low) & (bps < urgency.high)]


def _argmax_1d(fun, low: float, high: float, points: NDArray) -> float:
    """Argmax of a vectorised ``fun`` on [low, high]: dense grid, then bounded Brent to 1e-13."""
    r = np.unique(np.concatenate([np.linspace(low, high, _ARGMAX_GRID), points]))
    with np.errstate(divide="ignore"):
        values = fun(r)
    j = int(np.argmax(values))
    a, b = r[max(j - 1, 0)], r[min(j + 1, r.size - 1)]
    best_x, best_f = r[j], values[j]
    if b > a:
        res = optimize.minimize_scalar(
            lambda x: -float(fun(np.array([x]))[0]),
            bounds=(a, b),
            method="bounded",
            options={"xatol": 1e-13},
        )
        if -res.fun > best_f:
            best_x = float(res.x)
    return float(best_x)


def _quad(fun, a: float, b: float, points: NDArray) -> float:
    """:func:`scipy.integrate.quad` to 1e-11 (relative), splitting at ``points``."""
    if b <= a:
        return 0.0
    inner = [p for p in points if a < p < b]
    value, _ = integrate.quad(
        fun, a, b, points=inner or None, epsabs=1e-13, epsrel=1e-11, limit=500
    )
    return float(value)


def screen_constant_delay(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> PolicySolution:
    r"""Best menu of constant-delay models (Section 2.2): a posted price for :math:`d_{\min}`.

    The virtual value of delay :math:`t` for type :math:`r` is :math:`e^{-rt}(g(r) - tG(r))`;
    where positive it decreases in :math:`t`, so each type gets :math:`d_{\min}` or nothing.
    With a single product the menu is a posted price serving a lower interval
    :math:`[\underline r, r^*]`, :math:`r^* = \arg\max_r G(r)e^{-rd_{\min}}`, at price
    :math:`e^{-r^*d_{\min}}`. When :math:`\log G` is concave this agrees with the pointwise
    solution :math:`\{r: g(r) > d_{\min}G(r)\}`; ``notes`` reports whether it does. Paper
    example: :math:`r^* = 1.5`, revenue :math:`\tfrac12 e^{-3}` (NOTES.md erratum 4).

    Parameters
    ----------
    entropy, prior, token_rate
        :math:`H`, :math:`\mu_0`, :math:`\chi`.
    urgency : UrgencyDistribution
        Distribution of :math:`r` (``pdf`` = g, ``cdf`` = G).
    grid : array_like
        Urgencies at which the menu rows are reported.
    """
    model = ConstantDelay(entropy, prior, token_rate)
    d = model.delay
    grid = _check_grid(grid, urgency)
    low, high = float(urgency.low), float(urgency.high)
    bps = _inner_breakpoints(urgency)
    r_star = _argmax_1d(lambda r: urgency.log_cdf(r) - r * d, low, high, bps)
    price = math.exp(-r_star * d)
    revenue = float(urgency.cdf(r_star)) * price
    # Information rent, integrated by parts so that no density appears (g may be infinite):
    # int_low^r* g e^{-rd} dr = G(r*) e^{-r* d} + d int_low^r* G e^{-rd} dr.
    surplus = d * _quad(lambda r: float(urgency.cdf(r)) * math.exp(-r * d), low, r_star, bps)
    welfare = revenue + surplus

    # The pointwise virtual-value solution, for the record.
    probe = np.linspace(low, high, 2001)
    served = urgency.pdf(probe) > d * urgency.cdf(probe)
    changes = np.flatnonzero(np.diff(served.astype(int)))
    if served[0] and changes.size <= 1:
        r_v = probe[changes[0]] if changes.size else high
        agree = abs(r_v - r_star) <= 1.5 * (probe[1] - probe[0])
        pointwise = f"the pointwise virtual-value set {{g > d G}} is [{low:.6g}, ~{r_v:.6g}], " + (
            "agreeing with r*" if agree else "which differs from r* (log G is not concave)"
        )
    else:
        pointwise = "the pointwise set {g > d G} is not a lower interval: ironed to one price"
    notes = (
        f"posted price exp(-r* d) for delay d = d_min = {d:.12g}; r* = {r_star:.12g}; " + pointwise
    )
    rows = tuple(
        MenuRow(float(r), None, price, True, {"delay": d})
        if r <= r_star
        else MenuRow(float(r), 0.0, 0.0, False, {"delay": d})
        for r in grid
    )
    return PolicySolution(
        name="constant-delay menu",
        kind="constant_delay",
        revenue=revenue,
        user_surplus=surplus,
        welfare=welfare,
        menu=rows,
        notes=notes,
    )


def _golden_max(fun, a: NDArray, b: NDArray, steps: int = _GOLDEN_STEPS):
    """Vectorised golden-section search for the maximum of ``fun`` on ``[a, b]``."""
    inv = (math.sqrt(5) - 1) / 2
    c, d = b - inv * (b - a), a + inv * (b - a)
    fc, fd = fun(c), fun(d)
    for _ in range(steps):
        left = fc >= fd
        a, b = np.where(left, a, c), np.where(left, d, b)
        new = np.where(left, b - inv * (b - a), a + inv * (b - a))
        fnew = fun(new)
        c, fc, d, fd = (
            np.where(left, new, d),
            np.where(left, fnew, fd),
            np.where(left, c, new),
            np.where(left, fc, fnew),
        )
    take_c = fc >= fd
    return np.where(take_c, c, d), np.where(take_c, fc, fd)


class _SpeedChoice:
    r"""Pointwise best speed: :math:`\max_{s\in[0,1]} g(r)U_1(r/s) + G(r)U_1'(r/s)/s`.

    Scaling :math:`\sigma^2` by ``s`` is a time change, :math:`\tau_s = \tau_1/s`, so
    :math:`U(s\mid r) = U_1(r/s)`. The search runs in :math:`y = r/s \ge r`: a geometric grid
    of ``y`` down to speed :data:`_MIN_SPEED`, then golden section around the best point. The
    full speed ``s = 1`` (``y = r``) is kept without refinement when it beats the whole grid
    and the virtual value does not increase (beyond rounding) just inside it, at
    ``y = r(1 + 1e-7)``.
    """

    def __init__(self, full: Diffusion, urgency: UrgencyDistribution):
        self.pair = full.utility_and_slope
        self.urgency = urgency
        lo = max(float(urgency.low), 1e-9 * float(urgency.high))
        self.y = np.geomspace(lo, float(urgency.high) / _MIN_SPEED, _N_SPEEDS)
        self.uy, self.duy = self.pair(self.y)

    def virtual(self, y: NDArray, r: NDArray, g: NDArray, cdf: NDArray) -> NDArray:
        u, du = self.pair(y)
        return g * u + cdf * (y / r) * du

    def best(self, r: NDArray) -> tuple[NDArray, NDArray]:
        """Speed ``s(r)`` (0: excluded) and the unclipped best virtual value over s > 0."""
        r = np.asarray(r, dtype=float)
        g, cdf = self.urgency.pdf(r), self.urgency.cdf(r)
        u_one, du_one = self.pair(r)
        at_one = g * u_one + cdf * du_one
        near_one = self.virtual(r * (1 + 1e-7), r, g, cdf)
        noise = 1e-12 * (g * u_one - cdf * du_one)  # rounding scale of the virtual value
        table = g[:, None] * self.uy + (cdf / r)[:, None] * self.y * self.duy
        table[self.y[None, :] <= r[:, None]] = -np.inf
        j = np.argmax(table, axis=1)
        top = table[np.arange(r.size), j]
        inner = top > at_one
        # Where no speed gives a positive virtual value the type is excluded: no refinement.
        refine = (inner | (near_one > at_one + noise)) & (np.maximum(top, near_one) > 0)
        speed = np.where(inner, r / self.y[j], 1.0)
        value = np.where(inner, top, at_one)
        if np.any(refine):
            k = refine
            first = np.minimum(np.searchsorted(self.y, r[k], side="right"), self.y.size - 1)
            lo = np.where(inner[k], np.maximum(self.y[np.maximum(j[k] - 1, 0)], r[k]), r[k])
            hi = np.where(inner[k], self.y[np.minimum(j[k] + 1, self.y.size - 1)], self.y[first])
            y_opt, f_opt = _golden_max(
                lambda y: self.virtual(y, r[k], g[k], cdf[k]), lo, np.maximum(hi, lo)
            )
            better = f_opt > at_one[k]
            speed[k] = np.where(better, r[k] / y_opt, 1.0)
            value[k] = np.where(better, f_opt, at_one[k])
        return np.where(value >= 0, speed, 0.0), value


def _graded(points: ArrayLike, lo: float, hi: float) -> NDArray:
    """Points clustering geometrically (ratio 1/4, down to ~1e-15 of the range) at ``points``.

    Gauss-Legendre on such a mesh converges fast for integrands with an algebraic
    singularity at a point (a Beta density, or a CDF like :math:`\\sqrt{r - \\underline r}`).
    """
    steps = (hi - lo) * 4.0 ** -np.arange(1, _GRADING_LEVELS + 1)
    pts = np.asarray(points, dtype=float)[:, None]
    out = np.concatenate([(pts + steps).ravel(), (pts - steps).ravel(), pts.ravel()])
    return out[(out >= lo) & (out <= hi)]


def _gauss_partition(edges: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Gauss-Legendre nodes, weights and interval index on every interval of ``edges``."""
    x, w = special.roots_legendre(_GAUSS_NODES)
    left, width = edges[:-1, None], np.diff(edges)[:, None]
    nodes = left + width * (x + 1) / 2
    weights = width * w / 2
    index = np.repeat(np.arange(edges.size - 1), _GAUSS_NODES)
    return nodes.ravel(), weights.ravel(), index


def screen_diffusion(
    entropy: Entropy,
    prior: ArrayLike,
    token_rate: float,
    urgency: UrgencyDistribution,
    grid: ArrayLike,
) -> PolicySolution:
    r"""Best menu of diffusion models indexed by speed ``s`` in [0, 1] (Section 2.2).

    ``s`` scales :math:`\sigma^2` (``s = 0`` never learns). The virtual value of type
    :math:`r` for speed ``s`` is :math:`g(r)U(s\mid r) + G(r)\,\partial_r U(s\mid r)`; it is
    maximised pointwise (grid in :math:`y = r/s`, then golden section). Prices come from the
    envelope formula :math:`P(r) = U(s(r)\mid r) - \int_r^{\bar r} E_{s(z)}[\tau e^{-z\tau}]dz`
    and welfare is :math:`\int g\,U(s(r)\mid r)`.

    **Incentive compatibility.** :math:`\partial_s U(s\mid r) = m(r/s)/s` with
    :math:`m(y) = -yU_1'(y)`, so :math:`\partial_r\partial_s U = m'(r/s)/s^2`. Where
    :math:`m' < 0` on the relevant range of :math:`y` (the usual case: urgent users value a
    faster model less at the margin, since they gain little from any model) single crossing
    holds and IC needs ``s(r)`` non-increasing in :math:`r`; where :math:`m' > 0`,
    non-decreasing. The menu is then verified independently with
    :func:`market.incentives.check_menu` on 301 types. If the pointwise schedule fails either
    test, the menu falls back to the best posted price for the full-speed model,
    :math:`r^* = \arg\max G(r)U_1(r)`, and ``notes`` says so. Paper example: ``s = 1`` for all
    types at the price :math:`\operatorname{sech}(2\sqrt2)`, the revenue (NOTES.md erratum 4).
    """
    full = Diffusion(entropy, prior, token_rate)
    grid = _check_grid(grid, urgency)
    low, high = float(urgency.low), float(urgency.high)
    bps = _inner_breakpoints(urgency)
    chooser = _SpeedChoice(full, urgency)
    types = np.linspace(low, high, _CHECK_TYPES)

    # Exclusion thresholds (where the best virtual value changes sign), then the partition.
    coarse = np.unique(np.concatenate([np.linspace(low, high, 401), grid, types, bps]))
    _, raw = chooser.best(coarse)
    thresholds = []
    for i in np.flatnonzero(np.diff(raw >= 0)):
        thresholds.append(
            optimize.brentq(
                lambda x: float(chooser.best(np.array([x]))[1][0]),
                coarse[i],
                coarse[i + 1],
                xtol=1e-14,
            )
        )
    kinks = np.concatenate([[low, high], bps, thresholds])
    edges = np.unique(np.concatenate([coarse, thresholds, _graded(kinks, low, high)]))
    nodes, weights, index = _gauss_partition(edges)
    s_nodes, _ = chooser.best(nodes)
    s_edges, _ = chooser.best(edges)

    def util_and_rent(r, s):
        # U(s|r) = U_1(r/s) and E_s[tau e^{-r tau}] = -U_1'(r/s)/s; both 0 when s = 0.
        safe = np.where(s > 0, s, 1.0)
        u, du = full.utility_and_slope(r / safe)
        return np.where(s > 0, u, 0.0), np.where(s > 0, -du / safe, 0.0)

    u_nodes, rent_nodes = util_and_rent(nodes, s_nodes)
    pieces = np.bincount(index, weights=weights * rent_nodes, minlength=edges.size - 1)
    rent = np.concatenate([np.cumsum(pieces[::-1])[::-1], [0.0]])  # int_r^high
    price_edges = np.where(s_edges > 0, util_and_rent(edges, s_edges)[0] - rent, 0.0)
    # User surplus = int g(r) int_r^high E[tau e^{-z tau}] dz dr = int G(z) E[tau e^{-z tau}] dz;
    # welfare = int g U dr = int_0^1 U(s(r(u))|r(u)) du with r(u) = G^{-1}(u): neither needs
    # the density, which may be infinite at an end of the support (Beta with a or b < 1).
    surplus = float(weights @ (urgency.cdf(nodes) * rent_nodes))
    u_kinks = urgency.cdf(kinks)
    u_edges = np.unique(np.concatenate([urgency.cdf(edges), _graded(u_kinks, 0.0, 1.0)]))
    u_nodes_, u_weights, _ = _gauss_partition(u_edges)
    r_of_u = np.clip(urgency.ppf(u_nodes_), low, high)
    welfare = float(u_weights @ util_and_rent(r_of_u, chooser.best(r_of_u)[0])[0])
    revenue = welfare - surplus

    # Single crossing and monotonicity.
    served = s_edges > 0
    notes = []
    monotone = True
    if np.any(served):
        y_lo = edges[served].min() / s_edges[served].max()
        y_hi = high / s_edges[served].min()
        y = np.geomspace(max(y_lo, 1e-12), max(y_hi, y_lo * (1 + 1e-9), 1e-12), 2001)
        m = -y * full.utility_dr(y)
        dm = np.diff(m)
        scale = 1e-12 * np.abs(m).max()
        if np.all(dm <= scale):
            direction, ok = "non-increasing", np.all(np.diff(s_edges) <= _IC_TOLERANCE)
        elif np.all(dm >= -scale):
            direction, ok = "non-decreasing", np.all(np.diff(s_edges) >= -_IC_TOLERANCE)
        else:
            direction, ok = None, True
        if direction is None:
            notes.append("no single crossing on the relevant range (relying on check_menu)")
        else:
            notes.append(
                f"single crossing: IC needs s(r) {direction}: " + ("holds" if ok else "fails")
            )
        monotone = bool(ok)
    else:
        notes.append("nobody has a positive virtual value")
    pos = np.searchsorted(edges, types)
    s_types, p_types = s_edges[pos], price_edges[pos]
    safe = np.where(s_types > 0, s_types, 1.0)
    ratio, where = np.unique(types[:, None] / safe[None, :], return_inverse=True)
    matrix = np.where(s_types[None, :] > 0, full.utility(ratio)[where], 0.0)
    report = check_menu(types, matrix, p_types)
    notes.append(
        f"check_menu on {_CHECK_TYPES} types: max gain {report.max_gain:.3g}, "
        f"min surplus {report.min_surplus:.3g}"
    )

    if monotone and report.passes(_IC_TOLERANCE):
        speed = np.where(s_edges > 0, s_edges, 0.0)
        pos = np.searchsorted(edges, grid)
        s_grid, p_grid = speed[pos], price_edges[pos]
        notes.insert(
            0,
            "pointwise-optimal speeds"
            + (
                f" in [{s_grid[s_grid > 0].min():.6g}, {s_grid.max():.6g}]"
                if np.any(s_grid)
                else " (nobody served)"
            ),
        )
    else:
        r_star = _argmax_1d(lambda r: urgency.log_cdf(r) + np.log(full.utility(r)), low, high, bps)
        price = float(full.utility(r_star))
        revenue = float(urgency.cdf(r_star)) * price
        surplus = _quad(lambda r: -float(urgency.cdf(r) * full.utility_dr(r)), low, r_star, bps)
        welfare = revenue + surplus  # by parts, as in screen_constant_delay
        s_grid = np.where(grid <= r_star, 1.0, 0.0)
        p_grid = np.where(grid <= r_star, price, 0.0)
        served_types = types <= r_star
        posted = check_menu(
            types,
            np.where(served_types[None, :], full.utility(types)[:, None], 0.0),
            np.where(served_types, price, 0.0),
        )
        notes = [
            f"pointwise schedule not implementable ({'; '.join(notes)}): fell back to a posted "
            f"price {price:.12g} for the full-speed model, serving [{low:.6g}, {r_star:.12g}]; "
            f"check_menu on {_CHECK_TYPES} types: max gain {posted.max_gain:.3g}, "
            f"min surplus {posted.min_surplus:.3g}"
        ]
    rows = tuple(
        MenuRow(
            float(r),
            None if s > 0 else 0.0,
            float(p) if s > 0 else 0.0,
            bool(s > 0),
            {"speed": float(s), "volatility": full.volatility * math.sqrt(s)},
        )
        for r, s, p in zip(grid, s_grid, p_grid, strict=True)
    )
    return PolicySolution(
        name="diffusion menu",
        kind="diffusion",
        revenue=revenue,
        user_surplus=surplus,
        welfare=welfare,
        menu=rows,
        notes="; ".join(notes),
    )
