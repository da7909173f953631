"""The one run-folder writer: a simulated run, atomically, as tidy files.

A run folder ``<root>/<scenario>-<timestamp>/`` holds ``users.parquet`` (one row per user and
policy), ``timeseries.parquet``, ``menus.parquet`` (each policy's menu at the report grid, with
each type's expected utility, payment and tokens), ``plans.parquet`` (what each policy sells),
``stopping_law.parquet``,
``summary.json`` (realised means with standard errors beside the solver's expectations),
``compare.json`` (the comparison table's rows), ``scenario.toml`` and ``metadata.json``; a
scenario with a learning platform adds ``learning.parquet`` (one row per period: estimate,
realized and expected revenue, regret) and ``learning_menus.parquet`` (each period's menu). It
is written into a hidden temporary sibling and renamed into place (:class:`RunFolder`); JSON
is written strictly (a NaN or an infinity is an error, never invalid JSON).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from market.io.metadata import git_revision, package_versions, python_version
from market.io.rundir import RunFolder, remove_stale, run_name
from market.io.tables import (
    STOPPING_LAW_SCHEMA,
    USERS_SCHEMA,
    menu_table,
    plans_table,
    stopping_law_table,
    timeseries_table,
    users_table,
)

__all__ = ["RUN_FILES", "write_json", "write_run"]

#: The files every run folder holds.
RUN_FILES = (
    "users.parquet",
    "timeseries.parquet",
    "menus.parquet",
    "plans.parquet",
    "stopping_law.parquet",
    "summary.json",
    "compare.json",
    "scenario.toml",
    "metadata.json",
)


def write_json(path: Path, data) -> None:
    """Strict JSON (no NaN or infinity) with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_run(
    run,
    root: str | os.PathLike = "runs",
    extra: Callable[[Path], None] | None = None,
    stale: Callable[[list[Path]], None] | None = None,
) -> Path:
    """Write ``run`` (a :class:`market.run.Run`) under ``root``; returns the run folder.

    ``extra(folder)``, if given, writes more files (figures) into the folder before it is put
    in place. Nothing is left behind if anything fails. Temporary folders of processes that
    were killed outright are removed first, and ``stale(paths)`` is told which.
    """
    removed = remove_stale(root)
    if removed and stale is not None:
        stale(removed)
    with RunFolder(root, run_name(run.scenario.name, run.created)) as folder:
        tmp = folder.tmp
        writer = pq.ParquetWriter(tmp / "users.parquet", USERS_SCHEMA)
        try:
            for item in run.runs:
                writer.write_table(users_table(item.outcomes, item.policy.name, item.breakthrough))
        finally:
            writer.close()
        series = [timeseries_table(item.timeseries, item.policy.name) for item in run.runs]
        pq.write_table(pa.concat_tables(series), tmp / "timeseries.parquet")
        pq.write_table(
            pa.concat_tables([menu_table(p) for p in run.policies]), tmp / "menus.parquet"
        )
        pq.write_table(
            pa.concat_tables([plans_table(p) for p in run.policies]), tmp / "plans.parquet"
        )
        pq.write_table(_stopping_laws(run.policies), tmp / "stopping_law.parquet")
        write_json(tmp / "summary.json", run.summary_record())
        write_json(
            tmp / "compare.json",
            {"first_best_welfare": run.solution.first_best_welfare, "policies": run.compare_rows()},
        )
        (tmp / "scenario.toml").write_text(run.scenario.source_text, encoding="utf-8")
        write_json(tmp / "metadata.json", _metadata(run))
        if run.learning is not None:
            pq.write_table(_frame(run.learning.records()), tmp / "learning.parquet")
            pq.write_table(_frame(run.learning.menus()), tmp / "learning_menus.parquet")
        if extra is not None:
            extra(tmp)
        return folder.commit()


def _frame(frame) -> pa.Table:
    """A pandas frame as an Arrow table, without its index."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def _stopping_laws(policies) -> pa.Table:
    """The stopping law of each policy's deployed model that has a density (the greedy model,
    the diffusion; not a constant delay, whose law is a point mass)."""
    tables = [
        stopping_law_table(p.name, p.model)
        for p in policies
        if callable(getattr(p.model, "density", None))
    ]
    return pa.concat_tables(tables) if tables else STOPPING_LAW_SCHEMA.empty_table()


def _metadata(run) -> dict:
    scenario = run.scenario
    return {
        "scenario": scenario.name,
        "scenario_file": str(scenario.source),
        "seed": run.seed,
        "users": run.users_count,
        "engine": run.engine,
        "arrival_rate": scenario.market.arrival_rate,
        "sample_interval": run.interval,
        "policies": [p.name for p in run.policies],
        "created": run.created.isoformat(timespec="seconds"),
        "command_line": run.command_line,
        "git_revision": git_revision(),
        "python": python_version(),
        "packages": package_versions(),
    }
