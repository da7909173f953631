r"""When a user paying per token stops: the quitting time :math:`T(r, p)` and the surplus
:math:`W(r, p)` of :mod:`market.pricing.metered` (its module docstring has the argument:
the first-order condition :math:`e^{-rT}h(T) = p\chi`, unique because the greedy model's
hazard is non-increasing; a valuation :math:`q` acts as the price :math:`p/q`)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import elementwise

__all__ = ["check_hazard", "quitting_time", "surplus"]

#: Most Newton-bisection steps of a quitting time.
CROSSING_STEPS = 100
#: Relative increase of the hazard tolerated before the monotonicity proof is deemed violated.
HAZARD_TOLERANCE = 1e-9


def _hazard(model, t: NDArray) -> NDArray:
    hazard = getattr(model, "hazard", None)  # the greedy model's cached fit
    return hazard(t) if hazard is not None else model.density(t) / model.survival(t)


def check_hazard(model, points: int = 257) -> None:
    """Verify numerically that the hazard of :math:`\\tau` is non-increasing (module doc)."""
    a = model.phases[-1].start
    if a <= 0:
        return
    h = _hazard(model, np.linspace(0.0, a, points))
    if np.any(np.diff(h) > HAZARD_TOLERANCE * h[:-1]):
        raise RuntimeError(
            "the hazard of the stopping time increases on a transient phase: the quitting "
            "time of a per-token user is not unique"
        )


def quitting_time(model, r: ArrayLike, per_token: float, q: ArrayLike | None = None) -> NDArray:
    r""":math:`T(r, p)`: when a user of urgency ``r`` paying ``per_token`` stops (module doc).

    ``inf`` if ``per_token == 0``; 0 if :math:`p\chi \ge q\,h(0)`. ``q``: the users'
    valuations :math:`q(r)` (shaped like ``r``; None: 1), so that
    :math:`q e^{-rT}h(T) = p\chi`.
    """
    r = np.asarray(r, dtype=float)
    shape = r.shape
    r = r.ravel()
    rate = per_token * model.token_rate
    if rate <= 0:
        return np.full(shape, np.inf)
    if q is not None:
        return _valued_quitting_time(model, r, rate, np.broadcast_to(q, shape).ravel(), shape)
    if rate >= float(_hazard(model, np.zeros(1))[0]):
        return np.zeros(shape)
    a, lam = model.phases[-1].start, model.stationary_rate
    log_rate = math.log(rate)
    tail = math.log(lam) - r * a - log_rate >= 0
    out = np.where(tail, (math.log(lam) - log_rate) / r, np.nan)
    if np.any(~tail):
        out[~tail] = _crossing(model, r[~tail], log_rate, a)
    return out.reshape(shape)


def _valued_quitting_time(model, r: NDArray, rate: float, q: NDArray, shape) -> NDArray:
    """:func:`quitting_time` with the per-type rate :math:`p\\chi/q(r)`."""
    log_rate = math.log(rate) - np.log(np.asarray(q, dtype=float))
    a, lam = model.phases[-1].start, model.stationary_rate
    out = np.zeros(r.size)
    live = log_rate < math.log(float(_hazard(model, np.zeros(1))[0]))
    tail = live & (math.log(lam) - r * a - log_rate >= 0)
    out[tail] = (math.log(lam) - log_rate[tail]) / r[tail]
    inner = live & ~tail
    if np.any(inner):
        out[inner] = _crossing(model, r[inner], log_rate[inner], a)
    return out.reshape(shape)


def _crossing(model, r: NDArray, log_rate: float, a: float) -> NDArray:
    """T in (0, a) with :math:`\\log h(T) - rT = \\log p\\chi` (the left side decreases):
    Newton's method on the model's log-hazard fit, bisection whenever a step leaves the
    bracket, from the exponential start; Chandrupatla's method for models without a fit."""
    log_rate = np.broadcast_to(np.asarray(log_rate, dtype=float), r.shape)
    if not hasattr(model, "log_hazard_slope"):
        res = elementwise.find_root(
            lambda t, rr, lr: np.log(_hazard(model, t)) - rr * t - lr,
            (np.zeros(r.size), np.full(r.size, a)),
            args=(r, log_rate),
            tolerances={"xatol": 1e-14, "xrtol": 4 * np.finfo(float).eps},
        )
        return res.x
    lo, hi = np.zeros(r.size), np.full(r.size, a)
    t = np.clip((np.log(_hazard(model, np.zeros(1)))[0] - log_rate) / r, 0.0, a)
    active = np.arange(r.size)
    for _ in range(CROSSING_STEPS):
        ta, ra = t[active], r[active]
        phi = np.log(_hazard(model, ta)) - ra * ta - log_rate[active]
        lo[active] = np.where(phi > 0, ta, lo[active])
        hi[active] = np.where(phi <= 0, ta, hi[active])
        step = phi / (ra - model.log_hazard_slope(ta))
        converged = np.abs(step) <= 4e-16 * np.maximum(np.abs(ta), 1e-300)
        new = ta + step
        outside = ~converged & ~((new > lo[active]) & (new < hi[active]))
        new = np.where(outside, 0.5 * (lo[active] + hi[active]), new)
        t[active] = new
        done = converged | (hi[active] - lo[active] <= 1e-15 * a)
        active = active[~done]
        if active.size == 0:
            break
    return t


def _used(model, cap: NDArray) -> NDArray:
    """Expected tokens :math:`\\chi E[\\min(\\tau, T)]`."""
    return model.token_rate * model.expected_truncated_time(cap)


def surplus(model, r: ArrayLike, per_token: float, valuation=None) -> NDArray:
    """:math:`W(r, p)`, the expected surplus of a metered user before any fee (with
    ``valuation``: :math:`q\\,U(T) - p\\chi E\\min(\\tau, T)`, :math:`T = T(r, p/q)`)."""
    r = np.asarray(r, dtype=float)
    if valuation is None:
        cap = quitting_time(model, r, per_token)
        return model.laplace(r, cap) - per_token * _used(model, cap)
    q = valuation.q(r)
    cap = quitting_time(model, r, per_token, q)
    return q * model.laplace(r, cap) - per_token * _used(model, cap)
