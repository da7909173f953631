r"""The tables of a scenario that make the market move: ``[users]`` and ``[platform]``
(finite capacity lives in ``[market]``, :class:`market.scenario.schema.MarketSpec`).

::

    [users]                                 # optional: how users choose
    choice = "logit"                        # "rational" (default) | "logit"
    temperature = 0.01                      # beta of the logit, only for choice = "logit"
    misperception = { sd = 0.2 }            # choose on r e^eps, eps ~ N(0, sd^2)

    [platform]                              # optional: what the platform knows
    anticipate_congestion = true            # re-solve the menus for the slowdown (needs
                                            # market.anticipate = true)
    learning = { family = "beta", periods = 20, users_per_period = 5000,
                 initial = { a = 1.0, b = 1.0 } }

With ``learning`` the platform does not know :math:`G`: it knows its support (the scenario's
``[urgency]`` low and high), fits the ``family`` (``"beta"``: shapes ``a``, ``b``;
``"truncnorm"``: ``mean``, ``sd``; ``"uniform"``: nothing to fit) by maximum likelihood to
what it saw users buy, and posts the optimal menu for its estimate, period after period.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from market.scenario.errors import fail as _fail
from market.scenario.schema_base import BETA_SHAPES, Table

__all__ = [
    "FAMILY_PARAMETERS",
    "LearningSpec",
    "MisperceptionSpec",
    "PlatformSpec",
    "UsersSpec",
]

#: Logit temperatures a scenario may have (utilities are at most 1: beyond 1e6 choice is
#: uniform to 6 digits, below 1e-9 it is the rational choice to the last digit).
TEMPERATURES = (1e-9, 1e6)
#: Largest misperception sd (e^{5 sd} spans 10 orders of magnitude of urgency).
MAX_MISPERCEPTION = 5.0
#: Periods and users per period a learning platform may run.
MAX_PERIODS = 1000
MAX_PERIOD_USERS = 10**7
#: The parameters of each family the platform may fit.
FAMILY_PARAMETERS = {"beta": ("a", "b"), "truncnorm": ("mean", "sd"), "uniform": ()}


class MisperceptionSpec(Table):
    """``misperception = { sd = s }``: users choose as if their urgency were
    :math:`r e^{\\varepsilon}`, :math:`\\varepsilon \\sim N(0, s^2)`, and live with :math:`r`."""

    sd: float = Field(ge=0)

    @field_validator("sd")
    @classmethod
    def _bounded(cls, sd: float) -> float:
        if sd > MAX_MISPERCEPTION:
            raise _fail(f"expected an sd from 0 to {MAX_MISPERCEPTION:g}", (), sd)
        return sd


class UsersSpec(Table):
    """The optional ``[users]`` table: how users choose among the plans.

    Attributes
    ----------
    choice : {"rational", "logit"}
        ``"rational"``: the plan of largest expected utility minus price if not negative;
        ``"logit"``: plan j with probability proportional to :math:`e^{v_j/\\beta}`, leaving
        (value 0) with probability proportional to 1.
    temperature : float, optional
        :math:`\\beta > 0` of the logit; required for and only for ``choice = "logit"``.
    misperception : MisperceptionSpec, optional
        Noise on the urgency users choose with.
    """

    choice: Literal["rational", "logit"] = "rational"
    temperature: float | None = None
    misperception: MisperceptionSpec | None = None

    @model_validator(mode="after")
    def _temperature(self) -> UsersSpec:
        if self.choice != "logit":
            if self.temperature is not None:
                raise _fail(
                    "expected no temperature when choice = 'rational' (only 'logit' uses one)",
                    "temperature",
                    self.temperature,
                )
            return self
        if self.temperature is None:
            raise _fail("missing (required when choice = 'logit')", "temperature")
        if not TEMPERATURES[0] <= self.temperature <= TEMPERATURES[1]:
            raise _fail(
                f"expected a temperature from {TEMPERATURES[0]:g} to {TEMPERATURES[1]:g} "
                "(in units of expected utility, which is at most 1)",
                "temperature",
                self.temperature,
            )
        return self

    @property
    def misperception_sd(self) -> float:
        return 0.0 if self.misperception is None else self.misperception.sd


class LearningSpec(Table):
    """``learning = {...}``: the platform fits ``family`` to what users buy.

    Attributes
    ----------
    family : {"beta", "truncnorm", "uniform"}
        The parametric family of :math:`G` the platform believes in (on the true support).
    periods : int
        Number of periods (menus posted).
    users_per_period : int
        Users arriving in each period.
    initial : dict
        The first estimate: ``{a, b}`` for beta, ``{mean, sd}`` for truncnorm (default: a
        uniform-like start), ``{}`` for uniform.
    """

    family: Literal["beta", "truncnorm", "uniform"]
    periods: int = 20
    users_per_period: int = 5000
    initial: dict[str, float] = {}

    @field_validator("periods")
    @classmethod
    def _periods(cls, periods: int) -> int:
        if not 1 <= periods <= MAX_PERIODS:
            raise _fail(f"expected an integer from 1 to {MAX_PERIODS}", (), periods)
        return periods

    @field_validator("users_per_period")
    @classmethod
    def _users(cls, users: int) -> int:
        if not 1 <= users <= MAX_PERIOD_USERS:
            raise _fail(f"expected an integer from 1 to {MAX_PERIOD_USERS:.0e}", (), users)
        return users

    @model_validator(mode="after")
    def _initial(self) -> LearningSpec:
        allowed = FAMILY_PARAMETERS[self.family]
        for key, value in self.initial.items():
            if key not in allowed:
                names = ", ".join(allowed) if allowed else "none"
                raise _fail(
                    f"unknown parameter of family {self.family!r} (expected: {names})",
                    ("initial", key),
                    value,
                )
        missing = [key for key in allowed if key not in self.initial]
        if self.initial and missing:
            raise _fail(f"missing {', '.join(missing)} (give every parameter or none)", "initial")
        for key in ("a", "b"):
            if key in self.initial and not BETA_SHAPES[0] <= self.initial[key] <= BETA_SHAPES[1]:
                raise _fail(
                    f"expected a shape from {BETA_SHAPES[0]:g} to {BETA_SHAPES[1]:g}",
                    ("initial", key),
                    self.initial[key],
                )
        if "sd" in self.initial and not self.initial["sd"] > 0:
            raise _fail("expected a number > 0", ("initial", "sd"), self.initial["sd"])
        return self


class PlatformSpec(Table):
    """The optional ``[platform]`` table: what the platform knows of its market.

    Attributes
    ----------
    anticipate_congestion : bool
        Solve the menus for the congested market: for the slowdown :math:`\\sigma` the market
        produces, a type :math:`r` values a plan as the type :math:`r\\sigma` does without
        congestion, so the menus are re-solved for the law of :math:`r\\sigma` until
        :math:`\\sigma` settles.
    learning : LearningSpec, optional
        The platform does not know :math:`G` and learns it.
    """

    anticipate_congestion: bool = False
    learning: LearningSpec | None = None
