"""Where a sweep's tasks run: in this process, on a local Dask cluster, or on a cluster's
scheduler.

- ``workers = 0``: in this process, one task after the other (for debugging, and the
  reference the tests compare the clusters against);
- ``workers = N``: a :class:`distributed.LocalCluster` of N worker processes with one thread
  each (the package's linear algebra is on tiny matrices: processes, not threads), forked
  from a fork server that has imported the package once (:func:`start_method`);
- ``scheduler = "tcp://host:port"`` (or a scheduler file, or a :class:`distributed.Client`):
  an existing cluster, started with ``dask scheduler`` and ``dask worker``.

Tasks go to Dask in chunks (:func:`chunk_size`; one Dask task runs a chunk of sweep tasks,
which keeps Dask's overhead small against tasks of tens of milliseconds), a few chunks per
worker in flight at a time, so that a sweep of a million tasks does not sit in the scheduler's
memory and a Ctrl-C cancels little. Each finished chunk is handed to ``on_done(rows)`` as soon
as it finishes. Workers must run the versions of this machine (:func:`check_versions`), so
that a task's numbers do not depend on the worker that ran it.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from market.sweep.spec import SweepError
from market.sweep.tasks import Task, run_chunk, worker_versions

__all__ = [
    "CHUNKS_PER_SLOT",
    "FORKSERVER_PRELOAD",
    "MAX_CHUNK",
    "QUIET",
    "WORKERS_PER_CORE",
    "InProcess",
    "OnDask",
    "chunk_size",
    "default_workers",
    "executor",
    "max_workers",
    "start_method",
]

#: Chunks per worker thread the tasks are split into (for balance at the end of a sweep), and
#: the most tasks in one chunk (a part of the run folder, and what a crash may lose).
CHUNKS_PER_SLOT = 8
MAX_CHUNK = 16
#: Seconds to connect to a scheduler, and to wait for its first worker.
CONNECT_TIMEOUT = 10
WORKER_TIMEOUT = 60
#: Diagnostics a local cluster without a dashboard has no use for, off or rarer: the worker's
#: sampling profiler (every 10 ms), the system monitor (500 ms) and the event-loop tick
#: (20 ms). Measured idle on this machine, they cost the client 6% of a core and each worker
#: 4%; without them 3% and 1%.
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}
#: Most local worker processes per core (tasks use a core each: more only share them).
WORKERS_PER_CORE = 4
#: What the fork server of a local cluster imports once: each worker process forks from it,
#: so that no worker imports them again (a worker then starts in a fraction of a second
#: rather than the seconds an import of the package, SciPy and Dask takes).
FORKSERVER_PRELOAD = ("distributed", "numpy", "scipy", "pandas", "market.api", "market.sweep.tasks")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_workers() -> int:
    """The most worker processes of a local cluster: :data:`WORKERS_PER_CORE` per core."""
    return WORKERS_PER_CORE * default_workers()


def chunk_size(tasks: int, slots: int, replications: int = 1) -> int:
    """Sweep tasks per Dask task: about :data:`CHUNKS_PER_SLOT` chunks per worker thread, at
    most :data:`MAX_CHUNK` tasks each; a multiple of ``replications`` when that fits in
    :data:`MAX_CHUNK`, so that a point's replications share one solution."""
    size = max(1, min(MAX_CHUNK, math.ceil(tasks / (CHUNKS_PER_SLOT * max(slots, 1)))))
    if 1 < replications <= MAX_CHUNK:
        size = replications * max(1, min(size // replications, MAX_CHUNK // replications))
    return size


class InProcess:
    """Runs chunks in this process (``workers = 0``)."""

    workers = 0
    slots = 1
    address = None

    def run(self, chunks: Iterator[list[Task]], on_done: Callable, tick: Callable) -> None:
        for chunk in chunks:
            on_done(run_chunk(chunk, on_task=tick))


class OnDask:
    """Runs chunks on a Dask cluster through ``client``."""

    def __init__(self, client, workers: int | None = None):
        self.client = client
        threads = client.nthreads()
        self.workers = len(threads) if workers is None else workers
        self.slots = max(sum(threads.values()), 1)
        self.address = client.scheduler.address

    def run(self, chunks: Iterator[list[Task]], on_done: Callable, tick: Callable) -> None:
        from distributed import as_completed

        chunks = iter(chunks)
        pending = as_completed(loop=self.client.loop)
        outstanding = set()

        def submit() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                future = self.client.submit(run_chunk, chunk, pure=False)
                outstanding.add(future)
                pending.add(future)

        try:
            for _ in range(max(2 * self.slots, 4)):
                submit()
            for future in pending:
                rows = _result(future)
                outstanding.discard(future)
                on_done(rows)
                tick(len({(r["point"], r["replication"]) for r in rows}))
                submit()
        finally:
            if outstanding:
                self.client.cancel(list(outstanding))


def _result(future):
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as exc:
        raise SweepError(
            f"a worker died running sweep tasks ({exc}); it may have run out of memory: try "
            "fewer workers or fewer simulated users; the finished tasks are kept"
        ) from None


def check_versions(client, option: str) -> None:
    """Every worker runs the versions of this machine (a :class:`SweepError` otherwise)."""
    here = worker_versions()
    try:
        there = client.run(worker_versions)
    except Exception as exc:  # noqa: BLE001 - an unpickling error on a worker, most often
        raise SweepError(
            f"{option}: the workers cannot run token-market ({type(exc).__name__}: {exc}); "
            "install this package on every worker"
        ) from None
    for address, versions in sorted(there.items()):
        differ = [
            f"{k} {versions.get(k)} (here {v})" for k, v in here.items() if versions.get(k) != v
        ]
        if differ:
            raise SweepError(
                f"{option}: worker {address} has {', '.join(differ)}; every worker needs the "
                "versions of this machine, or results would depend on the worker"
            )


@contextmanager
def executor(workers: int | None, scheduler, prefix: str = ""):
    """The executor of ``workers`` (0: in process) or ``scheduler`` (an address, a scheduler
    file or a :class:`distributed.Client`); option names in errors start with ``prefix``."""
    if scheduler is not None:
        with _connected(scheduler, f"{prefix}scheduler = {scheduler}") as client:
            yield OnDask(client)
        return
    if workers == 0:
        yield InProcess()
        return
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({**QUIET, **start_method()}):
        try:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR,
            )  # fmt: skip
        except RuntimeError as exc:  # most often: a script without `if __name__ == "__main__":`
            raise SweepError(
                f"{prefix}workers = {workers}: the local Dask cluster did not start ({exc}); in "
                'a script, call the sweep under `if __name__ == "__main__":`, or use 0 workers'
            ) from None
        with cluster, Client(cluster, set_as_default=False) as client:
            yield OnDask(client, workers)


def start_method() -> dict:
    """Dask's configuration for local workers forked from a fork server that has imported
    :data:`FORKSERVER_PRELOAD` (empty where there is no fork server: Dask's default, spawn).

    The fork server is single-threaded (unlike this process, whose Dask client runs a thread),
    so forking from it is safe; a worker still gets this process's configuration from its
    nanny, and computes what a spawned one would, to the last digit (the tests compare).
    The preload is the process's: set before its fork server starts, it replaces any other."""
    import multiprocessing

    import dask
    from distributed.utils import get_mp_context

    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover
        return {}
    config = {"distributed.worker.multiprocessing-method": "forkserver"}
    with dask.config.set(config):
        get_mp_context()  # Dask sets its own preload list once: before ours, not after
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORKSERVER_PRELOAD))
    return config


@contextmanager
def _connected(scheduler, option: str):
    from distributed import Client

    if isinstance(scheduler, Client):
        check_versions(scheduler, option)
        yield scheduler
        return
    text = os.fspath(scheduler)
    where = {"scheduler_file": text} if os.path.isfile(text) else {"address": text}
    try:
        client = Client(**where, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SweepError(f"{option}: cannot connect to the scheduler ({exc})") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError:
            raise SweepError(
                f"{option}: no worker joined within {WORKER_TIMEOUT} s; start workers with "
                f"`dask worker {text}`"
            ) from None
        check_versions(client, option)
        yield client
