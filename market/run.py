"""A simulated run (:class:`Run`): what :func:`market.simulate` returns.

It holds the scenario, the solved policies and, per policy, what happened to each simulated
user. Its tables are :class:`pandas.DataFrame` views built on demand; :meth:`Run.save`
writes the run folder (:func:`market.io.runfolder.write_run`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from market.io.tables import timeseries_table, users_table
from market.pricing import Solution
from market.scenario import Scenario

__all__ = ["SUMMARY_COLUMNS", "Run"]

#: Columns of :attr:`Run.summary`.
SUMMARY_COLUMNS = (
    "policy",
    "kind",
    "users",
    "participation",
    "expected_participation",
    "revenue",
    "revenue_se",
    "expected_revenue",
    "cost",
    "cost_se",
    "expected_cost",
    "profit",
    "profit_se",
    "expected_profit",
    "user_surplus",
    "user_surplus_se",
    "expected_user_surplus",
    "welfare",
    "welfare_se",
    "expected_welfare",
    "tokens_per_user",
    "expected_tokens_per_user",
)


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


#: Fields of a comparison row that are money per user, and tokens per user.
_MONEY = (
    "expected_revenue", "revenue_per_user", "revenue_se", "expected_cost", "cost_per_user",
    "expected_profit", "profit_per_user", "profit_se", "expected_user_surplus",
    "user_surplus_per_user", "expected_welfare", "welfare_per_user",
)  # fmt: skip
_TOKENS = ("tokens_per_user", "expected_tokens_per_user")


def _in_units(units, row: dict) -> dict:
    """A comparison row's money in the currency and its tokens as real tokens."""
    out = {k: units.money(row[k]) for k in _MONEY if row.get(k) is not None}
    out.update({k: units.tokens(row[k]) for k in _TOKENS if row.get(k) is not None})
    return out


def _market_record(scenario: Scenario) -> dict:
    """What the simulated market had beyond the paper's: capacity, users' choice, platform."""
    market, users, platform = scenario.market, scenario.users, scenario.platform
    return {
        "capacity": market.capacity,
        "discipline": market.discipline if market.capacity is not None else None,
        "anticipate": market.anticipate,
        "choice": users.choice,
        "temperature": users.temperature,
        "misperception_sd": users.misperception_sd,
        "anticipate_congestion": platform.anticipate_congestion,
    }


def _dynamics_record(item) -> dict:
    """A policy's load (with a finite capacity) and the fixed point of anticipation."""
    out = {}
    series = item.timeseries
    if series.utilisation is not None:
        o = item.outcomes
        ran = o.bought & (o.time > 0)
        slow = o.wall_time[ran] / o.time[ran]
        out["load"] = {
            "mean_utilisation": _num(float(np.nanmean(series.utilisation)))
            if np.isfinite(series.utilisation).any()
            else None,
            "mean_slowdown": _num(float(slow.mean())) if slow.size else None,
            "max_slowdown": _num(float(slow.max())) if slow.size else None,
            "max_open": int(series.conversations_open.max()),
            "mean_wall_time": _num(float(o.wall_time[o.bought].mean())) if o.bought.any() else None,
        }
    if item.settlement is not None:
        out["anticipation"] = item.settlement.to_dict()
    if item.pricing is not None:
        out["congestion_pricing"] = item.pricing.to_dict()
    return out


