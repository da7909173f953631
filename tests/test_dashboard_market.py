"""The market running: ``market.LiveMarket`` (the agent-based market one record interval per
step) and the dashboard's view of it in Mesa's ``SolaraViz`` (play, pause, step, reset; live
plots from the DataCollector; the distributions at the end)."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import ipyvuetify as v
import numpy as np
import pytest
import solara
import solara.widgets

import market as mk
from market.dashboard.market_view import DashboardMarket, Distributions, LivePlots, MarketView
from market.dashboard.units import Units

PAPER = Path(__file__).resolve().parents[1] / "scenarios" / "paper_example.toml"
#: A small market: the paper's example with 300 users (seed 5).
USERS, SEED = 300, 5


@pytest.fixture(scope="module")
def small():
    data = tomllib.loads(PAPER.read_text())
    data["market"] = {"users": USERS}
    data["seed"] = SEED
    scenario = mk.scenario_from_dict(data)
    return scenario, mk.solve(scenario, policies=["optimal token menu", "2 tiers", "flat price"])


def run_to_end(model) -> int:
    steps = 0
    while model.running:
        model.step()
        steps += 1
    return steps


@pytest.mark.parametrize(
    "policy", ["optimal token menu", pytest.param("2 tiers", marks=pytest.mark.slow)]
)
def test_a_live_run_is_the_agent_based_run_of_the_api(small, policy):
    scenario, solution = small
    live = mk.LiveMarket(scenario, solution[policy])
    steps = run_to_end(live)
    run = mk.simulate(scenario, engine="abm", policies=[policy], solution=solution)
    users = run.users
    # Same draws, same engine: the same outcome for every user.
    np.testing.assert_array_equal(live.outcomes().payment, users["payment"].to_numpy())
    np.testing.assert_array_equal(live.outcomes().utility, users["utility"].to_numpy())
    frame = live.datacollector.get_model_vars_dataframe()
    assert len(frame) == steps + 1 and live.steps == steps  # a record at 0, one per step
    np.testing.assert_allclose(frame["time"], live.interval * np.arange(steps + 1))
    assert frame["users_arrived"].iloc[-1] == USERS and frame["conversations_open"].iloc[-1] == 0
    assert frame["revenue"].iloc[-1] == pytest.approx(users["payment"].sum(), rel=1e-12)
    expected = solution[policy].revenue * frame["users_arrived"]
    np.testing.assert_allclose(frame["expected_revenue"], expected, rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["congested_launch.toml", "noisy_market.toml"])
def test_a_live_run_follows_the_scenarios_market(name):
    # A finite capacity shared by processor sharing; users choosing by a logit with noise.
    scenario = mk.load_scenario(PAPER.parent / name)
    solution = mk.solve(scenario, policies=["optimal token menu"])
    live = mk.LiveMarket(scenario, solution["optimal token menu"], users=USERS, seed=SEED)
    run_to_end(live)
    run = mk.simulate(scenario, USERS, SEED, "abm", ["optimal token menu"], solution)
    np.testing.assert_array_equal(live.outcomes().payment, run.users["payment"].to_numpy())
    np.testing.assert_array_equal(live.outcomes().utility, run.users["utility"].to_numpy())
    frame = live.datacollector.get_model_vars_dataframe()
    capacity = scenario.market.capacity is not None
    assert ("utilisation" in frame) == capacity


def test_stepping_a_finished_market_changes_nothing(small):
    scenario, solution = small
    live = mk.LiveMarket(scenario, solution["flat price"], users=100, seed=1)
    run_to_end(live)
    records = len(live.datacollector.get_model_vars_dataframe())
    live.step()
    assert not live.running and len(live.datacollector.get_model_vars_dataframe()) == records


def wait(predicate, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def charts(rc) -> int:
    return len(rc.find(solara.widgets.VegaLite).widgets)


def test_the_view_steps_plays_and_resets_with_mesas_controls(small):
    scenario, solution = small

    @solara.component
    def Page():
        with solara.AppLayout():  # SolaraViz puts its controls in the sidebar
            MarketView(scenario, solution, Units())

    box, rc = solara.render(Page(), handle_error=False)
    try:
        assert charts(rc) == 3  # users arrived, conversations open, cumulative revenue
        step = rc.find(v.Btn, children=["Step"]).widget
        step.click()
        step.click()
        text = [w.children[0] for w in rc.find(v.Html, tag="span").widgets if w.children]
        assert any("optimal token menu: 300 users" in str(t) for t in text)
        # Mesa's speed controls: the fastest play, a redraw every 21 steps.
        rc.find(v.Slider, label="Play Interval (ms)").widget.v_model = 1
        rc.find(v.Slider, label="Render Interval (steps)").widget.v_model = 21
        play = rc.find(v.Btn, children=["▶"]).widget
        play.click()  # plays in a thread until every conversation has ended
        rc.find(v.Btn, children=["❚❚"], disabled=True).wait_for(timeout=60)  # ran to the end
        # ... and then the distributions of revenue and welfare per user are drawn too.
        rc.find(solara.widgets.VegaLite).wait_for(timeout=30)
        wait(lambda: charts(rc) == 5)
        rc.find(v.Select, label="policy").widget.v_model = "2 tiers"
        rc.find(v.Btn, children=["Reset"]).widget.click()
        spans = lambda: [str(w.children) for w in rc.find(v.Html, tag="span").widgets]  # noqa: E731
        wait(lambda: any("2 tiers: 300 users" in t for t in spans()))
    finally:
        rc.close()


def test_the_distributions_at_the_end_are_the_runs(small):
    scenario, solution = small
    model = DashboardMarket(scenario, solution, "optimal token menu", USERS)
    box, rc = solara.render(Distributions(model, Units()), handle_error=False)
    assert charts(rc) == 0  # not before the run has ended
    rc.close()
    run_to_end(model)
    box, rc = solara.render(Distributions(model, Units()), handle_error=False)
    specs = [w.spec for w in rc.find(solara.widgets.VegaLite).widgets]
    rc.close()
    assert [s["title"] for s in specs] == ["revenue per user", "welfare per user"]
    bars = [d for d in specs[0]["datasets"].values() if d and "users" in d[0]]
    assert sum(row["users"] for row in bars[0]) == USERS  # every user in the histogram


def test_a_finite_capacity_adds_the_utilisation_plot():
    scenario = mk.load_scenario(PAPER.parent / "congested_launch.toml")
    solution = mk.solve(scenario, policies=["optimal token menu"])
    model = DashboardMarket(scenario, solution, "optimal token menu", USERS)
    model.step()
    box, rc = solara.render(LivePlots(model, Units()), handle_error=False)
    titles = [w.spec["title"] for w in rc.find(solara.widgets.VegaLite).widgets]
    rc.close()
    assert titles == [
        "users arrived",
        "conversations open",
        "utilisation of the capacity",
        "cumulative revenue (value units)",
    ]
