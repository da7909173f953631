"""The dashboard's figures (Altair): the optimal menu, the stopping law, the live market.

Each function takes plain records (:mod:`market.dashboard.solving`, the Mesa DataCollector's
frame, per-user arrays) and returns an Altair chart; nothing here draws or reads a solution.
Axes carry the scenario's units (:class:`market.dashboard.units.Units`).
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
import solara
import solara.widgets

from market.dashboard.units import Units

__all__ = ["Figure", "spec_of", "distribution_chart", "live_chart", "menu_chart", "stopping_chart"]

#: Size of one panel (pixels).
WIDTH, HEIGHT = 300, 190
#: A token-cap axis spanning more than this ratio is drawn on a log scale.
LOG_RATIO = 30.0
#: Bins of the distributions of a run.
BINS = 40
#: The Vega-Lite the page runs (Solara loads Vega-Lite 5; these charts use nothing newer).
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Colours: what the solver expects, what the market realised, pooled types.
EXPECTED, REALISED, POOLED = "#e45756", "#4c78a8", "#f58518"


def spec_of(chart) -> dict:
    """The Vega-Lite spec of an Altair chart, with the schema of the Vega-Lite the page runs
    (so that the page does not warn of a version it does not need)."""
    spec = chart.to_dict()
    spec["$schema"] = SCHEMA
    return spec


@solara.component
def Figure(chart):
    """An Altair chart, or its spec (:func:`spec_of`), in the page (as
    ``solara.FigureAltair``)."""
    spec = chart if isinstance(chart, dict) else spec_of(chart)
    return solara.widgets.VegaLite.element(spec=spec)


def _pooled_layer(pooled: list[dict]) -> alt.Chart | None:
    if not pooled:
        return None
    return (
        alt.Chart(pd.DataFrame(pooled))
        .mark_rect(opacity=0.18, color=POOLED)
        .encode(x="r_from:Q", x2="r_to:Q", tooltip=["r_from:Q", "r_to:Q", "token_cap:Q"])
    )


def _with(layer: alt.Chart | None, chart: alt.Chart) -> alt.Chart | alt.LayerChart:
    return chart if layer is None else alt.layer(layer, chart)


def menu_chart(points: list[dict], pooled: list[dict], units: Units, title: str):
    """Token cap and price against urgency, side by side; pooled intervals shaded."""
    frame = pd.DataFrame(points, columns=["urgency", "token_cap", "price"])
    capped = frame[frame["token_cap"].notna() & (frame["token_cap"] > 0)]
    caps = capped["token_cap"].to_numpy(dtype=float)
    wide = caps.size > 1 and caps.max() / caps.min() > LOG_RATIO
    x = alt.X(
        "urgency:Q",
        title=f"urgency r (per {units.time_label})",
        scale=alt.Scale(zero=False, nice=False),
    )
    cap_title = f"token cap ({units.tokens_label}{', log scale' if wide else ''})"
    cap = (
        alt.Chart(capped)
        .mark_line(interpolate="step-after" if len(frame) < 3 else "linear")
        .encode(
            x=x,
            y=alt.Y(
                "token_cap:Q", title=cap_title, scale=alt.Scale(type="log" if wide else "linear")
            ),
            tooltip=["urgency:Q", "token_cap:Q"],
        )
    )
    price = (
        alt.Chart(frame)
        .mark_line(color=EXPECTED)
        .encode(
            x=x,
            y=alt.Y("price:Q", title=f"price ({units.money_label})", scale=alt.Scale(zero=False)),
            tooltip=["urgency:Q", "price:Q"],
        )
    )
    unlimited = frame[frame["token_cap"].isna()]["urgency"]
    note = f"unlimited for r ≤ {unlimited.max():.4g}" if len(unlimited) else ""
    shade = _pooled_layer(pooled)
    left = _with(shade, cap).properties(width=WIDTH, height=HEIGHT, title="token cap")
    right = _with(shade, price).properties(width=WIDTH, height=HEIGHT, title="price")
    subtitle = [s for s in (note, "shaded: types pooled on one cap" if pooled else "") if s]
    return alt.hconcat(left, right).properties(
        title=alt.TitleParams(title, subtitle=subtitle or [""], anchor="start")
    )


def stopping_chart(records: list[dict], mean: float, units: Units):
    """The density :math:`f(t)` and survival :math:`S(t)` of the breakthrough time, with
    :math:`E[\\tau]` marked."""
    frame = pd.DataFrame(records, columns=["time", "density", "survival"])
    long = frame.melt("time", var_name="curve", value_name="value")
    long["curve"] = long["curve"].map({"density": "density f(t)", "survival": "survival S(t)"})
    x = alt.X("time:Q", title=f"conversation time t ({units.time_label})")
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(x=x, y=alt.Y("value:Q", title=""), color=alt.Color("curve:N", title=None))
    )
    layers = [lines]
    if math.isfinite(mean):
        rule = pd.DataFrame({"time": [mean], "label": [f"E[τ] = {mean:.4g}"]})
        base = alt.Chart(rule).encode(x="time:Q")
        layers += [
            base.mark_rule(strokeDash=[4, 3], color="gray"),
            base.mark_text(align="left", dx=4, dy=-60, color="gray").encode(text="label:N"),
        ]
    return alt.layer(*layers).properties(
        width=WIDTH, height=HEIGHT, title="stopping law of the deployed model"
    )


def live_chart(
    frame: pd.DataFrame,
    columns: dict[str, str],
    title: str,
    y_title: str,
    x_title: str = "clock time",
):
    """Columns of the DataCollector's frame against the market's clock; ``columns`` maps a
    column to its legend (an ``expected ...`` column is dashed)."""
    present = {c: label for c, label in columns.items() if c in frame}
    long = frame[["time", *present]].melt("time", var_name="series", value_name="value")
    long["series"] = long["series"].map(present)
    long = long[np.isfinite(long["value"].astype(float))]  # no load before the first event
    dashed = [label for c, label in present.items() if c.startswith("expected")]
    end = float(frame["time"].max()) if len(frame) else 0.0
    values = long["value"].astype(float)
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    return (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("time:Q", title=x_title, scale=alt.Scale(domain=[0.0, end or 1.0])),
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=[min(low, 0.0), high or 1.0])),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            strokeDash=alt.condition(
                alt.FieldOneOfPredicate(field="series", oneOf=dashed or ["-"]),
                alt.value([5, 3]),
                alt.value([1, 0]),
            ),
        )
        .properties(width=WIDTH, height=HEIGHT, title=title)
    )


def distribution_chart(values: np.ndarray, expected: float, title: str, x_title: str):
    """A histogram of per-user values with their mean (solid) and the solver's expectation
    (dashed)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    low, high = (values.min(), values.max()) if values.size else (0.0, 1.0)
    counts, edges = np.histogram(values, bins=BINS, range=(low, high if high > low else low + 1))
    bars = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "users": counts})
    marks = pd.DataFrame(
        {
            "x": [float(values.mean()) if values.size else math.nan, expected],
            "what": ["realised mean", "expected (solver)"],
        }
    )
    hist = (
        alt.Chart(bars)
        .mark_bar(color=REALISED, opacity=0.75)
        .encode(
            x=alt.X("start:Q", bin="binned", title=x_title, scale=alt.Scale(zero=False)),
            x2="end:Q",
            y=alt.Y("users:Q", title="users"),
        )
    )
    rules = (
        alt.Chart(marks.dropna())
        .mark_rule(size=2)
        .encode(
            x="x:Q",
            color=alt.Color(
                "what:N",
                title=None,
                scale=alt.Scale(domain=list(marks["what"]), range=[REALISED, EXPECTED]),
                legend=alt.Legend(orient="bottom"),
            ),
            strokeDash=alt.StrokeDash("what:N", legend=None),
        )
    )
    return alt.layer(hist, rules).properties(width=WIDTH, height=HEIGHT, title=title)
