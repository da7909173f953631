"""From per-user outcomes to Arrow tables: the edge where plain arrays become files.

- :func:`users_table`: one row per user (an Arrow table, written to ``users.parquet``);
- :func:`timeseries_table`: the DataCollector's records, with a policy column;
- :func:`menu_table`: a policy's expected menu rows (``menus.parquet``);
- :func:`stopping_law_table`: a deployed model's stopping density and survival on a grid of
  times (``stopping_law.parquet``).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy.optimize import brentq

from market.sim.offer import NO_PLAN, SCHEDULE_PLAN, Outcomes, Timeseries

__all__ = [
    "MENUS_SCHEMA",
    "PLANS_SCHEMA",
    "SCHEDULE_ITEM",
    "STOPPING_LAW_LEVEL",
    "STOPPING_LAW_POINTS",
    "STOPPING_LAW_SCHEMA",
    "USERS_SCHEMA",
    "menu_table",
    "plans_table",
    "stopping_law_table",
    "stopping_quantile",
    "timeseries_table",
    "users_table",
]

#: The ``item`` of a user served by a type-indexed schedule (its ``report`` says which item).
SCHEDULE_ITEM = "schedule"

#: Columns of ``users.parquet``.
USERS_SCHEMA = pa.schema(
    [
        ("user", pa.int64()),
        ("policy", pa.string()),
        ("arrival", pa.float64()),
        ("urgency", pa.float64()),
        ("item", pa.string()),  # plan name; "schedule" for a schedule menu; null: left
        ("report", pa.float64()),  # reported type under a schedule menu, else null
        ("cap_tokens", pa.float64()),  # s chi T; null for unlimited; 0 if nothing bought
        ("price", pa.float64()),  # paid up front
        ("speed", pa.float64()),  # fraction of the token rate the plan runs at
        ("per_token", pa.float64()),  # price per token used
        ("state", pa.int64()),
        ("learned", pa.bool_()),
        ("learned_state", pa.int64()),  # null if not learned
        ("breakthrough_time", pa.float64()),  # tau / speed: when it learns with no cap
        ("conversation_time", pa.float64()),  # min(breakthrough_time, cap); 0 if nothing bought
        ("model_time", pa.float64()),  # speed * conversation_time: the model's own time used
        ("wall_time", pa.float64()),  # clock time from start to end (> conversation_time
        # when a finite capacity is shared); 0 if nothing bought
        ("tokens", pa.float64()),
        ("utility", pa.float64()),
        ("payment", pa.float64()),
        ("surplus", pa.float64()),
    ]
)


#: Columns of ``menus.parquet``: each policy's expected menu, one row per sampled urgency.
MENUS_SCHEMA = pa.schema(
    [
        ("policy", pa.string()),
        ("kind", pa.string()),
        ("urgency", pa.float64()),
        ("token_cap", pa.float64()),  # chi T(r); null for unlimited
        ("price", pa.float64()),
        ("served", pa.bool_()),
        ("utility", pa.float64()),  # expected utility of the type's own choice (solver)
        ("payment", pa.float64()),  # expected payment: price + per-token charge (solver)
        ("tokens", pa.float64()),  # expected tokens used (solver)
    ]
)

#: Columns of ``plans.parquet``: what each policy sells (``SolvedPolicy.plans()``).
PLANS_SCHEMA = pa.schema(
    [
        ("policy", pa.string()),
        ("plan", pa.string()),  # null for a sampled schedule
        ("urgency", pa.float64()),  # the type a schedule's row is meant for; null for plans
        ("token_cap", pa.float64()),  # tokens; null for unlimited
        ("price", pa.float64()),
        ("per_token", pa.float64()),
        ("speed", pa.float64()),
    ]
)

#: Columns of ``stopping_law.parquet``: the stopping law of each policy's deployed model.
STOPPING_LAW_SCHEMA = pa.schema(
    [
        ("policy", pa.string()),
        ("t", pa.float64()),
        ("density", pa.float64()),  # f(t), the density of tau
        ("survival", pa.float64()),  # P(tau > t)
    ]
)

#: The stopping law is tabulated at this many times from 0 to its STOPPING_LAW_LEVEL quantile.
STOPPING_LAW_POINTS = 400
STOPPING_LAW_LEVEL = 0.999


def users_table(outcomes: Outcomes, policy: str, breakthrough: NDArray) -> pa.Table:
    """One row per user, in the columns of :data:`USERS_SCHEMA`.

    ``breakthrough`` is each user's breakthrough time :math:`\\tau/s` under the deployed model
    at its plan's speed (:attr:`market.sim.offer.Offer.breakthrough`), drawn for every user,
    buyer or not; the conversation lasts :math:`\\min(\\tau/s, T)`.
    """
    n = outcomes.users
    breakthrough = np.asarray(breakthrough, dtype=float)
    if breakthrough.shape != (n,):
        raise ValueError(f"breakthrough has shape {breakthrough.shape}; expected ({n},)")
    names = [*outcomes.item_names, SCHEDULE_ITEM]
    codes = np.where(outcomes.plan == SCHEDULE_PLAN, len(names) - 1, outcomes.plan)
    item = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), mask=outcomes.plan == NO_PLAN), pa.array(names)
    ).cast(pa.string())
    cap = outcomes.cap
    columns = {
        "user": pa.array(np.arange(n, dtype=np.int64)),
        "policy": _repeat(policy, n),
        "arrival": pa.array(outcomes.arrival),
        "urgency": pa.array(outcomes.urgency),
        "item": item,
        "report": pa.array(outcomes.report, mask=np.isnan(outcomes.report)),
        "cap_tokens": pa.array(outcomes.token_rate * outcomes.speed * cap, mask=np.isinf(cap)),
        "price": pa.array(outcomes.price),
        "speed": pa.array(outcomes.speed),
        "per_token": pa.array(outcomes.per_token),
        "state": pa.array(outcomes.state.astype(np.int64)),
        "learned": pa.array(outcomes.learned),
        "learned_state": pa.array(outcomes.learned_state.astype(np.int64), mask=~outcomes.learned),
        "breakthrough_time": pa.array(breakthrough),
        "conversation_time": pa.array(outcomes.time),
        "model_time": pa.array(outcomes.model_time),
        "wall_time": pa.array(outcomes.time if outcomes.wall_time is None else outcomes.wall_time),
        "tokens": pa.array(outcomes.tokens),
        "utility": pa.array(outcomes.utility),
        "payment": pa.array(outcomes.payment),
        "surplus": pa.array(outcomes.surplus),
    }
    return pa.Table.from_pydict(columns, schema=USERS_SCHEMA)


def _repeat(value: str, n: int) -> pa.Array:
    """``n`` copies of a string, without ``n`` Python objects."""
    indices = pa.array(np.zeros(n, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array([value])).cast(pa.string())


def timeseries_table(series: Timeseries, policy: str) -> pa.Table:
    """The time series of one policy, with a ``policy`` column."""
    data = series.as_dict()
    columns = {"policy": _repeat(policy, data["time"].size)}
    columns.update({name: pa.array(values) for name, values in data.items()})
    return pa.table(columns)


def menu_table(policy) -> pa.Table:
    """A solved policy's menu at the report grid (its ``rows``) with each type's expected
    utility, payment and tokens (``by_type``), one row per type."""
    rows = list(policy.rows)
    caps = [row.token_cap for row in rows]
    outcome = policy.by_type(np.array([row.urgency for row in rows]))
    columns = {
        "policy": [policy.name] * len(rows),
        "kind": [policy.kind] * len(rows),
        "urgency": [float(row.urgency) for row in rows],
        "token_cap": [None if c is None or not math.isfinite(c) else float(c) for c in caps],
        "price": [float(row.price) for row in rows],
        "served": [bool(row.served) for row in rows],
        "utility": outcome["utility"],
        "payment": outcome["payment"],
        "tokens": outcome["tokens"],
    }
    return pa.Table.from_pydict(columns, schema=MENUS_SCHEMA)


def plans_table(policy) -> pa.Table:
    """What a solved policy sells (:meth:`SolvedPolicy.plans`), one row per plan."""
    records = policy._plan_records()
    columns = {
        "policy": [policy.name] * len(records),
        "plan": [r[0] for r in records],
        "urgency": [None if r[1] != r[1] else float(r[1]) for r in records],
        "token_cap": [None if math.isinf(r[2]) else float(r[2]) for r in records],
        "price": [float(r[3]) for r in records],
        "per_token": [float(r[4]) for r in records],
        "speed": [float(r[5]) for r in records],
    }
    return pa.Table.from_pydict(columns, schema=PLANS_SCHEMA)


def stopping_quantile(model, level: float = STOPPING_LAW_LEVEL) -> float:
    """The ``level`` quantile of :math:`\\tau`: the time ``t`` with ``model.survival(t)``
    equal to ``1 - level`` (bracketed by doubling from :math:`E[\\tau]`, then Brent)."""
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r}: expected a number in (0, 1)")
    target = 1.0 - level

    def excess(t: float) -> float:
        return float(model.survival(np.array([t]))[0]) - target

    hi = max(float(model.expected_time), 1e-12)
    for _ in range(200):
        if excess(hi) <= 0:
            break
        hi *= 2.0
    else:
        raise ValueError(f"survival stays above {target:g}: no {level:g} quantile found")
    return float(brentq(excess, 0.0, hi, xtol=1e-12 * hi))


def stopping_law_table(
    policy: str, model, points: int = STOPPING_LAW_POINTS, level: float = STOPPING_LAW_LEVEL
) -> pa.Table:
    """Density and survival of the deployed model's :math:`\\tau` at ``points`` evenly spaced
    times from 0 to its ``level`` quantile (``model`` needs ``density`` and ``survival``)."""
    t = np.linspace(0.0, stopping_quantile(model, level), points)
    columns = {
        "policy": _repeat(policy, points),
        "t": pa.array(t),
        "density": pa.array(np.asarray(model.density(t), dtype=float)),
        "survival": pa.array(np.asarray(model.survival(t), dtype=float)),
    }
    return pa.Table.from_pydict(columns, schema=STOPPING_LAW_SCHEMA)
