"""The artists of every figure against the numbers of the run they draw.

One run of ``market compare`` on the paper's example (all nine default policies, 1000 users,
vectorised engine, ``--plot``) is written once for the module; each figure is drawn again
with its ``draw_*`` function and its artists (line data, bar widths, scatter offsets, labels)
are compared with the run's files, read independently with pandas. Closed forms are those of
Section 3.1 (Zhong 2025) with errata 2 and 3 of ``docs/paper-notes.md``: the flat price
``U(inf|2) = 1/5``, the optimal menu's cap ``chi T(r) = (1/8)/(r - 1)`` at price
``P(r) = (3 + 2e^{-5/2} - 5e^{-(r+1/2)/(r-1)})/15`` and the density ``f*(t) = ½e^{-t/2}``.
"""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from sim_helpers import PAPER_EXAMPLE

from market import plots
from market.cli import main
from market.io import runfolder
from market.plots.bootstrap import bootstrap_revenue
from market.plots.menus import token_range

USERS = 1000


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    argv = ["compare", str(PAPER_EXAMPLE), "--users", str(USERS), "--engine", "vectorized"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runfolder, "git_revision", lambda: "0" * 40)
        assert main([*argv, "--out", str(out), "--plot", "--json"]) == 0
    (folder,) = out.iterdir()
    return folder


@pytest.fixture(scope="module")
def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def names(summary):
    return [p["name"] for p in summary["policies"]]


def by_gid(fig, gid):
    return [a for a in fig.findobj(lambda a: a.get_gid() == gid)]


def line(fig, gid):
    (artist,) = [a for a in by_gid(fig, gid) if hasattr(a, "get_xydata")]
    return artist.get_xdata().astype(float), artist.get_ydata().astype(float)


def test_compare_plot_writes_every_figure(run_dir, names):
    assert len(names) == 9
    # load.png and learning.png belong to runs with a capacity or a learning platform only.
    for name in plots.FIGURE_FILES:
        if name in ("load.png", "learning.png"):
            assert not (run_dir / name).exists(), name
        else:
            assert (run_dir / name).stat().st_size > 10_000, name


# -- menus.png -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def menus_fig(run_dir):
    return plots.draw_menus(run_dir)


@pytest.fixture(scope="module")
def plan_rows(run_dir):
    return pd.read_parquet(run_dir / "plans.parquet")


def plan(plan_rows, policy):
    (row,) = plan_rows[plan_rows.policy == policy].itertuples()
    return row


def test_flat_price_is_constant_at_its_price(menus_fig, run_dir):
    x, y = line(menus_fig, "tariff:flat price:1.0")
    assert x[0] == 0.0 and x[-1] == pytest.approx(token_range(plots.load_run(run_dir)))
    np.testing.assert_allclose(y, 0.2, rtol=1e-9)  # U(inf|2) = 1/5


def test_per_token_price_is_a_ray_through_zero(menus_fig, plan_rows):
    row = plan(plan_rows, "per-token price")
    assert row.price == 0 and row.per_token > 0
    x, y = line(menus_fig, "tariff:per-token price:1.0")
    np.testing.assert_allclose(y, row.per_token * x, rtol=1e-12, atol=1e-15)
    assert y[0] == 0.0


def test_two_part_tariff_starts_at_its_fee(menus_fig, plan_rows):
    row = plan(plan_rows, "two-part tariff")
    x, y = line(menus_fig, "tariff:two-part tariff:1.0")
    np.testing.assert_allclose(y, row.price + row.per_token * x, rtol=1e-12)


def test_tiers_are_a_staircase(menus_fig, plan_rows):
    rows = plan_rows[plan_rows.policy == "2 tiers"]
    capped = rows[rows.token_cap.notna()].iloc[0]
    unlimited = rows[rows.token_cap.isna()].iloc[0]
    x, y = line(menus_fig, "tariff:2 tiers:1.0")
    below = x <= capped.token_cap
    assert below.any() and (~below).any()
    np.testing.assert_array_equal(y[below], capped.price)
    np.testing.assert_array_equal(y[~below], unlimited.price)


