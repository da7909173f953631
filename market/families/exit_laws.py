r"""Exit laws of the binary diffusion models of Section 2.2 (see :mod:`market.families`).

This module holds the stopping-law series behind :class:`market.families.Diffusion`:

- standard Brownian motion on :math:`(0,1)` (the constant-:math:`\sigma` case after the time
  change :math:`s = \sigma^2 t`): joint survival, density and truncated mean of the exit time
  by the eigenfunction (sine) and method-of-images series, and the Laplace transform with and
  without a cap;
- the Shannon diffusion :math:`dp = \sqrt{2c\,p(1-p)}\,dB` (:class:`_ShannonLaw`): the
  hypergeometric Laplace transform and the Jacobi eigen-series;
- :func:`_invert_survival`, the bracketed Newton iteration in :math:`\log t` that samples a
  breakthrough time by inverting a conditional survival.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

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
