"""The congested market against queueing theory: M/G/1 processor sharing and Little's law.

With capacity = chi (one conversation at full speed), one unlimited plan everyone buys and
Poisson arrivals at load rho, the mean wall-clock duration must be E[S] / (1 - rho) whatever
the law of S (here the greedy model's tau). Prints simulated vs formula per load, with
batch-means standard errors::

    python analysis/queue_checks.py [--users 400000]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy import integrate

import market as mk
from market.pricing.plans import FiniteMenu, Plan
from market.scenario import build_market
from market.sim.congested import Congestion
from market.sim.draws import make_draws
from market.sim.engine import simulate_policy


def batch_se(values: np.ndarray, batches: int = 25) -> float:
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400_000)
    parser.add_argument("--scenario", default="scenarios/paper_example.toml")
    args = parser.parse_args()
    scenario = mk.load_scenario(args.scenario)
    market = build_market(scenario)
    model = market.model
    mean_s = integrate.quad(lambda t: float(model.survival(np.array([t]))[0]), 0, np.inf)[0]
    menu = FiniteMenu(model, (Plan("all", math.inf, 0.0),))
    print(f"E[S] = {mean_s:.6f} (quadrature of the survival function), {args.users} users")
    print(
        f"{'rho':>5} {'simulated':>12} {'se':>9} {'E[S]/(1-rho)':>13} {'z':>6}"
        f" {'mean open':>10} {'lambda E[W]':>12}"
    )
    for load in (0.3, 0.6, 0.9):
        rate = load / mean_s
        draws = make_draws(11, args.users, rate, market.urgency, scenario.prior)
        out, series, _ = simulate_policy(
            draws, menu, "vectorized", 20 * mean_s, congestion=Congestion(market.token_rate)
        )
        warm = args.users // 10
        wall = out.wall_time[warm:]
        se = batch_se(wall)
        formula = mean_s / (1 - load)
        keep = (series.time > draws.arrival[warm]) & (series.time < draws.arrival[-1])
        print(
            f"{load:5.1f} {wall.mean():12.5f} {se:9.5f} {formula:13.5f} "
            f"{(wall.mean() - formula) / se:6.2f} {series.conversations_open[keep].mean():10.4f}"
            f" {rate * wall.mean():12.4f}"
        )


if __name__ == "__main__":
    main()
