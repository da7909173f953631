"""The users' realised outcomes: their distributions by policy (``user_outcomes.png``).

Two panels, one row per policy on a shared axis: each user's surplus (utility − payment) and
payment, as violins (the kernel density, cut at the extremes, with the quartiles dotted) and
the mean over users (a black diamond). :func:`plot_distributions` also writes the bootstrap
figure of :mod:`market.plots.bootstrap`.
"""

from __future__ import annotations

import os
from pathlib import Path

import seaborn as sns
from matplotlib.figure import Figure

from market.plots.bootstrap import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SPAWN_KEY,
    bootstrap_revenue,
    draw_revenue_bootstrap,
)
from market.plots.run_data import RunData, load_run
from market.plots.style import figure, payment_unit, policy_colors, save_png

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SPAWN_KEY",
    "bootstrap_revenue",
    "draw_user_outcomes",
    "plot_distributions",
]

#: The panels: column of ``users.parquet``, title and axis label.
PANELS = (
    ("surplus", "Surplus per user", "utility − payment"),
    ("payment", "Payment per user", "payment"),
)


def draw_user_outcomes(run_dir: str | os.PathLike | RunData) -> Figure:
    """The figure of ``user_outcomes.png`` (see the module's docstring).

    The means are a scatter with the ``gid`` ``"mean:<column>"``, one point per policy in the
    run's order at rows 0, 1, ...
    """
    run = load_run(run_dir)
    colors = policy_colors(run.names)
    users = run.users
    height = 1.6 + 0.75 * len(run.names)
    with figure(None, width=12, height=height, ncols=2, sharey=True) as (fig, axes):
        for ax, (column, title, label) in zip(axes, PANELS, strict=True):
            sns.violinplot(
                users,
                x=column,
                y="policy",
                hue="policy",
                order=run.names,
                hue_order=run.names,
                palette=colors,
                cut=0,
                density_norm="width",
                inner="quart",
                linewidth=0.8,
                legend=False,
                ax=ax,
            )
            means = users.groupby("policy")[column].mean()[run.names]
            ax.scatter(
                means,
                range(len(run.names)),
                marker="D",
                s=36,
                color="black",
                zorder=3,
                label="mean over users",
                gid=f"mean:{column}",
            )
            ax.set_xlabel(f"{label} ({payment_unit(run.units)})")
            ax.set_ylabel("")
            ax.set_title(title)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower right")
        fig.suptitle(
            f"Per-user outcomes, {users.user.nunique():,} users per policy"
            " (violins: distribution; dotted lines: quartiles)"
        )
    return fig


def plot_distributions(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``user_outcomes.png`` and ``revenue_bootstrap.png`` into the run folder."""
    run = load_run(run_dir)
    return [
        save_png(draw_user_outcomes(run), run.path / "user_outcomes.png"),
        save_png(draw_revenue_bootstrap(run), run.path / "revenue_bootstrap.png"),
    ]
