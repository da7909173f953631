"""The public API (``import market as mk``): one pipeline from a scenario to a run folder.

Closed forms are those of the paper's example (Sections 2.2 and 3.1): τ ~ Exp(1/2),
U(∞|r) = 1/(2r + 1), so a flat price sells to every type at U(∞|2) = 1/5, and first-best welfare
is ∫_1^2 dr/(2r + 1) = ½ log(5/3).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import exp1

import market as mk

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "scenarios" / "paper_example.toml"
#: Section 3.1 (docs/paper-notes.md, erratum 4).
OPTIMAL = 0.2 * (1 - math.exp(-2.5)) + 0.5 * math.exp(-1) * exp1(1.5)

PAPER_DICT = {
    "name": "from-a-dict",
    "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
    "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
    "policies": [
        {"kind": "optimal_token_menu"},
        {"kind": "flat", "name": "flat"},
        {"kind": "custom", "name": "two plans", "plans": [
            {"name": "small", "token_cap": 0.25, "price": 0.15},
            {"name": "big", "token_cap": "unlimited", "price": 0.2},
        ]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def solution():
    return mk.solve(mk.load_scenario(PAPER))


def test_solve_the_default_set(solution):
    assert isinstance(solution, mk.Solution)
    assert solution.first_best_welfare == pytest.approx(0.5 * math.log(5 / 3), rel=1e-12)
    assert solution.names == [
        "optimal token menu", "flat price", "per-token price", "two-part tariff", "2 tiers",
        "3 tiers", "2 speed tiers", "constant-delay menu", "diffusion menu",
    ]  # fmt: skip
    optimal = solution["optimal token menu"]
    assert optimal.revenue == pytest.approx(OPTIMAL, abs=1e-12)
    assert solution["flat price"].revenue == pytest.approx(0.2, rel=1e-12)
    for policy in solution.policies:
        assert policy.welfare == pytest.approx(policy.revenue + policy.user_surplus, abs=1e-12)
        assert policy.revenue <= optimal.revenue + 1e-9


def test_unknown_policy_names_the_available_ones(solution):
    with pytest.raises(KeyError, match="no policy 'barter'; available: 'optimal token menu'"):
        solution["barter"]


def test_to_frame(solution):
    frame = solution.to_frame()
    assert list(frame.columns)[:6] == [
        "policy", "kind", "revenue", "user_surplus", "welfare", "share_of_first_best",
    ]  # fmt: skip
    assert list(frame.policy) == solution.names
    np.testing.assert_allclose(frame.share_of_first_best, frame.welfare / (0.5 * math.log(5 / 3)))
    assert np.isfinite(frame.select_dtypes("number").to_numpy()).all()


def test_plans(solution):
    flat = solution["flat price"].plans()
    assert list(flat.columns) == ["plan", "urgency", "token_cap", "price", "per_token", "speed"]
    assert len(flat) == 1 and math.isinf(flat.token_cap[0]) and flat.price[0] == pytest.approx(0.2)
    schedule = solution["optimal token menu"].plans()
    # Section 3.1: χT(r) = (1/8)/(r − 1), unlimited at r = 1.
    inner = schedule[schedule.urgency > 1]
    np.testing.assert_allclose(inner.token_cap, 0.125 / (inner.urgency - 1), rtol=1e-12)
    assert math.isinf(schedule.token_cap.iloc[0])
    metered = solution["per-token price"].plans()
    assert metered.per_token[0] > 0 and metered.price[0] == 0


def test_scenario_from_dict_solves_and_simulates(tmp_path):
    scenario = mk.scenario_from_dict(PAPER_DICT)
    assert scenario.name == "from-a-dict" and scenario.description == ""
    solution = mk.solve(scenario)
    assert solution.names == ["optimal token menu", "flat", "two plans"]
    run = mk.simulate(scenario, users=4000, seed=3, engine="vectorized", solution=solution)
    users = run.users
    assert len(users) == 3 * 4000 and set(users.policy) == set(solution.names)
    summary = run.summary
    assert list(summary.policy) == solution.names
    # Realised means within 4 standard errors of the solver's (seed 3, 4000 users).
    for row in summary.itertuples():
        assert abs(row.revenue - row.expected_revenue) <= 4 * row.revenue_se + 1e-12
        assert abs(row.welfare - row.expected_welfare) <= 4 * row.welfare_se + 1e-12
    folder = run.save(tmp_path)
    assert folder.parent == tmp_path and (folder / "users.parquet").is_file()
    saved = pd.read_parquet(folder / "users.parquet")
    pd.testing.assert_frame_equal(saved, users)
    # The scenario given as a dictionary is kept as TOML text, and reads back the same.
    again = mk.parse_scenario((folder / "scenario.toml").read_text())
    assert again.policy_specs == scenario.policy_specs


def test_scenario_from_dict_errors_are_the_files():
    bad = {**PAPER_DICT, "information": {**PAPER_DICT["information"], "token_rate": -1}}
    with pytest.raises(mk.ScenarioError, match=r"^<dict>: information.token_rate = -1: expected"):
        mk.scenario_from_dict(bad)


def test_engines_agree_user_by_user():
    scenario = mk.scenario_from_dict(PAPER_DICT)
    solution = mk.solve(scenario)
    a = mk.simulate(scenario, users=500, seed=9, engine="abm", solution=solution).users
    v = mk.simulate(scenario, users=500, seed=9, engine="vectorized", solution=solution).users
    pd.testing.assert_frame_equal(a, v, check_exact=False, rtol=1e-12)


def test_select_policies_by_name_or_kind():
    run = mk.simulate(PAPER, users=200, seed=1, policies=["flat", "2 tiers"])
    assert [p.name for p in run.policies] == ["flat price", "2 tiers"]
    with pytest.raises(ValueError, match="policies = barter: unknown policy"):
        mk.simulate(PAPER, users=200, policies=["barter"])


def test_compare_is_sorted_by_expected_revenue():
    table = mk.compare(mk.scenario_from_dict(PAPER_DICT), users=1000, seed=2)
    assert list(table.policy)[0] == "optimal token menu"
    assert list(table.expected_revenue) == sorted(table.expected_revenue, reverse=True)
    assert {"revenue_per_user", "share_of_first_best", "participation"} <= set(table.columns)


def test_custom_plans_scenario_runs_its_own_policies(tmp_path):
    # `market run` simulates the scenario's [[policies]], and --policy selects among them.
    from market.cli import main

    path = ROOT / "scenarios" / "custom_plans.toml"
    argv = ["run", str(path), "--users", "300", "--policy", "custom", "--out", str(tmp_path)]
    assert main([*argv, "--json"]) == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"users = 0: expected an integer >= 1"):
        mk.simulate(PAPER, users=0)
    with pytest.raises(ValueError, match=r"engine = 'fast': expected one of abm, vectorized"):
        mk.simulate(PAPER, users=10, engine="fast")
    with pytest.raises(ValueError, match=r"users = 10000000000: .* GiB of memory"):
        mk.simulate(PAPER, users=10_000_000_000)
