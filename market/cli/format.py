"""Plain-text tables of the command line (one table formatter for every command)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["DIGITS", "num", "plans_view", "solution_view", "table"]

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


def plans_view(policy) -> str:
    """What a policy sells: its plans, or a sample of its schedule, and any pooling."""
    records = policy._plan_records()
    schedule = bool(records) and records[0][0] is None
    if schedule:
        picks = np.unique(np.linspace(0, len(records) - 1, min(SCHEDULE_ROWS, len(records))))
        shown = [records[int(i)] for i in picks.round()]
        title = f"{policy.name}: schedule ({len(shown)} of {len(records)} sampled types)"
        head = ["urgency", "token cap", "price", "per token", "speed"]
        rows = [[num(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5])] for r in shown]
        out = title + "\n" + table(head, rows, numeric_from=0, indent=2)
    elif records:
        head = ["plan", "token cap", "price", "per token", "speed"]
        rows = [[str(r[0]), num(r[2]), num(r[3]), num(r[4]), num(r[5])] for r in records]
        out = f"{policy.name}: plans\n" + table(head, rows, numeric_from=1, indent=2)
    else:
        out = f"{policy.name}: nothing is sold"
    for low, high, cap in policy.pooled:
        out += f"\n  pooled: urgencies [{num(low)}, {num(high)}] share the token cap {num(cap)}"
    return out


def solution_view(solution) -> str:
    """The readable view of ``market solve``: policies, the model, what each policy sells."""
    head = ["policy", "kind", "revenue", "user surplus", "welfare", "of first best",
            "participation", "tokens/user"]  # fmt: skip
    rows = [
        [
            p.name,
            p.kind,
            num(p.revenue),
            num(p.user_surplus),
            num(p.welfare),
            f"{100 * solution.share_of_first_best(p):.1f}%",
            f"{100 * p.participation:.1f}%",
            num(p.tokens_per_user, 4),
        ]  # fmt: skip
        for p in solution.policies
    ]
    rows += [[f"{u.name} ({u.kind}): not applicable: {u.reason}"] for u in solution.unavailable]
    switch = ", ".join(num(t) for t in solution.switch_times)
    lines = [
        f"scenario: {solution.scenario}",
        "",
        table(head, rows, numeric_from=2, rule=True),
        "",
        f"first-best welfare: {num(solution.first_best_welfare)}",
        f"model: switch times [{switch}], stationary rate {num(solution.stationary_rate)}, "
        f"E[tau] = {num(solution.expected_time)}",
    ]
    for policy in solution.policies:
        lines += ["", plans_view(policy)]
    return "\n".join(lines)
