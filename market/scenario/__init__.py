"""Scenario files: one TOML file describes one market (Zhong 2025, Section 2).

- :mod:`~market.scenario.schema`: the format, validated by pydantic;
- :mod:`~market.scenario.policies`: the ``[[policies]]`` tables;
- :mod:`~market.scenario.errors`: one line per problem, every problem at once;
- :mod:`~market.scenario.load`: reading a file, TOML text or a dictionary;
- :mod:`~market.scenario.build`: the paper's objects of a scenario (entropy, urgency law,
  greedy model, the market policies are solved for).
"""

from market.scenario.build import build_entropy, build_greedy, build_market, build_urgency
from market.scenario.errors import ScenarioError
from market.scenario.load import load_scenario, parse_scenario, scenario_from_dict
from market.scenario.schema import DEFAULT_SEED, Scenario

__all__ = [
    "DEFAULT_SEED",
    "Scenario",
    "ScenarioError",
    "build_entropy",
    "build_greedy",
    "build_market",
    "build_urgency",
    "load_scenario",
    "parse_scenario",
    "scenario_from_dict",
]
