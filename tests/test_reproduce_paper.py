"""``analysis/reproduce_paper.py``: the paper's numbers beside their closed forms.

The closed forms are typed in here from the paper and docs/paper-notes.md, and computed with numpy
and
scipy (not with the script's own helpers): Zhong (2025), Section 2.2 (constant delay ½e^{-3},
diffusion sech(2√2)), Section 3.1 (optimal revenue 0.2(1−e^{-2.5}) + 0.5e^{-1}E₁(1.5), price
with the factor t of erratum 2, caps (1/8)/(r−1), f*(t) = ½e^{-t/2}); ratios: erratum 4.
"""

import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import exp1

from market.io import rundir

SCRIPT = Path(__file__).parent.parent / "analysis" / "reproduce_paper.py"
#: Agreement required of every number with its closed form.
TOLERANCE = 1e-9
FILES = {
    "results.md",
    "results.csv",
    "price_and_cap.png",
    "stopping_density.png",
    "revenues.png",
    "reasoning_quality.png",  # Figure 1 (Section 4, soft caps; tests/test_softcaps.py)
}

REVENUE = {
    "constant delay": 0.5 * np.exp(-3.0),
    "diffusion": 1.0 / np.cosh(2.0 * np.sqrt(2.0)),
    "optimal token menu": 0.2 * (1 - np.exp(-2.5)) + 0.5 * np.exp(-1.0) * exp1(1.5),
}


def closed_price(r):
    tail = 0.0 if r == 1 else np.exp(-(r + 0.5) / (r - 1))
    return (3 + 2 * np.exp(-2.5) - 5 * tail) / 15


def closed_cap(r):
    return math.inf if r == 1 else 0.125 / (r - 1)


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("reproduce_paper", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def output(script, tmp_path_factory):
    """One run of the script, over an earlier output folder that it must replace."""
    out = tmp_path_factory.mktemp("runs") / "paper"
    out.mkdir()
    (out / "stale.txt").write_text("an earlier run")
    with pytest.MonkeyPatch.context() as mp:
        printed = []
        mp.setattr("builtins.print", lambda *a, **k: printed.append(" ".join(map(str, a))))
        assert script.main(["--out", str(out)]) == 0
    return out, "\n".join(printed)


def read_rows(out):
    with (out / "results.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_folder_is_replaced_whole(output):
    out, _ = output
    assert {p.name for p in out.iterdir()} == FILES
    assert [p.name for p in out.parent.iterdir()] == ["paper"]  # no temporary or old folder
    for name in FILES - {"results.md", "results.csv"}:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_revenues_and_ratios(output):
    rows = read_rows(output[0])
    revenue = {r["policy"]: r for r in rows if r["quantity"] == "revenue"}
    assert set(revenue) == set(REVENUE)
    for policy, exact in REVENUE.items():
        assert float(revenue[policy]["package"]) == pytest.approx(exact, abs=TOLERANCE)
        assert float(revenue[policy]["closed_form"]) == pytest.approx(exact, abs=TOLERANCE)
        assert float(revenue[policy]["abs_difference"]) <= TOLERANCE
    ratio = {r["policy"]: float(r["package"]) for r in rows if r["quantity"] == "revenue ratio"}
    opt = REVENUE["optimal token menu"]
    assert ratio["optimal / constant delay"] == pytest.approx(opt / REVENUE["constant delay"])
    assert ratio["optimal / diffusion"] == pytest.approx(opt / REVENUE["diffusion"])
    assert round(ratio["optimal / constant delay"], 2) == 8.11  # the text says "8 times"
    assert round(ratio["optimal / diffusion"], 2) == 1.71  # the text says "2 times"


def test_price_schedule_and_caps(output):
    rows = read_rows(output[0])
    prices = [r for r in rows if r["quantity"] == "price P(r)"]
    caps = [r for r in rows if r["quantity"] == "token cap χT(r)"]
    grid = [1 + k / 10 for k in range(11)]
    assert [float(r["at"]) for r in prices] == pytest.approx(grid)
    assert [float(r["at"]) for r in caps] == pytest.approx(grid)
    for row in prices:
        exact = closed_price(float(row["at"]))
        assert float(row["package"]) == pytest.approx(exact, abs=TOLERANCE)
        assert float(row["closed_form"]) == pytest.approx(exact, abs=TOLERANCE)
    for row in caps:
        exact = closed_cap(float(row["at"]))
        assert float(row["package"]) == pytest.approx(exact, abs=TOLERANCE)
        assert float(row["closed_form"]) == pytest.approx(exact, abs=TOLERANCE)
    assert math.isinf(float(caps[0]["package"]))  # unlimited at r = 1


def test_stopping_density(output):
    rows = [r for r in read_rows(output[0]) if r["quantity"] == "stopping density f*(t)"]
    assert rows
    for row in rows:
        t = float(row["at"])
        assert float(row["package"]) == pytest.approx(0.5 * np.exp(-t / 2), abs=TOLERANCE)


def test_markdown_and_printed_table(output):
    out, printed = output
    text = (out / "results.md").read_text(encoding="utf-8")
    for number in ("0.02489353418", "0.1177999602", "0.2019805743", "8.113776566"):
        assert number in text and number in printed
    for figure in FILES - {"results.md", "results.csv"}:
        assert f"]({figure})" in text
    assert "| 1.0 | 0.210944666483 |" in text  # P(1) = (3 + 2e^{-5/2})/15
    assert "unlimited" in text


def test_replace_folder_without_exchange(tmp_path, monkeypatch):
    """Where renameat2 cannot exchange, the old folder is renamed aside, then removed."""
    monkeypatch.setattr(rundir, "_exchange", lambda a, b: False)
    new, target = tmp_path / ".new.partial", tmp_path / "target"
    new.mkdir()
    (new / "a.txt").write_text("new")
    target.mkdir()
    (target / "b.txt").write_text("old")
    assert rundir.replace_folder(new, target) == target
    assert [p.name for p in tmp_path.iterdir()] == ["target"]
    assert [p.name for p in target.iterdir()] == ["a.txt"]


def test_replace_folder_exchanges(tmp_path):
    new, target = tmp_path / ".new.partial", tmp_path / "target"
    new.mkdir()
    (new / "a.txt").write_text("new")
    rundir.replace_folder(new, target)  # nothing there yet: a plain rename
    newer = tmp_path / ".newer.partial"
    newer.mkdir()
    (newer / "c.txt").write_text("newer")
    rundir.replace_folder(newer, target)
    assert [p.name for p in tmp_path.iterdir()] == ["target"]
    assert [p.name for p in target.iterdir()] == ["c.txt"]
