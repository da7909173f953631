r"""Sweeps that run: the closed form of the paper's example, identical results on 0, 1 and 2
workers (a real ``LocalCluster``), seeds per task, failures recorded, and ``--resume`` after a
kill or a Ctrl-C completing a sweep as if it had never stopped.

Closed form of the optimal revenue: docs/paper-notes.md, erratum 4, generalised from
:math:`\chi = 1/8`, :math:`h = 2` to any token rate and upper urgency (and checked against an
independent double integral). With prior 1/2 and the quadratic entropy the greedy model stops
at the rate :math:`\lambda = \chi / D(0\,|\,\tfrac12) = 4\chi` (Section 3.1: :math:`D =
1/4`; erratum 3: rate 1/2 in total at :math:`\chi = 1/8`), so
:math:`\tau \sim \mathrm{Exp}(\lambda)`. Urgency :math:`U[1, h]` has :math:`g = 1/(h-1)`,
:math:`G(r) = (r-1)/(h-1)` and the cap :math:`T(r) = g/G = 1/(r-1)`. Theorem 1's revenue is

.. math::
    \pi = \int_1^h g(r) \int_0^{T(r)} \lambda e^{-(r+\lambda)t}\,(1 - t(r-1))\,dt\,dr.

The inner integral, with :math:`a = r + \lambda`, :math:`c = r - 1` and :math:`cT = 1`, is
:math:`\lambda(1+\lambda)/a^2 + \lambda c\,e^{-aT}/a^2` where :math:`aT = 1 + (1+\lambda)/c`.
The first term integrates to :math:`\lambda/(h+\lambda)`; the second, with
:math:`u = (1+\lambda)/(r-1)`, to :math:`\frac{\lambda e^{-1}}{h-1}\int_{u_0}^\infty
\frac{e^{-u}}{u(1+u)^2}du` and, by :math:`\frac1{u(1+u)^2} = \frac1u - \frac1{1+u} -
\frac1{(1+u)^2}` and one integration by parts,

.. math::
    \pi(\chi, h) = \frac{\lambda}{h+\lambda} + \frac{\lambda e^{-1}}{h-1}
    \Big(E_1(u_0) - \frac{e^{-u_0}}{1+u_0}\Big), \qquad u_0 = \frac{1+\lambda}{h-1},

which at :math:`\chi = 1/8`, :math:`h = 2` is erratum 4's
:math:`0.2(1-e^{-2.5}) + 0.5e^{-1}E_1(1.5) = 0.2019805743`.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import integrate
from scipy.special import exp1

import market as mk
from market.cli import main
from market.sweep import load_sweep
from market.sweep.tasks import task_seed

ROOT = Path(__file__).resolve().parents[1]
PAPER_EXAMPLE = ROOT / "scenarios" / "paper_example.toml"


def write_sweep(path: Path, body: str) -> Path:
    path.write_text(f'scenario = "{PAPER_EXAMPLE}"\n{body}', encoding="utf-8")
    return path


def closed_form_revenue(chi: float, high: float) -> float:
    """The module docstring's :math:`\\pi(\\chi, h)`."""
    lam = 4 * chi
    u0 = (1 + lam) / (high - 1)
    return lam / (high + lam) + lam * math.exp(-1) / (high - 1) * (
        exp1(u0) - math.exp(-u0) / (1 + u0)
    )


def numerical_revenue(chi: float, high: float) -> float:
    """Theorem 1's double integral by adaptive quadrature (scipy.integrate.dblquad)."""
    lam = 4 * chi

    def integrand(t, r):
        return lam * math.exp(-(r + lam) * t) * (1 - t * (r - 1)) / (high - 1)

    value, _ = integrate.dblquad(
        integrand, 1, high, 0, lambda r: 1 / (r - 1), epsabs=1e-13, epsrel=1e-12
    )
    return value


def test_closed_form_against_the_paper_and_quadrature():
    paper = 0.2 * (1 - math.exp(-2.5)) + 0.5 * math.exp(-1) * exp1(1.5)  # Section 3.1
    assert closed_form_revenue(0.125, 2.0) == pytest.approx(paper, rel=1e-14)
    for chi, high in [(0.0625, 1.5), (0.125, 3.5), (0.25, 5.0)]:
        assert closed_form_revenue(chi, high) == pytest.approx(
            numerical_revenue(chi, high), rel=1e-10
        )


def test_the_sweep_matches_the_closed_form_at_every_point(tmp_path):
    sweep = write_sweep(
        tmp_path / "closed.toml",
        """policies = ["optimal_token_menu"]
[[axes]]
field = "information.token_rate"
values = [0.0625, 0.125, 0.25]
[[axes]]
field = "urgency.high"
range = { start = 1.5, stop = 5.0, num = 8, scale = "linear" }
""",
    )
    results = mk.sweep(sweep, workers=0)
    assert len(results) == 24 and set(results.status) == {"ok"}
    expected = [
        closed_form_revenue(c, h)
        for c, h in zip(results["information.token_rate"], results["urgency.high"], strict=True)
    ]
    np.testing.assert_allclose(results.revenue, expected, rtol=1e-12, atol=0)
    at_paper = results[
        (results["information.token_rate"] == 0.125) & (results["urgency.high"] == 2.0)
    ]
    assert at_paper.revenue.item() == pytest.approx(0.2019806, abs=5e-8)  # Section 3.1
    assert results.attrs["run_dir"] is None  # nothing written without out


