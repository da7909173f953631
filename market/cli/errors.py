"""The one error guard of the command line, and its exit codes.

Every command runs inside :func:`guard`: a mistake in a scenario, a policy or an option
becomes ``error: <what>`` lines on stderr and exit status 2, with nothing written; Ctrl-C,
SIGTERM and SIGHUP end the command cleanly (no partial output); numpy's warnings are never
shown. ``--traceback`` shows the full traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Interrupted",
    "UsageError",
    "guard",
    "report",
]

#: Exit statuses.
EXIT_OK = 0
#: A mistake in the command line, the scenario or a policy, or a result the tool cannot
#: deliver (as argparse uses).
EXIT_USAGE = 2
#: Stopped by a signal: 128 + its number (SIGINT 130, SIGTERM 143, SIGHUP 129).
EXIT_INTERRUPTED = 128 + signal.SIGINT
#: stdout closed early (128 + SIGPIPE, as a shell reports it).
EXIT_BROKEN_PIPE = 141


class UsageError(ValueError):
    """A bad command-line value (the message names the option, the value and the limit)."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def report(message: str) -> None:
    """Print ``message`` as ``error:`` lines on stderr (one per line of the message)."""
    for line in str(message).splitlines() or [""]:
        print(f"error: {' '.join(line.split())}", file=sys.stderr)


def guard(handler: Callable, args) -> int:
    """Run ``handler(args)`` and turn every failure into ``error:`` lines and an exit status."""
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy/scipy RuntimeWarnings never reach users
            return handler(args)
    except BrokenPipeError:  # the reader of stdout went away (`market solve ... | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        report(f"interrupted by {signal.Signals(signum).name}; nothing was written")
        return 128 + signum
    except Exception as exc:  # noqa: BLE001 - every failure gets one line, never a traceback
        if getattr(args, "traceback", False):
            raise
        report(_message(exc))
        return EXIT_USAGE
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: try fewer users (--users) or fewer policies (--policy)"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())}); please report it"
