r"""The paper's three menus as solved policies: Theorem 1's token menu and the best menus of
the two Section 2.2 families (the mathematics is in :mod:`market.theory`)."""

from __future__ import annotations

import math

import numpy as np

from market.pricing.market import Market
from market.pricing.plans import FiniteMenu, Plan, ScheduleMenu
from market.pricing.solved import MenuRow, SolvedPolicy, Unavailable
from market.theory.families import (
    ConstantDelay,
    Diffusion,
    FamilyMenu,
    screen_constant_delay,
    screen_diffusion,
)
from market.theory.mechanism import OptimalTokenMenu

__all__ = ["diffusion_unavailable", "solve_constant_delay", "solve_diffusion", "solve_optimal"]


def solve_optimal(market: Market, name: str = "optimal token menu") -> SolvedPolicy:
    """Theorem 1's menu (:class:`market.theory.mechanism.OptimalTokenMenu`, with ironing) as a
    :class:`market.pricing.plans.ScheduleMenu`. Every type below :math:`\\bar r` has a
    positive cap (the slope of the concave envelope of :math:`\\log G`), so participation is
    1."""
    opt = OptimalTokenMenu(market.model, market.urgency)
    chi = market.token_rate
    caps, prices = opt.token_cap(market.grid), opt.price(market.grid)
    rows = tuple(
        MenuRow(float(r), float(c) if np.isfinite(c) else None, float(p))
        for r, c, p in zip(market.grid, caps, prices, strict=True)
    )
    pooled = tuple((p.low, p.high, chi * p.cap) for p in opt.pools)
    notes = "Theorem 1 with ironing"
    if pooled:
        notes += "; pooled types: " + ", ".join(
            f"[{a:.6g}, {b:.6g}] on token cap {c:.6g}" for a, b, c in pooled
        )
    menu = ScheduleMenu(market.model, opt.cap, opt.price, opt.items, (market.low, market.high))
    return SolvedPolicy(
        name, "optimal_token_menu", opt.revenue, opt.user_surplus, opt.welfare, 1.0,
        opt.tokens_per_user, menu, rows, {}, notes, pooled,
    )  # fmt: skip


def _family_rows(fam: FamilyMenu, extra_of) -> tuple[MenuRow, ...]:
    return tuple(
        MenuRow(float(r), None, float(p), True, extra_of(s))
        if s > 0
        else MenuRow(float(r), 0.0, 0.0, False, extra_of(0.0))
        for r, s, p in zip(fam.grid, fam.speed, fam.price, strict=True)
    )


def solve_constant_delay(market: Market, name: str = "constant-delay menu") -> SolvedPolicy:
    """The best constant-delay menu (:func:`market.theory.families.screen_constant_delay`): a
    posted price :math:`P` for delay :math:`d_{\\min}` to the types below the threshold
    :math:`r^*`, each served :math:`\\chi d_{\\min}` tokens."""
    fam = screen_constant_delay(
        market.entropy, market.prior, market.token_rate, market.urgency, market.grid
    )
    model: ConstantDelay = fam.model
    share = float(market.urgency.cdf(fam.threshold))
    price = float(fam.price.max())
    plans = (Plan("constant delay", math.inf, price),) if share > 0 else ()
    menu = FiniteMenu(model, plans)
    rows = _family_rows(fam, lambda s: {"delay": model.delay})
    tokens = share * market.token_rate * model.delay
    return SolvedPolicy(
        name, "constant_delay", fam.revenue, fam.user_surplus, fam.welfare, share, tokens,
        menu, rows, {"price": price}, fam.notes,
    )  # fmt: skip


def diffusion_unavailable(market: Market, name: str) -> Unavailable | None:
    """Why the diffusion menu does not apply to this market, or None if it does."""
    n = market.prior.size
    if n != 2:
        return Unavailable(name, "diffusion", f"needs 2 states (the prior has {n})")
    try:
        Diffusion(market.entropy, market.prior, market.token_rate).check_simulable()
    except NotImplementedError as exc:
        return Unavailable(name, "diffusion", str(exc))
    return None


def solve_diffusion(market: Market, name: str = "diffusion menu") -> SolvedPolicy:
    """The best menu of diffusion speeds (:func:`market.theory.families.screen_diffusion`,
    binary states). A single full-speed price (the paper's example) is a one-plan menu; a
    schedule of several speeds is offered as the finite menu of the speeds on the report grid
    (an approximation, said in ``notes``). Every buyer is served the information to learn,
    :math:`\\chi E[\\tau]` tokens, whatever the speed."""
    fam = screen_diffusion(
        market.entropy, market.prior, market.token_rate, market.urgency, market.grid
    )
    model: Diffusion = fam.model
    pairs = zip(fam.speed, fam.price, strict=True)
    posted = sorted({(float(f"{s:.12g}"), float(f"{p:.12g}")) for s, p in pairs if s > 0})[::-1]
    plans = tuple(Plan(f"speed {s:.6g}", math.inf, p, speed=s) for s, p in posted)
    notes = fam.notes
    if fam.threshold is not None:  # a posted price for the full-speed model
        share = float(market.urgency.cdf(fam.threshold))
    elif len(plans) == 1 and plans[0].price > 0:  # one model at one price: revenue / price
        share = fam.revenue / plans[0].price
    elif plans:
        share = float(market.urgency.cdf(fam.grid[fam.speed > 0].max()))
        if len(plans) > 1:
            notes += "; offered as the finite menu of the speeds on the report grid"
    else:
        share = 0.0
    rows = _family_rows(
        fam,
        lambda s: {"speed": float(s), "volatility": model.volatility * math.sqrt(s)},
    )
    tokens = share * market.token_rate * model.expected_time
    return SolvedPolicy(
        name, "diffusion", fam.revenue, fam.user_surplus, fam.welfare, share, tokens,
        FiniteMenu(model, plans), rows, {}, notes,
    )  # fmt: skip