def test_cost_and_profit_columns(tmp_path):
    sweep = write_sweep(
        tmp_path / "costs.toml",
        """policies = ["optimal_token_menu", "flat"]
[[axes]]
field = "costs.per_token"
values = [0.0, 0.05]
""",
    )
    results = mk.sweep(sweep, workers=0)
    assert len(results) == 4 and set(results.status) == {"ok"}
    free = results[results["costs.per_token"] == 0.0]
    assert (free.cost == 0.0).all() and (free.profit == free.revenue).all()
    np.testing.assert_allclose(  # at zero cost, Section 3.1's closed form
        free.revenue.iloc[0], closed_form_revenue(0.125, 2.0), rtol=1e-12
    )
    paid = results[results["costs.per_token"] == 0.05]
    # Section 2.1: the platform pays c per token served; profit = revenue - cost
    np.testing.assert_allclose(paid.cost, 0.05 * paid.tokens_per_user, rtol=1e-9)
    np.testing.assert_allclose(paid.profit, paid.revenue - paid.cost, rtol=1e-12, atol=1e-15)
    assert (paid.cost > 0).all()


SIMULATED = """policies = ["optimal_token_menu", "flat"]
replications = 2
seed = 11
[[axes]]
field = "urgency.high"
values = [1.5, 2.0, 3.0]
[simulate]
users = 400
"""


