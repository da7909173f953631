r"""One solver per kind of policy, each returning a :class:`SolvedPolicy`.

Every solver takes the :class:`Market` (greedy model at token rate :math:`\chi`, urgency
distribution :math:`G`, report grid, users' valuation :math:`q(r)`, cost :math:`c` per token)
and the kind's parameters; a parameter left as ``None`` is solved for (profit-maximising:
revenue minus :math:`c` times the tokens served, i.e. revenue when :math:`c = 0`), one given
is kept. Expected values always come from the users' actual choices, integrated over exact
choice regions.
"""

from __future__ import annotations

import numpy as np

from market.pricing.flat import best_flat_price, flat_menu
from market.pricing.market import Market
from market.pricing.metered import best_fee, best_per_token, best_two_part, metered_solution
from market.pricing.plans import FiniteMenu, Plan
from market.pricing.regions import menu_outcome
from market.pricing.solved import SolvedPolicy, finite_menu_rows, token_cap_value
from market.pricing.tier_prices import fixed_price_qualities
from market.pricing.tiers import AGREEMENT, Ladder, best_ladder

__all__ = [
    "solve_custom",
    "solve_finite",
    "solve_flat",
    "solve_per_token",
    "solve_speed_tiers",
    "solve_tiers",
    "solve_two_part",
]


def solve_finite(
    market: Market,
    name: str,
    kind: str,
    menu: FiniteMenu,
    parameters: dict,
    notes: str,
    relaxed: float | None = None,
) -> SolvedPolicy:
    """Evaluate a finite menu through the users' choices; ``relaxed``: the optimiser's value
    of the same menu, to be confirmed."""
    out = menu_outcome(menu, market)
    rows = finite_menu_rows(menu, market.grid, market.token_rate, speeds=kind == "speed_tiers")
    notes += "; choices: " + ", ".join(
        f"[{reg.low:.6g}, {reg.high:.6g}] -> "
        + (menu.plans[reg.plan].name if reg.plan >= 0 else "nothing")
        for reg in out.regions
    )
    chosen = {reg.plan for reg in out.regions if reg.high > reg.low}
    idle = [p.name for j, p in enumerate(menu.plans) if j not in chosen]
    if idle:
        notes += "; chosen by no type: " + ", ".join(idle)
    earned = out.revenue - out.token_cost
    if relaxed is not None and abs(earned - relaxed) > AGREEMENT * max(1.0, relaxed):
        notes += f"; WARNING: the users' choices do not give the relaxed profit {relaxed:.12g}"
    return SolvedPolicy(
        name, kind, out.revenue, out.user_surplus, out.welfare, out.participation,
        out.tokens_per_user, menu, rows, parameters, notes, token_cost=out.token_cost,
    )  # fmt: skip


# -- flat ------------------------------------------------------------------------------------
def solve_flat(market: Market, price: float | None = None, name: str = "flat price"):
    r"""One price for unlimited use. Buyers are :math:`r \le r^*`, :math:`U(\infty|r^*) = P`.

    Optimum: :math:`r^* = \arg\max_r G(r)U(\infty|r)` (in logs; a 401-point grid, then
    bounded Brent to 1e-13 in r), :math:`P = U(\infty|r^*)`; with a valuation or a cost,
    the profit-maximising price of :func:`market.pricing.flat.best_flat_price`. With
    ``price`` given the buyers follow from it.
    """
    if price is None:
        price, notes = best_flat_price(market)
    else:
        notes = "price fixed"
    menu = flat_menu(market, price)
    return solve_finite(market, name, "flat", menu, {"price": float(price)}, notes)


# -- metered ---------------------------------------------------------------------------------
def solve_per_token(market: Market, per_token: float | None = None, name: str = "per-token price"):
    r"""Pay-as-you-go at :math:`p` per token (:mod:`.metered`): revenue
    :math:`E_r[p\chi E\min(\tau, T(r,p))]`. Optimum: a 25-point grid of :math:`p` on
    :math:`[0, h(0)/\chi]`, then bounded Brent to 1e-10 of that range (Gauss-Legendre in r
    inside the search, piecewise Chebyshev for the reported values).
    """
    notes = "per-token price fixed"
    if per_token is None:
        per_token = best_per_token(market)
        notes = "per-token price by grid + bounded Brent"
    params = {"per_token": float(per_token)}
    return metered_solution(market, name, "per_token", 0.0, per_token, notes, params)


