r"""Who gains from each policy, by urgency (``who_gains.png``).

Three panels, payment, utility :math:`e^{-r\tau}\mathbf 1\{\tau \le T\}` and surplus (utility
− payment), against urgency :math:`r`. Lines are the solver's exact curves by type
(``menus.parquet``'s ``payment`` and ``utility``; surplus = utility − payment); points are the
means of the simulated users (``users.parquet``) in equal-width bins of urgency
(:func:`urgency_bins`), with 95% intervals (± 1.96 standard errors of the bin mean), spread
across each bin so that policies with equal means stay visible. A strip under each panel
counts the users in each bin. Each policy has one colour and one marker in every figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from market.plots.run_data import RunData, load_run
from market.plots.style import (
    URGENCY_LABEL,
    figure,
    payment_unit,
    policy_colors,
    policy_markers,
    save_png,
)

__all__ = ["PANELS", "bin_edges", "bin_means", "draw_who_gains", "plot_who_gains", "urgency_bins"]

#: Most and fewest urgency bins, and the users a bin should hold.
MAX_BINS = 30
MIN_BINS = 5
USERS_PER_BIN = 200
#: The panels: column and title.
PANELS = (
    ("payment", "Payment"),
    ("utility", r"Utility $e^{-r\tau}\,\mathbf{1}\{\tau \leq T\}$"),
    ("surplus", "Surplus: utility − payment"),
)
#: Share of a bin's width over which the policies' points are spread.
DODGE = 0.7
#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054


def urgency_bins(users: int) -> int:
    """Bins for ``users`` users per policy: about :data:`USERS_PER_BIN` each, between
    :data:`MIN_BINS` and :data:`MAX_BINS`."""
    return int(np.clip(users // USERS_PER_BIN, MIN_BINS, MAX_BINS))


def bin_edges(run: RunData) -> np.ndarray:
    """Equal-width bins (:func:`urgency_bins`) over the urgencies of the menus and users."""
    lo = min(float(run.menus.urgency.min()), float(run.users.urgency.min()))
    hi = max(float(run.menus.urgency.max()), float(run.users.urgency.max()))
    if hi <= lo:  # a single urgency: bins of width 1/bins around it
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, urgency_bins(run.users.user.nunique()) + 1)


def bin_means(run: RunData, column: str) -> pd.DataFrame:
    """Per policy and urgency bin (:func:`bin_edges`): ``bin``, ``center``, ``mean``, ``half``
    (of the 95% interval) and ``count`` of ``users.parquet``'s ``column``; empty bins are
    left out. The last bin includes its right edge."""
    edges = bin_edges(run)
    users = run.users
    index = np.searchsorted(edges, users.urgency.to_numpy(), side="right") - 1
    index = np.clip(index, 0, edges.size - 2)
    stats = users.assign(bin=index).groupby(["policy", "bin"])[column]
    stats = stats.agg(["mean", "std", "count"]).reset_index()
    stats["center"] = (edges[stats.bin] + edges[stats.bin + 1]) / 2
    stats["half"] = Z95 * stats["std"].fillna(0.0) / np.sqrt(stats["count"])
    return stats


def draw_who_gains(run_dir: str | os.PathLike | RunData) -> Figure:
    """The figure of ``who_gains.png`` (see the module's docstring).

    Artists carry a ``gid``: ``"solver:<column>:<policy>"`` for the lines,
    ``"simulated:<column>:<policy>"`` for the points (an error-bar container) and
    ``"count:<column>"`` for the counts under each panel.
    """
    run = load_run(run_dir)
    colors, markers = policy_colors(run.names), policy_markers(run.names)
    edges = bin_edges(run)
    unit = payment_unit(run.units, short=True)
    layout = {"nrows": 2, "ncols": 3, "sharex": "col", "height_ratios": [4, 1]}
    with figure(None, width=15, height=7.8, **layout) as (fig, axes):
        for ax, strip, (column, title) in zip(axes[0], axes[1], PANELS, strict=True):
            stats = bin_means(run, column)
            for k, name in enumerate(run.names):
                _solver_line(ax, run, name, column, colors[name])
                shift = (k + 0.5) / len(run.names) - 0.5
                s = stats[stats.policy == name]
                ax.errorbar(
                    s.center + DODGE * shift * np.diff(edges)[0],
                    s["mean"],
                    yerr=s.half,
                    linestyle="none",
                    color=colors[name],
                    marker=markers[name],
                    markersize=5,
                    markeredgecolor="black",
                    markeredgewidth=0.4,
                    elinewidth=0.7,
                    alpha=0.8,
                    gid=f"simulated:{column}:{name}",
                )
            ax.axhline(0.0, color="grey", linewidth=0.8)
            ax.set_title(title)
            ax.set_ylabel(f"per user ({unit})")
            _counts(strip, run, edges, column)
        fig.legend(
            handles=_handles(run, colors, markers),
            loc="outside lower center",
            ncols=min(len(run.names) + 2, 4),
            fontsize="small",
        )
        fig.suptitle(
            "Who gains, by urgency: lines are the solver's curves by type, points the means of"
            f" the simulated users in {edges.size - 1} urgency bins"
        )
    return fig


def _solver_line(ax, run: RunData, name: str, column: str, color) -> None:
    """The solver's curve of ``column`` against urgency (``menus.parquet``)."""
    rows = run.menus[run.menus.policy == name].sort_values("urgency")
    values = rows.utility - rows.payment if column == "surplus" else rows[column]
    ax.plot(rows.urgency, values, color=color, linewidth=1.8, gid=f"solver:{column}:{name}")


def _counts(ax, run: RunData, edges: np.ndarray, column: str) -> None:
    """Users per urgency bin (each policy's users; the run's policies share them)."""
    first = run.users[run.users.policy == run.names[0]]
    counts = np.histogram(first.urgency, bins=edges)[0]
    ax.stairs(counts, edges, fill=True, color="grey", alpha=0.5, gid=f"count:{column}")
    ax.set_ylabel("users")
    ax.set_ylim(0, 1.15 * max(counts.max(), 1))
    ax.set_xlabel(URGENCY_LABEL)


def _handles(run: RunData, colors, markers) -> list:
    """One handle per policy (line and marker), then what lines, points and strips mean."""
    handles = [
        Line2D(
            [],
            [],
            color=colors[n],
            marker=markers[n],
            markeredgecolor="black",
            markeredgewidth=0.4,
            linewidth=1.8,
            label=n,
        )
        for n in run.names
    ]
    users = run.users.user.nunique()
    return handles + [
        Line2D([], [], color="black", linewidth=1.8, label="line: solver, expected by type"),
        Line2D(
            [],
            [],
            color="black",
            marker="o",
            linestyle="none",
            label="point: mean of simulated users in a bin, 95% interval",
        ),
        Line2D(
            [],
            [],
            color="grey",
            linewidth=6,
            alpha=0.5,
            label=f"strip: users per bin, of {users:,} per policy (the same users)",
        ),
    ]


def plot_who_gains(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``who_gains.png`` (:func:`draw_who_gains`) into the run folder; returns its path."""
    run = load_run(run_dir)
    return [save_png(draw_who_gains(run), run.path / "who_gains.png")]
