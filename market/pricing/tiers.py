r"""Menus of a few plans: a flat price, tiers of token caps, tiers of speeds, written-out menus.

**Ladders.** A menu of :math:`K` plans of qualities :math:`q_1 > \dots > q_K` (time caps, or
speeds) whose value :math:`V(q|r)` has decreasing differences in :math:`(q, r)` (more patient
types value quality more at the margin) is chosen as a ladder: types in
:math:`(b_{k-1}, b_k]` take plan :math:`k` (:math:`b_0 = \underline r`), types above
:math:`b_K` buy nothing. The best prices for given qualities and boundary types leave the
boundary types indifferent,

.. math:: P_K = V(q_K|b_K), \qquad P_k = P_{k+1} + V(q_k|b_k) - V(q_{k+1}|b_k),

and by Abel summation the revenue is

.. math:: R = \sum_{k=1}^K G(b_k)\,[V(q_k|b_k) - V(q_{k+1}|b_k)], \qquad V(q_{K+1}|\cdot) = 0,

a smooth function of :math:`2K` variables. :math:`q_1` enters only the first term, where
it raises :math:`R`: the top plan is unlimited (tiers) or full speed (speed tiers) at the
optimum. For tiers :math:`V(T|r) = E[e^{-r\tau}1\{\tau\le T\}]`
(:math:`\partial_r\partial_T V = -Te^{-rT}f(T) < 0`); for speed tiers the model at speed
:math:`s` stops at :math:`\tau/s`, :math:`V(s|r) = E[e^{-r\tau/s}]`, with single crossing
where :math:`m(y) = -yU_1'(y)` decreases (for the paper example :math:`y = r/s\ge 1 > 1/2`).

The optimiser maximises :math:`R` over the boundaries (as fractions of the support) and the
free qualities (caps as :math:`x = T/(E\tau+T)`, speeds as themselves), each in a box, by
L-BFGS-B with the analytic gradient
(:math:`\partial_{b_k}R = g(b_k)\Delta_k + G(b_k)\partial_r\Delta_k`,
:math:`\partial_{q_k}R = G(b_k)\partial_qV(q_k|b_k) - G(b_{k-1})\partial_qV(q_k|b_{k-1})`;
``ftol`` 1e-15, ``gtol`` 1e-12) from several starts. Starts: the optimal menu's
caps at evenly spaced types; and, for :math:`K > 1`, the :math:`K-1` solution with an extra
plan of empty interval inserted at every position (so revenue never falls with :math:`K`).
Reported values always come from the users' actual choices (:mod:`.regions`); ``notes``
compare them with :math:`R`.

**Valuations and a cost per token.** With users' valuations :math:`q(r)` (Section 4),
:math:`V(q|r)` is :math:`q(r)` times the above; with a cost :math:`c` per token (Section 2.1)
every plan's value is taken net of its token cost :math:`\kappa = c\chi E[\min(\tau, T)]`
(:meth:`Ladder.kappa`) in :math:`R`, which is then the profit, and candidates are ranked by
their actual profit. A rising :math:`q` can break decreasing differences
(:math:`\partial_r\partial_T V = e^{-rT}f(T)(q' - qT)`), so the falling ladder is only a
family of candidates there; the flat price (:func:`best_flat_price`, which handles buyers on
either side) is always among them, so tiers never earn less than it.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from market.numerics.optimize import maximize
from market.pricing.flat import ARGMAX_GRID, ARGMAX_XTOL, best_flat_buyer, best_flat_price
from market.pricing.plans import FiniteMenu, Plan
from market.pricing.regions import menu_profit
from market.theory.mechanism import OptimalTokenMenu

__all__ = ["Ladder", "best_flat_buyer", "best_flat_price", "best_ladder"]

#: Slowest speed a speed tier may have.
MIN_SPEED = 1e-3
#: Largest quality unit of a free cap (T = E[tau] x / (1 - x), about 1e12 E[tau]).
X_MAX = 1 - 1e-12
#: Agreement expected between the relaxed revenue R and the users' actual choices.
AGREEMENT = 1e-9


class Ladder:
    """The ladder problem of the module docstring for one kind of quality.

    Parameters
    ----------
    market : Market
    kind : ``"caps"`` or ``"speeds"``
    rising : bool
        The qualities rise with urgency among the buyers (the top quality goes to the
        marginal buyer): the ladder for values with *increasing* differences in
        :math:`(q, r)`, as speeds have where :math:`m(y) = -yU_1'(y)` increases. The revenue
        formula is the same; only the order of the qualities along the boundaries changes.
    """

    def __init__(self, market, kind: str, rising: bool = False):
        self.market = market
        self.kind = kind
        self.rising = rising
        self.model = market.model
        self.scale = market.expected_time
        self.top = math.inf if kind == "caps" else 1.0
        #: With a cost per token an unlimited top plan is no longer best (its net value falls
        #: beyond the first-best cap): every cap is free.
        self.free_top = kind == "caps" and getattr(market, "cost", 0.0) > 0 and not rising

    @cached_property
    def optimal_menu(self) -> OptimalTokenMenu:
        if getattr(self.market, "plain", True):
            return OptimalTokenMenu(self.model, self.market.urgency)
        return self.market.optimal_menu

    # -- qualities ------------------------------------------------------------------------
    def quality(self, x: NDArray) -> NDArray:
        x = np.asarray(x, dtype=float)
        if self.kind == "speeds":
            return MIN_SPEED + (1 - MIN_SPEED) * np.clip(x, 0, 1)
        with np.errstate(divide="ignore"):
            return np.where(x >= 1, np.inf, self.scale * x / np.clip(1 - x, 1e-300, None))

    def unit(self, q: NDArray) -> NDArray:
        q = np.asarray(q, dtype=float)
        if self.kind == "speeds":
            return (q - MIN_SPEED) / (1 - MIN_SPEED)
        with np.errstate(invalid="ignore"):
            return np.where(np.isinf(q), 1.0, q / (self.scale + q))

    def value(self, q: NDArray, r: NDArray) -> NDArray:
        """:math:`V(q|r)`, including the valuation :math:`q(r)` of the market's users."""
        if self.kind == "speeds":
            util = self.model.laplace(np.asarray(r) / q, np.inf)
        else:
            util = self.model.laplace(r, q)
        valuation = self.market.valuation
        return util if valuation is None else valuation.q(r) * util

    def kappa(self, q: NDArray) -> NDArray:
        r""":math:`\kappa(q) = c\chi E[\min(\tau, T)]`, the token cost of a plan of quality
        ``q`` (a cap ``T``; any speed of unlimited use: :math:`c\chi E[\tau]`)."""
        q = np.asarray(q, dtype=float)
        if self.kind == "speeds":
            return np.full(q.shape, self.market.cost * float(self.market.tokens(np.inf)))
        return self.market.cost * self.market.tokens(q)

    def kappa_slope(self, q: NDArray) -> NDArray:
        r""":math:`\kappa'(T) = c\chi S(T)` for caps (0 at ``inf``), 0 for speeds."""
        q = np.asarray(q, dtype=float)
        if self.kind == "speeds":
            return np.zeros(q.shape)
        finite = np.isfinite(q)
        surv = self.model.survival(np.where(finite, q, 0.0))
        return np.where(finite, self.market.token_price * surv, 0.0)

    def plan(self, name: str, q: float, price: float) -> Plan:
        if self.kind == "speeds":
            return Plan(name, math.inf, float(price), speed=float(q))
        return Plan(name, float(q), float(price))

    # -- the relaxed problem -----------------------------------------------------------
    def relaxed(self, b: NDArray, q: NDArray) -> tuple[float, NDArray]:
        """Profit (revenue :math:`R` without a cost) and prices for boundaries ``b``
        (ascending) and qualities ``q`` (descending). With a cost per token the profit is
        :math:`\\sum_k G(b_k)[V(q_k|b_k) - \\kappa_k - V(q_{k+1}|b_k) + \\kappa_{k+1}]`
        (Abel summation of :math:`\\sum_k (G(b_k) - G(b_{k-1}))(P_k - \\kappa_k)`)."""
        own = self.value(q, b)
        below = np.append(self.value(q[1:], b[:-1]), 0.0)
        step = own - below
        prices = np.cumsum(step[::-1])[::-1]
        if self.market.cost > 0:
            kappa = self.kappa(q)
            step = step - (kappa - np.append(kappa[1:], 0.0))
        return float(self.market.urgency.cdf(b) @ step), prices

    def _moments(self, q: NDArray, r: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """:math:`V(q|r)`, :math:`\\partial_r V(q|r)` and :math:`\\partial_q V(q|r)` (0 at
        ``q = inf``), with one call per moment of the model's Laplace transform."""
        model = self.model
        if self.kind == "speeds":
            value = model.laplace(r / q, np.inf)
            moment = model.laplace(r / q, np.inf, 1)  # E[tau e^{-r tau / s}]
            out = value, -moment / q, r / q**2 * moment
        else:
            finite = np.isfinite(q)
            t = np.where(finite, q, 0.0)
            dq = np.where(finite, np.exp(-r * t) * model.density(t), 0.0)
            out = model.laplace(r, q), -model.laplace(r, q, 1), dq
        valuation = self.market.valuation
        if valuation is None:
            return out
        # V = q(r) U: V_r = q' U + q U_r, V_q = q U_q (Section 4).
        v, dv = valuation.values(r)
        return v * out[0], dv * out[0] + v * out[1], v * out[2]

    def _qualities(self, v: NDArray, k: int) -> tuple[NDArray, NDArray, NDArray]:
        """The full quality vector from the free units ``v[k:]``: the top quality first and
        the others descending (or, rising, ascending with the top last); with the free units
        in that order and their positions in ``q``."""
        x_raw = np.clip(v[k:], 0, X_MAX)
        order = np.argsort(x_raw if self.rising else -x_raw, kind="stable")
        x = x_raw[order]
        free = self.quality(x)
        if self.free_top:
            return free, order, np.arange(k)
        if self.rising:
            return np.concatenate([free, [self.top]]), order, np.arange(k - 1)
        return np.concatenate([[self.top], free]), order, np.arange(1, k)

    def _objective(self, v: NDArray, k: int, fixed: NDArray | None) -> tuple[float, NDArray]:
        """``-R`` and its gradient in the box variables (boundary fractions, quality units)."""
        lo, hi = self.market.low, self.market.high
        z_raw = np.clip(v[:k], 0, 1)
        pz = np.argsort(z_raw, kind="stable")
        b = lo + (hi - lo) * z_raw[pz]
        q = fixed if fixed is not None else self._qualities(v, k)[0]
        # Own plan at each boundary (k values), the next plan at b_1..b_{k-1}.
        val, d_r, d_q = self._moments(np.concatenate([q, q[1:]]), np.concatenate([b, b[:-1]]))
        step = val[:k] - np.append(val[k:], 0.0)
        if self.market.cost > 0:  # profit: values net of each plan's token cost
            kappa = self.kappa(q)
            step = step - (kappa - np.append(kappa[1:], 0.0))
            d_q = d_q - self.kappa_slope(np.concatenate([q, q[1:]]))
        cdf, pdf = self.market.urgency.cdf(b), self.market.urgency.pdf(b)
        grad = np.zeros(v.size)
        # g = inf at an end where the step is 0 (or, net of a token cost, not 0: a huge slope)
        with np.errstate(invalid="ignore", over="ignore"):
            dz = np.nan_to_num(pdf * step) + cdf * (d_r[:k] - np.append(d_r[k:], 0.0))
            grad[pz] = np.nan_to_num(dz * (hi - lo))
        if fixed is None and v.size > k:
            _, order, where = self._qualities(v, k)
            # dR/dq_j = G(b_j) V_q(q_j|b_j) - G(b_{j-1}) V_q(q_j|b_{j-1}) (none for j = 1).
            grad_q = cdf * d_q[:k] - np.concatenate([[0.0], cdf[:-1] * d_q[k:]])
            x = np.clip(v[k:], 0, X_MAX)[order]
            grad[k + order] = grad_q[where] * self.quality_slope(x)
        return -float(cdf @ step), -grad

    def quality_slope(self, x: NDArray) -> NDArray:
        """:math:`dq/dx` of :meth:`quality`."""
        if self.kind == "speeds":
            return np.full(x.shape, 1 - MIN_SPEED)
        return self.scale / (1 - x) ** 2

    def _unpack(self, v: NDArray, k: int, fixed: NDArray | None) -> tuple[NDArray, NDArray]:
        lo, hi = self.market.low, self.market.high
        b = lo + (hi - lo) * np.sort(np.clip(v[:k], 0, 1))
        return b, fixed if fixed is not None else self._qualities(v, k)[0]

    def optimise(self, k: int, fixed: NDArray | None = None, previous=None, starts=()):
        """Best boundaries and qualities; ``fixed``: the qualities (descending) are given.

        ``previous``: the ``(b, q)`` solution with ``k - 1`` plans, embedded as starts;
        ``starts``: more starting points (boundary fractions, then free quality units).
        Returns ``(b, q, R)``.
        """
        n_free = 0 if fixed is not None else (k if self.free_top else k - 1)
        starts = [*starts, *(self._quantile_start(k, fixed, c) for c in (1.0, 0.7))]
        if fixed is not None:
            starts.append(self._separable_start(fixed))
        if previous is not None:
            starts += self._embeddings(*previous)
        bounds = [(0.0, 1.0)] * k + [(0.0, X_MAX)] * n_free
        best_v, best_f = None, np.inf
        for v0 in starts:
            v0 = np.clip(np.asarray(v0, dtype=float), 0, [hi for _, hi in bounds])
            f0 = self._objective(v0, k, fixed)[0]
            res = minimize(
                self._objective,
                v0,
                args=(k, fixed),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000},
            )
            f1 = self._objective(res.x, k, fixed)[0]  # res.fun can belong to another point
            v, f = (res.x, f1) if f1 <= f0 else (v0, f0)
            if f < best_f:
                best_v, best_f = v, f
        b, q = self._unpack(best_v, k, fixed)
        return b, q, -best_f

    def _quantile_start(self, k: int, fixed, c: float) -> NDArray:
        z = c * np.arange(1, k + 1) / k
        if fixed is not None:
            return z
        first = 0 if self.free_top else 1
        mid = (
            self.market.low + (self.market.high - self.market.low) * (np.arange(first, k) + 0.5) / k
        )
        if self.kind == "caps":
            q = self.optimal_menu.cap(mid)
        else:
            q = 1.0 - np.arange(1, k) / (k + 1)
        return np.concatenate([z, self.unit(q[::-1] if self.rising else q)])

    def _separable_start(self, q: NDArray) -> NDArray:
        """Each boundary maximising its own term :math:`G(b)[V(q_k|b) - V(q_{k+1}|b)]`."""
        lo, hi = self.market.low, self.market.high
        cdf = self.market.urgency.cdf
        z = []
        for j in range(q.size):
            nxt = q[j + 1] if j + 1 < q.size else None

            def term(r, j=j, nxt=nxt):
                below = 0.0 if nxt is None else self.value(np.full(r.shape, nxt), r)
                net = self.value(np.full(r.shape, q[j]), r) - below
                if self.market.cost > 0:
                    after = 0.0 if nxt is None else self.kappa(np.array([nxt]))[0]
                    net = net - (self.kappa(np.array([q[j]]))[0] - after)
                return cdf(r) * net

            z.append(
                (maximize(term, lo, hi, grid=ARGMAX_GRID, xtol=ARGMAX_XTOL)[0] - lo) / (hi - lo)
            )
        return np.array(z)

    def _embeddings(self, b: NDArray, q: NDArray) -> list[NDArray]:
        """The ``k-1`` solution plus one plan with an empty interval, at each position where
        its quality fits between its neighbours (the revenue is unchanged: the K-1 plans'
        revenue is a start, so revenue never falls with K)."""
        lo, hi = self.market.low, self.market.high
        z = (b - lo) / (hi - lo)
        u = self.unit(q)  # in ladder order: descending, or rising (top last)
        out = []
        for j in range(q.size + 1):  # the new plan takes position j
            before = u[j - 1] if j > 0 else (0.0 if self.rising else None)
            after = u[j] if j < u.size else (None if self.rising else 0.0)
            if self.free_top and j == 0:
                before = X_MAX
            if before is None or after is None:
                continue  # it would have to be above the top quality
            zz = np.insert(z, j, z[j - 1] if j > 0 else 0.0)
            uu = np.insert(u, j, 0.5 * (before + after))
            if self.free_top:
                out.append(np.concatenate([zz, uu]))
            else:
                out.append(np.concatenate([zz, uu[:-1] if self.rising else uu[1:]]))
        return out

    def menu(self, q: NDArray, prices: NDArray, names: list[str] | None = None) -> FiniteMenu:
        names = names or [f"tier {j + 1}" for j in range(q.size)]
        plans = tuple(self.plan(n, qq, p) for n, qq, p in zip(names, q, prices, strict=True))
        return FiniteMenu(self.model, plans, self.market.valuation)


