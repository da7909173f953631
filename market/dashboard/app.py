"""The dashboard: a Solara app over the public API (``market dashboard [SCENARIO]``).

One page per browser tab. On the left, the scenario's controls (generated from its schema,
:mod:`market.dashboard.tables`) with the file actions; on the right, two tabs: the mechanism
(the comparison of every policy, the optimal menu, the stopping law; solved in a background
thread on every change) and the market running (Mesa's ``SolaraViz``). The app is a client of
``import market as mk`` only, like the command line.

Serve it with ``market dashboard`` (or ``solara run market.dashboard.app``); the scenario it
opens on is the file named by the environment variable :data:`market.dashboard.ENV`, else
the paper's example.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import solara
import solara.lab

from market.dashboard import default_scenario, edits, solving
from market.dashboard.files import FilePanel
from market.dashboard.market_view import MarketView
from market.dashboard.mechanism import MechanismView
from market.dashboard.settings import check, parse_toml
from market.dashboard.tables import ScenarioEditor
from market.dashboard.units import Units

__all__ = ["Dashboard", "Page", "warm"]

#: The column of controls: its own scroll bar beside the results.
CONTROLS_STYLE = {
    "width": "390px",
    "flex": "0 0 auto",
    "max-height": "calc(100vh - 90px)",
    "overflow-y": "auto",
    "position": "sticky",
    "top": "0",
}
#: The tabs of the results.
TABS = ("mechanism", "market")


@dataclass(frozen=True)
class Origin:
    """Where the settings came from: the file's name, the name a scenario without one takes
    (the file's stem), and the policies one may compare (``default_set``: the default set,
    for a scenario that lists none)."""

    name: str
    default_name: str
    candidates: tuple
    default_set: bool


class Settings:
    """The settings as the controls see them: ``value`` and ``set`` of the page's reactive
    dictionary, without subscribing each control to it.

    A control that read the reactive variable itself would be re-rendered on its own for
    every change, one render pass of the whole page per control (dozens per change, seconds
    on a page of this size). Through this view, the controls are re-rendered in the page's
    one pass: two views are equal while they show the same dictionary (the edits of
    :mod:`market.dashboard.edits` make a new one), so a change reaches every control at once.
    """

    def __init__(self, reactive) -> None:
        self._reactive = reactive
        self._shown = reactive.peek()

    @property
    def value(self) -> dict:
        return self._reactive.peek()

    def set(self, value: dict) -> None:
        self._reactive.set(value)

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Settings)
            and other._reactive is self._reactive
            and other._shown is self._shown
        )

    def __hash__(self) -> int:
        return hash((id(self._reactive), id(self._shown)))


def origin_of(data: dict, name: str) -> Origin:
    stem = Path(name).stem
    candidates, default_set = edits.candidates_of(data, check(data, stem).scenario)
    return Origin(name, stem, candidates, default_set)


def start(path: str | None) -> tuple[dict, Origin, str | None]:
    """The settings of the file at ``path`` (empty ones and the reason if it cannot be read)."""
    if not path:
        return {}, origin_of({}, "scenario.toml"), "no scenario file: load one"
    name = Path(path).name
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return {}, origin_of({}, name), f"{name}: cannot read the file ({exc})"
    data, problem = parse_toml(text, name)
    return (data or {}), origin_of(data or {}, name), problem


def warm(path: str | None) -> None:
    """Solve the scenario the page opens on ahead of the first visit (``market dashboard``
    calls it in a thread while the server starts): the first page then finds the solution
    remembered by :func:`market.dashboard.solving.solve`, under the key it will ask for."""
    data, origin, _ = start(path)
    checked = check(data, origin.default_name)
    if checked.scenario is not None:
        solving.solve(checked.key, checked.scenario)


@solara.component
def Dashboard(path: str | None = None):
    """The whole page for the scenario file at ``path``."""
    first = solara.use_memo(lambda: start(path), [path])
    data = solara.use_reactive(first[0])
    origin = solara.use_reactive(first[1])
    error = solara.use_reactive(first[2])
    checked = solara.use_memo(
        lambda: check(data.value, origin.value.default_name), [data.value, origin.value]
    )
    task = solara.lab.use_task(
        lambda: solving.solve(checked.key, checked.scenario) if checked.scenario else None,
        dependencies=[checked.key],
        raise_error=False,
    )
    last = solara.use_ref(None)  # the last settings solved: their table stays on show
    tab = solara.use_reactive(0)
    failed = None  # the current settings, valid, but the solver could not deliver
    if task.finished and task.value is not None:
        if task.value.solution is not None:
            last.current = task.value
        else:
            failed = task.value

    def load(name: str, text: str | None, problem: str | None) -> None:
        new, why = (None, f"{name}: {problem}") if text is None else parse_toml(text, name)
        if new is None:
            error.set(why)
            return
        origin.set(origin_of(new, name))
        data.set(new)
        error.set(None)

    def reset() -> None:
        data.set(first[0])
        origin.set(first[1])
        error.set(first[2])

    name = str(data.value.get("name") or origin.value.default_name)
    solara.Title(f"token-market · {name}")
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "nowrap", "gap": "16px"}):
        if tab.value == 0:  # the market's own controls are in SolaraViz's sidebar
            with solara.Column(style=CONTROLS_STYLE):
                solara.Text(name, style={"font-size": "1.3rem", "font-weight": "600"})
                FilePanel(checked, name, path, load, error.value, reset)
                o = origin.value
                ScenarioEditor(Settings(data), checked.problems, o.candidates, o.default_set)
        with solara.Column(style={"flex": "1 1 auto", "min-width": "0"}):
            solved = last.current
            units = Units.of_scenario(solved.scenario) if solved else Units.of(data.value)
            title = f"token-market · {name}"
            invalid = len(checked.problems)
            Results(tab, title, task.pending, last.current, failed, invalid, units)


@solara.component
def Results(
    tab: solara.Reactive, title: str, pending: bool, solved, failed, invalid: int, units: Units
):
    """Two tabs: the mechanism, and the market running (for the last solution ``solved``;
    ``failed``: the current settings, if the solver could not deliver them); only the open
    one is rendered. The app bar's title is ``title`` (SolaraViz sets its own)."""
    solara.v.Tabs(
        v_model=tab.value,
        on_v_model=lambda i: tab.set(i or 0),
        children=[solara.v.Tab(children=[name]) for name in TABS],
    )
    if tab.value == 0 or solved is None or solved.solution is None:
        with solara.AppBar():
            solara.AppBarTitle(title)
    if tab.value == 0:
        MechanismView(pending, solved, invalid, units, failed)
    elif solved is None or solved.solution is None:
        solara.Info("The market runs once the scenario is solved.")
    else:
        MarketView(solved.scenario, solved.solution, units, f"{title} · agent-based market")


@solara.component
def Page():
    """The page Solara serves."""
    path = default_scenario()
    Dashboard(str(path) if path else None)
