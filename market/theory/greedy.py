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

In the stationary phase (docs/paper-notes.md, erratum 1)
:math:`\beta(\theta) = \chi\hat\mu(\theta)/\zeta`, :math:`\zeta` the common divergence, so the
total breakthrough rate is :math:`\chi/\zeta`.

The stopping law follows: survival :math:`S` with :math:`d\log S/dt = -\sum_\theta\beta_t(\theta)`,
per-state densities :math:`f_\theta = S\beta(\theta)`, and by Bayes' rule the per-state CDFs
:math:`F_\theta(t) = \mu_0(\theta) - S(t)\hat\mu_t(\theta)`. Conditional on the true state
:math:`\theta`, the survival is :math:`S(t)\hat\mu_t(\theta)/\mu_0(\theta)` (docs/paper-notes.md).

Transient phases are integrated with an explicit Runge-Kutta method of order 8 (DOP853) with
event detection at the switch times; the density on each phase is then represented by
Chebyshev interpolants (checked to ~1e-13 relative), and discounted moments are integrated by
Gauss-Legendre quadrature. The stationary phase is closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp

from market.numerics.chebyshev import PiecewiseChebyshev, fit_panels
from market.theory.greedy_law import StoppingLaw
from market.theory.information import AssumptionViolation, Entropy, check_belief

__all__ = ["GreedyModel", "Phase"]

#: Relative tolerance for two divergences to count as equal (a state joins the active set).
TIE_TOLERANCE = 1e-9
#: ODE tolerances of the transient phases.
ODE_RTOL = 1e-12
ODE_ATOL = 1e-15
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


class GreedyModel(StoppingLaw):
    r"""The greedy exploration model for an entropy, a prior and a token rate.

    Parameters
    ----------
    entropy : Entropy
        :math:`H`.
    prior : array_like
        :math:`\mu_0`, interior.
    token_rate : float
        :math:`\chi > 0`.
    """

    kind = "greedy"

    def __init__(self, entropy: Entropy, prior: ArrayLike, token_rate: float):
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
        self.n = entropy.n
        self.phases: tuple[Phase, ...] = self._build_phases()
        self._build_panels()

    # ------------------------------------------------------------------ construction --
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
                f"greedy rate for state {int(active[bad])} is {beta[bad]:.6g} "
                f"(not positive) at t = {t:.6g}, belief {np.round(mu, 6).tolist()}: the "
                f"{self.entropy.name} entropy violates Assumption 1(iii) on the greedy path"
            )
        return beta

    def _build_phases(self) -> tuple[Phase, ...]:
        phases: list[Phase] = []
        mu, t, log_s = self.prior.copy(), 0.0, 0.0
        # Upper bound on a phase's length: the information left to produce, at rate chi,
        # bounds E[tau]; a phase lasting 1e4 times that means something is wrong.
        horizon = 1e4 * max(self.entropy.information_to_learn(self.prior), 1e-300)
        horizon /= self.token_rate
        while True:
            active = self._active_set(mu)
            if active.size == self.n:
                phases.append(Phase(t, np.inf, tuple(active.tolist()), mu, log_s, None))
                return tuple(phases)
            sol = solve_ivp(
                self._phase_rhs(active),
                (t, t + horizon),
                np.append(mu, log_s),
                method="DOP853",
                rtol=ODE_RTOL,
                atol=ODE_ATOL,
                events=self._phase_events(active),
                dense_output=True,
            )
            t_next, y = self._phase_end(sol, active, len(phases))
            phases.append(Phase(t, t_next, tuple(active.tolist()), mu, log_s, sol.sol))
            mu = y[:-1] / y[:-1].sum()
            t, log_s = t_next, float(y[-1])
            if self._active_set(mu).size <= active.size:
                raise RuntimeError(
                    f"no state joined the active set {active.tolist()} at the switch time "
                    f"t = {t:.6g}"
                )

    def _phase_rhs(self, active: NDArray):
        r"""The right-hand side of (5) and of :math:`d\log S/dt = -\sum\beta` on a phase."""

        def rhs(s, y):
            m = y[:-1]
            beta = self._rates(m, active, s)
            total = beta.sum()
            dm = total * m
            dm[active] -= beta
            return np.append(dm, -total)

        return rhs

    def _phase_events(self, active: NDArray) -> tuple:
        """Terminal events of a phase: a new state becomes as close (the switch), or an active
        state's belief reaches 0 (Assumption 1(ii) fails)."""
        inactive = np.setdiff1d(np.arange(self.n), active)

        def switch(s, y):
            d = self.entropy.divergences(y[:-1])
            return d[inactive].min() - d[active].max()

        def exhausted(s, y):
            return y[:-1][active].min()

        switch.terminal = exhausted.terminal = True
        switch.direction = exhausted.direction = -1
        return (switch, exhausted)

    def _phase_end(self, sol, active: NDArray, k: int) -> tuple[float, NDArray]:
        """The switch time and the state there, or an error if the phase did not end well."""
        if sol.status == 1 and sol.t_events[1].size:
            y = sol.y_events[1][0][:-1]
            state = int(active[np.argmin(y[active])])
            raise AssumptionViolation(
                f"the greedy belief of active state {state} reaches 0 at "
                f"t = {sol.t_events[1][0]:.6g} before another state becomes as close: the "
                f"{self.entropy.name} entropy violates Assumption 1(ii) on the greedy path"
            )
        if sol.status != 1:
            raise RuntimeError(
                f"the greedy path did not reach the next switch time after phase {k + 1} "
                f"({sol.message})"
            )
        return float(sol.t_events[0][0]), sol.y_events[0][0]

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

    def describe(self) -> dict:
        return {
            "switch_times": list(self.switch_times),
            "active_sets": [list(a) for a in self.active_sets],
            "stationary_rate": self.stationary_rate,
            "expected_time": self.expected_time,
        }
