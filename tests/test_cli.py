"""The ``market`` command line: errors are one line on stderr; ``solve`` prints a table or JSON."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from market.cli import COMMANDS, main

ROOT = Path(__file__).parent.parent
PAPER_EXAMPLE = ROOT / "scenarios" / "paper_example.toml"


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


def paper_optimal_revenue() -> float:
    """Section 3.1: 0.2(1 − e^{-2.5}) + 0.5 e^{-1} E₁(1.5) (docs/paper-notes.md, erratum 4)."""
    from scipy.special import exp1

    return 0.2 * (1 - math.exp(-2.5)) + 0.5 * math.exp(-1) * exp1(1.5)


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


def test_every_problem_of_a_file_is_listed(tmp_path, capsys):
    path = tmp_path / "two.toml"
    text = PAPER_EXAMPLE.read_text(encoding="utf-8").replace("0.125", "-1").replace("2.0", '"x"')
    path.write_text(text, encoding="utf-8")
    assert main(["solve", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"error: {path}: ") for line in lines)
    assert "information.token_rate = -1" in lines[0] and "urgency.high = 'x'" in lines[1]


def test_unknown_policy_option(capsys):
    assert main(["solve", str(PAPER_EXAMPLE), "--policy", "barter"]) == 2
    assert_one_error_line(capsys.readouterr(), "--policy = barter: unknown policy; available: ")


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
    assert set(COMMANDS) >= {"solve", "run", "compare", "plot"}
    for module, summary in COMMANDS.values():
        assert module.startswith("market.cli.") and summary


# -- solve on the paper's example ---------------------------------------------------------------


def test_paper_example_json():
    proc = subprocess.run(
        [sys.executable, "-m", "market.cli", "solve", str(PAPER_EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"scenario", "model", "first_best_welfare", "policies", "unavailable"}
    assert data["scenario"] == "paper-example" and data["unavailable"] == []
    # Section 3.1 / docs/paper-notes.md: total breakthrough rate ½ and E[τ] = (½ − ¼) / ⅛ = 2.
    assert data["model"]["stationary_rate"] == pytest.approx(0.5, abs=1e-9)
    assert data["model"]["expected_time"] == pytest.approx(2.0, abs=1e-9)
    names = [p["name"] for p in data["policies"]]
    assert names[0] == "optimal token menu" and "diffusion menu" in names and len(names) == 9
    for policy in data["policies"]:
        keys = {"name", "kind", "revenue", "user_surplus", "welfare", "menu", "pooled"}
        assert keys <= set(policy)
    best = max(p["revenue"] for p in data["policies"])
    assert best == pytest.approx(paper_optimal_revenue(), abs=1e-9)
    # First best ½ log(5/3) (∫_1^2 dr/(2r + 1)).
    assert data["first_best_welfare"] == pytest.approx(0.5 * math.log(5 / 3), rel=1e-12)


def test_paper_example_table(capsys):
    assert main(["solve", str(PAPER_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("policy"))
    for column in ("kind", "revenue", "user surplus", "welfare", "of first best"):
        assert column in header
    assert "first-best welfare: 0.2554128" in out  # ½ log(5/3)
    assert f"{paper_optimal_revenue():.7g}" in out  # 0.2019806
    assert "optimal token menu: schedule (9 of 201 sampled types)" in out
    assert "flat price: plans" in out


def test_pooled_types_are_reported(capsys):
    # The bimodal population's log G is not concave: the optimal menu pools an interval.
    path = ROOT / "scenarios" / "bimodal_population.toml"
    assert main(["solve", str(path), "--policy", "optimal token menu", "--json"]) == 0
    (policy,) = json.loads(capsys.readouterr().out)["policies"]
    assert len(policy["pooled"]) >= 1
    for r_from, r_to, cap in policy["pooled"]:
        assert r_from < r_to and cap > 0
    assert main(["solve", str(path), "--policy", "optimal_token_menu"]) == 0
    assert "pooled: urgencies [" in capsys.readouterr().out


def test_policy_that_does_not_apply_is_listed(capsys):
    path = ROOT / "scenarios" / "three_state_shannon.toml"
    assert main(["solve", str(path), "--policy", "diffusion", "--policy", "flat"]) == 0
    out = capsys.readouterr().out
    assert "diffusion menu (diffusion): not applicable: needs 2 states (the prior has 3)" in out
    assert main(["solve", str(path), "--policy", "diffusion", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["policies"] == []
    assert data["unavailable"] == [
        {
            "name": "diffusion menu",
            "kind": "diffusion",
            "reason": "needs 2 states (the prior has 3)",
        }
    ]


def test_solve_loads_nothing_heavy():
    # `market solve` imports neither Mesa, SimPy, matplotlib, seaborn, pyarrow nor pandas.
    code = (
        "import sys, io, contextlib\n"
        "from market.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['solve', {str(PAPER_EXAMPLE)!r}]) == 0\n"
        "heavy = ('mesa', 'simpy', 'matplotlib', 'seaborn', 'pyarrow', 'pandas', 'dask')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_import_market_is_light():
    code = "import sys, market; print(sorted(m for m in sys.modules if m.startswith(('scipy', 'mesa', 'pandas', 'pyarrow', 'matplotlib'))))"  # noqa: E501
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
