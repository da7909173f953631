"""From per-user outcomes to tables and summaries: the edge where plain arrays become files.

- :func:`users_table`: one row per user (an Arrow table, written to ``users.parquet``);
- :func:`timeseries_table`: the DataCollector's records, with a policy column;
- :func:`summarize`: realised revenue, user surplus and welfare per user with standard errors.

Welfare is the users' utility: the paper's cost of tokens is zero (Section 2.1), so welfare is
revenue plus user surplus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from market.sim.outcomes import NO_PLAN, SCHEDULE_PLAN, Outcomes, Timeseries

__all__ = [
    "CONFIDENCE_Z",
    "SCHEDULE_ITEM",
    "USERS_SCHEMA",
    "Estimate",
    "Realized",
    "summarize",
    "timeseries_table",
    "users_table",
]

#: Two-sided 95% normal quantile, for confidence intervals mean ± z·se.
CONFIDENCE_Z = 1.959963984540054

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
        ("conversation_time", pa.float64()),
        ("tokens", pa.float64()),
        ("utility", pa.float64()),
        ("payment", pa.float64()),
        ("surplus", pa.float64()),
    ]
)


def users_table(outcomes: Outcomes, policy: str) -> pa.Table:
    """One row per user, in the columns of :data:`USERS_SCHEMA`."""
    n = outcomes.users
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
        "conversation_time": pa.array(outcomes.time),
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


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error (NaN for a single observation, 0 for values
    that are all equal)."""

    mean: float
    se: float

    @classmethod
    def of(cls, values: np.ndarray) -> Estimate:
        n = values.size
        if n < 2:
            se = math.nan
        elif np.all(values == values[0]):
            se = 0.0  # not the rounding noise of std()
        else:
            se = float(values.std(ddof=1) / math.sqrt(n))
        return cls(float(values.mean()), se)

    @property
    def ci95(self) -> tuple[float, float]:
        """The 95% normal interval mean ± 1.96 se."""
        half = CONFIDENCE_Z * self.se
        return (self.mean - half, self.mean + half)

    def to_dict(self) -> dict:
        lo, hi = self.ci95
        return {"mean": self.mean, "se": _num(self.se), "ci95": [_num(lo), _num(hi)]}


@dataclass(frozen=True)
class Realized:
    """Realised outcomes of one policy, per user (over every user, buyer or not)."""

    users: int
    revenue: Estimate
    user_surplus: Estimate
    welfare: Estimate
    learned_share: float
    mean_tokens: float

    def to_dict(self) -> dict:
        return {
            "users": self.users,
            "revenue": self.revenue.to_dict(),
            "user_surplus": self.user_surplus.to_dict(),
            "welfare": self.welfare.to_dict(),
            "learned_share": self.learned_share,
            "mean_tokens": self.mean_tokens,
        }


def summarize(outcomes: Outcomes) -> Realized:
    """Means and standard errors of payment, surplus and utility per user."""
    return Realized(
        users=outcomes.users,
        revenue=Estimate.of(outcomes.payment),
        user_surplus=Estimate.of(outcomes.surplus),
        welfare=Estimate.of(outcomes.utility),
        learned_share=float(outcomes.learned.mean()),
        mean_tokens=float(outcomes.tokens.mean()),
    )


def _num(x: float) -> float | None:
    """A JSON-safe number: None for NaN or infinity."""
    return float(x) if math.isfinite(x) else None
