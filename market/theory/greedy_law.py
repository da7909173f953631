r"""The stopping law of the greedy exploration model (see :mod:`market.theory.greedy`).

:class:`StoppingLaw` is the half of :class:`market.theory.greedy.GreedyModel` that turns the
belief path into the law of the stopping time :math:`\tau`: survival :math:`S`, density
:math:`f^*`, per-state densities and CDFs, the discounted moments
:math:`E[\tau^m e^{-r\tau}\mathbf 1\{\tau\le T\}]`, and exact sampling of a breakthrough
time given the true state. Transient phases: Gauss-Legendre quadrature on the Chebyshev
panels of the density; stationary phase: closed forms with the regularised lower incomplete
gamma function.
"""

from __future__ import annotations

import math
from math import comb, factorial

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import elementwise
from scipy.special import gammainc

from market.numerics.chebyshev import GL_W as _GL_W
from market.numerics.chebyshev import GL_X as _GL_X
from market.numerics.chebyshev import fit_panels

__all__ = ["BULK_CAPS", "BULK_PAIRS", "StoppingLaw"]

#: Many (urgency, cap) pairs with few distinct caps take the bulk route of ``laplace``.
BULK_PAIRS = 20_000
BULK_CAPS = 64
#: Most exponentials computed at once by the quadrature of the transient phases, and the
#: exponent r t beyond which a sub-panel's contribution is negligible (e^-60 ~ 1e-26).
CHUNK = 2_000_000
NEGLIGIBLE = 60.0
#: Target accuracy of the bulk route's Chebyshev fits in r.
BULK_TOLERANCE = 1e-13


