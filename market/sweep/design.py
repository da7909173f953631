r"""Designs: the points of a sweep, as one column of values per axis.

- ``grid``: every combination of the axes' values, the first axis varying slowest
  (``numpy.unravel_index`` order); a ``range`` axis gives ``num`` evenly spaced values,
  :math:`x_k = a + k(b-a)/(n-1)` (``linear``) or :math:`a(b/a)^{k/(n-1)}` (``log``).
- ``lhs``: a Latin hypercube (McKay, Beckman and Conover 1979) of ``samples`` points in
  :math:`[0, 1)^d` (:class:`scipy.stats.qmc.LatinHypercube`);
- ``sobol``: a scrambled Sobol' sequence (Owen 1998; :class:`scipy.stats.qmc.Sobol`); a power
  of two for ``samples`` keeps its balance.

A unit coordinate :math:`u` maps to :math:`a + u(b-a)` (``linear``), :math:`a(b/a)^u` (``log``),
rounded with ``integer = true``, or to the value number :math:`\lfloor uk \rfloor` of a
``values`` axis of :math:`k` values. The unit sample draws from
``SeedSequence(seed, spawn_key=DESIGN_SPAWN_KEY)``, a stream no task uses (tasks have
two-number keys, :func:`market.sweep.tasks.task_seed`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from market.sweep.spec import AxisSpec, SweepSpec

__all__ = ["DESIGN_SPAWN_KEY", "axis_values", "design_columns", "grid_size", "unit_sample"]

#: Spawn key of the design's random stream (one number: no task's key, which has two).
DESIGN_SPAWN_KEY = (2**32 - 1,)


def axis_values(axis: AxisSpec) -> list[Any]:
    """The values of one axis of a grid, in order.

    Raises
    ------
    ValueError
        An integer range whose rounded values repeat (the message names the range).
    """
    if axis.values is not None:
        return list(axis.values)
    r = axis.range
    space = np.geomspace if r.scale == "log" else np.linspace
    values = [float(x) for x in space(r.start, r.stop, r.num)]
    return _integers(values) if r.integer else values


def _integers(values: list[float]) -> list[int]:
    rounded = [int(round(x)) for x in values]
    if len(set(rounded)) < len(rounded):
        raise ValueError(
            f"range.integer = true: the {len(values)} values round to "
            f"{len(set(rounded))} distinct integers; expected a smaller num"
        )
    return rounded


def grid_size(spec: SweepSpec) -> int:
    """Points of the grid of ``spec`` (before any value is made)."""
    return math.prod(len(a.values) if a.values is not None else a.range.num for a in spec.axes)


def unit_sample(design: str, samples: int, dims: int, seed: int) -> np.ndarray:
    """``samples`` points of ``[0, 1)^dims`` of the ``lhs`` or ``sobol`` design."""
    from scipy.stats import qmc  # lazy: scipy.stats is slow to import

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=DESIGN_SPAWN_KEY))
    if design == "lhs":
        return qmc.LatinHypercube(dims, rng=rng).random(samples)
    sobol = qmc.Sobol(dims, scramble=True, rng=rng)
    if samples & (samples - 1) == 0:
        return sobol.random_base2(int(math.log2(samples)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # balance needs a power of two
        return sobol.random(samples)


def _from_unit(axis: AxisSpec, u: np.ndarray) -> list[Any]:
    if axis.values is not None:
        k = len(axis.values)
        index = np.minimum((u * k).astype(np.int64), k - 1)
        return [axis.values[i] for i in index]
    r = axis.range
    if r.scale == "log":
        x = np.exp(math.log(r.start) + u * (math.log(r.stop) - math.log(r.start)))
    else:
        x = r.start + u * (r.stop - r.start)
    return [int(round(v)) for v in x] if r.integer else [float(v) for v in x]


def design_columns(spec: SweepSpec, seed: int) -> list[list[Any]]:
    """One list per axis, the value of that axis at each point (all of the same length).

    Raises
    ------
    ValueError
        With the field (``axes[i].range``) in the message, for an integer range that repeats.
    """
    if spec.design == "grid":
        per_axis = []
        for i, axis in enumerate(spec.axes):
            try:
                per_axis.append(axis_values(axis))
            except ValueError as exc:
                raise ValueError(f"axes[{i}].{exc}") from None
        shape = tuple(len(v) for v in per_axis)
        index = np.unravel_index(np.arange(math.prod(shape)), shape)
        return [
            [values[j] for j in idx.tolist()] for values, idx in zip(per_axis, index, strict=True)
        ]
    units = unit_sample(spec.design, spec.samples, len(spec.axes), seed)
    return [_from_unit(axis, units[:, i]) for i, axis in enumerate(spec.axes)]
