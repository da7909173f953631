"""``market plot RUN_DIR``: write a run folder's figures and print their paths."""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by market run")


def command(args: argparse.Namespace) -> int:
    """Write the figures of a run folder; print their paths, one per line."""
    from market.plots import plot_run  # lazy: matplotlib and seaborn load only for `plot`

    for path in plot_run(args.run_dir):
        print(path)
    return 0