def test_the_same_results_on_0_1_and_2_workers(tmp_path, capsys):
    sweep = write_sweep(tmp_path / "sim.toml", SIMULATED)
    tables = {}
    for workers in ("0", "1", "2"):
        out = tmp_path / f"w{workers}"
        assert main(["sweep", str(sweep), "--workers", workers, "--out", str(out), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["workers"] == int(workers) and result["tasks_run"] == 6
        # no [costs] table: no token cost, so profit is revenue
        assert all(p["profit_max"] == p["revenue_max"] > 0 for p in result["policies"])
        tables[workers] = pq.read_table(Path(result["run_dir"]) / "results.parquet")
    assert tables["0"].equals(tables["1"]) and tables["0"].equals(tables["2"])
    frame = tables["0"].to_pandas()
    assert len(frame) == 3 * 2 * 2 and frame.realized_revenue.notna().all()
    api = mk.sweep(sweep, workers=0)  # the API's in-memory result is the same table
    pd.testing.assert_frame_equal(api, frame, check_exact=True)


def test_each_task_simulates_with_its_spawned_seed(tmp_path):
    plan = load_sweep(write_sweep(tmp_path / "sim.toml", SIMULATED))
    results = mk.sweep(plan, workers=0)
    row = results[(results.point == 2) & (results.replication == 1)].iloc[0]
    seed = task_seed(11, 2, 1)  # SeedSequence(11, spawn_key=(2, 1))
    assert row.seed == seed
    run = mk.simulate(plan.scenario(2), users=400, seed=seed, policies=["optimal_token_menu"])
    assert row.realized_revenue == run.summary.revenue.item()
    other = results[(results.point == 2) & (results.replication == 0)].iloc[0]
    assert other.realized_revenue != row.realized_revenue  # replications differ


def test_the_progress_bar_counts_tasks(tmp_path):
    bars = []

    class Progress:  # what the command line's rich bars offer: task(description, total)
        def task(self, description, total):
            bars.append([description, total, 0])

            def advance(n=1, label=None):
                bars[-1][2] += n

            return advance

    sweep = write_sweep(tmp_path / "one.toml", SIMULATED.replace("users = 400", "users = 50"))
    mk.sweep(sweep, workers=0, progress=Progress())
    assert bars == [["sweeping", 6, 6]]  # 3 points x 2 replications, each counted once


def test_unavailable_and_failed_tasks_are_recorded(tmp_path, monkeypatch, capsys):
    import market.api

    sweep = write_sweep(
        tmp_path / "mixed.toml",
        """policies = ["optimal_token_menu", "diffusion"]
[[axes]]
field = "information.prior"
values = [[0.5, 0.5], [0.25, 0.25, 0.5], [0.4, 0.6]]
""",
    )
    solve = market.api.solve

    def failing(scenario, policies=None, progress=None):
        if scenario.information.prior == [0.4, 0.6]:
            raise ValueError("the solver cannot deliver this one")
        return solve(scenario, policies, progress)

    monkeypatch.setattr(market.api, "solve", failing)
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "failed: 1 task(s)" in out and "first: point 2: the solver cannot deliver" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = pd.read_parquet(run_dir / "results.parquet")
    assert list(results.status) == ["ok", "ok", "ok", "unavailable", "failed", "failed"]
    assert results.reason[3] == "needs 2 states (the prior has 3)"  # the solver's reason
    assert results.reason[4] == "the solver cannot deliver this one"
    assert results.revenue[4:].isna().all()
    assert json.loads((run_dir / "metadata.json").read_text())["failed_tasks"] == 1
    assert (
        pd.read_parquet(run_dir / "points.parquet")["information.prior"][1] == "[0.25, 0.25, 0.5]"
    )


def test_mk_sweep_is_callable_whichever_was_imported_first(tmp_path):
    import market.sweep as module

    assert callable(module) and callable(mk.sweep)
    sweep = write_sweep(tmp_path / "one.toml", SIMULATED.replace("users = 400", "users = 50"))
    results = module(sweep, workers=0, out=tmp_path / "runs")
    folder = Path(results.attrs["run_dir"])
    assert folder.parent == tmp_path / "runs"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["metadata.json", "points.parquet", "results.parquet", "scenario.toml", "sweep.toml"]
    )
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["seed"] == 11 and meta["workers"] == 0 and meta["status"] == "complete"
    assert meta["packages"]["distributed"] and meta["wall_time"] > 0


# -- interrupted sweeps -----------------------------------------------------------------------

LONG = """policies = ["optimal_token_menu", "flat"]
replications = 2
[[axes]]
field = "urgency.high"
range = { start = 1.5, stop = 4.0, num = 8 }
[simulate]
users = 300
"""
LONG_TASKS = 8 * 2


def start_and_stop(tmp_path: Path, signum: int) -> tuple[Path, subprocess.CompletedProcess]:
    """Start a sweep in a process of its own; send ``signum`` half-way (half its parts written)."""
    sweep = write_sweep(tmp_path / "long.toml", LONG)
    argv = [
        sys.executable,
        "-m",
        "market.cli",
        "sweep",
        str(sweep),
        "--workers",
        "0",
        "--chunk",
        "1",
        "--out",
        str(tmp_path / "runs"),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    parts = []
    while len(parts) < LONG_TASKS // 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        parts = list((tmp_path / "runs").glob("*/parts/part-*.parquet"))
    assert proc.poll() is None, "the sweep finished before it could be stopped"
    os.kill(proc.pid, signum)
    out, err = proc.communicate(timeout=60)
    (folder,) = (tmp_path / "runs").iterdir()
    return folder, subprocess.CompletedProcess(argv, proc.returncode, out, err)


def resume_and_compare(tmp_path: Path, folder: Path, capsys) -> list[dict]:
    done = len(list((folder / "parts").glob("part-*.parquet")))
    assert 0 < done < LONG_TASKS and not (folder / "results.parquet").exists()
    assert main(["sweep", "--resume", str(folder), "--workers", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tasks_run"] == LONG_TASKS - done
    resumed = pq.read_table(folder / "results.parquet")
    uninterrupted = mk.sweep(tmp_path / "long.toml", workers=0)
    pd.testing.assert_frame_equal(resumed.to_pandas(), uninterrupted, check_exact=True)
    assert not (folder / "parts").exists()
    return json.loads((folder / "metadata.json").read_text())["sessions"]


def test_resume_after_a_kill_gives_the_uninterrupted_results(tmp_path, capsys):
    folder, proc = start_and_stop(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    sessions = resume_and_compare(tmp_path, folder, capsys)
    assert [s["status"] for s in sessions] == ["killed", "complete"]
    # resuming a complete sweep runs nothing
    assert main(["sweep", "--resume", str(folder), "--workers", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tasks_run"] == 0


@pytest.mark.slow  # 7 s; the kill above checks the resumption, this the message of a Ctrl-C
def test_ctrl_c_keeps_the_finished_tasks_and_says_how_to_resume(tmp_path, capsys):
    folder, proc = start_and_stop(tmp_path, signal.SIGINT)
    assert proc.returncode == 128 + signal.SIGINT
    assert proc.stderr.splitlines()[-1] == (
        f"error: interrupted by SIGINT; the finished tasks are kept in {folder}: "
        f"`market sweep --resume {folder}` runs the rest"
    )
    sessions = resume_and_compare(tmp_path, folder, capsys)
    assert [s["status"] for s in sessions] == ["interrupted", "complete"]
    assert sessions[0]["tasks_run"] > 0


def test_resume_refuses_a_different_sweep(tmp_path, capsys):
    small = SIMULATED.replace("users = 400", "users = 50")
    sweep = write_sweep(tmp_path / "small.toml", small)
    folder = mk.sweep(sweep, workers=0, out=tmp_path / "runs").attrs["run_dir"]
    other = write_sweep(tmp_path / "other.toml", small.replace("seed = 11", "seed = 12"))
    assert main(["sweep", str(other), "--resume", folder, "--workers", "0"]) == 2
    assert "the sweep given differs from the one in the folder" in capsys.readouterr().err
    assert main(["sweep", str(sweep), "--resume", folder, "--workers", "0"]) == 0  # the same