def solve_two_part(
    market: Market,
    fee: float | None = None,
    per_token: float | None = None,
    name: str = "two-part tariff",
):
    r"""A fee :math:`F` plus :math:`p` per token; buyers :math:`r \le \hat r`,
    :math:`W(\hat r, p) = F`. Optimum by nested 1-D searches: for each :math:`p` the best
    marginal buyer :math:`\hat r` among ``high`` and the roots of its first-order condition
    (sign changes on a 65-point grid, Brent to 1e-14), then :math:`F = W(\hat r, p)`;
    outside, :math:`p` by a 25-point grid + bounded Brent to 1e-10 of :math:`[0, h(0)/\chi]`.
    With one of the two given, only the other is searched.
    """
    if fee is None and per_token is None:
        flat = best_flat_price(market)[0]
        fee, per_token = best_two_part(market, flat)
        notes = "fee and per-token price by nested 1-D searches (grid + Brent)"
    elif fee is None:
        fee = best_fee(market, per_token)[0]
        notes = "per-token price fixed; fee from the best marginal buyer (first-order condition)"
    elif per_token is None:
        per_token = best_per_token(market, fee)
        notes = "fee fixed; per-token price by grid + bounded Brent"
    else:
        notes = "fee and per-token price fixed"
    params = {"fee": float(fee), "per_token": float(per_token)}
    return metered_solution(market, name, "two_part", fee, per_token, notes, params)


# -- ladders ---------------------------------------------------------------------------------
def _ladder(market, kind, ladder_kind, count, qualities, prices, name, param):
    """Tiers of caps or of speeds (:mod:`.tiers`), with any of qualities and prices fixed."""
    ladder = Ladder(market, ladder_kind)
    if qualities is not None:
        scale = market.token_rate if ladder_kind == "caps" else 1.0
        q = np.array(qualities, dtype=float) / scale
    if qualities is not None and prices is not None:
        p = np.asarray(prices, dtype=float)
        notes = f"{param} and prices fixed"
    elif prices is not None:
        p = np.asarray(prices, dtype=float)
        q, _ = fixed_price_qualities(ladder, p)
        notes = f"prices fixed; {param} by Nelder-Mead on the actual revenue"
    else:
        given = None if qualities is None else q
        q, p, _, how = best_ladder(market, ladder_kind, count, fixed=given)
        what = "prices" if qualities is not None else f"{param} and prices"
        notes = f"{what} by multi-start L-BFGS-B (analytic gradient) from nested starts; {how}"
    if ladder_kind == "caps":
        shown = [token_cap_value(market.token_rate * c) for c in q]
    else:
        shown = [float(s) for s in q]
    params = {"count": int(q.size), param: shown, "prices": [float(x) for x in p]}
    return solve_finite(market, name, kind, ladder.menu(q, p), params, notes)


def solve_tiers(market: Market, count: int, caps=None, prices=None, name: str | None = None):
    r"""``count`` plans, each a token cap and a price (the ladder of :mod:`.tiers`).

    ``caps`` are token caps (``inf`` = unlimited). Caps and prices omitted: joint
    optimisation over boundary types and caps (the top plan unlimited), multi-start L-BFGS-B
    with the analytic gradient (:mod:`.tiers`). Only caps given: the best prices for
    them (same optimiser over the boundaries). Only prices given: caps by Nelder-Mead on the
    actual revenue. Both given: evaluated.
    """
    return _ladder(market, "tiers", "caps", count, caps, prices, name or f"{count} tiers", "caps")


def solve_speed_tiers(
    market: Market, count: int, speeds=None, prices=None, name: str | None = None
):
    r"""``count`` plans of unlimited tokens at speeds :math:`s_k\in(0,1]` of the token rate
    (a menu of models); :math:`U(s|r) = E[e^{-r\tau/s}]`. Optimised as :func:`solve_tiers`
    with speeds for caps (top plan at full speed; speeds >= 1e-3).
    """
    return _ladder(
        market, "speed_tiers", "speeds", count, speeds, prices, name or f"{count} speed tiers",
        "speeds",
    )  # fmt: skip


def solve_custom(market: Market, plans, name: str = "custom menu"):
    """A menu written out in the scenario: ``plans`` of ``(name, token_cap, price)``
    (``inf`` = unlimited). Nothing is optimised; users self-select."""
    menu = FiniteMenu(
        market.model,
        tuple(Plan(n, cap / market.token_rate, float(p)) for n, cap, p in plans),
        market.valuation,
    )
    params = {
        "plans": [
            {"name": n, "token_cap": token_cap_value(cap), "price": float(p)} for n, cap, p in plans
        ]
    }
    return solve_finite(market, name, "custom", menu, params, "menu fixed")
