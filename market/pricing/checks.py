"""What must hold of every solved policy, checked before any number leaves the tool.

Every number is finite; prices, fees and per-token prices are >= 0; expected revenue, user
surplus, token cost and welfare per user satisfy ``revenue >= 0``, ``surplus >= 0`` (users buy
only what is worth its price), ``token cost >= 0`` and ``profit <= welfare <= first best``
(welfare = profit + user surplus, net of the token cost; first best = the best welfare, with
the market's valuation and cost); participation lies in [0, 1]; and no policy earns more
profit than the optimal token menu (all within :data:`TOLERANCE`). Without a valuation or a
cost (``plain``) the last holds for every policy (Theorem 1 is optimal among all mechanisms,
menus of models included). With them it is checked only for menus of token caps on the
deployed model (flat, per-token, two-part, tiers, custom), for which the optimal menu is
proven best when it passes its IC/IR check and condition (12) holds (without it, menus whose
caps rise with urgency can be IC, and nothing is bounded); speed tiers sell other models.
When the threshold menu failed IR, the bound is the larger of the deployed menu's profit and
the profit of the best IC/IR menu of lotteries over caps found by the linear program, with a
relative slack of :data:`LP_SLACK`: that menu is the best on the program's grid, not a proven
optimum.
:func:`problems` lists what fails, one line per policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["CAP_MENU_KINDS", "LP_SLACK", "TOLERANCE", "problems"]

#: Slack of the inequalities (the solver's numbers are accurate to ~1e-12; utilities <= 1).
TOLERANCE = 1e-9
#: Relative slack of "no cap menu beats the optimal menu" when the optimal menu is the linear
#: program's (its grid of at most 101 types and 64 caps misses finer menus: a two-part tariff
#: was measured 2.3e-5 above it, relative, on a random market).
LP_SLACK = 1e-4
#: Kinds that are menus of token caps on the deployed model (a metered price is one too:
#: each type picks its quitting time and pays in expectation a price that depends on it only).
CAP_MENU_KINDS = ("optimal_token_menu", "flat", "per_token", "two_part", "tiers", "custom")


def _finite(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _numbers(value):
    """Every number inside a parameter value ("unlimited" and names aside)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def _policy_problems(p, first_best: float, optimal: float | None, slack: float) -> list[str]:
    out = []
    cost = float(getattr(p, "token_cost", 0.0))
    measures = {
        "revenue": p.revenue,
        "user_surplus": p.user_surplus,
        "welfare": p.welfare,
        "participation": p.participation,
        "tokens_per_user": p.tokens_per_user,
        "token_cost": cost,
    }
    for field, value in measures.items():
        if not _finite(float(value)):
            out.append(f"{field} = {value}: not a finite number")
    if out:
        return out
    tol = TOLERANCE
    profit = p.revenue - cost
    if p.revenue < -tol or p.user_surplus < -tol or p.tokens_per_user < -tol or cost < -tol:
        out.append(
            f"revenue {p.revenue:.6g}, user surplus {p.user_surplus:.6g}, token cost "
            f"{cost:.6g}: expected >= 0"
        )
    if profit > p.welfare + tol or p.welfare > first_best + tol:
        what = "revenue" if cost == 0 else "profit"
        out.append(
            f"{what} {profit:.12g} <= welfare {p.welfare:.12g} <= first best "
            f"{first_best:.12g} fails"
        )
    if not -tol <= p.participation <= 1 + tol:
        out.append(f"participation = {p.participation:.6g}: expected a share in [0, 1]")
    if optimal is not None and profit > optimal + slack:
        what = "revenue" if cost == 0 else "profit"
        out.append(f"{what} {profit:.12g} exceeds the optimal token menu's {optimal:.12g}")
    numbers = [*_numbers(p.parameters), *(row.price for row in p.rows)]
    numbers += [row.token_cap for row in p.rows if row.token_cap is not None]
    if not all(_finite(x) for x in numbers):
        out.append("a price or a token cap is not a finite number")
    elif any(x < -tol for x in numbers):
        out.append("a price or a token cap is negative")
    return out


def problems(policies: Sequence, first_best: float, optimal, plain: bool = True) -> list[tuple]:
    """``(policy, [what fails, ...])`` for each solved policy that breaks what must hold.

    ``optimal`` is the optimal token menu (a :class:`~market.pricing.solved.SolvedPolicy`)
    or its profit (a number), or None; ``plain``: the market has no valuation and no cost
    (module docstring: which policies it bounds).
    """
    if not (_finite(float(first_best)) and first_best >= -TOLERANCE):
        return [(None, [f"first-best welfare = {first_best}: not a finite number >= 0"])]
    slack = TOLERANCE
    if optimal is not None and not isinstance(optimal, int | float):
        incentives = getattr(optimal, "incentives", None) or {}
        optimal_profit = optimal.revenue - float(getattr(optimal, "token_cost", 0.0))
        if incentives.get("single_crossing") is False and not incentives.get("broken"):
            optimal_profit = None  # IC and IR, but condition (12) fails: not proven optimal
        elif incentives.get("broken"):  # the LP's menu: the best found on a grid, not a proof
            lottery = float(incentives.get("lottery_menu", {}).get("profit", optimal_profit))
            optimal_profit = max(optimal_profit, lottery)
            slack = max(TOLERANCE, LP_SLACK * abs(optimal_profit))
        optimal = optimal_profit
    found = []
    for policy in policies:
        bound = optimal if plain or policy.kind in CAP_MENU_KINDS else None
        lines = _policy_problems(policy, first_best, bound, slack)
        if lines:
            found.append((policy, lines))
    return found
