r"""The Shannon diffusion :math:`dp = \sqrt{2c\,p(1-p)}\,dB` of Section 2.2: the hypergeometric
Laplace transform and the Jacobi eigen-series of its exit time (:class:`_ShannonLaw`, used by
:class:`market.theory.families.Diffusion`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

#: Shannon eigen-series: below chi*speed*t = min(p, 1-p)/60 the exit probability is below
#: exp(-60) (squared-Bessel comparison near a vertex) and is taken as 0.
_SHANNON_TMIN_FACTOR = 1.0 / 60.0
#: ... and modes are kept until exp(-(n+1)(n+2) t_min) < exp(-45); so a prior probability
#: below _SHANNON_MIN_PRIOR (> 1600 modes) is not supported for those.
_SHANNON_TAIL_EXPONENT = 45.0
_SHANNON_MIN_PRIOR = 1e-3
#: Elements x terms per block of the vectorised hypergeometric series.
_SERIES_BLOCK = 2**18


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
