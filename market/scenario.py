r"""Scenario files: one TOML file describes one market (Zhong 2025, Section 2).

A scenario names the primitives of the paper's model and nothing else::

    name = "paper-example"                 # used as a folder name for results
    description = "..."
    seed = 20251012                         # optional: root of every random stream

    [information]
    prior = [0.5, 0.5]                      # μ₀ ∈ Δ(Θ), interior
    entropy = "quadratic"                   # H: "quadratic" | "shannon" | "mahalanobis"
    token_rate = 0.125                      # χ, the bound in (Info.)
    # matrix = [[...], ...]                 # A of H = ½ μᵀAμ, only for "mahalanobis"

    [urgency]                               # the distribution G of the urgency r
    distribution = "uniform"                # "uniform" | "truncnorm" | "beta" | "mixture"
    low = 1.0                               # r̲ > 0
    high = 2.0                              # r̄ > r̲

    [market]                                # optional, read by the simulator
    users = 10000
    arrival_rate = 1.0

    [[policies]]                            # optional; validated by the policy layer
    kind = "..."
    name = "..."

A ``truncnorm`` urgency has ``mean``, ``sd``, ``low``, ``high`` (a normal truncated to
``[low, high]``); a ``beta`` urgency has ``a``, ``b``, ``low``, ``high`` (a Beta(a, b) law
rescaled to ``[low, high]``); a ``mixture`` has ``[[urgency.components]]``, each one of the
other three with a ``weight > 0``.

:func:`load_scenario` reads and validates a file. Every problem raises :class:`ScenarioError`
with one line naming the file, the field, its value and what was expected, e.g.
``paper.toml: information.token_rate = -1: expected a number > 0``.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from market.information import PROBABILITY_TOLERANCE, Entropy, make_entropy

__all__ = [
    "DEFAULT_SEED",
    "BetaUrgency",
    "InformationSpec",
    "MarketSpec",
    "MixtureUrgency",
    "PolicySpec",
    "Scenario",
    "ScenarioError",
    "TruncNormUrgency",
    "UniformUrgency",
    "load_scenario",
    "parse_scenario",
]

#: Root seed when a scenario gives none (the date of the paper, October 12, 2025).
DEFAULT_SEED = 20251012

#: Characters allowed in a scenario name, so that it can name a results folder.
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

#: Relative tolerance for a symmetric matrix, as :class:`market.information.Mahalanobis` uses.
SYMMETRY_TOLERANCE = 1e-12

#: A value longer than this is shortened in error messages.
MAX_SHOWN = 80


class ScenarioError(ValueError):
    """A scenario file cannot be read or is not a valid scenario (one-line message)."""


def _fail(what: str, field: tuple | str = (), value: Any = ...) -> PydanticCustomError:
    """An error for :func:`_format_error`: ``<loc>.<field> = <value>: <what>``."""
    field = (field,) if isinstance(field, str | int) else tuple(field)
    return PydanticCustomError("scenario", "{what}", {"what": what, "field": field, "value": value})


class _Table(BaseModel):
    """A TOML table: strict types, no unknown keys, finite numbers, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Checked here rather than by extra="forbid" so the message can list the keys allowed.
        if isinstance(data, dict):
            allowed = [f.alias or name for name, f in cls.model_fields.items()]
            allowed.sort(key=lambda key: key != "distribution")  # the tag first, then in order
            unknown = [key for key in data if key not in allowed]
            if unknown:
                raise PydanticCustomError(
                    "unknown_key", "unknown key", {"key": unknown[0], "allowed": allowed}
                )
        return data


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
    """

    prior: list[float]
    entropy: Literal["quadratic", "shannon", "mahalanobis"]
    token_rate: float = Field(gt=0)
    matrix: list[list[float]] | None = None

    @field_validator("prior")
    @classmethod
    def _probabilities(cls, prior: list[float]) -> list[float]:
        if len(prior) < 2:
            raise _fail("expected a list of at least 2 probabilities", value=prior)
        for i, p in enumerate(prior):
            if p <= 0:
                raise _fail("expected a probability > 0 (the prior must be interior)", i, p)
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


# -- [urgency] --------------------------------------------------------------------------------


class _Interval(_Table):
    """An urgency law on ``[low, high]`` = :math:`[\\underline r, \\bar r]`, ``0 < low < high``."""

    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise _fail(f"expected low < high = {self.high!r}", "low", self.low)
        return self


class UniformUrgency(_Interval):
    """``distribution = "uniform"``: :math:`r \\sim U[\\text{low}, \\text{high}]`."""

    distribution: Literal["uniform"]


class TruncNormUrgency(_Interval):
    """``distribution = "truncnorm"``: ``N(mean, sd**2)`` cut to ``[low, high]``."""

    distribution: Literal["truncnorm"]
    mean: float
    sd: float = Field(gt=0)


class BetaUrgency(_Interval):
    """``distribution = "beta"``: :math:`\\text{low} + (\\text{high}-\\text{low})\\,B(a, b)`."""

    distribution: Literal["beta"]
    a: float = Field(gt=0)
    b: float = Field(gt=0)


class _Weighted(_Table):
    weight: float = Field(gt=0)


class UniformComponent(UniformUrgency, _Weighted):
    """A uniform component of a mixture."""


class TruncNormComponent(TruncNormUrgency, _Weighted):
    """A truncated-normal component of a mixture."""


class BetaComponent(BetaUrgency, _Weighted):
    """A beta component of a mixture."""


Component = Annotated[
    UniformComponent | TruncNormComponent | BetaComponent, Field(discriminator="distribution")
]


class MixtureUrgency(_Table):
    """``distribution = "mixture"``: components drawn with probability proportional to weight."""

    distribution: Literal["mixture"]
    components: list[Component] = Field(min_length=1)


UrgencySpec = Annotated[
    UniformUrgency | TruncNormUrgency | BetaUrgency | MixtureUrgency,
    Field(discriminator="distribution"),
]

#: Loc entries pydantic inserts for the branch of a tagged union; not keys of the file.
_UNION_TAGS = frozenset({"uniform", "truncnorm", "beta", "mixture"})


# -- [market], [[policies]] -------------------------------------------------------------------


class MarketSpec(_Table):
    """The optional ``[market]`` table, read by the simulator.

    Attributes
    ----------
    users : int
        Number of simulated users (>= 1).
    arrival_rate : float
        Rate of the Poisson process of user arrivals (> 0).
    """

    users: int = 10000
    arrival_rate: float = Field(default=1.0, gt=0)

    @field_validator("users")
    @classmethod
    def _positive(cls, users: int) -> int:
        if users < 1:
            raise _fail("expected an integer >= 1", (), users)
        return users


class PolicySpec(BaseModel):
    """One ``[[policies]]`` table: a ``kind`` and a ``name``; other keys belong to the kind."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True, allow_inf_nan=False)

    kind: str = Field(min_length=1)
    name: str = Field(min_length=1)


