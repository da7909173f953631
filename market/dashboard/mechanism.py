"""The mechanism view: the comparison of every policy, the optimal menu, the stopping law.

:func:`MechanismView` shows the last solved settings while new ones are solved in the
background ("solving…"), and says when the settings have problems (the controls show them)
or the solver could not deliver (one line each).
"""

from __future__ import annotations

import solara

from market.dashboard import charts
from market.dashboard.controls import Messages
from market.dashboard.solving import (
    Solved,
    comparison_rows,
    cost_per_token,
    menu_records,
    optimal_policy,
    stopping_records,
)
from market.dashboard.units import Units

__all__ = ["ComparisonTable", "MechanismView", "Status"]


def columns(units: Units, costs: bool = False) -> list[tuple[str, str]]:
    """The table's columns: key of :func:`comparison_rows` and header (with units); the
    token cost and the profit when the scenario has a cost per token (``costs``)."""
    money = f"{units.money_label}/user"
    paid = [("cost", f"token cost ({money})"), ("profit", f"profit ({money})")] if costs else []
    return [
        ("policy", "policy"),
        ("revenue", f"revenue ({money})"),
        *paid,
        ("user_surplus", f"user surplus ({money})"),
        ("welfare", f"welfare ({money})"),
        ("share_of_first_best", "share of first best"),
        ("participation", "participation"),
        ("tokens_per_user", f"tokens/user ({units.tokens_label})"),
    ]


@solara.component
def ComparisonTable(solution, units: Units, cost: float = 0.0):
    """Every solved policy: revenue (token cost and profit with a cost per token), user
    surplus, welfare, share of first-best welfare, participation and tokens per user (a plain
    table: ``tr[data-policy]``, ``td[data-column]``); ``cost`` is the scenario's cost per
    model token."""
    rows = comparison_rows(solution, units)
    heads = columns(units, costs=cost > 0)
    head = solara.v.Html(
        tag="thead",
        children=[
            solara.v.Html(
                tag="tr", children=[solara.v.Html(tag="th", children=[h]) for _, h in heads]
            )
        ],
    )
    body = []
    for row in rows:
        bold = {"style": "font-weight: 600"} if row["kind"] == "optimal_token_menu" else {}
        cells = [
            solara.v.Html(tag="td", attributes={"data-column": key, **bold}, children=[row[key]])
            for key, _ in heads
        ]
        body.append(
            solara.v.Html(tag="tr", attributes={"data-policy": row["policy"]}, children=cells)
        )
    solara.v.Table(
        density="compact",
        hover=True,
        class_="market-comparison",
        children=[head, solara.v.Html(tag="tbody", children=body)],
    )
    best = units.money(solution.first_best_welfare)
    notes = [
        f"first-best welfare {best:.7g} {units.money_label}/user",
        f"E[τ] = {solution.expected_time:.4g} ({units.time_label})",
    ]
    if cost > 0:
        notes.append(f"cost per token c = {units.cost_text(cost)}")
    solara.Text(" · ".join(notes), style={"font-size": "0.85rem", "opacity": "0.8"})
    for item in solution.unavailable:
        solara.Text(
            f"{item.name} ({item.kind}): not applicable: {item.reason}",
            style={"font-size": "0.85rem"},
        )


@solara.component
def Status(pending: bool, solved: Solved | None, invalid: int, failed: Solved | None = None):
    """One line: solving, solved (and how long it took), or why the table is not current:
    the settings have problems (``invalid`` of them), or the solver could not deliver the
    current settings (``failed``: its problems, one line each)."""
    if pending:
        solara.ProgressLinear(True)
        solara.Text("solving…", classes=["market-solving"])
    elif solved is not None and solved.solution is not None:
        took = f"solved in {solved.seconds:.2f} s" if solved.seconds else "solved (remembered)"
        solara.Text(
            took, classes=["market-solved"], style={"font-size": "0.85rem", "opacity": "0.7"}
        )
    if invalid:
        solara.Warning(
            f"The settings have {invalid} problem(s), shown beside the controls; the results "
            "are those of the last valid settings.",
            dense=True,
        )
    if failed is not None and not pending:
        if solved is not None:
            solara.Warning(
                "The solver cannot deliver these settings; the results are those of the last "
                "solved settings.",
                dense=True,
            )
        Messages(list(failed.problems))


def menu_spec(solution, name: str, units: Units) -> dict:
    """The Vega-Lite spec of the menu of the policy ``name``."""
    policy = next(p for p in solution.policies if p.name == name)
    points, pooled = menu_records(policy, units)
    title = "Optimal menu" if policy.kind == "optimal_token_menu" else f"Menu of {policy.name}"
    chart = charts.menu_chart(points, pooled, units, f"{title}: token cap and price by urgency")
    return charts.spec_of(chart)


def law_spec(solution, units: Units) -> dict | None:
    """The Vega-Lite spec of the stopping law of the optimal menu's model."""
    best = optimal_policy(solution)
    if best is None:
        return None
    records, mean = stopping_records(best)
    return charts.spec_of(charts.stopping_chart(records, mean, units))


@solara.component
def MenuView(solution, units: Units):
    """A policy's menu as each type meets it (the optimal one first)."""
    names = [p.name for p in solution.policies]
    best = optimal_policy(solution)
    chosen, set_chosen = solara.use_state(best.name if best else None)
    if chosen not in names:
        chosen = best.name if best else None
    spec = solara.use_memo(
        lambda: None if chosen is None else menu_spec(solution, chosen, units),
        [solution, chosen, units],
    )
    if spec is None:
        return
    solara.Select(
        "menu of", values=names, value=chosen, on_value=set_chosen, style={"max-width": "20rem"}
    )
    charts.Figure(spec)


@solara.component
def MechanismView(
    pending: bool, solved: Solved | None, invalid: int, units: Units, failed: Solved | None = None
):
    """The comparison table, the menu and the stopping law of the last solution (the
    figures are computed once per solution); why the current settings have none (``failed``:
    the solver's problems)."""
    solution = solved.solution if solved is not None else None
    law = solara.use_memo(
        lambda: None if solution is None else law_spec(solution, units), [solution, units]
    )
    Status(pending, solved, invalid, failed)
    if solution is None:
        return
    stale = pending or invalid or failed is not None
    with solara.Column(style={"opacity": "0.55" if stale else "1"}):
        ComparisonTable(solution, units, cost_per_token(solved.scenario))
        MenuView(solution, units)
        if law is not None:
            charts.Figure(law)
