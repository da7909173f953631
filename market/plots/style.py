"""The look of every figure, and how a figure is written.

Figures are :class:`matplotlib.figure.Figure` objects drawn on an Agg canvas, never through
:mod:`matplotlib.pyplot`: nothing is shown, no global figure list grows, and a figure is
released when it goes out of scope. Seaborn's style is applied only while a figure is drawn
(:func:`figure`), so importing this module changes no global setting. A PNG is written to a
hidden temporary sibling and renamed into place, so a reader never sees half a file.
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

__all__ = [
    "DPI",
    "MIN_WIDTH",
    "PAYMENT_UNIT",
    "PAYMENT_UNIT_SHORT",
    "TIME_UNIT",
    "URGENCY_LABEL",
    "figure",
    "policy_colors",
    "save_png",
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
_PALETTE = "colorblind"


def policy_colors(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per policy, in the run's order, the same in every figure of a run."""
    colors = sns.color_palette(_PALETTE, max(len(names), 1))
    if len(names) > len(colors):  # pragma: no cover - the palette cycles at 10
        colors = sns.color_palette("husl", len(names))
    return {name: colors[i] for i, name in enumerate(names)}


@contextmanager
def figure(path: Path, *, width: float, height: float, **subplots) -> Iterator[tuple]:
    """Draw a figure in seaborn's style and write it to ``path`` as PNG.

    Yields ``(fig, axes)`` with ``axes = fig.subplots(**subplots)``, a constrained layout and
    the given size in inches; on leaving the block the figure is saved (:func:`save_png`).
    """
    with sns.axes_style(_STYLE), sns.plotting_context(_CONTEXT):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(**subplots)
        yield fig, axes
        save_png(fig, path)


def save_png(fig: Figure, path: Path) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary sibling, then rename); return ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        fig.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
