"""A sweep folder as its figures read it (the files of ``market sweep``), and the curves drawn.

:func:`load_sweep_run` reads ``metadata.json`` (the axes, the design, the replications, the
baseline) and ``results.parquet``. :func:`measure_values` gives one measure of one policy per
point and replication; :func:`axis_curve` averages it along one axis (over the other axes, and
over the points of a bin for a continuous axis of a Latin hypercube or a Sobol' design), with
the 95% interval of the mean over replications; :func:`heat` averages it on two axes.

A folder that is not a finished sweep raises :class:`ValueError` with one line naming the path.
This module reads files only: nothing of the solver, the simulator or the sweep engine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy.stats import t as student_t

__all__ = [
    "MEASURES",
    "SweepData",
    "axis_curve",
    "groups",
    "heat",
    "is_sweep_folder",
    "load_sweep_run",
    "measure_values",
]

#: Measures drawn: label, expected column, realised column and its standard error column.
MEASURES = {
    "revenue": ("revenue per user", "revenue", "realized_revenue", "realized_revenue_se"),
    "profit": (
        "profit per user (revenue - token cost)",
        "profit",
        "realized_profit",
        "realized_profit_se",
    ),  # fmt: skip
    "share_of_first_best": ("share of first-best welfare", "share_of_first_best", None, None),
    "edge": ("revenue / baseline's revenue", "revenue", "realized_revenue", None),
}
#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: A numeric axis with more distinct values than this is binned (Latin hypercube, Sobol').
MAX_DISCRETE = 30
#: Bins of a binned axis.
BINS = 12


def is_sweep_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by ``market sweep`` (finished or not)."""
    path = Path(path)
    return path.is_dir() and (path / "points.parquet").is_file()


@dataclass(frozen=True, eq=False)
class SweepData:
    """The parts of a sweep folder the figures use."""

    path: Path
    name: str
    design: str
    axes: tuple[dict, ...]
    replications: int
    simulated: bool
    baseline: str | None
    results: pd.DataFrame
    description: str = ""

    @property
    def costly(self) -> bool:
        """Whether tokens cost something at some point (then profit differs from revenue)."""
        return "cost" in self.results.columns and bool((self.results.cost.fillna(0) != 0).any())

    @property
    def policies(self) -> list[str]:
        """Policy names in the sweep's order."""
        return list(dict.fromkeys(self.results.policy))


def load_sweep_run(path: str | os.PathLike | SweepData) -> SweepData:
    """Read and check a finished sweep folder (a :class:`SweepData` is returned unchanged)."""
    if isinstance(path, SweepData):
        return path
    path = Path(path)
    if not is_sweep_folder(path):
        raise ValueError(f"{path}: not a sweep folder (no points.parquet)")
    try:
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path / 'metadata.json'}: not readable JSON ({exc})") from None
    if meta.get("status") != "complete" or not (path / "results.parquet").is_file():
        raise ValueError(f"{path}: the sweep is not finished; complete it with "
                         f"`market sweep --resume {path}`")  # fmt: skip
    try:
        results = pq.read_table(path / "results.parquet").to_pandas()
        axes = tuple({"field": a["field"], "scale": a["scale"], "type": a["type"]}
                     for a in meta["axes"])  # fmt: skip
    except (KeyError, TypeError, OSError, ValueError) as exc:
        raise ValueError(f"{path}: a damaged sweep folder ({type(exc).__name__}: {exc})") from None
    missing = [a["field"] for a in axes if a["field"] not in results.columns]
    if missing:
        raise ValueError(f"{path / 'results.parquet'}: missing axis column(s) {', '.join(missing)}")
    simulated = "realized_revenue" in results.columns
    data = SweepData(path, str(meta.get("name", path.name)), str(meta.get("design", "grid")),
                     axes, int(meta.get("replications", 1)), simulated, None, results,
                     str(meta.get("description") or ""))  # fmt: skip
    return _with_baseline(data, meta.get("baseline"))


def _with_baseline(data: SweepData, wanted: str | None) -> SweepData:
    if wanted is None:
        return data
    kinds = data.results.drop_duplicates("policy").set_index("policy").kind
    names = [n for n in data.policies if n == wanted] or [
        n for n in data.policies if kinds[n] == wanted
    ]
    baseline = names[0] if len(names) == 1 else None
    return SweepData(**{**data.__dict__, "baseline": baseline})


