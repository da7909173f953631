"""A sweep file resolved into its plan: the base scenario, the axes and every point.

:func:`load_sweep` reads a sweep file (:mod:`market.sweep.spec`), loads its base scenario
(relative to the file) and makes the design's points (:mod:`market.sweep.design`);
:func:`sweep_from_dict` does the same for a dictionary. :meth:`SweepPlan.check` validates
every point as a full scenario before any work: the schema, the time scales the solver
resolves, the policies and the memory of a simulation. A problem names the point, the axis
and the field, once for all the points it affects::

    spread.toml: point 3 (urgency.high = 0.5), axes[0] (urgency.high): urgency.low = 1.0:
    expected low < high = 0.5
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from market.scenario import Scenario, load_scenario, scenario_from_dict
from market.scenario.errors import MAX_PROBLEMS, one_line, show
from market.sweep.design import design_columns, grid_size
from market.sweep.fields import FieldError, parse_field, related, with_value
from market.sweep.spec import MAX_POINTS, MAX_TASKS, SweepError, SweepSpec, parse_spec
from market.sweep.tasks import Task, task_seed

__all__ = ["Axis", "SweepPlan", "axes_of", "load_sweep", "plan_of", "sweep_from_dict"]

#: A sweep file larger than this is refused.
MAX_FILE_BYTES = 1 << 22
#: The longest sweep name (it names a folder).
MAX_NAME = 100
#: The field a scenario's problem line starts with: ``policies[0]`` of ``policies[0] (tiers)``.
_LEADING_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.\[\]]*")


@dataclass(frozen=True)
class Axis:
    """One axis of a plan: its field, how its values were made and their type.

    ``scale`` is ``"linear"`` or ``"log"`` for a range, ``"values"`` for a list; ``type`` is
    ``"bool"``, ``"int"``, ``"float"``, ``"str"`` or ``"json"`` (tables, lists, mixed).
    """

    field: str
    path: tuple
    scale: str
    type: str

    def to_dict(self) -> dict:
        return {"field": self.field, "scale": self.scale, "type": self.type}


def _value_type(values: list) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    if all(isinstance(v, str) for v in values):
        return "str"
    return "json"


@dataclass(frozen=True, eq=False)
class SweepPlan:
    """A validated sweep: the base scenario, its axes and the value of each axis at each point.

    ``columns[i][k]`` is the value of axis ``i`` at point ``k``. Tasks are ``(point,
    replication)`` pairs, numbered point by point.
    """

    name: str
    source: str
    spec: SweepSpec
    base: dict
    base_source: str
    base_text: str
    sweep_text: str
    axes: tuple[Axis, ...]
    columns: tuple[tuple, ...]
    seed: int

    @property
    def points(self) -> int:
        return len(self.columns[0])

    @property
    def replications(self) -> int:
        return self.spec.replications

    @property
    def tasks(self) -> int:
        return self.points * self.replications

    @property
    def simulated(self) -> bool:
        return self.spec.simulate is not None

    @property
    def policies(self) -> tuple[str, ...] | None:
        return None if self.spec.policies is None else tuple(self.spec.policies)

    def values(self, point: int) -> tuple:
        return tuple(column[point] for column in self.columns)

    def label(self, point: int) -> str:
        """``information.token_rate = 0.125, urgency.high = 2.0``."""
        return ", ".join(
            f"{a.field} = {show(v)}" for a, v in zip(self.axes, self.values(point), strict=True)
        )

    def scenario(self, point: int) -> dict:
        """The scenario dictionary of a point (the base with the axes' values set)."""
        data = self.base
        for axis, value in zip(self.axes, self.values(point), strict=True):
            data = with_value(data, axis.path, value)
        return data

    def task(self, point: int, replication: int) -> Task:
        """What a worker needs to run one task: plain, picklable data (no file paths)."""
        sim = self.spec.simulate
        return Task(
            point=point,
            replication=replication,
            scenario=self.scenario(point),
            source=f"point {point}",
            policies=self.policies,
            seed=task_seed(self.seed, point, replication),
            simulate=sim is not None,
            users=None if sim is None else sim.users,
            engine="vectorized" if sim is None else sim.engine,
        )

    def fingerprint(self) -> str:
        """A hash of everything that makes the results: the spec, the base, seed and points."""
        spec = self.spec.model_dump(mode="json", exclude={"name", "description", "scenario"})
        data = {"spec": spec, "base": self.base, "seed": self.seed, "columns": self.columns}
        text = json.dumps(data, sort_keys=True, default=repr, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def check(self, progress: Callable[[int], object] | None = None) -> None:
        """Validate every point as a full scenario (see the module docstring).

        Raises
        ------
        SweepError
            One line per distinct problem, naming a point, the axis and the field.
        """
        from market.sweep.checks import base_problems, point_problems

        base = base_problems(self)  # reported once, not at each point
        found: dict[tuple[str, str], list[int]] = {}
        memo: dict = {}
        for k in range(self.points):
            for axes, problem in point_problems(self, k, memo):
                if problem not in base:
                    found.setdefault((axes, problem), []).append(k)
            if progress is not None and (k + 1) % 1000 == 0:
                progress(1000)
        lines = [f"{self.source}: {line}" for line in base] + _grouped(self, found)
        if lines:
            raise SweepError(*_capped(lines))


def _grouped(plan: SweepPlan, found: dict) -> list[str]:
    lines = []
    for (axes, problem), points in found.items():
        n = len(points) - 1
        more = f" (and {n} more point{'s' if n > 1 else ''})" if n else ""
        where = f"point {points[0]} ({plan.label(points[0])}){more}"
        lines.append(f"{plan.source}: {where}{', ' + axes if axes else ''}: {problem}")
    return lines


def _capped(lines: list[str]) -> list[str]:
    if len(lines) > MAX_PROBLEMS:
        lines = [
            *lines[: MAX_PROBLEMS - 1],
            f"... and {len(lines) - MAX_PROBLEMS + 1} more problems",
        ]
    return lines


def axes_of(plan_axes: tuple[Axis, ...], problem: str) -> str:
    """The axes a problem line is about: those sharing the longest prefix with its fields
    (``urgency.low`` is about the axis ``urgency.high``); empty if none shares any."""
    paths = []
    for text in problem.split(": ")[0].split(", "):
        match = _LEADING_PATH.match(text.strip())
        try:
            paths.append(parse_field(match.group(0) if match else ""))
        except FieldError:
            continue
    scores = [max((related(a.path, p) for p in paths), default=0) for a in plan_axes]
    best = max(scores, default=0)
    if best == 0:
        return ""
    return ", ".join(f"axes[{i}] ({a.field})" for i, a in enumerate(plan_axes) if scores[i] == best)


# -- reading ----------------------------------------------------------------------------------


def _read(path: Path, source: str) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise SweepError(f"{source}: not a regular file, expected a sweep file")
        if info.st_size > MAX_FILE_BYTES:
            raise SweepError(f"{source}: {info.st_size} bytes, expected at most {MAX_FILE_BYTES}")
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SweepError(f"{source}: file not found") from None
    except UnicodeDecodeError:
        raise SweepError(f"{source}: expected UTF-8 text") from None
    except OSError as exc:
        raise SweepError(f"{source}: cannot read the file ({exc.strerror})") from None


def load_sweep(
    path: str | os.PathLike, base: Scenario | None = None, name: str | None = None
) -> SweepPlan:
    """Read a sweep file; its base scenario is relative to it (or ``base``, if given), and
    its name defaults to ``name`` or the file's stem.

    Raises
    ------
    SweepError, ScenarioError
        One line per problem (the sweep file's, or its base scenario's).
    """
    path = Path(path)
    source = str(path)
    text = _read(path, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{source}: invalid TOML: {one_line(str(exc))}") from None
    return sweep_from_dict(
        data, source, base_dir=path.parent, text=text, default_name=name or path.stem, base=base
    )


def plan_of(sweep: Any) -> SweepPlan:
    """A plan from a plan, a sweep file's path or a dictionary."""
    if isinstance(sweep, SweepPlan):
        return sweep
    if isinstance(sweep, str | os.PathLike):
        return load_sweep(sweep)
    if isinstance(sweep, Mapping):
        return sweep_from_dict(sweep)
    raise TypeError(f"sweep = {sweep!r}: expected a sweep file path, a dict or a SweepPlan")


def sweep_from_dict(
    data: Mapping,
    source: str = "<sweep>",
    *,
    base_dir: str | os.PathLike | None = None,
    text: str | None = None,
    default_name: str | None = None,
    base: Scenario | None = None,
) -> SweepPlan:
    """Validate a sweep given as a dictionary. Its ``scenario`` may be a path (relative to
    ``base_dir``, default the working folder), a table, or a :class:`Scenario`."""
    data = dict(data) if isinstance(data, Mapping) else data
    if isinstance(data, dict) and isinstance(data.get("scenario"), Scenario):
        base = base or data["scenario"]
        data["scenario"] = dict(base.raw)
    if isinstance(data, dict) and isinstance(data.get("scenario"), os.PathLike):
        data["scenario"] = os.fspath(data["scenario"])
    spec = parse_spec(data, source)
    name = _name(spec, default_name, source)
    scenario = base or _base(spec, Path(base_dir or "."), source, name)
    seed = scenario.seed if spec.seed is None else spec.seed
    columns = _columns(spec, seed, source)
    axes = tuple(
        Axis(a.field, parse_field(a.field), a.range.scale if a.range else "values",
             _value_type(list(col)))
        for a, col in zip(spec.axes, columns, strict=True)
    )  # fmt: skip
    if text is None:
        from market.scenario.toml import dumps

        text = dumps({k: v for k, v in data.items() if v is not None})
    return SweepPlan(
        name=name, source=source, spec=spec, base=dict(scenario.raw),
        base_source=scenario.source, base_text=scenario.source_text or _dump(scenario.raw),
        sweep_text=text, axes=axes, columns=columns, seed=seed,
    )  # fmt: skip


def _dump(raw: dict) -> str:
    from market.scenario.toml import dumps

    return dumps(raw)


def _name(spec: SweepSpec, default: str | None, source: str) -> str:
    from market.scenario.schema import NAME_CHARACTERS

    name = spec.name or default or "sweep"
    if spec.name is None:
        name = "".join(c if c in NAME_CHARACTERS else "-" for c in name).lstrip(".") or "sweep"
    ok = name and not name.startswith(".") and set(name) <= NAME_CHARACTERS
    if not ok or len(name) > MAX_NAME:
        raise SweepError(
            f"{source}: name = {show(name)}: expected at most {MAX_NAME} letters, digits, '-', "
            "'_' and '.' not starting with '.' (it names the run folder)"
        )
    return name


def _base(spec: SweepSpec, base_dir: Path, source: str, name: str) -> Scenario:
    if isinstance(spec.scenario, str):
        return load_scenario(base_dir / spec.scenario)
    return scenario_from_dict(spec.scenario, f"{source}: scenario", default_name=name)


def _columns(spec: SweepSpec, seed: int, source: str) -> tuple[tuple, ...]:
    points = grid_size(spec) if spec.design == "grid" else spec.samples
    if points > MAX_POINTS:
        sizes = " x ".join(str(len(a.values) if a.values else a.range.num) for a in spec.axes)
        raise SweepError(
            f"{source}: axes: {sizes} = {points} points; expected at most {MAX_POINTS}"
        )
    if points * spec.replications > MAX_TASKS:
        raise SweepError(
            f"{source}: replications = {spec.replications}: {points} points x "
            f"{spec.replications} replications; expected at most {MAX_TASKS} tasks"
        )
    try:
        return tuple(tuple(col) for col in design_columns(spec, seed))
    except ValueError as exc:
        raise SweepError(f"{source}: {exc}") from None
