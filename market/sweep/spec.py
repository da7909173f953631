"""The sweep file's schema (pydantic), with one line per problem naming the field.

::

    name = "spread"                        # optional: the file's stem; names the run folder
    description = "..."                    # optional
    scenario = "../paper_example.toml"     # the base scenario, relative to this file,
                                           # or an inline [scenario] table
    design = "grid"                        # "grid" (every combination) | "lhs" | "sobol"
    samples = 64                           # lhs and sobol only: the number of points
    seed = 20251012                        # optional: the root seed (default: the scenario's)
    replications = 1                       # simulated replications per point
    policies = ["optimal_token_menu", "flat"]   # optional: names or kinds (default: all)
    baseline = "flat"                      # optional: a policy the figures compare against

    [[axes]]
    field = "information.token_rate"       # a dotted path into the scenario
    values = [0.0625, 0.125, 0.25]         # any TOML values (numbers, strings, tables)

    [[axes]]
    field = "urgency.high"
    range = { start = 1.5, stop = 5.0, num = 8, scale = "linear" }   # or "log"; integer = true

    [simulate]                             # optional: without it, a sweep only solves
    users = 10000                          # default: each point's market.users
    engine = "vectorized"                  # or "abm"

With ``design = "lhs"`` or ``"sobol"`` a ``range`` axis is sampled continuously (``num`` is
not used) and a ``values`` axis picks one of its values; ``samples`` points are drawn
(scrambled, from the root seed). :func:`parse_spec` validates a parsed file: every problem
at once, ``<file>: axes[1].range.num = 0: expected an integer from 1 to 1000000``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from market.scenario.errors import ScenarioError, fail, problems
from market.sweep.fields import FieldError, field_text, parse_field

__all__ = [
    "MAX_AXES",
    "MAX_POINTS",
    "MAX_REPLICATIONS",
    "MAX_TASKS",
    "AxisSpec",
    "RangeSpec",
    "SimulateSpec",
    "SweepError",
    "SweepSpec",
    "parse_spec",
]

#: Most points, replications, tasks (point x replication) and axes a sweep may have.
MAX_POINTS = 1_000_000
MAX_REPLICATIONS = 10_000
MAX_TASKS = 1_000_000
MAX_AXES = 32
#: Most users a simulated task may have (the scenario schema's bound).
MAX_USERS = 10**9
#: Scenario fields no axis may set, and why.
RESERVED = {
    "seed": "the seeds of a sweep's tasks come from the sweep's root seed: set `seed` at the "
    "top of the sweep file",
}


class SweepError(ScenarioError):
    """A sweep file that is not valid: one line per problem (a :class:`ValueError`)."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @classmethod
    def keys(cls) -> list[str]:
        return list(cls.model_fields)


