"""The tariffs of a run's policies: what a user pays against the tokens it uses (``menus.png``).

Each policy is drawn as its tariff :math:`P_s(q)` (:mod:`market.plots.tariffs`), the cheapest
payment for using :math:`q` tokens among its plans (``plans.parquet``), one line per speed
(line style: fastest solid, then dashed, dotted, dash-dotted). Flat prices are horizontal,
per-token prices rays from 0, two-part tariffs rays from their fee, tiers staircases; a line
ends at the largest cap on offer. Every label is in the legend, outside the axes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from market.plots.run_data import RunData, load_run
from market.plots.style import (
    figure,
    payment_unit,
    policy_colors,
    policy_markers,
    save_png,
    token_unit,
)
from market.plots.tariffs import TariffCurve, tariff_curves

__all__ = [
    "MARKERS_PER_LINE",
    "TOKEN_QUANTILE",
    "draw_menus",
    "payment_range",
    "plot_menus",
    "token_range",
]

#: The token axis reaches this quantile of the tokens the simulated users used.
TOKEN_QUANTILE = 0.99
#: Room past the largest finite cap of a named plan, and above the dearest plan.
MARGIN = 1.25
#: Room below 0 (a share of the payment axis), so that a free plan's line is not the axis.
FLOOR = 0.03
#: Markers along each line (staggered across policies, so overlapping lines stay apart).
MARKERS_PER_LINE = 4
#: Line styles of a policy's speeds, fastest first.
SPEED_STYLES = ("-", "--", ":", "-.")


def token_range(run: RunData) -> float:
    """Right end of the token axis: the larger of the users' :data:`TOKEN_QUANTILE` quantile
    of tokens used and :data:`MARGIN` times the largest finite cap of a named plan."""
    used = float(np.quantile(run.users.tokens, TOKEN_QUANTILE))
    named = run.plans[run.plans.plan.notna()].token_cap.dropna()
    cap = float(named.max()) * MARGIN if not named.empty else 0.0
    top = max(used, cap)
    return top if top > 0 else 1.0


def payment_range(run: RunData) -> float:
    """Top of the payment axis before its margin: the dearest plan's price, or the users'
    median payment if larger (so a menu of per-token prices alone has an axis too)."""
    return max(float(run.plans.price.max()), float(np.median(run.users.payment)))


def _served_range(rows) -> str:
    """``""`` if every type buys, else the urgencies that buy."""
    served = rows[rows.served]
    if served.empty:
        return "; nobody buys"
    if len(served) == len(rows):
        return ""
    return f"; buyers r in [{served.urgency.min():.3g}, {served.urgency.max():.3g}]"


def _plan_text(row) -> str:
    """``0.1743 + 0.16 per token``, ``0.2``, ``0 up to 0.05 tokens``: one plan in words."""
    parts = []
    if row.price != 0 or row.per_token == 0:
        parts.append(f"{row.price:.4g}")
    if row.per_token != 0:
        parts.append(f"{row.per_token:.4g} per token")
    text = " + ".join(parts)
    return text if np.isnan(row.token_cap) else f"{text} up to {row.token_cap:.4g} tokens"


def curve_label(name: str, curve: TariffCurve, speeds: int) -> str:
    """Legend label of a tariff line: the policy, its plans in brief, and its speed."""
    rows = curve.plans
    if curve.continuum:
        text = f"schedule, {len(rows)} sampled caps"
    elif len(rows) == 1:
        text = _plan_text(rows.iloc[0])
    else:
        caps = sorted(rows.token_cap.fillna(np.inf))
        text = f"{len(rows)} plans, caps " + ", ".join(
            "unlimited" if np.isinf(c) else f"{c:.3g}" for c in caps
        )
    if speeds > 1 or curve.speed != 1:
        text += f"; speed {curve.speed:.4g}"
    return f"{name}: {text}"


def draw_menus(run_dir: str | os.PathLike | RunData) -> Figure:
    """The figure of ``menus.png``: each policy's tariff, payment against tokens used.

    Lines carry the ``gid`` ``"tariff:<policy>:<speed>"``; their data are the points of
    :func:`market.plots.tariffs.tariff_curves` on ``[0, token_range(run)]``.
    """
    run = load_run(run_dir)
    colors, markers = policy_colors(run.names), policy_markers(run.names)
    q_max = token_range(run)
    handles = []
    with figure(None, width=11, height=8) as (fig, ax):
        for k, name in enumerate(run.names):
            curves = tariff_curves(run.plans[run.plans.policy == name], q_max)
            served = _served_range(run.menus[run.menus.policy == name])
            for i, curve in enumerate(curves):
                style = dict(
                    color=colors[name],
                    linestyle=SPEED_STYLES[i % len(SPEED_STYLES)],
                    marker=markers[name],
                )
                ax.plot(
                    curve.tokens,
                    curve.payment,
                    linewidth=2,
                    gid=f"tariff:{name}:{curve.speed!r}",
                    color=style["color"],
                    linestyle=style["linestyle"],
                )
                _markers(ax, curve, q_max, (k + 1) / (len(run.names) + 1), style)
                label = curve_label(name, curve, len(curves)) + served
                handles.append(Line2D([], [], linewidth=2, markersize=7, label=label, **style))
        top = payment_range(run)
        ax.set_xlim(0, q_max)
        top = MARGIN * top if top > 0 else 1.0
        ax.set_ylim(-FLOOR * top, top)
        ax.set_xlabel(f"tokens used q ({token_unit(run.units)})")
        ax.set_ylabel(f"least payment for q tokens ({payment_unit(run.units)})")
        ax.set_title("Tariffs: what a user pays for the tokens it uses, by policy")
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=2 if len(handles) > 3 else 1,
            fontsize="small",
            title="policy: plans (line style: speed, fastest solid)",
        )
    return fig


def _markers(ax, curve: TariffCurve, q_max: float, phase: float, style: dict) -> None:
    """Markers on a tariff line at ``q_max (j + phase) / MARKERS_PER_LINE``, j = 0, 1, ..."""
    defined = ~np.isnan(curve.payment)
    if not defined.any():
        return
    x = q_max * (np.arange(MARKERS_PER_LINE) + phase) / MARKERS_PER_LINE
    x = x[x <= curve.tokens[defined].max()]
    y = np.interp(x, curve.tokens[defined], curve.payment[defined])
    ax.plot(
        x,
        y,
        linestyle="none",
        marker=style["marker"],
        color=style["color"],
        markeredgecolor="black",
        markeredgewidth=0.5,
        markersize=7,
    )


def plot_menus(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Write ``menus.png`` (:func:`draw_menus`) into the run folder; returns its path."""
    run = load_run(run_dir)
    return [save_png(draw_menus(run), run.path / "menus.png")]
