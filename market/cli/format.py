"""Plain-text tables of the command line (one table formatter for every command)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["DIGITS", "Shown", "costly", "num", "plans_view", "solution_view", "table"]

#: Significant digits of the numbers printed in tables.
DIGITS = 7
#: Rows of a schedule (a continuum of plans) shown per policy.
SCHEDULE_ROWS = 9


def num(x: float | None, digits: int = DIGITS) -> str:
    """A number for a table: ``-`` for None, ``unlimited`` for infinity, ``n/a`` for NaN."""
    if x is None:
        return "-"
    x = float(x)
    if math.isinf(x):
        return "unlimited"
    if math.isnan(x):
        return "n/a"
    return f"{x:.{digits}g}"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric_from: int = 1,
    indent: int = 0,
    rule: bool = False,
    left: Sequence[int] = (),
) -> str:
    """Columns padded to their widest; those from ``numeric_from`` on are right-aligned (but
    those in ``left``); a row of one cell spans the table (a note). ``rule`` draws a line under
    the headers."""
    full = [r for r in rows if len(r) == len(headers)]
    widths = [max(len(c) for c in col) for col in zip(headers, *full, strict=True)]

    def line(cells: Sequence[str]) -> str:
        if len(cells) != len(headers):
            return " " * indent + "  ".join(cells)
        out = [
            c.rjust(w) if j >= numeric_from and j not in left else c.ljust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return " " * indent + "  ".join(out).rstrip()

    lines = [line(headers)]
    if rule:
        lines.append(" " * indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines + [line(r) for r in rows])


class Shown:
    """How a table shows numbers: in model units, or in the scenario's ``[units]``
    (:class:`market.pricing.units.Units`): money in the currency, tokens as real tokens."""

    def __init__(self, units=None):
        self.units = units

    def money(self, x: float | None, digits: int = DIGITS) -> str:
        return num(x if x is None or self.units is None else self.units.money(x), digits)

    def tokens(self, x: float | None, digits: int = 4) -> str:
        return num(x if x is None or self.units is None else self.units.tokens(x), digits)

    def per_token(self, x: float | None) -> str:
        return num(x if x is None or self.units is None else self.units.per_token(x))

    def label(self, what: str) -> str:
        """A money column's header: ``revenue (USD)`` with units."""
        return what if self.units is None else f"{what} ({self.units.currency})"

    def note(self) -> list[str]:
        """A line saying what the units are (none without ``[units]``)."""
        u = self.units
        if u is None:
            return []
        return [
            f"units: money in {u.currency} (a solved task at q = 1 is worth {u.value:g} "
            f"{u.currency}); tokens are real tokens ({u.tokens_per_unit:g} per model token); "
            f"time in {u.time}"
        ]


def costly(policies) -> bool:
    """Whether any policy pays for its tokens (then tables show cost and profit)."""
    return any(getattr(p, "token_cost", 0.0) > 0 for p in policies)


def plans_view(policy, shown: Shown | None = None) -> str:
    """What a policy sells: its plans, or a sample of its schedule, and any pooling."""
    shown = Shown() if shown is None else shown
    records = policy._plan_records()
    schedule = bool(records) and records[0][0] is None
    cap, price, per = "token cap", shown.label("price"), shown.label("per token")
    if schedule:
        picks = np.unique(np.linspace(0, len(records) - 1, min(SCHEDULE_ROWS, len(records))))
        picked = [records[int(i)] for i in picks.round()]
        title = f"{policy.name}: schedule ({len(picked)} of {len(records)} sampled types)"
        head = ["urgency", cap, price, per, "speed"]
        rows = [[num(r[1]), shown.tokens(r[2], DIGITS), shown.money(r[3]), shown.per_token(r[4]),
                 num(r[5])] for r in picked]  # fmt: skip
        out = title + "\n" + table(head, rows, numeric_from=0, indent=2)
    elif records:
        head = ["plan", cap, price, per, "speed"]
        rows = [[str(r[0]), shown.tokens(r[2], DIGITS), shown.money(r[3]),
                 shown.per_token(r[4]), num(r[5])] for r in records]  # fmt: skip
        out = f"{policy.name}: plans\n" + table(head, rows, numeric_from=1, indent=2)
    else:
        out = f"{policy.name}: nothing is sold"
    for low, high, pooled in policy.pooled:
        out += (f"\n  pooled: urgencies [{num(low)}, {num(high)}] share the token cap "
                f"{shown.tokens(pooled, DIGITS)}")  # fmt: skip
    notes = getattr(policy, "incentives", None)
    if notes and notes.get("broken"):
        out += "\n  incentives: " + str(notes.get("summary", "; ".join(notes["broken"])))
    return out


def solution_view(solution) -> str:
    """The readable view of ``market solve``: policies, the model, what each policy sells."""
    shown = Shown(getattr(solution, "units", None))
    with_cost = costly(solution.policies)
    head = ["policy", "kind", shown.label("revenue")]
    head += [shown.label("cost"), shown.label("profit")] if with_cost else []
    head += [shown.label("user surplus"), shown.label("welfare"), "of first best",
             "participation", "tokens/user"]  # fmt: skip
    rows = []
    for p in solution.policies:
        row = [p.name, p.kind, shown.money(p.revenue)]
        if with_cost:
            row += [shown.money(p.token_cost), shown.money(p.profit)]
        row += [
            shown.money(p.user_surplus),
            shown.money(p.welfare),
            f"{100 * solution.share_of_first_best(p):.1f}%",
            f"{100 * p.participation:.1f}%",
            shown.tokens(p.tokens_per_user),
        ]
        rows.append(row)
    rows += [[f"{u.name} ({u.kind}): not applicable: {u.reason}"] for u in solution.unavailable]
    switch = ", ".join(num(t) for t in solution.switch_times)
    time = "" if shown.units is None else f" {shown.units.time}"
    lines = [
        f"scenario: {solution.scenario}",
        "",
        table(head, rows, numeric_from=2, rule=True),
        "",
        f"first-best welfare: {shown.money(solution.first_best_welfare)}",
        f"model: switch times [{switch}], stationary rate {num(solution.stationary_rate)}, "
        f"E[tau] = {num(solution.expected_time)}{time}",
        *shown.note(),
    ]
    for policy in solution.policies:
        lines += ["", plans_view(policy, shown)]
    return "\n".join(lines)
