r"""The paper's three menus as solved policies: Theorem 1's token menu and the best menus of
the two Section 2.2 families (the mathematics is in :mod:`market.theory`).

The token menu takes the market's valuation :math:`q(r)` (Section 4) and cost per token
(Section 2.1), and every menu it emits is checked for IC and IR; the Section 2.2 families are
derived for :math:`q\equiv 1` without a cost, and are listed as not applicable otherwise
(:func:`family_unavailable`)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.optimize import brentq

from market.pricing.flat import best_flat_price, flat_menu
from market.pricing.kinds import solve_two_part
from market.pricing.market import Market
from market.pricing.plans import FiniteMenu, Plan, ScheduleMenu
from market.pricing.regions import menu_outcome
from market.pricing.solved import MenuRow, SolvedPolicy, Unavailable, finite_menu_rows
from market.theory.families import (
    ConstantDelay,
    Diffusion,
    FamilyMenu,
    screen_constant_delay,
    screen_diffusion,
)
from market.theory.lottery import best_cap_menu
from market.theory.mechanism import OptimalTokenMenu

__all__ = [
    "diffusion_unavailable", "family_unavailable", "solve_constant_delay", "solve_diffusion",
    "solve_optimal",
]  # fmt: skip


#: Types on which every optimal menu with a valuation or a cost is checked for IC and IR
#: (evenly spaced); fewer for models with transient phases, whose Laplace transform at a
#: finite cap costs ~1e-4 s per (type, cap) pair.
CHECK_TYPES = 801
CHECK_TYPES_TRANSIENT = 201
#: The deployed fallback when the best two-part tariff earns most.
TWO_PART = "the best two-part tariff (each type's quitting time is its cap)"
#: A misreport gain or a negative surplus beyond this breaks IC or IR.
CHECK_TOLERANCE = 1e-9


def solve_optimal(market: Market, name: str = "optimal token menu") -> SolvedPolicy:
    r"""The optimal token menu (:class:`market.theory.mechanism.OptimalTokenMenu`, with
    ironing; with the market's valuation :math:`q` and cost :math:`c`) as a
    :class:`market.pricing.plans.ScheduleMenu`.

    Without a valuation or a cost, Theorem 1 (with ironing) makes the menu IC and IR: the caps
    fall with urgency (single crossing) and every surplus is an integral of a positive rent
    (tests/test_mechanism.py checks it by brute force); the menu is not checked again, so the
    baseline costs what it did. Otherwise, condition (12) gives IC but not IR
    (docs/paper-notes.md, erratum 7): the menu is checked, and when the check fails, the
    notes say which constraint broke, at which type and by how much, and the policy deployed
    is the best menu of token caps that satisfies every IC and IR constraint
    (:func:`market.theory.lottery.best_cap_menu`, :func:`_best_ic_ir`); ``incentives``
    records both.
    """
    if market.plain:
        opt = OptimalTokenMenu(market.model, market.urgency)
        report = None
    else:
        opt = market.optimal_menu
        n = CHECK_TYPES_TRANSIENT if getattr(market.model, "switch_times", ()) else CHECK_TYPES
        report = opt.incentive_report(np.linspace(market.low, market.high, n))
    incentives = {
        "threshold_menu": {
            "revenue": float(opt.revenue),
            "cost": float(opt.token_cost),
            "profit": float(opt.profit),
        },
        "broken": [],
    }
    if report is None:
        incentives["method"] = "Theorem 1 (q = 1, no cost): IC and IR by construction"
    else:
        incentives.update(
            types_checked=int(report.types),
            max_misreport_gain=float(report.max_gain),
            min_surplus=float(report.min_surplus),
        )
        if not report.passes(CHECK_TOLERANCE):
            return _best_ic_ir(market, name, opt, report, incentives)
    chi = market.token_rate
    caps, prices = opt.token_cap(market.grid), opt.price(market.grid)
    rows = tuple(
        MenuRow(float(r), float(c) if np.isfinite(c) else None, float(p))
        if c > 0
        else MenuRow(float(r), 0.0, 0.0, False)
        for r, c, p in zip(market.grid, caps, prices, strict=True)
    )
    pooled = tuple((p.low, p.high, chi * p.cap) for p in opt.pools)
    notes = "Theorem 1 with ironing"
    if market.valuation is not None:
        notes += f"; valuation {market.valuation.label} (Section 4)"
    if market.cost > 0:
        notes += f"; profit-maximising caps for a cost of {market.cost:.6g} per token"
    if pooled:
        notes += "; pooled types: " + ", ".join(
            f"[{a:.6g}, {b:.6g}] on token cap {c:.6g}" for a, b, c in pooled
        )
    if opt.top < market.high:
        notes += f"; types above r = {opt.top:.12g} excluded (cap 0, price 0)"
    if report is not None:
        notes += "; " + report.describe(CHECK_TOLERANCE)
        crossing = _single_crossing(market, opt)
        incentives["single_crossing"] = crossing is None
        if crossing is not None:
            notes += "; " + crossing
    menu = ScheduleMenu(market.model, opt.cap, opt.price, opt.items, (market.low, market.high),
                        market.valuation)  # fmt: skip
    return SolvedPolicy(
        name, "optimal_token_menu", opt.revenue, opt.user_surplus, opt.welfare,
        opt.participation, opt.tokens_per_user, menu, rows, {}, notes, pooled,
        token_cost=opt.token_cost, incentives=incentives,
    )  # fmt: skip


def _single_crossing(market: Market, opt) -> str | None:
    r"""None if condition (12) holds, :math:`\max_r q'/q < \min T` over the types served (then
    every IC menu has caps falling with urgency, and the threshold menu, IC and IR, is the best
    menu of caps); else a sentence saying where it fails: menus whose caps rise with urgency
    are then not ruled out, and the menu is not proven optimal (erratum 8)."""
    if market.valuation is None:
        return None
    r = np.linspace(market.low, market.high, CHECK_TYPES)
    caps = opt.cap(r)
    served = caps > 0
    if not np.any(served):
        return None
    slope = market.valuation.log_slope(r)
    k = int(np.argmax(slope))
    least = float(np.min(caps[served]))
    if slope[k] < least:
        return None
    return (
        f"condition (12) fails: q'/q = {slope[k]:.6g} at r = {r[k]:.6g} is not below the "
        f"smallest cap {least:.6g} (time): the menu is IC and IR but not proven optimal (menus "
        "whose caps rise with urgency are not ruled out)"
    )


def _broken(report) -> list[str]:
    out = []
    if not report.ir_holds(CHECK_TOLERANCE):
        out.append("individual rationality")
    if not report.ic_holds(CHECK_TOLERANCE):
        out.append("incentive compatibility")
    return out


def _equivalent_cap(model, item, r: float) -> float:
    r"""The cap worth the same as the lottery ``item`` to type ``r`` (:math:`U(T|r) =
    \sum_j p_jU(T_j|r)`; :math:`q(r)` cancels)."""
    caps = np.array(item.caps, dtype=float)
    target = float(np.dot(item.probabilities, model.laplace(np.full(caps.size, r), caps)))
    top = float(np.max(caps))
    if target >= float(model.laplace(np.array([r]), np.array([top]))[0]):
        return top
    hi = top if np.isfinite(top) else 1e3 * float(model.expected_time)
    return float(brentq(lambda t: float(model.laplace(np.array([r]), np.array([t]))[0]) - target,
                        0.0, hi, xtol=1e-14))  # fmt: skip


def _deployable(market: Market, lot) -> list[tuple[str, FiniteMenu]]:
    """Finite menus (one cap per plan) from the LP's menu, and the best flat price."""
    model = market.model
    mode, equal = [], []
    for k, item in enumerate(lot.items):
        j = int(np.argmax(item.probabilities))
        mode.append(Plan(f"plan {k + 1}", item.caps[j], float(item.price)))
        middle = 0.5 * (item.low + item.high)
        equal.append(Plan(f"plan {k + 1}", _equivalent_cap(model, item, middle), float(item.price)))
    flat = flat_menu(market, best_flat_price(market)[0])
    return [
        ("the linear program's menu, each lottery as its most probable cap",
         FiniteMenu(model, tuple(mode), market.valuation)),
        ("the linear program's menu, each lottery as the cap its middle buyer values equally",
         FiniteMenu(model, tuple(equal), market.valuation)),
        ("the best flat price", flat),
    ]  # fmt: skip


def _best_ic_ir(market: Market, name: str, opt, report, incentives: dict) -> SolvedPolicy:
    """The best IC and IR menu of token caps, deployed when the threshold menu fails.

    :func:`market.theory.lottery.best_cap_menu` solves the linear program over lotteries of
    caps. A lottery cannot be sold as a plan, so the deployed menu is the best, by the users'
    own choices, of: the LP's items with each lottery replaced by its most probable cap, or by
    the cap its middle buyer values as much (both at the item's price), and the best flat
    price; and the best two-part tariff (a fee and a price per token: each type picks its
    quitting time, a cap, and pays in expectation a price that depends on that cap only; the
    LP's grid of types and caps can miss such finely graded menus).
    Every one of them is IC and IR (every user picks its best plan or nothing); the notes give
    the lottery menu's profit beside the deployed one.
    """
    lot = best_cap_menu(market.model, market.urgency, market.valuation, market.cost)
    lotteries = [k + 1 for k, it in enumerate(lot.items)
                 if len(it.caps) > 1 or max(it.probabilities) < 1 - 1e-9]  # fmt: skip
    scored = []
    for label, menu in _deployable(market, lot):
        out = menu_outcome(menu, market)
        scored.append((out.revenue - out.token_cost, label, menu, out))
    profit, label, menu, out = max(scored, key=lambda item: item[0])
    metered = solve_two_part(market, name=name)  # each type's quitting time is its cap
    scored.append((metered.profit, TWO_PART, metered.menu, None))
    if metered.profit > profit + CHECK_TOLERANCE:  # a tie goes to the finite menu
        profit, label = metered.profit, TWO_PART
    incentives.update(
        broken=_broken(report),
        worst_type=float(
            report.ir_type if not report.ir_holds(CHECK_TOLERANCE) else report.worst_type
        ),
        worst_report=float(report.worst_report),
        method="linear program over lotteries of caps",
        lp_value=float(lot.lp_value),
        lp_grid={"types": int(lot.types), "caps": int(lot.caps)},
        lottery_menu={
            "revenue": float(lot.revenue),
            "cost": float(lot.token_cost),
            "profit": float(lot.profit),
        },
        rounds=[float(x) for x in lot.rounds],
        converged=bool(lot.converged),
        tolerance=float(lot.tolerance),
        lotteries=lotteries,
        deployed=label,
        candidates={lab: float(p) for p, lab, _, _ in scored},
    )
    notes = (
        f"the threshold menu (revenue {opt.revenue:.10g}, profit {opt.profit:.10g}) is not "
        f"incentive compatible and individually rational: {report.describe(CHECK_TOLERANCE)}; "
        f"{lot.describe()}; deployed: {label} (profit {profit:.10g} by the users' choices)"
    )
    if lotteries:
        notes += f"; LP items {lotteries} are lotteries over caps, which no plan can sell"
    if label == TWO_PART:
        return replace(metered, kind="optimal_token_menu", notes=f"{notes}; {metered.notes}",
                       incentives=incentives)  # fmt: skip
    plans = menu.plans
    notes += "; choices: " + ", ".join(
        f"[{reg.low:.6g}, {reg.high:.6g}] -> "
        + (plans[reg.plan].name if reg.plan >= 0 else "nothing")
        for reg in out.regions
    )
    rows = finite_menu_rows(menu, market.grid, market.token_rate)
    return SolvedPolicy(
        name, "optimal_token_menu", out.revenue, out.user_surplus, out.welfare,
        out.participation, out.tokens_per_user, menu, rows, {}, notes,
        token_cost=out.token_cost, incentives=incentives,
    )  # fmt: skip


def family_unavailable(market: Market, kind: str, name: str) -> Unavailable | None:
    """The Section 2.2 families are derived for :math:`q\\equiv 1` and free tokens only: with a
    valuation or a cost they are listed as not applicable, never solved ignoring them."""
    if market.plain:
        return None
    what = [w for w, on in (("heterogeneous valuations", market.valuation is not None),
                            ("a token cost", market.cost > 0)) if on]  # fmt: skip
    return Unavailable(name, kind, f"not derived for {' and '.join(what)} (Section 2.2 assumes "
                                   "q = 1 and free tokens)")  # fmt: skip


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
