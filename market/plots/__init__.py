"""Figures of a run folder written by ``market run`` (:mod:`market.io.runfolder`).

Each figure has a ``draw_*`` function that takes a run folder (or a :class:`RunData` already
read from one) and returns a :class:`matplotlib.figure.Figure` (so tests can inspect its
artists), and a ``plot_*`` function that writes it as PNG into the run folder and returns the
paths written:

- ``user_outcomes.png`` (:func:`draw_user_outcomes`): per-user surplus and payment by policy;
- ``revenue_bootstrap.png`` (:func:`draw_revenue_bootstrap`): revenue per user over 500
  resamples of the users, beside the expected revenue, on one axis for all policies;
  :func:`plot_distributions` writes these two;
- ``who_gains.png`` (:func:`draw_who_gains`, :func:`plot_who_gains`): the solver's payment,
  utility and surplus by urgency, with the simulated means of urgency bins and their counts;
- ``menus.png`` (:func:`draw_menus`, :func:`plot_menus`): each policy's tariff, the least
  payment for the tokens a user uses;
- ``stopping_law.png`` (:func:`draw_stopping_law`, :func:`plot_stopping_law`): breakthrough
  times against the deployed model's density f(t) (not written when no model has one);
- ``welfare.png`` (:func:`draw_welfare`, :func:`plot_welfare`): revenue, user surplus and loss
  as shares of first-best welfare;
- ``load.png`` (:func:`draw_load`, :func:`plot_load`): utilisation of a finite capacity,
  mean slowdown and conversations open over time (only for a run with a capacity);
- ``learning.png`` (:func:`draw_learning`, :func:`plot_learning`): a learning platform's
  estimates and regret by period (only for a run with ``[platform] learning``);
- :func:`plot_run`: all of the above, in this order (:data:`FIGURE_FILES`).

A sweep folder written by ``market sweep`` (:func:`is_sweep_folder`) has its own figures,
:mod:`market.plots.sweep` (``sweep_axes.png``, ``sweep_heatmap.png``: :func:`plot_sweep`);
:func:`plot_run` draws them for such a folder.

A missing or malformed run folder raises :class:`ValueError` with one line naming the path
and what is missing. ``market plot RUN_DIR`` is :mod:`market.cli.plot`.

This package reads files and draws; it imports nothing from the solver or the simulator.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from market.plots.run_data import RunData

__all__ = [
    "FIGURE_FILES",
    "SWEEP_FIGURE_FILES",
    "RunData",
    "draw_learning",
    "draw_load",
    "draw_menus",
    "draw_revenue_bootstrap",
    "draw_stopping_law",
    "draw_sweep_axes",
    "draw_sweep_heatmap",
    "draw_user_outcomes",
    "draw_welfare",
    "draw_who_gains",
    "is_sweep_folder",
    "load_run",
    "load_sweep_run",
    "plot_distributions",
    "plot_learning",
    "plot_load",
    "plot_menus",
    "plot_run",
    "plot_stopping_law",
    "plot_sweep",
    "plot_welfare",
    "plot_who_gains",
]

#: Where each public name lives. Matplotlib and seaborn load on first use (PEP 562), so that
#: ``market --help`` and ``market plot``'s argument parsing stay fast.
_LAZY = {
    "RunData": "market.plots.run_data",
    "load_run": "market.plots.run_data",
    "draw_user_outcomes": "market.plots.outcomes",
    "plot_distributions": "market.plots.outcomes",
    "draw_revenue_bootstrap": "market.plots.bootstrap",
    "draw_who_gains": "market.plots.who_gains",
    "plot_who_gains": "market.plots.who_gains",
    "draw_menus": "market.plots.menus",
    "plot_menus": "market.plots.menus",
    "draw_stopping_law": "market.plots.stopping",
    "plot_stopping_law": "market.plots.stopping",
    "draw_welfare": "market.plots.welfare",
    "plot_welfare": "market.plots.welfare",
    "draw_load": "market.plots.load",
    "plot_load": "market.plots.load",
    "draw_learning": "market.plots.learning",
    "draw_run_learning": "market.plots.learning",
    "plot_learning": "market.plots.learning",
    "is_sweep_folder": "market.plots.sweep_data",
    "load_sweep_run": "market.plots.sweep_data",
    "SWEEP_FIGURE_FILES": "market.plots.sweep",
    "draw_sweep_axes": "market.plots.sweep",
    "draw_sweep_heatmap": "market.plots.sweep",
    "plot_sweep": "market.plots.sweep",
}

#: The figures of :func:`plot_run`, in order: file name and the function drawing it.
FIGURES = (
    ("user_outcomes.png", "draw_user_outcomes"),
    ("revenue_bootstrap.png", "draw_revenue_bootstrap"),
    ("who_gains.png", "draw_who_gains"),
    ("menus.png", "draw_menus"),
    ("stopping_law.png", "draw_stopping_law"),
    ("welfare.png", "draw_welfare"),
    ("load.png", "draw_load"),
    ("learning.png", "draw_run_learning"),
)
#: The files :func:`plot_run` writes, in order (``stopping_law.png`` only when a deployed
#: model has a density, ``load.png`` only with a finite capacity, ``learning.png`` only with
#: a learning platform).
FIGURE_FILES = tuple(file for file, _ in FIGURES)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plot_run(
    run_dir: str | os.PathLike | RunData, progress: Callable[[str], object] | None = None
) -> list[Path]:
    """Every figure of a run folder (read once); returns the PNG paths written, in order.

    Parameters
    ----------
    run_dir : path or RunData
        The run folder.
    progress : callable, optional
        Called with each figure's file name (``"menus.png"``) after it is written.

    Raises
    ------
    ValueError
        One line naming the path, when the run folder is missing or malformed.
    """
    from market.plots.run_data import RunData, load_run
    from market.plots.style import save_png
    from market.plots.sweep_data import is_sweep_folder

    if not isinstance(run_dir, RunData) and is_sweep_folder(run_dir):
        from market.plots.sweep import plot_sweep

        return plot_sweep(run_dir, progress=progress)
    run = load_run(run_dir)
    written = []
    for file, draw in FIGURES:
        fig = __getattr__(draw)(run)
        if fig is None:  # no figure of this kind for this run
            continue
        written.append(save_png(fig, run.path / file))
        if progress is not None:
            progress(file)
    return written
