"""A sweep on a Dask cluster started as a user would: ``dask scheduler`` and ``dask worker`` in
processes of their own, the sweep submitted with ``--scheduler``.

The worker runs in an empty folder: the sweep file and its base scenario are read only by the
client, which ships each point's scenario to the worker. Its results equal those of
``--workers 0`` (in this process) to the last digit.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import market as mk
from market.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAPER_EXAMPLE = ROOT / "scenarios" / "paper_example.toml"
DASK = Path(sys.executable).parent / "dask"
SWEEP = """policies = ["optimal_token_menu", "flat"]
replications = 2
[[axes]]
field = "urgency.high"
values = [1.5, 2.5]
[[axes]]
field = "information.token_rate"
values = [0.125, 0.25]
[simulate]
users = 300
"""


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and one worker process (one thread), each a `dask` command; yields the
    scheduler file. Both are stopped afterwards (and time out by themselves if orphaned)."""
    file = tmp_path / "scheduler.json"
    where = tmp_path / "worker-home"
    where.mkdir()
    logs = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - closed below
    scheduler = subprocess.Popen(
        [
            str(DASK),
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
            "--idle-timeout",
            "120",
        ],
        stdout=logs,
        stderr=subprocess.STDOUT,
        cwd=where,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            assert scheduler.poll() is None, (tmp_path / "dask.log").read_text()
            time.sleep(0.05)
        worker = subprocess.Popen(
            [
                str(DASK),
                "worker",
                "--scheduler-file",
                str(file),
                "--nworkers",
                "1",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--death-timeout",
                "60",
            ],
            stdout=logs,
            stderr=subprocess.STDOUT,
            cwd=where,
        )
        yield file
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                stop(proc)
        logs.close()


@pytest.mark.slow  # 8 s (two `dask` processes); run with -m slow
def test_a_sweep_through_a_scheduler_equals_the_in_process_one(cluster, tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'scenario = "{PAPER_EXAMPLE}"\n{SWEEP}', encoding="utf-8")
    address = json.loads(cluster.read_text())["address"]
    argv = ["sweep", str(sweep), "--scheduler", address, "--out", str(tmp_path / "runs")]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["scheduler"] == address and result["workers"] == 1
    assert result["tasks_run"] == 8 and result["failed_tasks"] == 0
    on_cluster = pq.read_table(Path(result["run_dir"]) / "results.parquet").to_pandas()
    in_process = mk.sweep(sweep, workers=0)
    pd.testing.assert_frame_equal(on_cluster, in_process, check_exact=True)
    # the API takes the scheduler file as well
    again = mk.sweep(sweep, scheduler=str(cluster))
    pd.testing.assert_frame_equal(again, in_process, check_exact=True)
    assert os.listdir(cluster.parent / "worker-home") in ([], ["dask-scratch-space"])