def measure_values(data: SweepData, policy: str, measure: str) -> pd.DataFrame:
    """Per point and replication of ``policy``: ``expected``, ``realized`` and ``se`` of the
    measure (NaN where unknown) with the axis columns; ``edge`` divides by the baseline's."""
    rows = data.results[data.results.policy == policy].set_index(["point", "replication"])
    _, exp_col, real_col, se_col = MEASURES[measure]
    out = rows[[a["field"] for a in data.axes]].copy()
    out["expected"] = rows[exp_col].astype(float)
    out["realized"] = rows[real_col].astype(float) if data.simulated and real_col else np.nan
    out["se"] = rows[se_col].astype(float) if data.simulated and se_col else np.nan
    if measure == "share_of_first_best" and data.simulated:
        out["realized"] = rows.realized_welfare / rows.first_best_welfare
        out["se"] = rows.realized_welfare_se / rows.first_best_welfare
    if measure == "edge":
        base = data.results[data.results.policy == data.baseline].set_index(
            ["point", "replication"]
        )
        out["expected"] = out.expected / base.revenue.reindex(out.index)
        if data.simulated:
            out["realized"] = out.realized / base.realized_revenue.reindex(out.index)
    return out.reset_index()


def groups(data: SweepData, field: str, values: pd.Series) -> tuple[pd.Series, list, bool]:
    """Each value's group along an axis, the groups' x positions and whether they are numeric.

    Discrete axes group by value; a numeric axis with more than :data:`MAX_DISCRETE` distinct
    values is cut into :data:`BINS` bins (evenly in log for a log axis), placed at their
    points' mean (geometric mean on a log axis). Non-numeric values are categories.
    """
    axis = next(a for a in data.axes if a["field"] == field)
    numeric = axis["type"] in ("int", "float")
    distinct = pd.unique(values)
    if not numeric or len(distinct) <= MAX_DISCRETE:
        order = sorted(distinct) if numeric else list(dict.fromkeys(values))
        index = {v: i for i, v in enumerate(order)}
        return values.map(index), order, numeric
    x = np.log(values.astype(float)) if axis["scale"] == "log" else values.astype(float)
    edges = np.linspace(x.min(), x.max(), BINS + 1)
    group = pd.Series(np.clip(np.searchsorted(edges, x, side="right") - 1, 0, BINS - 1),
                      index=values.index)  # fmt: skip
    centres = x.groupby(group).mean()
    centres = np.exp(centres) if axis["scale"] == "log" else centres
    codes = {g: i for i, g in enumerate(centres.index)}
    return group.map(codes), [float(c) for c in centres], True


def axis_curve(data: SweepData, policy: str, measure: str, field: str) -> pd.DataFrame:
    """Along one axis: ``x``, ``expected`` (mean over the other axes), ``realized`` and the
    95% interval ``low``, ``high`` of its mean over replications (Student's t with R - 1
    degrees of freedom; with one replication, normal from the simulated means' standard
    errors)."""
    values = measure_values(data, policy, measure)
    code, xs, _ = groups(data, field, values[field])
    values = values.assign(group=code.to_numpy())
    expected = values.groupby("group").expected.mean()
    per_rep = values.groupby(["group", "replication"]).realized.mean().unstack()
    realized = per_rep.mean(axis=1)
    reps = per_rep.notna().sum(axis=1)
    if not data.simulated:
        half = realized * np.nan
    elif data.replications >= 2:  # Student's t: a few replications give a rough sd
        quantile = student_t.ppf(0.975, np.maximum(reps - 1, 1))
        half = quantile * per_rep.std(axis=1, ddof=1) / np.sqrt(reps)
    else:
        count = values.groupby("group").se.count()
        half = Z95 * np.sqrt(values.groupby("group").se.apply(lambda s: (s**2).sum())) / count
    frame = pd.DataFrame({"expected": expected, "realized": realized, "half": half})
    frame["x"] = [xs[g] for g in frame.index]
    frame["low"], frame["high"] = frame.realized - frame.half, frame.realized + frame.half
    return frame.reset_index(drop=True)[["x", "expected", "realized", "low", "high"]]


def heat(data: SweepData, policy: str, measure: str, fields: tuple[str, str]):
    """The mean expected measure on two axes: a matrix (rows: the second axis's groups,
    columns: the first's) and the two axes' group positions."""
    values = measure_values(data, policy, measure)
    cx, xs, _ = groups(data, fields[0], values[fields[0]])
    cy, ys, _ = groups(data, fields[1], values[fields[1]])
    frame = values.assign(gx=cx.to_numpy(), gy=cy.to_numpy())
    table = frame.groupby(["gy", "gx"]).expected.mean().unstack()
    matrix = table.reindex(index=range(len(ys)), columns=range(len(xs))).to_numpy(dtype=float)
    return matrix, xs, ys
