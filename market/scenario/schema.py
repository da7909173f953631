r"""Scenario files: one TOML file describes one market (Zhong 2025, Section 2).

A scenario names the primitives of the paper's model and nothing else::

    name = "paper-example"                 # used as a folder name for results
    description = "..."
    seed = 20251012                         # optional: root of every random stream

    [information]
    prior = [0.5, 0.5]                      # μ₀ ∈ Δ(Θ), interior
    entropy = "quadratic"                   # H: "quadratic" | "shannon" | "mahalanobis" | "power"
    token_rate = 0.125                      # χ, the bound in (Info.)
    # matrix = [[...], ...]                 # A of H = ½ μᵀAμ, only for "mahalanobis"
    # alpha = 2.0                           # α ≥ 2 of H = |μ − ½|^α, only for "power" (2 states)

    [urgency]                               # the distribution G of the urgency r
    distribution = "uniform"                # "uniform" | "truncnorm" | "beta" | "mixture"
    low = 1.0                               # r̲ > 0
    high = 2.0                              # r̄ > r̲

    [market]                                # optional, read by the simulator
    users = 10000
    arrival_rate = 1.0
    capacity = 0.5                          # tokens per unit of time; omitted: unlimited
    discipline = "shared"                   # "shared" | "priority", with a capacity
    anticipate = false                      # users choose on the slowdown they will meet

    [users]                                 # optional: "rational" or "logit" choice, noise
    [platform]                              # optional: congestion-aware or learning platform

    [valuation]                             # optional: q(r), what a solved task is worth
    [costs]                                 # optional: per_token, what a token costs
    [units]                                 # optional: currency, time, tokens, value

    [[policies]]                            # optional; validated by the policy layer
    kind = "..."
    name = "..."

A ``truncnorm`` urgency has ``mean``, ``sd``, ``low``, ``high`` (a normal truncated to
``[low, high]``); a ``beta`` urgency has ``a``, ``b``, ``low``, ``high`` (a Beta(a, b) law
rescaled to ``[low, high]``); a ``mixture`` has ``[[urgency.components]]``, each one of the
other three with a ``weight > 0``. ``[users]`` and ``[platform]``: see
:mod:`market.scenario.dynamics`; ``[valuation]``, ``[costs]`` and ``[units]``: see
:mod:`market.scenario.economics`.

:func:`load_scenario` reads and validates a file. Every problem raises :class:`ScenarioError`
with one line naming the file, the field, its value and what was expected, e.g.
``paper.toml: information.token_rate = -1: expected a number > 0``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, PrivateAttr, field_validator, model_validator

from market.scenario.dynamics import LearningSpec, MisperceptionSpec, PlatformSpec, UsersSpec
from market.scenario.economics import CostsSpec, UnitsSpec, ValuationSpec, valuation_problem
from market.scenario.errors import fail as _fail
from market.scenario.schema_base import (
    DEFAULT_SEED,
    NAME_CHARACTERS,
    SYMMETRY_TOLERANCE,
    MarketSpec,
)
from market.scenario.schema_base import Table as _Table
from market.scenario.urgency_tables import (
    BetaComponent,
    BetaUrgency,
    MixtureUrgency,
    TruncNormComponent,
    TruncNormUrgency,
    UniformComponent,
    UniformUrgency,
    UrgencySpec,
)
from market.theory.information import PROBABILITY_TOLERANCE

__all__ = [
    "DEFAULT_SEED",
    "BetaUrgency",
    "InformationSpec",
    "MarketSpec",
    "MixtureUrgency",
    "Scenario",
    "TruncNormUrgency",
    "UniformUrgency",
    "fields_at",
]

# -- [information] ----------------------------------------------------------------------------


class InformationSpec(_Table):
    r"""The ``[information]`` table: the state, the entropy and the token rate.

    Attributes
    ----------
    prior : list of float
        :math:`\mu_0`, interior (every entry > 0), summing to 1 within
        :data:`market.information.PROBABILITY_TOLERANCE`.
    entropy : {"quadratic", "shannon", "mahalanobis"}
        The generalised entropy :math:`H` of (Info.).
    token_rate : float
        :math:`\chi`, the information the model produces per unit of time.
    matrix : list of list of float, optional
        :math:`A` of :math:`H = \tfrac12\mu^\top A\mu`: ``n x n``, symmetric, positive definite;
        required for ``mahalanobis`` and forbidden otherwise.
    alpha : float, optional
        :math:`\alpha \ge 2` of :math:`H = |\mu - \tfrac12|^\alpha` (Section 4, endogenous
        reasoning quality; :mod:`market.theory.softcaps`): required for ``power``, which is
        defined for 2 states only, and forbidden otherwise.
    """

    prior: list[float]
    entropy: Literal["quadratic", "shannon", "mahalanobis", "power"]
    token_rate: float = Field(gt=0)
    matrix: list[list[float]] | None = None
    alpha: float | None = None

    @model_validator(mode="after")
    def _power(self) -> InformationSpec:
        if self.entropy != "power":
            if self.alpha is not None:
                raise _fail(
                    f"expected no alpha when entropy = {self.entropy!r} (only 'power' uses one)",
                    "alpha",
                    self.alpha,
                )
            return self
        if len(self.prior) != 2:
            raise _fail(
                f"expected 2 states with entropy = 'power' (H = |mu - 1/2|^alpha is binary; "
                f"the prior has {len(self.prior)})",
                "entropy",
                "power",
            )
        if self.alpha is None:
            raise _fail("missing (required when entropy = 'power': a number >= 2)", "alpha")
        if not (math.isfinite(self.alpha) and self.alpha >= 2):
            raise _fail("expected a finite number >= 2", "alpha", self.alpha)
        return self

    @field_validator("prior")
    @classmethod
    def _probabilities(cls, prior: list[float]) -> list[float]:
        if len(prior) < 2:
            raise _fail("expected a list of at least 2 probabilities", value=prior)
        for i, p in enumerate(prior):
            if not 0 < p <= 1:
                raise _fail("expected a probability in (0, 1] (the prior must be interior)", i, p)
        total = math.fsum(prior)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise _fail(
                f"expected probabilities summing to 1 (they sum to {total:.12g})", (), prior
            )
        return prior

    @model_validator(mode="after")
    def _matrix(self) -> InformationSpec:
        if self.entropy != "mahalanobis":
            if self.matrix is not None:
                raise _fail(
                    f"expected no matrix when entropy = {self.entropy!r} "
                    "(only 'mahalanobis' uses one)",
                    "matrix",
                )
            return self
        if self.matrix is None:
            raise _fail("missing (required when entropy = 'mahalanobis')", "matrix")
        n = len(self.prior)
        lengths = [len(row) for row in self.matrix]
        if len(lengths) != n or any(k != n for k in lengths):
            got = (
                f"{len(lengths)} x {lengths[0]}"
                if lengths and len(set(lengths)) == 1
                else f"rows of lengths {lengths}"
            )
            raise _fail(
                f"expected a {n} x {n} matrix, one row per state of the prior (got {got})", "matrix"
            )
        a = np.array(self.matrix, dtype=float)
        what = "expected a symmetric positive-definite matrix"
        asym = np.abs(a - a.T)
        if asym.max() > SYMMETRY_TOLERANCE * max(1.0, np.abs(a).max()):
            i, j = np.unravel_index(np.argmax(asym), a.shape)
            raise _fail(
                f"{what} (entry [{i}][{j}] = {a[i, j]:g} but [{j}][{i}] = {a[j, i]:g})", "matrix"
            )
        smallest = float(np.linalg.eigvalsh(a).min())
        if smallest <= 0:
            raise _fail(f"{what} (its smallest eigenvalue is {smallest:.6g})", "matrix")
        return self


# -- the scenario -----------------------------------------------------------------------------


class Scenario(_Table):
    """A validated scenario file (see the module docstring for the format).

    ``raw`` is the parsed TOML, ``source_text`` the file's text and ``source`` its path.
    """

    name: str
    description: str = ""
    seed: int = DEFAULT_SEED
    information: InformationSpec
    urgency_spec: UrgencySpec = Field(alias="urgency")
    market: MarketSpec = MarketSpec()
    users: UsersSpec = UsersSpec()
    platform: PlatformSpec = PlatformSpec()
    valuation: ValuationSpec | None = None
    costs: CostsSpec = CostsSpec()
    units: UnitsSpec | None = None
    policies: list[dict] = []

    _source: str = PrivateAttr(default="<scenario>")
    _raw: dict = PrivateAttr(default_factory=dict)
    _text: str = PrivateAttr(default="")
    _specs: tuple = PrivateAttr(default=())

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        if not name or name.startswith(".") or not set(name) <= NAME_CHARACTERS:
            raise _fail(
                "expected a non-empty name of letters, digits, '-', '_' and '.' "
                "not starting with '.' (it names a results folder)",
                (),
                name,
            )
        return name

    @field_validator("seed")
    @classmethod
    def _non_negative(cls, seed: int) -> int:
        if seed < 0:
            raise _fail("expected an integer >= 0", (), seed)
        return seed

    @model_validator(mode="after")
    def _anticipation(self) -> Scenario:
        if self.platform.anticipate_congestion and not self.market.anticipate:
            raise _fail(
                "expected market.anticipate = true with it (the platform prices the slowdown "
                "users expect)",
                ("platform", "anticipate_congestion"),
                True,
            )
        if self.platform.learning is not None and (
            self.valuation is not None or self.costs.per_token > 0
        ):
            raise _fail(
                "not supported with a [valuation] or a [costs] table (the learning platform "
                "estimates G from the choices users make under Theorem 1's menu, with q = 1 and "
                "tokens free); remove one",
                ("platform", "learning"),
                ...,
            )
        if self.platform.anticipate_congestion and self.valuation is not None:
            raise _fail(
                "not supported with a [valuation] table (a congestion-priced menu treats the "
                "slowdown as urgency, and q(r) would be read at the slowed urgency); remove one",
                ("platform", "anticipate_congestion"),
                True,
            )
        return self

    @model_validator(mode="after")
    def _valuation_on_range(self) -> Scenario:
        if self.valuation is None:
            return self
        spec = self.urgency_spec
        parts = spec.components if isinstance(spec, MixtureUrgency) else [spec]
        low, high = min(p.low for p in parts), max(p.high for p in parts)
        try:
            self.valuation.build().check(low, high)
        except ValueError as err:
            problem = valuation_problem(err)
            raise _fail(problem.context["what"], ("valuation", *problem.context["field"]),
                        problem.context["value"]) from None  # fmt: skip
        return self

    # -- what the file holds --------------------------------------------------------------
    @property
    def source(self) -> str:
        """The file the scenario was read from (as given to :func:`load_scenario`)."""
        return self._source

    @property
    def raw(self) -> dict:
        """The parsed TOML, as :mod:`tomllib` returned it."""
        return self._raw

    @property
    def source_text(self) -> str:
        """The text of the file."""
        return self._text

    @property
    def prior(self) -> NDArray:
        """:math:`\\mu_0` as a float array (a fresh copy, normalised to sum to 1)."""
        prior = np.array(self.information.prior, dtype=float)
        return prior / prior.sum()

    @property
    def token_rate(self) -> float:
        """:math:`\\chi`."""
        return self.information.token_rate

    @property
    def policy_specs(self) -> tuple[dict, ...]:
        """The ``[[policies]]``, validated: ``{"kind", "name", **parameters}`` each (names
        filled in), as :func:`market.pricing.solve_policies` takes them; empty if none."""
        return self._specs


#: The tables of a scenario by their place in the file, for the suggestions of misspelt keys.
_TABLES = {
    (): Scenario,
    ("information",): InformationSpec,
    ("market",): MarketSpec,
    ("users",): UsersSpec,
    ("users", "misperception"): MisperceptionSpec,
    ("platform",): PlatformSpec,
    ("platform", "learning"): LearningSpec,
    ("valuation",): ValuationSpec,
    ("costs",): CostsSpec,
    ("units",): UnitsSpec,
    ("urgency", "uniform"): UniformUrgency,
    ("urgency", "truncnorm"): TruncNormUrgency,
    ("urgency", "beta"): BetaUrgency,
    ("urgency", "mixture"): MixtureUrgency,
}
_COMPONENTS = {
    "uniform": UniformComponent,
    "truncnorm": TruncNormComponent,
    "beta": BetaComponent,
}


def fields_at(loc: tuple) -> list[str] | None:
    """The keys allowed in the table at a pydantic ``loc`` (None if not a known table)."""
    if loc in _TABLES:
        return _TABLES[loc].keys()
    if len(loc) == 5 and loc[:3] == ("urgency", "mixture", "components") and loc[4] in _COMPONENTS:
        return _COMPONENTS[loc[4]].keys()
    return None
