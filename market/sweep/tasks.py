"""One task of a sweep (a point and a replication): solve, and optionally simulate.

What a worker receives is plain data (:class:`Task`: the point's scenario as a dictionary, the
policies, a seed), never a file path, so workers need nothing of the sweep on their disk. What
it returns is plain records, one per policy (:data:`SOLVED_COLUMNS`, and with a simulation
:data:`SIMULATED_COLUMNS`); the client writes them.

Randomness: the task ``(point, replication)`` of a sweep with root seed ``root`` simulates with
:func:`task_seed`, drawn from ``numpy.random.SeedSequence(root, spawn_key=(point,
replication))`` (NEP 19, SPEC 7), so its result does not depend on which worker ran it, in
what order, or how many workers there were.

A task whose scenario the solver cannot deliver (a :class:`ValueError` of the package, or any
other failure of the numbers) returns one record per policy with ``status = "failed"`` and
the reason, and the sweep goes on; a policy that does not apply has ``status =
"unavailable"``.
"""

from __future__ import annotations

import math
import platform
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SIMULATED_COLUMNS",
    "SOLVED_COLUMNS",
    "Task",
    "run_chunk",
    "run_task",
    "task_seed",
    "worker_versions",
]

#: Per policy, from the solver: expected per-user values.
SOLVED_COLUMNS = (
    "first_best_welfare",
    "revenue",
    "cost",
    "profit",
    "user_surplus",
    "welfare",
    "share_of_first_best",
    "participation",
    "tokens_per_user",
)
#: Per policy, from a simulation: realised means per user and their standard errors.
SIMULATED_COLUMNS = (
    "realized_revenue",
    "realized_revenue_se",
    "realized_cost",
    "realized_cost_se",
    "realized_profit",
    "realized_profit_se",
    "realized_user_surplus",
    "realized_user_surplus_se",
    "realized_welfare",
    "realized_welfare_se",
    "realized_participation",
    "realized_participation_se",
    "realized_tokens_per_user",
    "realized_tokens_per_user_se",
)


@dataclass(frozen=True)
class Task:
    """One task: everything a worker needs, as plain picklable data.

    Attributes
    ----------
    point, replication : int
        Which task.
    scenario : dict
        The point's scenario (the schema of a scenario file).
    source : str
        How errors name the point (``"point 3"``: the same wherever the sweep file was).
    policies : tuple of str or None
        Names or kinds of the policies to solve (None: all of the scenario's).
    seed : int
        :func:`task_seed` of the task.
    simulate : bool
        Whether to simulate the solved policies.
    users : int or None
        Simulated users (None: the scenario's ``market.users``).
    engine : str
        ``"vectorized"`` or ``"abm"``.
    """

    point: int
    replication: int
    scenario: dict
    source: str
    policies: tuple[str, ...] | None
    seed: int
    simulate: bool = False
    users: int | None = None
    engine: str = "vectorized"


