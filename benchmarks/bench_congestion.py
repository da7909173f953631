"""How much does a finite capacity cost the simulated market? (Not a test: run it, read it.)

::

    .venv/bin/python benchmarks/bench_congestion.py [--users 1000000] [--load 0.9]

On the paper's example with its optimal token menu, on one set of draws (the same users and
choices), it times the agent-based market (:mod:`market.sim.abm`) uncongested (the baseline)
and with a capacity at the given load, shared and priority, and the plain event loop of the
congested market (:mod:`market.sim.congested`). The load is the tokens the buyers ask for
per unit of time over the capacity: K = chi * sum(work) / (arrival span * load).

It prints users per second and the cost per user relative to the uncongested baseline (goal:
at most 3), then the kernel's cost per event (one arrival and one departure) with n open
conversations for n = 10 ... 100,000 (goal: O(log n), doubling n does not double it).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from market.api import solve
from market.scenario import build_urgency, load_scenario
from market.sim.abm import MarketModel
from market.sim.capacity import Server
from market.sim.congested import Congestion, simulate_congested
from market.sim.draws import make_draws
from market.sim.engine import sample_interval
from market.sim.offer import prepare

PAPER_EXAMPLE = Path(__file__).resolve().parent.parent / "scenarios" / "paper_example.toml"
GOAL_RATIO = 3.0


def timed(func):
    start, cpu = time.perf_counter(), time.process_time()
    out = func()
    return out, time.process_time() - cpu, time.perf_counter() - start


def market_rows(users: int, load: float) -> None:
    scenario = load_scenario(PAPER_EXAMPLE)
    policy = solve(scenario, policies=["optimal_token_menu"]).policies[0]
    draws = make_draws(scenario.seed, users, 1.0, build_urgency(scenario), scenario.prior)
    offer = prepare(draws, policy.menu)
    interval = sample_interval(users, 1.0)
    work = np.minimum(offer.breakthrough, offer.choice.cap)[offer.choice.buys]
    capacity = offer.token_rate * work.sum() / (draws.arrival[-1] * load)
    print(f"{users:,} users, load {load}: capacity K = {capacity:.5g} tokens per unit of time")

    def abm(congestion=None):
        model = MarketModel(draws, policy.menu, interval, offer=offer, congestion=congestion)
        model.run_model()
        return model.outcomes()

    rows = [("agent-based, unlimited capacity (baseline)", lambda: abm())]
    for discipline in ("shared", "priority"):
        congestion = Congestion(capacity, discipline)
        rows.append((f"agent-based, {discipline}", lambda c=congestion: abm(c)))
        rows.append(
            (
                f"event loop, {discipline}",
                lambda c=congestion: simulate_congested(offer, c, interval)[0],
            )
        )
    base = None
    print(f"{'market':46} {'users/s (cpu)':>14} {'wall s':>8} {'cost/user vs baseline':>22}")
    for name, run in rows:
        out, cpu, wall = timed(run)
        base = cpu if base is None else base
        slow = "" if out.wall_time is None else f"  mean slowdown {_slowdown(out):.3g}"
        print(f"{name:46} {users / cpu:14,.0f} {wall:8.2f} {cpu / base:22.2f}{slow}")
    print(f"goal: congested agent-based market at most {GOAL_RATIO:g} x the baseline per user")


def _slowdown(out) -> float:
    ran = out.bought & (out.time > 0)
    return float(np.mean(out.wall_time[ran] / out.time[ran]))


def kernel_rows(levels: int) -> None:
    """Cost of one arrival plus one departure with n conversations open."""
    rng = np.random.default_rng(1)
    print(f"kernel, {levels} priority level(s): n open -> microseconds per arrival + departure")
    previous = None
    for n in (10, 100, 1_000, 10_000, 100_000):
        server = Server(1.0)
        for i in range(n):
            server.admit(i, float(rng.exponential()), 1.0, float(i % levels))
        steps = 20_000
        start = time.perf_counter()
        for i in range(steps):
            server.admit(n + i, float(rng.exponential()), 1.0, float(i % levels))
            server.finish()
        each = (time.perf_counter() - start) / steps * 1e6
        ratio = "" if previous is None else f"  x{each / previous:.2f} for x10 conversations"
        print(f"  n = {n:>7,}: {each:6.2f} us{ratio}")
        previous = each


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--load", type=float, default=0.9)
    args = parser.parse_args()
    market_rows(args.users, args.load)
    kernel_rows(1)
    kernel_rows(16)


if __name__ == "__main__":
    main()
