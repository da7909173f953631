"""``market run``: the run folder, its files, reproducibility and one-line errors.

The command is called through :func:`market.cli.main`. ``git rev-parse`` is replaced by a stub.
"""

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from sim_helpers import PAPER_EXAMPLE

from market.cli import main
from market.cli.errors import EXIT_INTERRUPTED
from market.io import metadata, runfolder
from market.io.rundir import RunFolder
from market.io.tables import USERS_SCHEMA
from market.sim.engine import sample_interval
from market.sim.stats import Estimate

USERS = "1500"
FILES = {
    "users.parquet",
    "timeseries.parquet",
    "menus.parquet",
    "plans.parquet",
    "stopping_law.parquet",
    "summary.json",
    "compare.json",
    "scenario.toml",
    "metadata.json",
}


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    monkeypatch.setattr(runfolder, "git_revision", lambda: "0" * 40)


def run(tmp_path, *extra, out="runs"):
    return main(["run", str(PAPER_EXAMPLE), "--users", USERS, "--out", str(tmp_path / out), *extra])


def run_json(tmp_path, capsys, *extra, out="runs"):
    assert run(tmp_path, "--json", *extra, out=out) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    return json.loads(captured.out)


def test_run_folder_is_complete(tmp_path, capsys):
    result = run_json(tmp_path, capsys)
    run_dir = tmp_path / "runs" / os.path.basename(result["run_dir"])
    assert run_dir.name.startswith("paper-example-")
    assert {p.name for p in run_dir.iterdir()} == FILES
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name]  # no leftovers
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o777 & ~umask  # usual permissions

    policies = result["policies"]
    names = [p["policy"] for p in policies]
    assert len(names) == 9  # the default set (the scenario lists no policies)
    for row in policies:
        assert set(row) == {
            "policy", "kind", "users", "participation", "expected_participation",
            "revenue", "revenue_se", "expected_revenue",
            "cost", "cost_se", "expected_cost", "profit", "profit_se", "expected_profit",
            "welfare", "welfare_se", "expected_welfare",
            "user_surplus", "user_surplus_se", "expected_user_surplus",
            "tokens_per_user", "expected_tokens_per_user",
        }  # fmt: skip
        assert row["users"] == int(USERS)
        np.testing.assert_allclose(row["welfare"], row["revenue"] + row["user_surplus"])
        # No [costs] table: tokens cost nothing and profit is revenue.
        assert row["cost"] == 0.0 and row["expected_cost"] == 0.0
        assert row["profit"] == row["revenue"]

    users = pd.read_parquet(run_dir / "users.parquet")
    assert list(users.columns) == USERS_SCHEMA.names
    assert len(users) == int(USERS) * len(names)
    assert users.groupby("policy").size().to_dict() == {n: int(USERS) for n in names}
    # The same users face every policy (common random numbers).
    first = users[users.policy == names[0]].reset_index(drop=True)
    for name in names[1:]:
        other = users[users.policy == name].reset_index(drop=True)
        for col in ("user", "arrival", "urgency", "state"):
            pd.testing.assert_series_equal(first[col], other[col])
    # Revenue per user in the JSON is the mean payment in the table.
    means = users.groupby("policy", sort=False).payment.mean()
    for row in policies:
        assert row["revenue"] == pytest.approx(means[row["policy"]], rel=1e-12)

    series = pd.read_parquet(run_dir / "timeseries.parquet")
    assert set(series.policy) == set(names)
    assert list(series.columns) == [
        "policy", "time", "users_arrived", "conversations_open", "tokens_served",
        "revenue", "utility",
    ]  # fmt: skip
    last = series.groupby("policy").tail(1).set_index("policy")
    assert (last.users_arrived == int(USERS)).all() and (last.conversations_open == 0).all()
    np.testing.assert_allclose(last.revenue[names], users.groupby("policy").payment.sum()[names])

    summary = json.loads((run_dir / "summary.json").read_text())
    assert [p["name"] for p in summary["policies"]] == names
    realized = summary["policies"][0]["realized"]["revenue"]
    assert realized["ci95"][0] < realized["mean"] < realized["ci95"][1]
    assert (run_dir / "scenario.toml").read_text() == PAPER_EXAMPLE.read_text()
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["seed"] == 20251012 and meta["users"] == int(USERS)
    assert meta["engine"] == "abm" and meta["git_revision"] == "0" * 40
    assert meta["packages"]["mesa"].startswith("3.5")
    assert meta["command_line"].startswith("market run ")


def test_same_seed_same_users_different_seed_different(tmp_path, capsys):
    a = run_json(tmp_path, capsys, "--seed", "5", out="a")["run_dir"]
    b = run_json(tmp_path, capsys, "--seed", "5", out="b")["run_dir"]
    c = run_json(tmp_path, capsys, "--seed", "6", out="c")["run_dir"]
    ua, ub, uc = (pd.read_parquet(f"{d}/users.parquet") for d in (a, b, c))
    pd.testing.assert_frame_equal(ua, ub)
    assert not ua.urgency.equals(uc.urgency)


