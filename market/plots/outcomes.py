"""Figures of the users' realised outcomes: their distributions and who gains by urgency.

- :func:`plot_distributions`: per-user surplus and payment by policy (violins), and revenue
  per user across bootstrap resamples of the users, beside its expected value;
- :func:`plot_who_gains`: mean payment, utility and surplus against urgency, by policy.

The same users face every policy (common random numbers), so a bootstrap resample draws
users, not rows: every policy is evaluated on the same resampled users (a paired bootstrap).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from market.plots.run_data import RunData, load_run
from market.plots.style import (
    MIN_WIDTH,
    PAYMENT_UNIT,
    PAYMENT_UNIT_SHORT,
    URGENCY_LABEL,
    figure,
    policy_colors,
)

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SPAWN_KEY",
    "URGENCY_BINS",
    "bootstrap_revenue",
    "plot_distributions",
    "plot_who_gains",
]

#: Bootstrap resamples of the users.
BOOTSTRAP_RESAMPLES = 500
#: Spawn key of the bootstrap's stream under the run's root seed: ``SeedSequence(seed,
#: spawn_key=BOOTSTRAP_SPAWN_KEY)``, apart from the simulation's streams (0, 1, 2, ... of
#: :data:`market.sim.draws.STREAMS`), so the figures never reuse a draw of the market.
BOOTSTRAP_SPAWN_KEY = (1000,)
#: Equal-width urgency bins of :func:`plot_who_gains`.
URGENCY_BINS = 30
#: Panels per row of the bootstrap figure.
PANELS_PER_ROW = 3


def bootstrap_revenue(run: RunData, resamples: int = BOOTSTRAP_RESAMPLES, rng=None) -> pd.DataFrame:
    """Revenue per user (mean payment) in ``resamples`` resamples of the run's users.

    ``rng`` (anything :func:`numpy.random.default_rng` accepts) defaults to the stream
    :data:`BOOTSTRAP_SPAWN_KEY` of the run's seed. Returns columns ``policy``, ``revenue``.
    """
    if rng is None:
        rng = np.random.SeedSequence(run.seed, spawn_key=BOOTSTRAP_SPAWN_KEY)
    rng = np.random.default_rng(rng)
    payments = run.users.pivot(index="user", columns="policy", values="payment")[run.names]
    if payments.isna().any().any():
        raise ValueError(f"{run.path / 'users.parquet'}: the policies do not share their users")
    values = payments.to_numpy(dtype=float)
    n = values.shape[0]
    means = np.empty((resamples, values.shape[1]))
    for b in range(resamples):
        means[b] = values[rng.integers(0, n, size=n)].mean(axis=0)
    return pd.DataFrame(
        {
            "policy": np.repeat(np.array(run.names, dtype=object)[None, :], resamples, 0).ravel(),
            "revenue": means.ravel(),
        }
    )


def plot_distributions(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Per-user surplus and payment by policy, and the bootstrap law of revenue per user.

    Writes ``user_outcomes.png`` and ``revenue_bootstrap.png`` into the run folder.
    """
    run = load_run(run_dir)
    return [_user_outcomes(run), _revenue_bootstrap(run)]


def _user_outcomes(run: RunData) -> Path:
    colors = policy_colors(run.names)
    users = run.users
    out = run.path / "user_outcomes.png"
    height = 1.6 + 0.9 * len(run.names)
    with figure(out, width=12, height=height, ncols=2, sharey=True) as (fig, axes):
        for ax, column, title, label in zip(
            axes,
            ("surplus", "payment"),
            ("Surplus per user", "Payment per user"),
            ("utility − payment", "payment"),
            strict=True,
        ):
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
            )
            ax.set_xlabel(f"{label} ({PAYMENT_UNIT})")
            ax.set_ylabel("")
            ax.set_title(title)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower right")
        fig.suptitle(
            f"Per-user outcomes, {users.user.nunique():,} users per policy"
            " (violins: distribution; dotted lines: quartiles)"
        )
    return out


