"""The controls of one key of a scenario: a number, an integer, a flag, a choice, a list.

Every control edits the settings (a ``solara.Reactive`` dictionary) at its path through
:func:`market.dashboard.edits.set_field`, shows the schema's limits under itself
(``> 0``), and, when the settings are invalid, the schema's one-line message about its key
in place of them. A key left out of the file shows the schema's default.
"""

from __future__ import annotations

import solara

from market.dashboard import edits, hints
from market.dashboard.fields import MISSING, FieldSpec
from market.dashboard.settings import get_at, messages_for, parse_text, set_at, show_value

__all__ = ["Messages", "PriorControl", "ScalarControl"]

#: Style of a problem's line under a control without an error slot of its own.
ERROR_STYLE = {"color": "#b00020", "font-size": "0.8rem", "line-height": "1.2"}


@solara.component
def Messages(lines: list[str]):
    """Problems, one line each, in the colour of errors."""
    for line in lines:
        solara.Text(line, style=ERROR_STYLE, classes=["market-problem"])


def _shown(spec: FieldSpec, value):
    """What a control shows: the value, or the schema's default for a key left out."""
    if value is None and spec.default is not MISSING and not hasattr(spec.default, "model_dump"):
        return spec.default
    return value


@solara.component
def ScalarControl(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """The control of one key holding a number, integer, text, flag, choice or list."""
    label = hints.label_for(path)
    errors = messages_for(problems, path)
    value = _shown(spec, get_at(data.value, path))

    def change(new) -> None:
        data.set(edits.set_field(data.value, path, spec, new))

    if spec.kind == "flag":
        solara.Checkbox(label=label, value=bool(value), on_value=change)
        Messages(errors)
    elif spec.kind == "choice":
        choices = list(spec.choices)
        solara.Select(
            label, values=choices, value=value if value in choices else None, on_value=change
        )
        Messages(errors)
    elif spec.kind == "other":
        solara.Text(f"{label} = {show_value('text', value)} (edit it in the scenario file)")
        Messages(errors)
    else:
        hint = " · ".join(s for s in (spec.bounds.hint(spec.kind), hints.help_for(path)) if s)
        text = show_value(spec.kind, value)
        solara.InputText(
            label,
            value=text,
            on_value=lambda text: change(parse_text(spec.kind, text)),
            error=" · ".join(errors) if errors else False,
            message=hint or None,
        )


@solara.component
def PriorControl(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """The prior :math:`\\mu_0`: the number of states, then one probability per state (for
    at most :data:`market.dashboard.edits.MAX_STATES` states; a longer prior is a list)."""
    prior = get_at(data.value, path)
    if not isinstance(prior, list) or not 2 <= len(prior) <= edits.MAX_STATES:
        ScalarControl(spec, path, data, problems)
        return
    solara.Select(
        "states n",
        values=list(range(2, edits.MAX_STATES + 1)),
        value=len(prior),
        on_value=lambda n: data.set(edits.resize_prior(data.value, n)),
    )
    with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
        for i, p in enumerate(prior):
            item = (*path, i)

            def change(text: str, item=item) -> None:
                data.set(set_at(data.value, item, parse_text("number", text)))

            errors = messages_for(problems, item)
            solara.InputText(
                f"μ₀[{i}]",
                value=show_value("number", p),
                on_value=change,
                error=" · ".join(errors) if errors else False,
                style={"max-width": "7rem"},
            )
    with solara.Row(style={"align-items": "center"}):
        solara.Button(
            "normalise", text=True, on_click=lambda: data.set(_normalised(data.value, path))
        )
        solara.Text(hints.help_for(path), style={"font-size": "0.8rem", "opacity": "0.7"})
    Messages(messages_for(problems, path))


def _normalised(data: dict, path: tuple) -> dict:
    """The prior at ``path`` divided by its sum (unchanged if it is not a list of numbers)."""
    prior = get_at(data, path)
    ok = isinstance(prior, list) and all(isinstance(p, float | int) for p in prior)
    total = sum(prior) if ok else 0
    return set_at(data, path, [p / total for p in prior]) if ok and total > 0 else data
