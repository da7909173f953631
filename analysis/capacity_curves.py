"""Revenue and welfare against serving capacity (docs/capacity.png), with the public API.

The paper's market (scenarios/paper_example.toml) with one user per unit of time, who would
ask for chi E[tau] = 0.25 tokens per unit of time without caps, served from capacities of
0.5 to 3 times that demand, shared (processor sharing) or by price (priority). Users
anticipate the slowdown (the fixed point of :mod:`market.sim.anticipation`), so both what
they buy and what it is worth to them respond to the capacity. Dashed lines: the solver's
uncongested numbers, which every curve must approach as capacity grows::

    python analysis/capacity_curves.py [--users 5000] [--out docs/capacity.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.ticker import NullFormatter

import market as mk
from market.plots.style import figure, policy_colors

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "paper_example.toml"
POLICIES = ["optimal_token_menu", "flat", "tiers"]
#: Capacities as multiples of the uncapped demand (tokens per unit of time).
FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
DEMAND = 0.25


def curves(users: int, discipline: str):
    """Realized revenue and welfare per user for each capacity, by policy."""
    scenario = mk.load_scenario(SCENARIO)
    out = {}
    for factor in FACTORS:
        spec = dict(scenario.raw)
        spec["name"] = "capacity"
        spec["market"] = {
            "users": users, "arrival_rate": 1.0, "capacity": factor * DEMAND,
            "discipline": discipline, "anticipate": True,
        }  # fmt: skip
        run = mk.simulate(spec, policies=POLICIES, engine="vectorized")
        for row in run.summary_rows():
            out.setdefault(row["policy"], []).append(
                (row["revenue"], row["welfare"], row["expected_revenue"], row["expected_welfare"])
            )
        print(f"{discipline:8} capacity {factor:4} x demand: done", flush=True)
    return {k: np.array(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs"))
    args = parser.parse_args()
    data = {d: curves(args.users, d) for d in ("shared", "priority")}
    names = list(data["shared"])
    colors = policy_colors(names)
    x = np.array(FACTORS)
    with figure(Path(args.out) / "capacity.png", width=11, height=4.5, ncols=2) as (fig, axes):
        for col, what in enumerate(("revenue", "welfare")):
            ax = axes[col]
            for name in names:
                for discipline, style in (("shared", "-o"), ("priority", "-s")):
                    y = data[discipline][name][:, col]
                    ax.plot(x, y, style, color=colors[name], label=f"{name}, {discipline}",
                            alpha=1.0 if discipline == "shared" else 0.6)  # fmt: skip
                ax.axhline(data["shared"][name][0, col + 2], color=colors[name], ls="--", lw=1)
            ax.set_xscale("log")
            ax.set_xticks(x, [f"{f:g}" for f in FACTORS])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("capacity / uncapped demand (0.25 tokens per time)")
            ax.set_ylabel(f"realized {what} per user")
            ax.set_title(f"{what.capitalize()} against capacity (users anticipate slowdowns)")
        axes[1].legend(fontsize="x-small", loc="lower right")
    print(Path(args.out) / "capacity.png")


if __name__ == "__main__":
    main()
