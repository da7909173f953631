"""The ``market`` command line: errors are one line on stderr; ``solve`` prints a table or JSON."""

import json
import math
import subprocess
import sys
import types
from pathlib import Path

import pytest

from market.cli import COMMANDS, main
from market.results import MenuRow, PolicySolution, Solution

PAPER_EXAMPLE = Path(__file__).parent.parent / "scenarios" / "paper_example.toml"


def bad_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    text = PAPER_EXAMPLE.read_text(encoding="utf-8").replace("0.125", "-1")
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_error_line(captured, match: str) -> None:
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert match in lines[0]


# -- errors -----------------------------------------------------------------------------------


def test_bad_scenario_is_one_line_and_status_2(tmp_path, capsys):
    path = bad_scenario(tmp_path)
    assert main(["solve", str(path)]) == 2
    assert_one_error_line(
        capsys.readouterr(), f"{path}: information.token_rate = -1: expected a number > 0"
    )


def test_missing_file(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "none.toml")]) == 2
    assert_one_error_line(capsys.readouterr(), "none.toml: file not found")


def test_bad_scenario_through_python_m(tmp_path):
    path = bad_scenario(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "market.cli", "solve", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"error: {path}: information.token_rate = -1: expected a number > 0"
    ]


def test_solver_error_names_the_scenario(monkeypatch, capsys):
    def solve(scenario):
        raise ValueError("rate of state 2 is -0.1: expected > 0\n(Assumption 1(iii))")

    install_solver(monkeypatch, solve)
    assert main(["solve", str(PAPER_EXAMPLE)]) == 2
    assert_one_error_line(
        capsys.readouterr(),
        f"{PAPER_EXAMPLE}: rate of state 2 is -0.1: expected > 0 (Assumption 1(iii))",
    )


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(ValueError, match="token_rate"):
        main(["--traceback", "solve", str(bad_scenario(tmp_path))])


def test_usage_errors_return_2(capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["solve"]) == 2
    assert capsys.readouterr().out == ""


def test_help_returns_0(capsys):
    assert main(["--help"]) == 0
    assert "solve" in capsys.readouterr().out


def test_commands_are_a_registry():
    add_arguments, handler = COMMANDS["solve"]
    assert callable(add_arguments) and callable(handler)


# -- output of solve, with a stand-in solver --------------------------------------------------


def install_solver(monkeypatch, solve) -> None:
    module = types.ModuleType("market.solve")
    module.solve = solve
    monkeypatch.setitem(sys.modules, "market.solve", module)


def hand_made_solution() -> Solution:
    menu = tuple(
        MenuRow(urgency=1 + i / 200, token_cap=None if i == 200 else 0.125 * i, price=0.1 + i)
        for i in range(201)
    )
    unserved = (MenuRow(urgency=1.0, token_cap=None, price=0.0, served=False),)
    return Solution(
        scenario="hand-made",
        switch_times=(0.0, 1.2345678901),
        stationary_rate=0.5,
        expected_time=2.0,
        first_best_welfare=0.25,
        policies=(
            PolicySolution("opt", "token-cap", 0.2, 0.03, 0.23, menu),
            PolicySolution("none", "nothing", 0.0, 0.0, 0.0, unserved),
        ),
    )


def test_table_output(monkeypatch, capsys):
    install_solver(monkeypatch, lambda scenario: hand_made_solution())
    assert main(["solve", str(PAPER_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("policy"))
    for column in ("kind", "revenue", "user surplus", "welfare", "share of first-best"):
        assert column in header
    opt = next(line for line in lines if line.startswith("opt "))
    assert opt.split() == ["opt", "token-cap", "0.2", "0.03", "0.23", "0.92"]  # 0.23 / 0.25
    assert "first-best welfare: 0.25" in out
    assert "switch times [0, 1.234568]" in out  # 7 significant digits
    assert "stationary rate 0.5" in out and "E[tau] = 2" in out
    assert "menu of opt (9 of 201 rows):" in out
    menu = lines[lines.index("menu of opt (9 of 201 rows):") + 1 :][:10]
    assert menu[0].split() == ["urgency", "token", "cap", "price"]
    assert menu[1].split() == ["1", "0", "0.1"]  # first row of the menu
    assert menu[-1].split() == ["2", "unlimited", "200.1"]  # last row: no cap
    assert "not served" in out


def test_json_output(monkeypatch, capsys):
    install_solver(monkeypatch, lambda scenario: hand_made_solution())
    assert main(["solve", str(PAPER_EXAMPLE), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == hand_made_solution().to_dict()


# -- with the real solver (market/solve.py) ---------------------------------------------------


def paper_optimal_revenue() -> float:
    """Optimal revenue of Section 3.1: 0.2(1 − e^{-2.5}) + 0.5 e^{-1} E₁(1.5) (NOTES.md, item 4)."""
    from scipy.special import exp1

    return 0.2 * (1 - math.exp(-2.5)) + 0.5 * math.exp(-1) * exp1(1.5)


def test_paper_revenue_closed_form():
    assert paper_optimal_revenue() == pytest.approx(0.2019806, abs=5e-8)  # NOTES.md, item 4


def test_paper_example_json():
    pytest.importorskip("market.solve")
    proc = subprocess.run(
        [sys.executable, "-m", "market.cli", "solve", str(PAPER_EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"scenario", "model", "first_best_welfare", "policies"}
    assert data["scenario"] == "paper-example"
    assert set(data["model"]) == {"switch_times", "stationary_rate", "expected_time"}
    # Section 3.1 / NOTES.md: total breakthrough rate ½ and E[τ] = (½ − ¼) / ⅛ = 2.
    assert data["model"]["stationary_rate"] == pytest.approx(0.5, abs=1e-9)
    assert data["model"]["expected_time"] == pytest.approx(2.0, abs=1e-9)
    for policy in data["policies"]:
        assert {"name", "kind", "revenue", "user_surplus", "welfare", "menu"} <= set(policy)
    # The optimal menu earns the most of all policies.
    best = max(p["revenue"] for p in data["policies"])
    assert best == pytest.approx(paper_optimal_revenue(), abs=1e-9)


def test_paper_example_table(capsys):
    pytest.importorskip("market.solve")
    assert main(["solve", str(PAPER_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "share of first-best" in out and "first-best welfare" in out
    assert f"{paper_optimal_revenue():.7g}" in out  # 0.2019806
