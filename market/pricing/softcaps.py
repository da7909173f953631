r"""Menus of reasoning quality (Section 4, "Endogenous reasoning quality") as solved policies.

Two kinds, on the value function :math:`V(\mu) = |\mu - \tfrac12|` of a binary state with
:math:`H = |\mu - \tfrac12|^\alpha` (the mathematics is in :mod:`market.theory.softcaps` and
:mod:`market.theory.softcaps_menu`):

``soft_caps``  the reasoning-quality menu: type :math:`r` gets the model whose quality
               :math:`\kappa_r(t)` decays to 0 as its token use reaches the soft cap
               :math:`\chi T(r)`, at the envelope price; its notes carry the global IC check.
``hard_caps``  the comparison: one model of fixed quality :math:`k` (``quality``; omitted: the
               revenue-maximising :math:`k`) sold with Theorem 1's hard token caps. With
               ``quality = 0.5`` it is the paper's token menu on this value function (the
               greedy model learns the state, worth :math:`\tfrac12`).

Both apply when the state is binary with prior :math:`(\tfrac12, \tfrac12)` and the entropy is
``power`` (or ``quadratic``, which is :math:`\alpha = 2`), without a valuation or a token cost;
otherwise they are :class:`Unavailable` with the reason. Their menus
(:class:`QualityMenu`) expose ``quality(urgency, time)``, ``by_type`` and the jump law the
market simulates (:mod:`market.sim.softcaps`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.pricing.market import Market
from market.pricing.plans import TIE_TOLERANCE, Choice
from market.pricing.solved import MenuRow, SolvedPolicy, Unavailable
from market.theory.greedy import GreedyModel
from market.theory.information import Power, Quadratic
from market.theory.mechanism import OptimalTokenMenu
from market.theory.softcaps import ALPHA_MAX
from market.theory.softcaps_menu import FixedQualityLaw, SoftCapMenu, best_fixed_quality

__all__ = ["QualityMenu", "quality_unavailable", "solve_hard_caps", "solve_soft_caps"]

#: Tolerance of "the prior is (1/2, 1/2)".
HALF_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class QualityMenu:
    r"""A type-indexed menu of models of reasoning quality.

    ``items_of(r)`` gives each report's ``(cap, price, utility)`` (time cap: soft or hard),
    ``value_of(r, report)`` the utility of types ``r`` taking the items of ``report``,
    ``tokens_of(report)`` the expected tokens, ``quality_of(report, t)`` the quality
    :math:`\kappa` of a report's model at running time ``t``; ``law`` draws the jumps
    (``law.jump(report, cap, e)``, :mod:`market.sim.softcaps`). ``model`` carries the token rate;
    ``incentives`` is the global IC check of a soft-cap menu
    (:class:`market.theory.softcaps_menu.IncentiveCheck`, None for hard caps).
    """

    model: object
    law: object
    items_of: Callable
    value_of: Callable
    tokens_of: Callable
    quality_of: Callable
    support: tuple[float, float]
    incentives: object = None

    #: The simulation's hook: the conversations depend on the item (market.sim.softcaps).
    quality_menu = True

    @property
    def plans(self):
        """Not a list of plans: users who weigh plans one by one (logit choice, anticipated
        congestion) are not supported for these menus."""
        raise ValueError(
            "users.choice = 'logit' / market.anticipate = true: a soft_caps or hard_caps menu "
            "is offered to users who choose rationally (misperceived urgency is supported)"
        )

    def choose(self, r: ArrayLike) -> Choice:
        """Each type's own item (the menu passes its incentive check); a type outside
        ``support`` takes the item of the nearest end if it is worth its price."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        report = np.clip(r, *self.support)
        cap, price, util = (np.asarray(a, dtype=float) for a in self.items_of(report))
        outside = report != r
        buys = cap > 0  # a cap of 0 sells nothing (e.g. the top type where g = 0)
        if np.any(outside):
            util = util.copy()
            util[outside] = self.value_of(r[outside], report[outside])
            buys &= ~outside | (util - price >= -TIE_TOLERANCE)
        return Choice(
            plan=np.where(buys, -2, -1), report=report, cap=np.where(buys, cap, 0.0),
            price=np.where(buys, price, 0.0), expected_utility=np.where(buys, util, 0.0),
        )  # fmt: skip

    def quality(self, r: ArrayLike, t: ArrayLike) -> NDArray:
        r""":math:`\kappa` of the model types ``r`` choose at running time ``t`` (0 for a type
        that buys nothing)."""
        r, t = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(t, dtype=float))
        choice = self.choose(r.ravel())
        k = self.quality_of(choice.report, t.ravel())
        return np.where(choice.buys, k, 0.0).reshape(r.shape)

    def by_type(self, r: ArrayLike) -> dict[str, NDArray]:
        """``served``, ``utility``, ``payment`` and expected ``tokens`` of types ``r``."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        choice = self.choose(r)
        return {
            "served": np.asarray(choice.buys, dtype=bool),
            "utility": np.asarray(choice.expected_utility, dtype=float),
            "payment": np.asarray(choice.price, dtype=float),
            "tokens": np.where(choice.buys, self.tokens_of(choice.report), 0.0),
        }


def _alpha(market: Market) -> float | None:
    entropy = market.entropy
    if isinstance(entropy, Power):
        return entropy.alpha
    if isinstance(entropy, Quadratic) and entropy.n == 2:
        return 2.0
    return None


def quality_unavailable(market: Market, kind: str, name: str) -> Unavailable | None:
    """Why a ``soft_caps`` or ``hard_caps`` policy does not apply to ``market``, or None."""
    prior = np.asarray(market.prior, dtype=float)
    alpha = _alpha(market)
    why = None
    if prior.size != 2:
        why = f"needs 2 states (the prior has {prior.size})"
    elif np.max(np.abs(prior - 0.5)) > HALF_TOLERANCE:
        why = (
            "needs the prior (0.5, 0.5) (Section 4 solves the problem at belief 1/2; got "
            f"{prior.tolist()})"
        )
    elif alpha is None:
        why = (
            f"needs information.entropy = 'power' (or 'quadratic', which is alpha = 2); "
            f"got {getattr(market.entropy, 'name', market.entropy)!r}"
        )
    elif alpha > ALPHA_MAX:
        why = f"information.alpha = {alpha:g}: the solver handles alpha up to {ALPHA_MAX:g}"
    elif getattr(market, "valuation", None) is not None:
        why = "is derived for q = 1 (Section 4 treats valuations and reasoning quality apart)"
    elif float(getattr(market, "cost", 0.0)) > 0:
        why = "is derived without a token cost (costs.per_token must be 0)"
    elif kind == "soft_caps":
        top = _largest_quality(alpha, market)
        if top > 0.5:
            why = (
                f"the closed form's quality reaches {top:.6g} > 1/2 for the most patient type "
                f"r = {market.low:g} (the belief 1/2 + kappa would leave [0, 1]): Section 4's "
                f"solution needs chi <= (alpha - 1) r 2^-alpha = "
                f"{(alpha - 1) * market.low * 0.5**alpha:.6g} there"
            )
    return None if why is None else Unavailable(name, kind, why)


def _largest_quality(alpha: float, market: Market) -> float:
    r""":math:`\kappa` of the most patient type at time 0: the largest quality of the menu
    (:math:`\kappa_r(0)` increases with the cap and decreases with :math:`r`)."""
    menu = SoftCapMenu(alpha, market.token_rate, market.urgency)
    return float(menu.quality(np.array([market.low]), 0.0)[0])


def solve_soft_caps(market: Market, name: str = "reasoning-quality menu") -> SolvedPolicy:
    """The menu of soft caps (:class:`market.theory.softcaps_menu.SoftCapMenu`); its global IC
    check is in ``notes`` and ``menu.incentives``."""
    menu = SoftCapMenu(_alpha(market), market.token_rate, market.urgency)
    law = menu.law
    law.kind, law.prior = "soft_caps", np.array([0.5, 0.5])
    check = menu.incentive_report()
    cap, price, _ = menu.items(market.grid)
    k0 = menu.quality(market.grid, 0.0)
    chi = market.token_rate
    rows = tuple(
        MenuRow(float(r), float(chi * c) if math.isfinite(c) else None, float(p), True,
                {"quality_at_start": float(k)})
        for r, c, p, k in zip(market.grid, cap, price, k0, strict=True)
    )  # fmt: skip
    quality = QualityMenu(
        law, law, menu.items,
        lambda r, report: np.diag(menu.value(r, report)) if r.size else np.zeros(0),
        lambda report: chi * menu.expected_time(report),
        menu.quality,
        (menu.low, menu.high),
        check,
    )  # fmt: skip
    notes = (
        f"soft caps (Section 4), alpha = {menu.alpha:g}: quality decays to 0 at the soft cap "
        f"chi T(r); {check.describe()}; revenue {menu.revenue:.10g} = relaxed revenue "
        f"{menu.relaxed_revenue:.10g}"
    )
    if menu.pools:
        notes += "; pooled types (Theorem 1's ironing of log G, not derived for soft caps)"
    pooled = tuple((p.low, p.high, chi * p.cap) for p in menu.pools)
    return SolvedPolicy(
        name, "soft_caps", menu.revenue, menu.user_surplus, menu.welfare, 1.0,
        menu.tokens_per_user, quality, rows, {}, notes, pooled,
    )  # fmt: skip


class _Rated:
    """A conversation model read at another token rate (its stopping law unchanged)."""

    def __init__(self, inner, token_rate: float, kind: str):
        self._inner, self.token_rate, self.kind = inner, float(token_rate), kind

    def __getattr__(self, name):
        return getattr(self._inner, name)


def solve_hard_caps(
    market: Market, quality: float | None = None, name: str = "hard-cap token menu"
) -> SolvedPolicy:
    r"""One model of fixed quality :math:`k` with Theorem 1's hard token caps (module
    docstring); ``quality`` None: the revenue-maximising :math:`k`
    (:func:`market.theory.softcaps_menu.best_fixed_quality`)."""
    alpha, chi = _alpha(market), market.token_rate
    how = "given"
    if quality is None:
        quality, _ = best_fixed_quality(alpha, chi, market.urgency)
        how = "revenue-maximising"
    k = float(quality)
    law = FixedQualityLaw(alpha, chi, k)
    # The stationary greedy model at rate chi / (2k)^alpha jumps at chi / k^alpha: Exp(lambda).
    inner = GreedyModel(Power(alpha), [0.5, 0.5], chi / (2.0 * k) ** alpha)
    model = _Rated(inner, chi, "fixed_quality")
    opt = OptimalTokenMenu(model, market.urgency)

    def items(r):
        cap, price, util = opt.items(np.asarray(r, dtype=float))
        return cap, k * price, k * util

    cap, price, _ = items(market.grid)
    rows = tuple(
        MenuRow(float(r), float(chi * c) if math.isfinite(c) else None, float(p), True,
                {"quality": k})
        for r, c, p in zip(market.grid, cap, price, strict=True)
    )  # fmt: skip
    menu = QualityMenu(
        model, law, items,
        lambda r, report: k * model.laplace(r, opt.cap(report)),
        lambda report: chi * model.expected_truncated_time(opt.cap(report)),
        lambda report, t: law.quality(report, opt.cap(report), t),
        (opt.low, opt.high),
    )  # fmt: skip
    notes = (
        f"one model of fixed quality k = {k:.6g} ({how}; jump rate chi/k^alpha = "
        f"{law.rate:.6g}) with Theorem 1's hard token caps, alpha = {alpha:g}"
    )
    pooled = tuple((p.low, p.high, chi * p.cap) for p in opt.pools)
    return SolvedPolicy(
        name, "hard_caps", k * opt.revenue, k * opt.user_surplus, k * opt.welfare, 1.0,
        opt.tokens_per_user, menu, rows, {"quality": k}, notes, pooled,
    )  # fmt: skip
