"""A sweep, from its file to its results: validate, run the tasks, write, consolidate, resume.

:func:`run_sweep` validates every point (nothing runs, nothing is written if one is wrong),
then runs the tasks that are not done yet (:mod:`market.sweep.execute`), writing each finished
chunk into the run folder (:mod:`market.sweep.folder`) when there is one, and returns a
:class:`SweepResult`. ``resume`` continues a folder whose sweep was interrupted: its own
``sweep.toml`` and ``scenario.toml`` define the sweep (the original files may have changed
since), and only the tasks its parts lack are run.
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from market.sweep.execute import chunk_size, default_workers, executor, max_workers
from market.sweep.folder import KIND, SweepFolder, check_root
from market.sweep.plan import SweepPlan, load_sweep, plan_of
from market.sweep.spec import SweepError
from market.sweep.tables import results_table, sort_results

__all__ = ["SweepResult", "run_sweep"]

#: Validate with a progress display from this many points on.
SHOW_VALIDATION = 10_000


@dataclass(frozen=True, eq=False)
class SweepResult:
    """What a sweep made: ``results`` and ``points`` (:class:`pandas.DataFrame`, the columns of
    ``results.parquet`` and ``points.parquet``), its run folder (None when not written),
    the metadata, and how many tasks this call ran."""

    results: object
    points: object
    run_dir: Path | None
    metadata: dict
    tasks_run: int = 0
    plan: SweepPlan | None = field(default=None, repr=False)

    @property
    def failed(self):
        """The records of failed tasks (``status == "failed"``)."""
        return self.results[self.results.status == "failed"]


def _check_workers(workers, scheduler, prefix: str) -> int | None:
    if scheduler is not None:
        if isinstance(scheduler, str) and not scheduler.strip():
            raise SweepError(f"{prefix}scheduler = '': expected an address, tcp://host:port")
        if workers is not None:
            raise SweepError(f"{prefix}workers = {workers}: not with {prefix}scheduler "
                             "(the cluster has its own workers)")  # fmt: skip
        return None
    if workers is None:
        return default_workers()
    most = max_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= most:
        raise SweepError(
            f"{prefix}workers = {workers}: expected an integer from 0 to {most} "
            f"({default_workers()} cores here)"
        )
    return workers


def _plan_and_folder(sweep, resume, prefix: str):
    if resume is None:
        if sweep is None:
            raise SweepError("expected a sweep file (or a folder to resume)")
        return plan_of(sweep), None
    from market.scenario import load_scenario

    folder = SweepFolder.open(resume, f"{prefix}resume")
    base = load_scenario(folder.path / "scenario.toml")
    plan = load_sweep(folder.path / "sweep.toml", base=base, name=folder.metadata().get("name"))
    if plan.fingerprint() != folder.metadata().get("fingerprint"):
        raise SweepError(f"{prefix}resume = {resume}: its sweep no longer gives the points it "
                         "was started with (another version of the package?)")  # fmt: skip
    if sweep is not None and plan_of(sweep).fingerprint() != plan.fingerprint():
        raise SweepError(f"{prefix}resume = {resume}: the sweep given differs from the one in "
                         "the folder; resume with the folder alone")  # fmt: skip
    return plan, folder


def _base_metadata(plan: SweepPlan) -> dict:
    from market.io.metadata import git_revision, package_versions, python_version

    spec = plan.spec
    return {
        "kind": KIND,
        "name": plan.name,
        "description": spec.description,
        "sweep_file": plan.source,
        "scenario_file": plan.base_source,
        "design": spec.design,
        "samples": spec.samples,
        "seed": plan.seed,
        "replications": plan.replications,
        "points": plan.points,
        "tasks": plan.tasks,
        "policies": spec.policies,
        "baseline": spec.baseline,
        "simulate": None if spec.simulate is None else spec.simulate.model_dump(),
        "axes": [axis.to_dict() for axis in plan.axes],
        "fingerprint": plan.fingerprint(),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "python": python_version(),
        "packages": package_versions(),
    }


def _ticker(progress, description: str, total: int) -> Callable:
    if progress is None or total == 0:
        return lambda n=1, label=None: None
    return progress.task(description, total)


def run_sweep(
    sweep=None,
    *,
    workers: int | None = None,
    scheduler=None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    chunk: int | None = None,
    progress=None,
    stale: Callable | None = None,
    on_folder: Callable[[Path], object] | None = None,
    command_line: str | None = None,
    prefix: str = "",
) -> SweepResult:
    """Run a sweep (a file, a dict or a :class:`SweepPlan`); see :func:`market.sweep.sweep`.

    ``on_folder(path)`` is told the run folder before any task runs; ``prefix`` starts the
    option names in error messages (``"--"`` on the command line).
    """
    workers = _check_workers(workers, scheduler, prefix)
    if resume is not None and out is not None:
        raise SweepError(f"{prefix}out = {out}: not with {prefix}resume (the sweep continues "
                         "in its folder)")  # fmt: skip
    if out is not None:
        check_root(out, f"{prefix}out")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise SweepError(f"{prefix}chunk = {chunk}: expected an integer >= 1")
    plan, folder = _plan_and_folder(sweep, resume, prefix)
    check = _ticker(progress if plan.points >= SHOW_VALIDATION else None, "validating", plan.points)
    plan.check(progress=check)
    session = {
        "id": secrets.token_hex(4),
        "pid": os.getpid(),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command_line": command_line or shlex.join(sys.argv),
    }
    if folder is not None and folder.complete:
        with folder.locked(f"{prefix}resume"):
            return _finished(plan, folder, session, 0)
    with executor(workers, scheduler, prefix) as ex:  # before the folder: a bad cluster
        if folder is None and out is not None:  # writes nothing
            folder = SweepFolder.create(out, plan, _base_metadata(plan), stale, f"{prefix}out")
        if folder is not None and on_folder is not None:
            on_folder(folder.path)
        with folder.locked(f"{prefix}resume") if folder is not None else nullcontext():
            return _run(plan, folder, ex, chunk, progress, session)


def _run(plan, folder, ex, chunk, progress, session) -> SweepResult:
    clock = time.perf_counter()
    done = folder.done() if folder is not None else set()
    todo = [
        (p, r) for p in range(plan.points) for r in range(plan.replications) if (p, r) not in done
    ]
    size = chunk or chunk_size(len(todo), ex.slots, plan.replications)
    session.update(workers=ex.workers, scheduler=ex.address, chunk=size, status="running")
    if folder is not None:
        _record(folder, session)
    memory: list = []
    ran = [0]

    def on_done(rows: list[dict]) -> None:
        table = results_table(plan, rows)
        if folder is not None:
            folder.write_part(table)
        else:
            memory.append(table)
        ran[0] += len({(r["point"], r["replication"]) for r in rows})

    chunks = ([plan.task(p, r) for p, r in todo[i : i + size]] for i in range(0, len(todo), size))
    try:
        ex.run(chunks, on_done, _ticker(progress, "sweeping", len(todo)))
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        session.update(wall_time=time.perf_counter() - clock, tasks_run=ran[0], status=status)
        if folder is not None:
            _record(folder, session)
        raise
    session.update(wall_time=time.perf_counter() - clock, tasks_run=ran[0], status="complete")
    if folder is not None:
        return _finished(plan, folder, session, ran[0])
    import pyarrow as pa

    from market.sweep.tables import results_schema

    empty = results_schema(plan).empty_table()
    table = sort_results(pa.concat_tables(memory) if memory else empty)
    meta = {**_base_metadata(plan), **_totals([session], table)}
    return _result(plan, table, None, meta, ran[0])


def _record(folder: SweepFolder, session: dict) -> None:
    """Put ``session`` into the folder's metadata, replacing its earlier record (best effort).
    A session of another process still marked running was killed: this one holds the lock."""
    try:
        meta = folder.metadata()
        sessions = [
            {**s, "status": "killed"} if s.get("status") == "running" else s
            for s in meta.get("sessions", [])
            if s.get("id") != session["id"]
        ]
        meta["sessions"] = [*sessions, dict(session)]
        folder.write_metadata(meta)
    except (OSError, ValueError):
        pass


def _totals(sessions: list[dict], table) -> dict:
    columns = [table.column(c).to_pylist() for c in ("point", "replication", "status")]
    failed = {(p, r) for p, r, s in zip(*columns, strict=True) if s == "failed"}
    last = sessions[-1]
    return {
        "status": "complete",
        "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_time": sum(s.get("wall_time", 0.0) for s in sessions),
        "workers": last.get("workers"),
        "scheduler": last.get("scheduler"),
        "chunk": last.get("chunk"),
        "failed_tasks": len(failed),
        "sessions": sessions,
    }


def _finished(plan, folder: SweepFolder, session: dict, ran: int) -> SweepResult:
    import pyarrow.parquet as pq

    meta = folder.metadata()
    if folder.complete:
        table = pq.read_table(folder.path / "results.parquet")
        return _result(plan, table, folder.path, meta, ran)
    table = folder.consolidate(plan)
    _record(folder, session)
    meta = folder.metadata()
    meta.update(_totals(meta["sessions"], table))
    folder.finish(plan, meta)
    return _result(plan, table, folder.path, folder.metadata(), ran)


def _result(plan, table, path, metadata: dict, ran: int) -> SweepResult:
    from market.sweep.tables import points_table

    return SweepResult(table.to_pandas(), points_table(plan).to_pandas(), path, metadata, ran, plan)