@dataclass(frozen=True, eq=False)
class Run:
    """Every policy of a scenario simulated on one population (common random numbers).

    ``runs`` holds one :class:`market.sim.engine.PolicyRun` per simulated policy, in order;
    ``learning`` the periods of a learning platform (:class:`market.sim.learning.Learning`,
    None unless the scenario has ``[platform] learning``).
    """

    scenario: Scenario
    solution: Solution
    runs: tuple
    engine: str
    seed: int
    users_count: int
    interval: float
    created: datetime
    command_line: str = ""
    learning: object = None

    @property
    def policies(self) -> tuple:
        """The simulated solved policies, in order."""
        return tuple(item.policy for item in self.runs)

    @property
    def users(self):
        """One row per user and policy, the columns of ``users.parquet``."""
        import pyarrow as pa

        tables = [users_table(r.outcomes, r.policy.name, r.breakthrough) for r in self.runs]
        return pa.concat_tables(tables).to_pandas()

    @property
    def timeseries(self):
        """The market every ``interval`` of clock time, one block of rows per policy."""
        import pyarrow as pa

        tables = [timeseries_table(r.timeseries, r.policy.name) for r in self.runs]
        return pa.concat_tables(tables).to_pandas()

    def summary_rows(self) -> list[dict]:
        """Realised means (and standard errors) beside the solver's expectations."""
        rows = []
        for item in self.runs:
            p, real = item.policy, item.realized
            rows.append(
                {
                    "policy": p.name,
                    "kind": p.kind,
                    "users": real.users,
                    "participation": real.participation,
                    "expected_participation": p.participation,
                    "revenue": real.revenue.mean,
                    "revenue_se": real.revenue.se,
                    "expected_revenue": p.revenue,
                    "cost": real.cost.mean,
                    "cost_se": real.cost.se,
                    "expected_cost": getattr(p, "token_cost", 0.0),
                    "profit": real.profit.mean,
                    "profit_se": real.profit.se,
                    "expected_profit": getattr(p, "profit", p.revenue),
                    "user_surplus": real.user_surplus.mean,
                    "user_surplus_se": real.user_surplus.se,
                    "expected_user_surplus": p.user_surplus,
                    "welfare": real.welfare.mean,
                    "welfare_se": real.welfare.se,
                    "expected_welfare": p.welfare,
                    "tokens_per_user": real.mean_tokens,
                    "expected_tokens_per_user": p.tokens_per_user,
                }
            )
        return rows

    @property
    def summary(self):
        """:meth:`summary_rows` as a :class:`pandas.DataFrame`."""
        import pandas as pd

        return pd.DataFrame(self.summary_rows(), columns=list(SUMMARY_COLUMNS))

    def compare_rows(self) -> list[dict]:
        """The comparison table's rows (JSON-friendly), sorted by expected profit (revenue
        net of the token cost; revenue without one)."""
        fb = self.solution.first_best_welfare
        rows = []
        for item, row in zip(self.runs, self.summary_rows(), strict=True):
            p = item.policy
            rows.append(
                {
                    "name": row["policy"],
                    "kind": row["kind"],
                    "parameters": p.parameters,
                    # The solver's expectations under the names `market solve --json` uses.
                    "revenue": row["expected_revenue"],
                    "cost": row["expected_cost"],
                    "profit": row["expected_profit"],
                    "expected_revenue": row["expected_revenue"],
                    "revenue_per_user": row["revenue"],
                    "revenue_se": _num(row["revenue_se"]),
                    "expected_cost": row["expected_cost"],
                    "cost_per_user": row["cost"],
                    "expected_profit": row["expected_profit"],
                    "profit_per_user": row["profit"],
                    "profit_se": _num(row["profit_se"]),
                    "expected_user_surplus": row["expected_user_surplus"],
                    "user_surplus_per_user": row["user_surplus"],
                    "expected_welfare": row["expected_welfare"],
                    "welfare_per_user": row["welfare"],
                    "share_of_first_best": p.welfare / fb if fb > 0 else None,
                    "participation": row["participation"],
                    "expected_participation": row["expected_participation"],
                    "tokens_per_user": row["tokens_per_user"],
                    "expected_tokens_per_user": row["expected_tokens_per_user"],
                }
            )
        units = self.solution.units
        if units is not None:
            for row in rows:
                row["in_units"] = _in_units(units, row)
        rows.sort(key=lambda row: -row["expected_profit"])  # = revenue without a token cost
        return rows

    def comparison(self, in_units: bool = False):
        """The comparison table as a :class:`pandas.DataFrame` (one row per policy, sorted by
        expected profit; columns ``policy``, ``kind``, expected and realised measures).

        With ``in_units`` (and the scenario's ``[units]``), money is in the currency and
        tokens are real tokens; ``frame.attrs["units"]`` says which.
        """
        import pandas as pd

        units = self.solution.units
        if in_units and units is None:
            raise ValueError("in_units = True: the scenario has no [units] table")
        rows = [{"policy": r.pop("name"), **r} for r in map(dict, self.compare_rows())]
        for row in rows:
            for alias in ("revenue", "cost", "profit"):  # the frame keeps expected_* only
                row.pop(alias)
            row.pop("parameters")
            converted = row.pop("in_units", None)
            if in_units:
                row.update(converted)
        frame = pd.DataFrame(rows)
        if in_units:
            frame.attrs["units"] = units.describe()
        return frame

    def summary_record(self) -> dict:
        """``summary.json``: realised beside expected, per policy."""
        return {
            "scenario": self.scenario.name,
            "engine": self.engine,
            "seed": self.seed,
            "users": self.users_count,
            "first_best_welfare": float(self.solution.first_best_welfare),
            "policies": [
                {
                    "name": r.policy.name,
                    "kind": r.policy.kind,
                    "realized": r.realized.to_dict(),
                    "expected": {
                        "revenue": float(r.policy.revenue),
                        "cost": float(getattr(r.policy, "token_cost", 0.0)),
                        "profit": float(getattr(r.policy, "profit", r.policy.revenue)),
                        "user_surplus": float(r.policy.user_surplus),
                        "welfare": float(r.policy.welfare),
                    },
                    **_dynamics_record(r),
                }
                for r in self.runs
            ],
            "market": _market_record(self.scenario),
            **({} if self.solution.units is None else {"units": self.solution.units.describe()}),
            "unavailable": [u.to_dict() for u in self.solution.unavailable],
            **({} if self.learning is None else {"learning": self.learning.summary()}),
        }

    def save(
        self, root: str | os.PathLike = "runs", figures: bool = False, progress=None, stale=None
    ) -> Path:
        """Write the run folder under ``root`` (atomically); with ``figures``, the figures of
        :func:`market.plots.plot_run` go into it before it is put in place (``progress(name)``
        is called after each). ``stale(paths)`` hears of the temporary folders of killed
        processes that were removed."""
        from market.io.runfolder import write_run

        extra = None
        if figures:

            def extra(folder: Path) -> None:
                from market.plots import plot_run

                plot_run(folder, progress=progress)

        return write_run(self, root, extra, stale)
