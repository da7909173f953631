"""Arguments shared by the commands, and their checks (each names the option and the value)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from market.cli.errors import UsageError

__all__ = ["add_policy_arguments", "add_population_arguments", "check_out", "integer"]


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--policy`` (repeatable) and ``--json``, which every command over a scenario takes."""
    parser.add_argument(
        "--policy",
        action="append",
        metavar="NAME_OR_KIND",
        help="only this policy (repeatable; default: every policy of the scenario)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def add_population_arguments(parser: argparse.ArgumentParser, engine: str) -> None:
    """The arguments ``run`` and ``compare`` share: the scenario, its population and the run
    folder (values are checked when the command runs)."""
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--users", metavar="N", help="number of users (default: the scenario's)")
    parser.add_argument("--seed", metavar="S", help="root seed >= 0 (default: the scenario's)")
    parser.add_argument(
        "--engine", default=engine, metavar="{abm,vectorized}", help=f"engine (default {engine})"
    )
    parser.add_argument("--out", metavar="DIR", default="runs", help="folder of runs (./runs)")
    add_policy_arguments(parser)


def integer(option: str, text: str | None, minimum: int, maximum: int | None = None) -> int | None:
    """``text`` as an integer in range, or a :class:`UsageError` naming ``option``."""
    if text is None:
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        limit = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise UsageError(f"{option} = {text}: expected an integer {limit}")
    return value


def check_out(text: str) -> Path:
    """``--out``: a folder that exists or can be created, and can be written into."""
    if not text:
        raise UsageError("--out = '': expected a folder to write runs into")
    path = Path(text)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"--out = {text}: {probe} is not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out = {text}: {probe} is not writable")
    return path
