"""Solving the settings (``market.solve``), remembered, and the numbers the mechanism view shows.

:func:`solve` runs in the dashboard's background thread: it never raises, it returns a
:class:`Solved` holding the solution or the problems (one line each: a solver that cannot
deliver consistent numbers says so through ``ScenarioError``). The last solutions are kept,
so going back to earlier settings is instant. The table's rows, the optimal menu and the
stopping law are computed here from what the public API returns, as plain records.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from market.dashboard.settings import problem_of
from market.dashboard.units import Units

__all__ = [
    "Solved",
    "comparison_rows",
    "cost_per_token",
    "menu_records",
    "optimal_policy",
    "solve",
    "stopping_records",
]

#: Solutions remembered (by the settings' key).
CACHE_SIZE = 32
#: Points of the stopping law's curves.
LAW_POINTS = 200
#: The stopping law is drawn until its survival falls below this.
LAW_TAIL = 1e-3

_cache: OrderedDict[str, Solved] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Solved:
    """What solving one set of settings gave: the solution, or the problems (one line each).

    ``scenario`` is the validated scenario solved; ``seconds`` the time the solver took (0
    when remembered).
    """

    key: str
    scenario: object
    solution: object | None
    problems: tuple[str, ...] = ()
    seconds: float = 0.0


def solve(key: str, scenario) -> Solved:
    """``market.solve(scenario)``, remembered by ``key``; never raises."""
    import market as mk

    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            hit = _cache[key]
            return Solved(key, hit.scenario, hit.solution, hit.problems, 0.0)
    start = time.perf_counter()
    try:
        solved = Solved(key, scenario, mk.solve(scenario), (), time.perf_counter() - start)
    except mk.ScenarioError as exc:
        lines = tuple(problem_of(line).text for line in exc.problems)
        solved = Solved(key, scenario, None, lines, time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
        line = " ".join(f"the solver failed: {type(exc).__name__}: {exc}".split())
        solved = Solved(key, scenario, None, (line,), time.perf_counter() - start)
    with _lock:
        _cache[key] = solved
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return solved


def _num(x: float, digits: int = 7) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else "–"


def cost_per_token(scenario) -> float:
    """The scenario's cost per model token :math:`c` (``[costs] per_token``; 0 without it)."""
    costs = getattr(scenario, "costs", None)
    return float(getattr(costs, "per_token", 0.0) or 0.0)


def comparison_rows(solution, units: Units) -> list[dict[str, str]]:
    """One row per solved policy, in the solution's order: the numbers as shown (seven
    significant digits, shares in percent), money in the display currency. ``cost`` is the
    platform's token cost per user (:math:`c` times the tokens served) and ``profit`` revenue
    minus it (Section 2.1)."""
    best = solution.first_best_welfare
    rows = []
    for p in solution.policies:
        share = p.welfare / best if best > 0 else math.nan
        rows.append(
            {
                "policy": p.name,
                "kind": p.kind,
                "revenue": _num(units.money(p.revenue)),
                "cost": _num(units.money(p.token_cost)),
                "profit": _num(units.money(p.profit)),
                "user_surplus": _num(units.money(p.user_surplus)),
                "welfare": _num(units.money(p.welfare)),
                "share_of_first_best": f"{100 * share:.1f}%" if math.isfinite(share) else "–",
                "participation": f"{100 * p.participation:.1f}%",
                "tokens_per_user": _num(units.tokens(p.tokens_per_user), 4),
            }
        )
    return rows


def optimal_policy(solution):
    """The optimal token menu of the solution (or its first policy)."""
    for p in solution.policies:
        if p.kind == "optimal_token_menu":
            return p
    return solution.policies[0] if solution.policies else None


def menu_records(policy, units: Units) -> tuple[list[dict], list[dict]]:
    """The menu as each type meets it: ``[{urgency, token_cap, price}]`` (``token_cap`` None
    for unlimited; types who buy nothing left out), and the pooled intervals
    ``[{r_from, r_to, token_cap}]``."""
    points = [
        {
            "urgency": float(row.urgency),
            "token_cap": None if row.token_cap is None else units.tokens(float(row.token_cap)),
            "price": units.money(float(row.price)),
        }
        for row in policy.rows
        if row.served
    ]
    pooled = [
        {
            "r_from": float(a),
            "r_to": float(b),
            "token_cap": None if not math.isfinite(c) else units.tokens(float(c)),
        }
        for a, b, c in policy.pooled
    ]
    return points, pooled


def stopping_records(policy) -> tuple[list[dict], float]:
    """The stopping law of the deployed model: ``[{time, density, survival}]`` from 0 until
    the survival falls below :data:`LAW_TAIL`, and :math:`E[\\tau]`."""
    model = policy.model
    mean = float(model.expected_time)
    end = mean if math.isfinite(mean) and mean > 0 else 1.0
    for _ in range(60):
        if float(np.asarray(model.survival(np.array([end])))[0]) < LAW_TAIL:
            break
        end *= 1.5
    t = np.linspace(0.0, end, LAW_POINTS)
    density = np.asarray(model.density(t), dtype=float)
    survival = np.asarray(model.survival(t), dtype=float)
    records = [
        {"time": float(a), "density": float(b), "survival": float(c)}
        for a, b, c in zip(t, density, survival, strict=True)
        if math.isfinite(b) and math.isfinite(c)
    ]
    return records, mean
