"""The dashboard: a Solara app to explore a scenario in the browser (``market dashboard``).

A client of the public API (``import market as mk``), like the command line; nothing in the
package imports it. The page (:mod:`~market.dashboard.app`) has the scenario's controls,
generated from its schema (:mod:`~market.dashboard.fields`, :mod:`~market.dashboard.tables`,
:mod:`~market.dashboard.controls`; the settings and their edits are pure functions in
:mod:`~market.dashboard.settings` and :mod:`~market.dashboard.edits`), the mechanism
(:mod:`~market.dashboard.mechanism`: solved in a background thread,
:mod:`~market.dashboard.solving`), and the market running in Mesa's ``SolaraViz``
(:mod:`~market.dashboard.market_view`). :mod:`~market.dashboard.assets` installs the page's
scripts for machines without access to Solara's CDN.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV", "PAPER_EXAMPLE", "default_scenario"]

#: The environment variable naming the scenario file the page opens on.
ENV = "MARKET_DASHBOARD_SCENARIO"
#: The scenario the page opens on without one: the paper's example.
PAPER_EXAMPLE = Path("scenarios") / "paper_example.toml"


def default_scenario() -> Path | None:
    """The file named by :data:`ENV`, else the paper's example in the current folder's
    ``scenarios/`` or the repository's (None if there is none)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / PAPER_EXAMPLE).is_file():
            return root / PAPER_EXAMPLE
    return None
