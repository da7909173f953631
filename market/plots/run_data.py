"""A run folder as the figures read it, checked once (the files of :mod:`market.io.runfolder`).

:func:`load_run` reads ``summary.json``, ``users.parquet`` (only the columns the figures use),
``menus.parquet``, ``plans.parquet`` and ``stopping_law.parquet``. A missing or malformed
folder raises :class:`ValueError` with one line naming the path and what is missing or wrong.

``summary.json`` may carry a ``units`` object, ``{"currency": "USD", "tokens_per_unit": 1000,
"time": "s"}`` (every key optional), naming the units of the axes (:class:`Units`); without it
payments are in units of the value of a solved task, tokens are counted as they are and time
is the model's clock.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

__all__ = ["RUN_FILES", "Estimate", "PolicySummary", "RunData", "Units", "load_run"]

#: Columns the figures read from each table of a run folder.
USERS_COLUMNS = (
    "user",
    "policy",
    "urgency",
    "speed",
    "breakthrough_time",
    "tokens",
    "utility",
    "payment",
    "surplus",
)
MENUS_COLUMNS = (
    "policy",
    "kind",
    "urgency",
    "token_cap",
    "price",
    "served",
    "utility",
    "payment",
    "tokens",
)
PLANS_COLUMNS = ("policy", "plan", "urgency", "token_cap", "price", "per_token", "speed")
STOPPING_LAW_COLUMNS = ("policy", "t", "density", "survival")

#: The files of a run folder the figures need.
RUN_FILES = (
    "summary.json",
    "users.parquet",
    "menus.parquet",
    "plans.parquet",
    "stopping_law.parquet",
)

#: The measures of summary.json, in the order of the welfare decomposition.
MEASURES = ("revenue", "user_surplus", "welfare")


@dataclass(frozen=True)
class Units:
    """Units of the axes (``summary.json``'s optional ``units``; None: the model's own).

    Attributes
    ----------
    currency : str or None
        Unit of prices and payments; None: the value of a solved task is 1.
    tokens_per_unit : float
        Tokens in one unit of the token columns (1: tokens as they are).
    time : str or None
        Unit of time; None: the model's clock.
    value : float
        What one unit of the payment columns is worth in ``currency`` (the scenario's
        ``[units] value``, a solved task's worth): axes are labelled "units of 0.5 USD".
    """

    currency: str | None = None
    tokens_per_unit: float = 1.0
    time: str | None = None
    value: float = 1.0


@dataclass(frozen=True)
class Estimate:
    """A realised mean per user and its standard error (NaN if unknown)."""

    mean: float
    se: float


@dataclass(frozen=True)
class PolicySummary:
    """One policy of ``summary.json``: expected and realised measures per user."""

    name: str
    kind: str
    expected: dict[str, float]
    realized: dict[str, Estimate]


@dataclass(frozen=True, eq=False)
class RunData:
    """The parts of a run folder the figures use (see :func:`load_run`)."""

    path: Path
    seed: int
    first_best_welfare: float
    policies: tuple[PolicySummary, ...]
    users: pd.DataFrame
    menus: pd.DataFrame
    plans: pd.DataFrame
    stopping_law: pd.DataFrame
    units: Units = Units()

    @property
    def names(self) -> list[str]:
        """Policy names, in the run's order."""
        return [p.name for p in self.policies]


def load_run(run_dir: str | os.PathLike | RunData) -> RunData:
    """Read and check a run folder (a :class:`RunData` is returned unchanged).

    Raises
    ------
    ValueError
        One line naming the path: not a directory, a file missing, a column missing, a
        damaged file, or tables that disagree with ``summary.json`` on the policies.
    """
    if isinstance(run_dir, RunData):
        return run_dir
    path = Path(run_dir)
    if path.is_file():
        raise ValueError(f"{path}: not a run folder (a file, not a directory)")
    if not path.is_dir():
        raise ValueError(f"{path}: not a run folder (no such directory)")
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise ValueError(f"{path}: not a complete run folder: missing {', '.join(missing)}")
    seed, first_best, policies, units = _read_summary(path / "summary.json")
    users = _read_table(path / "users.parquet", USERS_COLUMNS)
    menus = _read_table(path / "menus.parquet", MENUS_COLUMNS)
    plans = _read_table(path / "plans.parquet", PLANS_COLUMNS)
    stopping = _read_table(path / "stopping_law.parquet", STOPPING_LAW_COLUMNS)
    names = [p.name for p in policies]
    for table, file in ((users, "users.parquet"), (plans, "plans.parquet")):
        absent = [n for n in names if n not in set(table.policy)]
        if absent:
            raise ValueError(f"{path / file}: no rows of policy {', '.join(absent)}")
    for table, file in (
        (users, "users.parquet"),
        (menus, "menus.parquet"),
        (plans, "plans.parquet"),
    ):
        extra = sorted(set(table.policy) - set(names))
        if extra:
            raise ValueError(f"{path / file}: policy {', '.join(extra)} not in summary.json")
    return RunData(path, seed, first_best, policies, users, menus, plans, stopping, units)


def _read_table(file: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        schema = pq.read_schema(file)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ValueError(f"{file}: not a readable parquet file ({type(exc).__name__})") from exc
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise ValueError(f"{file}: missing column(s) {', '.join(missing)}")
    table = pq.read_table(file, columns=list(columns)).to_pandas()
    table["policy"] = table["policy"].astype(str)
    return table


def _read_summary(file: Path) -> tuple[int, float, tuple[PolicySummary, ...], Units]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{file}: not valid JSON ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object")
    for key in ("seed", "first_best_welfare", "policies"):
        if key not in data:
            raise ValueError(f"{file}: missing key {key!r}")
    if not isinstance(data["seed"], int) or data["seed"] < 0:
        raise ValueError(f"{file}: seed = {data['seed']!r}: expected an integer >= 0")
    if not isinstance(data["policies"], list) or not data["policies"]:
        raise ValueError(f"{file}: policies = {data['policies']!r}: expected a non-empty list")
    try:
        first_best = float(data["first_best_welfare"])
        policies = tuple(_policy(p) for p in data["policies"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{file}: malformed policy entry ({type(exc).__name__}: {exc})") from exc
    if not math.isfinite(first_best) or first_best <= 0:
        raise ValueError(f"{file}: first_best_welfare = {first_best!r}: expected a number > 0")
    return data["seed"], first_best, policies, _units(file, data.get("units"))


def _units(file: Path, entry) -> Units:
    """The optional ``units`` object of ``summary.json`` (absent: :class:`Units` defaults)."""
    if entry is None:
        return Units()
    if not isinstance(entry, dict):
        raise ValueError(f"{file}: units = {entry!r}: expected an object")
    for key in ("currency", "time"):
        if not isinstance(entry.get(key, ""), str):
            raise ValueError(f"{file}: units.{key} = {entry[key]!r}: expected a string")
    per_unit = entry.get("tokens_per_unit", 1.0)
    if (
        isinstance(per_unit, bool)
        or not isinstance(per_unit, int | float)
        or not 0 < per_unit < math.inf
    ):
        raise ValueError(f"{file}: units.tokens_per_unit = {per_unit!r}: expected a number > 0")
    value = entry.get("value", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{file}: units.value = {value!r}: expected a number > 0")
    return Units(
        entry.get("currency") or None, float(per_unit), entry.get("time") or None, float(value)
    )


def _policy(entry: dict) -> PolicySummary:
    def estimate(measure: str) -> Estimate:
        value = entry["realized"][measure]
        se = value.get("se")
        return Estimate(float(value["mean"]), float("nan") if se is None else float(se))

    return PolicySummary(
        name=str(entry["name"]),
        kind=str(entry["kind"]),
        expected={m: float(entry["expected"][m]) for m in MEASURES},
        realized={m: estimate(m) for m in MEASURES},
    )
