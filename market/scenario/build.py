"""From a validated scenario to the paper's objects: the entropy, the urgency law, the greedy
model and the market policies are solved for.

The theory raises errors in its own vocabulary (``sd = ...``, ``token_rate = ...``); here they
are named by the scenario's file and field (``urgency.sd``, ``information.token_rate``).
"""

from __future__ import annotations

from market.pricing.market import Market
from market.scenario.errors import ScenarioError
from market.scenario.schema import (
    BetaUrgency,
    MixtureUrgency,
    Scenario,
    TruncNormUrgency,
    UniformUrgency,
)
from market.theory.greedy import GreedyModel
from market.theory.information import Entropy, make_entropy
from market.theory.urgency import Beta, Mixture, TruncNormal, Uniform, UrgencyDistribution

__all__ = ["build_entropy", "build_greedy", "build_market", "build_urgency", "urgency_of"]


def _named(scenario: Scenario, field: str, exc: Exception) -> ScenarioError:
    return ScenarioError(f"{scenario.source}: {field}: {exc}")


def build_entropy(scenario: Scenario) -> Entropy:
    """:math:`H` of ``[information]``."""
    info = scenario.information
    try:
        return make_entropy(info.entropy, len(info.prior), info.matrix)
    except ValueError as exc:
        raise _named(scenario, "information", exc) from None


def urgency_of(spec) -> UrgencyDistribution:
    """The urgency law of a validated ``[urgency]`` table (or mixture component)."""
    if isinstance(spec, UniformUrgency):
        return Uniform(spec.low, spec.high)
    if isinstance(spec, TruncNormUrgency):
        return TruncNormal(spec.mean, spec.sd, spec.low, spec.high)
    if isinstance(spec, BetaUrgency):
        return Beta(spec.a, spec.b, spec.low, spec.high)
    if isinstance(spec, MixtureUrgency):
        return Mixture([(c.weight, urgency_of(c)) for c in spec.components])
    raise TypeError(f"not an urgency table: {spec!r}")  # pragma: no cover


def build_urgency(scenario: Scenario) -> UrgencyDistribution:
    """:math:`G` of ``[urgency]``."""
    try:
        return urgency_of(scenario.urgency_spec)
    except ValueError as exc:
        raise _named(scenario, "urgency", exc) from None


def build_greedy(scenario: Scenario, entropy: Entropy | None = None) -> GreedyModel:
    """The greedy exploration model of ``[information]`` (Definition 1)."""
    entropy = build_entropy(scenario) if entropy is None else entropy
    field = "information.matrix" if scenario.information.matrix else "information.entropy"
    try:
        return GreedyModel(entropy, scenario.prior, scenario.token_rate)
    except ValueError as exc:
        raise _named(scenario, field, exc) from None


def build_market(scenario: Scenario) -> Market:
    """The market policies are solved for: greedy model, urgency law, report grid."""
    entropy = build_entropy(scenario)
    return Market(
        build_greedy(scenario, entropy),
        build_urgency(scenario),
        entropy=entropy,
        prior=scenario.prior,
    )
