"""What each policy earns and leaves to its users, as shares of first-best welfare
(``welfare.png``).

One row per policy, two horizontal bars: *expected* (the solver's per-user revenue and user
surplus over the first-best welfare of ``summary.json``) and *realised* (hatched: the
simulated means over the first best of the same users, :func:`realized_first_best`, when the
run has the optimal token menu, else over the expected first best). Each bar stacks revenue,
user surplus and the loss against the first best, so it ends at 100%; the error bar is the 95%
interval of realised welfare, and the welfare share is written beside each bar.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from market.plots.run_data import PolicySummary, RunData, load_run
from market.plots.style import figure, save_png

__all__ = ["draw_welfare", "plot_welfare", "realized_first_best", "welfare_shares"]

#: Colours of the welfare components.
COMPONENT_COLORS = {"revenue": "#4477AA", "user surplus": "#66CCEE", "loss": "#DDDDDD"}
#: Height of a bar and the offset of the expected (above) and realised (below) bars.
BAR_HEIGHT = 0.36
BAR_OFFSET = 0.19
#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: Kind of the policy whose deployed model defines the first best (the greedy model).
OPTIMAL_KIND = "optimal_token_menu"
#: Right end of the share axis: room for the written shares past 100%.
X_MAX = 1.17


def realized_first_best(run: RunData) -> float | None:
    """First-best welfare of the run's own users: the mean of :math:`e^{-r\\tau}` with the
    greedy model unlimited, from the breakthrough times of the optimal token menu's users
    (the deployed greedy model); None if the run has no such policy."""
    for policy in run.policies:
        if policy.kind == OPTIMAL_KIND:
            users = run.users[run.users.policy == policy.name]
            tau = users.breakthrough_time * users.speed  # the model's tau (speed 1 here)
            return float(np.mean(np.exp(-users.urgency * tau)))
    return None


def welfare_shares(policy: PolicySummary, first_best: float, realized: bool) -> dict:
    """Revenue, user surplus and loss (``max(1 - welfare, 0)``) as shares of ``first_best``,
    with ``half``, the half-width of the 95% interval of welfare (NaN for expected)."""
    if realized:
        rev, sur = policy.realized["revenue"].mean, policy.realized["user_surplus"].mean
        half = Z95 * policy.realized["welfare"].se / first_best
    else:
        rev, sur = policy.expected["revenue"], policy.expected["user_surplus"]
        half = math.nan
    rev, sur = rev / first_best, sur / first_best
    return {"revenue": rev, "user surplus": sur, "loss": max(1.0 - rev - sur, 0.0), "half": half}


def draw_welfare(run_dir: str | os.PathLike | RunData) -> Figure:
    """The figure of ``welfare.png`` (see the module's docstring).

    Bar segments carry the ``gid`` ``"welfare:<expected|realized>:<policy>:<component>"``.
    """
    run = load_run(run_dir)
    fb_real = realized_first_best(run)
    normalisers = {
        "expected": run.first_best_welfare,
        "realized": fb_real or run.first_best_welfare,
    }
    k = len(run.names)
    with figure(None, width=11, height=2.2 + 0.62 * k) as (fig, ax):
        for i, policy in enumerate(run.policies):
            for which, offset, hatch in (
                ("expected", -BAR_OFFSET, ""),
                ("realized", BAR_OFFSET, "//"),
            ):
                shares = welfare_shares(policy, normalisers[which], which == "realized")
                _stack(ax, i + offset, shares, hatch, f"welfare:{which}:{policy.name}")
        ax.set_yticks(range(k), run.names)
        ax.set_ylim(k - 0.5, -0.5)
        ax.set_xlim(0, X_MAX)
        ax.set_xticks(np.linspace(0, 1, 6))
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.axvline(1.0, color="black", linestyle="--", linewidth=1.0)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("share of first-best welfare per user")
        ax.set_title(
            "Welfare per user as a share of the first best (written beside each bar):"
            " revenue + user surplus + loss = 100%"
        )
        fig.legend(
            handles=_handles(run.first_best_welfare, fb_real),
            loc="outside lower center",
            ncols=2,
            fontsize="small",
        )
    return fig


def _stack(ax, y: float, shares: dict, hatch: str, gid: str) -> None:
    """One stacked bar (revenue, user surplus, loss), its welfare interval and share."""
    left = 0.0
    for part, color in COMPONENT_COLORS.items():
        ax.barh(
            y,
            shares[part],
            BAR_HEIGHT,
            left=left,
            color=color,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            gid=f"{gid}:{part}",
        )
        left += shares[part]
    welfare = shares["revenue"] + shares["user surplus"]
    if math.isfinite(shares["half"]) and shares["half"] > 0:
        ax.errorbar(welfare, y, xerr=shares["half"], color="black", capsize=3, linewidth=1.2)
    right = max(1.0, welfare + (shares["half"] if math.isfinite(shares["half"]) else 0.0))
    ax.annotate(f"{welfare:.1%}", (right + 0.01, y), va="center", fontsize="small")


def _handles(fb_expected: float, fb_real: float | None) -> list:
    """The components (first column of the legend), then what the bars are (second)."""
    handles = [
        Patch(facecolor=c, edgecolor="black", label=label)
        for label, c in zip(
            ("revenue", "user surplus", "loss against first best"),
            COMPONENT_COLORS.values(),
            strict=True,
        )
    ]
    if fb_real is None:
        real = f"expected first best {fb_expected:.6g}"
    else:
        real = f"first best of these users {fb_real:.6g}"
    return handles + [
        Patch(
            facecolor="white",
            edgecolor="black",
            label=f"upper bar: expected (solver) / first best {fb_expected:.6g}",
        ),
        Patch(
            facecolor="white",
            edgecolor="black",
            hatch="//",
            label=f"lower bar: realized (simulated) / {real}",
        ),
        Line2D(
            [],
            [],
            color="black",
            marker="|",
            markersize=8,
            label="95% interval of realized welfare",
        ),
    ]


def plot_welfare(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``welfare.png`` (:func:`draw_welfare`) into the run folder; returns its path."""
    run = load_run(run_dir)
    return [save_png(draw_welfare(run), run.path / "welfare.png")]