def test_each_speed_has_its_line(menus_fig, plan_rows):
    rows = plan_rows[plan_rows.policy == "2 speed tiers"]
    assert rows.token_cap.isna().all() and (rows.per_token == 0).all()
    cheapest = rows.groupby("speed").price.min()  # all unlimited: the cheapest at each speed
    for speed, price in cheapest.items():
        (artist,) = by_gid(menus_fig, f"tariff:2 speed tiers:{speed!r}")
        np.testing.assert_array_equal(artist.get_ydata(), price)


def test_speed_tiers_stay_apart(run_dir, tmp_path):
    # Two unlimited plans, at full speed for 0.2 and at half speed for 0.11 (plans.parquet
    # edited by hand): two constant lines, told apart by line style and legend.
    target = tmp_path / "run"
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("*.png"))
    plan_rows = pd.read_parquet(target / "plans.parquet")
    tiers = plan_rows.index[plan_rows.policy == "2 speed tiers"]
    plan_rows.loc[tiers, ["token_cap", "per_token"]] = [np.nan, 0.0]
    plan_rows.loc[tiers, "price"] = [0.2, 0.11]
    plan_rows.loc[tiers, "speed"] = [1.0, 0.5]
    plan_rows.to_parquet(target / "plans.parquet")
    fig = plots.draw_menus(target)
    (fast,) = by_gid(fig, "tariff:2 speed tiers:1.0")
    (slow,) = by_gid(fig, "tariff:2 speed tiers:0.5")
    np.testing.assert_array_equal(fast.get_ydata(), 0.2)
    np.testing.assert_array_equal(slow.get_ydata(), 0.11)
    assert fast.get_linestyle() != slow.get_linestyle()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "2 speed tiers: 0.2; speed 1" in labels and "2 speed tiers: 0.11; speed 0.5" in labels


def test_optimal_menu_follows_its_price_of_the_cap(menus_fig):
    x, y = line(menus_fig, "tariff:optimal token menu:1.0")
    inner = x >= 0.125 * 1.05  # caps of types r < 2, between the report grid's points
    r = 1 + 0.125 / x[inner]
    price = (3 + 2 * np.exp(-2.5) - 5 * np.exp(-(r + 0.5) / (r - 1))) / 15
    np.testing.assert_allclose(y[inner], price, rtol=0, atol=2e-4)  # linear between samples
    # Below the smallest cap chi T(2) = 1/8: that plan, P(2) = (1 - e^{-5/2})/5.
    np.testing.assert_allclose(y[x <= 0.125], (1 - np.exp(-2.5)) / 5, rtol=1e-9)


def test_menus_labels_are_in_one_legend(menus_fig, names):
    (ax,) = menus_fig.axes
    assert len(ax.texts) == 0  # no free annotations
    lines = [a for a in ax.lines if (a.get_gid() or "").startswith("tariff:")]
    labels = [t.get_text() for t in menus_fig.legends[0].get_texts()]
    assert len(labels) == len(lines) >= len(names)  # one entry per line
    assert list(dict.fromkeys(lab.split(":")[0] for lab in labels)) == names
    assert ax.get_xlabel() == "tokens used q (tokens)"
    assert "value of a solved task = 1" in ax.get_ylabel()
    assert ax.get_xlim()[0] == 0 and ax.get_ylim()[0] < 0 < ax.get_ylim()[1]


def test_units_of_summary_label_the_axes(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("*.png"))
    summary = json.loads((target / "summary.json").read_text())
    summary["units"] = {"currency": "USD", "tokens_per_unit": 1000, "time": "s"}
    (target / "summary.json").write_text(json.dumps(summary))
    (ax,) = plots.draw_menus(target).axes
    assert ax.get_xlabel() == "tokens used q (units of 1,000 tokens)"
    assert ax.get_ylabel() == "least payment for q tokens (USD)"
    stopping = plots.draw_stopping_law(target)
    assert stopping.axes[0].get_xlabel() == "breakthrough time τ (s)"
    assert plots.draw_who_gains(target).axes[0].get_ylabel() == "per user (USD)"


# -- revenue_bootstrap.png -------------------------------------------------------------------
@pytest.fixture(scope="module")
def bootstrap_fig(run_dir):
    return plots.draw_revenue_bootstrap(run_dir)


