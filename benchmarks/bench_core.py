"""Benchmark of the mechanism core (not a test): run ``python benchmarks/bench_core.py``.

Prints, on this machine, in one run:

0. start-up: the whole-process time of ``market solve scenarios/paper_example.toml`` beside
   that of ``python -c "import numpy, scipy.integrate, pydantic"`` (goal: under 2x);
1. the time to solve the paper's example (every policy of the default set, and the paper's
   three), after import;
2. the time to build the greedy path and its stopping law with Shannon entropy for
   n = 10, 50, 200 random states (build + E[tau] + 201 discounted moments);
3. the paper example's optimal revenue by a generic route - a menu for K discrete types
   optimised numerically (caps by bounded scalar search, prices from binding adjacent IC,
   utilities by adaptive quadrature) - beside the solver's, as a time ratio and an accuracy.

Timings are medians of repeated runs (``--repeat``); the machine is shared, so compare
ratios printed side by side rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import integrate, optimize
from scipy.special import exp1

import market as mk
from market.theory.greedy import GreedyModel
from market.theory.information import Shannon

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "scenarios" / "paper_example.toml"
EXACT = 0.2 * (1 - np.exp(-2.5)) + 0.5 * np.exp(-1) * exp1(1.5)  # docs/paper-notes.md, erratum 4


def median_time(func, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def generic_revenue(k_types: int = 40) -> float:
    """A discretised menu for the paper's example, optimised numerically.

    Types: the midpoints of ``k_types`` equal cells of U[1, 2], each of mass 1/k. With the
    most urgent type's IR and each type's IC towards the next more urgent one binding, the
    revenue is separable in the caps: cap ``T_j`` maximises
    ``w_j u(T|r_j) - W_{j-1} (u(T|r_{j-1}) - u(T|r_j))`` (``W`` the mass of more patient
    types), found by bounded scalar search over log T, with the utilities ``u`` by adaptive
    quadrature (``scipy.integrate.quad``) of the stopping density ``f*(t) = e^{-t/2}/2``.
    """
    edges = np.linspace(1.0, 2.0, k_types + 1)
    r = 0.5 * (edges[:-1] + edges[1:])
    w = np.full(k_types, 1.0 / k_types)
    cum = np.concatenate([[0.0], np.cumsum(w)])

    def utility(cap, rate):
        return integrate.quad(lambda t: np.exp(-rate * t) * 0.5 * np.exp(-0.5 * t), 0, cap)[0]

    caps = np.empty(k_types)
    for j in range(k_types):

        def objective(cap, j=j):
            val = w[j] * utility(cap, r[j])
            if j > 0:
                val -= cum[j] * (utility(cap, r[j - 1]) - utility(cap, r[j]))
            return -val

        res = optimize.minimize_scalar(
            lambda x, objective=objective: objective(np.exp(x)),
            bounds=(-10.0, 6.0),
            method="bounded",
            options={"xatol": 1e-10},
        )
        caps[j] = np.exp(res.x)
    surplus = np.zeros(k_types)
    for j in range(k_types - 2, -1, -1):
        surplus[j] = surplus[j + 1] + utility(caps[j + 1], r[j]) - utility(caps[j + 1], r[j + 1])
    own = np.array([utility(c, rate) for c, rate in zip(caps, r, strict=True)])
    return float(w @ (own - surplus))


def process_time(argv: list[str], repeat: int) -> float:
    """Median wall time of a whole process (start, import, work, exit)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup(repeat: int) -> None:
    """``market solve`` as a user runs it, beside importing what any solver needs."""
    base = process_time([sys.executable, "-c", "import numpy, scipy.integrate, pydantic"], repeat)
    ours = process_time([sys.executable, "-m", "market", "solve", str(PAPER)], repeat)
    help_ = process_time([sys.executable, "-m", "market", "--help"], repeat)
    print(
        f"start-up: `market solve paper_example.toml` {ours:.2f} s, `market --help` "
        f"{help_:.2f} s, `python -c 'import numpy, scipy.integrate, pydantic'` {base:.2f} s: "
        f"ratio {ours / base:.2f} (goal < 2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--types", type=int, default=1600, help="most types of the generic route")
    args = parser.parse_args()

    startup(args.repeat)
    scenario = mk.load_scenario(PAPER)
    mk.solve(scenario)  # warm-up: imports and caches of numpy/scipy
    t_all, _ = median_time(lambda: mk.solve(scenario), args.repeat)
    print(f"paper example, every policy of the default set (9) solved in {t_all * 1e3:.1f} ms")
    paper = ["optimal_token_menu", "constant_delay", "diffusion"]
    t_three, _ = median_time(lambda: mk.solve(scenario, paper), args.repeat)
    print(f"paper example, the paper's 3 policies solved in {t_three * 1e3:.1f} ms (goal < 100 ms)")
    # The optimal token menu alone (greedy model, ironing check, caps, prices, revenue,
    # surplus and welfare): the route compared with the generic one below.
    t_solve, solution = median_time(lambda: mk.solve(scenario, ["optimal_token_menu"]), args.repeat)
    ours = solution.policies[0].revenue

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

    print(
        f"optimal revenue, solver : {ours:.12f}  error {abs(ours - EXACT):.1e}  "
        f"in {t_solve * 1e3:.1f} ms"
    )
    err_ours = max(abs(ours - EXACT), 1e-17)
    for k in (args.types // 16, args.types // 4, args.types):
        t_generic, generic = median_time(lambda k=k: generic_revenue(k), 1)
        print(
            f"optimal revenue, generic: {generic:.12f}  error {abs(generic - EXACT):.1e}  "
            f"in {t_generic:.2f} s ({k} types): {t_generic / t_solve:.0f}x slower, "
            f"{abs(generic - EXACT) / err_ours:.0e}x less accurate"
        )


if __name__ == "__main__":
    main()
