"""``market plot RUN_DIR``: write a run folder's figures and print their paths."""

from __future__ import annotations

import argparse

from market.cli.progress import progress_for

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by market run")


def command(args: argparse.Namespace) -> int:
    """Write the figures of a run folder; print their paths, one per line."""
    from market.plots import plot_run  # lazy: matplotlib and seaborn load only for `plot`

    with progress_for(args) as bars:
        paths = plot_run(args.run_dir, progress=plotting_progress(bars))
    for path in paths:
        print(path)
    return 0


def plotting_progress(bars):
    """The ``progress`` callback of :func:`market.plots.plot_run` for a progress display."""
    if bars is None:
        return None
    from market.plots import FIGURE_FILES

    advance = bars.task("plotting", len(FIGURE_FILES))
    return lambda name: advance(1, name)
