"""``market run``: simulate a scenario's policies and write a run folder.

::

    market run SCENARIO [--users N] [--seed S] [--engine abm|vectorized]
                        [--policy KIND_OR_NAME]... [--out DIR] [--json]

Every policy the scenario offers (:func:`market.solve.build_policies`), or those named by
``--policy`` (a kind or a name), is simulated on the same users (common random numbers). The
run folder ``<out>/<scenario>-<timestamp>/`` (default ``./runs``) holds ``users.parquet``,
``timeseries.parquet``, ``menus.parquet`` (each policy's expected menu), ``stopping_law.parquet``
(density and survival of each deployed model with a density, up to its 99.9% quantile),
``summary.json`` (with the first-best welfare), ``scenario.toml`` and ``metadata.json``; it is
written atomically (:mod:`market.sim.rundir`). A summary table, or with ``--json`` one JSON
object, goes to stdout.

A mistake in an option prints one line ``error: --<option> = <value>: <expected>`` on stderr
and exits with status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from market.sim.abm import MarketModel
from market.sim.draws import make_draws
from market.sim.outcomes import Offer, Outcomes, Timeseries, prepare
from market.sim.records import (
    STOPPING_LAW_SCHEMA,
    USERS_SCHEMA,
    Realized,
    menu_table,
    stopping_law_table,
    summarize,
    timeseries_table,
    users_table,
)
from market.sim.rundir import RunFolder, run_name
from market.sim.vectorized import outcomes_of, timeseries_of

if TYPE_CHECKING:
    from market.policies import SolvedPolicy

__all__ = [
    "ENGINES",
    "EXIT_USAGE",
    "UsageError",
    "add_run_arguments",
    "run_command",
    "sample_interval",
    "select_policies",
    "simulate",
]

#: The simulation engines.
ENGINES = ("abm", "vectorized")

#: Exit status for a mistake in the command line or the scenario (as argparse uses).
EXIT_USAGE = 2

#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130

#: The time series has about this many records over the arrival period.
SAMPLES = 100

#: Packages whose versions go into metadata.json.
PACKAGES = ("token-market", "numpy", "scipy", "pandas", "pyarrow", "mesa", "simpy", "tqdm")


class UsageError(ValueError):
    """A bad command-line value (the message names the option, the value and the limit)."""


def add_population_arguments(parser: argparse.ArgumentParser, engine: str) -> None:
    """The arguments ``run`` and ``compare`` share: the scenario, its population and the
    run folder (values are checked by :func:`_setup`)."""
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--users", metavar="N", help="number of users (default: the scenario's)")
    parser.add_argument("--seed", metavar="S", help="root seed >= 0 (default: the scenario's)")
    parser.add_argument(
        "--engine", default=engine, metavar="{abm,vectorized}", help="simulation engine"
    )
    parser.add_argument("--out", metavar="DIR", default="runs", help="folder of runs (./runs)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``market run`` (values are checked by :func:`run_command`)."""
    add_population_arguments(parser, engine="abm")
    parser.add_argument(
        "--policy",
        action="append",
        metavar="KIND_OR_NAME",
        help="simulate only this policy (repeatable; default: every policy)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _integer(option: str, text: str | None, minimum: int) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or value < minimum:
        raise UsageError(f"{option} = {text}: expected an integer >= {minimum}")
    return value


def select_policies(policies: list, wanted: list[str] | None) -> list:
    """The policies named by ``wanted`` (kind or name), in the scenario's order."""
    if not wanted:
        return list(policies)
    for want in wanted:
        if not any(want in (p.kind, p.name) for p in policies):
            available = ", ".join(f"{p.name!r} (kind {p.kind})" for p in policies)
            raise UsageError(f"--policy = {want}: unknown policy; available: {available}")
    return [p for p in policies if p.kind in wanted or p.name in wanted]


def sample_interval(users: int, arrival_rate: float, samples: int = SAMPLES) -> float:
    """A round clock interval (1, 2 or 5 times a power of ten) giving about ``samples``
    records over the arrival period ``users / arrival_rate``."""
    raw = users / arrival_rate / samples
    power = 10.0 ** math.floor(math.log10(raw))
    for step in (1.0, 2.0, 5.0):
        if raw < step * power * 1.5:
            return step * power
    return 10.0 * power


@dataclass(frozen=True)
class PolicyRun:
    """One simulated policy: the offered policy and its realised summary."""

    policy: SolvedPolicy
    realized: Realized

    def json_row(self) -> dict:
        exp, real = self.policy.expected, self.realized
        return {
            "name": self.policy.name,
            "kind": self.policy.kind,
            "users": real.users,
            "revenue_per_user": real.revenue.mean,
            "revenue_se": _num(real.revenue.se),
            "expected_revenue": float(exp.revenue),
            "welfare_per_user": real.welfare.mean,
            "welfare_se": _num(real.welfare.se),
            "expected_welfare": float(exp.welfare),
            "user_surplus_per_user": real.user_surplus.mean,
            "user_surplus_se": _num(real.user_surplus.se),
            "expected_user_surplus": float(exp.user_surplus),
        }

    def summary(self) -> dict:
        exp = self.policy.expected
        return {
            "name": self.policy.name,
            "kind": self.policy.kind,
            "realized": self.realized.to_dict(),
            "expected": {
                "revenue": float(exp.revenue),
                "user_surplus": float(exp.user_surplus),
                "welfare": float(exp.welfare),
            },
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def simulate(
    draws, menu, engine: str, interval: float, progress=None, offer: Offer | None = None
) -> tuple[Outcomes, Timeseries]:
    """Per-user outcomes and the time series of one policy with ``engine``.

    ``offer`` is ``prepare(draws, menu)`` if already computed.
    """
    if offer is None:
        offer = prepare(draws, menu)
    if engine == "abm":
        market = MarketModel(draws, menu, interval, offer=offer)
        market.run_model(progress)
        return market.outcomes(), market.timeseries()
    outcomes = outcomes_of(offer)
    if progress is not None:
        progress(draws.users)
    return outcomes, timeseries_of(outcomes, interval)


def run_command(args: argparse.Namespace) -> int:
    """Simulate a scenario's policies; write a run folder and print a summary."""
    return guarded(_run, args)


def guarded(body, args: argparse.Namespace) -> int:
    """Run ``body(args)``: a mistake (ValueError) or Ctrl-C becomes one ``error:`` line and an
    exit status, with no run folder left behind."""
    try:
        return body(args)
    except ValueError as exc:  # a usage error, or a mistake in the scenario or a policy
        if getattr(args, "traceback", False):
            raise
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted; no run folder was written", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from market.solve import Solver, build_policies  # lazy: keep `--help` fast

    scenario, users, seed = _setup(args)
    offered, first_best = _solved(
        scenario, lambda: (build_policies(scenario), Solver(scenario).first_best)
    )
    policies = select_policies(offered, args.policy)
    run_dir, runs = simulate_to_folder(args, scenario, policies, first_best, users, seed)
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "policies": [r.json_row() for r in runs]}))
    else:
        print(f"run: {run_dir}")
        print(f"scenario: {scenario.name}, {users} users, seed {seed}, engine {args.engine}")
        print()
        print(format_runs(runs))
    return 0