def test_engines_write_the_same_users(tmp_path, capsys):
    a = run_json(tmp_path, capsys, "--engine", "abm", out="a")["run_dir"]
    v = run_json(tmp_path, capsys, "--engine", "vectorized", out="v")["run_dir"]
    ua, uv = (pd.read_parquet(f"{d}/users.parquet") for d in (a, v))
    pd.testing.assert_frame_equal(ua, uv, check_exact=False, rtol=1e-12)
    ta, tv = (pd.read_parquet(f"{d}/timeseries.parquet") for d in (a, v))
    pd.testing.assert_frame_equal(ta, tv, check_exact=False, rtol=1e-9)


def test_policy_selection_by_kind_or_name(tmp_path, capsys):
    everything = run_json(tmp_path, capsys, out="all")["policies"]
    first, second = everything[0], everything[1]
    chosen = run_json(tmp_path, capsys, "--policy", first["kind"], "--policy", second["policy"])
    assert [p["policy"] for p in chosen["policies"]] == [first["policy"], second["policy"]]
    users = pd.read_parquet(f"{chosen['run_dir']}/users.parquet")
    assert set(users.policy) == {first["policy"], second["policy"]}


def test_an_existing_run_is_never_overwritten(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runfolder, "run_name", lambda scenario, when: "fixed")
    taken = tmp_path / "runs" / "fixed"
    taken.mkdir(parents=True)
    (taken / "keep.txt").write_text("an earlier run")
    first = run_json(tmp_path, capsys)["run_dir"]
    second = run_json(tmp_path, capsys)["run_dir"]
    assert [os.path.basename(first), os.path.basename(second)] == ["fixed-2", "fixed-3"]
    assert (taken / "keep.txt").read_text() == "an earlier run"


def test_summary_table(tmp_path, capsys):
    assert run(tmp_path) == 0
    out = capsys.readouterr().out
    assert "95% interval" in out and "expected" in out and "z = (realized" in out
    for word in ("revenue", "user surplus", "welfare"):
        assert word in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--users", "0"], "error: --users = 0: expected an integer >= 1"),
        (["--users", "many"], "error: --users = many: expected an integer >= 1"),
        (["--seed", "-1"], "error: --seed = -1: expected an integer >= 0"),
        (["--engine", "fast"], "error: --engine = fast: expected one of abm, vectorized"),
        (["--policy", "nope"], "error: --policy = nope: unknown policy; available: "),
    ],
)
def test_bad_options_are_one_line_and_status_2(tmp_path, capsys, extra, message):
    assert main(["run", str(PAPER_EXAMPLE), "--out", str(tmp_path / "runs"), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith(message)
    assert not (tmp_path / "runs").exists()


def test_unknown_policy_lists_the_available_ones(tmp_path, capsys):
    everything = run_json(tmp_path, capsys, out="all")["policies"]
    argv = ["run", str(PAPER_EXAMPLE), "--out", str(tmp_path / "runs"), "--policy", "nope"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    for row in everything:
        assert row["policy"] in err and row["kind"] in err


def test_bad_scenario_is_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {tmp_path / 'missing.toml'}: file not found"]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_crash_leaves_no_run_folder(tmp_path, capsys, monkeypatch, error):
    """A failure while the run folder is being written (after the first policy's users)."""
    calls = []
    real = runfolder.users_table

    def failing(*args):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return real(*args)

    monkeypatch.setattr(runfolder, "users_table", failing)
    if isinstance(error, KeyboardInterrupt):
        assert run(tmp_path) == EXIT_INTERRUPTED
        assert "interrupted" in capsys.readouterr().err
    else:
        assert run(tmp_path) == 2
        assert "internal error (RuntimeError: boom)" in capsys.readouterr().err
    assert list((tmp_path / "runs").iterdir()) == []


def test_run_folder_commit_and_discard(tmp_path):
    with RunFolder(tmp_path, "x") as folder:
        (folder.tmp / "a.txt").write_text("a")
        assert folder.tmp.name.startswith(".x.")
        assert folder.commit() == tmp_path / "x"
    assert (tmp_path / "x" / "a.txt").read_text() == "a"
    with pytest.raises(ZeroDivisionError), RunFolder(tmp_path, "y") as folder:
        (folder.tmp / "a.txt").write_text("a")
        _ = 1 / 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_git_revision_without_git(monkeypatch):
    monkeypatch.undo()  # the real function, with no git on the PATH
    monkeypatch.setenv("PATH", "")
    assert metadata.git_revision() is None


def test_sample_interval_is_round():
    assert sample_interval(10_000, 1.0) == 100.0
    assert sample_interval(25_000, 1.0) == 200.0
    assert sample_interval(1, 2.0) == 0.005


def test_estimates():
    est = Estimate.of(np.array([1.0, 2.0, 3.0, 4.0]))
    assert est.mean == 2.5 and est.se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    lo, hi = est.ci95
    assert hi - est.mean == pytest.approx(1.959963984540054 * est.se)
    assert Estimate.of(np.full(10, 0.1178)).se == 0.0  # a posted price: no rounding noise
    assert np.isnan(Estimate.of(np.array([1.0])).se)
