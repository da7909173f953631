"""``market compare SCENARIO [...] [--plot]``: every policy solved and simulated on one
population, a table sorted by expected profit (= revenue without a token cost; default
engine: vectorized).

The run folder is the one ``market run`` writes; ``--plot`` also writes the figures of
``market plot`` into it before it is put in place.
"""

from __future__ import annotations

import argparse
import json

from market.cli.format import Shown, costly, num, table
from market.cli.options import add_population_arguments
from market.cli.plot import plotting_progress
from market.cli.progress import progress_for
from market.cli.run import _json_safe, _unavailable, note_stale, simulated

__all__ = ["add_arguments", "command", "compare_table"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_population_arguments(parser, engine="vectorized")
    parser.add_argument(
        "--plot", action="store_true", help="also write the figures of `market plot` into the run"
    )


def command(args: argparse.Namespace) -> int:
    """Solve and simulate every policy; write a run folder and print a table by revenue."""
    with progress_for(args) as progress:
        run = simulated(args, progress, learning=False)
        plotting = plotting_progress(progress) if args.plot else None
        run_dir = run.save(args.out, figures=args.plot, progress=plotting, stale=note_stale)
    fb = run.solution.first_best_welfare
    rows = run.compare_rows()
    if args.json:
        out = {"run_dir": str(run_dir), "first_best_welfare": fb, "policies": rows}
        if run.solution.units is not None:
            out["units"] = run.solution.units.describe()
        print(json.dumps(_json_safe({**out, **_unavailable(run)}), allow_nan=False))
        return 0
    print(f"run: {run_dir}")
    print(f"scenario: {run.scenario.name}, {run.users_count} users, seed {run.seed}, "
          f"engine {run.engine}; first-best welfare {fb:.6g}")  # fmt: skip
    print()
    print(compare_table(run))
    if args.plot:
        figures = sorted(p.name for p in run_dir.glob("*.png"))
        print()
        print("figures: " + ", ".join(figures))
    return 0


def _cap(value) -> str:
    return value if isinstance(value, str) else num(value, 4)


def _parameters(parameters: dict) -> str:
    """Solved or fixed plan parameters, short: ``caps [0.12, unlimited] prices [0.1, 0.2]``."""
    parts = []
    for key, value in parameters.items():
        if key == "plans":
            parts.append("; ".join(f"{p['name']}: {_cap(p['token_cap'])} for {num(p['price'], 4)}"
                                   for p in value))  # fmt: skip
        elif isinstance(value, list):
            shown = ", ".join(_cap(v) for v in value)
            parts.append(f"{key} [{shown}]")
        elif key != "count":
            parts.append(f"{key} {num(value, 4)}")
    return " ".join(parts) or "-"


def compare_table(run) -> str:
    """The comparison table, sorted by expected profit (revenue without a token cost), with
    each policy's parameters; with a cost, the cost and profit columns; with ``[units]``,
    money in the currency and tokens as real tokens."""
    shown = Shown(run.solution.units)
    with_cost = costly(run.solution.policies)
    money = shown.label
    head = ["policy", "kind", money("revenue"), "realized (± 1.96 se)"]
    head += [money("cost"), money("profit"), "realized (± 1.96 se)"] if with_cost else []
    head += [money("user surplus"), money("welfare"), "of first best", "participation",
             "tokens/user", "parameters"]  # fmt: skip
    body = []
    for row in run.compare_rows():
        share = row["share_of_first_best"]
        line = [row["name"], row["kind"], shown.money(row["expected_revenue"], 6),
                _realized(shown, row["revenue_per_user"], row["revenue_se"])]  # fmt: skip
        if with_cost:
            line += [shown.money(row["expected_cost"], 6), shown.money(row["expected_profit"], 6),
                     _realized(shown, row["profit_per_user"], row["profit_se"])]  # fmt: skip
        line += [
            shown.money(row["expected_user_surplus"], 6),
            shown.money(row["expected_welfare"], 6),
            "n/a" if share is None else f"{100 * share:.1f}%",
            f"{100 * row['participation']:.1f}%",
            shown.tokens(row["tokens_per_user"]),
            _parameters(row["parameters"]),
        ]
        body.append(line)
    body += [[f"{u.name} ({u.kind}): not applicable: {u.reason}"] for u in run.solution.unavailable]
    measures = "revenue, cost, profit" if with_cost else "revenue"
    notes = [
        f"{measures}, user surplus, welfare: expected per user (solver); realized: simulated "
        "mean; participation and tokens/user: simulated",
        *shown.note(),
    ]
    if shown.units is not None:
        notes.append("parameters are in model units (as the scenario writes them)")
    return table(head, body, numeric_from=2, rule=True, left=(len(head) - 1,)) + (
        "\n\n" + "\n".join(notes)
    )


def _realized(shown: Shown, mean: float, se: float | None) -> str:
    half = f" ± {shown.money(1.96 * se, 2)}" if se is not None else " (n/a)"
    return shown.money(mean, 6) + half
