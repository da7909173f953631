"""The moving market in the run folder, the figures and the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import market as mk

BASE = {
    "name": "moving",
    "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
    "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
}


@pytest.fixture(scope="module")
def congested_run(tmp_path_factory):
    spec = {**BASE, "market": {"users": 1500, "capacity": 0.2, "discipline": "priority"}}
    run = mk.simulate(spec, policies=["flat", "tiers"], engine="vectorized")
    return run, run.save(tmp_path_factory.mktemp("runs"), figures=True)


def test_users_have_wall_and_model_time(congested_run):
    _, folder = congested_run
    users = pd.read_parquet(folder / "users.parquet")
    buyers = users[users.item.notna()]
    assert (buyers.wall_time >= buyers.conversation_time - 1e-12).all()
    assert (buyers.wall_time > buyers.conversation_time * 1.01).any()  # congestion shows
    np.testing.assert_allclose(buyers.model_time, buyers.speed * buyers.conversation_time)
    # utility is discounted over the wall-clock time of a learned conversation
    learned = buyers[buyers.learned]
    np.testing.assert_allclose(learned.utility, np.exp(-learned.urgency * learned.wall_time))


def test_time_series_and_summary_record_the_load(congested_run):
    run, folder = congested_run
    series = pd.read_parquet(folder / "timeseries.parquet")
    assert {"utilisation", "slowdown"} <= set(series.columns)
    used = series.utilisation.dropna()
    assert ((used >= 0) & (used <= 1 + 1e-9)).all()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["market"]["capacity"] == 0.2
    for record in summary["policies"]:
        assert record["load"]["mean_slowdown"] >= 1.0
    assert (folder / "load.png").is_file()


def test_uncongested_runs_have_no_load_columns(tmp_path):
    run = mk.simulate({**BASE, "market": {"users": 300}}, policies=["flat"])
    folder = run.save(tmp_path)
    series = pd.read_parquet(folder / "timeseries.parquet")
    assert "utilisation" not in series.columns
    users = pd.read_parquet(folder / "users.parquet")
    np.testing.assert_array_equal(users.wall_time, users.conversation_time)
    assert "load" not in json.loads((folder / "summary.json").read_text())["policies"][0]


def test_learning_is_written_to_the_run_folder(tmp_path):
    spec = {
        **BASE,
        "market": {"users": 200},
        "platform": {"learning": {"family": "beta", "periods": 2, "users_per_period": 500}},
    }
    run = mk.simulate(spec, policies=["flat"])
    folder = run.save(tmp_path, figures=True)
    records = pd.read_parquet(folder / "learning.parquet")
    assert list(records.period) == [1, 2]
    assert (records.regret >= -1e-9).all()
    assert (folder / "learning_menus.parquet").is_file()
    assert (folder / "learning.png").is_file()
    assert "learning" in json.loads((folder / "summary.json").read_text())


def test_the_command_line_names_the_market_and_its_load(tmp_path):
    path = tmp_path / "busy.toml"
    path.write_text(
        'name = "busy"\n[information]\nprior = [0.5, 0.5]\nentropy = "quadratic"\n'
        'token_rate = 0.125\n[urgency]\ndistribution = "uniform"\nlow = 1.0\nhigh = 2.0\n'
        "[market]\nusers = 500\ncapacity = 0.2\n"
        '[users]\nchoice = "logit"\ntemperature = 0.05\n'
        '[[policies]]\nkind = "flat"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "market", "run", str(path), "--out", str(tmp_path / "runs"),
         "--engine", "vectorized"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "capacity: 0.2 tokens per unit of time, shared" in out.stdout
    assert "users: logit, temperature 0.05" in out.stdout
    assert "mean slowdown" in out.stdout


def test_bad_dynamics_exit_2_naming_the_field(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\n[information]\nprior = [0.5, 0.5]\nentropy = "quadratic"\n'
        'token_rate = 0.125\n[urgency]\ndistribution = "uniform"\nlow = 1.0\nhigh = 2.0\n'
        '[market]\ndiscipline = "priority"\n[users]\nchoice = "logit"\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "market", "run", str(path), "--out", str(tmp_path / "runs")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    assert "market.discipline = 'priority'" in out.stderr
    assert "users.temperature: missing" in out.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_capacity_too_small_to_ever_drain_is_refused(tmp_path):
    spec = {**BASE, "market": {"users": 500, "capacity": 1e-9}}
    with pytest.raises(mk.ScenarioError, match=r"market\.capacity = 1e-09: serving the"):
        mk.simulate(spec, policies=["flat"], engine="vectorized")
    with pytest.raises(mk.ScenarioError, match="expected a capacity of at least"):
        mk.simulate(spec, policies=["flat"], engine="abm")
