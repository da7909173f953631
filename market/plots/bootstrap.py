"""The bootstrap law of revenue per user, beside the expected revenue
(``revenue_bootstrap.png``).

The same users face every policy (common random numbers), so a bootstrap resample draws
users, not rows: every policy is evaluated on the same resampled users (a paired bootstrap).
The figure has two panels with one row per policy and one axis shared by all policies:

- revenue per user: the realised mean (a bar) with the 2.5% and 97.5% quantiles of the
  resamples, and the solver's expected revenue (a diamond);
- each resample's revenue minus the expected revenue (a violin; a line where every resample
  is equal, as under a single posted price everyone pays), beside zero.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from market.plots.run_data import RunData, load_run
from market.plots.style import figure, payment_unit, policy_colors

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SPAWN_KEY",
    "bootstrap_revenue",
    "draw_revenue_bootstrap",
]

#: Bootstrap resamples of the users.
BOOTSTRAP_RESAMPLES = 500
#: Spawn key of the bootstrap's stream under the run's root seed: ``SeedSequence(seed,
#: spawn_key=BOOTSTRAP_SPAWN_KEY)``, apart from the simulation's streams (0, 1, 2, ... of
#: :data:`market.sim.draws.STREAMS`), so the figures never reuse a draw of the market.
BOOTSTRAP_SPAWN_KEY = (1000,)
#: Quantiles of the resamples drawn as an interval.
INTERVAL = (0.025, 0.975)


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


def draw_revenue_bootstrap(run_dir: str | os.PathLike | RunData) -> Figure:
    """The figure of ``revenue_bootstrap.png`` (see the module's docstring).

    Artists carry a ``gid``: ``"realized:<policy>"`` (the bar of the realised mean),
    ``"interval:<policy>"`` (its 95% interval), ``"expected"`` (the diamonds at the expected
    revenues, one per policy in the run's order) and ``"deviation:<policy>"`` (the violin, or
    the line where every resample is equal).
    """
    run = load_run(run_dir)
    colors = policy_colors(run.names)
    boot = bootstrap_revenue(run)
    unit = payment_unit(run.units, short=True)
    k = len(run.names)
    expected = np.array([p.expected["revenue"] for p in run.policies])
    size = {"width": 13, "height": 2.6 + 0.55 * k}
    with figure(None, **size, ncols=2, sharey=True) as (fig, (left, right)):
        for i, name in enumerate(run.names):
            values = boot.revenue[boot.policy == name].to_numpy()
            realized = float(run.users.payment[run.users.policy == name].mean())
            _interval(left, i, realized, values, colors[name], name)
            _deviation(right, i, values - expected[i], colors[name], name)
        left.scatter(
            expected,
            np.arange(k),
            marker="D",
            s=44,
            color="white",
            edgecolor="black",
            linewidth=1.2,
            zorder=4,
            gid="expected",
            label="expected revenue (solver)",
        )
        left.set_xlim(0, 1.1 * max(expected.max(), boot.revenue.max()))
        left.set_yticks(np.arange(k), run.names)
        left.set_ylim(k - 0.5, -0.5)
        left.set_xlabel(f"revenue per user ({unit})")
        left.set_title("Realised revenue per user (bar, 95% interval) and expected")
        right.axvline(0.0, color="black", linestyle="--", linewidth=1.2, label="expected revenue")
        right.set_xlabel(f"resampled revenue − expected revenue ({unit})")
        right.set_title("Resamples around the expected revenue (violin; line: median)")
        right.ticklabel_format(axis="x", style="plain", useOffset=False)
        handles = [*left.get_legend_handles_labels()[0], *right.get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize="small")
        fig.suptitle(
            f"Revenue per user across {BOOTSTRAP_RESAMPLES} bootstrap resamples of the "
            f"{run.users.user.nunique():,} users (paired across policies; seed {run.seed})"
        )
    return fig


def _interval(ax, i: int, mean: float, values: np.ndarray, color, name: str) -> None:
    """The realised mean as a bar in row ``i``, with the :data:`INTERVAL` quantiles of the
    resamples as an error bar."""
    lo, hi = np.quantile(values, INTERVAL)
    ax.barh(
        i,
        mean,
        0.6,
        color=color,
        alpha=0.75,
        edgecolor="black",
        linewidth=0.6,
        gid=f"realized:{name}",
    )
    ax.errorbar(
        mean,
        i,
        xerr=[[max(mean - lo, 0.0)], [max(hi - mean, 0.0)]],
        color="black",
        capsize=4,
        linewidth=1.2,
        gid=f"interval:{name}",
    )


def _deviation(ax, i: int, deviation: np.ndarray, color, name: str) -> None:
    """The resamples' deviations from the expected revenue, as a violin in row ``i``."""
    spread = float(np.ptp(deviation))
    if spread > 1e-12 * max(float(np.abs(deviation).max()), 1e-300):
        parts = ax.violinplot(
            [deviation],
            positions=[i],
            orientation="horizontal",
            widths=0.8,
            showextrema=False,
            showmedians=True,
        )
        for body in parts["bodies"]:
            body.set(
                facecolor=color,
                edgecolor="black",
                alpha=0.6,
                linewidth=0.6,
                gid=f"deviation:{name}",
            )
        parts["cmedians"].set(color="black", linewidth=1.0)
    else:  # every resample gives the same revenue (one posted price paid by everyone)
        ax.plot(
            [deviation[0]] * 2,
            [i - 0.35, i + 0.35],
            color=color,
            linewidth=4,
            gid=f"deviation:{name}",
        )
