r"""The paper's two alternative model families and the best menu within each (Section 2.2).

Zhong (2025), Section 2.2, compares the optimal token-cap mechanism with two parametric
families a platform might sell instead, each run at the fastest speed the throughput
constraint (Info.) allows:

**Constant delay.** The model reveals the state at a deterministic time :math:`d`. It is
feasible iff :math:`\chi d \ge \sum_\theta \mu_0(\theta)H(e_\theta) - H(\mu_0)`
(docs/paper-notes.md), so
:math:`d_{\min} = (\sum_\theta\mu_0(\theta)H(e_\theta) - H(\mu_0))/\chi` (2 in the paper's
example).

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

The code is split by concern: :mod:`~market.theory.families.exit_laws` and
:mod:`~market.theory.families.shannon_law` (the exit-time series and the sampler),
:mod:`~market.theory.families.models` (:class:`ConstantDelay`, :class:`Diffusion`,
:func:`edge_curvature`), :mod:`~market.theory.families.screening` (the record
:class:`FamilyMenu`, :func:`screen_constant_delay`, posted prices) and
:mod:`~market.theory.families.diffusion_menu` (:func:`screen_diffusion`). Everything public is
imported from here.
"""

from market.theory.families.diffusion_menu import screen_diffusion
from market.theory.families.models import ConstantDelay, Diffusion, edge_curvature
from market.theory.families.screening import FamilyMenu, screen_constant_delay

__all__ = [
    "ConstantDelay",
    "Diffusion",
    "FamilyMenu",
    "edge_curvature",
    "screen_constant_delay",
    "screen_diffusion",
]