def _directions(market, kind: str) -> list[Ladder]:
    r"""Ladders to try: caps always fall with urgency (:math:`\partial_r\partial_T V < 0`);
    speeds may rise or fall (the sign of :math:`m'`), so both are tried."""
    rising = (False, True) if kind == "speeds" else (False,)
    return [Ladder(market, kind, r) for r in rising]


def best_ladder(market, kind: str, count: int, fixed: NDArray | None = None) -> tuple:
    """The best menu of ``count`` plans of ``kind``, judged by the users' actual choices.

    For k = 1, ..., ``count``: the relaxed optimum of each direction (:func:`_directions`),
    started from that direction's (k-1)-plan solution with an empty plan inserted; the best
    (k-1)-plan menu with a copy of its last plan (nobody chooses a copy, so revenue never
    falls with k); and for k = 1 the flat price. ``fixed``: the qualities are given (then only
    k = ``count``). Returns ``(qualities, prices, revenue, note)``.
    """
    ladders = _directions(market, kind)
    if fixed is not None:
        cands = []
        for lad in ladders:
            q0 = np.sort(fixed) if lad.rising else np.sort(fixed)[::-1]
            b, q, _ = lad.optimise(count, fixed=q0)
            cands.append((q, lad.relaxed(b, q)[1], _label(lad)))
        return _pick(ladders[0], cands)
    flat = best_flat_buyer(market)
    z_star = np.array([(flat - market.low) / (market.high - market.low)])
    chains: dict[Ladder, tuple | None] = {lad: None for lad in ladders}
    best = None
    for k in range(1, count + 1):
        cands = []
        for lad in ladders:
            starts = [z_star] if k == 1 else []
            b, q, _ = lad.optimise(k, previous=chains[lad], starts=starts)
            chains[lad] = (b, q)
            cands.append((q, lad.relaxed(b, q)[1], _label(lad)))
        if k == 1:
            if market.plain:
                price = float(ladders[0].value(np.array([ladders[0].top]), np.array([flat]))[0])
            else:
                price = best_flat_price(market)[0]
            cands.append((np.array([ladders[0].top]), np.array([price]), "the flat price"))
        else:
            q, p = best[0], best[1]
            cands.append((np.append(q, q[-1]), np.append(p, p[-1]), "a copy of the last plan"))
        best = _pick(ladders[0], cands)
    return best


def _label(ladder: Ladder) -> str:
    direction = "rising" if ladder.rising else "falling"
    return f"the relaxed ladder ({ladder.kind} {direction} with urgency)"


def _pick(ladder: Ladder, cands: list) -> tuple:
    """The candidate ``(q, p, label)`` of largest actual profit (revenue without a cost; exact
    choice regions; ties go to the earlier candidate)."""
    scored = [(menu_profit(ladder.menu(q, p), ladder.market), q, p, lab) for q, p, lab in cands]
    revenue, q, p, label = max(scored, key=lambda item: item[0])
    return q, p, revenue, f"best by the users' choices: {label}"