def task_seed(root: int, point: int, replication: int) -> int:
    """The seed of task ``(point, replication)``: 63 bits of
    ``SeedSequence(root, spawn_key=(point, replication))``."""
    seq = np.random.SeedSequence(root, spawn_key=(point, replication))
    return int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_chunk(tasks: Sequence[Task], on_task: Callable[[int], object] | None = None) -> list:
    """Run tasks one after the other (a chunk: one Dask task); the records of all of them.

    The replications of a point in one chunk share one solution (solving is deterministic,
    so this changes no number). ``on_task(1)`` is called after each task (in-process
    progress). Warnings are silenced, as the command line's error guard does.
    """
    rows: list[dict] = []
    solved: dict[int, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for task in tasks:
            rows.extend(run_task(task, solved))
            if on_task is not None:
                on_task(1)
    return rows


def run_task(task: Task, solved: dict | None = None) -> list[dict]:
    """The records of one task, one per selected policy, in the scenario's order.

    ``solved`` (point -> solution or exception), if given, keeps the point's solution for
    the next replication.
    """
    from market.api import select_specs, simulate, solve
    from market.scenario import scenario_from_dict

    scenario = scenario_from_dict(task.scenario, task.source, text="")
    specs = select_specs(scenario, task.policies)
    solved = {} if solved is None else solved
    if task.point not in solved:
        solved.clear()  # one point at a time
        try:
            solved[task.point] = solve(scenario, task.policies)
        except Exception as exc:  # noqa: BLE001 - recorded with the reason; the sweep goes on
            solved[task.point] = exc
    solution = solved[task.point]
    run = None
    try:
        if isinstance(solution, Exception):
            raise solution
        if task.simulate:
            run = simulate(
                scenario, task.users, task.seed, task.engine, task.policies, solution=solution
            )
    except Exception as exc:  # noqa: BLE001 - recorded with the reason; the sweep goes on
        return [_row(task, s["name"], s["kind"], "failed", _reason(exc)) for s in specs]
    per_token = float(getattr(getattr(scenario, "costs", None), "per_token", 0.0))
    return _records(task, specs, solution, run, per_token)


def _records(task: Task, specs, solution, run, per_token: float = 0.0) -> list[dict]:
    solved = {p.name: p for p in solution.policies}
    simulated = {} if run is None else {item.policy.name: item for item in run.runs}
    missing = {u.name: u.reason for u in solution.unavailable}
    rows = []
    for spec in specs:
        name, kind = spec["name"], spec["kind"]
        if name not in solved:
            rows.append(_row(task, name, kind, "unavailable", missing.get(name, "not solved")))
            continue
        row = _row(task, name, kind, "ok", None)
        row.update(_solved(solution, solved[name], per_token))
        if name in simulated:
            row.update(_realized(simulated[name]))
        rows.append(row)
    return rows


def _reason(exc: Exception) -> str:
    text = "; ".join(str(exc).splitlines())
    return text if isinstance(exc, ValueError) else f"internal error ({type(exc).__name__}: {text})"


def _row(task: Task, name: str, kind: str, status: str, reason: str | None) -> dict:
    row = {
        "point": task.point,
        "replication": task.replication,
        "policy": name,
        "kind": kind,
        "status": status,
        "reason": reason,
    }
    row.update(dict.fromkeys(SOLVED_COLUMNS, math.nan))
    if task.simulate:
        row["seed"] = task.seed
        row["users"] = None
        row.update(dict.fromkeys(SIMULATED_COLUMNS, math.nan))
    return row


def _solved(solution, policy, per_token: float = 0.0) -> dict:
    """The solver's expected values per user. ``cost`` is the platform's token cost, :math:`c`
    (``costs.per_token``) times the tokens served (Section 2.1), and ``profit`` = revenue -
    cost: the solver's ``token_cost`` and ``profit`` when it reports them, else computed
    from ``per_token`` (zero cost, profit = revenue, without a ``[costs]`` table)."""
    fb = float(solution.first_best_welfare)
    revenue = float(policy.revenue)
    cost = float(getattr(policy, "token_cost", per_token * float(policy.tokens_per_user)))
    return {
        "first_best_welfare": fb,
        "revenue": revenue,
        "cost": cost,
        "profit": float(getattr(policy, "profit", revenue - cost)),
        "user_surplus": float(policy.user_surplus),
        "welfare": float(policy.welfare),
        "share_of_first_best": float(policy.welfare) / fb if fb > 0 else math.nan,
        "participation": float(policy.participation),
        "tokens_per_user": float(policy.tokens_per_user),
    }


def _realized(item) -> dict:
    from market.sim.stats import Estimate

    real, outcomes = item.realized, item.outcomes
    bought = Estimate.of(np.asarray(outcomes.bought, dtype=float))
    tokens = Estimate.of(np.asarray(outcomes.tokens, dtype=float))
    cost = getattr(real, "cost", None) or Estimate(0.0, 0.0)
    profit = getattr(real, "profit", None) or real.revenue
    return {
        "users": int(real.users),
        "realized_revenue": real.revenue.mean,
        "realized_revenue_se": real.revenue.se,
        "realized_cost": cost.mean,
        "realized_cost_se": cost.se,
        "realized_profit": profit.mean,
        "realized_profit_se": profit.se,
        "realized_user_surplus": real.user_surplus.mean,
        "realized_user_surplus_se": real.user_surplus.se,
        "realized_welfare": real.welfare.mean,
        "realized_welfare_se": real.welfare.se,
        "realized_participation": bought.mean,
        "realized_participation_se": bought.se,
        "realized_tokens_per_user": tokens.mean,
        "realized_tokens_per_user_se": tokens.se,
    }


def worker_versions() -> dict[str, str]:
    """The versions that decide a task's numbers (compared between client and workers)."""
    from importlib import metadata

    import scipy

    import market

    return {
        "token-market": market.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pydantic": metadata.version("pydantic"),
        "python": platform.python_version(),
    }
