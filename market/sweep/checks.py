"""Every point of a sweep checked before any work: what :meth:`SweepPlan.check` reports.

A point is checked as ``market solve`` and ``market run`` check a scenario file: the schema
(:func:`market.scenario.scenario_from_dict`), the time scales the solver resolves
(:func:`market.scenario.build.check_scale`), the policies the sweep selects, its baseline,
and, with ``[simulate]``, that one task's users fit in memory (:func:`market.api.check_run`).
"""

from __future__ import annotations

from market.api import check_run, select_specs
from market.scenario import ScenarioError, build_entropy, build_urgency, scenario_from_dict
from market.scenario.build import check_scale
from market.scenario.errors import one_line
from market.sweep.fields import FieldError, with_value

__all__ = ["base_problems", "baseline_of", "point_problems"]

#: Stands for the file in a scenario's problem lines (the plan names the point instead).
_SOURCE = "<point>"


def point_problems(plan, point: int, memo: dict | None = None) -> list[tuple[str, str]]:
    """``(axes, problem)`` for each problem of one point (empty if it is valid); ``axes``
    names the axes the problem is about (:func:`market.sweep.plan.axes_of`). ``memo`` keeps
    the checks of the policies and the memory, which most points share."""
    from market.sweep.plan import axes_of

    data = plan.base
    for i, (axis, value) in enumerate(zip(plan.axes, plan.values(point), strict=True)):
        try:
            data = with_value(data, axis.path, value)
        except FieldError as exc:
            return [(f"axes[{i}] ({axis.field})", f"{axis.field}: {exc}")]
    lines = _scenario_problems(plan, data, {} if memo is None else memo)
    return [(axes_of(plan.axes, line), line) for line in lines]


def base_problems(plan) -> list[str]:
    """What is wrong with the sweep's own fields (``policies``, ``baseline``, ``[simulate]``)
    on its base scenario: reported once, not at every point."""
    return _selection_problems(plan, scenario_from_dict(plan.base, _SOURCE, text=""), {})


def _strip(line: str) -> str:
    prefix = f"{_SOURCE}: "
    return line[len(prefix) :] if line.startswith(prefix) else line


def _scenario_problems(plan, data: dict, memo: dict) -> list[str]:
    try:
        scenario = scenario_from_dict(data, _SOURCE, text="")
    except ScenarioError as exc:
        return [_strip(line) for line in exc.problems]
    lines = []
    try:
        check_scale(scenario, build_entropy(scenario), build_urgency(scenario))
    except ScenarioError as exc:
        lines += [_strip(line) for line in exc.problems]
    except ValueError as exc:
        lines.append(_strip(one_line(str(exc))))
    return lines + _selection_problems(plan, scenario, memo)


def _selection_problems(plan, scenario, memo: dict) -> list[str]:
    """The policies, the baseline and the memory of a simulation, on one scenario (the same
    for every scenario with the same ``policies`` and ``market.users``: kept in ``memo``)."""
    key = (repr(scenario.raw.get("policies")), scenario.market.users)
    if key not in memo:
        memo[key] = _selection(plan, scenario)
    return memo[key]


def _selection(plan, scenario) -> list[str]:
    try:
        specs = select_specs(scenario, plan.policies, option="policies")
    except ValueError as exc:
        return [one_line(str(exc))]
    lines = []
    if plan.spec.baseline is not None:
        try:
            baseline_of(specs, plan.spec.baseline)
        except ValueError as exc:
            lines.append(one_line(str(exc)))
    sim = plan.spec.simulate
    if sim is not None:
        users = scenario.market.users if sim.users is None else sim.users
        name = "market.users" if sim.users is None else "simulate.users"
        try:
            check_run(users, 0, sim.engine, len(specs), name)
        except ValueError as exc:
            lines.append(one_line(str(exc)))
    return lines


def baseline_of(specs, wanted: str) -> str:
    """The name of the one policy of ``specs`` named ``wanted`` (a name, or a kind only one
    policy has).

    Raises
    ------
    ValueError
        Naming ``baseline`` when no policy or several match.
    """
    by_name = [s["name"] for s in specs if s["name"] == wanted]
    matches = by_name or [s["name"] for s in specs if s["kind"] == wanted]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(repr(s["name"]) for s in specs)
    if not matches:
        raise ValueError(
            f"baseline = {wanted!r}: not a policy of the sweep; expected one of {names}"
        )
    listed = ", ".join(map(repr, matches))
    raise ValueError(f"baseline = {wanted!r}: {len(matches)} policies of this kind ({listed}); "
                     "expected one policy's name")  # fmt: skip
