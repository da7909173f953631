"""Write the figures of a run folder (``market run``); the same as ``market plot RUN_DIR``.

::

    python analysis/plot_run.py RUN_DIR

Prints the PNG files written, one per line; a missing or malformed run folder prints one line
``error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from market.plots import add_plot_arguments, plot_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plot_run.py", description=__doc__.split("\n")[0])
    add_plot_arguments(parser)
    return plot_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
