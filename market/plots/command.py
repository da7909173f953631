"""``market plot RUN_DIR``: write a run folder's figures and print their paths.

A missing or malformed run folder prints one line ``error: <path>: <what is missing>`` on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["EXIT_USAGE", "add_plot_arguments", "plot_command"]

#: Exit status for a mistake in the command line or the run folder (as argparse uses).
EXIT_USAGE = 2


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``market plot``."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by market run")


def plot_command(args: argparse.Namespace) -> int:
    """Write the figures of a run folder; print their paths, one per line."""
    from market.plots import plot_run  # lazy: the package imports this module

    try:
        paths = plot_run(args.run_dir)
    except ValueError as exc:
        if getattr(args, "traceback", False):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    for path in paths:
        print(path)
    return 0
