"""The look of every figure, its units, and how a figure is written.

Figures are :class:`matplotlib.figure.Figure` objects drawn on an Agg canvas, never through
:mod:`matplotlib.pyplot`: nothing is shown, no global figure list grows, and a figure is
released when it goes out of scope. Seaborn's style is applied only while a figure is drawn
or written (:func:`styled`), so importing this module changes no global setting. A PNG is
written to a hidden temporary sibling and renamed into place, so a reader never sees half a
file.

Each policy has one colour and one marker (:func:`policy_colors`, :func:`policy_markers`),
the same in every figure of a run: the ten colours of matplotlib's ``tab10`` (distinct hues),
and ten marker shapes, so that policies stay apart also in grey or to a colour-blind reader.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from market.plots.run_data import Units

__all__ = [
    "DPI",
    "MIN_WIDTH",
    "PAYMENT_UNIT",
    "PAYMENT_UNIT_SHORT",
    "TIME_UNIT",
    "URGENCY_LABEL",
    "figure",
    "payment_unit",
    "policy_colors",
    "policy_markers",
    "save_png",
    "styled",
    "time_unit",
    "token_unit",
]

#: Resolution of the PNG files.
DPI = 150
#: Narrowest figure (inches): room for a figure title over a single panel.
MIN_WIDTH = 8.0

#: Axis units. Utilities, payments and surpluses are in units of the value of a solved task
#: (a user of urgency r values a breakthrough at time t at e^{-rt}); time is the model's clock.
PAYMENT_UNIT = "value of a solved task = 1"
#: Short form, for axes that share a figure.
PAYMENT_UNIT_SHORT = "task value = 1"
TIME_UNIT = "model time units"
URGENCY_LABEL = "urgency r (discount rate per model time unit)"

_STYLE = "whitegrid"
_CONTEXT = "notebook"
#: Ten distinct hues; beyond ten policies, evenly spaced hues.
_PALETTE = "tab10"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")


def payment_unit(units: Units, short: bool = False) -> str:
    """Unit of payments for an axis label: the run's currency (``units of 0.5 USD`` when a
    solved task is worth 0.5 USD: the columns are in model units), else the value of a task."""
    if units.currency:
        if units.value != 1:
            return f"units of {units.value:,.6g} {units.currency}"
        return units.currency
    return PAYMENT_UNIT_SHORT if short else PAYMENT_UNIT


def token_unit(units: Units) -> str:
    """Unit of tokens for an axis label: ``tokens``, or ``units of 1,000 tokens``."""
    if units.tokens_per_unit == 1:
        return "tokens"
    return f"units of {units.tokens_per_unit:,.6g} tokens"


def time_unit(units: Units) -> str:
    """Unit of time for an axis label: the run's unit, else the model's clock."""
    return units.time or TIME_UNIT


def policy_colors(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per policy, in the run's order, the same in every figure of a run."""
    colors = sns.color_palette(_PALETTE, max(len(names), 1))
    if len(names) > len(colors):
        colors = sns.color_palette("husl", len(names))
    return {name: colors[i] for i, name in enumerate(names)}


def policy_markers(names: Sequence[str]) -> dict[str, str]:
    """One marker shape per policy, in the run's order (cycled beyond ten)."""
    return {name: _MARKERS[i % len(_MARKERS)] for i, name in enumerate(names)}


@contextmanager
def styled() -> Iterator[None]:
    """Seaborn's style and context, for as long as the block runs."""
    with sns.axes_style(_STYLE), sns.plotting_context(_CONTEXT):
        yield


@contextmanager
def figure(path: Path | None, *, width: float, height: float, **subplots) -> Iterator[tuple]:
    """Draw a figure in seaborn's style, and write it to ``path`` as PNG unless it is None.

    Yields ``(fig, axes)`` with ``axes = fig.subplots(**subplots)``, a constrained layout and
    the given size in inches; on leaving the block the figure is saved (:func:`save_png`)
    when ``path`` is given.
    """
    with styled():
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(**subplots)
        yield fig, axes
        if path is not None:
            save_png(fig, path)


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary sibling, then rename); return ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        with styled():
            fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
