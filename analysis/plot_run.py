"""Write the figures of a run folder (``market run``); the same as ``market plot RUN_DIR``.

::

    python analysis/plot_run.py RUN_DIR

Prints the PNG files written, one per line; a missing or malformed run folder prints one line
``error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from market.cli import main as market


def main(argv: Sequence[str] | None = None) -> int:
    return market(["plot", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
