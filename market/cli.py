"""The ``market`` command line.

::

    market solve SCENARIO [--json]

Each subcommand is an entry of :data:`COMMANDS`: a function adding its arguments to an
:class:`argparse.ArgumentParser` and a handler taking the parsed arguments and returning the
exit status. A mistake in a scenario (any :class:`ValueError` raised while building from it,
which includes :class:`~market.scenario.ScenarioError`,
:class:`~market.information.AssumptionViolation` and ``UrgencyError``) is reported as one line
``error: <message>`` on stderr with exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

import numpy as np

from market.results import MenuRow, PolicySolution, Solution
from market.scenario import ScenarioError, load_scenario

__all__ = ["COMMANDS", "EXIT_USAGE", "build_parser", "format_solution", "main"]

#: Exit status for a mistake in the command line or the scenario (as argparse uses).
EXIT_USAGE = 2
#: Exit status when stdout is closed early (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141

#: Significant digits of the numbers printed in tables.
DIGITS = 7

#: Number of menu rows shown per policy in the table view.
MENU_ROWS_SHOWN = 9


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.{DIGITS}g}"


# -- market solve -----------------------------------------------------------------------------


def _solve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--json", action="store_true", help="print the solution as JSON")


def _solve_command(args: argparse.Namespace) -> int:
    """Solve a scenario: revenue, welfare and menu of each policy."""
    scenario = load_scenario(args.scenario)
    from market.solve import solve  # lazy: the solver is heavier than the command line

    try:
        solution = solve(scenario)
    except ScenarioError:
        raise
    except ValueError as exc:
        # Name the scenario: the solver's own errors do not know which file they came from.
        raise ScenarioError(f"{scenario.source}: {exc}") from exc
    if args.json:
        print(json.dumps(solution.to_dict()))
    else:
        print(format_solution(solution))
    return 0


def format_solution(solution: Solution) -> str:
    """The readable view of ``market solve``: policies, the model, and a sample of each menu."""
    fb = solution.first_best_welfare
    rows = [
        [
            p.name,
            p.kind,
            _num(p.revenue),
            _num(p.user_surplus),
            _num(p.welfare),
            _num(p.welfare / fb) if fb > 0 else "-",
        ]
        for p in solution.policies
    ]
    headers = ["policy", "kind", "revenue", "user surplus", "welfare", "share of first-best"]
    switch = ", ".join(_num(t) for t in solution.switch_times)
    lines = [
        f"scenario: {solution.scenario}",
        "",
        _table(headers, rows, numeric_from=2),
        "",
        f"first-best welfare: {_num(fb)}",
        f"model: switch times [{switch}], stationary rate {_num(solution.stationary_rate)}, "
        f"E[tau] = {_num(solution.expected_time)}",
    ]
    for policy in solution.policies:
        lines += ["", _menu_view(policy)]
    return "\n".join(lines)


def _menu_view(policy: PolicySolution) -> str:
    menu = policy.menu
    if not menu:
        return f"menu of {policy.name}: (empty)"
    picks = np.unique(np.linspace(0, len(menu) - 1, min(MENU_ROWS_SHOWN, len(menu))).round())
    rows = [_menu_cells(menu[int(i)]) for i in picks]
    title = f"menu of {policy.name} ({len(picks)} of {len(menu)} rows):"
    return title + "\n" + _table(["urgency", "token cap", "price"], rows, numeric_from=0, indent=2)


def _menu_cells(row: MenuRow) -> list[str]:
    if not row.served:
        cap = "not served"
    elif row.token_cap is None or not np.isfinite(row.token_cap):
        cap = "unlimited"
    else:
        cap = _num(row.token_cap)
    return [_num(row.urgency), cap, _num(row.price)]


def _table(headers: list[str], rows: list[list[str]], numeric_from: int, indent: int = 0) -> str:
    """Columns padded to their widest; those from ``numeric_from`` on are right-aligned."""
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if j >= numeric_from else c.ljust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return " " * indent + "  ".join(out).rstrip()

    return "\n".join([line(headers)] + [line(r) for r in rows])


# -- the command line -------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace], int]


#: Subcommand name -> (function adding its arguments, handler returning the exit status).
#: A handler's help text is the first line of its docstring.
def _run_arguments(parser: argparse.ArgumentParser) -> None:
    from market.sim.command import add_run_arguments

    add_run_arguments(parser)


def _run_command(args: argparse.Namespace) -> int:
    """Simulate a scenario's policies; write a run folder and print a summary."""
    from market.sim.command import run_command  # lazy: SimPy and Mesa load only for `run`

    return run_command(args)


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    from market.sim.compare import add_compare_arguments

    add_compare_arguments(parser)


def _compare_command(args: argparse.Namespace) -> int:
    """Solve and simulate every pricing policy; print a table sorted by revenue."""
    from market.sim.compare import compare_command

    return compare_command(args)


def _plot_arguments(parser: argparse.ArgumentParser) -> None:
    from market.plots import add_plot_arguments

    add_plot_arguments(parser)


def _plot_command(args: argparse.Namespace) -> int:
    """Write the figures of a run folder and print their paths."""
    from market.plots import plot_command  # lazy: seaborn loads only for `plot`

    return plot_command(args)


COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Handler]] = {
    "solve": (_solve_arguments, _solve_command),
    "run": (_run_arguments, _run_command),
    "compare": (_compare_arguments, _compare_command),
    "plot": (_plot_arguments, _plot_command),
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``market`` with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="market", description="Pricing access to generative-AI models (Zhong 2025)."
    )
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add_arguments, handler) in COMMANDS.items():
        summary = (handler.__doc__ or "").strip().split("\n")[0] or None
        command = sub.add_parser(name, help=summary, description=summary)
        add_arguments(command)
        command.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``market`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except ValueError as exc:
        if args.traceback:
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout went away (`market solve ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
