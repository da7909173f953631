r"""Reproduce the numbers of Sections 2.2 and 3.1 of Zhong (2025) with the package.

::

    python analysis/reproduce_paper.py [--out DIR]      (default: runs/paper/)

The paper's example (Section 2.2): a binary state with prior :math:`\tfrac12`, the quadratic
entropy, token rate :math:`\chi = \tfrac18`, urgency :math:`r` uniform on :math:`[1, 2]`. The
package computes (through its public API, :func:`market.solve`), and this script sets beside
the closed forms:

- the revenues of the three policies (docs/paper-notes.md erratum 4): constant delay
  :math:`\tfrac12 e^{-3}`, diffusion :math:`\operatorname{sech}(2\sqrt2)`, the optimal token
  menu :math:`0.2(1-e^{-2.5}) + 0.5e^{-1}E_1(1.5)`, and their ratios (8.11 and 1.71; the text
  says "8 times" and "2 times");
- the posted prices of the two families, :math:`e^{-3}` and :math:`\operatorname{sech}(2\sqrt2)`;
- the price schedule of Section 3.1 with the factor :math:`t` of docs/paper-notes.md erratum 2,
  :math:`P(r) = (3 + 2e^{-5/2} - 5e^{-(r+\frac12)/(r-1)})/15`, at :math:`r = 1, 1.1, \dots, 2`;
- the token caps :math:`\chi T(r) = \tfrac18/(r-1)` (unlimited at :math:`r = 1`);
- the greedy model's stopping density :math:`f^*(t) = \tfrac12 e^{-t/2}` (paper notes,
  erratum 3);
- Figure 1 (Section 4, endogenous reasoning quality): the stopping boundaries
  :math:`\tfrac12\pm\kappa_r(t)` of the soft-cap models for several types (``soft_caps``
  policy, :math:`H = |\mu-\tfrac12|^2`, the same :math:`\chi` and urgencies), beside the
  elementary closed form of :math:`\alpha = 2` (docs/paper-notes.md erratum 10),
  :math:`\kappa^2 = (\chi/r)(1 - 2/z + 2(1-e^{-z})/z^2)` with :math:`z = 2r(T(r)-t)`.

It writes ``results.md``, ``results.csv`` and four figures (``price_and_cap.png``,
``stopping_density.png``, ``revenues.png``, ``reasoning_quality.png``) into a temporary
sibling of the output folder and then puts it in place in one step
(:func:`market.io.rundir.replace_folder`), replacing an earlier output only once the new one
is complete. The tables are printed.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import secrets
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy.special import exp1

import market as mk
from market.io.rundir import replace_folder
from market.plots.style import PAYMENT_UNIT, TIME_UNIT, URGENCY_LABEL, figure

#: The paper's example (Section 2.2), as in scenarios/paper_example.toml.
PAPER_SCENARIO = """
name = "paper-example"
description = "Section 2.2 and 3.1: binary state, quadratic entropy, urgency uniform on [1, 2]"

[information]
prior = [0.5, 0.5]
entropy = "quadratic"
token_rate = 0.125

[urgency]
distribution = "uniform"
low = 1.0
high = 2.0
"""

#: Section 4's example of endogenous reasoning quality: the same market, H = |mu - 1/2|^2.
SOFT_CAPS_SCENARIO = (
    PAPER_SCENARIO.replace('entropy = "quadratic"', 'entropy = "power"\nalpha = 2.0').replace(
        'name = "paper-example"', 'name = "paper-soft-caps"'
    )
    + """
