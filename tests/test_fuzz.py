"""Random valid scenarios through the command line (hypothesis): every run either exits 0 with
finite numbers obeying what must hold, or exits 2 with one line per problem naming a field.

What must hold (issue 8): ``0 <= revenue <= welfare <= first best`` and ``user surplus >= 0``
(within 1e-9); nothing beats Theorem 1's token menu; a family never earns less than those it
contains (``3 tiers >= 2 tiers >= flat``, ``2 speed tiers >= flat``, ``two-part >= max(flat,
per-token)``). Scenarios: 2 to 12 states, every entropy (random positive-definite matrices,
which may take the greedy path out of Assumption 1: then exit 2 naming ``information.matrix``),
every urgency law, densities infinite at an end (beta shapes below 1) and mixtures.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.cli import main
from market.scenario.toml import dumps

TOL = 1e-9
#: A problem line names a field: ``<file>: <field>...`` with a field path or a policy.
FIELD = re.compile(r"^error: \S+: (information|urgency|market|policies\[\d+\]|name|seed)")


@st.composite
def urgency_laws(draw, low: float, high: float, mixture: bool = True):
    kinds = ["uniform", "truncnorm", "beta", *(["mixture"] if mixture else [])]
    kind = draw(st.sampled_from(kinds))
    width = high - low
    if kind == "uniform":
        return {"distribution": "uniform", "low": low, "high": high}
    if kind == "truncnorm":
        mean = draw(st.floats(low - 3 * width, high + 3 * width))
        sd = width * 10 ** draw(st.floats(-2, 1))
        return {"distribution": "truncnorm", "mean": mean, "sd": sd, "low": low, "high": high}
    if kind == "beta":
        a, b = (10 ** draw(st.floats(-1.5, 1.0)) for _ in range(2))
        return {"distribution": "beta", "a": a, "b": b, "low": low, "high": high}
    components = []
    for _ in range(draw(st.integers(2, 3))):
        lo = draw(st.floats(low, high - width / 4))
        hi = draw(st.floats(lo + width / 8, high))
        component = draw(urgency_laws(lo, hi, mixture=False))
        component["weight"] = draw(st.floats(0.1, 1.0))
        components.append(component)
    return {"distribution": "mixture", "components": components}


@st.composite
def scenarios(draw):
    n = draw(st.integers(2, 12))
    entropy = draw(st.sampled_from(["quadratic", "shannon", "mahalanobis"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(n) * draw(st.sampled_from([0.3, 1.0, 5.0])))
    prior = np.maximum(prior, 1e-6)
    info = {
        "prior": [float(p) for p in prior / prior.sum()],
        "entropy": entropy,
        "token_rate": 10 ** draw(st.floats(-2, 1)),
    }
    if entropy == "mahalanobis":
        a = rng.normal(size=(n, n))
        info["matrix"] = (a @ a.T + draw(st.floats(0.1, 2.0)) * np.eye(n)).tolist()
    low = 10 ** draw(st.floats(-1, 0.5))
    high = low * 10 ** draw(st.floats(0.05, 1.5))
    return {"name": "fuzz", "information": info, "urgency": draw(urgency_laws(low, high))}


def solve(path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["solve", str(path), "--json"])
    return code, out.getvalue(), err.getvalue()


def check(code: int, out: str, err: str) -> None:
    if code == 2:
        lines = err.strip().splitlines()
        assert out == "" and 1 <= len(lines) <= 10, err
        assert all(FIELD.match(line) for line in lines), err
        return
    assert code == 0 and err == "", err
    data = json.loads(out)  # strict JSON: no NaN or Infinity
    fb = data["first_best_welfare"]
    assert math.isfinite(fb) and fb >= -TOL
    revenue = {}
    for p in data["policies"]:
        values = [p[k] for k in ("revenue", "user_surplus", "welfare", "participation")]
        assert all(math.isfinite(v) for v in values), p["name"]
        assert -TOL <= p["revenue"] <= p["welfare"] + TOL <= fb + 2 * TOL, p["name"]
        assert p["user_surplus"] >= -TOL, p["name"]
        assert all(row["price"] >= -TOL for row in p["menu"]), p["name"]
        revenue[p["name"]] = p["revenue"]
    optimal = revenue["optimal token menu"]
    assert all(r <= optimal + TOL for r in revenue.values()), revenue
    assert revenue["3 tiers"] >= revenue["2 tiers"] - TOL >= revenue["flat price"] - 2 * TOL
    assert revenue["2 speed tiers"] >= revenue["flat price"] - TOL
    assert (
        revenue["two-part tariff"] >= max(revenue["flat price"], revenue["per-token price"]) - TOL
    )


def run(tmp_path_factory, scenario) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.toml"
    path.write_text(dumps(scenario), encoding="utf-8")
    check(*solve(path))


@settings(
    max_examples=2,  # the breadth is in the slow run below (150 examples)
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_random_scenarios(tmp_path_factory, scenario):
    run(tmp_path_factory, scenario)


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_many_random_scenarios(tmp_path_factory, scenario):
    run(tmp_path_factory, scenario)
