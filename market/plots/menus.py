"""Figures of what each policy sells and what it earns.

- :func:`plot_menus`: price against token cap :math:`\\chi T(r)` of each policy's menu
  (``menus.parquet``), unlimited caps drawn at the right edge;
- :func:`plot_welfare`: revenue, user surplus and the loss against first-best welfare,
  stacked to the first best, expected and realised.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from market.plots.run_data import RunData, load_run
from market.plots.style import PAYMENT_UNIT, figure, policy_colors

__all__ = ["plot_menus", "plot_welfare", "realized_first_best"]

#: Markers of unlimited items, one per policy (cycled).
UNLIMITED_MARKERS = ("*", "P", "X", "D", "^", "s", "v", "o")
#: Colours and legend labels of the welfare components.
COMPONENT_COLORS = {"revenue": "#4477AA", "user surplus": "#66CCEE", "loss": "#DDDDDD"}
COMPONENT_LABELS = ("revenue", "user surplus", "loss against first best")
#: Width of a bar and half the gap between a policy's two bars (x units: one per policy).
BAR_WIDTH = 0.38
BAR_GAP = 0.01
#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: Kind of the policy whose deployed model defines the first best (the greedy model).
OPTIMAL_KIND = "optimal_token_menu"


def _served_range(rows) -> str:
    """``""`` if every type buys, else the urgencies that buy."""
    served = rows[rows.served]
    if served.empty:
        return " (nobody buys)"
    if len(served) == len(rows):
        return ""
    return f" (buyers: r in [{served.urgency.min():.3g}, {served.urgency.max():.3g}])"


def plot_menus(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Price against token cap for each policy's menu; writes ``menus.png``.

    Each policy's items are the rows of ``menus.parquet`` for its buying types (one row per
    sampled urgency). Finite caps are drawn on a log scale; unlimited items sit at the right
    edge, past a dotted line, with the tick label "unlimited".
    """
    run = load_run(run_dir)
    colors = policy_colors(run.names)
    menus = run.menus[run.menus.served]
    caps = menus.token_cap.dropna()
    caps = caps[caps > 0]
    if caps.empty:
        lo, hi = 0.1, 1.0
    else:
        lo, hi = float(caps.min()), float(caps.max())
    log_lo = math.floor(math.log10(lo))
    log_hi = math.ceil(math.log10(hi) + 1e-9)
    x_unlimited = 10.0 ** (log_hi + 0.6)
    out = run.path / "menus.png"
    with figure(out, width=9, height=5.5) as (fig, ax):
        for k, name in enumerate(run.names):
            rows = run.menus[run.menus.policy == name]
            label = name + _served_range(rows)
            served = rows[rows.served]
            finite = served[served.token_cap.notna()].sort_values("token_cap")
            color = colors[name]
            if not finite.empty:
                ax.plot(
                    finite.token_cap,
                    finite.price,
                    color=color,
                    linewidth=2,
                    label=label,
                    marker="o" if len(finite) < 20 else None,
                )
                label = None
            unlimited = served[served.token_cap.isna()]
            if not unlimited.empty:
                _unlimited(ax, unlimited, x_unlimited, color, k, label)
        ax.set_xscale("log")
        ax.axvline(10.0 ** (log_hi + 0.3), color="grey", linestyle=":", linewidth=1.2)
        decades = [10.0**e for e in range(log_lo, log_hi + 1)]
        ax.set_xticks(decades + [x_unlimited], [f"{d:g}" for d in decades] + ["unlimited"])
        ax.set_xlim(10.0**log_lo / 1.3, x_unlimited * 2.2)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("token cap χT(r) (tokens; log scale)")
        ax.set_ylabel(f"price ({PAYMENT_UNIT})")
        ax.set_title("Menus: the price of each token cap on offer")
        ax.legend(loc="lower left", fontsize="small", title="policy")
    return [out]


