"""Parameter sweeps: many scenarios solved (and simulated), in this process or on Dask.

A sweep file names a base scenario, axes (dotted fields of the scenario and their values) and
a design (``grid``, ``lhs`` or ``sobol``); every point is a full scenario, validated before any
work. Each task (point x replication) solves the selected policies and, with
``[simulate]``, simulates them with the seed ``SeedSequence(root, spawn_key=(point,
replication))``, so results do not depend on the workers. ::

    import market as mk

    results = mk.sweep("scenarios/sweeps/urgency_spread.toml", workers=2)   # a DataFrame
    results = mk.sweep(sweep_dict, workers=0, out="runs")     # also writes a run folder
    results.attrs["run_dir"]                                  # ... here

- :mod:`~market.sweep.spec`: the sweep file's schema; :mod:`~market.sweep.fields`: field
  paths; :mod:`~market.sweep.design`: grid, Latin hypercube and Sobol' designs;
- :mod:`~market.sweep.plan` and :mod:`~market.sweep.checks`: the plan and its validation;
- :mod:`~market.sweep.tasks`: one task, a plain function of plain data (what a worker runs);
- :mod:`~market.sweep.execute`: in process, a local Dask cluster, or a scheduler;
- :mod:`~market.sweep.folder` and :mod:`~market.sweep.tables`: the run folder, its parts,
  consolidation and resumption;
- :mod:`~market.sweep.runner`: :func:`run_sweep`, all of it.

``market.sweep`` is itself callable (``market.sweep(...)`` is :func:`sweep`), so ``mk.sweep``
is the function whichever of the two was imported first.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types

__all__ = ["SweepError", "SweepPlan", "SweepResult", "load_sweep", "run_sweep", "sweep"]

_LAZY = {
    "SweepError": "market.sweep.spec",
    "SweepPlan": "market.sweep.plan",
    "load_sweep": "market.sweep.plan",
    "SweepResult": "market.sweep.runner",
    "run_sweep": "market.sweep.runner",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def sweep(
    sweep,
    *,
    workers: int | None = None,
    scheduler=None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    chunk: int | None = None,
    progress=None,
):
    """Run a sweep; return its results, one row per point, replication and policy.

    Parameters
    ----------
    sweep : path, dict or SweepPlan
        A sweep file, or a dictionary with its schema (whose ``scenario`` may be a path
        relative to the working folder, a table or a :class:`market.Scenario`); None with
        ``resume``.
    workers : int, optional
        Worker processes of a local Dask cluster (default: the cores); 0 runs in this process.
    scheduler : str or distributed.Client, optional
        An existing Dask cluster (``"tcp://host:port"``, a scheduler file or a client)
        instead of a local one.
    out : path, optional
        Write a run folder under this folder (default: nothing is written).
    resume : path, optional
        A run folder of an interrupted sweep: run only its missing tasks and complete it.
    chunk : int, optional
        Sweep tasks per Dask task (default: :func:`market.sweep.execute.chunk_size`).
    progress : optional
        An object with ``task(description, total)`` returning ``advance(n=1)``.

    Returns
    -------
    pandas.DataFrame
        The columns of ``results.parquet`` (:mod:`market.sweep.tables`); ``.attrs`` holds
        ``run_dir`` (None when nothing was written) and ``metadata``.

    Raises
    ------
    ValueError
        One line per problem (:class:`SweepError`, or a scenario's error), before any work.
    """
    from market.sweep.runner import run_sweep

    result = run_sweep(
        sweep, workers=workers, scheduler=scheduler, out=out, resume=resume, chunk=chunk,
        progress=progress,
    )  # fmt: skip
    frame = result.results
    frame.attrs["run_dir"] = None if result.run_dir is None else str(result.run_dir)
    frame.attrs["metadata"] = result.metadata
    return frame


class _CallableModule(types.ModuleType):
    """``market.sweep`` as the function :func:`sweep`: the package's import sets
    ``market.sweep`` to this module, and ``mk.sweep(...)`` must work either way."""

    __signature__ = inspect.signature(sweep)

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
