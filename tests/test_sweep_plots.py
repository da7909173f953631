"""Figures of a sweep folder (``market plot SWEEP_DIR``): the numbers drawn are the folder's.

One small simulated sweep of the paper's example (two axes, two replications, the flat price
as baseline) is written once; each line, band and heatmap cell is checked against
``results.parquet`` aggregated independently here with pandas.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from market.cli import main
from market.plots.sweep import draw_sweep_axes, draw_sweep_heatmap

ROOT = Path(__file__).resolve().parents[1]
PAPER_EXAMPLE = ROOT / "scenarios" / "paper_example.toml"
SWEEP = """policies = ["optimal_token_menu", "flat"]
baseline = "flat"
replications = 2
[[axes]]
field = "urgency.high"
values = [1.5, 2.0, 3.0]
[[axes]]
field = "information.token_rate"
range = { start = 0.0625, stop = 0.25, num = 2, scale = "log" }
[simulate]
users = 300
"""
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    sweep = root / "sweep.toml"
    sweep.write_text(f'scenario = "{PAPER_EXAMPLE}"\n{SWEEP}', encoding="utf-8")
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(root / "runs")]) == 0
    (path,) = (root / "runs").iterdir()
    return path


@pytest.fixture(scope="module")
def results(folder):
    return pd.read_parquet(folder / "results.parquet")


def artist(fig, gid):
    found = [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def test_market_plot_writes_the_sweep_figures(folder, capsys):
    assert main(["plot", str(folder)]) == 0
    paths = capsys.readouterr().out.split()
    assert paths == [str(folder / "sweep_axes.png"), str(folder / "sweep_heatmap.png")]
    assert all(Path(p).read_bytes()[:8] == PNG for p in paths)


def test_each_axis_against_revenue_and_share_of_first_best(folder, results):
    fig = draw_sweep_axes(folder)
    for field, _other in (
        ("urgency.high", "information.token_rate"),
        ("information.token_rate", "urgency.high"),
    ):
        for policy in ("optimal token menu", "flat price"):
            mine = results[results.policy == policy]
            expected = mine.groupby(field).revenue.mean()  # mean over the other axis
            line = artist(fig, f"sweep:revenue:{field}:{policy}:expected")
            np.testing.assert_allclose(line.get_xdata(), expected.index)
            np.testing.assert_allclose(line.get_ydata(), expected.to_numpy(), rtol=1e-12)
            share = artist(fig, f"sweep:share_of_first_best:{field}:{policy}:expected")
            np.testing.assert_allclose(
                share.get_ydata(), mine.groupby(field).share_of_first_best.mean(), rtol=1e-12
            )
            per_rep = mine.groupby([field, "replication"]).realized_revenue.mean().unstack()
            realized = artist(fig, f"sweep:revenue:{field}:{policy}:realized")
            np.testing.assert_allclose(realized.get_ydata(), per_rep.mean(axis=1), rtol=1e-12)
            band = artist(fig, f"sweep:revenue:{field}:{policy}:band")
            half = student_t.ppf(0.975, 1) * per_rep.std(axis=1, ddof=1) / np.sqrt(2)
            y = band.get_paths()[0].vertices[:, 1]
            assert y.min() == pytest.approx((per_rep.mean(axis=1) - half).min(), rel=1e-9)
            assert y.max() == pytest.approx((per_rep.mean(axis=1) + half).max(), rel=1e-9)
    edge = artist(fig, "sweep:edge:urgency.high:optimal token menu:expected")
    task = ["point", "replication"]
    revenue = results.pivot_table(index=task, columns="policy", values="revenue")
    high = results.groupby(task)["urgency.high"].first()
    ratio = (revenue["optimal token menu"] / revenue["flat price"]).groupby(high).mean()
    np.testing.assert_allclose(edge.get_ydata(), ratio.to_numpy(), rtol=1e-12)
    assert np.all(edge.get_ydata() >= 1.0)  # the optimal menu never earns less than flat


def test_heatmap_of_two_axes(folder, results):
    fig = draw_sweep_heatmap(folder)
    for policy in ("optimal token menu", "flat price"):
        image = artist(fig, f"heatmap:revenue:{policy}")
        mine = results[(results.policy == policy) & (results.replication == 0)]
        grid = mine.pivot(index="information.token_rate", columns="urgency.high", values="revenue")
        np.testing.assert_allclose(image.get_array(), grid.to_numpy(), rtol=1e-12)
    share = artist(fig, "heatmap:share_of_first_best:flat price")
    np.testing.assert_allclose(share.get_array(), 1.0, rtol=1e-12)  # flat: every type served


def test_one_axis_has_no_heatmap(tmp_path):
    sweep = tmp_path / "one.toml"
    sweep.write_text(
        f'scenario = "{PAPER_EXAMPLE}"\npolicies = ["flat"]\n[[axes]]\n'
        'field = "information.entropy"\nvalues = ["quadratic", "shannon"]\n'
    )
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(tmp_path), "--plot"]) == 0
    (folder,) = (p for p in tmp_path.iterdir() if p.is_dir())
    assert sorted(p.name for p in folder.glob("*.png")) == ["sweep_axes.png"]  # --plot
    fig = draw_sweep_axes(folder)
    line = artist(fig, "sweep:revenue:information.entropy:flat price:expected")
    assert list(line.get_xdata()) == [0, 1]  # categories, labelled by their values
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["quadratic", "shannon"]


def test_an_unfinished_sweep_is_refused(folder, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    (copy / "metadata.json").write_text(json.dumps({**meta, "status": "running"}))
    assert main(["plot", str(copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {copy}: the sweep is not finished")
    assert f"market sweep --resume {copy}" in err


def test_profit_is_drawn_when_tokens_cost_something(tmp_path):
    sweep = tmp_path / "costs.toml"
    sweep.write_text(
        f'scenario = "{PAPER_EXAMPLE}"\npolicies = ["flat"]\n[[axes]]\n'
        'field = "costs.per_token"\nvalues = [0.0, 0.05, 0.1]\n'
    )
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(tmp_path / "runs")]) == 0
    (folder,) = (tmp_path / "runs").iterdir()
    results = pd.read_parquet(folder / "results.parquet")
    fig = draw_sweep_axes(folder)
    line = artist(fig, "sweep:profit:costs.per_token:flat price:expected")
    np.testing.assert_array_equal(line.get_xdata(), [0.0, 0.05, 0.1])
    np.testing.assert_allclose(line.get_ydata(), results.profit, rtol=0, atol=0)
    assert [ax.get_ylabel() for ax in fig.axes[:3]] == [
        "revenue per user",
        "profit per user (revenue - token cost)",
        "share of first-best welfare",
    ]