def _unlimited(ax, unlimited, x_unlimited: float, color, k: int, label) -> None:
    """The prices of a policy's unlimited items, as markers at the right edge."""
    prices = np.unique(unlimited.price.round(12))
    ax.scatter(
        np.full(prices.size, x_unlimited),
        prices,
        s=140,
        color=color,
        edgecolor="black",
        zorder=4,
        marker=UNLIMITED_MARKERS[k % len(UNLIMITED_MARKERS)],
        label=label,
    )
    for price in prices:
        ax.annotate(
            f"{price:.4g}",
            (x_unlimited, price),
            xytext=(10, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
            color=color,
        )


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


def plot_welfare(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Welfare decomposition per policy, stacked to first-best welfare; ``welfare.png``.

    For each policy two bars: *expected* (the solver's per-user integrals, stacked to the
    first best of ``summary.json``) and *realised* (the simulated means, stacked to the first
    best of the same users, :func:`realized_first_best`, when the run has the optimal token
    menu; else to the expected first best). Loss = first best − welfare (shown as 0 when
    sampling noise makes it negative). Error bars: 95% intervals of realised welfare.
    """
    run = load_run(run_dir)
    fb_expected = run.first_best_welfare
    fb_real = realized_first_best(run)
    bars = (
        ("expected", -BAR_WIDTH / 2 - BAR_GAP, fb_expected, ""),
        ("realized", BAR_WIDTH / 2 + BAR_GAP, fb_expected if fb_real is None else fb_real, "//"),
    )
    out = run.path / "welfare.png"
    x = np.arange(len(run.names))
    with figure(out, width=max(8.0, 2.6 * len(run.names) + 2), height=6.4) as (fig, ax):
        for which, offset, first_best, hatch in bars:
            for i, policy in enumerate(run.policies):
                if which == "expected":
                    rev, sur = policy.expected["revenue"], policy.expected["user_surplus"]
                    se = math.nan
                else:
                    rev, sur = policy.realized["revenue"].mean, policy.realized["user_surplus"].mean
                    se = policy.realized["welfare"].se
                parts = {
                    "revenue": rev,
                    "user surplus": sur,
                    "loss": max(first_best - rev - sur, 0),
                }
                _stack(ax, x[i] + offset, parts, hatch)
                if math.isfinite(se) and se > 0:
                    ax.errorbar(x[i] + offset, rev + sur, yerr=Z95 * se, color="black", capsize=4)
        ax.axhline(fb_expected, color="black", linestyle="--", linewidth=1.2)
        handles = _welfare_handles(fb_expected)
        if fb_real is not None:
            ax.axhline(fb_real, color="black", linestyle=":", linewidth=1.0)
            handles.append(
                Line2D(
                    [],
                    [],
                    color="black",
                    linestyle=":",
                    label=f"first best of these users {fb_real:.6g}",
                )
            )
        ax.set_xticks(x, run.names)
        ax.set_ylabel(f"per user ({PAYMENT_UNIT})")
        ax.set_ylim(0, max(fb_expected, fb_real or 0.0) * 1.08)
        ax.set_title("Welfare decomposition: revenue + user surplus + loss = first-best welfare")
        fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
    return [out]


def _welfare_handles(fb_expected: float) -> list:
    handles = [
        Patch(facecolor=c, edgecolor="black", label=label)
        for label, c in zip(COMPONENT_LABELS, COMPONENT_COLORS.values(), strict=True)
    ]
    return handles + [
        Patch(facecolor="white", edgecolor="black", label="left bar: expected (solver)"),
        Patch(
            facecolor="white",
            edgecolor="black",
            hatch="//",
            label="right bar: realized (simulated users, 95% interval)",
        ),
        Line2D(
            [],
            [],
            color="black",
            linestyle="--",
            label=f"first-best welfare {fb_expected:.6g} (expected)",
        ),
    ]


def _stack(ax, x: float, parts: dict[str, float], hatch: str) -> None:
    """One stacked bar of the welfare components, the revenue written inside."""
    bottom = 0.0
    for part, value in parts.items():
        ax.bar(
            x,
            value,
            BAR_WIDTH,
            bottom=bottom,
            hatch=hatch,
            color=COMPONENT_COLORS[part],
            edgecolor="black",
            linewidth=0.6,
        )
        bottom += value
    revenue = parts["revenue"]
    ax.annotate(
        f"{revenue:.4g}",
        (x, revenue / 2),
        ha="center",
        va="center",
        fontsize="x-small",
        color="white",
    )
