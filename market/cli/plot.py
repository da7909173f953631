"""``market plot RUN_DIR``: write a run folder's figures and print their paths.

A sweep folder (written by ``market sweep``) gets the sweep's figures
(:func:`market.plots.sweep.plot_sweep`)."""

from __future__ import annotations

import argparse

from market.cli.progress import progress_for

__all__ = ["add_arguments", "command"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run folder written by market run (or market sweep)"
    )


def command(args: argparse.Namespace) -> int:
    """Write the figures of a run folder; print their paths, one per line."""
    from market.plots import plot_run  # lazy: matplotlib and seaborn load only for `plot`

    with progress_for(args) as bars:
        paths = plot_run(args.run_dir, progress=plotting_progress(bars, args.run_dir))
    for path in paths:
        print(path)
    return 0


def plotting_progress(bars, run_dir=None):
    """The ``progress`` callback of :func:`market.plots.plot_run` for a progress display."""
    if bars is None:
        return None
    from market.plots import FIGURE_FILES, SWEEP_FIGURE_FILES, is_sweep_folder

    sweep = run_dir is not None and is_sweep_folder(run_dir)
    advance = bars.task("plotting", len(SWEEP_FIGURE_FILES if sweep else FIGURE_FILES))
    return lambda name: advance(1, name)
