"""Learning curves of a platform that learns its market (``learning.png``).

Two panels, one colour per run (label):

- *what it believes*: each parameter of the fitted family, the estimate made after each period
  (solid, markers), and the true value (dashed, same colour) when the true law is of the
  fitted family;
- *what it costs*: the relative regret of each period's posted menu,
  ``(optimal - expected) / optimal`` under the true law, on a log scale (values below
  :data:`REGRET_FLOOR`, i.e. the solver's precision, are drawn at the floor).

The table is ``learning.parquet`` (one row per period, :data:`LEARNING_COLUMNS` and one column
per parameter); the truth is read from ``summary.json`` under ``"learning": {"truth": ...}``
when present. This module reads files and draws; it imports nothing from the simulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from market.plots.style import figure, policy_colors, save_png

__all__ = ["LEARNING_COLUMNS", "REGRET_FLOOR", "draw_learning", "plot_learning"]

#: The columns of ``learning.parquet`` besides one per parameter of the family.
LEARNING_COLUMNS = (
    "period",
    "users",
    "family",
    "estimate",
    "log_likelihood",
    "participation",
    "realized_revenue",
    "realized_revenue_se",
    "expected_revenue",
    "optimal_revenue",
    "regret",
    "relative_regret",
)
#: Relative regrets below this (the solvers agree to about 1e-7 of the revenue) are drawn here.
REGRET_FLOOR = 1e-7
_MARKERS = ("o", "s", "^", "D", "v", "P")


def parameter_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a learning table that hold the family's parameters."""
    return [c for c in frame.columns if c not in LEARNING_COLUMNS]


def _truth_of(truth, label: str) -> Mapping | None:
    """The true law for ``label``: ``truth`` itself when it is a law (has ``distribution``),
    else ``truth[label]``."""
    if truth is None:
        return None
    if "distribution" in truth:
        return truth
    return truth.get(label)


def _describe(law: Mapping | None) -> str:
    """A law in a few characters: ``beta(a=2, b=5)``, ``0.8 TN(1.15, 0.07) + 0.2 ...``."""
    if not law:
        return "unknown"
    kind = law.get("distribution")
    if kind == "mixture":
        parts = law.get("components", ())
        return " + ".join(f"{c.get('weight', 1):.3g} {_describe(c)}" for c in parts)
    if kind == "truncnorm":
        return f"TN({law['mean']:.3g}, {law['sd']:.3g})"
    params = ", ".join(
        f"{k}={v:.3g}" for k, v in law.items() if k not in ("distribution", "low", "high", "weight")
    )
    return f"{kind}({params})"


def _estimates(ax, label: str, frame: pd.DataFrame, color, law: Mapping | None) -> None:
    family = str(frame["family"].iloc[0])
    for k, name in enumerate(parameter_columns(frame)):
        ax.plot(
            frame.period, frame[name], color=color, marker=_MARKERS[k % len(_MARKERS)],
            markersize=4, gid=f"learning:estimate:{label}:{name}",
        )  # fmt: skip
        if law is not None and law.get("distribution") == family and name in law:
            ax.axhline(
                float(law[name]), color=color, linestyle="--", linewidth=1.2,
                gid=f"learning:truth:{label}:{name}",
            )  # fmt: skip


def _handles(frames: Mapping[str, pd.DataFrame], truth, colors) -> list:
    """One entry per run (colour: its fitted family and the truth), then one per parameter
    (marker)."""
    handles = []
    for label, frame in frames.items():
        none = "" if parameter_columns(frame) else f" ({frame['family'].iloc[0]}: no parameter)"
        text = f"{label}{none}; truth: {_describe(_truth_of(truth, label))}"
        handles.append(Line2D([], [], color=colors[label], marker="o", markersize=4, label=text))
    names = dict.fromkeys(n for f in frames.values() for n in parameter_columns(f))
    for k, name in enumerate(names):
        marker = _MARKERS[k % len(_MARKERS)]
        handles.append(Line2D([], [], color="black", marker=marker, linestyle="", label=name))
    return handles


def _percent(y: float, _pos=None) -> str:
    return f"{100 * y:.3g}%"


def draw_learning(frames: Mapping[str, pd.DataFrame], truth: Mapping | None = None) -> Figure:
    """The figure of ``learning.png`` (module docstring).

    Parameters
    ----------
    frames : mapping of str to DataFrame
        One learning table per run, by label.
    truth : mapping, optional
        The true urgency law as a record (``{"distribution": "beta", "a": 2, ...}``) for every
        run, or a mapping from label to such a record.
    """
    if not frames:
        raise ValueError("draw_learning: expected at least one learning table")
    colors = policy_colors(list(frames))
    height = 5.0 + 0.3 * len(frames)
    with figure(None, width=12, height=height, ncols=2) as (fig, (left, right)):
        for label, frame in frames.items():
            frame = frame.sort_values("period")
            _estimates(left, label, frame, colors[label], _truth_of(truth, label))
            regret = np.maximum(frame.relative_regret.to_numpy(dtype=float), REGRET_FLOOR)
            right.plot(
                frame.period, regret, color=colors[label], marker="o", markersize=4,
                gid=f"learning:regret:{label}",
            )  # fmt: skip
        for ax in (left, right):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel("period")
        left.set_ylabel("estimate after the period")
        left.set_title("What the platform believes (dashed: the truth)")
        right.set_yscale("log")
        right.yaxis.set_major_formatter(FuncFormatter(_percent))
        right.set_xlabel("period")
        right.set_ylabel("relative regret of the posted menu")
        right.set_title(f"What it costs: 1 - expected / optimal revenue (floor {REGRET_FLOOR:g})")
        fig.legend(
            handles=_handles(frames, truth, colors), loc="outside lower center",
            fontsize="small", ncols=1,
        )  # fmt: skip
    return fig


def _read(run_dir: Path) -> tuple[pd.DataFrame, Mapping | None]:
    path = run_dir / "learning.parquet"
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read ({exc})") from None
    missing = [c for c in LEARNING_COLUMNS if c not in frame.columns]
    if missing or frame.empty:
        what = f"missing columns {', '.join(missing)}" if missing else "no rows"
        raise ValueError(f"{path}: {what}")
    summary = run_dir / "summary.json"
    truth = None
    if summary.is_file():
        try:
            truth = json.loads(summary.read_text()).get("learning", {}).get("truth")
        except (OSError, ValueError, AttributeError) as exc:
            raise ValueError(f"{summary}: cannot be read ({exc})") from None
    return frame, truth


def draw_run_learning(run) -> Figure | None:
    """``learning.png`` of a run folder (a :class:`market.plots.run_data.RunData`), or None
    when the run has no learning platform."""
    if not (run.path / "learning.parquet").is_file():
        return None
    frame, truth = _read(run.path)
    return draw_learning({f"{frame['family'].iloc[0]} fit": frame}, truth)


def plot_learning(run_dir: str | os.PathLike) -> list[Path]:
    """Write ``learning.png`` into the run folder if it has ``learning.parquet``; returns the
    paths written (none otherwise)."""
    run_dir = Path(run_dir)
    if not (run_dir / "learning.parquet").is_file():
        return []
    frame, truth = _read(run_dir)
    label = f"{frame['family'].iloc[0]} fit"
    return [save_png(draw_learning({label: frame}, truth), run_dir / "learning.png")]