def _revenue_bootstrap(run: RunData) -> Path:
    colors = policy_colors(run.names)
    boot = bootstrap_revenue(run)
    out_boot = run.path / "revenue_bootstrap.png"
    k = len(run.names)
    ncols = min(k, PANELS_PER_ROW)
    nrows = math.ceil(k / ncols)
    with figure(
        out_boot,
        width=max(4.6 * ncols, MIN_WIDTH),
        height=3.4 * nrows + 0.6,
        nrows=nrows,
        ncols=ncols,
        squeeze=False,
    ) as (fig, axes):
        for ax, policy in zip(axes.flat, run.policies, strict=False):
            values = boot.revenue[boot.policy == policy.name].to_numpy()
            _bootstrap_panel(ax, values, policy, colors[policy.name])
        for ax in list(axes.flat)[k:]:
            ax.set_visible(False)
        fig.suptitle(
            f"Revenue per user across {BOOTSTRAP_RESAMPLES} bootstrap resamples of the users"
            f" (seed {run.seed})"
        )
    return out_boot


def _bootstrap_panel(ax, values: np.ndarray, policy, color) -> None:
    expected = policy.expected["revenue"]
    spread = float(np.ptp(values))
    if spread > 1e-12 * max(abs(values.mean()), 1e-300):
        sns.histplot(
            values,
            stat="density",
            color=color,
            alpha=0.35,
            edgecolor="white",
            kde=True,
            ax=ax,
            label="bootstrap resamples",
        )
    else:  # every resample gives the same revenue (one posted price paid by everyone)
        ax.axvline(
            values[0], color=color, linewidth=6, alpha=0.5, label="bootstrap resamples (all equal)"
        )
        ax.set_yticks([])
        half = max(abs(expected - values[0]) * 3, 1e-3 * abs(values[0]), 1e-9)
        ax.set_xlim(values[0] - half, values[0] + half)
    ax.axvline(
        expected, color="black", linestyle="--", linewidth=1.5, label=f"expected {expected:.6g}"
    )
    ax.set_title(policy.name)
    ax.set_xlabel(f"revenue per user ({PAYMENT_UNIT})")
    ax.set_ylabel("density of resamples")
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(loc="upper left", fontsize="small")


def plot_who_gains(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Mean payment, utility and surplus against urgency (equal-width bins), by policy, with
    95% bands (± 1.96 standard errors of the bin mean). Writes ``who_gains.png``."""
    run = load_run(run_dir)
    colors = policy_colors(run.names)
    users = run.users
    lo, hi = float(users.urgency.min()), float(users.urgency.max())
    edges = np.linspace(lo, hi, URGENCY_BINS + 1)
    bins = np.clip(
        np.searchsorted(edges, users.urgency.to_numpy(), side="right") - 1, 0, URGENCY_BINS - 1
    )
    grouped = users.assign(bin=bins).groupby(["policy", "bin"])
    centers = (edges[:-1] + edges[1:]) / 2
    panels = (
        ("payment", "Payment"),
        ("utility", r"Utility $e^{-r\tau}\,\mathbf{1}\{\tau \leq T\}$"),
        ("surplus", "Surplus: utility − payment"),
    )
    out = run.path / "who_gains.png"
    with figure(out, width=15, height=4.8, ncols=3) as (fig, axes):
        for ax, (column, title) in zip(axes, panels, strict=True):
            stats = grouped[column].agg(["mean", "std", "count"])
            for name in run.names:
                s = stats.loc[name].reindex(range(URGENCY_BINS))
                x = centers[s.index.to_numpy()]
                half = 1.959963984540054 * s["std"] / np.sqrt(s["count"])
                ax.plot(x, s["mean"], marker="o", markersize=3, color=colors[name], label=name)
                ax.fill_between(
                    x,
                    s["mean"] - half,
                    s["mean"] + half,
                    color=colors[name],
                    alpha=0.2,
                    linewidth=0,
                )
            ax.axhline(0.0, color="grey", linewidth=0.8)
            ax.set_title(title)
            ax.set_xlabel(URGENCY_LABEL)
            ax.set_ylabel(f"mean per user ({PAYMENT_UNIT_SHORT})")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 4),
            title="policy (bands: 95% interval of the bin mean)",
        )
        fig.suptitle(f"Who gains: outcomes by urgency ({URGENCY_BINS} equal-width bins)")
    return [out]
