"""Benchmark of the mechanism core (not a test): run ``python benchmarks/bench_core.py``.

Prints, on this machine, in one run:

1. the time to solve the paper's example (``market solve`` without printing), after import;
2. the time to build the greedy path and its stopping law with Shannon entropy for
   n = 10, 50, 200 random states (build + E[tau] + 201 discounted moments);
3. the paper example's optimal revenue by a generic route - a menu for 40 discrete types
   optimised numerically (L-BFGS-B over monotone caps, prices from binding adjacent IC,
   utilities by adaptive quadrature) - beside the solver's, as a time ratio and an accuracy.

Timings are medians of repeated runs (``--repeat``); the machine is shared, so compare
ratios printed side by side rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from scipy import integrate, optimize
from scipy.special import exp1

from market.greedy import GreedyModel
from market.information import Shannon
from market.scenario import load_scenario
from market.solve import solve

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "scenarios" / "paper_example.toml"
EXACT = 0.2 * (1 - np.exp(-2.5)) + 0.5 * np.exp(-1) * exp1(1.5)  # NOTES.md erratum 4


def median_time(func, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def generic_revenue(k_types: int = 40) -> float:
    """Optimise a discretised menu numerically for the paper's example."""
    r = np.linspace(1.0, 2.0, k_types + 1)
    r = 0.5 * (r[:-1] + r[1:])  # midpoints, equal mass 1/k of U[1, 2]
    w = np.full(k_types, 1.0 / k_types)

    def density(t):
        return 0.5 * np.exp(-0.5 * t)  # f*(t) of the greedy model (Section 3.1)

    def utility(cap, rate):
        if cap <= 0:
            return 0.0
        return integrate.quad(lambda t: np.exp(-rate * t) * density(t), 0, cap)[0]

    def caps_of(x):
        # Monotone caps: the most urgent type's cap, then non-negative increments downward.
        inc = np.exp(x)
        return np.cumsum(inc[::-1])[::-1]

    def revenue(x):
        caps = caps_of(x)
        price = np.empty(k_types)
        price[-1] = utility(caps[-1], r[-1])  # IR binds for the most urgent type
        for i in range(k_types - 2, -1, -1):  # downward adjacent IC binds
            price[i] = utility(caps[i], r[i]) - utility(caps[i + 1], r[i]) + price[i + 1]
        return float(w @ price)

    x0 = np.log(np.full(k_types, 0.1))
    res = optimize.minimize(lambda x: -revenue(x), x0, method="L-BFGS-B")
    return -res.fun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--types", type=int, default=40, help="types of the generic route")
    args = parser.parse_args()

    scenario = load_scenario(PAPER)
    solve(scenario)  # warm-up: imports and caches of numpy/scipy
    t_solve, solution = median_time(lambda: solve(scenario), args.repeat)
    ours = next(p for p in solution.policies if p.kind == "optimal_token_menu").revenue
    print(f"paper example solved (3 policies) in {t_solve * 1e3:.1f} ms (goal < 100 ms)")

    rng = np.random.default_rng(20251012)
    for n in (10, 50, 200):
        prior = rng.dirichlet(np.ones(n))

        def run(n=n, prior=prior):
            model = GreedyModel(Shannon(n), prior, 1.0)
            model.laplace(np.linspace(0.5, 2.0, 201), 3.0)
            return model, model.expected_time

        reps = args.repeat if n <= 50 else 1
        t_n, (model, e_tau) = median_time(run, reps)
        err = abs(e_tau - Shannon(n).information_to_learn(prior)) / e_tau
        goal = " (goal < 1 s)" if n == 50 else ""
        print(
            f"greedy Shannon n = {n:3d}: {len(model.phases):3d} phases, path + stopping law in "
            f"{t_n:.3f} s{goal}; E[tau] relative error {err:.1e}"
        )

    t_generic, generic = median_time(lambda: generic_revenue(args.types), 1)
    print(
        f"revenue, solver : {ours:.12f}  error {abs(ours - EXACT):.1e}  in {t_solve * 1e3:.1f} ms"
    )
    print(
        f"revenue, generic: {generic:.12f}  error {abs(generic - EXACT):.1e}  "
        f"in {t_generic:.2f} s ({args.types} types, L-BFGS-B)"
    )
    print(
        f"ratio generic/solver time: {t_generic / t_solve:.0f}x (goal >= 100x), "
        f"error ratio {abs(generic - EXACT) / max(abs(ours - EXACT), 1e-17):.1e}"
    )


if __name__ == "__main__":
    main()