def _count(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise fail(f"expected an integer from {low} to {high}", (), value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal as scenario values: numbers by value (``1 == 1.0``), anything else by type too."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return not isinstance(b, bool) and a == b
    return type(a) is type(b) and a == b


class RangeSpec(_Table):
    """``range = {start, stop, num, scale, integer}``: evenly spaced values (linear or log)."""

    start: float
    stop: float
    num: int | None = None
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False

    @field_validator("num")
    @classmethod
    def _num(cls, num: int | None) -> int | None:
        return None if num is None else _count(num, 1, MAX_POINTS)

    @model_validator(mode="after")
    def _ends(self) -> RangeSpec:
        if self.scale == "log":
            for key in ("start", "stop"):
                if getattr(self, key) <= 0:
                    raise fail("expected a number > 0 (scale = 'log')", key, getattr(self, key))
        if self.start == self.stop and (self.num or 2) > 1:
            raise fail(f"expected a stop different from start = {self.start!r}", "stop", self.stop)
        return self


class AxisSpec(_Table):
    """One ``[[axes]]`` table: a field of the scenario and its ``values`` or its ``range``."""

    field: str
    values: list[Any] | None = None
    range: RangeSpec | None = None

    @field_validator("field")
    @classmethod
    def _path(cls, field: str) -> str:
        try:
            path = parse_field(field)
        except FieldError as exc:
            raise fail(str(exc), (), field) from None
        if path[0] in RESERVED:
            raise fail(RESERVED[path[0]], (), field)
        return field_text(path)

    @field_validator("values")
    @classmethod
    def _values(cls, values: list | None) -> list | None:
        if values is None:
            return None
        if not 1 <= len(values) <= MAX_POINTS:
            raise fail(f"expected from 1 to {MAX_POINTS} values", (), values)
        for i, v in enumerate(values):
            if isinstance(v, float) and not math.isfinite(v):
                raise fail("expected a finite number", i, v)
            if any(_same(v, w) for w in values[:i]):
                raise fail("expected distinct values (each point once)", i, v)
        return values

    @model_validator(mode="after")
    def _one_source(self) -> AxisSpec:
        if (self.values is None) == (self.range is None):
            raise fail("expected either values = [...] or range = {...}, not both or neither")
        return self


class SimulateSpec(_Table):
    """``[simulate]``: simulate every solved policy of each task (users default to the
    point's ``market.users``)."""

    users: int | None = None
    engine: Literal["vectorized", "abm"] = "vectorized"

    @field_validator("users")
    @classmethod
    def _users(cls, users: int | None) -> int | None:
        return None if users is None else _count(users, 1, MAX_USERS)


class SweepSpec(_Table):
    """A sweep file (the module docstring gives the format)."""

    name: str | None = None
    description: str = ""
    scenario: Any
    design: Literal["grid", "lhs", "sobol"] = "grid"
    samples: int | None = None
    seed: int | None = None
    replications: int = 1
    policies: list[str] | None = None
    baseline: str | None = None
    axes: list[AxisSpec]
    simulate: SimulateSpec | None = None

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, value: Any) -> Any:
        if isinstance(value, str) and value or isinstance(value, dict):
            return value
        raise fail(
            "expected a scenario file (relative to the sweep file) or an inline [scenario] table",
            (),
            value,
        )

    @field_validator("seed")
    @classmethod
    def _seed(cls, seed: int | None) -> int | None:
        if seed is not None and not 0 <= seed < 2**63:
            raise fail("expected an integer from 0 to 2**63 - 1", (), seed)
        return seed

    @field_validator("replications")
    @classmethod
    def _replications(cls, n: int) -> int:
        return _count(n, 1, MAX_REPLICATIONS)

    @field_validator("policies")
    @classmethod
    def _policies(cls, names: list[str] | None) -> list[str] | None:
        if names is not None and not names:
            raise fail("expected at least one policy name or kind", (), names)
        return names

    @field_validator("axes")
    @classmethod
    def _axes(cls, axes: list[AxisSpec]) -> list[AxisSpec]:
        if not axes:
            raise fail("expected at least one [[axes]] table")
        if len(axes) > MAX_AXES:
            raise fail(f"expected at most {MAX_AXES} [[axes]] tables (got {len(axes)})")
        paths = [parse_field(a.field) for a in axes]
        for i, path in enumerate(paths):
            for j, other in enumerate(paths[:i]):
                if path[: len(other)] == other or other[: len(path)] == path:
                    raise fail(
                        f"expected a field no other axis sets (axes[{j}] sets {axes[j].field!r})",
                        (i, "field"),
                        axes[i].field,
                    )
        return axes

    @model_validator(mode="after")
    def _design(self) -> SweepSpec:
        grid = self.design == "grid"
        if grid and self.samples is not None:
            what = "expected no samples with design = 'grid' (every combination is a point)"
            raise fail(what, "samples", self.samples)
        if not grid:
            if self.samples is None:
                raise fail(f"missing (required with design = {self.design!r})", "samples")
            if not 1 <= self.samples <= MAX_POINTS:
                raise fail(f"expected an integer from 1 to {MAX_POINTS}", "samples", self.samples)
        for i, axis in enumerate(self.axes):
            num = None if axis.range is None else axis.range.num
            where = ("axes", i, "range", "num")
            if axis.range is not None and grid and num is None:
                raise fail("missing (required with design = 'grid')", where)
            if not grid and num is not None:
                what = f"expected no num with design = {self.design!r} (samples sets the points)"
                raise fail(what, where, num)
        if self.replications > 1 and self.simulate is None:
            what = "expected 1 without [simulate] (solving is deterministic)"
            raise fail(what, "replications", self.replications)
        return self


_TABLES = {(): SweepSpec, ("simulate",): SimulateSpec}


def _fields_at(loc: tuple) -> list[str] | None:
    if loc in _TABLES:
        return _TABLES[loc].keys()
    if len(loc) == 2 and loc[0] == "axes":
        return AxisSpec.keys()
    if len(loc) == 3 and loc[0] == "axes" and loc[2] == "range":
        return RangeSpec.keys()
    return None


def parse_spec(data: Any, source: str) -> SweepSpec:
    """Validate a parsed sweep file; every problem at once, one line each.

    Raises
    ------
    SweepError
        ``<source>: <field> = <value>: expected <what>`` per problem.
    """
    if not isinstance(data, dict):
        raise SweepError(f"{source}: expected a table of sweep fields")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        lines = problems(exc.errors(), data, _fields_at)
        raise SweepError(*(f"{source}: {line}" for line in lines)) from None
