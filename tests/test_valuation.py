"""Heterogeneous valuations (Section 4): the formula parser, :class:`Valuation`, the optimal
menu with q(r) (threshold caps, exclusion, tariff prices), its IC/IR check, and the best IC/IR
menu of caps by linear programming when the paper's claim fails (docs/paper-notes.md,
errata 7 and 11)."""

import math

import numpy as np
import pytest
from scipy import integrate

from market.theory.formula import FormulaError, parse
from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic
from market.theory.lottery import best_cap_menu
from market.theory.mechanism import OptimalTokenMenu
from market.theory.urgency import Uniform
from market.theory.valuation import Valuation, ValuationError

# The paper's example: binary quadratic entropy, chi = 1/8, r ~ U[1, 2]; tau is exponential
# with rate lambda = 1/2 (f = e^{-t/2}/2, docs/paper-notes.md erratum 7(c)).
LAMBDA = 0.5


@pytest.fixture(scope="module")
def model():
    return GreedyModel(Quadratic(2), [0.5, 0.5], 0.125)


@pytest.fixture(scope="module")
def urgency():
    return Uniform(1.0, 2.0)


# -- the formula language ----------------------------------------------------------------
@pytest.mark.parametrize(
    "text, value, slope",
    [
        ("1 + 0.5*(r - 1)", lambda r: 1 + 0.5 * (r - 1), lambda r: 0.5 + 0 * r),
        ("-r^2", lambda r: -(r**2), lambda r: -2 * r),  # ^ binds tighter than unary minus
        ("2^r^2", lambda r: 2 ** (r**2), lambda r: 2 ** (r**2) * math.log(2) * 2 * r),
        ("r**3/(1 + r)", lambda r: r**3 / (1 + r), lambda r: (2 * r**3 + 3 * r**2) / (1 + r) ** 2),
        ("exp(2*(r-1))", lambda r: np.exp(2 * (r - 1)), lambda r: 2 * np.exp(2 * (r - 1))),
        ("log(r) + sqrt(r)", lambda r: np.log(r) + np.sqrt(r), lambda r: 1 / r + 0.5 / np.sqrt(r)),
        ("tanh(r)", np.tanh, lambda r: 1 - np.tanh(r) ** 2),
        ("min(3 - r, 1.5)", lambda r: np.minimum(3 - r, 1.5), lambda r: np.where(r > 1.5, -1.0, 0)),
        ("max(r, .5, 1e-3)", lambda r: np.maximum(r, 0.5), lambda r: np.ones_like(r)),
    ],
)
def test_formula_values_and_exact_derivatives(text, value, slope):
    r = np.array([1.1, 1.3, 1.7, 1.9])  # away from the kinks of min/max
    f = parse(text)
    v, d = f.evaluate(r)
    assert np.allclose(v, value(r), rtol=1e-14, atol=0)
    assert np.allclose(d, slope(r), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 +", r"expression = '1 \+': expected a number, r, a function or '\(' at the end"),
        ("foo(r)", r"unknown name 'foo'"),
        ("__import__(r)", r"unknown name '__import__'"),
        ("__import__('os')", r"unexpected character \"'\" at position 11"),
        ("r.real", r"unexpected character '\.'|expected an operator"),
        ("(r + 1", r"expected '\)' to close '\('"),
        ("r + 1)", r"unmatched '\)'"),
        ("exp", r"exp is a function"),
        ("min(r)", r"min takes 2 or more arguments"),
        ("exp(r, 1)", r"exp takes 1 argument"),
        ("", r"expected a formula in r"),
    ],
)
def test_formula_errors_name_the_field(text, message):
    with pytest.raises(FormulaError, match=message):
        parse(text)
    with pytest.raises(ValuationError, match=r"^expression"):
        Valuation.from_expression(text)


def test_valuation_check_names_the_bad_urgency():
    with pytest.raises(ValuationError, match=r"expression = '1.5 - r'.*at r = 1.5.*positive"):
        Valuation.from_expression("1.5 - r").check(1.0, 2.0)
    with pytest.raises(ValuationError, match=r"q'\(r\) = .* at r = 0"):
        Valuation.from_expression("sqrt(r) + 1").check(0.0, 1.0)  # infinite slope at 0
    Valuation.from_expression("3 - r").check(1.0, 2.0)


def test_valuation_from_points_is_monotone_and_checked():
    v = Valuation.from_points([1.0, 1.5, 2.0], [1.0, 1.3, 1.4])
    r = np.linspace(1.0, 2.0, 1001)
    assert np.allclose(v.q(np.array([1.0, 1.5, 2.0])), [1.0, 1.3, 1.4], rtol=1e-15)
    assert np.all(np.diff(v.q(r)) >= 0) and np.all(v.dq(r) >= 0)  # PCHIP keeps monotone data
    with pytest.raises(ValuationError, match=r"^urgency = \[1, 1, 2\]: expected strictly"):
        Valuation.from_points([1.0, 1.0, 2.0], [1.0, 1.1, 1.2])
    with pytest.raises(ValuationError, match=r"^value = \[1, 2\]: expected as many values"):
        Valuation.from_points([1.0, 1.5, 2.0], [1.0, 2.0])
    with pytest.raises(ValuationError, match=r"must cover the urgency range \[1, 3\]"):
        v.check(1.0, 3.0)