def test_bootstrap_shares_one_axis_and_marks_the_expected(bootstrap_fig, run_dir, summary, names):
    left, right = bootstrap_fig.axes
    assert left.get_visible() and right.get_visible()
    assert [t.get_text() for t in left.get_yticklabels()] == names
    (expected,) = by_gid(bootstrap_fig, "expected")
    want = [(p["expected"]["revenue"], i) for i, p in enumerate(summary["policies"])]
    np.testing.assert_allclose(expected.get_offsets(), want, rtol=1e-12)
    users = pd.read_parquet(run_dir / "users.parquet")
    means = users.groupby("policy").payment.mean()
    for i, name in enumerate(names):
        (bar,) = by_gid(bootstrap_fig, f"realized:{name}")
        assert bar.get_width() == pytest.approx(means[name], rel=1e-12)
        assert bar.get_y() + bar.get_height() / 2 == pytest.approx(i)
    assert left.get_xlim()[0] == 0 and left.get_xlim()[1] > max(means)


def test_bootstrap_violins_span_the_resamples(bootstrap_fig, run_dir, summary, names):
    boot = bootstrap_revenue(plots.load_run(run_dir))
    for policy in summary["policies"]:
        name = policy["name"]
        deviation = boot.revenue[boot.policy == name] - policy["expected"]["revenue"]
        (artist,) = by_gid(bootstrap_fig, f"deviation:{name}")
        if hasattr(artist, "get_xdata"):  # every resample equal: a line at its deviation
            np.testing.assert_allclose(artist.get_xdata(), deviation.iloc[0], atol=1e-12)
            assert deviation.std() < 1e-12
        else:
            x = np.concatenate([p.vertices[:, 0] for p in artist.get_paths()])
            np.testing.assert_allclose([x.min(), x.max()], [deviation.min(), deviation.max()])
    # A flat price is paid by every user: no bootstrap spread (closed form 1/5).
    flat = boot.revenue[boot.policy == "flat price"]
    np.testing.assert_allclose(flat, 0.2, rtol=1e-12)


# -- who_gains.png ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def who_fig(run_dir):
    return plots.draw_who_gains(run_dir)


def test_who_gains_lines_are_the_solver_curves(who_fig, run_dir, names):
    menus = pd.read_parquet(run_dir / "menus.parquet")
    for name in names:
        rows = menus[menus.policy == name].sort_values("urgency")
        for column, values in (
            ("payment", rows.payment),
            ("utility", rows.utility),
            ("surplus", rows.utility - rows.payment),
        ):
            x, y = line(who_fig, f"solver:{column}:{name}")
            np.testing.assert_array_equal(x, rows.urgency)
            np.testing.assert_allclose(y, values, rtol=1e-15)
    _, flat = line(who_fig, "solver:payment:flat price")
    np.testing.assert_allclose(flat, 0.2, rtol=1e-9)  # everyone pays U(inf|2) = 1/5


