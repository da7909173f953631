"""Figures of a sweep folder written by ``market sweep`` (``market plot SWEEP_DIR``).

- ``sweep_axes.png`` (:func:`draw_sweep_axes`): one row per axis, its values against revenue
  per user and the share of first-best welfare (and, with a ``baseline`` policy, revenue over
  the baseline's), one line per policy: the solver's expectation (solid, markers), and when
  simulated the realised mean (dashed) with the 95% interval of its mean over replications
  (band). With several axes, each point of a curve is the mean over the other axes. The
  title is the sweep's ``description`` when it has one (the question the sweep answers).
  When tokens cost something (``costs.per_token`` > 0 at some point), profit per user
  (revenue - token cost) is drawn too, after revenue.
- ``sweep_heatmap.png`` (:func:`draw_sweep_heatmap`, two axes or more): the expected measures
  on the first two axes, one column per policy, one colour scale per measure.

:func:`plot_sweep` writes both into the folder and returns their paths. Lines carry the
``gid`` ``"sweep:<measure>:<field>:<policy>:<expected|realized>"`` and images
``"heatmap:<measure>:<policy>"`` (the tests read the numbers back from the artists).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator, PercentFormatter

from market.plots.style import figure, policy_colors, policy_markers, save_png
from market.plots.sweep_data import (
    MEASURES,
    SweepData,
    axis_curve,
    heat,
    load_sweep_run,
)

__all__ = ["SWEEP_FIGURE_FILES", "draw_sweep_axes", "draw_sweep_heatmap", "plot_sweep"]

#: The files :func:`plot_sweep` writes (the heatmap only with two axes or more).
SWEEP_FIGURE_FILES = ("sweep_axes.png", "sweep_heatmap.png")
#: Axes drawn at most (one row each), and cells annotated with their value at most.
MAX_ROWS = 12
MAX_ANNOTATED = 64
#: Tick labels shown at most along a heatmap's side.
MAX_TICKS = 10


def _measures(data: SweepData) -> list[str]:
    """Revenue (and profit, when tokens cost something), the share of first best, and the
    edge over the baseline."""
    base = (
        ["revenue", "profit", "share_of_first_best"]
        if data.costly
        else ["revenue", "share_of_first_best"]
    )
    return [*base, "edge"] if data.baseline is not None else base


def _label(data: SweepData, measure: str) -> str:
    if measure == "edge":
        return f"revenue / revenue of {data.baseline}"
    return MEASURES[measure][0]


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 18 else text[:15] + "..."


def _axis_panel(ax, data: SweepData, field: str, measure: str, colors, markers) -> None:
    axis = next(a for a in data.axes if a["field"] == field)
    numeric = axis["type"] in ("int", "float")
    seen: set[float] = set()
    for policy in data.policies:
        if measure == "edge" and policy == data.baseline:
            continue
        curve = axis_curve(data, policy, measure, field)
        if curve.expected.isna().all():
            continue
        x = curve.x.to_numpy(dtype=float) if numeric else np.arange(len(curve))
        seen.update(x.tolist())
        gid = f"sweep:{measure}:{field}:{policy}"
        ax.plot(x, curve.expected, color=colors[policy], marker=markers[policy], markersize=4,
                linewidth=1.6, gid=f"{gid}:expected")  # fmt: skip
        if data.simulated and curve.realized.notna().any():
            ax.plot(x, curve.realized, color=colors[policy], linestyle="--", linewidth=1.0,
                    gid=f"{gid}:realized")  # fmt: skip
            ax.fill_between(x, curve.low, curve.high, color=colors[policy], alpha=0.2,
                            linewidth=0, gid=f"{gid}:band")  # fmt: skip
        if not numeric:
            ax.set_xticks(x, [_short(v) for v in curve.x], rotation=30, ha="right")
    if numeric:
        _numeric_ticks(ax, sorted(seen), axis["scale"] == "log")
    if measure == "share_of_first_best":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if measure == "edge":
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlabel(field)
    ax.set_ylabel(_label(data, measure))


def _numeric_ticks(ax, xs: list[float], log: bool) -> None:
    """A log scale for a log axis; ticks at the values when there are few, written plainly."""
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    if len(xs) <= MAX_TICKS:
        ax.set_xticks(xs, [_short(float(x)) for x in xs])
        ax.xaxis.set_minor_locator(NullLocator())
    elif log:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))


def draw_sweep_axes(sweep_dir: str | os.PathLike | SweepData) -> Figure:
    """The figure of ``sweep_axes.png`` (see the module's docstring)."""
    data = load_sweep_run(sweep_dir)
    fields = [a["field"] for a in data.axes][:MAX_ROWS]
    measures = _measures(data)
    colors, markers = policy_colors(data.policies), policy_markers(data.policies)
    width, height = 5.0 * len(measures), 3.2 * len(fields) + 1.4
    with figure(None, width=width, height=height, nrows=len(fields), ncols=len(measures),
                squeeze=False) as (fig, axes):  # fmt: skip
        for row, field in enumerate(fields):
            for col, measure in enumerate(measures):
                _axis_panel(axes[row, col], data, field, measure, colors, markers)
        over = " (each point: the mean over the other axes)" if len(data.axes) > 1 else ""
        title = f"{data.name}: revenue and share of first best along each axis{over}"
        if data.description:  # the sweep's question, when its file states one
            title = f"{data.name}: {data.description}{over}"
        fig.suptitle(title)
        fig.legend(handles=_legend(data, colors, markers), loc="outside lower center",
                   ncols=min(len(data.policies) + 2, 5), fontsize="small")  # fmt: skip
    return fig


def _legend(data: SweepData, colors, markers) -> list:
    handles = [Line2D([], [], color=colors[p], marker=markers[p], label=p) for p in data.policies]
    handles.append(Line2D([], [], color="black", label="expected (solver)"))
    if data.simulated:
        what = "95% interval over replications" if data.replications > 1 else "95% interval"
        handles.append(Line2D([], [], color="black", linestyle="--",
                              label=f"realized mean (band: {what})"))  # fmt: skip
    return handles


def _ticks(ax, xs: list, ys: list) -> None:
    for positions, values, setter in ((xs, xs, ax.set_xticks), (ys, ys, ax.set_yticks)):
        step = max(1, int(np.ceil(len(values) / MAX_TICKS)))
        index = list(range(0, len(positions), step))
        setter(index, [_short(values[i]) for i in index])
    ax.tick_params(axis="x", labelrotation=45)
    ax.grid(False)


def draw_sweep_heatmap(sweep_dir: str | os.PathLike | SweepData) -> Figure | None:
    """The figure of ``sweep_heatmap.png`` (None for a sweep of one axis)."""
    data = load_sweep_run(sweep_dir)
    if len(data.axes) < 2:
        return None
    fields = (data.axes[0]["field"], data.axes[1]["field"])
    measures, policies = _measures(data)[: 3 if data.costly else 2], data.policies
    grids = {(m, p): heat(data, p, m, fields) for m in measures for p in policies}
    width, height = max(3.2 * len(policies) + 1.5, 8.0), 3.4 * len(measures) + 1.2
    with figure(None, width=width, height=height, nrows=len(measures), ncols=len(policies),
                squeeze=False) as (fig, axes):  # fmt: skip
        for row, measure in enumerate(measures):
            stack = np.concatenate([grids[measure, p][0].ravel() for p in policies])
            low, high = np.nanmin(stack), np.nanmax(stack)
            for col, policy in enumerate(policies):
                matrix, xs, ys = grids[measure, policy]
                ax = axes[row, col]
                image = ax.imshow(
                    matrix, origin="lower", aspect="auto", cmap="viridis", vmin=low, vmax=high,
                    gid=f"heatmap:{measure}:{policy}",
                )  # fmt: skip
                _annotate(ax, matrix, measure)
                _ticks(ax, xs, ys)
                ax.set_title(policy, fontsize="medium")
                ax.set_xlabel(fields[0])
                ax.set_ylabel(fields[1] if col == 0 else "")
            bar = fig.colorbar(image, ax=list(axes[row, :]), shrink=0.9)
            bar.set_label(_label(data, measure))
        others = [a["field"] for a in data.axes[2:]]
        over = f" (mean over {', '.join(others)})" if others else ""
        fig.suptitle(f"{data.name}: expected measures on {fields[0]} x {fields[1]}{over}")
    return fig


def _annotate(ax, matrix: np.ndarray, measure: str) -> None:
    if matrix.size > MAX_ANNOTATED:
        return
    middle = np.nanmean(matrix) if np.isfinite(matrix).any() else 0.0
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            text = f"{value:.0%}" if measure == "share_of_first_best" else f"{value:.3g}"
            ax.text(j, i, text, ha="center", va="center", fontsize="x-small",
                    color="black" if value >= middle else "white")  # fmt: skip


def plot_sweep(
    sweep_dir: str | os.PathLike, progress: Callable[[str], object] | None = None
) -> list[Path]:
    """Write the figures of a sweep folder into it; return the PNG paths written, in order."""
    data = load_sweep_run(sweep_dir)
    written = []
    for file, draw in zip(SWEEP_FIGURE_FILES, (draw_sweep_axes, draw_sweep_heatmap), strict=True):
        fig = draw(data)
        if fig is None:
            continue
        written.append(save_png(fig, data.path / file))
        if progress is not None:
            progress(file)
    return written
