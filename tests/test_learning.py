"""A platform that learns its market (issue 9, part 3): the estimator, the learning loop, the
public API and the figure.

Independent numbers. Every market here is the paper's example model (quadratic entropy, prior
(1/2, 1/2), token rate 1/8), whose breakthrough time has the density f(t) = ½e^{-t/2}
(Section 3.1 with erratum 3 of docs/paper-notes.md). For any menu of time caps with envelope
prices, revenue under a law G is ∫ f(t) G(ρ(t)) e^{-ρ(t)t} dt with ρ(t) the most urgent type
whose cap covers t (docs/paper-notes.md, "The optimal menu for any urgency distribution"); the
optimal menu for a law F takes ρ(t) = argmax_r log F(r) - rt. :func:`revenue` evaluates this
by brute force (a grid argmax refined by a parabola, the midpoint rule in u = 1 - e^{-t/2}),
with scipy.stats for the laws: nothing of the package's solver or quadrature is used.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import market as mk
from market.plots.learning import REGRET_FLOOR, draw_learning, plot_learning
from market.scenario import build_market
from market.sim import learning as learning_module
from market.sim.estimate import POINT_WIDTH, Observations, fit, observe
from market.sim.learning import learn

INFORMATION = {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125}
BETA_TRUTH = {"distribution": "beta", "a": 2.0, "b": 5.0, "low": 1.0, "high": 2.0}
#: 80% patient users around 1.15, 20% urgent ones around 1.85 (scenarios/learning_bimodal.toml).
BIMODAL = [(0.8, 1.15, 0.07), (0.2, 1.85, 0.07)]
BIMODAL_TRUTH = {
    "distribution": "mixture",
    "components": [
        {"distribution": "truncnorm", "mean": m, "sd": s, "low": 1.0, "high": 2.0, "weight": w}
        for w, m, s in BIMODAL
    ],
}


def market_of(urgency: dict, learning: dict | None = None):
    scenario = {"name": "learning-test", "information": INFORMATION, "urgency": urgency}
    if learning is not None:
        scenario["platform"] = {"learning": learning}
    return mk.scenario_from_dict(scenario)


# -- independent revenues (module docstring) ------------------------------------------------
T_NODES = 2000
R_GRID = np.linspace(1.0, 2.0, 10001)[1:]


def _argmax(log_f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """argmax_r log F(r) - r t on R_GRID, refined by the parabola through the best three."""
    out = np.empty(t.size)
    h = R_GRID[1] - R_GRID[0]
    for i in range(0, t.size, 250):
        v = log_f[None, :] - R_GRID[None, :] * t[i : i + 250, None]
        k = np.clip(np.argmax(v, axis=1), 1, R_GRID.size - 2)
        rows = np.arange(k.size)
        y0, y1, y2 = v[rows, k - 1], v[rows, k], v[rows, k + 1]
        curve = y0 - 2 * y1 + y2
        step = np.where(curve < 0, 0.5 * (y0 - y2) / np.where(curve < 0, curve, -1.0), 0.0)
        best = np.argmax(v, axis=1)
        out[i : i + 250] = np.where(best == k, R_GRID[k] + np.clip(step, -1, 1) * h, R_GRID[best])
    return out


def revenue(true_cdf, menu_cdf=None, rho=None) -> float:
    """∫ f(t) G(ρ(t)) e^{-ρ(t)t} dt for the true CDF G; ρ from ``rho(t)`` or the optimal menu of
    ``menu_cdf`` (default: of G itself, the optimum)."""
    u = (np.arange(T_NODES) + 0.5) / T_NODES
    t = -2.0 * np.log1p(-u)  # ½e^{-t/2} dt = du
    if rho is None:
        with np.errstate(divide="ignore"):
            log_f = np.log((menu_cdf or true_cdf)(R_GRID))
        rho = _argmax(log_f, t)
    else:
        rho = rho(t)
    return float(np.mean(true_cdf(rho) * np.exp(-rho * t)))


def beta_cdf(a: float, b: float):
    return stats.beta(a, b, loc=1.0, scale=1.0).cdf


def bimodal_cdf(r):
    return sum(
        w * stats.truncnorm((1.0 - m) / s, (2.0 - m) / s, loc=m, scale=s).cdf(r)
        for w, m, s in BIMODAL
    )


# -- the learning loop --------------------------------------------------------------------
def check_convergence(periods: int, users: int, seed: int) -> None:
    """The correct family's learning curve against closed forms and brute force."""
    run = learn(build_market(market_of(BETA_TRUTH)), "beta", periods, users, {}, seed=seed)
    # Every purchase reveals its buyer's urgency exactly (the posted Beta menus are log-concave:
    # no pool), so the fit after the last period is the MLE of n = periods x users draws of
    # Beta(2, 5). Its covariance is I(a, b)^{-1} / n with the Fisher information of the Beta
    # law, I = [[ψ1(a) - ψ1(a+b), -ψ1(a+b)], [-ψ1(a+b), ψ1(b) - ψ1(a+b)]] (ψ1: trigamma):
    # sd(a) = 0.0083, sd(b) = 0.0224 for n = 100 000. Tolerance: 5 sd (two-sided p = 6e-7
    # per parameter).
    a, b, n = 2.0, 5.0, periods * users
    t1 = special.polygamma(1, [a, b, a + b])
    info = np.array([[t1[0] - t1[2], -t1[2]], [-t1[2], t1[1] - t1[2]]])
    sd = np.sqrt(np.diag(np.linalg.inv(info)) / n)
    est = run.estimate
    assert abs(est["a"] - a) <= 5 * sd[0] and abs(est["b"] - b) <= 5 * sd[1], (est, sd)
    records = run.records()
    assert list(records.period) == list(range(1, periods + 1))
    assert np.all(np.isfinite(records.drop(columns=["family", "estimate"]).to_numpy(float)))
    # The optimum and the last posted menu's revenue under the truth, by brute force (whose
    # own error, the midpoint rule on T_NODES nodes, is ~2e-7 of the revenue).
    optimum = revenue(beta_cdf(a, b))
    posted = json.loads(records.estimate.iloc[-1])
    last = revenue(beta_cdf(a, b), menu_cdf=beta_cdf(posted["a"], posted["b"]))
    assert records.optimal_revenue.iloc[0] == pytest.approx(optimum, rel=1e-6)
    assert records.expected_revenue.iloc[-1] == pytest.approx(last, rel=1e-5)
    assert last >= 0.99 * optimum and records.relative_regret.iloc[-1] < 0.01
    assert (records.regret >= -1e-6 * optimum).all()
    # Period 1 posts the uniform start's menu: the paper's T(r) = 1/(r - 1), ρ(t) = min(2,
    # 1 + 1/t) (Section 3.1), scored under the Beta truth.
    start = revenue(beta_cdf(a, b), rho=lambda t: np.minimum(2.0, 1.0 + 1.0 / t))
    assert records.expected_revenue.iloc[0] == pytest.approx(start, rel=1e-5)


