r"""Soft caps: endogenous reasoning quality (Zhong 2025, Section 4, Figure 1; docs/paper-notes.md,
erratum 10).

Two states, prior :math:`\tfrac12`, entropy :math:`H(\mu) = |\mu - \tfrac12|^\alpha`
(:math:`\alpha \ge 2`; :math:`\alpha = 2` is the paper's quadratic example) and a user who values
stopping at belief :math:`\mu` at :math:`V(\mu) = |\mu - \tfrac12|` (the *reasoning quality*
:math:`\kappa`). The platform chooses when to stop and with what quality. For type :math:`r` with
soft cap :math:`T = T(r)` (:math:`g/G`, Definition 2; the paper's "T(t)" is a typo for T(r)),
the optimal model keeps the belief at :math:`\tfrac12` and jumps to :math:`\tfrac12\pm\kappa(t)`
at rate :math:`\chi/\kappa(t)^\alpha` ((Info.) binds), where

.. math:: \kappa(t)^\alpha = \frac{\alpha\chi}{(\alpha-1)(\alpha+1)}\,s\,e^{-\alpha r s}
   {}_1F_1(\alpha+1;\alpha+2;\alpha r s)
   = \frac{\chi\, z\,F(z)}{(\alpha^2-1)\,r}, \qquad s = T - t,\ z = \alpha r s,

with :math:`F(z) = {}_1F_1(1;\alpha+2;-z)` by Kummer's identity — the stable form
(``scipy.special.hyp1f1(3, 4, 800)`` overflows; ``hyp1f1(1, 4, -800)`` does not). Quality decays
to 0 as the running time reaches :math:`T` (the token use reaches the soft cap :math:`\chi T`);
the most patient type (:math:`T = \infty`) keeps :math:`(\chi/((\alpha-1)r))^{1/\alpha}`, and its
jumps come at the constant rate :math:`(\alpha-1)r`. The value of type :math:`r`'s pointwise
problem (13) is :math:`(\alpha-1)\kappa_r(0)/\alpha`.

**The jump law.** The hazard is :math:`h = \chi/\kappa^\alpha = \gamma\,\alpha r/(zF(z))` with
:math:`\gamma = (\alpha^2-1)/\alpha`, so the cumulative hazard is

.. math:: \Lambda(t) = \gamma \int_{z_t}^{z_0} \frac{du}{u F(u)}, \qquad z_0 = \alpha r T,\
   z_t = \alpha r (T - t),

which diverges at :math:`t = T` (a jump comes before the soft cap, almost surely). The
integral is the Chebyshev fit of :math:`(1/F - 1)/u` on :math:`[0, Z]` plus :math:`\log`, and
beyond :math:`Z` the asymptotic series :math:`1/(uF) = (b-1)^{-1}\sum_n c_n u^{-n}`
(:math:`b = \alpha+2`, :math:`\sum_n c_n w^n = 1/\sum_n (2-b)_n w^n`, from
:math:`F(u) \sim (b-1)u^{-1}\sum_n (2-b)_n u^{-n}`, DLMF 13.7.2), integrated in closed form.
:meth:`QualityLaw.jump` inverts :math:`\Lambda(t) = E` (``E = -log u`` of a uniform) by a
safeguarded Newton iteration; the simulation (:mod:`market.sim.softcaps`) and the expectations
here (Gauss-Legendre in :math:`E`, :meth:`QualityLaw.moments`) use the same inversion.

**Tokens.** A conversation produces information at the rate :math:`\chi` while it runs, so it
uses :math:`\chi\tau` tokens (never more than the soft cap :math:`\chi T`); by (Info.)
:math:`\chi E[\tau] = E[\kappa_\tau^\alpha]`.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import hyp1f1

from market.numerics.chebyshev import fit_panels

__all__ = ["ALPHA_MAX", "QualityLaw", "kummer", "stationary_quality"]

#: Largest alpha the asymptotic series of the jump law is used for (its n-th term is about
#: (b)_n / Z^n; at alpha = 20 and Z = 4000 the tenth is ~1e-20).
ALPHA_MAX = 20.0
#: Beyond this z the cumulative hazard uses the asymptotic series (SERIES_TERMS terms).
Z_SPLIT = 4000.0
SERIES_TERMS = 10
#: Below this z, (1 - F)/z comes from its power series (no cancellation).
Z_SERIES = 1.0
#: Expectations over the jump law: Gauss-Legendre panels in E = Lambda(tau) (an Exp(1)
#: variable) with these edges (P(E > 50) = e^-50 ~ 2e-22), GL_NODES nodes each.
E_EDGES = (0.0, 0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 8.0, 11.0, 15.0, 20.0, 27.0, 36.0, 50.0)
GL_NODES = 12
#: The inversion stops once the residual of Lambda/gamma is within this (relative to
#: max(1, Lambda/gamma)): the noise floor of its Chebyshev integrals is ~1e-13.
DROP_NOISE = 1e-12
#: Most Newton iterations of the inversion (it converges quadratically from a bracketed
#: start; bisection steps when a Newton step leaves the bracket).
NEWTON_STEPS = 100


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.floating):
        raise ValueError(f"alpha = {alpha!r}: expected a number from 2 to {ALPHA_MAX:g}")
    if not (math.isfinite(alpha) and 2.0 <= alpha <= ALPHA_MAX):
        raise ValueError(f"alpha = {alpha!r}: expected a number from 2 to {ALPHA_MAX:g}")
    return float(alpha)


def kummer(alpha: float, z: ArrayLike) -> NDArray:
    r""":math:`F(z) = {}_1F_1(1;\alpha+2;-z) = e^{-z}{}_1F_1(\alpha+1;\alpha+2;z)` for
    :math:`z \ge 0` (Kummer's identity, docs/paper-notes.md erratum 10); ``inf`` gives 0."""
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore"):
        out = hyp1f1(1.0, alpha + 2.0, -np.where(np.isfinite(z), z, 0.0))
    return np.where(np.isfinite(z), out, 0.0)


def stationary_quality(alpha: float, token_rate: float, r: ArrayLike) -> NDArray:
    r""":math:`(\chi/((\alpha-1)r))^{1/\alpha}`: the quality with no soft cap (:math:`T\to\infty`),
    user-optimal for type :math:`r` (Section 4)."""
    return (token_rate / ((alpha - 1.0) * np.asarray(r, dtype=float))) ** (1.0 / alpha)


class QualityLaw:
    r"""The soft-cap model of Section 4 for every type: quality, hazard, jump times, moments.

    Parameters
    ----------
    alpha : float
        :math:`\alpha` of :math:`H = |\mu-\tfrac12|^\alpha`, from 2 to :data:`ALPHA_MAX`.
    token_rate : float
        :math:`\chi > 0`.
    """

    def __init__(self, alpha: float, token_rate: float):
        self.alpha = _check_alpha(alpha)
        if not (math.isfinite(token_rate) and token_rate > 0):
            raise ValueError(f"token_rate = {token_rate!r}: expected a number > 0")
        self.token_rate = float(token_rate)
        self.b = self.alpha + 2.0
        self.gamma = (self.alpha**2 - 1.0) / self.alpha

    # -- F and the cumulative hazard in z ---------------------------------------------
    def z_f(self, z: ArrayLike) -> NDArray:
        """:math:`zF(z)`, increasing from 0 to :math:`b - 1 = \\alpha + 1` (its limit at inf)."""
        z = np.asarray(z, dtype=float)
        with np.errstate(invalid="ignore"):
            out = z * kummer(self.alpha, z)
        return np.where(np.isfinite(z), out, self.b - 1.0)

    def _one_minus_f_over_z(self, z: NDArray) -> NDArray:
        """:math:`(1 - F(z))/z` by its series for small z (no cancellation)."""
        out = np.zeros_like(z)
        term = np.ones_like(z)
        poch = 1.0
        for n in range(1, 40):
            poch *= self.b + n - 1  # (b)_n
            out += term / poch
            term = -term * z
        return out

    def _g(self, z: NDArray) -> NDArray:
        """:math:`(1/F(z) - 1)/z`, bounded: :math:`1/b` at 0, :math:`1/(b-1)` at infinity."""
        z = np.asarray(z, dtype=float)
        small = z < Z_SERIES
        q = self._one_minus_f_over_z(np.where(small, z, 0.0))
        f_small = 1.0 - z * q
        direct = (1.0 / kummer(self.alpha, np.where(small, 1.0, z)) - 1.0) / np.where(small, 1, z)
        return np.where(small, q / f_small, direct)

    @cached_property
    def _fit(self):
        edges = [0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0, Z_SPLIT]
        return fit_panels(self._g, edges, rtol=1e-14, scale=1.0 / (self.b - 1.0))

    @cached_property
    def _series(self) -> NDArray:
        """:math:`c_n`: :math:`1/(uF(u)) \\sim (b-1)^{-1}\\sum_n c_n u^{-n}`."""
        a = np.ones(SERIES_TERMS + 1)
        poch = 1.0
        for n in range(1, SERIES_TERMS + 1):
            poch *= 2.0 - self.b + n - 1  # (2 - b)_n
            a[n] = poch
        c = np.zeros_like(a)
        c[0] = 1.0
        for n in range(1, a.size):
            c[n] = -np.dot(a[1 : n + 1], c[n - 1 :: -1][:n])
        return c

    def _asymptotic(self, z0: NDArray, w: NDArray) -> NDArray:
        """:math:`\\int_{z_0-w}^{z_0} du/(uF(u))` for :math:`z_0 - w \\ge Z` (stable in w)."""
        c = self._series
        lp = np.log1p(-w / z0)
        out = w - c[1] * lp
        for n in range(2, c.size):
            out = out + c[n] * z0 ** (1.0 - n) * np.expm1((1.0 - n) * lp) / (n - 1.0)
        return out / (self.b - 1.0)

    def _drop(self, z0: NDArray, z: NDArray, w: NDArray, log_ratio: NDArray) -> NDArray:
        """:math:`\\int_z^{z_0} du/(uF(u))` with :math:`w = z_0 - z`, ``log_ratio`` =
        :math:`\\log(z_0/z)` (each given in its accurate form)."""
        fit = self._fit
        zs = np.minimum(z, Z_SPLIT)
        z0s = np.minimum(z0, Z_SPLIT)
        low = log_ratio + fit.integral_to_end(zs) - fit.integral_to_end(z0s)  # both <= Z
        both_high = z >= Z_SPLIT
        mixed = (z0 > Z_SPLIT) & ~both_high
        out = np.where(mixed, 0.0, low)
        if np.any(both_high):
            out = np.where(both_high, self._asymptotic(np.maximum(z0, Z_SPLIT), np.where(
                both_high, w, 0.0)), out)  # fmt: skip
        if np.any(mixed):
            z0m = np.where(mixed, z0, 2 * Z_SPLIT)
            part = self._asymptotic(z0m, z0m - Z_SPLIT)
            part = part + np.log(Z_SPLIT / np.where(mixed, z, 1.0)) + fit.integral_to_end(zs)
            out = np.where(mixed, part, out)
        return out

    # -- per type ------------------------------------------------------------------------
    def quality(self, r: ArrayLike, cap: ArrayLike, t: ArrayLike) -> NDArray:
        r""":math:`\kappa_r(t)` for a type of urgency ``r`` and soft cap ``cap`` (:math:`T`;
        ``inf``: the stationary quality); 0 for :math:`t \ge T` (and for a cap of 0)."""
        r, cap, t = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (r, cap, t)))
        z = np.where(np.isinf(cap), np.inf, self.alpha * r * np.maximum(cap - t, 0.0))
        return self.quality_at(r, z)

    def quality_at(self, r: ArrayLike, z: ArrayLike) -> NDArray:
        """:math:`\\kappa` from :math:`z = \\alpha r (T - t)`."""
        r = np.asarray(r, dtype=float)
        y = self.token_rate * self.z_f(z) / ((self.alpha**2 - 1.0) * r)
        return np.maximum(y, 0.0) ** (1.0 / self.alpha)

    def hazard(self, r: ArrayLike, cap: ArrayLike, t: ArrayLike) -> NDArray:
        """:math:`\\chi/\\kappa_r(t)^\\alpha`, the jump rate (``inf`` at the soft cap)."""
        k = self.quality(r, cap, t)
        with np.errstate(divide="ignore"):
            return self.token_rate / k**self.alpha

    def cumulative_hazard(self, r: ArrayLike, cap: ArrayLike, t: ArrayLike) -> NDArray:
        r""":math:`\Lambda(t) = \int_0^t \chi/\kappa^\alpha`; ``inf`` from the soft cap on."""
        r, cap, t = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (r, cap, t)))
        z0 = self.alpha * r * cap
        w = self.alpha * r * np.minimum(t, cap)
        finite = np.isfinite(cap) & (t < cap)
        z0f, wf = np.where(finite, z0, 1.0), np.where(finite, w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = self._drop(z0f, z0f - wf, wf, -np.log1p(-wf / z0f))
        out = np.where(finite, self.gamma * d, np.inf)
        return np.where(np.isinf(cap), (self.alpha - 1.0) * r * t, out)

    def jump(self, r: ArrayLike, cap: ArrayLike, e: ArrayLike) -> tuple[NDArray, NDArray]:
        r"""The jump time :math:`\tau` with :math:`\Lambda(\tau) = E` and the quality
        :math:`\kappa_r(\tau)` there, for exponentials ``e`` (:math:`E = -\log u`).

        Inverts in :math:`w = \alpha r t` when the root has :math:`z_\tau \ge z_0/2`, else in
        :math:`\log z_\tau` (so that both :math:`\tau` and :math:`T - \tau` are accurate), by
        Newton steps kept inside a bracket (bisection when a step leaves it).
        """
        r, cap, e = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (r, cap, e)))
        if np.any(~(e >= 0)) or np.any(~np.isfinite(e)):
            raise ValueError("e: expected finite exponentials >= 0")
        shape = r.shape
        r, cap, e = r.ravel(), cap.ravel(), e.ravel()
        inf = np.isinf(cap)
        none = ~(cap > 0)  # a cap of 0: no conversation
        if np.any(cap < 0):
            raise ValueError("cap: expected time caps >= 0")
        z0 = np.where(inf | none, 1.0, self.alpha * r * cap)
        delta = e / self.gamma
        half = self._drop(z0, 0.5 * z0, 0.5 * z0, np.full(z0.shape, math.log(2.0)))
        near = half >= delta  # the root lies in w <= z0/2
        # Brackets: mode near, x = w in [0, min(z0/2, (b-1) delta)]; else x = log z in
        # [log z0 - delta, log(z0/2)] (1/(uF) >= 1/u and >= 1/(b-1)).
        lo = np.where(near, 0.0, np.log(z0) - delta)
        hi = np.where(near, np.minimum(0.5 * z0, (self.b - 1.0) * delta), np.log(0.5 * z0))
        x = np.where(near, np.minimum(hi, (self.b - 1.0) * delta * 0.5), 0.5 * (lo + hi))
        todo = np.flatnonzero(~inf & ~none)
        for _ in range(NEWTON_STEPS):
            if todo.size == 0:
                break
            nr, xs, z0s, los, his = near[todo], x[todo], z0[todo], lo[todo], hi[todo]
            z, w, lr = self._point(nr, xs, z0s)
            f = self._drop(z0s, z, w, lr) - delta[todo]
            # Keep the bracket: the drop increases in w and decreases in log z.
            grow = np.where(nr, f < 0, f > 0)
            los, his = np.where(grow, xs, los), np.where(grow, his, xs)
            slope = np.where(nr, 1.0 / self.z_f(z), -1.0 / kummer(self.alpha, z))
            with np.errstate(divide="ignore", invalid="ignore"):
                step = xs - f / slope
            inside = (step >= los) & (step <= his) & np.isfinite(step)
            new = np.where(f == 0, xs, np.where(inside, step, 0.5 * (los + his)))
            scale = np.maximum(1.0, np.abs(new))
            # Converged: the step, the bracket or the residual at the noise floor of the drop.
            done = (np.abs(new - xs) <= 1e-13 * scale) | (his - los <= 1e-14 * scale)
            done |= np.abs(f) <= DROP_NOISE * np.maximum(1.0, delta[todo])
            x[todo], lo[todo], hi[todo] = new, los, his
            todo = todo[~done]
        self._unconverged = todo
        z, w, _ = self._point(near, x, z0)
        t = np.where(inf, e / ((self.alpha - 1.0) * r), w / (self.alpha * r))
        kappa = self.quality_at(r, np.where(inf, np.inf, z))
        t, kappa = np.where(none, 0.0, t), np.where(none, 0.0, kappa)
        return t.reshape(shape), kappa.reshape(shape)

    @staticmethod
    def _point(near: NDArray, x: NDArray, z0: NDArray):
        z = np.where(near, z0 - x, np.exp(np.where(near, 0.0, x)))
        w = np.where(near, x, z0 - z)
        with np.errstate(divide="ignore"):
            lr = np.where(near, -np.log1p(-x / z0), np.log(z0) - np.where(near, 0.0, x))
        return z, w, lr

    # -- expectations over the jump law ---------------------------------------------------
    @cached_property
    def _e_nodes(self) -> tuple[NDArray, NDArray]:
        x, w = np.polynomial.legendre.leggauss(GL_NODES)
        edges = np.asarray(E_EDGES)
        a, width = edges[:-1, None], np.diff(edges)[:, None]
        e = (a + 0.5 * width * (x[None, :] + 1.0)).ravel()
        weights = (0.5 * width * w[None, :]).ravel() * np.exp(-e)
        return e, weights

    def nodes(self, report: ArrayLike, cap: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        r"""Quadrature of the jump law of each report: ``(tau, kappa, weight)``, each of shape
        ``(len(report), nodes)``, with :math:`E[\phi(\tau,\kappa)] \approx \sum w\phi`
        (Gauss-Legendre in :math:`E = \Lambda(\tau)`, whose law is Exp(1))."""
        report = np.atleast_1d(np.asarray(report, dtype=float))
        cap = np.broadcast_to(np.asarray(cap, dtype=float), report.shape)
        e, w = self._e_nodes
        tau, kappa = self.jump(report[:, None], cap[:, None], e[None, :])
        return tau, kappa, np.broadcast_to(w, tau.shape)

    def values(self, r: ArrayLike, report: ArrayLike, cap: ArrayLike, moment: int = 0) -> NDArray:
        r""":math:`E[\tau^m\kappa_\tau e^{-r\tau}]` under the model of each report (rows: types
        ``r``, columns: reports): :math:`V(r\mid r')` for ``moment = 0``."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        tau, kappa, w = self.nodes(report, cap)
        weight = w * kappa * tau**moment
        return np.einsum("jk,ijk->ij", weight, np.exp(-r[:, None, None] * tau[None, :, :]))

    def own(self, report: ArrayLike, cap: ArrayLike) -> dict[str, NDArray]:
        r"""Each report's own expectations: ``utility`` :math:`E[\kappa e^{-r\tau}]`, ``rent``
        :math:`E[\tau\kappa e^{-r\tau}]` (:math:`-\partial_r V(r\mid r')` at :math:`r = r'`),
        ``time`` :math:`E[\tau]` and ``information`` :math:`E[\kappa^\alpha]`."""
        report = np.atleast_1d(np.asarray(report, dtype=float))
        tau, kappa, w = self.nodes(report, cap)
        disc = kappa * np.exp(-report[:, None] * tau)
        return {
            "utility": np.sum(w * disc, axis=1),
            "rent": np.sum(w * tau * disc, axis=1),
            "time": np.sum(w * tau, axis=1),
            "information": np.sum(w * kappa**self.alpha, axis=1),
        }

    def pointwise_value(self, r: ArrayLike, cap: ArrayLike) -> NDArray:
        r""":math:`(\alpha-1)\kappa_r(0)/\alpha`: the value of problem (13) for type ``r`` with
        :math:`T = ` ``cap`` (erratum 10)."""
        return (self.alpha - 1.0) * self.quality(r, cap, 0.0) / self.alpha
