"""Every answer the tool prints is right, or it says why not (issue 8): each case users found,
with its expected value from an independent computation or the message that must name the field.

The paper's example (Section 3.1): quadratic H, prior (1/2, 1/2), chi = 1/8, so tau ~ Exp(1/2):
U(T|r) = (1 - e^{-(r+1/2)T})/(2r + 1), U(inf|r) = 1/(2r + 1), E[min(tau, T)] = 2(1 - e^{-T/2}).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

import market as mk
from market.cli import main
from market.scenario.toml import dumps

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "scenarios" / "paper_example.toml"
INFORMATION = {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125}


def paper_with(urgency=None, **information) -> dict:
    return {
        "name": "case",
        "information": {**INFORMATION, **information},
        "urgency": urgency or {"distribution": "uniform", "low": 1.0, "high": 2.0},
    }


def write(tmp_path: Path, data: dict, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(dumps(data), encoding="utf-8")
    return path


def beta_expectation(func, a: float, b: float) -> float:
    """E[func(r)], r = 1 + X, X ~ Beta(a, b), by quad's algebraic weight (x^(a-1)(1-x)^(b-1)):
    exact for densities infinite at an end (an independent route)."""
    value, _ = integrate.quad(
        func, 1.0, 2.0, weight="alg", wvar=(a - 1, b - 1), epsabs=1e-14, epsrel=1e-12, limit=200
    )
    return value / special.beta(a, b)


def one_error(capsys, match: str) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert match in lines[0], lines[0]
    return lines[0]


# -- 1. silent wrong answers -----------------------------------------------------------------
@pytest.mark.parametrize(("a", "b"), [(0.2, 0.2), (0.01, 0.01)])
def test_flat_price_on_a_density_infinite_at_both_ends(a, b):
    urgency = {"distribution": "beta", "a": a, "b": b, "low": 1.0, "high": 2.0}
    solution = mk.solve(mk.scenario_from_dict(paper_with(urgency)), ["flat", "optimal_token_menu"])
    first_best = beta_expectation(lambda r: 1 / (2 * r + 1), a, b)
    assert solution.first_best_welfare == pytest.approx(first_best, rel=1e-10)
    flat = solution["flat price"]
    # G(r)U(inf|r) = G(r)/(2r + 1) is largest at r = 2 for these laws: everyone buys at 1/5,
    # welfare is the first best and the surplus is the first best minus the price.
    assert flat.participation == pytest.approx(1.0, abs=1e-12)
    assert flat.revenue == pytest.approx(0.2, rel=1e-12)
    assert flat.welfare == pytest.approx(first_best, rel=1e-10)
    assert flat.user_surplus == pytest.approx(first_best - 0.2, rel=1e-9)
    assert flat.user_surplus > 0


def test_per_token_price_on_a_density_infinite_at_both_ends():
    # Pay-as-you-go at p per token: type r stops at T = log(lambda/(p chi))/r (lambda = 1/2,
    # the stationary hazard), uses chi 2(1 - e^{-T/2}) tokens; revenue = p E[tokens], with the
    # expectation taken by quad's algebraic weight.
    urgency = {"distribution": "beta", "a": 0.01, "b": 0.01, "low": 1.0, "high": 2.0}
    policy = mk.solve(mk.scenario_from_dict(paper_with(urgency)), ["per_token"]).policies[0]
    p = policy.parameters["per_token"]
    quit_at = np.log(0.5 / (p * 0.125))

    def tokens(r):
        return 0.125 * 2 * (1 - np.exp(-quit_at / r / 2))

    assert policy.revenue == pytest.approx(p * beta_expectation(tokens, 0.01, 0.01), rel=1e-9)
    utility = beta_expectation(
        lambda r: (1 - np.exp(-(r + 0.5) * quit_at / r)) / (2 * r + 1), 0.01, 0.01
    )
    assert policy.welfare == pytest.approx(utility, rel=1e-9)


@pytest.mark.parametrize("count", [2, 3])
def test_speed_tiers_never_earn_less_than_the_flat_price(count):
    # The paper's example at token_rate = 1 (issue 8: 2 and 3 speed tiers earned 0.50025 against
    # the flat price's 2/3). A menu of speeds contains the flat price (one plan at full speed).
    scenario = mk.scenario_from_dict(paper_with(token_rate=1.0))
    solution = mk.solve(scenario, ["flat", "speed_tiers", "tiers"])
    flat = solution["flat price"].revenue
    # U(inf|r) = lambda/(lambda + r), lambda = chi/zeta = 4: G(r)U = 4(r-1)/(4+r) rises, so all
    # types buy at U(inf|2) = 2/3.
    assert flat == pytest.approx(2 / 3, rel=1e-12)
    tiers = mk.solve(
        mk.scenario_from_dict(
            {**paper_with(token_rate=1.0), "policies": [{"kind": "speed_tiers", "count": count}]}
        )
    ).policies[0]
    assert tiers.revenue >= flat - 1e-12


def test_truncated_normal_far_below_its_range():
    # mean -1000, sd 0.01 on [0.5, 3]: all the mass lies within ~1e-6 of 0.5, so first best is
    # U(inf|0.5) = 1/2 to O(1e-7), and no menu earns more than it.
    urgency = {"distribution": "truncnorm", "mean": -1000.0, "sd": 0.01, "low": 0.5, "high": 3.0}
    solution = mk.solve(mk.scenario_from_dict(paper_with(urgency)))
    assert solution.first_best_welfare == pytest.approx(0.5, abs=1e-6)
    for policy in solution.policies:
        assert 0 <= policy.revenue <= policy.welfare + 1e-9 <= solution.first_best_welfare + 2e-9
        caps = [row.token_cap for row in policy.rows if row.token_cap is not None]
        assert all(c >= 0 for c in caps) and all(row.price >= 0 for row in policy.rows)
    # Theorem 1's menu extracts nearly everything from a population this concentrated.
    assert solution["optimal token menu"].revenue == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"information": {**INFORMATION, "token_rate": 1e308}}, "information.token_rate"),
        (
            {
                "information": {
                    **INFORMATION,
                    "entropy": "mahalanobis",
                    "matrix": [[1e300, 0.0], [0.0, 1e300]],
                }
            },
            "information.matrix",
        ),
        (
            {"urgency": {"distribution": "beta", "a": 1e300, "b": 1.0, "low": 1.0, "high": 2.0}},
            "urgency.a = 1e+300",
        ),
        (
            {"urgency": {"distribution": "beta", "a": 1e-300, "b": 1.0, "low": 1.0, "high": 2.0}},
            "urgency.a = 1e-300",
        ),
        ({"urgency": {"distribution": "uniform", "low": 1e-300, "high": 1e300}}, "urgency"),
        ({"market": {"arrival_rate": 5e-324}}, "market.arrival_rate"),
        ({"market": {"arrival_rate": 1e308}}, "market.arrival_rate"),
        ({"name": "x" * 250}, "name"),
        ({"information": {**INFORMATION, "prior": [1e308, 1e308]}}, "information.prior[0]"),
    ],
)
def test_numbers_the_solver_cannot_deliver_are_refused(tmp_path, capsys, change, field):
    path = write(tmp_path, {**paper_with(), **change})
    assert main(["solve", str(path), "--json"]) == 2
    one_error(capsys, field)


def test_mixture_weights_that_overflow_a_sum_are_normalised(tmp_path, capsys):
    components = [
        {"distribution": "uniform", "low": 1.0, "high": 2.0, "weight": 1e308},
        {"distribution": "uniform", "low": 1.5, "high": 3.0, "weight": 1e308},
    ]
    path = write(tmp_path, paper_with({"distribution": "mixture", "components": components}))
    assert main(["solve", str(path), "--json", "--policy", "flat"]) == 0
    assert json.loads(capsys.readouterr().out)["policies"][0]["revenue"] > 0


# -- 2. tracebacks become one line -----------------------------------------------------------
def test_constant_delay_price_underflow_does_not_crash(tmp_path, capsys):
    # 5 states, Shannon, Beta(1.84, 2.50) on [2.25, 6.78], chi = 0.084 (issue 8).
    scenario = {
        "name": "underflow",
        "information": {"prior": [0.2] * 5, "entropy": "shannon", "token_rate": 0.084},
        "urgency": {"distribution": "beta", "a": 1.84, "b": 2.5, "low": 2.25, "high": 6.78},
    }
    path = write(tmp_path, scenario)
    argv = ["compare", str(path), "--users", "300", "--out", str(tmp_path / "runs"), "--json"]
    assert main([*argv, "--policy", "constant_delay", "--policy", "flat"]) == 0
    rows = json.loads(capsys.readouterr().out)["policies"]
    assert all(math.isfinite(row["expected_revenue"]) for row in rows)


def test_a_solver_failure_names_the_policy(tmp_path, capsys, monkeypatch):
    from numpy.linalg import LinAlgError

    from market import pricing

    def broken(market, name, values):
        raise LinAlgError("Singular matrix")

    monkeypatch.setitem(pricing.SOLVERS, "two_part", broken)
    assert main(["solve", str(PAPER)]) == 2
    one_error(
        capsys, "policies[3] (two_part 'two-part tariff'): the solver failed (Singular matrix)"
    )


@pytest.mark.parametrize("where", ["file", "below a file", "unwritable", "empty"])
def test_bad_out_folder(tmp_path, capsys, where):
    target = tmp_path / "a-file"
    target.write_text("x")
    out = {"file": target, "below a file": target / "runs", "empty": ""}.get(where)
    if where == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root can write anywhere")
        out = tmp_path / "locked"
        out.mkdir(mode=0o500)
    argv = ["run", str(PAPER), "--users", "10", "--policy", "flat", "--out", str(out)]
    assert main(argv) == 2
    one_error(capsys, "--out = ")


def test_too_many_users_are_refused_before_any_work(capsys):
    assert main(["run", str(PAPER), "--users", "10000000000"]) == 2
    one_error(capsys, "--users = 10000000000: ")


def test_ctrl_c_while_loading(capsys, monkeypatch):
    import market.scenario

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(market.scenario, "load_scenario", interrupted)
    assert main(["solve", str(PAPER)]) == 130
    one_error(capsys, "interrupted by SIGINT; nothing was written")


def test_no_warnings_reach_the_user(tmp_path):
    # A U-shaped beta drives numpy through overflows and divisions by zero internally.
    urgency = {"distribution": "beta", "a": 0.01, "b": 0.01, "low": 1.0, "high": 2.0}
    path = write(tmp_path, paper_with(urgency))
    proc = subprocess.run(
        [sys.executable, "-m", "market", "solve", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stderr == ""


# -- 3. nothing lost, nothing hangs ----------------------------------------------------------
def test_sigterm_leaves_nothing_behind(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "market", "run", str(PAPER), "--users", "400000",
         "--engine", "abm", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4.0)  # imports, solving and some of the simulation
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM" in err
    assert not out.exists() or list(out.iterdir()) == []


def test_stale_partial_folders_are_removed_and_reported(tmp_path, capsys):
    out = tmp_path / "runs"
    stale = out / ".case-20260101-000000.999999999-0123abcd.partial"  # no such process
    stale.mkdir(parents=True)
    (stale / "users.parquet").write_bytes(b"half a file")
    argv = ["run", str(PAPER), "--users", "10", "--policy", "flat", "--out", str(out)]
    assert main([*argv, "--engine", "vectorized"]) == 0
    assert not stale.exists()
    assert "removed 1 unfinished run folder(s)" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "big"])
def test_only_regular_files_of_sensible_size_are_read(tmp_path, capsys, target):
    if target == "fifo":
        path = tmp_path / "fifo.toml"
        os.mkfifo(path)
        expected = "not a regular file"
    elif target == "big":
        path = tmp_path / "big.toml"
        path.write_text("# " + "x" * (1 << 21))
        expected = "expected a scenario file of at most"
    else:
        path, expected = Path(target), "not a regular file"
    assert main(["solve", str(path)]) == 2
    one_error(capsys, expected)


def test_tier_count_is_bounded(tmp_path, capsys):
    path = write(tmp_path, {**paper_with(), "policies": [{"kind": "tiers", "count": 1000}]})
    assert main(["solve", str(path)]) == 2
    one_error(capsys, "count = 1000: expected an integer from 1 to 10")


def test_ten_tiers_solve(tmp_path, capsys):
    path = write(tmp_path, {**paper_with(), "policies": [{"kind": "tiers", "count": 10}]})
    assert main(["solve", str(path), "--json"]) == 0
    (policy,) = json.loads(capsys.readouterr().out)["policies"]
    # Section 3.1's optimum bounds any menu; 10 tiers get close to it.
    optimal = 0.2 * (1 - math.exp(-2.5)) + 0.5 * math.exp(-1) * special.exp1(1.5)
    assert optimal - 1e-4 < policy["revenue"] <= optimal + 1e-9


def test_one_user_has_no_interval(tmp_path, capsys):
    argv = ["run", str(PAPER), "--users", "1", "--policy", "flat", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "nan" not in out and "n/a" in out


# -- 4. scenario files people can write ------------------------------------------------------
def test_description_is_optional_and_name_defaults_to_the_stem(tmp_path):
    data = paper_with()
    del data["name"]
    scenario = mk.load_scenario(write(tmp_path, data, "my scenario.toml"))
    assert scenario.name == "my-scenario" and scenario.description == ""


def test_a_misspelt_key_is_named_with_a_suggestion(tmp_path, capsys):
    urgency = {"distrbution": "uniform", "low": 1.0, "high": 2.0}
    data = {**paper_with(urgency), "information": {**INFORMATION, "tokenrate": 0.1}}
    del data["information"]["token_rate"]
    assert main(["solve", str(write(tmp_path, data))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert any("information.tokenrate: unknown key; did you mean 'token_rate'?" in e for e in err)
    assert any("urgency.distrbution: unknown key; did you mean 'distribution'?" in e for e in err)
    assert len(err) == 2