@pytest.mark.slow
def test_correct_family_converges():
    # The check: 20 periods of 5000 users (about 5 s).
    check_convergence(20, 5000, seed=7)


def test_correct_family_converges_quickly():
    # The same check on 3 periods of 5000 users (the tolerance follows n = 15 000).
    check_convergence(3, 5000, seed=7)


@pytest.fixture(scope="module")
def uniform_run():
    return learn(build_market(market_of(BIMODAL_TRUTH)), "uniform", 3, 1000, {}, seed=3)


def test_wrong_family_regret_stays(uniform_run):
    # A uniform on [1, 2] posts the paper's menu T(r) = 1/(r - 1) (ρ(t) = min(2, 1 + 1/t)) in
    # every period; under the bimodal truth its regret against the truth's optimum is computed
    # by brute force: 11.7% of the optimal revenue.
    optimum = revenue(bimodal_cdf)
    uniform = revenue(bimodal_cdf, rho=lambda t: np.minimum(2.0, 1.0 + 1.0 / t))
    threshold = 1.0 - uniform / optimum
    assert threshold > 0.1
    records = uniform_run.records()
    assert records.relative_regret.to_numpy() == pytest.approx(threshold, abs=1e-5)
    assert (records.relative_regret >= threshold - 1e-5).all()


def test_uniform_family_is_constant(uniform_run):
    records, menus = uniform_run.records(), uniform_run.menus()
    assert (records.estimate == "{}").all() and records.expected_revenue.nunique() == 1
    first = menus[menus.period == 1].drop(columns="period").reset_index(drop=True)
    for p in (2, 3):
        later = menus[menus.period == p].drop(columns="period").reset_index(drop=True)
        pd.testing.assert_frame_equal(first, later)
    # The uniform menu on the report grid: χT(r) = (1/8)/(r - 1) (Section 3.1).
    inner = first[first.urgency > 1.0]
    assert inner.token_cap.to_numpy() == pytest.approx(0.125 / (inner.urgency - 1.0), rel=1e-9)
    assert math.isnan(first.token_cap.iloc[0])  # r = 1: unlimited