[[policies]]
kind = "soft_caps"
name = "soft caps"
"""
)
#: Types whose boundaries Figure 1 draws, and the horizon of its time axis.
FIGURE1_TYPES = (1.0, 1.1, 1.25, 1.5, 2.0)
FIGURE1_HORIZON = 10.5

DEFAULT_OUT = Path("runs") / "paper"
#: Urgencies of the price and cap table (Section 3.1).
URGENCIES = tuple(round(1.0 + 0.1 * k, 10) for k in range(11))
#: Times at which f* is tabulated.
TIMES = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
#: The prices a family menu posts to its buying types agree to this (rounding of the envelope
#: formula).
POSTED_PRICE_TOLERANCE = 1e-12
#: CSV columns.
COLUMNS = (
    "quantity",
    "policy",
    "at",
    "package",
    "closed_form",
    "abs_difference",
    "formula",
    "paper_text",
)


# -- the closed forms (Sections 2.2 and 3.1, with the errata of docs/paper-notes.md) --------
def revenue_constant_delay() -> float:
    """:math:`\\tfrac12 e^{-3}`: the posted price :math:`e^{-3}` to the types :math:`r \\le 1.5`."""
    return 0.5 * math.exp(-3.0)


def revenue_diffusion() -> float:
    """:math:`\\operatorname{sech}(2\\sqrt2)`: the full-speed diffusion sold to every type."""
    return 1.0 / math.cosh(2.0 * math.sqrt(2.0))


def revenue_optimal() -> float:
    """:math:`0.2(1 - e^{-2.5}) + 0.5e^{-1}E_1(1.5)` (Section 3.1)."""
    return 0.2 * (1.0 - math.exp(-2.5)) + 0.5 * math.exp(-1.0) * float(exp1(1.5))


def price(r: float) -> float:
    """:math:`P(r) = (3 + 2e^{-5/2} - 5e^{-(r+1/2)/(r-1)})/15` (Section 3.1, erratum 2)."""
    tail = 0.0 if r == 1.0 else math.exp(-(r + 0.5) / (r - 1.0))
    return (3.0 + 2.0 * math.exp(-2.5) - 5.0 * tail) / 15.0


def token_cap(r: float) -> float:
    """:math:`\\chi T(r) = \\chi g/G = \\tfrac18/(r-1)`; ``inf`` (unlimited) at :math:`r = 1`."""
    return math.inf if r == 1.0 else 0.125 / (r - 1.0)


def density(t: float) -> float:
    """:math:`f^*(t) = \\tfrac12 e^{-t/2}` (Section 3.1)."""
    return 0.5 * math.exp(-0.5 * t)


@dataclass(frozen=True)
class Row:
    """One number the package computes, beside its closed form."""

    quantity: str
    policy: str
    at: float | None
    package: float
    closed_form: float
    formula: str
    paper_text: str = ""

    @property
    def abs_difference(self) -> float:
        if self.package == self.closed_form:  # also both infinite
            return 0.0
        return abs(self.package - self.closed_form)

    def cells(self) -> list[str]:
        return [
            self.quantity,
            self.policy,
            "" if self.at is None else repr(self.at),
            repr(self.package),
            repr(self.closed_form),
            repr(self.abs_difference),
            self.formula,
            self.paper_text,
        ]


def compute(solution) -> list[Row]:
    """Every number of the comparison, computed by the package (a :class:`market.Solution`)."""
    optimal = solution["optimal token menu"]
    delay, diffusion = solution["constant-delay menu"], solution["diffusion menu"]
    rows = [
        Row(
            "revenue",
            "constant delay",
            None,
            delay.revenue,
            revenue_constant_delay(),
            "1/2 e^-3",
            "1/2 e^-3 ≈ 0.025",
        ),
        Row(
            "revenue",
            "diffusion",
            None,
            diffusion.revenue,
            revenue_diffusion(),
            "sech(2√2)",
            "sech(2√2) ≈ 0.12",
        ),
        Row(
            "revenue",
            "optimal token menu",
            None,
            optimal.revenue,
            revenue_optimal(),
            "0.2(1 − e^-2.5) + 0.5 e^-1 E1(1.5)",
            "≈ 0.2",
        ),
        Row(
            "revenue ratio",
            "optimal / constant delay",
            None,
            optimal.revenue / delay.revenue,
            revenue_optimal() / revenue_constant_delay(),
            "ratio of the closed forms",
            "8 times",
        ),
        Row(
            "revenue ratio",
            "optimal / diffusion",
            None,
            optimal.revenue / diffusion.revenue,
            revenue_optimal() / revenue_diffusion(),
            "ratio of the closed forms",
            "2 times",
        ),
        Row(
            "posted price",
            "constant delay",
            None,
            _posted(delay),
            math.exp(-3.0),
            "e^-3",
            "P = e^-3",
        ),
        Row(
            "posted price",
            "diffusion",
            None,
            _posted(diffusion),
            revenue_diffusion(),
            "sech(2√2)",
            "",
        ),
    ]
    menu, chi = optimal.menu, optimal.model.token_rate
    r = np.array(URGENCIES)
    for x, p in zip(URGENCIES, menu.price_of(r), strict=True):
        rows.append(
            Row(
                "price P(r)",
                "optimal token menu",
                x,
                float(p),
                price(x),
                "(3 + 2e^-5/2 − 5e^-(r+1/2)/(r−1))/15",
            )
        )
    for x, c in zip(URGENCIES, chi * menu.cap_of(r), strict=True):
        rows.append(
            Row("token cap χT(r)", "optimal token menu", x, float(c), token_cap(x), "(1/8)/(r − 1)")
        )
    for t, f in zip(TIMES, optimal.model.density(np.array(TIMES)), strict=True):
        rows.append(
            Row("stopping density f*(t)", "greedy model", t, float(f), density(t), "1/2 e^-t/2")
        )
    return rows


def _posted(policy) -> float:
    """The one price a family menu posts to the types it serves (equal to 1e-12)."""
    prices = np.array([row.price for row in policy.rows if row.served])
    if prices.size == 0 or np.ptp(prices) > POSTED_PRICE_TOLERANCE:
        raise ValueError(f"{policy.name}: expected one posted price to the buying types")
    return float(np.median(prices))


# -- output ----------------------------------------------------------------------------------
def write_csv(rows: Sequence[Row], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(row.cells() for row in rows)


def _fmt(x: float, digits: int = 10) -> str:
    return "unlimited" if math.isinf(x) else f"{x:.{digits}g}"


def _table(headers: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def markdown(rows: Sequence[Row]) -> str:
    """``results.md``: the tables and the figures."""
    by = {}
    for row in rows:
        by.setdefault(row.quantity, []).append(row)
    summary = [
        [
            row.quantity,
            row.policy,
            _fmt(row.package),
            _fmt(row.closed_form),
            row.formula,
            f"{row.abs_difference:.1e}",
            row.paper_text,
        ]
        for q in ("revenue", "revenue ratio", "posted price")
        for row in by[q]
    ]
    schedule = [
        [
            f"{p.at:.1f}",
            _fmt(p.package, 12),
            _fmt(p.closed_form, 12),
            f"{p.abs_difference:.1e}",
            _fmt(c.package, 12),
            _fmt(c.closed_form, 12),
            f"{c.abs_difference:.1e}",
        ]
        for p, c in zip(by["price P(r)"], by["token cap χT(r)"], strict=True)
    ]
    stopping = [
        [f"{f.at:g}", _fmt(f.package, 12), _fmt(f.closed_form, 12), f"{f.abs_difference:.1e}"]
        for f in by["stopping density f*(t)"]
    ]
    worst = max(row.abs_difference for row in rows)
    return "\n".join(
        [
            "# Token Is All You Price, Sections 2.2 and 3.1: the package against the closed forms",
            "",
            "Binary state, prior 1/2, quadratic entropy, token rate χ = 1/8, urgency r uniform"
            " on [1, 2]. `package`: computed by `market` (`market.solve`); `closed form`: the"
            " paper's formulas with the errata of docs/paper-notes.md (price: erratum 2; ratios:"
            " erratum 4).",
            f"Largest absolute difference: {worst:.1e}.",
            "",
            "## Revenues per user, their ratios and the families' posted prices",
            "",
            _table(
                [
                    "quantity",
                    "policy",
                    "package",
                    "closed form",
                    "formula",
                    "abs. diff.",
                    "paper's text",
                ],
                summary,
            ),
            "",
            "## Optimal token menu: price P(r) and token cap χT(r)",
            "",
            _table(
                [
                    "r",
                    "P(r) package",
                    "P(r) closed form",
                    "abs. diff.",
                    "χT(r) package",
                    "χT(r) closed form",
                    "abs. diff.",
                ],
                schedule,
            ),
            "",
            "## Greedy model: stopping density f*(t) = ½ e^{-t/2}",
            "",
            _table(["t", "package", "closed form", "abs. diff."], stopping),
            "",
            "## Figures",
            "",
            "![price and token cap](price_and_cap.png)",
            "",
            "![stopping density](stopping_density.png)",
            "",
            "![revenues](revenues.png)",
            "",
            "![Figure 1: stopping boundaries of the soft caps](reasoning_quality.png)",
            "",
        ]
    )


def quality_closed_form(r: float, t: float, chi: float = 0.125) -> float:
    r""":math:`\kappa_r(t)` for :math:`\alpha = 2`, :math:`T(r) = 1/(r-1)` (erratum 10):
    :math:`{}_1F_1(1;4;-z) = 3(z^2-2z+2-2e^{-z})/z^3` in elementary functions."""
    if r == 1.0:
        return math.sqrt(chi / r)
    z = 2.0 * r * max(1.0 / (r - 1.0) - t, 0.0)
    if z == 0.0:
        return 0.0
    return math.sqrt(chi / r * (1.0 - 2.0 / z + 2.0 * (-math.expm1(-z)) / z**2))


def quality_table(policy) -> str:
    """Figure 1's boundaries at t = 0 and t = T(r)/2: package against closed form."""
    lines = []
    for r in FIGURE1_TYPES:
        half = 1.0 if r == 1.0 else 0.5 / (r - 1.0)
        for t in (0.0, half):
            got = float(policy.quality([r], [t])[0])
            exact = quality_closed_form(r, t)
            lines.append([f"{r:g}", f"{t:g}", _fmt(got), _fmt(exact), f"{abs(got - exact):.1e}"])
    return _table(["r", "t", "κ_r(t) package", "κ_r(t) closed form", "abs. diff."], lines)


