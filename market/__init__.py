"""token-market: pricing access to generative-AI models (Zhong, "Token Is All You Price").

The public API (``import market as mk``)::

    scenario = mk.load_scenario("scenarios/paper_example.toml")
    solution = mk.solve(scenario)                 # every policy, solved: mk.Solution
    solution["optimal token menu"].plans()        # what it sells
    run = mk.simulate(scenario, users=10_000, seed=1, engine="vectorized")
    run.summary                                   # realised beside expected
    run.save("runs")                              # the atomic run folder
    mk.compare(scenario, users=10_000, seed=1)    # the comparison table

Layers, imports pointing one way (down): :mod:`market.theory` (the paper's mathematics) and
:mod:`market.numerics` <- :mod:`market.pricing` (plans, menus, policy solvers) <-
:mod:`market.scenario` (files) <- :mod:`market.sim` (the market) <- :mod:`market.io`,
:mod:`market.plots`, :mod:`market.cli` and this API. Names load on first use, so
``import market`` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported on first use, PEP 562).
_EXPORTS = {
    "load_scenario": "market.scenario",
    "parse_scenario": "market.scenario",
    "scenario_from_dict": "market.scenario",
    "Scenario": "market.scenario",
    "ScenarioError": "market.scenario",
    "solve": "market.api",
    "simulate": "market.api",
    "compare": "market.api",
    "ENGINES": "market.api",
    "Solution": "market.pricing",
    "SolvedPolicy": "market.pricing",
    "Unavailable": "market.pricing",
    "Run": "market.run",
    "learn": "market.api",
    "Learning": "market.sim.learning",
    "LiveMarket": "market.sim.live",
    "default_policies": "market.pricing",
    "sweep": "market.sweep",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'market' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