def test_same_seed_same_records():
    market = build_market(market_of(BETA_TRUTH))
    one, two = (learn(market, "beta", 2, 200, {}, seed=11) for _ in range(2))
    pd.testing.assert_frame_equal(one.records(), two.records())
    pd.testing.assert_frame_equal(one.menus(), two.menus())
    other = learn(market, "beta", 1, 200, {}, seed=12).records()
    assert other.realized_revenue.iloc[0] != one.records().realized_revenue.iloc[0]


@pytest.mark.parametrize(
    ("family", "initial", "match"),
    [
        ("beta", {"a": -1.0, "b": 1.0}, r"initial\.a = -1\.0: expected a shape"),
        ("beta", {"a": 2.0}, r"initial: missing b"),
        ("beta", {"mean": 1.5, "sd": 0.1}, r"initial\.mean = 1\.5: unknown parameter"),
        ("truncnorm", {"mean": 1.5, "sd": 0.0}, r"initial\.sd = 0\.0: expected a number > 0"),
        ("uniform", {"a": 1.0}, r"initial\.a = 1\.0: unknown parameter of family 'uniform'"),
        ("gamma", {}, r"family = 'gamma': expected one of beta, truncnorm, uniform"),
    ],
)
def test_bad_parameters_name_the_field(family, initial, match):
    market = build_market(market_of(BETA_TRUTH))
    with pytest.raises(ValueError, match=match):
        learn(market, family, 1, 10, initial, seed=0)


def test_bad_counts_name_the_argument():
    market = build_market(market_of(BETA_TRUTH))
    with pytest.raises(ValueError, match=r"periods = 0: expected an integer >= 1"):
        learn(market, "beta", 0, 10)
    with pytest.raises(ValueError, match=r"users_per_period = 2\.5"):
        learn(market, "beta", 1, 2.5)


def test_a_menu_beating_the_optimum_raises(monkeypatch):
    # The optimum for the truth is halved: the first posted menu (the uniform's, 0.209 against
    # 0.234) then "beats" it, which no incentive-compatible menu can; the loop names the period
    # instead of recording it.
    real, calls = learning_module.solve_optimal, []

    def shrunk(market):
        policy = real(market)
        calls.append(policy)
        return replace(policy, revenue=0.5 * policy.revenue) if len(calls) == 1 else policy

    monkeypatch.setattr(learning_module, "solve_optimal", shrunk)
    with pytest.raises(ValueError, match=r"^period 1: the posted menu earns"):
        learn(build_market(market_of(BETA_TRUTH)), "uniform", 2, 10)


# -- the estimator, without the loop -------------------------------------------------------
LOW, HIGH = 0.5, 3.0
#: A posted schedule with a pool on [1, 1.6] and no sale from 2.5 on: non-increasing, strictly
#: decreasing elsewhere (with jumps, which a schedule may have).
POOL, EXIT = (1.0, 1.6), 2.5


def synthetic_cap(r):
    r = np.asarray(r, dtype=float)
    return np.select(
        [r < POOL[0], r <= POOL[1], r < EXIT], [4.0 - r, 2.9, 2.5 - (r - POOL[1])], 0.0
    )


SYNTHETIC = {
    "beta": ({"a": 0.8, "b": 2.5}, lambda p: stats.beta(p["a"], p["b"], loc=LOW, scale=HIGH - LOW)),
    "truncnorm": (
        {"mean": 1.2, "sd": 0.5},
        lambda p: stats.truncnorm(
            (LOW - p["mean"]) / p["sd"], (HIGH - p["mean"]) / p["sd"], loc=p["mean"], scale=p["sd"]
        ),
    ),
}


