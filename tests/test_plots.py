"""Figures of a run folder (``market.plots``), and the run-folder files they read.

One small run of the paper's example (2000 users, vectorised engine, ``git rev-parse``
stubbed as in test_sim_command.py) is written once for the module; the figures are drawn
once. Closed forms are those of Section 3.1 (Zhong 2025) with errata 2 and 3 of
``docs/paper-notes.md``: ``f*(t) = ½e^{-t/2}``, ``χT(r) = (1/8)/(r-1)``. The artists of each
figure are checked against the run's numbers in ``test_plots_figures.py``.
"""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sim_helpers import PAPER_EXAMPLE

from market import plots
from market.cli import main
from market.io import runfolder
from market.plots.bootstrap import BOOTSTRAP_RESAMPLES, bootstrap_revenue

USERS = 2000
FIGURES = [
    "user_outcomes.png",
    "revenue_bootstrap.png",
    "who_gains.png",
    "menus.png",
    "stopping_law.png",
    "welfare.png",
]
#: Drawn only for a run with a finite capacity / a learning platform (not this run).
CONDITIONAL = ["load.png", "learning.png"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: A figure with axes, labels and data is larger than this; an empty canvas is not.
MIN_PNG_BYTES = 10_000


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    argv = ["run", str(PAPER_EXAMPLE), "--users", str(USERS), "--engine", "vectorized"]
    argv += ["--out", str(out)]
    for kind in ("optimal_token_menu", "constant_delay", "diffusion"):  # the paper's three
        argv += ["--policy", kind]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runfolder, "git_revision", lambda: "0" * 40)
        assert main(argv) == 0
    (folder,) = out.iterdir()
    return folder


@pytest.fixture(scope="module")
def progress_calls():
    return []


@pytest.fixture(scope="module")
def figures(run_dir, progress_calls):
    def progress(name):
        progress_calls.append((name, (run_dir / name).is_file()))  # written, then reported

    return plots.plot_run(run_dir, progress=progress)


# -- the run folder's extra files ------------------------------------------------------------
def test_breakthrough_time_is_the_uncapped_time(run_dir):
    users = pd.read_parquet(run_dir / "users.parquet")
    assert users.breakthrough_time.notna().all() and (users.breakthrough_time > 0).all()
    bought = users.item.notna()
    cap = (users.cap_tokens / (0.125 * users.speed)).fillna(np.inf)  # T = cap / (s chi)
    np.testing.assert_allclose(
        users.conversation_time[bought], np.minimum(users.breakthrough_time, cap)[bought]
    )
    assert (users.conversation_time[~bought] == 0).all()
    assert (users.learned == (bought & (users.breakthrough_time <= cap))).all()


def test_menus_parquet(run_dir):
    menus = pd.read_parquet(run_dir / "menus.parquet")
    assert list(menus.columns) == [
        "policy", "kind", "urgency", "token_cap", "price", "served", "utility", "payment", "tokens",
    ]  # fmt: skip
    summary = json.loads((run_dir / "summary.json").read_text())
    names = [p["name"] for p in summary["policies"]]
    assert list(menus.policy.unique()) == names
    opt = menus[menus.kind == "optimal_token_menu"]
    assert len(opt) == 201 and opt.served.all()
    assert opt.token_cap.isna().tolist() == list(opt.urgency == 1.0)  # unlimited at r = 1 only
    inner = opt[opt.urgency > 1]
    np.testing.assert_allclose(inner.token_cap, 0.125 / (inner.urgency - 1), rtol=1e-12)
    # Section 3.1: U(T|r) = (1 - e^{-(r+1/2)T})/(2r + 1), T = 1/(r - 1); the payment is the
    # price (no per-token charge), tokens chi E[min(tau, T)] = (1/4)(1 - e^{-T/2}).
    t = 1 / (inner.urgency - 1)
    r = inner.urgency
    np.testing.assert_allclose(inner.utility, (1 - np.exp(-(r + 0.5) * t)) / (2 * r + 1), rtol=1e-9)
    np.testing.assert_allclose(inner.payment, inner.price, rtol=1e-12)
    np.testing.assert_allclose(inner.tokens, 0.25 * (1 - np.exp(-t / 2)), rtol=1e-9)


def test_stopping_law_parquet(run_dir):
    law = pd.read_parquet(run_dir / "stopping_law.parquet")
    assert list(law.columns) == ["policy", "t", "density", "survival"]
    assert set(law.policy) == {"optimal token menu", "diffusion menu"}  # no constant delay
    assert (law.groupby("policy").size() == 400).all()
    greedy = law[law.policy == "optimal token menu"]
    assert greedy.t.iloc[0] == 0.0
    # The 99.9% quantile of Exp(1/2) is 2 log 1000 (Section 3.1, f* = ½ e^{-t/2}).
    assert greedy.t.iloc[-1] == pytest.approx(2 * math.log(1000), rel=1e-10)
    np.testing.assert_allclose(greedy.density, 0.5 * np.exp(-greedy.t / 2), rtol=1e-10)
    np.testing.assert_allclose(greedy.survival, np.exp(-greedy.t / 2), rtol=1e-10)
    diffusion = law[law.policy == "diffusion menu"]
    assert diffusion.survival.iloc[-1] == pytest.approx(1e-3, rel=1e-8)