class StoppingLaw:
    """The stopping law of a greedy model (a mixin of :class:`GreedyModel`).

    It reads the model's ``phases``, ``prior``, ``stationary_rate``, its density panels
    (``_panels``, ``_tail_start``, ``_tail_survival``) and its path (``_state``, ``rates``).
    """

    def survival(self, t: ArrayLike) -> NDArray:
        r""":math:`S(t) = P(\tau > t)`."""
        shape = np.shape(t)
        return np.exp(self._state(np.ravel(t))[1]).reshape(shape)

    def density(self, t: ArrayLike) -> NDArray:
        r""":math:`f^*(t)`, the density of the stopping time."""
        shape = np.shape(t)
        t = np.atleast_1d(np.asarray(t, dtype=float)).ravel()
        out = np.empty(t.size)
        tail = t >= self._tail_start
        out[tail] = (
            self._tail_survival
            * self.stationary_rate
            * np.exp(-self.stationary_rate * (t[tail] - self._tail_start))
        )
        if np.any(~tail):
            out[~tail] = self._panel_density(t[~tail])
        return out.reshape(shape)

    def hazard(self, t: ArrayLike) -> NDArray:
        r""":math:`f^*(t)/S(t) = \sum_\theta\beta_t(\theta)`, the breakthrough hazard.

        Constant (the stationary rate) on the last phase; on transient phases from a cached
        piecewise Chebyshev fit of :math:`\log h` on each phase (smooth there; 1e-13).
        """
        shape = np.shape(t)
        t = np.atleast_1d(np.asarray(t, dtype=float)).ravel()
        out = np.full(t.size, self.stationary_rate)
        early = t < self._tail_start
        if np.any(early):
            out[early] = np.exp(self._log_hazard_fit(t[early]))
        return out.reshape(shape)

    def log_hazard_slope(self, t: ArrayLike) -> NDArray:
        r""":math:`d\log h/dt` (0 on the stationary phase), from the cached fit."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.zeros(t.size)
        early = t < self._tail_start
        if np.any(early):
            slope = self.__dict__.get("_log_hazard_slope")
            if slope is None:
                slope = self.__dict__["_log_hazard_slope"] = self._log_hazard_fit.derivative()
            out[early] = slope(t[early])
        return out

    @property
    def _log_hazard_fit(self):
        fit = self.__dict__.get("_log_hazard_cache")
        if fit is None:
            bps = [p.start for p in self.phases]
            fit = fit_panels(
                lambda t: np.log(self.density(t) / self.survival(t)), bps, rtol=BULK_TOLERANCE
            )
            self.__dict__["_log_hazard_cache"] = fit
        return fit

    def _panel_density(self, t: NDArray) -> NDArray:
        return self._panels(t)

    def state_densities(self, t: ArrayLike) -> NDArray:
        r""":math:`f_\theta(t) = S(t)\beta_t(\theta)`; shape ``(len(t), n)``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return self.survival(t)[:, None] * self.rates(t)

    def state_cdfs(self, t: ArrayLike) -> NDArray:
        r""":math:`F_\theta(t) = \mu_0(\theta) - S(t)\hat\mu_t(\theta)` (Bayes' rule)."""
        mu, log_s, _ = self._state(t)
        return (self.prior[:, None] - np.exp(log_s)[None, :] * mu).T

    def cdf(self, t: ArrayLike) -> NDArray:
        return 1.0 - self.survival(t)

    def laplace(self, r: ArrayLike, cap: ArrayLike = np.inf, moment: int = 0) -> NDArray:
        r""":math:`E[\tau^m e^{-r\tau}\mathbf 1\{\tau \le T\}]`, ``m = moment``, ``T = cap``.

        ``r >= 0`` and ``cap >= 0`` broadcast. Transient phases: Gauss-Legendre quadrature
        on the density's panels; stationary phase: closed form with the regularised lower
        incomplete gamma function.
        """
        if moment not in (0, 1, 2):
            raise ValueError(f"moment = {moment}: expected 0, 1 or 2")
        r_arr, cap_arr = np.broadcast_arrays(
            np.asarray(r, dtype=float), np.asarray(cap, dtype=float)
        )
        shape = r_arr.shape
        r_flat, cap_flat = r_arr.ravel(), cap_arr.ravel()
        out = self._tail_moment(r_flat, cap_flat, moment)
        if self._panels is not None:
            out += self._transient_part(r_flat, cap_flat, moment)
        return out.reshape(shape)

    def _transient_part(self, r: NDArray, cap: NDArray, m: int) -> NDArray:
        """The transient phases' share; for many urgencies and few caps (a simulated
        population choosing among plans), through Chebyshev fits in r, one per cap."""
        caps = np.unique(cap)
        if r.size < BULK_PAIRS or caps.size > BULK_CAPS:
            return self._transient_moment(r, cap, m)
        lo, hi = float(r.min()), float(r.max())
        if hi <= lo:
            return self._transient_moment(r, cap, m)
        out = np.empty(r.size)
        for c in caps:
            sel = cap == c
            fit = fit_panels(
                lambda z, c=c: self._transient_moment(z, np.full(z.size, c), m),
                [lo, hi],
                degree=32,
                rtol=BULK_TOLERANCE,
                scale=max(
                    float(self._transient_moment(np.array([lo]), np.array([c]), m)[0]), 1e-300
                ),
            )
            out[sel] = fit(r[sel])
        return out

    def _tail_moment(self, r: NDArray, cap: NDArray, m: int) -> NDArray:
        a, lam = self._tail_start, self.stationary_rate
        c = r + lam
        w = np.clip(cap - a, 0.0, None)
        # int_a^{a+w} t^m e^{-rt} S_a lam e^{-lam (t-a)} dt, expanding t^m = (a + s)^m.
        scale = self._tail_survival * lam * np.exp(-r * a)
        total = np.zeros_like(r)
        for j in range(m + 1):
            # int_0^w s^j e^{-cs} ds = gammainc(j+1, c w) j! / c^{j+1}
            if j == 0:
                part = -np.expm1(-c * w) / c  # gammainc(1, x) = 1 - e^{-x}
            else:
                part = gammainc(j + 1, c * w) * factorial(j) / c ** (j + 1)
            total += comb(m, j) * a ** (m - j) * part
        return scale * total

    def _sub_nodes(self, r_max: float) -> tuple[NDArray, NDArray, NDArray]:
        """Gauss-Legendre nodes ``t`` (S, Q), weights times the density (S, Q), and each
        sub-panel's first index per density panel (for ``np.add.reduceat``): every density
        panel cut into parts across which :math:`e^{-r t}` changes by at most :math:`e^2` for
        ``r <= r_max`` (rounded up to a power of two, and cached: they do not depend on r)."""
        key = 2.0 ** math.ceil(math.log2(max(r_max, 1e-300))) if r_max > 0 else 0.0
        cache = self.__dict__.setdefault("_sub_cache", {})
        if key not in cache:
            ps, pe = self._panels.starts, self._panels.ends
            parts = np.maximum(1, np.ceil((pe - ps) * key / 2.0)).astype(np.int64)
            owner = np.repeat(np.arange(ps.size), parts)
            index = np.arange(owner.size) - np.repeat(np.cumsum(parts) - parts, parts)
            h = ((pe - ps) / parts)[owner]
            left = ps[owner] + h * index
            t = left[:, None] + h[:, None] * (_GL_X[None, :] + 1) / 2  # (S, Q)
            f = self._panels.evaluate_in(t, owner[:, None])
            cache[key] = (t, (h[:, None] / 2) * _GL_W[None, :] * f, np.cumsum(parts) - parts)
        return cache[key]

    def _full_panels(self, ur: NDArray, m: int) -> NDArray:
        """:math:`\\int_{panel} f(t) t^m e^{-rt} dt` for each distinct ``ur`` (ascending) and
        panel: (R, J). Sub-panels starting beyond :math:`t` with :math:`rt >` :data:`NEGLIGIBLE`
        contribute less than :math:`e^{-60}` of the first ones and are skipped."""
        t, weight, first = self._sub_nodes(float(ur.max()) if ur.size else 0.0)
        wm = weight * t**m
        full = np.zeros((ur.size, t.shape[0]))
        step = max(1, CHUNK // max(t.size, 1))  # urgencies per chunk of exponentials
        for i in range(0, ur.size, step):
            rr = ur[i : i + step]
            k = int(np.searchsorted(t[:, 0], NEGLIGIBLE / max(rr[0], 1e-300), side="right"))
            e = np.exp(-rr[:, None, None] * t[None, :k])
            full[i : i + step, :k] = np.einsum("sq,rsq->rs", wm[:k], e)
        return np.add.reduceat(full, first, axis=1)

    def _transient_moment(self, r: NDArray, cap: NDArray, m: int) -> NDArray:
        ps, pe = self._panels.starts, self._panels.ends
        ur, inv = np.unique(r, return_inverse=True)
        full = self._full_panels(ur, m)  # (R, J)
        cum = np.concatenate([np.zeros((ur.size, 1)), np.cumsum(full, axis=1)], axis=1)
        # Panels wholly below the cap, then the partial panel holding the cap.
        j = np.searchsorted(ps, cap, side="right") - 1  # panel holding cap (-1: before all)
        below = np.clip(j, 0, None)
        out = np.where(j >= 0, cum[inv, below], 0.0)
        partial = (j >= 0) & (cap < pe[below])
        if np.any(partial):
            out[partial] = cum[inv[partial], below[partial]] + self._partial(
                r[partial], cap[partial], below[partial], m
            )
        # A cap beyond the last panel end covers all transient panels.
        beyond = cap >= pe[-1]
        out[beyond] = cum[inv[beyond], -1]
        return out

    def _partial(self, r: NDArray, cap: NDArray, jj: NDArray, m: int) -> NDArray:
        """:math:`\\int_{a_j}^{T} f(t) t^m e^{-rt} dt` within the panel ``jj`` holding the cap
        (only up to :math:`rt =` :data:`NEGLIGIBLE`, beyond which it adds nothing)."""
        a = self._panels.starts[jj]
        with np.errstate(divide="ignore"):
            horizon = np.where(r > 0, NEGLIGIBLE / np.maximum(r, 1e-300), np.inf)
        span = np.clip(np.minimum(cap, horizon) - a, 0.0, None)
        parts = int(max(1, np.ceil(float(np.max(span * r, initial=0.0)) / 2.0)))
        acc = np.zeros(jj.size)
        for s in range(parts):
            lo = a + span * s / parts
            h = span / parts
            t = lo[:, None] + h[:, None] * (_GL_X[None, :] + 1) / 2
            f = self._panels.evaluate_in(t, jj[:, None])
            acc += np.sum((h[:, None] / 2) * _GL_W[None, :] * f * t**m * np.exp(-r[:, None] * t), 1)
        return acc

    def expected_truncated_time(self, cap: ArrayLike) -> NDArray:
        r""":math:`E[\min(\tau, T)] = E[\tau 1\{\tau\le T\}] + T\,S(T)` (``inf``: :math:`E\tau`)."""
        cap = np.asarray(cap, dtype=float)
        finite = np.isfinite(cap)
        tail = np.where(
            finite, np.where(finite, cap, 0.0) * self.survival(np.where(finite, cap, 0.0)), 0.0
        )
        return self.laplace(0.0, cap, moment=1) + tail

    @property
    def expected_time(self) -> float:
        r""":math:`E[\tau]`, integrated from the stopping law."""
        return float(self.laplace(0.0, np.inf, moment=1))

    # ------------------------------------------------------------------ sampling ------
    def conditional_survival(self, t: ArrayLike, state: ArrayLike) -> NDArray:
        r""":math:`P(\tau > t\mid\theta) = S(t)\hat\mu_t(\theta)/\mu_0(\theta)`."""
        t_arr, s_arr = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(state))
        mu, log_s, _ = self._state(t_arr.ravel())
        s_flat = s_arr.ravel().astype(int)
        val = np.exp(log_s) * mu[s_flat, np.arange(s_flat.size)] / self.prior[s_flat]
        return np.minimum(val, 1.0).reshape(t_arr.shape)

    def sample_time(self, u: ArrayLike, state: ArrayLike) -> NDArray:
        r"""Breakthrough time given the true state: solves :math:`P(\tau>t\mid\theta) = u`.

        Exact in the stationary phase (closed form); on transient phases the root of the
        dense ODE solution is bracketed by the phase and found by Chandrupatla's method.
        """
        u_arr, s_arr = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(state))
        shape = u_arr.shape
        u_flat, s_flat = u_arr.ravel(), s_arr.ravel().astype(int)
        if np.any((u_flat <= 0) | (u_flat >= 1)):
            raise ValueError("uniforms must lie in (0, 1)")
        # Conditional survival at each phase start, per state: (K, n).
        starts = np.array([p.start for p in self.phases])
        at_start = np.array([np.exp(p.log_survival) * p.belief / self.prior for p in self.phases])
        at_start = np.minimum(at_start, 1.0)
        # Phase k holds the root when at_start[k] >= u > at_start[k+1].
        k = np.sum(at_start[:, s_flat] >= u_flat[None, :], axis=0) - 1
        k = np.clip(k, 0, len(self.phases) - 1)
        out = np.empty(u_flat.size)
        last = len(self.phases) - 1
        tail = k == last
        c0 = at_start[last, s_flat[tail]]
        out[tail] = starts[last] + np.log(c0 / u_flat[tail]) / self.stationary_rate
        for kk in np.unique(k[~tail]):
            sel = np.flatnonzero(k == kk)
            phase = self.phases[kk]
            st, log_u = s_flat[sel], np.log(u_flat[sel])
            log_prior = np.log(self.prior[st])

            def g(t, st, log_u, log_prior, phase=phase):
                y = phase.solution(np.clip(t, phase.start, phase.end))
                cols = np.arange(t.size)
                return y[-1] + np.log(y[st, cols]) - log_prior - log_u

            res = elementwise.find_root(
                g,
                (np.full(sel.size, phase.start), np.full(sel.size, phase.end)),
                args=(st, log_u, log_prior),
                tolerances={"xatol": 1e-14, "xrtol": 4 * np.finfo(float).eps},
            )
            out[sel] = res.x
        return out.reshape(shape)

    def sample(self, rng: np.random.Generator, size: int) -> tuple[NDArray, NDArray]:
        """Draw ``size`` (breakthrough time, learned state) pairs from the uncapped model."""
        rng = np.random.default_rng(rng)
        state = rng.choice(self.n, size=size, p=self.prior)
        u = rng.random(size)
        u = np.where(u == 0.0, np.nextafter(0.0, 1.0), u)
        return self.sample_time(u, state), state
