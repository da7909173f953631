r"""The simulated breakthrough times against the deployed model's stopping density.

Every user, buyer or not, has a breakthrough time drawn from the deployed model
(``users.parquet``, ``breakthrough_time`` :math:`=\tau/s` at the plan's speed :math:`s`, so
:math:`\tau` = ``breakthrough_time * speed``). Its histogram, as a density over all users,
should follow the model's density (``stopping_law.parquet``; :math:`f^*(t) = \tfrac12 e^{-t/2}`
for the greedy model of the paper's example, Section 3.1, whose *total* breakthrough rate is ½:
erratum 3 of ``docs/paper-notes.md``).
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from market.plots.run_data import RunData, load_run
from market.plots.style import MIN_WIDTH, figure, policy_colors, save_png, time_unit

__all__ = ["HISTOGRAM_BINS", "draw_stopping_law", "plot_stopping_law"]

#: Bins of the histogram of breakthrough times, on [0, the law's 99.9% quantile].
HISTOGRAM_BINS = 50
#: Panels per row.
PANELS_PER_ROW = 3
#: Characters per line of a panel's title (the policies deploying its model).
TITLE_WIDTH = 48


def _models(run: RunData) -> list[list[str]]:
    """Policies grouped by deployed model: those with the same tabulated law share one."""
    groups: list[tuple[np.ndarray, list[str]]] = []
    for name in run.names:
        law = run.stopping_law[run.stopping_law.policy == name]
        if law.empty:
            continue
        key = law[["t", "density"]].to_numpy()
        for other, names in groups:
            if other.shape == key.shape and np.allclose(other, key, rtol=1e-12, atol=0):
                names.append(name)
                break
        else:
            groups.append((key, [name]))
    return [names for _, names in groups]


def draw_stopping_law(run_dir: str | os.PathLike | RunData) -> Figure | None:
    """The figure of ``stopping_law.png``: a histogram of breakthrough times against the
    model's density, one panel per deployed model (policies deploying the same model share a
    panel, titled by their names); None when no deployed model has a density.

    The histogram is a ``stairs`` artist with the ``gid`` ``"histogram:<first policy>"``, the
    density a line with the ``gid`` ``"density:<first policy>"``.
    """
    run = load_run(run_dir)
    groups = _models(run)
    if not groups:
        return None
    colors = policy_colors(run.names)
    nrows = math.ceil(len(groups) / PANELS_PER_ROW)
    ncols = math.ceil(len(groups) / nrows)  # rows as full as they can be
    with figure(
        None,
        width=max(5.2 * ncols, MIN_WIDTH),
        height=4.2 * nrows + 0.5,
        nrows=nrows,
        ncols=ncols,
        squeeze=False,
    ) as (fig, axes):
        for ax, names in zip(axes.flat, groups, strict=False):
            _panel(ax, run, names, colors[names[0]])
        for ax in list(axes.flat)[len(groups) :]:
            ax.set_visible(False)
        title = "Stopping law: breakthrough times of the simulated users against f(t)"
        shown = {name for names in groups for name in names}
        absent = [name for name in run.names if name not in shown]
        if absent:
            title += "\n" + textwrap.fill(
                f"(no density, not shown: {', '.join(absent)})", TITLE_WIDTH * ncols
            )
        fig.suptitle(title)
    return fig


def _panel(ax, run: RunData, names: list[str], color) -> None:
    """One deployed model: the histogram of its users' tau against its density."""
    law = run.stopping_law[run.stopping_law.policy == names[0]]
    users = run.users[run.users.policy == names[0]]
    tau = (users.breakthrough_time * users.speed).to_numpy()
    t_max = float(law.t.max())
    edges = np.linspace(0.0, t_max, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(tau, bins=edges)
    # A density over all users: the 0.1% beyond the last edge count in the total.
    density = counts / (tau.size * np.diff(edges))
    ax.stairs(
        density,
        edges,
        fill=True,
        color=color,
        alpha=0.45,
        label=f"simulated τ, {tau.size:,} users (histogram)",
        gid=f"histogram:{names[0]}",
    )
    ax.plot(
        law.t,
        law.density,
        color="black",
        linewidth=2,
        label="density f(t) of the deployed model",
        gid=f"density:{names[0]}",
    )
    mean = float(np.mean(tau))
    ax.axvline(mean, color="grey", linestyle=":", label=f"simulated mean {mean:.4g}")
    ax.set_title(textwrap.fill(", ".join(names), TITLE_WIDTH), fontsize="medium")
    unit = time_unit(run.units)
    ax.set_xlabel(f"breakthrough time τ ({unit})")
    ax.set_ylabel(f"density (per {unit.removesuffix('s') if unit.endswith('units') else unit})")
    ax.set_xlim(0, t_max)
    ax.legend(loc="upper right", fontsize="small")


def plot_stopping_law(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``stopping_law.png`` (:func:`draw_stopping_law`); returns ``[]`` (and writes
    nothing) when no deployed model has a density."""
    run = load_run(run_dir)
    fig = draw_stopping_law(run)
    return [] if fig is None else [save_png(fig, run.path / "stopping_law.png")]
