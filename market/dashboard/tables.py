"""The controls of a whole scenario, table by table, generated from its schema.

:func:`ScenarioEditor` walks :func:`market.dashboard.fields.scenario_fields`: keys holding
values get a control of :mod:`market.dashboard.controls`, tables a section of their own, a
table of several kinds (the urgency law) a choice of kind and the keys of that kind, a list
of tables (a mixture's components) a count and one section per item, ``[[policies]]`` the
policies to compare. A key applies only when :func:`market.dashboard.hints.visible` says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import solara

from market.dashboard import edits, hints
from market.dashboard.controls import Messages, PriorControl, ScalarControl
from market.dashboard.fields import FieldSpec, scenario_fields, table_fields
from market.dashboard.settings import drop_at, filled, get_at, set_at, stray_messages

__all__ = ["FieldEditor", "PolicyPicker", "ScenarioEditor"]

#: Most items a list of tables (a mixture's components) has in the controls.
MAX_ITEMS = 6
#: Kinds of field that are sections of their own.
SECTIONS = ("table", "variants", "tables", "policies")
#: Style of a nested table.
NESTED = {"border-left": "2px solid #ddd", "padding-left": "8px", "margin": "4px 0"}


@solara.component
def FieldEditor(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """The control(s) of one key, by its kind (nothing if it does not apply)."""
    table = get_at(data.value, path[:-1]) if len(path) > 1 else data.value
    if not hints.visible(path, table if isinstance(table, dict) else {}):
        return
    if spec.kind == "table":
        TableEditor(spec, path, data, problems)
    elif spec.kind == "variants":
        VariantsEditor(spec, path, data, problems)
    elif spec.kind == "tables":
        TablesEditor(spec, path, data, problems)
    elif hints.hint_path(path) == "information.prior":
        PriorControl(spec, path, data, problems)
    elif spec.kind != "policies":
        ScalarControl(spec, path, data, problems)


@solara.component
def TableEditor(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """The keys of a table; an optional table (``None`` by default) is added by a box."""
    value = get_at(data.value, path)
    label = hints.label_for(path)
    if spec.optional:
        solara.Checkbox(
            label=f"{label} (optional table)",
            value=value is not None,
            on_value=lambda on: data.set(
                set_at(data.value, path, filled(spec, path, None))
                if on
                else drop_at(data.value, path)
            ),
        )
        if value is None:
            return
    fields = table_fields(spec.model)
    with solara.Column(style=NESTED if len(path) > 1 else {}, gap="0px"):
        Messages(stray_messages(problems, path, {f.key for f in fields}))
        for field in fields:
            FieldEditor(field, (*path, field.key), data, problems)


@solara.component
def VariantsEditor(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """A table of one of several kinds: the kind, then the keys of that kind."""
    value = get_at(data.value, path)
    table = value if isinstance(value, dict) else {}
    tag = table.get(spec.tag)
    choices = list(spec.variants)
    solara.Select(
        hints.label_for((*path, spec.tag)),
        values=choices,
        value=tag if tag in choices else None,
        on_value=lambda kind: data.set(edits.switch_variant(data.value, path, spec, kind)),
    )
    model = spec.variants.get(tag)
    fields = table_fields(model) if model is not None else []
    Messages(stray_messages(problems, path, {f.key for f in fields if f.key != spec.tag}))
    for field in fields:
        if field.key != spec.tag:
            FieldEditor(field, (*path, field.key), data, problems)


@solara.component
def TablesEditor(spec: FieldSpec, path: tuple, data: solara.Reactive, problems: tuple):
    """A list of tables: how many, then each one."""
    items = get_at(data.value, path)
    items = items if isinstance(items, list) else []
    label = hints.label_for(path)
    solara.Select(
        f"{label}: how many",
        values=list(range(1, MAX_ITEMS + 1)),
        value=min(max(len(items), 1), MAX_ITEMS),
        on_value=lambda n: data.set(edits.resize_tables(data.value, path, spec, n)),
    )
    Messages(stray_messages(problems, path, set()))
    kind = "variants" if spec.variants else "table"
    item_spec = replace(spec, kind=kind, required=True, optional=False)
    for i in range(len(items)):
        with solara.Column(style=NESTED, gap="0px"):
            solara.Text(f"{label} [{i}]", style={"font-weight": "600"})
            FieldEditor(item_spec, (*path, i), data, problems)


@solara.component
def PolicyPicker(candidates: Sequence, default_set: bool, data: solara.Reactive, problems: tuple):
    """Which policies to compare: the scenario's ``[[policies]]``, or the default set."""
    chosen = edits.selected_names(data.value, candidates)

    def toggle(name: str, on: bool) -> None:
        keep = [c.name for c in candidates if c.name in chosen and c.name != name]
        names = [*keep, name] if on else keep
        data.set(edits.select_policies(data.value, candidates, names, default_set))

    for c in candidates:
        solara.Checkbox(
            label=f"{c.name} ({c.kind})",
            value=c.name in chosen,
            disabled=c.name in chosen and len(chosen) == 1,
            on_value=lambda on, name=c.name: toggle(name, on),
        )
    Messages([p.text for p in problems if p.where.startswith("policies")])


@solara.component
def ScenarioEditor(data: solara.Reactive, problems: tuple, candidates: Sequence, default_set: bool):
    """Every key of a scenario: its plain keys first, then one section per table."""
    fields = scenario_fields()
    Messages(stray_messages(problems, (), {f.key for f in fields}))
    with solara.Column(gap="0px"):
        for field in fields:
            if field.kind not in SECTIONS:
                FieldEditor(field, (field.key,), data, problems)
    for field in fields:
        if field.kind in SECTIONS:
            _section(field, data, problems, candidates, default_set)


def _section(field: FieldSpec, data, problems: tuple, candidates, default_set: bool) -> None:
    """One table of the scenario, open when it is required, given, or has a problem."""
    path = (field.key,)
    troubled = sum(
        p.where == field.key or p.where.startswith((f"{field.key}.", f"{field.key}["))
        for p in problems
    )
    open_ = field.required or field.key in data.value or troubled > 0
    summary = hints.label_for(path) + (f"  ·  {troubled} problem(s)" if troubled else "")
    with solara.Details(summary=summary, expand=open_):
        if field.kind == "policies":
            PolicyPicker(candidates, default_set, data, problems)
        else:
            FieldEditor(field, path, data, problems)
