"""``market compare``: solve and simulate every pricing policy of a scenario on one population.

The policies are the scenario's ``[[policies]]`` or, without them, the default set of
:func:`market.policies.default_policies`. Each is solved (expected revenue, user surplus,
welfare, participation, tokens served) and simulated by the chosen engine on the same users
and the same uniforms (common random numbers); the run folder is the one ``market run``
writes (:func:`market.sim.command.simulate_to_folder`) plus ``compare.json``, the table's rows.
"""

from __future__ import annotations

import argparse
import json
import math

from market.sim.command import (
    PolicyRun,
    _setup,
    _solved,
    _write_json,
    add_population_arguments,
    guarded,
    simulate_to_folder,
)

__all__ = ["add_compare_arguments", "compare_command", "compare_rows", "format_compare"]


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``market compare`` (values are checked by :func:`compare_command`)."""
    add_population_arguments(parser, engine="vectorized")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--plot", action="store_true", help="also write the figures of `market plot` into the run"
    )


def compare_command(args: argparse.Namespace) -> int:
    """Solve and simulate every policy; write a run folder and print a table by revenue."""
    return guarded(_compare, args)


def _compare(args: argparse.Namespace) -> int:
    from market.solve import Solver

    args.policy = None
    scenario, users, seed = _setup(args)
    solver = Solver(scenario)
    policies, first_best = _solved(scenario, lambda: (solver.compared(), solver.first_best))

    figures = []

    def write_rows(folder, runs):
        rows = compare_rows(runs, first_best)
        _write_json(folder / "compare.json", {"first_best_welfare": first_best, "policies": rows})
        if getattr(args, "plot", False):  # inside the folder before it is put in place
            from market.plots import plot_run

            figures.extend(path.name for path in plot_run(folder))

    run_dir, runs = simulate_to_folder(
        args, scenario, policies, first_best, users, seed, extra=write_rows
    )
    rows = compare_rows(runs, first_best)
    if args.json:
        out = {"run_dir": str(run_dir), "first_best_welfare": first_best, "policies": rows}
        print(json.dumps(out))
    else:
        print(f"run: {run_dir}")
        print(
            f"scenario: {scenario.name}, {users} users, seed {seed}, engine {args.engine}; "
            f"first-best welfare {first_best:.6g}"
        )
        print()
        print(format_compare(rows))
        if figures:
            print()
            print("figures: " + ", ".join(figures))
    return 0


def compare_rows(runs: list[PolicyRun], first_best: float) -> list[dict]:
    """One JSON-friendly row per policy, sorted by expected revenue (highest first)."""
    rows = []
    for run in runs:
        policy, real = run.policy, run.realized
        exp = policy.expected
        rows.append(
            {
                "name": policy.name,
                "kind": policy.kind,
                "parameters": getattr(policy, "parameters", {}),
                "expected_revenue": float(exp.revenue),
                "revenue_per_user": real.revenue.mean,
                "revenue_se": _num(real.revenue.se),
                "expected_user_surplus": float(exp.user_surplus),
                "user_surplus_per_user": real.user_surplus.mean,
                "expected_welfare": float(exp.welfare),
                "welfare_per_user": real.welfare.mean,
                "share_of_first_best": float(exp.welfare) / first_best,
                "participation": real.participation,
                "expected_participation": float(getattr(policy, "participation", math.nan)),
                "tokens_per_user": real.mean_tokens,
                "expected_tokens_per_user": float(getattr(policy, "tokens_per_user", math.nan)),
            }
        )
    rows.sort(key=lambda row: -row["expected_revenue"])
    return rows


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def format_compare(rows: list[dict]) -> str:
    """The comparison table, sorted by expected revenue."""
    head = (
        "policy",
        "kind",
        "revenue",
        "realized (± 1.96 se)",
        "user surplus",
        "welfare",
        "of first best",
        "participation",
        "tokens/user",
    )
    body = []
    for row in rows:
        se = row["revenue_se"] or 0.0
        body.append(
            (
                row["name"],
                row["kind"],
                f"{row['expected_revenue']:.6g}",
                f"{row['revenue_per_user']:.6g} ± {1.96 * se:.2g}",
                f"{row['expected_user_surplus']:.6g}",
                f"{row['expected_welfare']:.6g}",
                f"{100 * row['share_of_first_best']:.1f}%",
                f"{100 * row['participation']:.1f}%",
                f"{row['tokens_per_user']:.4g}",
            )
        )
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    lines = []
    for r in [head, *body]:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        "revenue, user surplus, welfare: expected per user (solver); realized: simulated mean; "
        "participation and tokens/user: simulated"
    )
    return "\n".join(lines)
