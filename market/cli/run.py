"""``market run SCENARIO [--users N] [--seed S] [--engine abm|vectorized] [--policy NAME]...
[--out DIR] [--json]``: simulate a scenario's policies and write a run folder.

Every policy of the scenario (its ``[[policies]]``, or the default set), or those named by
``--policy`` (a name or a kind), is solved and simulated on the same users (common random
numbers); the run folder is written atomically (:func:`market.io.runfolder.write_run`). A
summary table, or with ``--json`` one JSON object, goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from market.cli.format import Shown, costly, table
from market.cli.options import add_population_arguments, check_out, integer
from market.cli.progress import progress_for

__all__ = ["add_arguments", "command", "run_table", "simulated"]

MEASURES = (("revenue", "revenue"), ("user surplus", "user_surplus"), ("welfare", "welfare"))
#: Significant digits in the summary table.
DIGITS = 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_population_arguments(parser, engine="abm")


def simulated(args: argparse.Namespace, progress=None, learning: bool = True):
    """Check the options, load the scenario, solve and simulate: a :class:`market.Run`
    (with the learning platform of the scenario unless ``learning`` is False)."""
    from market.api import ENGINES, check_run, select_specs, simulate
    from market.cli.errors import UsageError
    from market.scenario import load_scenario

    if args.engine not in ENGINES:
        raise UsageError(f"--engine = {args.engine}: expected one of {', '.join(ENGINES)}")
    users = integer("--users", args.users, 1)
    seed = integer("--seed", args.seed, 0)
    check_out(args.out)
    scenario = load_scenario(args.scenario)
    count = len(select_specs(scenario, args.policy, option="--policy"))
    users_now = scenario.market.users if users is None else users
    name = "--users" if users is not None else f"{scenario.source}: market.users"
    check_run(users_now, scenario.seed if seed is None else seed, args.engine, count, name)
    command_line = shlex.join(getattr(args, "argv", None) or ["market", *args.command_argv])
    return simulate(
        scenario, users, seed, args.engine, args.policy, progress=progress,
        command_line=command_line, learning=learning,
    )  # fmt: skip


def command(args: argparse.Namespace) -> int:
    """Simulate a scenario's policies; write a run folder and print a summary."""
    with progress_for(args) as progress:
        run = simulated(args, progress)
        run_dir = run.save(args.out, stale=note_stale)
    if args.json:
        out = {"run_dir": str(run_dir), "policies": run.summary_rows(), **_unavailable(run)}
        print(json.dumps(_json_safe(out), allow_nan=False))
        return 0
    print(f"run: {run_dir}")
    print(f"scenario: {run.scenario.name}, {run.users_count} users, seed {run.seed}, "
          f"engine {run.engine}")  # fmt: skip
    for line in market_lines(run):
        print(line)
    print()
    print(run_table(run))
    load = load_table(run)
    if load:
        print()
        print(load)
    return 0


def market_lines(run) -> list[str]:
    """What the market has beyond the paper's, and what "expected" then means."""
    record = run.summary_record()["market"]
    lines = []
    if record["capacity"] is not None:
        lines.append(
            f"capacity: {record['capacity']:.6g} tokens per unit of time, {record['discipline']}"
            + (", users anticipate the slowdown" if record["anticipate"] else "")
            + (", menus priced for it" if record["anticipate_congestion"] else "")
        )
    if record["choice"] != "rational" or record["misperception_sd"] > 0:
        parts = [f"logit, temperature {record['temperature']:g}"] if record["temperature"] else []
        if record["misperception_sd"] > 0:
            parts.append(f"urgency seen with noise sd {record['misperception_sd']:g}")
        lines.append("users: " + ", ".join(parts))
    if lines:
        lines.append(
            "expected: the solver's numbers for rational users and no congestion"
            + (" (priced-for slowdown applied)" if record["anticipate_congestion"] else "")
            + "; realized: this market"
        )
    if run.learning is not None:
        last = run.learning.records().iloc[-1]
        lines.append(
            f"learning platform: {len(run.learning.records())} periods, last relative regret "
            f"{last['relative_regret']:.3g} (learning.parquet)"
        )
    return lines


def load_table(run) -> str:
    """Per policy under a finite capacity: utilisation, slowdowns, and the fixed points."""
    rows = []
    for record in run.summary_record()["policies"]:
        load = record.get("load")
        if load is None:
            continue
        fixed = record.get("anticipation")
        priced = record.get("congestion_pricing")
        rows.append(
            [
                record["name"],
                _share(load["mean_utilisation"]),
                _g(load["mean_slowdown"]),
                _g(load["max_slowdown"]),
                str(load["max_open"]),
                "-" if fixed is None else _rounds(fixed),
                "-" if priced is None else _rounds(priced),
            ]
        )
    if not rows:
        return ""
    headers = ["policy", "utilisation", "mean slowdown", "max slowdown", "max open",
               "users settle", "platform prices"]  # fmt: skip
    note = (
        "slowdown = wall-clock / uncongested conversation time; settle: rounds of the fixed "
        "point (settled or not)"
    )
    return table(headers, rows, numeric_from=1) + "\n\n" + note


def _share(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _g(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _rounds(fixed: dict) -> str:
    return f"{fixed['rounds']} ({'settled' if fixed['settled'] else 'NOT settled'})"


def note_stale(paths) -> None:
    """Say which temporary folders of killed runs were removed (on stderr)."""
    names = ", ".join(p.name for p in paths)
    print(f"note: removed {len(paths)} unfinished run folder(s) of processes that no longer run: "
          f"{names}", file=sys.stderr)  # fmt: skip


def _unavailable(run) -> dict:
    return {"unavailable": [u.to_dict() for u in run.solution.unavailable]}


def _json_safe(data):
    """NaN (a standard error of one user) as null."""
    if isinstance(data, dict):
        return {k: _json_safe(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_safe(v) for v in data]
    if isinstance(data, float) and data != data:
        return None
    return data


def run_table(run) -> str:
    """Per policy and measure: realised mean per user, its 95% interval, the expected value;
    cost and profit too when tokens cost something; money in ``[units]`` if any."""
    shown = Shown(run.solution.units)
    measures = MEASURES
    if costly(run.solution.policies):
        measures = (MEASURES[0], ("cost", "cost"), ("profit", "profit"), *MEASURES[1:])
    headers = ["policy", "measure", shown.label("realized"), "95% interval",
               shown.label("expected"), "z"]  # fmt: skip
    rows = []
    for item in run.runs:
        for k, (label, field) in enumerate(measures):
            est = getattr(item.realized, field)
            expected = float(getattr(item.policy, "token_cost" if field == "cost" else field))
            lo, hi = est.ci95
            known = est.se == est.se  # not NaN (one user: no standard error)
            rows.append(
                [
                    item.policy.name if k == 0 else "",
                    label,
                    shown.money(est.mean, DIGITS),
                    f"[{shown.money(lo, DIGITS)}, {shown.money(hi, DIGITS)}]" if known else "n/a",
                    shown.money(expected, DIGITS),
                    f"{(est.mean - expected) / est.se:+.2f}" if known and est.se > 0 else "-",
                ]
            )
    rows += [[f"{u.name} ({u.kind}): not applicable: {u.reason}"] for u in run.solution.unavailable]
    notes = ["z = (realized - expected) / standard error; intervals: realized ± 1.96 se",
             *shown.note()]  # fmt: skip
    return table(headers, rows, numeric_from=2) + "\n\n" + "\n".join(notes)