def figure_1(policy, path: Path) -> Path:
    """Figure 1: the stopping boundaries 1/2 ± κ_r(t) of the soft-cap models."""
    t = np.linspace(0.0, FIGURE1_HORIZON, 801)
    with figure(path, width=10.5, height=5.0) as (fig, ax):
        for r in FIGURE1_TYPES:
            cap = math.inf if r == 1.0 else 1.0 / (r - 1.0)
            kappa = np.where(t <= cap, policy.quality(np.full(t.size, r), t), np.nan)
            label = f"r = {r:g} (soft cap T = {'∞' if math.isinf(cap) else f'{cap:g}'})"
            (line,) = ax.plot(t, 0.5 + kappa, linewidth=2, label=label)
            ax.plot(t, 0.5 - kappa, linewidth=2, color=line.get_color())
            if cap <= FIGURE1_HORIZON:
                ax.axvline(cap, color=line.get_color(), linestyle=":", linewidth=1)
        ax.axhline(0.5, color="black", linewidth=0.8)
        ax.set_xlim(0, FIGURE1_HORIZON)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"running time t ({TIME_UNIT}); tokens used = χt")
        ax.set_ylabel("belief μ at which the conversation stops")
        ax.set_title("Figure 1: stopping boundaries ½ ± κ_r(t) (χ = 1/8, α = 2, r ~ U[1, 2])")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    return path


