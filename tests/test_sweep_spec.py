"""Sweep files: the schema, field paths, designs, and every point validated before any work.

Nothing here starts Dask or solves a policy: these are the checks a sweep passes before it
runs. A problem is one line naming the file, the point, the axis and the field; the command
exits 2 and writes nothing.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from market.cli import main
from market.sweep import SweepError, load_sweep
from market.sweep.design import DESIGN_SPAWN_KEY, unit_sample
from market.sweep.fields import FieldError, field_text, parse_field, with_value
from market.sweep.plan import sweep_from_dict
from market.sweep.spec import MAX_POINTS
from market.sweep.tasks import task_seed

ROOT = Path(__file__).resolve().parents[1]
PAPER_EXAMPLE = ROOT / "scenarios" / "paper_example.toml"
LIBRARY = ROOT / "scenarios" / "sweeps"


def plan(**fields):
    data = {"scenario": str(PAPER_EXAMPLE), "axes": [{"field": "urgency.high", "values": [2.0]}]}
    data.update(fields)
    return sweep_from_dict(data, "s.toml")


def problems(**fields) -> list[str]:
    with pytest.raises(SweepError) as info:
        plan(**fields).check()
    return list(info.value.problems)


# -- field paths ------------------------------------------------------------------------------


def test_field_paths_round_trip():
    path = parse_field("urgency.components[0].weight")
    assert path == ("urgency", "components", 0, "weight")
    assert field_text(path) == "urgency.components[0].weight"


@pytest.mark.parametrize("text", ["", "urgency..high", ".urgency", "urgency.", "a[x]", "1abc"])
def test_malformed_field_paths(text):
    with pytest.raises(FieldError, match="expected a dotted path"):
        parse_field(text)


def test_with_value_copies_only_the_path():
    base = {"urgency": {"low": 1.0, "high": 2.0}, "information": {"prior": [0.5, 0.5]}}
    new = with_value(base, ("urgency", "high"), 3.0)
    assert new["urgency"]["high"] == 3.0 and base["urgency"]["high"] == 2.0
    assert new["information"] is base["information"]  # untouched tables are shared
    assert with_value(base, ("market", "users"), 5)["market"] == {"users": 5}  # created


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("urgency", "high", "x"), "urgency.high is a number (2.0), not a table"),
        (("information", "prior", 5), "information.prior has 2 item(s); index 5 is out of range"),
        (("policies", 0, "count"), "policies is missing (no list to index)"),
    ],
)
def test_with_value_names_what_does_not_fit(path, message):
    base = {"urgency": {"low": 1.0, "high": 2.0}, "information": {"prior": [0.5, 0.5]}}
    with pytest.raises(FieldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        with_value(base, path, 1)


# -- the schema -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"design": "random"}, "s.toml: design = 'random': expected 'grid', 'lhs' or 'sobol'"),
        ({"desing": "grid"}, "s.toml: desing: unknown key; did you mean 'design'?"),
        ({"replications": 0}, "s.toml: replications = 0: expected an integer from 1 to 10000"),
        ({"replications": 2}, "replications = 2: expected 1 without [simulate]"),
        ({"seed": -1}, "s.toml: seed = -1: expected an integer from 0"),
        ({"scenario": 3}, "s.toml: scenario = 3: expected a scenario file"),
        ({"policies": "flat"}, "s.toml: policies = 'flat': expected a list"),
        ({"policies": []}, "s.toml: policies = []: expected at least one policy"),
        ({"axes": []}, "s.toml: axes: expected at least one [[axes]] table"),
        ({"samples": 8}, "s.toml: samples = 8: expected no samples with design = 'grid'"),
        ({"design": "lhs"}, "s.toml: samples: missing (required with design = 'lhs')"),
        ({"simulate": {"engin": "abm"}}, "s.toml: simulate.engin: unknown key; did you mean"),
        ({"simulate": {"users": 0}}, "s.toml: simulate.users = 0: expected an integer from 1"),
        ({"simulate": {"engine": "fast"}}, "s.toml: simulate.engine = 'fast': expected"),
        ({"axes": [{"field": "urgency..high", "values": [1]}]}, "axes[0].field = 'urgency..high'"),
        ({"axes": [{"field": 3, "values": [1]}]}, "s.toml: axes[0].field = 3: expected a string"),
        ({"axes": [{"field": "urgency.high"}]}, "axes[0]: expected either values = [...] or range"),
        ({"axes": [{"field": "urgency.high", "values": []}]}, "axes[0].values = []: expected"),
        ({"axes": [{"field": "urgency.high", "values": [2, 2.0]}]}, "values[1] = 2.0: expected"),
        ({"axes": [{"field": "urgency.high", "values": [math.nan]}]}, "values[0] = nan: expected"),
        ({"axes": [{"field": "urgency.high", "values": [1], "rnge": 1}]}, "did you mean 'range'"),
        ({"axes": [{"field": "seed", "values": [1, 2]}]}, "axes[0].field = 'seed': the seeds"),
        (
            {
                "axes": [
                    {
                        "field": "urgency.high",
                        "range": {"start": 0, "stop": 2, "num": 3, "scale": "log"},
                    }
                ]
            },
            "axes[0].range.start = 0.0: expected a number > 0 (scale = 'log')",
        ),
        (
            {"axes": [{"field": "urgency.high", "range": {"start": 1, "stop": 2}}]},
            "axes[0].range.num: missing (required with design = 'grid')",
        ),
        (
            {
                "axes": [
                    {"field": "urgency.high", "range": {"start": 1, "stop": math.inf, "num": 2}}
                ]
            },
            "axes[0].range.stop = inf: expected a finite number",
        ),
        (
            {
                "design": "sobol",
                "samples": 4,
                "axes": [{"field": "urgency.high", "range": {"start": 1, "stop": 2, "num": 3}}],
            },
            "axes[0].range.num = 3: expected no num with design = 'sobol'",
        ),
        (
            {
                "axes": [
                    {"field": "urgency.high", "values": [2.0]},
                    {"field": "urgency.high", "values": [3.0]},
                ]
            },
            "axes[1].field = 'urgency.high': expected a field no other axis sets (axes[0] sets "
            "'urgency.high')",
        ),
        ({"design": "lhs", "samples": 0}, "s.toml: samples = 0: expected an integer from 1 to"),
        ({"design": "sobol", "samples": -4}, "s.toml: samples = -4: expected an integer from 1"),
        (
            {
                "axes": [
                    {"field": "urgency", "values": [{}]},
                    {"field": "urgency.high", "values": [2]},
                ]
            },
            "axes[1].field = 'urgency.high': expected a field no other axis sets (axes[0] sets",
        ),
    ],
)
def test_schema_problems_name_the_field(fields, message):
    with pytest.raises(SweepError) as info:
        plan(**fields)
    assert any(message in line for line in info.value.problems), info.value.problems


def test_a_huge_grid_is_refused_before_any_value_is_made():
    axes = [{"field": f"x{i}", "range": {"start": 1, "stop": 2, "num": 1000}} for i in range(3)]
    with pytest.raises(
        SweepError, match=f"1000 x 1000 x 1000 = 1000000000 points; expected at most {MAX_POINTS}"
    ):
        plan(axes=axes)


def test_integer_ranges_must_not_repeat():
    axis = {"field": "market.users", "range": {"start": 1, "stop": 3, "num": 5, "integer": True}}
    with pytest.raises(SweepError, match=r"axes\[0\]\.range\.integer = true: the 5 values round"):
        plan(axes=[axis])


# -- every point validated, naming the point, the axis and the field -------------------------


def test_a_value_the_schema_refuses_names_point_axis_and_field():
    lines = problems(axes=[{"field": "urgency.high", "values": [3.0, 0.5, 4.0]}])
    assert lines == [
        "s.toml: point 1 (urgency.high = 0.5), axes[0] (urgency.high): urgency.low = 1.0: "
        "expected low < high = 0.5"
    ]


def test_a_misspelt_field_is_one_line_for_all_points():
    axes = [
        {"field": "urgency.hihg", "values": [1.5, 2.0]},
        {"field": "information.token_rate", "values": [0.125, 0.25]},
    ]
    (line,) = problems(axes=axes)
    assert line == (
        "s.toml: point 0 (urgency.hihg = 1.5, information.token_rate = 0.125) (and 3 more "
        "points), axes[0] (urgency.hihg): urgency.hihg: unknown key; did you mean 'high'?"
    )


def test_a_path_through_a_number_names_the_axis():
    (line,) = problems(axes=[{"field": "information.token_rate.x", "values": [1]}])
    assert "axes[0] (information.token_rate.x): information.token_rate.x: information." in line
    assert "is a number (0.125), not a table" in line


def test_time_scales_the_solver_cannot_resolve_name_the_axis():
    lines = problems(axes=[{"field": "information.token_rate", "values": [0.125, 1e-9]}])
    (line,) = lines
    assert line.startswith("s.toml: point 1 (information.token_rate = 1e-09), ")
    assert "axes[0] (information.token_rate): information.token_rate, urgency: the expected" in line


def test_sweep_wide_problems_are_reported_once():
    lines = problems(
        policies=["optimal_token_menu", "tiers"],
        baseline="tiers",
        axes=[{"field": "urgency.high", "values": [0.5, 2.0, 3.0]}],
        simulate={"users": 10**9},
    )
    assert lines[0] == (
        "s.toml: baseline = 'tiers': 2 policies of this kind ('2 tiers', '3 tiers'); "
        "expected one policy's name"
    )
    assert lines[1].startswith("s.toml: simulate.users = 1000000000: 1000000000 users x 3")
    assert lines[2].startswith("s.toml: point 0 (urgency.high = 0.5), axes[0] (urgency.high)")
    assert len(lines) == 3


def test_unknown_policy_lists_the_available_ones():
    (line,) = problems(policies=["flatt"])
    assert line.startswith("s.toml: policies = flatt: unknown policy; available: ")


def test_an_axis_over_policies_is_checked_at_each_point():
    values = [[{"kind": "flat"}], [{"kind": "tiers", "count": 99}]]
    lines = problems(axes=[{"field": "policies", "values": values}])
    assert len(lines) == 1 and lines[0].startswith("s.toml: point 1 (policies = [{kind = 'tiers'")
    assert "axes[0] (policies): policies[0]" in lines[0]


def test_problems_are_capped():
    lines = problems(
        axes=[
            {"field": "urgency.high", "values": [0.1 * k for k in range(1, 10)]},
            {"field": "information.token_rate", "values": [-1.0, -2.0]},
        ]
    )
    assert len(lines) == 10 and lines[-1].startswith("... and ")


def test_the_command_exits_2_and_writes_nothing(tmp_path, capsys):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(
        f'scenario = "{PAPER_EXAMPLE}"\n[[axes]]\nfield = "urgency.high"\nvalues = [0.5]\n'
    )
    out = tmp_path / "runs"
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"error: {sweep}: point 0 (urgency.high = 0.5), axes[0] (urgency.high): urgency.low "
        "= 1.0: expected low < high = 0.5"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "-1"], "--workers = -1: expected an integer from 0 to "),
        (["--chunk", "0"], "--chunk = 0: expected an integer >= 1"),
        (["--workers", "2", "--scheduler", "tcp://x:1"], "--workers = 2: not with --scheduler"),
        (["--resume", "/nonexistent"], "--out = "),
        ([], "SWEEP: missing: expected a sweep file"),
    ],
)
def test_bad_options(tmp_path, capsys, argv, message):
    sweep = [] if not argv or argv[0] == "--resume" else [str(LIBRARY / "urgency_spread.toml")]
    if argv and argv[0] == "--resume":
        argv = [*argv, "--out", str(tmp_path)]
    assert main(["sweep", *sweep, *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {message}"), captured.err


def test_resume_needs_a_sweep_folder(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path)]) == 2
    assert f"--resume = {tmp_path}: not a sweep folder" in capsys.readouterr().err


def test_missing_and_malformed_files(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("axes = [")
    assert main(["sweep", str(bad)]) == 2
    assert f"error: {bad}: invalid TOML" in capsys.readouterr().err
    ref = tmp_path / "ref.toml"
    ref.write_text('scenario = "missing.toml"\n[[axes]]\nfield = "urgency.high"\nvalues = [2]\n')
    assert main(["sweep", str(ref)]) == 2
    assert f"{tmp_path / 'missing.toml'}: file not found" in capsys.readouterr().err


# -- designs ----------------------------------------------------------------------------------


def test_grid_order_first_axis_slowest():
    p = plan(
        axes=[
            {"field": "urgency.high", "values": [2.0, 3.0]},
            {
                "field": "information.token_rate",
                "range": {"start": 0.0625, "stop": 0.25, "num": 3, "scale": "log"},
            },
        ]
    )
    assert p.points == 6
    assert list(p.columns[0]) == [2.0, 2.0, 2.0, 3.0, 3.0, 3.0]
    assert list(p.columns[1]) == [0.0625, 0.125, 0.25] * 2  # geomspace: exact ends and middle
    assert p.scenario(4)["information"]["token_rate"] == 0.125
    assert p.scenario(4)["urgency"]["high"] == 3.0
    assert p.base["urgency"]["high"] == 2.0  # the base is not changed


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_sampled_designs_are_stratified_reproducible_and_in_range(design):
    axes = [
        {"field": "urgency.high", "range": {"start": 1.5, "stop": 6.0, "scale": "log"}},
        {"field": "information.token_rate", "range": {"start": 0.05, "stop": 0.5}},
        {"field": "information.entropy", "values": ["quadratic", "shannon"]},
    ]
    a = plan(design=design, samples=16, seed=7, axes=axes)
    b = plan(design=design, samples=16, seed=7, axes=axes)
    c = plan(design=design, samples=16, seed=8, axes=axes)
    assert a.columns == b.columns and a.columns != c.columns
    high = np.array(a.columns[0])
    assert np.all((high >= 1.5) & (high <= 6.0))
    # One point in each of the 16 equal strata of each unit coordinate (Latin hypercube;
    # a scrambled Sobol' net of 16 = 2^4 points has the same property, Owen 1998).
    u = np.log(high / 1.5) / np.log(6.0 / 1.5)
    assert sorted(np.floor(u * 16).astype(int)) == list(range(16))
    assert set(a.columns[2]) == {"quadratic", "shannon"}
    assert a.columns[2].count("quadratic") == 8


def test_the_design_stream_is_not_a_task_stream():
    units = unit_sample("lhs", 4, 1, 5)
    rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=DESIGN_SPAWN_KEY))
    from scipy.stats import qmc

    np.testing.assert_array_equal(units, qmc.LatinHypercube(1, rng=rng).random(4))
    assert len(DESIGN_SPAWN_KEY) == 1  # task keys have two numbers (point, replication)


def test_task_seeds_come_from_spawn_keys():
    seq = np.random.SeedSequence(20251012, spawn_key=(3, 1))
    assert task_seed(20251012, 3, 1) == int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1))
    seeds = {task_seed(1, p, r) for p in range(50) for r in range(4)}
    assert len(seeds) == 200 and all(0 <= s < 2**63 for s in seeds)


def test_a_task_is_plain_data():
    import pickle

    p = plan(simulate={"users": 100}, replications=2)
    task = p.task(0, 1)
    assert pickle.loads(pickle.dumps(task)) == task
    assert task.scenario["urgency"]["high"] == 2.0 and task.users == 100
    assert task.seed == task_seed(p.seed, 0, 1) and p.seed == 20251012  # the scenario's


def test_the_library_sweep_is_valid():
    p = load_sweep(LIBRARY / "urgency_spread.toml")
    p.check()
    assert p.name == "urgency-spread" and p.axes[0].field == "urgency.high"
    assert p.simulated and p.replications >= 2


def test_an_inline_scenario_is_validated_as_a_file(tmp_path):
    inline = {"information": {"prior": [0.5, 0.5], "entropy": "quadratic", "token_rate": -1.0},
              "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0}}  # fmt: skip
    with pytest.raises(ValueError) as info:
        plan(scenario=inline)
    assert (
        str(info.value) == "s.toml: scenario: information.token_rate = -1.0: expected a number > 0"
    )
    inline["information"]["token_rate"] = 0.125
    p = plan(scenario=inline)
    assert p.name == "sweep" and p.base["information"]["token_rate"] == 0.125


def test_one_process_at_a_time_in_a_folder(tmp_path, capsys):
    from market.sweep.folder import SweepFolder

    p = plan()
    folder = SweepFolder.create(tmp_path, p, {"fingerprint": p.fingerprint(), "name": p.name})
    with folder.locked():
        assert main(["sweep", "--resume", str(folder.path), "--workers", "0"]) == 2
    assert "another market sweep is running in this folder" in capsys.readouterr().err


# -- the scenario's optional tables (issue 10): axes reach them by their dotted paths ----------


def test_axes_reach_the_costs_valuation_and_units_tables():
    units = {"currency": "USD", "tokens_per_unit": 1000.0, "value": 0.5}
    p = plan(
        axes=[
            {"field": "costs.per_token", "values": [0.0, 0.05]},
            {"field": "valuation.expression", "values": ["1", "1 + 0.5*(r - 1)"]},
            {"field": "units", "values": [units]},
        ]
    )
    p.check()  # the paper's example has none of these tables: each point creates them
    assert p.points == 4 and "costs" not in p.base and "valuation" not in p.base
    last = p.scenario(3)
    assert last["costs"] == {"per_token": 0.05} and last["units"] == units
    assert last["valuation"] == {"expression": "1 + 0.5*(r - 1)"}


def test_a_bad_value_in_an_optional_table_names_point_axis_and_field():
    lines = problems(axes=[{"field": "costs.per_token", "values": [0.05, -1.0]}])
    (line,) = lines
    assert line.startswith(
        "s.toml: point 1 (costs.per_token = -1.0), axes[0] (costs.per_token): "
        "costs.per_token = -1.0: expected"
    ), line


def test_out_must_be_a_folder_that_can_be_written(tmp_path, capsys):
    import market as mk

    file = tmp_path / "file"
    file.write_text("")
    sweep = str(LIBRARY / "urgency_spread.toml")
    assert main(["sweep", sweep, "--workers", "0", "--out", str(file / "runs")]) == 2
    assert capsys.readouterr().err == f"error: --out = {file / 'runs'}: {file} is not a folder\n"
    with pytest.raises(SweepError, match=f"^out = {file}: {file} is not a folder; expected"):
        mk.sweep(plan(), workers=0, out=file)
    # /proc takes no new folders, even for root (whom os.access lets write anywhere)
    with pytest.raises(SweepError, match="^out = /proc/sweep-runs: cannot write the run folder"):
        mk.sweep(plan(), workers=0, out="/proc/sweep-runs")