def test_summary_has_first_best_welfare(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    # int_1^2 E[e^{-r tau}] dr with tau ~ Exp(1/2): int_1^2 (1/2)/(r + 1/2) dr = ½ log(5/3).
    assert summary["first_best_welfare"] == pytest.approx(0.5 * math.log(5 / 3), rel=1e-12)


# -- the figures -----------------------------------------------------------------------------
def test_plot_run_writes_valid_pngs(run_dir, figures):
    assert figures == [run_dir / name for name in FIGURES]
    assert list(plots.FIGURE_FILES) == FIGURES + CONDITIONAL
    written = sorted(p.name for p in run_dir.iterdir() if p.suffix == ".png")
    assert written == sorted(FIGURES)
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temporary files
    for path in figures:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, path.name
        assert len(data) > MIN_PNG_BYTES, path.name


def test_bootstrap_is_seeded_and_centred(run_dir, figures):
    run = plots.load_run(run_dir)
    first, second = bootstrap_revenue(run), bootstrap_revenue(run)
    pd.testing.assert_frame_equal(first, second)
    assert (first.groupby("policy").size() == BOOTSTRAP_RESAMPLES).all()
    means = run.users.groupby("policy").payment.mean()
    for name, values in first.groupby("policy").revenue:
        spread = max(values.std(), 1e-12)
        assert abs(values.mean() - means[name]) < 5 * spread / math.sqrt(BOOTSTRAP_RESAMPLES)
    other = bootstrap_revenue(run, rng=1)
    assert not np.array_equal(other.revenue, first.revenue)


# -- malformed run folders -------------------------------------------------------------------
def copy_run(run_dir, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("*.png"))
    return target


def test_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"nowhere: not a run folder \(no such directory\)$"):
        plots.plot_run(tmp_path / "nowhere")


def test_a_file_is_not_a_run_folder(run_dir):
    file = run_dir / "summary.json"
    with pytest.raises(ValueError) as err:
        plots.plot_run(file)
    assert str(err.value) == f"{file}: not a run folder (a file, not a directory)"


def test_progress_is_called_after_each_figure(figures, progress_calls):
    assert progress_calls == [(name, True) for name in FIGURES]


def test_stopping_law_is_left_out_without_a_density(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    law = pq.read_table(target / "stopping_law.parquet")
    pq.write_table(law.slice(0, 0), target / "stopping_law.parquet")
    seen = []
    written = plots.plot_run(target, progress=seen.append)
    expected = [name for name in FIGURES if name != "stopping_law.png"]
    assert written == [target / name for name in expected] and seen == expected


def test_empty_folder_names_every_missing_file(tmp_path):
    message = (
        f"{tmp_path}: not a complete run folder: missing summary.json, users.parquet, "
        "menus.parquet, plans.parquet, stopping_law.parquet"
    )
    with pytest.raises(ValueError) as err:
        plots.plot_run(tmp_path)
    assert str(err.value) == message


def test_an_older_run_without_menus(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    (target / "menus.parquet").unlink()
    with pytest.raises(
        ValueError, match=r"run: not a complete run folder: missing menus\.parquet$"
    ):
        plots.plot_menus(target)


def test_an_older_run_without_plans(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    (target / "plans.parquet").unlink()
    with pytest.raises(
        ValueError, match=r"run: not a complete run folder: missing plans\.parquet$"
    ):
        plots.plot_run(target)


def test_plans_of_an_unknown_policy(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    plans = pd.read_parquet(target / "plans.parquet")
    ghost = plans.tail(1).assign(policy="ghost")
    pd.concat([plans, ghost]).to_parquet(target / "plans.parquet")
    with pytest.raises(ValueError, match=r"plans\.parquet: policy ghost not in summary\.json$"):
        plots.plot_run(target)


def test_missing_column(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    table = pq.read_table(target / "users.parquet")
    pq.write_table(table.drop_columns(["breakthrough_time"]), target / "users.parquet")
    with pytest.raises(ValueError, match=r"users\.parquet: missing column\(s\) breakthrough_time$"):
        plots.plot_run(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"summary\.json: not valid JSON \(Expecting property name"),
        ('{"seed": 1, "policies": []}', r"summary\.json: missing key 'first_best_welfare'$"),
        ("units", r"summary\.json: units\.tokens_per_unit = -1: expected a number > 0$"),
        ("first_best", r"summary\.json: first_best_welfare = 0\.0: expected a number > 0$"),
    ],
)
def test_malformed_summary(run_dir, tmp_path, content, message):
    target = copy_run(run_dir, tmp_path)
    summary = json.loads((target / "summary.json").read_text())
    if content == "units":
        content = json.dumps({**summary, "units": {"currency": "USD", "tokens_per_unit": -1}})
    elif content == "first_best":
        content = json.dumps({**summary, "first_best_welfare": 0.0})
    (target / "summary.json").write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        plots.plot_run(target)
    assert "\n" not in str(err.value)


def test_damaged_parquet(run_dir, tmp_path):
    target = copy_run(run_dir, tmp_path)
    (target / "stopping_law.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match=r"stopping_law\.parquet: not a readable parquet file"):
        plots.plot_run(target)


# -- market plot -----------------------------------------------------------------------------
def test_plot_command_prints_the_figures(tmp_path, capsys, monkeypatch):
    written = [tmp_path / "a.png", tmp_path / "b.png"]
    monkeypatch.setattr(plots, "plot_run", lambda run_dir, progress=None: written)
    assert main(["plot", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(p) for p in written] and captured.err == ""


def test_plot_command_error_is_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"error: {tmp_path / 'nowhere'}: not a run folder (no such directory)"
    ]
