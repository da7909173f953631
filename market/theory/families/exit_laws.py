r"""Exit laws of the binary diffusion models of Section 2.2 (see :mod:`market.theory.families`).

This module holds the Brownian stopping-law series behind :class:`market.theory.families.Diffusion`:

- standard Brownian motion on :math:`(0,1)` (the constant-:math:`\sigma` case after the time
  change :math:`s = \sigma^2 t`): joint survival, density and truncated mean of the exit time
  by the eigenfunction (sine) and method-of-images series, and the Laplace transform with and
  without a cap;
- :func:`_invert_survival`, the bracketed Newton iteration in :math:`\log t` that samples a
  breakthrough time by inverting a conditional survival.
The Shannon diffusion's series are in :mod:`market.theory.families.shannon_law`.
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