def figures(solution, rows: Sequence[Row], out: Path) -> list[Path]:
    """Price and token cap against r, f*(t), and the three revenues."""
    optimal = solution["optimal token menu"]
    menu, chi = optimal.menu, optimal.model.token_rate
    r = np.linspace(1.0, 2.0, 401)
    r_points = np.array(URGENCIES)
    paths = [out / "price_and_cap.png", out / "stopping_density.png", out / "revenues.png"]
    with figure(paths[0], width=12, height=4.8, ncols=2) as (fig, (ax_p, ax_c)):
        ax_p.plot(r, menu.price_of(r), linewidth=2, label="package: P(r)")
        ax_p.plot(
            r_points,
            [price(x) for x in r_points],
            "o",
            color="black",
            fillstyle="none",
            label=r"closed form $(3 + 2e^{-5/2} - 5e^{-(r+1/2)/(r-1)})/15$",
        )
        ax_p.set_title("Price of the optimal token menu")
        ax_p.set_xlabel(URGENCY_LABEL)
        ax_p.set_ylabel(f"price P(r) ({PAYMENT_UNIT})")
        ax_p.legend(loc="lower left", fontsize="small")
        inner = r[r > 1.0]
        ax_c.plot(inner, chi * menu.cap_of(inner), linewidth=2, label="package: χT(r)")
        ax_c.plot(
            r_points[1:],
            [token_cap(x) for x in r_points[1:]],
            "o",
            color="black",
            fillstyle="none",
            label=r"closed form $\frac{1}{8}/(r-1)$",
        )
        ax_c.set_yscale("log")
        ax_c.set_title("Token cap of the optimal token menu (unlimited at r = 1)")
        ax_c.set_xlabel(URGENCY_LABEL)
        ax_c.set_ylabel("token cap χT(r) (tokens; log scale)")
        ax_c.legend(loc="upper right", fontsize="small")
        fig.suptitle("Section 3.1: the optimal menu, package against closed form")
    t = np.linspace(0.0, 14.0, 401)
    with figure(paths[1], width=7.5, height=4.8) as (fig, ax):
        ax.plot(t, optimal.model.density(t), linewidth=2, label="package: greedy model f*(t)")
        ax.plot(
            t[::20],
            [density(x) for x in t[::20]],
            "o",
            color="black",
            fillstyle="none",
            label=r"closed form $\frac{1}{2}e^{-t/2}$",
        )
        ax.set_title("Section 3.1: stopping density of the greedy exploration model")
        ax.set_xlabel(f"breakthrough time t ({TIME_UNIT})")
        ax.set_ylabel("density f*(t) (per time unit)")
        ax.set_xlim(0, t[-1])
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small")
    revenue = [row for row in rows if row.quantity == "revenue"]
    with figure(paths[2], width=7.5, height=5.0) as (fig, ax):
        x = np.arange(len(revenue))
        ax.bar(
            x,
            [row.package for row in revenue],
            color=["#DDAA33", "#66CCEE", "#4477AA"],
            edgecolor="black",
        )
        ax.plot(
            x,
            [row.closed_form for row in revenue],
            "_",
            color="black",
            markersize=40,
            markeredgewidth=2,
        )
        best = revenue[-1].package
        for i, row in enumerate(revenue):
            ratio = "" if row is revenue[-1] else f"\n(optimal is {best / row.package:.2f}×)"
            ax.annotate(
                f"{row.package:.7f}{ratio}",
                (i, row.package),
                xytext=(0, 6),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
            )
        ax.set_xticks(x, [row.policy for row in revenue])
        ax.set_ylim(0, best * 1.25)
        ax.set_ylabel(f"revenue per user ({PAYMENT_UNIT})")
        ax.set_title("Sections 2.2 and 3.1: revenue of the three policies")
        handles = [
            Patch(facecolor="#BBBBBB", edgecolor="black", label="package (market.solve)"),
            Line2D(
                [],
                [],
                color="black",
                marker="_",
                linestyle="",
                markersize=16,
                markeredgewidth=2,
                label="closed form (docs/paper-notes.md erratum 4)",
            ),
        ]
        ax.legend(handles=handles, loc="upper left", fontsize="small")
    return paths