def _independent_mle(family, r, start):
    """The censored log-likelihood with scipy.stats (points: log density; the pool and the
    leavers: log mass), its maximiser by Nelder-Mead from ``start``, and the observed
    information (a central-difference Hessian) there."""
    truth, law = SYNTHETIC[family]
    names = list(truth)
    pooled = (r >= POOL[0]) & (r <= POOL[1])
    left = r >= EXIT
    points = r[~pooled & ~left]

    def loglik(theta):
        d = law(dict(zip(names, theta, strict=True)))
        return (
            d.logpdf(points).sum()
            + pooled.sum() * np.log(d.cdf(POOL[1]) - d.cdf(POOL[0]))
            + left.sum() * np.log(d.sf(EXIT))
        )

    start = np.array([start[k] for k in names])
    res = optimize.minimize(
        lambda x: -loglik(x), start, method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-9, "maxfev": 4000},
    )  # fmt: skip
    h = 1e-4 * np.abs(res.x)
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h[i], np.eye(2)[j] * h[j]
            hess[i, j] = (
                loglik(res.x + ei + ej) - loglik(res.x + ei - ej)
                - loglik(res.x - ei + ej) + loglik(res.x - ei - ej)
            ) / (4 * h[i] * h[j])  # fmt: skip
    return dict(zip(names, res.x, strict=True)), -res.fun, np.linalg.inv(-hess)


@pytest.mark.parametrize("family", list(SYNTHETIC))
def test_estimator_recovers_synthetic_censored_data(family):
    # 10 000 draws made by scipy.stats (not the package's quantiles), censored by a schedule
    # with a pool and an exit: the sets observe() reports are the pool, the exit interval and
    # the exact urgencies elsewhere; the fit equals an independent MLE (scipy.stats likelihood,
    # scipy optimiser) and lies within 5 sd (observed information) of the truth.
    truth, law = SYNTHETIC[family]
    r = law(truth).rvs(10_000, random_state=np.random.default_rng(2025))
    caps = synthetic_cap(r)
    obs = observe(synthetic_cap, caps, caps > 0, LOW, HIGH)
    hinted = observe(synthetic_cap, caps, caps > 0, LOW, HIGH, hint=r)
    pooled, left = (r >= POOL[0]) & (r <= POOL[1]), r >= EXIT
    assert obs.lows == pytest.approx([POOL[0], EXIT], abs=1e-12)
    assert obs.highs == pytest.approx([POOL[1], HIGH], abs=1e-12)
    assert list(obs.counts) == [pooled.sum(), left.sum()] == list(hinted.counts)
    expected_points = np.sort(r[~pooled & ~left])
    assert np.sort(obs.points) == pytest.approx(expected_points, abs=1e-12)
    assert np.sort(hinted.points) == pytest.approx(expected_points, abs=1e-15)

    got = fit(family, obs, LOW, HIGH, start=dict.fromkeys(truth, 1.0))
    # From the fit: if it were not the maximum, Nelder-Mead would walk away from it.
    mle, loglik, cov = _independent_mle(family, r, got.params)
    for k in truth:
        assert got.params[k] == pytest.approx(mle[k], rel=1e-4)
    assert got.log_likelihood == pytest.approx(loglik, rel=1e-9)
    sd = np.sqrt(np.diag(cov))
    for i, k in enumerate(truth):
        assert abs(got.params[k] - truth[k]) <= 5 * sd[i], (k, got.params, sd)


def test_users_who_leave_where_the_model_says_nobody_does():
    # Under a Beta menu only the top type buys nothing (T(r̄) = 0 for b > 1), so a leaver is an
    # event of probability 0 for the rational model; it enters as the set [r̄ - POINT_WIDTH, r̄]
    # and every number stays finite. Here 10% of the users leave at random (seeded).
    def erratic(menu, urgency, rng):
        rational = menu.choose(urgency)
        leave = rng.random(urgency.size) < 0.1
        zero = np.zeros(urgency.size)
        return replace(
            rational,
            plan=np.where(leave, -1, rational.plan),
            cap=np.where(leave, zero, rational.cap),
            price=np.where(leave, zero, rational.price),
        )

    run = learn(build_market(market_of(BETA_TRUTH)), "beta", 2, 1000, {}, seed=4, choose=erratic)
    records = run.records()
    assert np.all(np.isfinite(records.drop(columns=["family", "estimate"]).to_numpy(float)))
    # Participation: binomial(1000, 0.9) per period, within 5 sd.
    assert np.all(np.abs(records.participation - 0.9) <= 5 * math.sqrt(0.9 * 0.1 / 1000))
    caps = np.array([0.5, 0.0])  # one buyer (r = 1.5), one leaver
    obs = observe(lambda r: np.where(np.asarray(r) < 2.0, 2.0 - np.asarray(r), 0.0), caps,
                  caps > 0, 1.0, 2.0)  # fmt: skip
    assert obs.points == pytest.approx([1.5], abs=1e-12)
    assert obs.lows == pytest.approx([2.0 - POINT_WIDTH]) and list(obs.highs) == [2.0]


