"""A cost per token (Section 2.1; docs/paper-notes.md erratum 12): the profit-maximising menu,
the first-best caps and welfare net of the cost."""

import math

import numpy as np
import pytest
from scipy import integrate

from market.theory.costs import first_best_caps
from market.theory.greedy import GreedyModel
from market.theory.information import Quadratic
from market.theory.mechanism import OptimalTokenMenu, first_best_welfare
from market.theory.urgency import Uniform
from market.theory.valuation import Valuation

# The paper's example: tau exponential with rate lambda = 1/2, chi = 1/8, r ~ U[1, 2].
LAMBDA, CHI = 0.5, 0.125


@pytest.fixture(scope="module")
def model():
    return GreedyModel(Quadratic(2), [0.5, 0.5], CHI)


@pytest.fixture(scope="module")
def urgency():
    return Uniform(1.0, 2.0)


@pytest.mark.parametrize(
    "cost, profit",
    # docs/paper-notes.md erratum 12(c) and issue 10: pointwise argmax of
    # G(r)[q f e^{-rt} - c chi S] on a grid + bounded Brent, integrated by quad.
    [(0.05, 0.1941792071), (0.2, 0.1738146213), (1.0, 0.0966200470)],
)
def test_paper_profit_with_a_cost(model, urgency, cost, profit):
    menu = OptimalTokenMenu(model, urgency, cost=cost)
    assert menu.profit == pytest.approx(profit, abs=2e-10)
    assert menu.token_cost == pytest.approx(cost * menu.tokens_per_user, rel=1e-15)
    assert menu.welfare == pytest.approx(menu.profit + menu.user_surplus, abs=1e-14)
    # The most patient type's cap is its first best ln(lambda/(c chi)) (erratum 12(b)).
    assert menu.cap(np.array([1.0]))[0] == pytest.approx(math.log(LAMBDA / (cost * CHI)), rel=1e-12)
    assert menu.incentive_report(np.linspace(1, 2, 201)).passes()


def test_gross_revenue_and_token_cost_at_five_cents(model, urgency):
    # Issue 10: gross revenue 0.2016084993, token cost 0.0074292922; T(1) = ln 80.
    menu = OptimalTokenMenu(model, urgency, cost=0.05)
    assert menu.revenue == pytest.approx(0.2016084993, abs=2e-10)
    assert menu.token_cost == pytest.approx(0.0074292922, abs=2e-10)
    assert menu.cap(np.array([1.0]))[0] == pytest.approx(4.3820266347, abs=1e-10)
    assert math.log(80) == pytest.approx(4.3820266347, abs=1e-10)


def test_first_best_caps_closed_form(model):
    # Exponential tau: q h(T) e^{-rT} = c chi with h = lambda gives T = ln(lambda q/(c chi))/r.
    r = np.array([1.0, 1.3, 2.0, 1.7])
    q = np.array([1.0, 0.7, 2.5, 0.01])
    cost = 0.2
    caps = first_best_caps(model, r, q, cost)
    closed = np.maximum(np.log(LAMBDA * q / (cost * CHI)), 0) / r
    assert np.allclose(caps, closed, rtol=1e-12, atol=1e-14)
    assert caps[-1] == 0  # q lambda < c chi: not worth serving


@pytest.mark.parametrize("expression, cost", [(None, 0.2), ("1 + 0.5*(r - 1)", 0.5)])
def test_first_best_welfare_nets_the_cost(model, urgency, expression, cost):
    valuation = None if expression is None else Valuation.from_expression(expression)
    q = (lambda r: 1.0) if valuation is None else (lambda r: 1 + 0.5 * (r - 1))

    # max_T q lambda/(lambda + r)(1 - e^{-(lambda + r)T}) - c chi (1 - e^{-lambda T})/lambda
    def best(r):
        t = max(math.log(LAMBDA * q(r) / (cost * CHI)), 0.0) / r
        gross = q(r) * LAMBDA / (LAMBDA + r) * (1 - math.exp(-(LAMBDA + r) * t))
        return gross - cost * CHI * (1 - math.exp(-LAMBDA * t)) / LAMBDA

    expected = integrate.quad(best, 1.0, 2.0, epsabs=1e-14, epsrel=1e-13)[0]
    got = first_best_welfare(model, urgency, valuation, cost)
    assert got == pytest.approx(expected, abs=1e-11)
    menu = OptimalTokenMenu(model, urgency, valuation=valuation, cost=cost)
    assert menu.welfare <= got + 1e-12


def test_a_cost_can_break_individual_rationality_with_mild_valuations(model, urgency):
    # With c = 0.5 the caps shrink below 1 near r = 2, where the rent rate q B - q' A
    # (A = E[e^{-r tau} 1{tau <= T}], B = E[tau e^{-r tau} 1{tau <= T}]) turns negative: the
    # surplus just below the top is negative (erratum 7(b)'s condition q'/q > B/A).
    q = Valuation.from_expression("1 + 0.5*(r - 1)")
    menu = OptimalTokenMenu(model, urgency, valuation=q, cost=0.5)
    cap = float(menu.cap(np.array([2.0]))[0])
    density = lambda t: LAMBDA * math.exp(-LAMBDA * t)  # noqa: E731
    a = integrate.quad(lambda t: math.exp(-2 * t) * density(t), 0, cap)[0]
    b = integrate.quad(lambda t: t * math.exp(-2 * t) * density(t), 0, cap)[0]
    assert 1.5 * b - 0.5 * a < 0  # q(2) = 1.5, q' = 0.5
    report = menu.incentive_report()
    assert report.ic_holds() and not report.ir_holds()
    assert report.min_surplus < -1e-3 and menu.user_surplus < 0


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, True, "0.1"])
def test_cost_must_be_a_finite_number(model, urgency, bad):
    with pytest.raises(ValueError, match=r"^cost = .*: expected a (finite )?number >= 0"):
        OptimalTokenMenu(model, urgency, cost=bad)
