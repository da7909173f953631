r"""The pricing policies platforms really sell, each solved for its best parameters.

The platform deploys the greedy model (Definition 1) at the full token rate :math:`\chi`
unless the policy says otherwise (speed tiers, the Section 2.2 families). A user of urgency
:math:`r` values a conversation that ends at :math:`\tau` at :math:`e^{-r\tau}`; payments are
not discounted; users choose as in the market: the plan of largest expected utility minus
expected payment, if it is :math:`\ge 0`, ties to the larger cap. Kinds:

=====================  ========================================================================
``optimal_token_menu`` Theorem 1's menu of token caps and prices (the upper bound).
``flat``               one price for unlimited use (``price``).
``per_token``          pay-as-you-go at ``per_token`` per token; users quit at :math:`T(r, p)`.
``two_part``           a ``fee`` plus ``per_token``.
``tiers``              ``count`` plans of a token cap and a price (``caps``, ``prices``).
``speed_tiers``        ``count`` plans of unlimited tokens at speeds in (0, 1] (``speeds``,
                       ``prices``): a menu of models.
``custom``             ``plans`` written out: ``{name, token_cap, price}``.
``constant_delay``     Section 2.2's best constant-delay menu.
``diffusion``          Section 2.2's best diffusion menu (binary states).
=====================  ========================================================================

Omitted parameters are solved for (revenue-maximising); given ones are kept. Each solution
is a :class:`SolvedPolicy`: the menu users choose from, its expected revenue, user surplus
and welfare per user (integrals over the urgency distribution, with the choice regions found
by root finding), participation and tokens served per user.
"""

from __future__ import annotations

from collections.abc import Mapping

from .kinds import (
    solve_constant_delay,
    solve_custom,
    solve_diffusion,
    solve_flat,
    solve_optimal_token_menu,
    solve_per_token,
    solve_speed_tiers,
    solve_tiers,
    solve_two_part,
)
from .metered import MeteredMenu, quitting_time
from .records import Market, SolvedPolicy
from .regions import Region, choice_regions, menu_outcome
from .spec import KINDS, PARAMETERS, ParsedPolicy, PolicyError, parse_policy

__all__ = [
    "KINDS",
    "PARAMETERS",
    "Market",
    "MeteredMenu",
    "ParsedPolicy",
    "PolicyError",
    "Region",
    "SolvedPolicy",
    "choice_regions",
    "default_policies",
    "menu_outcome",
    "parse_policy",
    "quitting_time",
    "solve_constant_delay",
    "solve_custom",
    "solve_diffusion",
    "solve_flat",
    "solve_optimal_token_menu",
    "solve_per_token",
    "solve_policy",
    "solve_speed_tiers",
    "solve_tiers",
    "solve_two_part",
]


def default_policies(n_states: int) -> list[dict]:
    """The policies compared when a scenario has no ``[[policies]]`` (diffusion: binary only)."""
    specs = [
        {"kind": "optimal_token_menu", "name": "optimal token menu"},
        {"kind": "flat", "name": "flat price"},
        {"kind": "per_token", "name": "per-token price"},
        {"kind": "two_part", "name": "two-part tariff"},
        {"kind": "tiers", "name": "2 tiers", "count": 2},
        {"kind": "tiers", "name": "3 tiers", "count": 3},
        {"kind": "speed_tiers", "name": "2 speed tiers", "count": 2},
        {"kind": "constant_delay", "name": "constant-delay menu"},
    ]
    if n_states == 2:
        specs.append({"kind": "diffusion", "name": "diffusion menu"})
    return specs


def solve_policy(
    spec: Mapping,
    model,
    urgency,
    grid,
    entropy,
    prior,
    token_rate: float,
    index: int | None = None,
) -> SolvedPolicy:
    """Validate and solve one policy.

    Parameters
    ----------
    spec : mapping
        A ``[[policies]]`` table: ``kind``, ``name`` and the kind's parameters.
    model : GreedyModel
        The deployed greedy model at token rate :math:`\\chi` (``token_rate``).
    urgency : UrgencyDistribution
        :math:`G`.
    grid : array_like
        Urgencies at which the menu rows are reported (201 points from low to high).
    entropy, prior, token_rate
        :math:`H`, :math:`\\mu_0`, :math:`\\chi` (for the Section 2.2 families).
    index : int, optional
        The policy's position in the scenario, named in error messages.

    Raises
    ------
    PolicyError
        For an unknown kind or parameter, or a value out of range.
    """
    policy = parse_policy(spec, index=index, n_states=len(prior))
    market = Market(model, urgency, grid)
    v, name = policy.values, policy.name
    match policy.kind:
        case "optimal_token_menu":
            return solve_optimal_token_menu(market, name)
        case "flat":
            return solve_flat(market, v.get("price"), name)
        case "per_token":
            return solve_per_token(market, v.get("per_token"), name)
        case "two_part":
            return solve_two_part(market, v.get("fee"), v.get("per_token"), name)
        case "tiers":
            return solve_tiers(market, v["count"], v.get("caps"), v.get("prices"), name)
        case "speed_tiers":
            return solve_speed_tiers(market, v["count"], v.get("speeds"), v.get("prices"), name)
        case "custom":
            return solve_custom(market, v["plans"], name)
        case "constant_delay":
            return solve_constant_delay(market, entropy, prior, token_rate, name)
        case "diffusion":
            return solve_diffusion(market, entropy, prior, token_rate, name)
    raise AssertionError(policy.kind)  # pragma: no cover
