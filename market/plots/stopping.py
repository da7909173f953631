r"""The simulated breakthrough times against the deployed model's stopping density.

Every user, buyer or not, has a breakthrough time drawn from the deployed model
(``users.parquet``, ``breakthrough_time`` :math:`=\tau/s` at the plan's speed :math:`s`, so
:math:`\tau` = ``breakthrough_time * speed``). Its histogram, as a density over all users,
should follow the model's density (``stopping_law.parquet``; :math:`f^*(t) = \tfrac12 e^{-t/2}`
for the greedy model of the paper's example, Section 3.1).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from market.plots.run_data import RunData, load_run
from market.plots.style import MIN_WIDTH, TIME_UNIT, figure, policy_colors

__all__ = ["HISTOGRAM_BINS", "plot_stopping_law"]

#: Bins of the histogram of breakthrough times, on [0, the law's 99.9% quantile].
HISTOGRAM_BINS = 50
#: Panels per row.
PANELS_PER_ROW = 3


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


def plot_stopping_law(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Histogram of breakthrough times against the model's density, one panel per deployed
    model (policies deploying the same model share a panel); writes ``stopping_law.png``,
    or nothing (returns ``[]``) when no deployed model has a density."""
    run = load_run(run_dir)
    groups = _models(run)
    if not groups:
        return []
    colors = policy_colors(run.names)
    ncols = min(len(groups), PANELS_PER_ROW)
    nrows = math.ceil(len(groups) / ncols)
    out = run.path / "stopping_law.png"
    with figure(
        out,
        width=max(5.2 * ncols, MIN_WIDTH),
        height=3.9 * nrows + 0.5,
        nrows=nrows,
        ncols=ncols,
        squeeze=False,
    ) as (fig, axes):
        for ax, names in zip(axes.flat, groups, strict=False):
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
                color=colors[names[0]],
                alpha=0.45,
                label=f"simulated τ, {tau.size:,} users (histogram)",
            )
            ax.plot(
                law.t,
                law.density,
                color="black",
                linewidth=2,
                label="density f(t) of the deployed model",
            )
            mean = float(np.mean(tau))
            ax.axvline(mean, color="grey", linestyle=":", label=f"simulated mean {mean:.4g}")
            ax.set_title(", ".join(names), fontsize="medium")
            ax.set_xlabel(f"breakthrough time τ ({TIME_UNIT})")
            ax.set_ylabel("density (per time unit)")
            ax.set_xlim(0, t_max)
            ax.legend(loc="upper right", fontsize="small")
        for ax in list(axes.flat)[len(groups) :]:
            ax.set_visible(False)
        fig.suptitle("Stopping law: breakthrough times of the simulated users against f(t)")
    return [out]
