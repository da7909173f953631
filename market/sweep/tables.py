"""The Arrow tables of a sweep: ``points.parquet`` and ``results.parquet`` (and its parts).

``points.parquet``: one row per point, ``point`` and one column per axis, named by its field
(``urgency.high``). ``results.parquet``: one row per point, replication and policy:
``point``, ``replication``, (``seed``, when simulated), the axis columns, ``policy``,
``kind``, ``status`` (``ok``, ``unavailable`` or ``failed``), ``reason``, the solver's
:data:`~market.sweep.tasks.SOLVED_COLUMNS` and, when simulated, ``users`` and
:data:`~market.sweep.tasks.SIMULATED_COLUMNS`; rows sorted by point, then replication, then the
scenario's order of policies.

Axis columns are ``bool``, ``int64``, ``float64`` or ``string`` as the axis's values are;
tables, lists and mixed values are JSON text.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from market.sweep.tasks import SIMULATED_COLUMNS, SOLVED_COLUMNS

__all__ = ["points_table", "results_schema", "results_table", "sort_results"]

_ARROW = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string()}


def _axis_type(axis) -> pa.DataType:
    return _ARROW.get(axis.type, pa.string())


def _axis_array(axis, values) -> pa.Array:
    if axis.type == "json":
        values = [json.dumps(v, sort_keys=True, default=str) for v in values]
    elif axis.type == "float":
        values = [float(v) for v in values]
    return pa.array(values, type=_axis_type(axis))


def points_table(plan) -> pa.Table:
    """``points.parquet`` of a plan."""
    columns = {"point": pa.array(np.arange(plan.points, dtype=np.int64))}
    for axis, values in zip(plan.axes, plan.columns, strict=True):
        columns[axis.field] = _axis_array(axis, values)
    return pa.table(columns)


def results_schema(plan) -> pa.Schema:
    """The schema of ``results.parquet`` (and of each part) of a plan."""
    fields = [pa.field("point", pa.int64()), pa.field("replication", pa.int64())]
    if plan.simulated:
        fields.append(pa.field("seed", pa.int64()))
    fields += [pa.field(axis.field, _axis_type(axis)) for axis in plan.axes]
    fields += [pa.field(name, pa.string()) for name in ("policy", "kind", "status", "reason")]
    fields += [pa.field(name, pa.float64()) for name in SOLVED_COLUMNS]
    if plan.simulated:
        fields.append(pa.field("users", pa.int64()))
        fields += [pa.field(name, pa.float64()) for name in SIMULATED_COLUMNS]
    return pa.schema(fields)


def results_table(plan, rows: list[dict]) -> pa.Table:
    """The records of tasks (:func:`market.sweep.tasks.run_task`) with their axis values."""
    schema = results_schema(plan)
    points = [row["point"] for row in rows]
    columns = {}
    for field in schema:
        axis = next((a for a in plan.axes if a.field == field.name), None)
        if axis is not None:
            column = plan.columns[plan.axes.index(axis)]
            columns[field.name] = _axis_array(axis, [column[p] for p in points])
        else:
            columns[field.name] = pa.array([row[field.name] for row in rows], type=field.type)
    return pa.table(columns, schema=schema)


def sort_results(table: pa.Table) -> pa.Table:
    """Rows by point, then replication; within a task, in the order they were made (a stable
    sort: the scenario's order of policies)."""
    point = table.column("point").to_numpy()
    replication = table.column("replication").to_numpy()
    return table.take(pa.array(np.lexsort((replication, point))))
