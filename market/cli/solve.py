"""``market solve SCENARIO [--policy NAME]... [--json]``: every policy solved, nothing simulated.

Prints the policies (revenue, user surplus, welfare, share of first best, participation,
tokens per user), those that do not apply with the reason, the greedy model, and what each
policy sells (plans, or a sample of a schedule, with any pooled types). ``--json`` prints
:meth:`market.pricing.Solution.to_dict`. Imports neither Mesa, SimPy, matplotlib nor pyarrow.
"""

from __future__ import annotations

import argparse
import json

from market.cli.format import solution_view
from market.cli.options import add_policy_arguments
from market.cli.progress import progress_for

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (TOML)")
    add_policy_arguments(parser)


def command(args: argparse.Namespace) -> int:
    """Solve every policy of a scenario (nothing simulated); print them."""
    from market.api import select_specs, solve
    from market.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    select_specs(scenario, args.policy, option="--policy")
    with progress_for(args) as progress:
        solution = solve(scenario, args.policy, progress=progress)
    if args.json:
        print(json.dumps(solution.to_dict(), allow_nan=False))
    else:
        print(solution_view(solution))
    return 0
