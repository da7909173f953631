"""How fast do sweeps run, in this process and on Dask? (Not a test: run it and read it.)

::

    .venv/bin/python benchmarks/bench_sweep.py [--points 200] [--repeat 1]

A solve-only grid sweep of the paper's example (``urgency.high`` x ``information.token_rate``,
the optimal token menu, the flat price and the two-part tariff at each point) runs

- in this process (``--workers 0``), after a warm-up sweep (the first solve of a process fills
  caches);
- on a local Dask cluster of 1 and of 2 worker processes, started and warmed up first, so the
  numbers are the steady throughput (the start-up of a cluster is timed on its own, and a
  cold ``--workers 2`` run, start to end, is timed too).

It prints, side by side, wall time and tasks per second, and CPU time per task: the workers'
(``time.process_time`` of each worker process, before and after) and this process's, which
holds the client and the scheduler, and the cores the run got (CPU over wall: about 1 per
worker on an idle machine, less when other processes take the cores). Wall times depend on
what else the machine runs (the load average is printed before and after). Then the
speed-up from 1 to 2 workers, Dask's overhead per task (wall: the 1-worker time minus the
in-process one; CPU: the extra CPU of workers and client), as a share of a task, and the
projected wall time of a 100,000-point sweep on this machine and on 64 workers (this
machine's per-worker rate and 1 -> 2 efficiency; the client's validation of the points
measured on 10,000 and scaled).
Goals on a 2-core machine: speed-up >= 1.7, overhead < 10% of a task.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from market.sweep.execute import QUIET
from market.sweep.plan import sweep_from_dict
from market.sweep.runner import run_sweep

PAPER_EXAMPLE = Path(__file__).resolve().parent.parent / "scenarios" / "paper_example.toml"
POLICIES = ["optimal_token_menu", "flat", "two_part"]
#: The goals of the issue.
GOALS = {"speedup": 1.7, "overhead": 0.10}
#: Seconds to wait for the workers' last heartbeat (their metrics) after a sweep.
HEARTBEAT = 3.0
#: Points of the projected sweep, and the workers of the projected cluster.
PROJECTED_POINTS, PROJECTED_WORKERS = 100_000, 64


def sweep(points: int, design: str = "grid") -> dict:
    """A solve-only sweep of ``points`` points (a 20-column grid, or a Sobol' design)."""
    highs = min(points, 20)
    axes = [
        {"field": "urgency.high", "range": {"start": 1.25, "stop": 6.0, "num": highs}},
        {
            "field": "information.token_rate",
            "range": {"start": 0.05, "stop": 0.5, "num": max(points // highs, 1), "scale": "log"},
        },
    ]
    data = {"scenario": str(PAPER_EXAMPLE), "policies": POLICIES, "axes": axes}
    if design == "sobol":
        for axis in axes:
            axis["range"].pop("num")
        data.update(design="sobol", samples=points)
    return data


def task_cpu(client) -> float:
    """CPU seconds the workers have spent inside tasks (Dask's fine performance metrics:
    ``execute`` / ``thread-cpu``), as the scheduler last heard from them."""

    def inside(dask_scheduler) -> float:
        metrics = dask_scheduler.cumulative_worker_metrics
        return sum(v for k, v in metrics.items() if k[0] == "execute" and k[2] == "thread-cpu")

    return client.run_on_scheduler(inside)


def timed(plan, client=None, **options) -> dict:
    """Wall time, the workers' CPU time and this process's CPU time of one sweep, and on a
    cluster the workers' CPU inside the tasks (what is left is Dask's, in the same run)."""
    before = client.run(time.process_time) if client is not None else {}
    inside = task_cpu(client) if client is not None else 0.0
    cpu, start = time.process_time(), time.perf_counter()
    result = run_sweep(plan, scheduler=client, **options)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    after = client.run(time.process_time) if client is not None else {}
    assert result.tasks_run == plan.tasks and (result.results.status == "ok").all()
    workers = sum(after[w] - before[w] for w in after) if client is not None else cpu
    if client is not None:
        time.sleep(HEARTBEAT)  # the workers' last metrics reach the scheduler
        inside = task_cpu(client) - inside
    else:
        inside = cpu
    return {
        "wall": wall,
        "workers_cpu": workers,
        "client_cpu": cpu if client else 0.0,
        "inside_cpu": inside,
    }


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda run: run["wall"])


def on_cluster(plan, warm, workers: int, repeat: int) -> tuple[float, dict]:
    """Start-up of a warmed local cluster (as ``--workers N`` starts it), and the sweep's
    fastest run on it."""
    import dask
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with (
        dask.config.set(QUIET),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        run_sweep(warm, scheduler=client)  # imports and caches on every worker
        up = time.perf_counter() - start
        return up, best([timed(plan, client) for _ in range(repeat)])


def projection(rate_1: float, speedup: float, validate_per_point: float, startup: float) -> dict:
    """Wall times of a 100,000-point sweep: one machine (2 workers), and 64 workers at this
    machine's per-worker rate and 1 -> 2 efficiency."""
    fixed = PROJECTED_POINTS * validate_per_point + startup
    efficiency = speedup / 2
    return {
        "this machine (2 workers)": fixed + PROJECTED_POINTS / (rate_1 * speedup),
        f"{PROJECTED_WORKERS} workers": fixed
        + PROJECTED_POINTS / (rate_1 * PROJECTED_WORKERS * efficiency),
    }


def idle_rate(run: dict, n: int, workers: int, cores: int = 2) -> float:
    """Tasks per second of a run had it had ``cores`` cores to itself: each worker at most one
    core, and the workers and the client (which holds the scheduler) together at most
    ``cores``, at the CPU per task measured. What the wall time gives on an idle machine;
    on a busy one the wall time measures the other processes too."""
    worker, client = run["workers_cpu"] / n, run["client_cpu"] / n
    return min(workers / worker, cores / (worker + client))


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    args = parser.parse_args()
    plan = sweep_from_dict(sweep(args.points))
    warm = sweep_from_dict(sweep(4))
    print(f"{plan.points}-point solve-only sweep of the paper's example ({', '.join(POLICIES)})")
    print(f"load average before: {load()}")
    timed(warm, workers=0)
    runs = {0: best([timed(plan, workers=0) for _ in range(args.repeat)])}
    startups = {}
    for workers in (1, 2):
        startups[workers], runs[workers] = on_cluster(plan, warm, workers, args.repeat)
    start = time.perf_counter()
    run_sweep(plan, workers=2)
    cold = time.perf_counter() - start
    big = sweep_from_dict(sweep(10_000, "sobol"))
    start = time.perf_counter()
    big.check()
    validate = (time.perf_counter() - start) / big.points
    report(plan.tasks, runs, startups, cold, validate)
    print(f"load average after: {load()}")


def report(n: int, runs: dict, startups: dict, cold: float, validate: float) -> None:
    print(
        f"\n{'workers':>8} {'wall (s)':>9} {'tasks/s':>8} {'vs 0':>6} "
        f"{'worker CPU ms/task':>19} {'client CPU ms/task':>19} {'cores used':>11}"
    )
    for workers, run in runs.items():
        used = (run["workers_cpu"] + run["client_cpu"]) / run["wall"]  # < workers: contention
        print(
            f"{workers:>8} {run['wall']:>9.2f} {n / run['wall']:>8.1f} "
            f"{runs[0]['wall'] / run['wall']:>5.2f}x {1000 * run['workers_cpu'] / n:>19.1f} "
            f"{1000 * run['client_cpu'] / n:>19.2f} {used:>11.2f}"
        )
    task = runs[0]["workers_cpu"] / n
    speedup = runs[1]["wall"] / runs[2]["wall"]
    wall_overhead = (runs[1]["wall"] - runs[0]["wall"]) / n
    cpu_overhead = (runs[1]["workers_cpu"] + runs[1]["client_cpu"]) / n - task
    idle = {w: idle_rate(runs[w], n, w) for w in (1, 2)}
    print(f"\nspeed-up 1 -> 2 workers (wall): {speedup:.2f}x (goal >= {GOALS['speedup']})")
    print(
        f"  with the cores to itself (from the CPU times; an estimate for a busy machine): "
        f"1 worker {idle[1]:.1f} tasks/s, 2 workers {idle[2]:.1f} tasks/s, "
        f"speed-up {idle[2] / idle[1]:.2f}x"
    )
    print(
        f"Dask overhead per task, 1 worker against in process: wall {1000 * wall_overhead:+.2f} "
        f"ms = {wall_overhead / task:+.1%}, CPU {1000 * cpu_overhead:+.2f} ms = "
        f"{cpu_overhead / task:+.1%} of a task ({1000 * task:.1f} ms CPU) "
        f"(goal < {GOALS['overhead']:.0%})"
    )
    for w in (1, 2):
        run = runs[w]
        outside = (run["workers_cpu"] - run["inside_cpu"]) / n
        client = run["client_cpu"] / n
        inside = run["inside_cpu"] / n
        print(
            f"Dask overhead per task, {w} worker(s), CPU in the same run: workers outside tasks "
            f"{1000 * outside:.2f} ms + client and scheduler {1000 * client:.2f} ms = "
            f"{(outside + client) / inside:.1%} of a task's CPU inside it ({1000 * inside:.1f} ms)"
        )
    print(
        f"local cluster up and warm: 1 worker {startups[1]:.1f} s, 2 workers {startups[2]:.1f} s;"
        f" a cold `--workers 2` run, start to end: {cold:.1f} s"
    )
    print(f"validation of the points in the client: {1e6 * validate:.0f} us per point")
    rate_1 = n / runs[1]["wall"]
    measured = projection(rate_1, speedup, validate, startups[2])
    estimated = projection(idle[1], idle[2] / idle[1], validate, startups[2])
    print(f"\nprojected wall time of a {PROJECTED_POINTS:,}-point sweep of these tasks:")
    print(f"  {'':<26} {'measured':>9} {'cores to itself':>16}")
    for where, seconds in measured.items():
        print(f"  {where:<26} {seconds / 60:5.1f} min {estimated[where] / 60:12.1f} min")


if __name__ == "__main__":
    main()