def test_observations_merge_identical_sets():
    a = Observations(np.array([1.0]), np.array([2.0]), np.array([3.0]), np.array([4]))
    b = Observations(np.array([1.5]), np.array([2.0, 0.5]), np.array([3.0, 1.0]), np.array([1, 2]))
    both = a + b
    assert list(both.lows) == [0.5, 2.0] and list(both.counts) == [2, 5] and both.size == 9


# -- the public API and the figure ----------------------------------------------------------
def test_api_learn_runs_the_scenario_and_reports_progress():
    learning = {"family": "beta", "periods": 2, "users_per_period": 200}
    ticks = []

    class Progress:
        def task(self, description, total):
            ticks.append((description, total))
            return lambda advance=1, label=None: ticks.append((advance, label))

    run = mk.learn(market_of(BETA_TRUTH, learning), seed=5, progress=Progress())
    assert isinstance(run, mk.Learning)
    assert ticks == [("learning", 2), (1, "period 1"), (1, "period 2")]
    assert run.truth == BETA_TRUTH and run.summary()["periods"] == 2
    assert list(run.records().columns[:4]) == ["period", "users", "family", "estimate"]
    assert {"a", "b"} <= set(run.records().columns)
    with pytest.raises(ValueError, match=r"platform\.learning: missing"):
        mk.learn(market_of(BETA_TRUTH))
    bad = {"family": "beta", "initial": {"a": 0.0, "b": 1.0}}
    with pytest.raises(mk.ScenarioError, match=r"platform\.learning\.initial\.a = 0"):
        mk.learn(market_of(BETA_TRUTH, bad))


def _frame(family, params, regrets):
    n = len(regrets)
    frame = pd.DataFrame(
        {
            "period": np.arange(1, n + 1), "users": 100, "family": family, "estimate": "{}",
            **{k: np.asarray(v, dtype=float) for k, v in params.items()},
            "log_likelihood": -1.0, "participation": 1.0, "realized_revenue": 0.2,
            "realized_revenue_se": 0.01, "expected_revenue": 0.2, "optimal_revenue": 0.21,
            "regret": 0.01, "relative_regret": np.asarray(regrets, dtype=float),
        }
    )  # fmt: skip
    return frame


def test_draw_learning_draws_estimates_truth_and_regret():
    frames = {
        "right": _frame("beta", {"a": [1.5, 1.9, 2.0], "b": [4.0, 4.8, 5.1]}, [0.1, 1e-9, 2e-7]),
        "wrong": _frame("uniform", {}, [0.12, 0.12, 0.12]),
    }
    truth = {"right": BETA_TRUTH, "wrong": BIMODAL_TRUTH}
    fig = draw_learning(frames, truth)
    lines = {line.get_gid(): line for ax in fig.axes for line in ax.get_lines() if line.get_gid()}
    assert list(lines["learning:estimate:right:b"].get_ydata()) == [4.0, 4.8, 5.1]
    assert list(lines["learning:truth:right:a"].get_ydata()) == [2.0, 2.0]
    assert "learning:truth:wrong:a" not in lines  # a uniform has no parameter
    assert list(lines["learning:regret:right"].get_ydata()) == [0.1, REGRET_FLOOR, 2e-7]
    assert list(lines["learning:regret:wrong"].get_ydata()) == [0.12] * 3


def test_plot_learning_writes_the_figure_only_with_a_table(tmp_path):
    assert plot_learning(tmp_path) == []
    _frame("beta", {"a": [1.0, 2.0], "b": [3.0, 5.0]}, [0.1, 0.0]).to_parquet(
        tmp_path / "learning.parquet"
    )
    (tmp_path / "summary.json").write_text(json.dumps({"learning": {"truth": BETA_TRUTH}}))
    assert plot_learning(tmp_path) == [tmp_path / "learning.png"]
    assert (tmp_path / "learning.png").stat().st_size > 0
    pd.DataFrame({"period": [1]}).to_parquet(tmp_path / "learning.parquet")
    with pytest.raises(ValueError, match=r"learning\.parquet: missing columns users"):
        plot_learning(tmp_path)
