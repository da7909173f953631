"""A progress display on a terminal (rich), for solving, simulating and plotting.

:func:`progress_for` returns None (no display) when stderr is not a terminal or the output is
JSON; otherwise a :class:`TerminalProgress`, whose ``task(description, total)`` returns the
``advance(n=1, label=None)`` callable the API's ``progress`` argument expects.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

__all__ = ["TerminalProgress", "progress_for"]


class TerminalProgress:
    """Bars on stderr, one per task (a rich :class:`~rich.progress.Progress`)."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )

    def task(self, description: str, total: int):
        task = self._bars.add_task(description, total=total)

        def advance(n: int = 1, label: str | None = None) -> None:
            text = f"{description}: {label}" if label else description
            self._bars.update(task, advance=n, description=text)

        return advance

    def __enter__(self):
        self._bars.start()
        return self

    def __exit__(self, *exc):
        self._bars.stop()
        return False


@contextmanager
def progress_for(args):
    """A :class:`TerminalProgress` on a terminal without ``--json``; else None."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        yield None
        return
    with TerminalProgress() as bars:
        yield bars
