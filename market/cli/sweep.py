"""``market sweep SWEEP [--workers N] [--scheduler ADDRESS] [--out DIR] [--resume RUN_DIR]
[--chunk N] [--plot] [--json]``: many scenarios solved (and simulated), on Dask.

Every point of the sweep file is validated first (exit 2 naming the point, the axis and the
field; nothing runs, nothing is written). ``--workers N`` starts a local Dask cluster of N
worker processes (default: the cores; 0 runs in this process); ``--scheduler`` submits to an
existing cluster (``dask scheduler``, ``dask worker``). Results are written task by task
into the run folder ``<out>/<name>-<timestamp>/`` and consolidated at the end; after a crash
or Ctrl-C, ``--resume RUN_DIR`` runs only the missing tasks. Prints a summary per policy, or
with ``--json`` one object.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys

from market.cli.errors import Interrupted, UsageError, report
from market.cli.format import num, table
from market.cli.options import check_out, integer
from market.cli.progress import progress_for
from market.cli.run import note_stale

__all__ = ["add_arguments", "command", "summary_rows"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sweep", nargs="?", metavar="SWEEP", help="sweep file (TOML); optional with --resume"
    )
    parser.add_argument(
        "--workers", metavar="N",
        help="worker processes of a local Dask cluster (default: the cores; 0: this process)",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="an existing Dask cluster: tcp://host:port of `dask scheduler`, or its scheduler file",
    )  # fmt: skip
    parser.add_argument("--out", metavar="DIR", help="folder of runs (default ./runs)")
    parser.add_argument(
        "--resume", metavar="RUN_DIR", help="complete an interrupted sweep: run its missing tasks"
    )
    parser.add_argument("--chunk", metavar="N", help="sweep tasks per Dask task (default: auto)")
    parser.add_argument("--plot", action="store_true", help="also write the sweep's figures")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def command(args: argparse.Namespace) -> int:
    """Run a sweep; print where its results are and a summary per policy."""
    from market.sweep.execute import max_workers
    from market.sweep.runner import run_sweep

    workers = integer("--workers", args.workers, 0, max_workers())
    chunk = integer("--chunk", args.chunk, 1)
    if args.sweep is None and args.resume is None:
        raise UsageError("SWEEP: missing: expected a sweep file (or --resume RUN_DIR)")
    if args.resume is not None and args.out is not None:
        raise UsageError(f"--out = {args.out}: not with --resume (the sweep continues in RUN_DIR)")
    out = None if args.resume is not None else check_out(args.out or "runs")
    folder = []
    command_line = shlex.join(["market", *getattr(args, "command_argv", [])])
    try:
        with progress_for(args) as progress:
            result = run_sweep(
                args.sweep, workers=workers, scheduler=args.scheduler, out=out,
                resume=args.resume, chunk=chunk, progress=progress, stale=note_stale,
                on_folder=lambda path: _announce(path, folder), command_line=command_line,
                prefix="--",
            )  # fmt: skip
    except KeyboardInterrupt as exc:
        if not folder:
            raise
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        report(f"interrupted by {signal.Signals(signum).name}; {_resume_hint(folder[0])}")
        return 128 + signum
    except Exception:
        if folder and not args.traceback:
            print(f"note: {_resume_hint(folder[0])}", file=sys.stderr)
        raise
    figures = _plot(result.run_dir) if args.plot else []
    if args.json:
        print(json.dumps(_json(result, figures), allow_nan=False))
    else:
        print(_view(result, figures))
    return 0


def _announce(path, folder: list) -> None:
    folder.append(path)
    print(f"note: writing {path}; if interrupted, `market sweep --resume {path}` completes it",
          file=sys.stderr)  # fmt: skip


def _resume_hint(path) -> str:
    return f"the finished tasks are kept in {path}: `market sweep --resume {path}` runs the rest"


def _plot(run_dir) -> list[str]:
    from market.plots.sweep import plot_sweep

    return [str(p) for p in plot_sweep(run_dir)]


def summary_rows(results) -> list[dict]:
    """Per policy, over the sweep: points solved, revenue, profit (revenue - token cost) and
    share of first best (min and max), and the tasks where it did not apply or failed."""
    rows = []
    for name in dict.fromkeys(results.policy):
        mine = results[results.policy == name]
        ok = mine[mine.status == "ok"]
        rows.append(
            {
                "policy": name,
                "kind": str(mine.kind.iloc[0]),
                "ok": int(len(ok)),
                "unavailable": int((mine.status == "unavailable").sum()),
                "failed": int((mine.status == "failed").sum()),
                "revenue_min": _float(ok.revenue.min()),
                "revenue_max": _float(ok.revenue.max()),
                "profit_min": _float(ok.profit.min()),
                "profit_max": _float(ok.profit.max()),
                "share_of_first_best_min": _float(ok.share_of_first_best.min()),
                "share_of_first_best_max": _float(ok.share_of_first_best.max()),
            }
        )
    return rows


def _float(x) -> float | None:
    x = float(x)
    return x if x == x else None


def _json(result, figures: list[str]) -> dict:
    meta = result.metadata
    keys = ("name", "points", "replications", "tasks", "seed", "design", "workers", "scheduler",
            "wall_time", "failed_tasks")  # fmt: skip
    return {
        "run_dir": str(result.run_dir),
        **{k: meta.get(k) for k in keys},
        "tasks_run": result.tasks_run,
        "policies": summary_rows(result.results),
        "figures": figures,
    }


def _view(result, figures: list[str]) -> str:
    meta = result.metadata
    axes = ", ".join(a["field"] for a in meta["axes"])
    where = "in this process" if not meta.get("workers") else f"on {meta['workers']} workers"
    if meta.get("scheduler") and meta.get("workers"):
        where += f" (scheduler {meta['scheduler']})"
    lines = [
        f"sweep: {result.run_dir}",
        f"{meta['points']} points ({meta['design']}: {axes}) x {meta['replications']} "
        f"replication(s) = {meta['tasks']} tasks, seed {meta['seed']}",
        f"ran {result.tasks_run} task(s) {where}; wall time {meta['wall_time']:.3g} s in "
        f"{len(meta.get('sessions', []))} session(s)",
    ]
    if meta.get("failed_tasks"):
        first = result.failed.iloc[0]
        lines.append(f"failed: {meta['failed_tasks']} task(s) (status 'failed' in results.parquet);"
                     f" first: point {first.point}: {first.reason}")  # fmt: skip
    headers = ["policy", "kind", "solved", "revenue min", "max", "of first best min", "max",
               "n/a", "failed"]  # fmt: skip
    rows = [
        [r["policy"], r["kind"], str(r["ok"]), num(r["revenue_min"]), num(r["revenue_max"]),
         _pct(r["share_of_first_best_min"]), _pct(r["share_of_first_best_max"]),
         str(r["unavailable"]), str(r["failed"])]
        for r in summary_rows(result.results)
    ]  # fmt: skip
    text = "\n".join(lines) + "\n\n" + table(headers, rows, numeric_from=2)
    return text + "".join(f"\n{path}" for path in figures)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"
