r"""Soft caps: endogenous reasoning quality (Zhong 2025, Section 4, Figure 1; issue 10 §3).

Numbers come from closed forms derived here, from docs/paper-notes.md erratum 10 (computed there
by quad, independently of the package) or from scipy quadrature in the test. The closed form of
:math:`\alpha = 2`: by the integral form :math:`{}_1F_1(1;4;-z) = 3\int_0^1 e^{-zs}(1-s)^2ds`,

.. math:: {}_1F_1(1;4;-z) = \frac{3(z^2 - 2z + 2 - 2e^{-z})}{z^3}, \qquad
   \kappa(t)^2 = \frac{\chi}{r}\Big(1 - \frac2z + \frac{2(1-e^{-z})}{z^2}\Big),\ z = 2r(T-t),

so at :math:`r = 1.5, T = 2, \chi = 1/8` (:math:`z = 6`): :math:`\kappa(0) = \sqrt{(13 -
e^{-6})/216} = 0.2453033010`, and the value :math:`\kappa(0)/2 = 0.1226516505`.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import hyp1f1

from market.api import scenario_of, simulate, solve
from market.scenario.errors import ScenarioError
from market.sim.softcaps import jumps
from market.theory.softcaps import QualityLaw, kummer
from market.theory.softcaps_menu import SoftCapMenu
from market.theory.urgency import Uniform

CHI = 0.125  # the paper's example (Section 2.2)


def kappa2_closed(r, cap, t, chi=CHI):
    """kappa^2 for alpha = 2 in elementary functions (module docstring)."""
    if math.isinf(cap):
        return chi / r
    z = 2.0 * r * (cap - t)
    return chi / r * (1.0 - 2.0 / z + 2.0 * (-math.expm1(-z)) / z**2)


def scenario(alpha=2.0, policies=("soft_caps",), **info):
    information = {"prior": [0.5, 0.5], "entropy": "power", "alpha": alpha, "token_rate": CHI}
    information.update(info)
    return {
        "name": "soft-caps-test",
        "description": "test",
        "information": information,
        "urgency": {"distribution": "uniform", "low": 1.0, "high": 2.0},
        "policies": [{"kind": k} if isinstance(k, str) else k for k in policies],
    }


@pytest.fixture(scope="module")
def law():
    return QualityLaw(2.0, CHI)


#: The three policies of the comparison, on the paper's example with alpha = 2.
COMPARED = ("soft_caps", "hard_caps", {"kind": "hard_caps", "name": "half", "quality": 0.5})


@pytest.fixture(scope="module")
def compared():
    return solve(scenario(policies=COMPARED))


@pytest.fixture(scope="module")
def paper_menu():
    return SoftCapMenu(2.0, CHI, Uniform(1.0, 2.0))


# -- the closed form of kappa -----------------------------------------------------------------


def test_kummer_form_is_stable_at_800():
    # The paper's form e^{-z} 1F1(3; 4; z) overflows at z = 800 (erratum 10) ...
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.exp(-800.0) * hyp1f1(3.0, 4.0, 800.0))
    # ... Kummer's 1F1(1; 4; -800) does not: 3(z^2 - 2z + 2 - 2e^-z)/z^3 = 0.0037406 (erratum 10).
    exact = 3.0 * (800.0**2 - 1600.0 + 2.0) / 800.0**3
    assert float(kummer(2.0, 800.0)) == pytest.approx(exact, rel=1e-14)
    assert float(kummer(2.0, 800.0)) == pytest.approx(0.0037406, abs=5e-8)


@pytest.mark.parametrize("alpha", [2.5, 3.0, 7.0])
def test_kummer_against_its_integral_form(alpha):
    # 1F1(1; b; -z) = (b - 1) int_0^1 e^{-zs} (1 - s)^{b-2} ds (DLMF 13.4.1), by quad.
    b = alpha + 2.0
    for z in (0.1, 1.0, 5.0, 20.0, 50.0):
        ref = (b - 1) * quad(lambda s, z=z: math.exp(-z * s) * (1 - s) ** (b - 2), 0, 1,
                             epsabs=0, epsrel=1e-13)[0]  # fmt: skip
        assert float(kummer(alpha, z)) == pytest.approx(ref, rel=1e-12)


def test_quality_at_start_has_its_closed_form(law):
    # Module docstring: kappa(0) = sqrt((13 - e^-6)/216) at r = 1.5, T = 2, alpha = 2.
    k0 = math.sqrt((13.0 - math.exp(-6.0)) / 216.0)
    assert float(law.quality(1.5, 2.0, 0.0)) == pytest.approx(k0, rel=1e-14)
    assert k0 == pytest.approx(0.2453033010, abs=1e-10)
    # The value of the pointwise problem (13), (alpha - 1) kappa(0)/alpha: 0.1226516505
    # (docs/paper-notes.md erratum 10, by quad of the policy's value).
    assert float(law.pointwise_value(1.5, 2.0)) == pytest.approx(0.1226516505, abs=1e-10)
    # The same value from the jump law: E[kappa e^{-r tau} (1 - tau/T)].
    own = law.own([1.5], [2.0])
    assert own["utility"][0] - own["rent"][0] / 2.0 == pytest.approx(0.1226516505, abs=1e-10)


def test_quality_along_the_path_is_the_elementary_form(law):
    for r, cap in ((1.5, 2.0), (1.1, 10.0), (2.0, 1.0), (1.01, 100.0)):
        for t in np.linspace(0, cap, 7)[:-1]:
            got = float(law.quality(r, cap, t))
            assert got**2 == pytest.approx(kappa2_closed(r, cap, t), rel=1e-12)
    assert float(law.quality(1.5, 2.0, 2.0)) == 0.0  # quality is 0 at the soft cap


@pytest.mark.parametrize("alpha", [2.0, 3.0])
def test_quality_tends_to_the_stationary_one(alpha):
    law = QualityLaw(alpha, CHI)
    limit = (CHI / ((alpha - 1) * 1.5)) ** (1 / alpha)
    if alpha == 2.0:
        assert limit == pytest.approx(0.28867513, abs=1e-8)  # sqrt(chi/r), erratum 10
        # erratum 10: 0.28867504 at T = 1e6 (the approach is O(1/(r T))).
        assert float(law.quality(1.5, 1e6, 0.0)) == pytest.approx(0.28867504, abs=1e-8)
    assert float(law.quality(1.5, np.inf, 3.0)) == pytest.approx(limit, rel=1e-15)
    gap = [limit - float(law.quality(1.5, cap, 0.0)) for cap in (10.0, 100.0, 1000.0)]
    assert gap[0] > gap[1] > gap[2] > 0 and gap[2] < 1e-3 * limit


def test_hjb_residual(law):
    # Erratum 10: with phi = e^{-rt}(1 - t/T) and w = (alpha - 1) kappa phi / alpha, the HJB
    # -w' = chi kappa^{-alpha} (kappa phi - w) holds (central differences, step 1e-5).
    r, cap, alpha, h = 1.5, 2.0, 2.0, 1e-5

    def w(t):
        phi = math.exp(-r * t) * (1 - t / cap)
        return (alpha - 1) * float(law.quality(r, cap, t)) * phi / alpha

    for t in (0.1, 0.5, 1.0, 1.5, 1.9):
        k = float(law.quality(r, cap, t))
        phi = math.exp(-r * t) * (1 - t / cap)
        rhs = CHI * k**-alpha * (k * phi - w(t))
        lhs = -(w(t + h) - w(t - h)) / (2 * h)
        assert lhs == pytest.approx(rhs, rel=1e-7)


# -- the jump law -----------------------------------------------------------------------------


def test_cumulative_hazard_against_quad(law):
    for r, cap in ((1.5, 2.0), (1.01, 100.0), (1.0001, 1e4)):
        for t in (0.1 * cap, 0.9 * cap, 0.999 * cap, min(30.0, 0.5 * cap)):
            ref = quad(lambda s, r=r, cap=cap: CHI / kappa2_closed(r, cap, s), 0, t,
                       epsabs=0, epsrel=1e-12, limit=400)[0]  # fmt: skip
            assert float(law.cumulative_hazard(r, cap, t)) == pytest.approx(ref, rel=1e-10)


def test_jumps_invert_the_cumulative_hazard(law):
    rng = np.random.default_rng(np.random.SeedSequence(20251012))
    r = 1.0 + rng.uniform(size=4000)
    cap = 1.0 / (r - 1.0)
    u = rng.uniform(size=r.size)
    u[:3] = (1e-9, 1 - 2.0**-53, 0.5)
    cap[3], cap[4] = np.inf, 2.0**54  # the most patient type, and one within 2^-54 of it
    tau, kappa = jumps(law, r, cap, u)
    assert np.all(np.isfinite(tau)) and np.all(tau <= cap) and np.all(kappa >= 0)
    finite = np.isfinite(cap)
    lam = law.cumulative_hazard(r[finite], cap[finite], tau[finite])
    assert np.allclose(lam, -np.log(u[finite]), rtol=1e-10, atol=1e-12)
    assert tau[3] == pytest.approx(-math.log(u[3]) / r[3], rel=1e-15)  # rate (alpha - 1) r
    assert np.allclose(kappa, law.quality(r, cap, tau), rtol=1e-9, atol=1e-12)
    # The smallest uniform of market.sim.draws.open_uniforms, 2^-54: the jump comes when
    # T - tau ~ 1e-11 T, where Lambda(tau) computed from tau keeps ~6 digits only.
    tau, kappa = jumps(law, np.array([1.5]), np.array([2.0]), np.array([2.0**-54]))
    assert 0 < 2.0 - tau[0] < 1e-9 and 0 < kappa[0] < 1e-4
    lam = float(law.cumulative_hazard(1.5, 2.0, tau[0]))
    assert lam == pytest.approx(54 * math.log(2), rel=1e-5)


def test_value_of_a_report_against_quad(law):
    # V(r | r') = int_0^T S(t) h(t) kappa(t) e^{-rt} dt, S = exp(-int h): nested quad of the
    # elementary kappa (alpha = 2), independent of the package's jump law.
    rep, cap = 1.5, 2.0

    def density(t):
        lam = quad(lambda s: CHI / kappa2_closed(rep, cap, s), 0, t, epsabs=0, epsrel=1e-11)[0]
        return (
            math.exp(-lam)
            * CHI
            / kappa2_closed(rep, cap, t)
            * math.sqrt(kappa2_closed(rep, cap, t))
        )

    got = law.values([1.2, 1.5, 1.9], [rep], [cap])[:, 0]
    for r, v in zip((1.2, 1.5, 1.9), got, strict=True):
        ref = quad(lambda t, r=r: density(t) * math.exp(-r * t), 0, cap, epsabs=0, epsrel=1e-10,
                   limit=200)[0]  # fmt: skip
        assert v == pytest.approx(ref, rel=1e-8)


# -- the menu ---------------------------------------------------------------------------------


def test_paper_menu_revenue_and_global_incentives(paper_menu):
    # Relaxed revenue int_1^2 (1/2) kappa_r(0) dr with T = 1/(r - 1), kappa from the elementary
    # form: the pointwise values (erratum 10), by quad.
    def pointwise(r):
        return 0.5 * math.sqrt(kappa2_closed(r, 1 / (r - 1) if r > 1 else math.inf, 0.0))

    relaxed = quad(pointwise, 1, 2, epsabs=0, epsrel=1e-12)[0]
    assert paper_menu.revenue == pytest.approx(relaxed, rel=1e-9)
    assert paper_menu.welfare == pytest.approx(paper_menu.revenue + paper_menu.user_surplus)
    cap, price, utility = paper_menu.items(np.array([2.0]))
    assert price[0] == pytest.approx(utility[0], abs=1e-12)  # IR binds at the top type
    check = paper_menu.incentive_report()
    # The paper does not prove IC; on 61 x 61 types x reports no misreport gains.
    assert check.incentive_compatible and check.max_gain < 0  # every misreport loses
    assert check.min_surplus >= -1e-12
    # Tokens: chi E[tau] = E[kappa^alpha] ((Info.) binds), per type.
    own = paper_menu.own(np.array([1.0, 1.5, 2.0]))
    assert np.allclose(CHI * own["time"], own["information"], rtol=1e-10)


def test_policies_solve_and_compare(compared):
    soft, best, half = compared.policies
    # Hard caps at quality 1/2 are the paper's token menu at half the value: 1/2 of
    # 0.2(1 - e^-2.5) + 0.5 e^-1 E1(1.5) = 0.2019805743 (erratum 4).
    assert half.revenue == pytest.approx(0.5 * 0.2019805743, abs=1e-10)
    # The soft caps solve the relaxed problem: no hard-cap menu on this value function earns more.
    assert half.revenue < best.revenue < soft.revenue
    assert "global IC holds" in soft.notes and soft.menu.incentives.max_gain <= 1e-9
    # The API's quality(urgency, time), and by_type's tokens chi E[tau].
    k = soft.quality([1.5, 1.5, 1.0], [0.0, 2.0, 7.0])
    assert k == pytest.approx([math.sqrt((13 - math.exp(-6)) / 216), 0.0, math.sqrt(CHI)])
    assert best.quality([1.5], [0.1])[0] == pytest.approx(best.parameters["quality"])
    assert np.all(soft.by_type([1.2, 1.8])["tokens"] > 0)
    optimal = solve(scenario(policies=("optimal_token_menu",))).policies[0]
    with pytest.raises(ValueError, match="quality"):
        optimal.quality([1.5], [0.0])


# -- the market -------------------------------------------------------------------------------


def test_simulated_value_per_type_matches_the_solver(paper_menu):
    # n = 20,000 jumps per type from SeedSequence(7); realized mean of kappa e^{-r tau} within 4
    # standard errors of E[kappa e^{-r tau}], and chi tau of chi E[tau].
    rng = np.random.default_rng(np.random.SeedSequence(7))
    n = 20_000
    for r in (1.0, 1.3, 1.7, 2.0):
        u = rng.uniform(size=n)
        cap = float(paper_menu.cap(r))
        tau, kappa = jumps(paper_menu.law, np.full(n, r), np.full(n, cap), u)
        gain = kappa * np.exp(-r * tau)
        own = paper_menu.own(np.array([r]))
        assert abs(gain.mean() - own["utility"][0]) < 4 * gain.std() / math.sqrt(n)
        assert abs(tau.mean() - own["time"][0]) < 4 * tau.std() / math.sqrt(n)


def test_both_engines_agree_user_by_user(compared):
    # 2,000 users, seed 11: the vectorized and the agent-based markets, user by user.
    spec, names = scenario(policies=COMPARED), ["soft_caps", "hard_caps"]
    runs = [
        simulate(spec, 2000, 11, engine, policies=names, solution=compared)
        for engine in ("vectorized", "abm")
    ]
    for fast, slow in zip(runs[0].runs, runs[1].runs, strict=True):
        a, b = fast.outcomes, slow.outcomes
        assert np.array_equal(a.learned, b.learned)
        assert np.allclose(a.utility, b.utility, rtol=0, atol=1e-12)
        assert np.allclose(a.time, b.time, rtol=0, atol=1e-9)
        assert np.array_equal(a.payment, b.payment)
        real = fast.realized
        # Realized welfare per user within 4 standard errors of the solver's.
        assert abs(real.welfare.mean - fast.policy.welfare) < 4 * real.welfare.se
    hard = runs[0].runs[1].outcomes
    assert 0 < hard.learned.mean() < 1  # hard caps cut some conversations before the jump


# -- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alpha": 1.5}, r"information\.alpha = 1\.5: expected a finite number >= 2"),
        ({"alpha": None}, r"information\.alpha: missing"),
        ({"entropy": "quadratic"}, r"information\.alpha = 2\.0: expected no alpha"),
        ({"prior": [0.2, 0.3, 0.5]}, r"information\.entropy = 'power': expected 2 states"),
    ],
)
def test_scenario_errors(change, message):
    spec = scenario()
    for key, value in change.items():
        if value is None:
            del spec["information"][key]
        else:
            spec["information"][key] = value
    with pytest.raises(ScenarioError, match=message):
        scenario_of(spec)


def test_policy_errors_and_unavailable():
    with pytest.raises(ScenarioError, match=r"quality = 0\.7: expected a quality in"):
        scenario_of(scenario(policies=({"kind": "hard_caps", "quality": 0.7},)))
    skipped = solve(scenario(policies=("soft_caps", "optimal_token_menu"), prior=[0.3, 0.7]))
    assert [u.kind for u in skipped.unavailable] == ["soft_caps"]
    assert "prior (0.5, 0.5)" in skipped.unavailable[0].reason
    shannon = scenario(policies=("hard_caps", "optimal_token_menu"), entropy="shannon")
    del shannon["information"]["alpha"]
    assert "entropy = 'power'" in solve(shannon).unavailable[0].reason


def test_quality_above_one_half_is_unavailable():
    # alpha = 6, chi = 1/8, r = 1: the stationary quality (1/40)^(1/6) = 0.5408 > 1/2, a belief
    # outside [0, 1]: the closed form does not apply (chi <= (alpha - 1) 2^-6 = 0.078125 needed).
    solution = solve(scenario(alpha=6.0, policies=("soft_caps", "optimal_token_menu")))
    (skipped,) = solution.unavailable
    assert "0.540" in skipped.reason and "0.078125" in skipped.reason
