"""From a validated scenario to the paper's objects: the entropy, the urgency law, the greedy
model and the market policies are solved for.

The theory raises errors in its own vocabulary (``sd = ...``, ``token_rate = ...``); here they
are named by the scenario's file and field (``urgency.sd``, ``information.token_rate``).
"""

from __future__ import annotations

import math

from numpy.linalg import LinAlgError

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

__all__ = [
    "SCALES",
    "build_entropy",
    "build_greedy",
    "build_market",
    "build_urgency",
    "check_scale",
    "urgency_of",
]


def _named(scenario: Scenario, field: str, exc: Exception) -> ScenarioError:
    return ScenarioError(f"{scenario.source}: {field}: {exc}")


def build_entropy(scenario: Scenario) -> Entropy:
    """:math:`H` of ``[information]``."""
    info = scenario.information
    try:
        return make_entropy(info.entropy, len(info.prior), info.matrix, info.alpha)
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
    except (ValueError, RuntimeError, ArithmeticError, LinAlgError) as exc:
        raise _named(scenario, field, exc) from None


#: The solver handles urgencies r with r E[tau] in this range: the expected discount
#: exponent of a conversation (beyond it utilities round to 0 or 1 and the numbers fail).
SCALES = (1e-6, 1e6)


def check_scale(scenario: Scenario, entropy: Entropy, urgency) -> None:
    """Refuse a scenario whose time scales the solver cannot resolve, naming the fields.

    :math:`E[\\tau] = (\\sum_\\theta \\mu_0(\\theta)H(e_\\theta) - H(\\mu_0))/\\chi` is the
    expected conversation time (docs/paper-notes.md, "Mean duration"); the urgencies
    :math:`r` must make :math:`r E[\\tau]` neither vanish nor explode.
    """
    info = entropy.information_to_learn(scenario.prior)
    mean = info / scenario.token_rate
    low, high = float(urgency.low), float(urgency.high)
    lo, hi = low * mean, high * mean
    if math.isfinite(lo) and math.isfinite(hi) and SCALES[0] <= lo and hi <= SCALES[1]:
        return
    fields = "information.token_rate" + (
        ", information.matrix" if scenario.information.matrix else ""
    )
    raise ScenarioError(
        f"{scenario.source}: {fields}, urgency: the expected conversation time E[tau] = "
        f"{mean:.3g} (information to learn {info:.3g} / token_rate {scenario.token_rate:.3g}) "
        f"against urgencies in [{low:.3g}, {high:.3g}] gives r E[tau] in [{lo:.3g}, {hi:.3g}]; "
        f"expected within [{SCALES[0]:g}, {SCALES[1]:g}] (rescale time: the token rate and the "
        "urgencies)"
    )


def build_market(scenario: Scenario) -> Market:
    """The market policies are solved for: greedy model, urgency law, report grid, and the
    valuation :math:`q(r)` and cost per token of ``[valuation]`` and ``[costs]``."""
    entropy = build_entropy(scenario)
    urgency = build_urgency(scenario)
    check_scale(scenario, entropy, urgency)
    economics = {}  # Section 4's q(r) and Section 2.1's cost per token, when the file has them
    if scenario.valuation is not None:
        economics["valuation"] = scenario.valuation.build()
    if scenario.costs.per_token > 0:
        economics["cost"] = scenario.costs.per_token
    return Market(
        build_greedy(scenario, entropy),
        urgency,
        entropy=entropy,
        prior=scenario.prior,
        **economics,
    )
