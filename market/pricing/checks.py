"""What must hold of every solved policy, checked before any number leaves the tool.

Every number is finite; prices, fees and per-token prices are >= 0; expected revenue, user
surplus and welfare per user satisfy ``0 <= revenue <= welfare <= first best`` and ``surplus >=
0`` (users buy only what is worth its price); participation lies in [0, 1]; and no policy
earns more than Theorem 1's token menu (all within :data:`TOLERANCE`). :func:`problems` lists
what fails, one line per policy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["TOLERANCE", "problems"]

#: Slack of the inequalities (the solver's numbers are accurate to ~1e-12; utilities <= 1).
TOLERANCE = 1e-9


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


def _policy_problems(p, first_best: float, optimal: float | None) -> list[str]:
    out = []
    measures = {
        "revenue": p.revenue,
        "user_surplus": p.user_surplus,
        "welfare": p.welfare,
        "participation": p.participation,
        "tokens_per_user": p.tokens_per_user,
    }
    for field, value in measures.items():
        if not _finite(float(value)):
            out.append(f"{field} = {value}: not a finite number")
    if out:
        return out
    tol = TOLERANCE
    if p.revenue < -tol or p.user_surplus < -tol or p.tokens_per_user < -tol:
        out.append(f"revenue {p.revenue:.6g}, user surplus {p.user_surplus:.6g}: expected >= 0")
    if p.revenue > p.welfare + tol or p.welfare > first_best + tol:
        out.append(
            f"revenue {p.revenue:.12g} <= welfare {p.welfare:.12g} <= first best "
            f"{first_best:.12g} fails"
        )
    if not -tol <= p.participation <= 1 + tol:
        out.append(f"participation = {p.participation:.6g}: expected a share in [0, 1]")
    if optimal is not None and p.revenue > optimal + tol:
        out.append(f"revenue {p.revenue:.12g} exceeds the optimal token menu's {optimal:.12g}")
    numbers = [*_numbers(p.parameters), *(row.price for row in p.rows)]
    numbers += [row.token_cap for row in p.rows if row.token_cap is not None]
    if not all(_finite(x) for x in numbers):
        out.append("a price or a token cap is not a finite number")
    elif any(x < -tol for x in numbers):
        out.append("a price or a token cap is negative")
    return out


def problems(policies: Sequence, first_best: float, optimal: float | None) -> list[tuple]:
    """``(policy, [what fails, ...])`` for each solved policy that breaks what must hold."""
    if not (_finite(float(first_best)) and first_best >= -TOLERANCE):
        return [(None, [f"first-best welfare = {first_best}: not a finite number >= 0"])]
    found = []
    for policy in policies:
        lines = _policy_problems(policy, first_best, optimal)
        if lines:
            found.append((policy, lines))
    return found
