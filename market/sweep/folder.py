"""The run folder of a sweep: written as tasks finish, consolidated at the end, resumable.

``<root>/<name>-<timestamp>/`` is created atomically (:class:`market.io.rundir.RunFolder`) with
``sweep.toml`` (the sweep file as given), ``scenario.toml`` (its base scenario),
``points.parquet`` and ``metadata.json`` (``"status": "running"``). Each finished chunk of
tasks becomes a part ``parts/part-<hex>.parquet``, written aside and renamed into place, so a
part is whole or absent. At the end the parts are consolidated into ``results.parquet``
(written aside, renamed), ``metadata.json`` gets ``"status": "complete"``, the wall time and
the sessions, and ``parts/`` is removed.

A sweep killed (SIGKILL, a crash, Ctrl-C) keeps its folder: :meth:`SweepFolder.done` reads
which tasks its parts hold, and ``market sweep --resume`` runs only the others. One process
at a time works on a folder (an exclusive ``flock`` on ``.lock``).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from market.io.rundir import RunFolder, remove_stale, run_name
from market.sweep.spec import SweepError
from market.sweep.tables import points_table, results_schema, sort_results

__all__ = ["SWEEP_FILES", "SweepFolder", "check_root"]

#: The files of a finished sweep folder.
SWEEP_FILES = ("sweep.toml", "scenario.toml", "points.parquet", "results.parquet", "metadata.json")
#: What ``metadata.json`` says a folder is.
KIND = "market sweep"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: dict) -> None:
    """Strict JSON (no NaN), written aside and renamed into place."""
    _write_atomic(path, (json.dumps(data, indent=2, allow_nan=False) + "\n").encode())


def check_root(root, option: str = "--out") -> Path:
    """``root`` (the folder of runs) exists or can be created, and can be written into: a
    :class:`SweepError` naming ``option`` otherwise (checked before any work)."""
    text = os.fspath(root)
    if not text:
        raise SweepError(f"{option} = '': expected a folder to write runs into")
    probe = Path(text)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SweepError(f"{option} = {text}: {probe} is not a folder; expected a folder of runs")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SweepError(f"{option} = {text}: {probe} is not writable")
    return Path(text)


class SweepFolder:
    """A sweep's run folder (see the module docstring); :meth:`create` or :meth:`open` it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = None

    @property
    def parts(self) -> Path:
        return self.path / "parts"

    @classmethod
    def create(cls, root, plan, metadata: dict, stale=None, option: str = "--out") -> SweepFolder:
        """A new folder under ``root`` holding the plan; ``stale(paths)`` hears of the
        temporary folders of killed processes removed first (a :class:`SweepError` naming
        ``option`` if it cannot be written)."""
        try:
            removed = remove_stale(root)
            if removed and stale is not None:
                stale(removed)
            with RunFolder(root, run_name(plan.name, datetime.now().astimezone())) as folder:
                tmp = folder.tmp
                (tmp / "sweep.toml").write_text(plan.sweep_text, encoding="utf-8")
                (tmp / "scenario.toml").write_text(plan.base_text, encoding="utf-8")
                pq.write_table(points_table(plan), tmp / "points.parquet")
                (tmp / "parts").mkdir()
                write_json(tmp / "metadata.json", {"kind": KIND, "status": "running", **metadata})
                return cls(folder.commit())
        except OSError as exc:
            raise SweepError(
                f"{option} = {root}: cannot write the run folder ({exc.strerror or exc})"
            ) from None

    @classmethod
    def open(cls, path, option: str = "--resume") -> SweepFolder:
        """An existing sweep folder (a :class:`SweepError` naming ``option`` otherwise)."""
        folder = cls(Path(path))
        meta = folder.path / "metadata.json"
        if not folder.path.is_dir():
            raise SweepError(f"{option} = {path}: not a folder")
        try:
            kind = json.loads(meta.read_text(encoding="utf-8")).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != KIND or not (folder.path / "sweep.toml").is_file():
            raise SweepError(f"{option} = {path}: not a sweep folder (no sweep metadata.json)")
        return folder

    @contextmanager
    def locked(self, option: str = "--resume"):
        """Hold the folder's lock (one process at a time) while the block runs."""
        handle = open(self.path / ".lock", "a+b")  # noqa: SIM115 - held for the block
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepError(
                    f"{option} = {self.path}: another market sweep is running in this folder"
                ) from None
            yield self
        finally:
            handle.close()
            if self.complete:
                (self.path / ".lock").unlink(missing_ok=True)

    def metadata(self) -> dict:
        return json.loads((self.path / "metadata.json").read_text(encoding="utf-8"))

    def write_metadata(self, data: dict) -> None:
        write_json(self.path / "metadata.json", data)

    @property
    def complete(self) -> bool:
        return (self.path / "results.parquet").is_file() and not self.parts.exists()

    def done(self) -> set[tuple[int, int]]:
        """The tasks ``(point, replication)`` the parts hold (half-written parts removed)."""
        if not self.parts.is_dir():
            return set()
        for leftover in self.parts.glob(".*.partial"):
            leftover.unlink(missing_ok=True)
        done = set()
        for part in self.parts.glob("part-*.parquet"):
            table = pq.read_table(part, columns=["point", "replication"])
            points = table.column("point").to_pylist()
            done.update(zip(points, table.column("replication").to_pylist(), strict=True))
        return done

    def write_part(self, table: pa.Table) -> None:
        """One finished chunk's rows, as a new part (whole or absent)."""
        self.parts.mkdir(exist_ok=True)
        _write_parquet(table, self.parts / f"part-{secrets.token_hex(8)}.parquet")

    def consolidate(self, plan) -> pa.Table:
        """``results.parquet`` from the parts (every task exactly once), then no parts."""
        parts = sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []
        schema = results_schema(plan)
        tables, seen = [], set()
        for part in parts:  # each task once, from the first part holding it
            table = pq.read_table(part, schema=schema)
            tasks = list(zip(table.column("point").to_pylist(),
                             table.column("replication").to_pylist(), strict=True))  # fmt: skip
            keep = [task not in seen for task in tasks]
            seen.update(tasks)
            tables.append(table if all(keep) else table.filter(pa.array(keep)))
        table = sort_results(pa.concat_tables(tables) if tables else schema.empty_table())
        _check_complete(table, plan, self.path)
        _write_parquet(table, self.path / "results.parquet")
        return table

    def finish(self, plan, metadata: dict) -> None:
        """Mark the folder complete and remove the parts (after :meth:`consolidate`)."""
        if not (self.path / "points.parquet").is_file():  # removed meanwhile: the plan has it
            _write_parquet(points_table(plan), self.path / "points.parquet")
        self.write_metadata({"kind": KIND, **metadata, "status": "complete"})
        shutil.rmtree(self.parts, ignore_errors=True)


def _check_complete(table: pa.Table, plan, path: Path) -> None:
    """Every task of the plan once (the parts of one folder can hold nothing else)."""
    point = table.column("point").to_numpy()
    replication = table.column("replication").to_numpy()
    tasks = set(zip(point.tolist(), replication.tolist(), strict=True))
    if len(tasks) != plan.tasks:
        raise SweepError(
            f"{path}: the parts hold {len(tasks)} of {plan.tasks} tasks; "
            "run market sweep --resume on the folder"
        )
