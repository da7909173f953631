"""Figures of a run folder written by ``market run`` (:mod:`market.io.runfolder`).

Each function takes a run folder (or a :class:`RunData` already read from one), writes PNG
files into it and returns their paths:

- :func:`plot_distributions`: ``user_outcomes.png`` (per-user surplus and payment by policy)
  and ``revenue_bootstrap.png`` (revenue per user over 500 resamples of the users, with the
  expected revenue);
- :func:`plot_who_gains`: ``who_gains.png`` (payment, utility, surplus against urgency);
- :func:`plot_menus`: ``menus.png`` (price against token cap);
- :func:`plot_stopping_law`: ``stopping_law.png`` (breakthrough times against f(t));
- :func:`plot_welfare`: ``welfare.png`` (revenue + user surplus + loss = first best);
- :func:`plot_run`: all of the above.

A missing or malformed run folder raises :class:`ValueError` with one line naming the path
and what is missing. ``market plot RUN_DIR`` is :mod:`market.cli.plot`.

This package reads files and draws; it imports nothing from the solver or the simulator.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from market.plots.run_data import RunData

__all__ = [
    "RunData",
    "load_run",
    "plot_distributions",
    "plot_menus",
    "plot_run",
    "plot_stopping_law",
    "plot_welfare",
    "plot_who_gains",
]

#: Where each public name lives. Matplotlib and seaborn load on first use (PEP 562), so that
#: ``market --help`` and ``market plot``'s argument parsing stay fast.
_LAZY = {
    "RunData": "market.plots.run_data",
    "load_run": "market.plots.run_data",
    "plot_distributions": "market.plots.outcomes",
    "plot_who_gains": "market.plots.outcomes",
    "plot_menus": "market.plots.menus",
    "plot_welfare": "market.plots.menus",
    "plot_stopping_law": "market.plots.stopping",
}

#: The figures of :func:`plot_run`, in order.
FIGURES = (
    "plot_distributions",
    "plot_who_gains",
    "plot_menus",
    "plot_stopping_law",
    "plot_welfare",
)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plot_run(run_dir: str | os.PathLike | RunData) -> list[Path]:
    """Every figure of a run folder (read once); returns the PNG paths written, in order."""
    from market.plots.run_data import load_run

    run = load_run(run_dir)
    return [path for name in FIGURES for path in __getattr__(name)(run)]