# -- the scenario -----------------------------------------------------------------------------


class Scenario(_Table):
    """A validated scenario file (see the module docstring for the format).

    ``raw`` is the parsed TOML, ``source_text`` the file's text and ``source`` its path.
    """

    name: str
    description: str
    seed: int = DEFAULT_SEED
    information: InformationSpec
    urgency_spec: UrgencySpec = Field(alias="urgency")
    market: MarketSpec = MarketSpec()
    policies: list[PolicySpec] = []

    _source: str = PrivateAttr(default="<scenario>")
    _raw: dict = PrivateAttr(default_factory=dict)
    _text: str = PrivateAttr(default="")

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

    @field_validator("policies")
    @classmethod
    def _unique_names(cls, policies: list[PolicySpec]) -> list[PolicySpec]:
        seen = set()
        for i, policy in enumerate(policies):
            if policy.name in seen:
                raise _fail("expected a name no other policy has", (i, "name"), policy.name)
            seen.add(policy.name)
        return policies

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

    # -- the mathematical objects ---------------------------------------------------------
    def entropy(self) -> Entropy:
        """The entropy :math:`H` (:func:`market.information.make_entropy`)."""
        info = self.information
        try:
            return make_entropy(info.entropy, len(info.prior), info.matrix)
        except ValueError as exc:
            raise ScenarioError(f"{self._source}: {exc}") from None

    def urgency(self):
        """The urgency distribution :math:`G` (:func:`market.urgency.make_urgency`)."""
        from market.urgency import make_urgency  # lazy: urgency sits beside, not below

        try:
            return make_urgency(self.urgency_spec.model_dump())
        except ValueError as exc:
            raise ScenarioError(f"{self._source}: {exc}") from None


