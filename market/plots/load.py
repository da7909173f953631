"""The load of a congested market over time (``load.png``): a run with a finite capacity.

Three panels share the clock axis, one line per policy, from ``timeseries.parquet``: the
utilisation of the capacity over each sampling interval (tokens served over capacity times
interval), the mean slowdown of the conversations that ended in it (wall-clock over
uncongested time, log scale; 1 means no congestion), and the conversations open. A run
without a capacity has no such columns and no figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from market.plots.run_data import RunData, load_run
from market.plots.style import figure, policy_colors, save_png, time_unit

__all__ = ["LOAD_COLUMNS", "draw_load", "plot_load"]

#: The columns of ``timeseries.parquet`` a congested run has.
LOAD_COLUMNS = ("utilisation", "slowdown")


def _series(run: RunData) -> pd.DataFrame | None:
    path = run.path / "timeseries.parquet"
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the time series ({exc})") from None
    if not set(LOAD_COLUMNS) <= set(frame.columns):
        return None
    return frame


def draw_load(run_dir: str | os.PathLike | RunData) -> Figure | None:
    """The figure of ``load.png``, or None for a run without a finite capacity.

    Lines carry the ``gid`` ``"load:<panel>:<policy>"``.
    """
    run = load_run(run_dir)
    frame = _series(run)
    if frame is None:
        return None
    colors = policy_colors(run.names)
    with figure(None, width=11, height=8, nrows=3, sharex=True) as (fig, axes):
        for name in run.names:
            rows = frame[frame.policy == name]
            t = rows.time.to_numpy()
            for ax, column, panel in (
                (axes[0], rows.utilisation, "utilisation"),
                (axes[1], rows.slowdown, "slowdown"),
                (axes[2], rows.conversations_open, "open"),
            ):
                y = column.to_numpy(dtype=float)
                ax.plot(t, y, color=colors[name], label=name, gid=f"load:{panel}:{name}")
        axes[0].set_ylim(0, 1.05)
        axes[0].set_ylabel("utilisation of capacity")
        axes[0].axhline(1.0, color="black", linestyle="--", linewidth=1.0)
        slow = frame.slowdown.to_numpy(dtype=float)
        if np.isfinite(slow).any() and np.nanmax(slow) > 1:
            axes[1].set_yscale("log")
        axes[1].set_ylabel("mean slowdown\n(wall-clock / uncongested)")
        axes[2].set_ylabel("conversations open")
        axes[2].set_xlabel(f"clock time ({time_unit(run.units)})")
        axes[0].legend(loc="lower right", fontsize="small")
        axes[0].set_title("Load of the shared capacity over time")
    return fig


def plot_load(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``load.png`` into the run folder (nothing without a finite capacity)."""
    run = load_run(run_dir)
    fig = draw_load(run)
    return [] if fig is None else [save_png(fig, run.path / "load.png")]
