r"""The greedy exploration model (Zhong 2025, Definition 1 and Proposition 1).

At each moment the model spends its whole token rate :math:`\chi` on Poisson breakthroughs
towards the states closest to the current belief in Bregman divergence (the active set
:math:`\Theta^k`). Between breakthroughs the survivors' belief :math:`\hat\mu_t` drifts so that
the active states stay equally far (equation (3)); a new state joins when it becomes as close
(switch time :math:`\hat t^{k+1}`). Once every state is active the process is stationary.

On phase :math:`k` (proof of Proposition 1, Step I), with :math:`\Sigma` the normalised Hessian
restricted to :math:`\Theta^k` and :math:`D_\theta = D(e_\theta\mid\hat\mu_t)`,

.. math::
    \beta_t = \frac{\chi\,\Sigma^{-1}\mathbf 1}{D^\top\Sigma^{-1}\mathbf 1}, \qquad
    \frac{d\hat\mu_t}{dt} = -\sum_{\theta\in\Theta^k}\beta_t(\theta)(e_\theta-\hat\mu_t).

In the stationary phase (NOTES.md, erratum 1) :math:`\beta(\theta) = \chi\hat\mu(\theta)/\zeta`,
:math:`\zeta` the common divergence, so the total breakthrough rate is :math:`\chi/\zeta`.

The stopping law follows: survival :math:`S` with :math:`d\log S/dt = -\sum_\theta\beta_t(\theta)`,
per-state densities :math:`f_\theta = S\beta(\theta)`, and by Bayes' rule the per-state CDFs
:math:`F_\theta(t) = \mu_0(\theta) - S(t)\hat\mu_t(\theta)`. Conditional on the true state
:math:`\theta`, the survival is :math:`S(t)\hat\mu_t(\theta)/\mu_0(\theta)` (NOTES.md).

Transient phases are integrated with an explicit Runge-Kutta method of order 8 (DOP853) with
event detection at the switch times; the density on each phase is then represented by
Chebyshev interpolants (checked to ~1e-13 relative), and discounted moments are integrated by
Gauss-Legendre quadrature. The stationary phase is closed form.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb, factorial

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import elementwise
from scipy.special import gammainc

from market.information import AssumptionViolation, Entropy, check_belief
from market.quadrature import GL_W as _GL_W
from market.quadrature import GL_X as _GL_X
from market.quadrature import PiecewiseChebyshev, fit_panels

__all__ = ["GreedyModel", "Phase"]

#: Relative tolerance for two divergences to count as equal (a state joins the active set).
TIE_TOLERANCE = 1e-9
#: ODE tolerances of the transient phases.
ODE_RTOL = 1e-12
ODE_ATOL = 1e-15
#: Many (urgency, cap) pairs with few distinct caps take the bulk route of ``laplace``.
BULK_PAIRS = 20_000
BULK_CAPS = 64
#: Chebyshev degree of the density interpolant on a panel, and its target accuracy.
CHEB_DEGREE = 48
CHEB_TOLERANCE = 1e-13


@dataclass(frozen=True)
class Phase:
    r"""One phase :math:`[\hat t^k, \hat t^{k+1})` of the greedy model.

    ``belief`` is :math:`\hat\mu^k` at the start, ``log_survival`` is :math:`\log S(\hat t^k)`.
    ``solution`` is the ODE's dense output of :math:`(\hat\mu_t, \log S_t)` (None in the
    stationary phase, where :math:`\hat\mu` is constant).
    """

    start: float
    end: float
    active: tuple[int, ...]
    belief: NDArray
    log_survival: float
    solution: object | None = None


class GreedyModel:
    r"""The greedy exploration model for an entropy, a prior and a token rate.

    Parameters
    ----------
    entropy : Entropy
        :math:`H`.
    prior : array_like
        :math:`\mu_0`, interior.
    token_rate : float
        :math:`\chi > 0`.
    label : str
        Named in error messages (the scenario).
    """

    kind = "greedy"

    def __init__(self, entropy: Entropy, prior: ArrayLike, token_rate: float, label: str = ""):
        self.entropy = entropy
        self.prior = check_belief(prior)
        if self.prior.size != entropy.n:
            raise AssumptionViolation(
                f"prior has {self.prior.size} states but the entropy has {entropy.n}"
            )
        token_rate = float(token_rate)
        if not np.isfinite(token_rate) or token_rate <= 0:
            raise AssumptionViolation(f"token_rate = {token_rate}: expected a number > 0")
        self.token_rate = token_rate
        self.label = label
        self.n = entropy.n
        self.phases: tuple[Phase, ...] = self._build_phases()
        self._build_panels()

    # ------------------------------------------------------------------ construction --
    def _where(self) -> str:
        return f"scenario {self.label!r}: " if self.label else ""

    def _active_set(self, mu: NDArray) -> NDArray:
        d = self.entropy.divergences(mu)
        zeta = d.min()
        return np.flatnonzero(d <= zeta + TIE_TOLERANCE * max(1.0, abs(zeta)))

    def _rates(self, mu: NDArray, active: NDArray, t: float = float("nan")) -> NDArray:
        """:math:`\\beta` on the active states (Step I of the proof of Proposition 1)."""
        d = self.entropy.divergences(mu)[active]
        x = self.entropy.rate_direction(mu, active)
        beta = self.token_rate * x / (d @ x)
        if not np.all(beta > 0):
            bad = int(np.argmin(beta))
            raise AssumptionViolation(
                f"{self._where()}greedy rate for state {int(active[bad])} is {beta[bad]:.6g} "
                f"(not positive) at t = {t:.6g}, belief {np.round(mu, 6).tolist()}: the "
                f"{self.entropy.name} entropy violates Assumption 1(iii) on the greedy path"
            )
        return beta

    def _build_phases(self) -> tuple[Phase, ...]:
        phases = []
        mu, t, log_s = self.prior.copy(), 0.0, 0.0
        chi = self.token_rate
        # Upper bound on a phase's length: the information left to produce, at rate chi,
        # bounds E[tau]; a phase lasting 1e4 times that means something is wrong.
        horizon = 1e4 * max(self.entropy.information_to_learn(self.prior), 1e-300) / chi
        while True:
            active = self._active_set(mu)
            if active.size == self.n:
                phases.append(Phase(t, np.inf, tuple(active.tolist()), mu, log_s, None))
                return tuple(phases)
            inactive = np.setdiff1d(np.arange(self.n), active)

            def rhs(s, y, active=active):
                m = y[:-1]
                beta = self._rates(m, active, s)
                total = beta.sum()
                dm = total * m
                dm[active] -= beta
                return np.append(dm, -total)

            def switch(s, y, active=active, inactive=inactive):
                d = self.entropy.divergences(y[:-1])
                return d[inactive].min() - d[active].max()

            def exhausted(s, y, active=active):
                return y[:-1][active].min()

            switch.terminal = exhausted.terminal = True
            switch.direction = exhausted.direction = -1
            sol = solve_ivp(
                rhs,
                (t, t + horizon),
                np.append(mu, log_s),
                method="DOP853",
                rtol=ODE_RTOL,
                atol=ODE_ATOL,
                events=(switch, exhausted),
                dense_output=True,
            )
            if sol.status == 1 and sol.t_events[1].size:
                y = sol.y_events[1][0][:-1]
                k = int(active[np.argmin(y[active])])
                raise AssumptionViolation(
                    f"{self._where()}the greedy belief of active state {k} reaches 0 at "
                    f"t = {sol.t_events[1][0]:.6g} before another state becomes as close: "
                    f"the {self.entropy.name} entropy violates Assumption 1(ii) on the "
                    "greedy path"
                )
            if sol.status != 1:
                raise RuntimeError(
                    f"{self._where()}greedy path did not reach the next switch time "
                    f"after phase {len(phases) + 1} ({sol.message})"
                )
            t_next = float(sol.t_events[0][0])
            y = sol.y_events[0][0]
            phases.append(Phase(t, t_next, tuple(active.tolist()), mu, log_s, sol.sol))
            mu = y[:-1] / y[:-1].sum()
            t, log_s = t_next, float(y[-1])
            if self._active_set(mu).size <= active.size:
                raise RuntimeError(
                    f"{self._where()}no state joined the active set {active.tolist()} at the "
                    f"switch time t = {t:.6g}"
                )

    def _transient_density(self, phase: Phase, t: NDArray) -> NDArray:
        """:math:`f^*(t) = S(t)\\sum_\\theta\\beta_t(\\theta)` on a transient phase."""
        y = phase.solution(t)
        active = np.array(phase.active)
        out = np.empty(t.size)
        for i in range(t.size):
            out[i] = np.exp(y[-1, i]) * self._rates(y[:-1, i], active, t[i]).sum()
        return out

    def _build_panels(self) -> None:
        """Chebyshev interpolants of the density on each transient phase."""
        fits = [
            fit_panels(
                lambda t, phase=phase: self._transient_density(phase, t),
                [phase.start, phase.end],
                degree=CHEB_DEGREE,
                rtol=CHEB_TOLERANCE,
            )
            for phase in self.phases[:-1]
        ]
        if fits:
            self._panels = PiecewiseChebyshev(
                np.concatenate([f.starts for f in fits]),
                np.concatenate([f.ends for f in fits]),
                np.concatenate([f.coefs for f in fits]),
            )
        else:
            self._panels = None
        last = self.phases[-1]
        self._tail_start = last.start
        self._tail_survival = float(np.exp(last.log_survival))
        self._tail_divergence = float(self.entropy.divergences(last.belief).mean())
        self.stationary_rate = self.token_rate / self._tail_divergence

    # ------------------------------------------------------------------ the path ------
    @property
    def switch_times(self) -> tuple[float, ...]:
        r""":math:`(\hat t^2, \dots, \hat t^K)`: when each new group of states joins."""
        return tuple(p.start for p in self.phases[1:])

    @property
    def active_sets(self) -> tuple[tuple[int, ...], ...]:
        r""":math:`(\Theta^1, \dots, \Theta^K)`."""
        return tuple(p.active for p in self.phases)

    def _phase_index(self, t: NDArray) -> NDArray:
        starts = np.array([p.start for p in self.phases])
        return np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(self.phases) - 1)

    def _state(self, t: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
        """Belief (n, m), log-survival (m,) and phase index (m,) at times ``t``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if np.any(t < 0):
            raise ValueError("times must be >= 0")
        idx = self._phase_index(t)
        mu = np.empty((self.n, t.size))
        log_s = np.empty(t.size)
        for k in np.unique(idx):
            sel = idx == k
            phase = self.phases[k]
            if phase.solution is None:
                mu[:, sel] = phase.belief[:, None]
                log_s[sel] = phase.log_survival - self.stationary_rate * (t[sel] - phase.start)
            else:
                y = phase.solution(t[sel])
                mu[:, sel] = y[:-1]
                log_s[sel] = y[-1]
        return mu, log_s, idx

    def belief(self, t: ArrayLike) -> NDArray:
        r""":math:`\hat\mu_t`, the survivors' belief; shape ``(len(t), n)``."""
        return self._state(t)[0].T

    def rates(self, t: ArrayLike) -> NDArray:
        r""":math:`\beta_t(\theta)` (0 for inactive states); shape ``(len(t), n)``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        mu, _, idx = self._state(t)
        out = np.zeros((t.size, self.n))
        for i in range(t.size):
            phase = self.phases[idx[i]]
            active = np.array(phase.active)
            if phase.solution is None:
                out[i] = self.token_rate * phase.belief / self._tail_divergence
            else:
                out[i, active] = self._rates(mu[:, i], active, t[i])
        return out

    # ------------------------------------------------------------------ stopping law --
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
                rtol=CHEB_TOLERANCE,
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

    def _transient_moment(self, r: NDArray, cap: NDArray, m: int) -> NDArray:
        ps, pe = self._panels.starts, self._panels.ends
        widths = pe - ps
        r_max = float(r.max()) if r.size else 0.0
        # Sub-panels so that the exponential changes by at most e^2 across one of them.
        sub = max(1, int(np.ceil(widths.max() * r_max / 2.0)))
        ur, inv = np.unique(r, return_inverse=True)
        # Full-panel integrals for each distinct r: shape (R, J).
        full = np.zeros((ur.size, ps.size))
        for s in range(sub):
            a = ps + widths * s / sub
            h = widths / sub
            t = a[:, None] + h[:, None] * (_GL_X[None, :] + 1) / 2  # (J, Q)
            f = self._panel_density(t.ravel()).reshape(t.shape)
            weight = (h[:, None] / 2) * _GL_W[None, :] * f * t**m  # (J, Q)
            full += np.einsum("jq,rjq->rj", weight, np.exp(-ur[:, None, None] * t[None]))
        cum = np.concatenate([np.zeros((ur.size, 1)), np.cumsum(full, axis=1)], axis=1)
        # Panels wholly below the cap, then the partial panel holding the cap.
        j = np.searchsorted(ps, cap, side="right") - 1  # panel holding cap (-1: before all)
        below = np.clip(j, 0, None)
        out = np.where(j >= 0, cum[inv, below], 0.0)
        partial = (j >= 0) & (cap < pe[below])
        if np.any(partial):
            jj = below[partial]
            a = ps[jj]
            span = cap[partial] - a
            rr = r[partial]
            acc = np.zeros(jj.size)
            for s in range(sub):
                lo = a + span * s / sub
                h = span / sub
                t = lo[:, None] + h[:, None] * (_GL_X[None, :] + 1) / 2
                f = self._panel_density(t.ravel()).reshape(t.shape)
                acc += np.sum(
                    (h[:, None] / 2) * _GL_W[None, :] * f * t**m * np.exp(-rr[:, None] * t), 1
                )
            out[partial] = cum[inv[partial], jj] + acc
        # A cap beyond the last panel end covers all transient panels.
        beyond = cap >= pe[-1]
        out[beyond] = cum[inv[beyond], -1]
        return out

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

    def describe(self) -> dict:
        return {
            "switch_times": list(self.switch_times),
            "active_sets": [list(a) for a in self.active_sets],
            "stationary_rate": self.stationary_rate,
            "expected_time": self.expected_time,
        }