def _setup(args: argparse.Namespace):
    """Check the options and load the scenario: (scenario, users, seed)."""
    from market.scenario import load_scenario

    if args.engine not in ENGINES:
        raise UsageError(f"--engine = {args.engine}: expected one of {', '.join(ENGINES)}")
    users_opt = _integer("--users", args.users, 1)
    seed_opt = _integer("--seed", args.seed, 0)
    scenario = load_scenario(args.scenario)
    users = scenario.market.users if users_opt is None else users_opt
    seed = scenario.seed if seed_opt is None else seed_opt
    return scenario, users, seed


def _solved(scenario, solve):
    """Run ``solve()``, naming the scenario file in the solver's errors."""
    from market.scenario import ScenarioError

    try:
        return solve()
    except ScenarioError:
        raise
    except ValueError as exc:  # the solver's errors do not know which file they came from
        raise ScenarioError(f"{scenario.source}: {exc}") from exc


def simulate_to_folder(
    args: argparse.Namespace,
    scenario,
    policies: list,
    first_best: float,
    users: int,
    seed: int,
    extra=None,
) -> tuple[Path, list[PolicyRun]]:
    """Simulate ``policies`` on one population and write the run folder atomically.

    ``policies`` are :class:`~market.policies.SolvedPolicy`-like records (``name``, ``kind``,
    ``menu``, ``expected``). ``extra(folder, runs)``, if given, writes more files into the
    folder before it is put in place. Returns the run folder and the per-policy summaries.
    """
    rate = scenario.market.arrival_rate
    draws = make_draws(seed, users, rate, scenario.urgency(), scenario.prior)
    interval = sample_interval(users, rate)
    started = datetime.now().astimezone()

    from tqdm import tqdm  # lazy: only needed while simulating

    runs: list[PolicyRun] = []
    with (
        RunFolder(args.out, run_name(scenario.name, started)) as folder,
        tqdm(
            total=users * len(policies),
            unit="user",
            unit_scale=True,
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
        ) as bar,
    ):
        writer = pq.ParquetWriter(folder.tmp / "users.parquet", USERS_SCHEMA)
        series = []
        try:
            for policy in policies:
                bar.set_description(policy.name)
                offer = prepare(draws, policy.menu)
                outcomes, ts = simulate(
                    draws, policy.menu, args.engine, interval, bar.update, offer=offer
                )
                writer.write_table(users_table(outcomes, policy.name, offer.breakthrough))
                series.append(timeseries_table(ts, policy.name))
                runs.append(PolicyRun(policy, summarize(outcomes)))
                del offer, outcomes, ts
                gc.collect()  # a Mesa model is a reference cycle: free its lists now
        finally:
            writer.close()
        pq.write_table(pa.concat_tables(series), folder.tmp / "timeseries.parquet")
        pq.write_table(menus_of(policies), folder.tmp / "menus.parquet")
        pq.write_table(stopping_laws_of(policies), folder.tmp / "stopping_law.parquet")
        summary = {
            "scenario": scenario.name,
            "engine": args.engine,
            "seed": seed,
            "users": users,
            "first_best_welfare": float(first_best),
            "policies": [run.summary() for run in runs],
        }
        _write_json(folder.tmp / "summary.json", summary)
        (folder.tmp / "scenario.toml").write_text(scenario.source_text, encoding="utf-8")
        meta = {
            "scenario": scenario.name,
            "scenario_file": str(scenario.source),
            "seed": seed,
            "users": users,
            "engine": args.engine,
            "arrival_rate": rate,
            "sample_interval": interval,
            "policies": [p.name for p in policies],
            "created": started.isoformat(timespec="seconds"),
            "command_line": shlex.join(getattr(args, "argv", None) or sys.argv),
            "git_revision": git_revision(),
            "python": platform.python_version(),
            "packages": package_versions(),
        }
        _write_json(folder.tmp / "metadata.json", meta)
        if extra is not None:
            extra(folder.tmp, runs)
        run_dir = folder.commit()

    return run_dir, runs


