"""The market running: Mesa's ``SolaraViz`` over the agent-based market of one solved policy.

:class:`DashboardMarket` is :class:`market.LiveMarket` with the parameters ``SolaraViz`` can
set (the policy by name, the users), so that Mesa's controls (play, pause, step, the play
interval for speed, reset with new parameters) drive it. The plots read the Mesa
DataCollector after every step: users arrived, conversations open, utilisation where the
market records one (finite capacity), and cumulative revenue against the expected line; once
every conversation has ended, the distributions of revenue and welfare per user of the run.
"""

from __future__ import annotations

import numpy as np
import solara
from mesa.visualization import Slider, SolaraViz
from mesa.visualization.utils import update_counter

import market as mk
from market.dashboard import charts
from market.dashboard.solving import optimal_policy
from market.dashboard.units import Units

__all__ = ["DashboardMarket", "Distributions", "LivePlots", "MarketView"]

#: Most users the live view simulates, and the fewest.
MAX_USERS, MIN_USERS = 100_000, 100
#: Milliseconds between two steps when playing, and steps between two redraws (the page
#: redraws a chart in about a tenth of a second).
PLAY_INTERVAL, RENDER_INTERVAL = 50, 4
#: Records of the DataCollector that measure how busy the platform is.
UTILISATION = ("utilisation", "utilization")


class DashboardMarket(mk.LiveMarket):
    """The live market with ``SolaraViz``'s parameters: ``policy`` names one policy of
    ``solution``; ``users`` is the number of users. (The scenario is not called
    ``scenario``: Mesa's reset passes its own ``Model.scenario`` under that name.)"""

    def __init__(self, market_scenario, solution, policy: str, users: int) -> None:
        super().__init__(market_scenario, solution[policy], users=int(users))


@solara.component
def LivePlots(model, units: Units):
    """The DataCollector's records against the clock, redrawn after every step: users
    arrived; conversations open; utilisation of a finite capacity; cumulative revenue
    against the expected line; and, once the run has ended, the distributions."""
    update_counter.get()  # Mesa's signal that the model stepped
    frame = model.datacollector.get_model_vars_dataframe()
    money = frame.copy()
    for column in ("revenue", "expected_revenue"):
        money[column] = [units.money(x) for x in money[column]]
    revenue = {"revenue": "realised", "expected_revenue": "expected (solver × arrivals)"}
    clock = f"clock time ({units.time_label})"
    plots = [
        ({"users_arrived": "users arrived"}, "users arrived", "users", frame),
        ({"conversations_open": "conversations open"}, "conversations open", "count", frame),
    ]
    plots += [
        ({column: "share used"}, "utilisation of the capacity", "share", frame)
        for column in UTILISATION
        if column in frame
    ]
    plots.append((revenue, f"cumulative revenue ({units.money_label})", units.money_label, money))
    figures = [charts.live_chart(data, cols, title, y, clock) for cols, title, y, data in plots]
    with solara.Row(style={"flex-wrap": "wrap", "gap": "12px"}):
        for figure in figures:
            charts.Figure(figure)
    Distributions(model, units)


@solara.component
def Distributions(model, units: Units):
    """Revenue and welfare per user of the run, once every conversation has ended."""
    update_counter.get()  # redrawn after every step, as the plots
    if model.running:
        solara.Text(
            f"The distributions of revenue and welfare per user appear when the run ends "
            f"({model.users_arrived} of {model.offer.draws.users} users arrived, "
            f"{model.conversations_open} conversations open)."
        )
        return
    outcomes, policy = model.outcomes(), model.policy
    payment = np.array([units.money(x) for x in outcomes.payment])
    welfare = np.array([units.money(x) for x in outcomes.utility])
    with solara.Row(style={"flex-wrap": "wrap"}):
        charts.Figure(
            charts.distribution_chart(
                payment, units.money(policy.revenue), "revenue per user", units.money_label
            )
        )
        charts.Figure(
            charts.distribution_chart(
                welfare, units.money(policy.welfare), "welfare per user", units.money_label
            )
        )


@solara.component
def MarketView(scenario, solution, units: Units, title: str = "agent-based market"):
    """``SolaraViz`` over the market of the optimal policy (another one, and the number of
    users, in Mesa's model parameters; Reset applies them)."""
    names = [p.name for p in solution.policies]
    first = optimal_policy(solution)
    users = min(max(scenario.market.users, MIN_USERS), MAX_USERS)
    model = solara.use_memo(
        lambda: None if first is None else DashboardMarket(scenario, solution, first.name, users),
        [solution],
    )
    live = solara.use_reactive(model)
    if model is None:
        solara.Info("No policy applies to this scenario.")
        return
    params = {
        "market_scenario": scenario,
        "solution": solution,
        "policy": {"type": "Select", "value": first.name, "values": names, "label": "policy"},
        "users": Slider("users", value=users, min=MIN_USERS, max=MAX_USERS, step=MIN_USERS),
    }
    solara.Text(
        f"{live.value.policy.name}: {live.value.offer.draws.users} users arriving at rate "
        f"{scenario.market.arrival_rate:g} per unit of {units.time_label}; one step is "
        f"{live.value.interval:g} of clock time. Play, pause, step and speed (play interval) "
        "in the sidebar; another policy or number of users there, then Reset. The scenario's "
        "controls are on the mechanism tab.",
        style={"font-size": "0.85rem"},
    )
    # Mesa's controls in the sidebar; the plots below (SolaraViz's own grid of components
    # needs a grid layout that Solara's Vue 3 page cannot load).
    SolaraViz(
        live,
        components=[],
        model_params=params,
        name=title,
        play_interval=PLAY_INTERVAL,
        render_interval=RENDER_INTERVAL,
    ).key(f"viz-{id(solution)}")
    LivePlots(live.value, units)
