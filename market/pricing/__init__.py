r"""What a platform sells: plans and menus, the policy kinds, and their solvers.

The platform deploys the greedy model (Definition 1) at the full token rate :math:`\chi`
unless the policy says otherwise (speed tiers, the Section 2.2 families). A user of urgency
:math:`r` values a conversation that ends at :math:`\tau` at :math:`q(r)e^{-r\tau}` (Section 4;
:math:`q\equiv 1` unless the market has a valuation); the platform pays :math:`c` per token
served (Section 2.1; default 0); payments are not discounted; users choose the plan of largest
expected utility minus expected payment, if it is :math:`\ge 0`, ties to the larger cap
(:func:`market.pricing.plans.best_plan`). Kinds:

=====================  ========================================================================
``optimal_token_menu`` Theorem 1's menu of token caps and prices (the upper bound).
``flat``               one price for unlimited use (``price``).
``per_token``          pay-as-you-go at ``per_token`` per token; users quit at :math:`T(r, p)`.
``two_part``           a ``fee`` plus ``per_token``.
``tiers``              ``count`` plans of a token cap and a price (``caps``, ``prices``).
``speed_tiers``        ``count`` plans of unlimited tokens at speeds in (0, 1] (``speeds``,
                       ``prices``): a menu of models.
``custom``             ``plans`` written out: ``(name, token_cap, price)``.
``constant_delay``     Section 2.2's best constant-delay menu.
``diffusion``          Section 2.2's best diffusion menu (binary states).
``soft_caps``          Section 4's reasoning-quality menu: one model per type whose quality
                       decays to 0 at its soft cap (binary, ``power`` entropy, prior ½).
``hard_caps``          one model of fixed reasoning ``quality`` with hard token caps: the
                       comparison for ``soft_caps`` (:mod:`market.pricing.softcaps`).
=====================  ========================================================================

Omitted parameters are solved for (profit-maximising: revenue minus the token cost, which is
the revenue without a cost); given ones are kept. Each solution
is a :class:`SolvedPolicy`. :func:`solve_policies` solves a list of policies in order and
lists those that do not apply to the market (:class:`Unavailable`) with the reason.
Parameters arrive validated (the scenario schema, :mod:`market.scenario.policies`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from numpy.linalg import LinAlgError

from market.pricing.kinds import (
    solve_custom,
    solve_flat,
    solve_per_token,
    solve_speed_tiers,
    solve_tiers,
    solve_two_part,
)
from market.pricing.market import Market
from market.pricing.paper import (
    diffusion_unavailable,
    family_unavailable,
    solve_constant_delay,
    solve_diffusion,
    solve_optimal,
)
from market.pricing.plans import Choice, FiniteMenu, Plan, ScheduleMenu
from market.pricing.softcaps import quality_unavailable, solve_hard_caps, solve_soft_caps
from market.pricing.solution import Solution
from market.pricing.solved import MenuRow, SolvedPolicy, Unavailable

__all__ = [
    "DEFAULT_NAMES",
    "KINDS",
    "PARAMETERS",
    "Choice",
    "FiniteMenu",
    "Market",
    "MenuRow",
    "Plan",
    "PolicyFailure",
    "ScheduleMenu",
    "Solution",
    "SolvedPolicy",
    "Unavailable",
    "default_policies",
    "solve_policies",
    "solve_policy",
]

#: The parameters each kind takes (besides ``kind`` and ``name``).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "optimal_token_menu": (),
    "flat": ("price",),
    "per_token": ("per_token",),
    "two_part": ("fee", "per_token"),
    "tiers": ("count", "caps", "prices"),
    "speed_tiers": ("count", "speeds", "prices"),
    "custom": ("plans",),
    "constant_delay": (),
    "diffusion": (),
    "soft_caps": (),
    "hard_caps": ("quality",),
}
KINDS = tuple(PARAMETERS)

#: Default names, as the comparison table shows them.
DEFAULT_NAMES = {
    "optimal_token_menu": "optimal token menu",
    "flat": "flat price",
    "per_token": "per-token price",
    "two_part": "two-part tariff",
    "tiers": "{count} tiers",
    "speed_tiers": "{count} speed tiers",
    "custom": "custom menu",
    "constant_delay": "constant-delay menu",
    "diffusion": "diffusion menu",
    "soft_caps": "reasoning-quality menu",
    "hard_caps": "hard-cap token menu",
}

#: Kind -> solver taking the market, the name and the kind's parameters.
SOLVERS: dict[str, Callable[..., SolvedPolicy]] = {
    "optimal_token_menu": lambda m, name, v: solve_optimal(m, name),
    "flat": lambda m, name, v: solve_flat(m, v.get("price"), name),
    "per_token": lambda m, name, v: solve_per_token(m, v.get("per_token"), name),
    "two_part": lambda m, name, v: solve_two_part(m, v.get("fee"), v.get("per_token"), name),
    "tiers": lambda m, name, v: solve_tiers(m, v["count"], v.get("caps"), v.get("prices"), name),
    "speed_tiers": lambda m, name, v: solve_speed_tiers(
        m, v["count"], v.get("speeds"), v.get("prices"), name
    ),
    "custom": lambda m, name, v: solve_custom(m, v["plans"], name),
    "constant_delay": lambda m, name, v: solve_constant_delay(m, name),
    "diffusion": lambda m, name, v: solve_diffusion(m, name),
    "soft_caps": lambda m, name, v: solve_soft_caps(m, name),
    "hard_caps": lambda m, name, v: solve_hard_caps(m, v.get("quality"), name),
}


def default_policies() -> list[dict]:
    """The policies solved and compared when a scenario lists none (``diffusion`` is listed
    as not applicable where the state is not binary)."""
    return [
        {"kind": "optimal_token_menu", "name": "optimal token menu"},
        {"kind": "flat", "name": "flat price"},
        {"kind": "per_token", "name": "per-token price"},
        {"kind": "two_part", "name": "two-part tariff"},
        {"kind": "tiers", "name": "2 tiers", "count": 2},
        {"kind": "tiers", "name": "3 tiers", "count": 3},
        {"kind": "speed_tiers", "name": "2 speed tiers", "count": 2},
        {"kind": "constant_delay", "name": "constant-delay menu"},
        {"kind": "diffusion", "name": "diffusion menu"},
    ]


def unavailable(market: Market, kind: str, name: str) -> Unavailable | None:
    """Why a policy of ``kind`` does not apply to ``market``, or None if it does."""
    if kind in ("constant_delay", "diffusion") and not market.plain:
        return family_unavailable(market, kind, name)
    if kind == "diffusion":
        return diffusion_unavailable(market, name)
    if kind in ("soft_caps", "hard_caps"):
        return quality_unavailable(market, kind, name)
    return None


def solve_policy(market: Market, kind: str, name: str, values: Mapping) -> SolvedPolicy:
    """Solve one policy of ``kind`` with the parameters ``values`` (omitted ones solved for)."""
    return SOLVERS[kind](market, name, values)


def solve_policies(
    market: Market,
    specs: Sequence[Mapping],
    progress: Callable[[str], None] | None = None,
) -> tuple[tuple[SolvedPolicy, ...], tuple[Unavailable, ...]]:
    """Solve ``specs`` (mappings with ``kind``, ``name`` and the kind's parameters) in order.

    Returns the solved policies and those that do not apply. ``progress(name)`` is called
    before each policy is solved.
    """
    solved, skipped = [], []
    for i, spec in enumerate(specs):
        kind, name = spec["kind"], spec["name"]
        values = {k: v for k, v in spec.items() if k not in ("kind", "name")}
        why = unavailable(market, kind, name)
        if why is not None:
            skipped.append(why)
            continue
        if progress is not None:
            progress(name)
        try:
            solved.append(solve_policy(market, kind, name, values))
        except (ArithmeticError, ValueError, RuntimeError, LinAlgError) as exc:
            raise PolicyFailure(f"policies[{i}] ({kind} {name!r}): {_said(exc)}") from exc
    return tuple(solved), tuple(skipped)


class PolicyFailure(ValueError):
    """A policy the solver could not solve, named by its place in the scenario."""


def _said(exc: Exception) -> str:
    """What went wrong, in one line (the solver's own words, prefixed when they are terse)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    ours = isinstance(exc, ValueError) and not isinstance(exc, LinAlgError)
    return text if ours else f"the solver failed ({text})"
