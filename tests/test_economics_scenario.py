"""The scenario tables of issue 10: ``[valuation]``, ``[costs]`` and ``[units]`` — what they
accept, the one-line errors of what they refuse, and the units of what the tool shows."""

import json
import math

import pytest

import market as mk
from market.cli import main
from market.scenario import ScenarioError

BASE = {
    "name": "economics",
    "information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": 0.125},
    "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
}
UNITS = {"currency": "USD", "time": "min", "tokens_per_unit": 16000.0, "value": 0.5}


def scenario(**tables):
    return mk.scenario_from_dict({**BASE, **tables})


def refused(**tables) -> str:
    with pytest.raises(ScenarioError) as err:
        scenario(**tables)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# -- what is accepted -------------------------------------------------------------------------
def test_tables_are_optional_and_default_to_the_paper():
    s = scenario()
    assert s.valuation is None and s.units is None and s.costs.per_token == 0.0


def test_a_valuation_formula_is_evaluated_not_executed():
    q = scenario(valuation={"expression": "1 + 0.5*(r - 1)"}).valuation.build()
    # q(1.5) = 1 + 0.5 * 0.5 by hand; q' = 0.5.
    assert float(q.q(1.5)) == pytest.approx(1.25, abs=1e-15)
    assert float(q.dq(1.5)) == pytest.approx(0.5, abs=1e-15)


def test_a_valuation_by_points_passes_through_them():
    q = scenario(valuation={"urgency": [1.0, 1.5, 2.0], "value": [1.0, 1.3, 1.4]}).valuation
    values = q.build().q([1.0, 1.5, 2.0])
    assert list(values) == pytest.approx([1.0, 1.3, 1.4], abs=1e-14)


# -- what is refused, in one line naming the field ----------------------------------------------
@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ({"valuation": {"expression": "1 +"}}, r"^<dict>: valuation\.expression = '1 \+': "),
        (
            {"valuation": {"expression": "__import__('os').system('true')"}},
            r"^<dict>: valuation\.expression = .*unexpected character",
        ),
        (
            {"valuation": {"expression": "1 - r"}},
            r"valuation\.expression = '1 - r': q\(r\) = 0 at r = 1: expected a positive",
        ),
        (
            {"valuation": {"expression": "log(r - 1.5)"}},
            r"valuation\.expression = 'log\(r - 1\.5\)': q\(r\) = nan at r = 1",
        ),
        (
            {"valuation": {"urgency": [1.0, 1.5], "value": [1.0, 2.0]}},
            r"valuation\.urgency = \[1, 1\.5\]: the points must cover the urgency range \[1, 2\]",
        ),
        ({"valuation": {"urgency": [1.0, 2.0]}}, r"valuation\.value: missing"),
        ({"valuation": {}}, r"valuation: expected expression"),
        ({"valuation": {"expression": "r", "value": [1.0]}}, r"not both"),
        ({"costs": {"per_token": -0.1}}, r"costs\.per_token = -0\.1: expected a number >= 0"),
        ({"costs": {"per_tokn": 0.1}}, r"costs\.per_tokn: unknown key; did you mean 'per_token'"),
        ({"units": {**UNITS, "time": "day"}}, r"units\.time = 'day': expected 's', 'min' or 'h'"),
        ({"units": {**UNITS, "value": 0.0}}, r"units\.value = 0\.0: expected a number >= 1e-12"),
        (
            {"units": {k: v for k, v in UNITS.items() if k != "tokens_per_unit"}},
            r"units\.tokens_per_unit: missing",
        ),
    ],
)
def test_bad_tables_are_one_line_naming_the_field(tables, expected):
    import re

    assert re.search(expected, refused(**tables)), refused(**tables)


def test_a_valuation_with_a_congestion_priced_menu_is_refused():
    message = refused(
        valuation={"expression": "r"},
        market={"capacity": 1.0, "anticipate": True},
        platform={"anticipate_congestion": True},
    )
    assert "platform.anticipate_congestion = true: not supported with a [valuation]" in message


