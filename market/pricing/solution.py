"""Every policy of a scenario, solved: what :func:`market.solve` returns."""

from __future__ import annotations

import math
from dataclasses import dataclass

from market.pricing.solved import SolvedPolicy, Unavailable
from market.pricing.units import Units

__all__ = ["FRAME_COLUMNS", "Solution"]

#: Columns of :meth:`Solution.to_frame`.
FRAME_COLUMNS = (
    "policy",
    "kind",
    "revenue",
    "user_surplus",
    "welfare",
    "share_of_first_best",
    "participation",
    "tokens_per_user",
    "cost",
    "profit",
)


@dataclass(frozen=True, eq=False)
class Solution:
    """The solved policies of one scenario, with the deployed greedy model and the first best.

    Attributes
    ----------
    scenario : str
        The scenario's name.
    first_best_welfare : float
        Welfare when every type gets the greedy model unlimited, per user.
    policies : tuple of SolvedPolicy
        In the scenario's order (or the default set's).
    unavailable : tuple of Unavailable
        Policies of the scenario that do not apply to it, each with the reason.
    switch_times, stationary_rate, expected_time :
        The greedy model: when each new group of states joins, the breakthrough rate of the
        stationary phase, :math:`E[\\tau]`.
    units : Units or None
        The scenario's ``[units]``: :meth:`to_dict` adds each policy's numbers in them
        (``"in_units"``) and :meth:`to_frame` converts with ``in_units=True``.
    """

    scenario: str
    first_best_welfare: float
    policies: tuple[SolvedPolicy, ...]
    unavailable: tuple[Unavailable, ...] = ()
    switch_times: tuple[float, ...] = ()
    stationary_rate: float = math.nan
    expected_time: float = math.nan
    units: Units | None = None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.policies]

    def __getitem__(self, name: str) -> SolvedPolicy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        for item in self.unavailable:
            if item.name == name:
                raise KeyError(f"policy {name!r} does not apply to this scenario: {item.reason}")
        raise KeyError(f"no policy {name!r}; available: {', '.join(map(repr, self.names))}")

    def __iter__(self):
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def share_of_first_best(self, policy: SolvedPolicy) -> float:
        fb = self.first_best_welfare
        return policy.welfare / fb if fb > 0 else math.nan

    def rows(self) -> list[dict]:
        """One plain record per solved policy, in the columns of :data:`FRAME_COLUMNS`."""
        return [
            {
                "policy": p.name,
                "kind": p.kind,
                "revenue": p.revenue,
                "cost": p.token_cost,
                "profit": p.profit,
                "user_surplus": p.user_surplus,
                "welfare": p.welfare,
                "share_of_first_best": self.share_of_first_best(p),
                "participation": p.participation,
                "tokens_per_user": p.tokens_per_user,
            }
            for p in self.policies
        ]

    def to_frame(self, in_units: bool = False):
        """A :class:`pandas.DataFrame`, one row per solved policy (columns
        :data:`FRAME_COLUMNS`); the policies that do not apply are in :attr:`unavailable`.

        With ``in_units`` (and the scenario's ``[units]``), money is in the currency and tokens
        are real tokens; ``frame.attrs["units"]`` says which.
        """
        import pandas as pd  # lazy: pandas loads pyarrow, which `market solve` never needs

        rows = self.rows()
        if in_units:
            if self.units is None:
                raise ValueError("in_units = True: the scenario has no [units] table")
            rows = [{**row, **self.units.convert(row)} for row in rows]
        frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
        if in_units:
            frame.attrs["units"] = self.units.describe()
        return frame

    def to_dict(self) -> dict:
        """JSON-friendly, every number finite (unlimited token caps are ``null``)."""
        return {
            "scenario": self.scenario,
            "model": {
                "switch_times": [float(t) for t in self.switch_times],
                "stationary_rate": float(self.stationary_rate),
                "expected_time": float(self.expected_time),
            },
            "first_best_welfare": float(self.first_best_welfare),
            "policies": [self._policy_record(p) for p in self.policies],
            "unavailable": [u.to_dict() for u in self.unavailable],
            **({} if self.units is None else {"units": self.units.describe()}),
        }

    def _policy_record(self, policy: SolvedPolicy) -> dict:
        record = {**policy.to_dict(), "share_of_first_best": self.share_of_first_best(policy)}
        if self.units is not None:
            record["in_units"] = self._in_units(policy, record)
        return record

    def _in_units(self, policy: SolvedPolicy, record: dict) -> dict:
        """The policy's money in the currency and its token caps in real tokens."""
        units = self.units
        plans = [
            {
                "plan": plan,
                "urgency": None if urgency != urgency else urgency,
                "token_cap": None if math.isinf(cap) else units.tokens(cap),
                "price": units.money(price),
                "per_token": units.per_token(per_token),
            }
            for plan, urgency, cap, price, per_token, _ in policy._plan_records()
        ]
        return {**units.convert(record), "plans": plans}