# -- the optimal menu with q(r) --------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, revenue",
    [
        # docs/paper-notes.md, errata 7 and 11: independent quad of the tariff with rho*(t).
        ("1 + 0.5*(r - 1)", 0.3012160559),
        ("3 - r", 0.2169486909),
    ],
)
def test_paper_revenue_with_valuations(model, urgency, expression, revenue):
    menu = OptimalTokenMenu(model, urgency, valuation=Valuation.from_expression(expression))
    assert menu.revenue == pytest.approx(revenue, abs=2e-10)
    report = menu.incentive_report()
    assert report.passes() and report.failures() == ()
    # The tariff P(r) = int_0^T f q(rho*) e^{-rho* t} dt equals the envelope price (erratum 11).
    r = np.array([1.02, 1.3, 1.6, 1.95])
    assert np.allclose(menu.tariff(r), menu.price(r), rtol=0, atol=1e-10)


def test_linear_valuation_caps_are_g_over_G_plus_q_slope(model, urgency):
    # l = log q + log G is concave for q = 1 + (r - 1)/2: T = 1/(r - 1) + 0.5/q (Section 4).
    menu = OptimalTokenMenu(model, urgency, valuation=Valuation.from_expression("1 + 0.5*(r-1)"))
    r = np.array([1.1, 1.5, 1.9, 2.0])
    assert np.allclose(menu.cap(r), 1 / (r - 1) + 0.5 / (1 + 0.5 * (r - 1)), rtol=1e-13)
    assert menu.top == 2.0 and menu.participation == 1.0


def test_exclusion_above_argmax_qG(model, urgency):
    # q = e^{-3(r-1)}: qG = (r-1)e^{-3(r-1)} peaks at r = 4/3; l is concave, so
    # T(r) = 1/(r-1) - 3 below 4/3 and types above are excluded (cap 0, price 0).
    menu = OptimalTokenMenu(model, urgency, valuation=Valuation.from_expression("exp(-3*(r-1))"))
    assert menu.top == pytest.approx(4 / 3, abs=1e-12)
    assert menu.participation == pytest.approx(1 / 3, abs=1e-12)
    r = np.array([1.05, 1.2, 1.3])
    assert np.allclose(menu.cap(r), 1 / (r - 1) - 3, rtol=1e-12)
    out = np.array([1.34, 1.6, 2.0])
    assert np.all(menu.cap(out) == 0) and np.allclose(menu.price(out), 0, atol=1e-14)
    assert menu.price(np.array([4 / 3]))[0] == pytest.approx(0, abs=1e-12)  # IR binds at top

    # Revenue by quad of the tariff: rho*(t) = 1 + 1/(t + 3), f = e^{-t/2}/2.
    def rate(t):
        rho = 1 + 1 / (t + 3)
        return LAMBDA * np.exp(-LAMBDA * t) * np.exp(-3 * (rho - 1)) * (rho - 1) * np.exp(-rho * t)

    expected = integrate.quad(rate, 0, np.inf, epsabs=1e-14, epsrel=1e-13)[0]
    assert menu.revenue == pytest.approx(expected, abs=1e-10)
    assert menu.incentive_report().passes()


def test_steep_valuation_breaks_ir_and_the_lp_finds_the_posted_price(model, urgency):
    # docs/paper-notes.md erratum 7(c): q = e^{2(r-1)}, threshold menu surplus s(1) = -1.1450;
    # the best cap menu is one uncapped plan to r >= r* = (3 + sqrt 5)/4, revenue
    # e^{(sqrt5 - 1)/2}(3 - sqrt 5)/4 (first-order condition of (2 - r) q(r) lambda/(lambda + r)).
    q = Valuation.from_expression("exp(2*(r-1))")
    menu = OptimalTokenMenu(model, urgency, valuation=q)
    report = menu.incentive_report()
    assert report.ic_holds() and not report.ir_holds()
    assert report.ir_type == 1.0 and report.min_surplus == pytest.approx(-1.1450, abs=1e-4)
    (line,) = report.failures()
    assert line.startswith("individual rationality fails: type r = 1 pays more")
    best = best_cap_menu(model, urgency, q)
    r_star = (3 + math.sqrt(5)) / 4
    closed = math.exp((math.sqrt(5) - 1) / 2) * (3 - math.sqrt(5)) / 4
    assert closed == pytest.approx(0.3543263698, abs=1e-10)
    assert best.converged and best.revenue == pytest.approx(closed, abs=5e-9)
    assert best.revenue <= closed + 1e-12  # a feasible menu never beats the optimum
    (item,) = best.items
    assert item.caps == (math.inf,) and item.probabilities == (1.0,)
    assert item.low == pytest.approx(r_star, abs=1e-4) and item.high == 2.0