# -- units ------------------------------------------------------------------------------------
def test_units_convert_what_solve_shows(capsys):
    s = scenario(units=UNITS, policies=[{"kind": "flat"}])
    solution = mk.solve(s)
    flat = solution["flat price"]
    # The paper's flat price is 0.2 in model units (every type buys, Section 3.1): 0.1 USD.
    assert flat.revenue == pytest.approx(0.2, rel=1e-9)
    record = solution.to_dict()
    assert record["units"] == UNITS
    (policy,) = record["policies"]
    assert policy["in_units"]["revenue"] == pytest.approx(0.1, rel=1e-9)
    # E[tokens] = chi E[tau] = 0.125 * 2 model tokens = 0.25 * 16000 real tokens.
    assert policy["in_units"]["tokens_per_user"] == pytest.approx(4000.0, rel=1e-9)
    assert policy["in_units"]["plans"][0]["price"] == pytest.approx(0.1, rel=1e-9)
    assert policy["in_units"]["plans"][0]["token_cap"] is None  # unlimited
    frame = solution.to_frame(in_units=True)
    assert frame.loc[0, "revenue"] == pytest.approx(0.1, rel=1e-9)
    assert frame.attrs["units"]["currency"] == "USD"


def test_to_frame_in_units_needs_units():
    with pytest.raises(ValueError, match=r"in_units = True: the scenario has no \[units\] table"):
        mk.solve(scenario(policies=[{"kind": "flat"}])).to_frame(in_units=True)


def test_the_solve_table_shows_the_currency(tmp_path, capsys):
    path = tmp_path / "units.toml"
    path.write_text(
        'name = "u"\n[information]\nprior = [0.5, 0.5]\nentropy = "quadratic"\n'
        'token_rate = 0.125\n[urgency]\ndistribution = "uniform"\nlow = 1.0\nhigh = 2.0\n'
        '[units]\ncurrency = "EUR"\ntime = "min"\ntokens_per_unit = 1000\nvalue = 2.0\n'
        '[[policies]]\nkind = "flat"\n'
    )
    assert main(["solve", str(path)]) == 0
    out = capsys.readouterr().out
    assert "revenue (EUR)" in out and "units: money in EUR" in out
    # 0.2 model units x 2 EUR = 0.4 EUR; E[tau] = 2 min.
    assert " 0.4 " in out and "E[tau] = 2 min" in out
    assert main(["solve", str(path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["policies"][0]["in_units"]["revenue"] == pytest.approx(0.4, rel=1e-9)
    assert math.isfinite(record["first_best_welfare"])


def test_run_folders_carry_units_and_figures_label_them(tmp_path):
    from market import plots

    s = scenario(units=UNITS, policies=[{"kind": "flat"}, {"kind": "optimal_token_menu"}])
    run_dir = mk.simulate(s, users=300, seed=1).save(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["units"] == UNITS
    run = plots.load_run(run_dir)
    assert run.units.value == 0.5 and run.units.currency == "USD"
    fig = plots.draw_menus(run)
    # The payments are in model units, so the axis says what one unit is worth.
    assert "units of 0.5 USD" in fig.axes[0].get_ylabel()
    assert "units of 16,000 tokens" in fig.axes[0].get_xlabel()


def test_compare_in_units():
    s = scenario(units=UNITS, policies=[{"kind": "flat"}])
    plain = mk.compare(s, users=200, seed=3)
    real = mk.compare(s, users=200, seed=3, in_units=True)
    # Money times the task's worth (0.5 USD), tokens times 16,000.
    assert real.loc[0, "expected_revenue"] == pytest.approx(0.5 * plain.loc[0, "expected_revenue"])
    assert real.loc[0, "tokens_per_user"] == pytest.approx(16000 * plain.loc[0, "tokens_per_user"])
    assert real.attrs["units"]["currency"] == "USD"


@pytest.mark.parametrize(
    "extra", [{"valuation": {"expression": "r"}}, {"costs": {"per_token": 0.1}}]
)
def test_a_learning_platform_with_valuations_or_costs_is_refused(extra):
    learning = {"family": "beta", "periods": 2, "users_per_period": 100}
    message = refused(platform={"learning": learning}, **extra)
    assert "platform.learning: not supported with a [valuation] or a [costs] table" in message