def menus_of(policies: list[SolvedPolicy]) -> pa.Table:
    """The expected menu rows of every policy (``menus.parquet``)."""
    return pa.concat_tables(menu_table(p.name, p.kind, p.expected.menu) for p in policies)


def stopping_laws_of(policies: list[SolvedPolicy]) -> pa.Table:
    """The stopping law of each policy's deployed model that has a density (the greedy model,
    the diffusion; not a constant delay, whose law is a point mass): ``stopping_law.parquet``."""
    tables = [
        stopping_law_table(p.name, p.menu.model)
        for p in policies
        if callable(getattr(getattr(p.menu, "model", None), "density", None))
    ]
    return pa.concat_tables(tables) if tables else STOPPING_LAW_SCHEMA.empty_table()


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def git_revision() -> str | None:
    """``git rev-parse HEAD`` of the package's source tree, or None if unavailable."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


#: Significant digits in the summary table.
DIGITS = 6

MEASURES = (("revenue", "revenue"), ("user surplus", "user_surplus"), ("welfare", "welfare"))


def format_runs(runs: list[PolicyRun]) -> str:
    """Per policy and measure: realised mean per user, its 95% interval, the expected value."""
    headers = ["policy", "measure", "realized", "95% interval", "expected", "z"]
    rows = []
    for run in runs:
        for k, (label, field) in enumerate(MEASURES):
            est = getattr(run.realized, field)
            expected = float(getattr(run.policy.expected, field))
            lo, hi = est.ci95
            z = f"{(est.mean - expected) / est.se:+.2f}" if est.se > 0 else "-"
            rows.append(
                [
                    run.policy.name if k == 0 else "",
                    label,
                    f"{est.mean:.{DIGITS}g}",
                    f"[{lo:.{DIGITS}g}, {hi:.{DIGITS}g}]",
                    f"{expected:.{DIGITS}g}",
                    z,
                ]
            )
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if j < 2 else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    note = "z = (realized - expected) / standard error; intervals: realized ± 1.96 se"
    return "\n".join([line(headers)] + [line(r) for r in rows] + ["", note])