def test_who_gains_points_are_bin_means(who_fig, run_dir, names):
    users = pd.read_parquet(run_dir / "users.parquet")
    menus = pd.read_parquet(run_dir / "menus.parquet")
    bins = min(max(USERS // 200, 5), 30)  # about 200 users per bin
    edges = np.linspace(menus.urgency.min(), menus.urgency.max(), bins + 1)
    users["bin"] = pd.cut(users.urgency, edges, labels=False, include_lowest=True)
    means = users.groupby(["policy", "bin"])[["payment", "utility", "surplus"]].mean()
    for name in names:
        for column in ("payment", "utility", "surplus"):
            x, y = line(who_fig, f"simulated:{column}:{name}")
            np.testing.assert_allclose(y, means.loc[name][column], rtol=1e-12, atol=1e-15)
            assert (x > edges[:-1]).all() and (x < edges[1:]).all()  # inside its bin
    counts = np.histogram(users.urgency[users.policy == names[0]], edges)[0]
    for column in ("payment", "utility", "surplus"):
        (stairs,) = by_gid(who_fig, f"count:{column}")
        np.testing.assert_array_equal(stairs.get_data().values, counts)
        np.testing.assert_allclose(stairs.get_data().edges, edges)
    assert counts.sum() == USERS


def test_who_gains_colours_are_distinct(who_fig, names):
    colours = {
        to_rgb(line_.get_color())
        for name in names
        for line_ in by_gid(who_fig, f"solver:payment:{name}")
    }
    assert len(colours) == len(names)
    markers = {by_gid(who_fig, f"simulated:payment:{n}")[0].get_marker() for n in names}
    assert len(markers) == len(names)


# -- welfare.png -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def welfare_fig(run_dir):
    return plots.draw_welfare(run_dir)


def test_welfare_bars_are_shares_of_the_first_best(welfare_fig, run_dir, summary):
    users = pd.read_parquet(run_dir / "users.parquet")
    greedy = users[users.policy == "optimal token menu"]
    # First best of these users: e^{-r tau}, the greedy model unlimited at speed 1.
    fb_real = np.mean(np.exp(-greedy.urgency * greedy.breakthrough_time))
    fb = summary["first_best_welfare"]
    for p in summary["policies"]:
        expected = p["expected"]
        realized = {m: p["realized"][m]["mean"] for m in ("revenue", "user_surplus")}
        for which, values, first_best in (
            ("expected", expected, fb),
            ("realized", realized, fb_real),
        ):
            rev, sur = values["revenue"] / first_best, values["user_surplus"] / first_best
            want = {"revenue": rev, "user surplus": sur, "loss": max(1 - rev - sur, 0)}
            left = 0.0
            for part, share in want.items():
                (bar,) = by_gid(welfare_fig, f"welfare:{which}:{p['name']}:{part}")
                assert bar.get_width() == pytest.approx(share, rel=1e-12, abs=1e-15)
                assert bar.get_x() == pytest.approx(left, abs=1e-15)
                left += bar.get_width()
    (flat,) = by_gid(welfare_fig, "welfare:expected:flat price:loss")
    assert flat.get_width() == pytest.approx(0, abs=1e-9)  # a flat price sells to all: first best


def test_welfare_is_readable(welfare_fig, names):
    width, height = welfare_fig.get_size_inches()
    assert width <= 12 and height <= 10
    (ax,) = welfare_fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert ax.get_xlim()[0] == 0 and 1 < ax.get_xlim()[1] < 1.3
    assert "share of first-best welfare" in ax.get_xlabel()


# -- user_outcomes.png and stopping_law.png --------------------------------------------------
def test_user_outcomes_means(run_dir, names):
    fig = plots.draw_user_outcomes(run_dir)
    users = pd.read_parquet(run_dir / "users.parquet")
    for ax, column in zip(fig.axes, ("surplus", "payment"), strict=True):
        (means,) = by_gid(fig, f"mean:{column}")
        want = users.groupby("policy")[column].mean()[names]
        np.testing.assert_allclose(means.get_offsets(), np.c_[want, range(len(names))])
        assert ax.get_xlabel().endswith("(value of a solved task = 1)")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names


def test_stopping_law_against_the_density(run_dir):
    fig = plots.draw_stopping_law(run_dir)
    law = pd.read_parquet(run_dir / "stopping_law.parquet")
    users = pd.read_parquet(run_dir / "users.parquet")
    greedy = law[law.policy == "optimal token menu"]
    t, f = line(fig, "density:optimal token menu")
    np.testing.assert_array_equal(t, greedy.t)
    np.testing.assert_allclose(f, 0.5 * np.exp(-t / 2), rtol=1e-10)  # f*(t) = ½e^{-t/2}
    tau = users.breakthrough_time[users.policy == "optimal token menu"]
    edges = np.linspace(0, greedy.t.max(), 51)
    want = np.histogram(tau, edges)[0] / (len(tau) * np.diff(edges))
    (hist,) = by_gid(fig, "histogram:optimal token menu")
    np.testing.assert_allclose(hist.get_data().values, want, rtol=1e-12)
    titles = " ".join(ax.get_title() for ax in fig.axes if ax.get_visible())
    assert "diffusion menu" in titles and "constant-delay menu" not in titles
    assert "no density, not shown: constant-delay menu" in fig.get_suptitle()
