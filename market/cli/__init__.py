"""The ``market`` command line: a thin layer over the public API (:mod:`market.api`).

::

    market solve SCENARIO [--policy NAME]... [--json]
    market run SCENARIO [--users N] [--seed S] [--engine abm|vectorized] [--policy NAME]...
                        [--out DIR] [--json]
    market compare SCENARIO [same options] [--plot]
    market plot RUN_DIR

One module per command (``add_arguments`` and ``command``); every command runs inside the
one error guard (:func:`market.cli.errors.guard`) with the exit codes there. Building the
parser imports nothing heavy: each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from market.cli.errors import EXIT_USAGE, guard

__all__ = ["COMMANDS", "build_parser", "main"]

#: Subcommand -> (module, one-line help).
COMMANDS = {
    "solve": ("market.cli.solve", "solve every policy of a scenario (nothing simulated)"),
    "run": ("market.cli.run", "simulate a scenario's policies and write a run folder"),
    "compare": (
        "market.cli.compare",
        "solve and simulate every policy on one population; a table by revenue",
    ),
    "plot": ("market.cli.plot", "write the figures of a run folder and print their paths"),
    "dashboard": ("market.cli.dashboard", "explore a scenario in the browser (a Solara app)"),
    "sweep": ("market.cli.sweep", "solve (and simulate) many scenarios, on Dask; a run folder"),
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
    for name, (module, summary) in COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=summary)
        command.set_defaults(module=module)
        importlib.import_module(module).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``market`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    args.command_argv = argv
    return guard(importlib.import_module(args.module).command, args)