# -- reading ----------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file ``path``.

    Raises
    ------
    ScenarioError
        One line: ``<file>: <field> = <value>: expected <what>``, or a file / TOML problem.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{source}: file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{source}: is a directory, expected a scenario file") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{source}: expected UTF-8 text") from None
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read the file ({exc.strerror})") from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate the TOML ``text`` of a scenario; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: invalid TOML: {_one_line(str(exc))}") from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {_format_error(exc.errors()[0])}") from None
    scenario._source = source
    scenario._raw = raw
    scenario._text = text
    _check_policies(scenario, source)
    return scenario


def _check_policies(scenario: Scenario, source: str) -> None:
    """Each ``[[policies]]`` table is checked by the policy layer, so a bad one fails here."""
    if not scenario.policies:
        return
    from market.policies import parse_policy  # lazy: the policy layer is heavier

    for i, policy in enumerate(scenario.policies):
        try:
            parse_policy(policy.model_dump(), index=i, n_states=len(scenario.prior))
        except ValueError as exc:
            raise ScenarioError(f"{source}: {_one_line(str(exc))}") from None


# -- error messages ---------------------------------------------------------------------------

_EXPECTED = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string (quoted text)",
    "string_too_short": "expected a non-empty string",
    "list_type": "expected a list [...]",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "dict_type": "expected a table",
    "bool_type": "expected true or false",
}


def _format_error(err: dict) -> str:
    """One line for the first pydantic error: ``<path> = <value>: expected <what>``."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, list(err["loc"])
    if kind == "scenario":
        loc += list(ctx["field"])
        path = _path(loc)
        if ctx["value"] is ...:
            return f"{path}: {ctx['what']}"
        return f"{path} = {_show(ctx['value'])}: {ctx['what']}"
    if kind == "unknown_key":
        key = _path([*loc, ctx["key"]])
        return f"unknown key {key!r} (expected one of: {', '.join(ctx['allowed'])})"
    path = _path(loc)
    if kind == "missing":
        return f"{path}: missing (required)"
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        tags = _expected_tags(loc)
        if kind == "union_tag_not_found":
            return f"{path}.distribution: missing (required: one of {tags})"
        return f"{path}.distribution = {_show(ctx['tag'])}: expected one of {tags}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        what = f"expected a number {'>' if kind == 'greater_than' else '>='} {bound:g}"
    elif kind == "literal_error":
        what = f"expected {ctx['expected']}"
    elif kind == "too_short":
        what = f"expected at least {ctx['min_length']} item(s)"
    else:
        what = _EXPECTED.get(kind, _one_line(err["msg"]))
    return f"{path} = {_show(err['input'])}: {what}"


def _expected_tags(loc: list) -> str:
    kinds = ["'uniform'", "'truncnorm'", "'beta'"]
    return ", ".join(kinds if "components" in loc else [*kinds, "'mixture'"])


def _path(loc: list) -> str:
    """A pydantic loc as a dotted path without union tags.

    ``('urgency', 'mixture', 'components', 0, 'uniform', 'low')`` -> ``urgency.components[0].low``.
    """
    out = ""
    for i, part in enumerate(loc):
        after_union = i > 0 and (
            loc[i - 1] == "urgency" or (isinstance(loc[i - 1], int) and "components" in loc[:i])
        )
        if isinstance(part, int):
            out += f"[{part}]"
        elif not (after_union and part in _UNION_TAGS):
            out += f".{part}" if out else str(part)
    return out


def _show(value: Any) -> str:
    """A value as it would be written in TOML, shortened to :data:`MAX_SHOWN` characters."""
    text = _toml(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return _one_line(repr(value) if isinstance(value, int | float) else str(value))


def _one_line(text: str) -> str:
    return " ".join(text.split())
