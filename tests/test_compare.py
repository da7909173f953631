"""``market compare``: every policy solved and simulated on one population."""

import json
import re
from pathlib import Path

import pytest

from market.cli import main
from market.io import runfolder

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
PAPER = ROOT / "scenarios" / "paper_example.toml"


@pytest.fixture(autouse=True)
def no_git(monkeypatch):
    monkeypatch.setattr(runfolder, "git_revision", lambda: "0" * 40)


def _compare(capsys, scenario, tmp_path, *extra):
    status = main(
        ["compare", str(scenario), "--users", "400", "--out", str(tmp_path), "--json", *extra]
    )
    out, err = capsys.readouterr()
    return status, out, err


def test_paper_example_compare(tmp_path, capsys):
    status, out, err = _compare(capsys, PAPER, tmp_path)
    assert status == 0, err
    result = json.loads(out)
    rows = result["policies"]
    keys = {
        "name", "kind", "parameters", "expected_revenue", "revenue_per_user", "revenue_se",
        "expected_user_surplus", "expected_welfare", "participation", "tokens_per_user",
    }  # fmt: skip
    assert all(keys <= set(row) for row in rows)
    kinds = {row["kind"] for row in rows}
    assert {"optimal_token_menu", "flat", "per_token", "two_part", "tiers"} <= kinds
    assert {"speed_tiers", "constant_delay", "diffusion"} <= kinds
    # Sorted by expected revenue, and nothing beats Theorem 1's menu (beyond 1e-9).
    revenues = [row["expected_revenue"] for row in rows]
    assert revenues == sorted(revenues, reverse=True)
    assert rows[0]["kind"] == "optimal_token_menu"
    # Closed forms (docs/paper-notes.md erratum 4): optimal 0.2019806, flat 1/5 (G(r)U(inf|r) =
    # (r-1)/(2r+1) increases, so sell to all at U(inf|2) = 1/5).
    by_name = {row["name"]: row for row in rows}
    assert by_name["optimal token menu"]["expected_revenue"] == pytest.approx(0.2019806, abs=1e-7)
    assert by_name["flat price"]["expected_revenue"] == pytest.approx(0.2, rel=1e-9)
    assert result["first_best_welfare"] == pytest.approx(0.2554128119, rel=1e-9)
    run_dir = Path(result["run_dir"])
    saved = json.loads((run_dir / "compare.json").read_text())
    assert saved["policies"] == rows
    for name in ("users.parquet", "summary.json", "menus.parquet", "metadata.json"):
        assert (run_dir / name).is_file()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_compares(path, tmp_path, capsys):
    status, out, err = _compare(capsys, path, tmp_path)
    assert status == 0, err
    rows = json.loads(out)["policies"]
    best = max(row["expected_revenue"] for row in rows)
    optimal = [row for row in rows if row["kind"] == "optimal_token_menu"]
    assert optimal and optimal[0]["expected_revenue"] >= best - 1e-9


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('kind = "flat"\nname = "f"\nprice = -1.0', r"policies\[0\].*price"),
        ('kind = "tiers"\nname = "t"\ncount = 0', r"policies\[0\].*count"),
        ('kind = "speed_tiers"\nname = "s"\ncount = 2\nspeeds = [1.0, 1.5]', r"speeds"),
        ('kind = "barter"\nname = "b"', r"policies\[0\].*kind"),
        (
            'kind = "custom"\nname = "c"\nplans = [{name = "a", price = 1.0}, '
            '{name = "a", price = 2.0}]',
            r"policies\[0\].*plans",
        ),
    ],
)
def test_bad_policy_is_one_line_and_no_run_folder(tmp_path, capsys, policy, message):
    text = PAPER.read_text() + "\n[[policies]]\n" + policy + "\n"
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    out_dir = tmp_path / "runs"
    status, out, err = _compare(capsys, bad, out_dir)
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert not out_dir.exists() or not any(out_dir.iterdir())