def reproduce(out: str | os.PathLike) -> tuple[Path, list[Row]]:
    """Compute, then write ``out`` atomically; returns the folder and the rows."""
    out = Path(out)
    scenario = mk.parse_scenario(PAPER_SCENARIO, "<paper example>")
    solution = mk.solve(scenario, ["optimal_token_menu", "constant_delay", "diffusion"])
    rows = compute(solution)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
    tmp.mkdir()
    try:
        write_csv(rows, tmp / "results.csv")
        (tmp / "results.md").write_text(markdown(rows), encoding="utf-8")
        figures(solution, rows, tmp)
        soft = mk.solve(mk.parse_scenario(SOFT_CAPS_SCENARIO, "<paper soft caps>"))["soft caps"]
        figure_1(soft, tmp / "reasoning_quality.png")
        with (tmp / "results.md").open("a", encoding="utf-8") as handle:
            handle.write(
                "\n## Section 4, Figure 1: reasoning quality κ_r(t) of the soft caps (α = 2)\n\n"
                + quality_table(soft)
                + "\n"
            )
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="reproduce_paper.py",
        description="Reproduce Sections 2.2 and 3.1 of 'Token Is All You Price' with market.",
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        metavar="DIR",
        help=f"output folder, replaced if it exists (default: {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    out, rows = reproduce(args.out)
    print(markdown(rows).split("\n## Figures")[0].rstrip())
    print(
        f"\nwritten: {out}/ (results.md, results.csv, price_and_cap.png, "
        "stopping_density.png, revenues.png, reasoning_quality.png)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
