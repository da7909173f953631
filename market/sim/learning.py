r"""A platform that learns its market (issue 9, part 3).

The platform does not know the urgency law :math:`G`; it knows its support
:math:`[\underline r, \bar r]` and believes in a parametric family :math:`G_\theta`
(:data:`market.sim.estimate.FAMILIES`). In period :math:`p = 1, \dots, P`:

1. it posts Theorem 1's menu (:func:`market.pricing.paper.solve_optimal`, with ironing) for its
   current estimate :math:`\hat\theta_{p-1}` (``initial`` in period 1);
2. ``users_per_period`` users arrive with urgencies drawn from the *true* :math:`G` and choose
   (rationally by default: each buys the item meant for its type);
3. the platform records the set of urgencies each purchase (or departure) reveals and
   re-estimates :math:`\hat\theta_p` by maximum likelihood on the interval-censored data of
   all periods so far (:mod:`market.sim.estimate`).

Each period is scored against the truth: the posted menu's *expected* revenue under the true
:math:`G` and rational users, :math:`\int g(r) \hat P(r)\,dr` (the menu is incentive
compatible for every type whatever :math:`G`, so type :math:`r` pays :math:`\hat P(r)`), and the
regret against the optimal menu for the true :math:`G`. No menu beats that optimum; a posted
menu that does by more than :data:`REGRET_TOLERANCE` is a solver defect and raises.

Randomness: period :math:`p` draws its urgencies from ``stream(seed, "learning", p, 0)`` (by
inversion of :math:`G`, open uniforms) and hands ``stream(seed, "learning", p, 1)`` to the
choice rule for its own noise (:mod:`market.sim.draws`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from market.pricing.market import Market
from market.pricing.paper import solve_optimal
from market.pricing.plans import Choice
from market.pricing.solved import MenuRow, SolvedPolicy
from market.sim.draws import open_uniforms, stream
from market.sim.estimate import FAMILIES, Observations, check_parameters, fit, observe
from market.sim.stats import Estimate

__all__ = ["REGRET_TOLERANCE", "Learning", "Period", "learn"]

#: A posted menu may earn more than the optimum under the true G by at most this fraction of
#: the optimum (the solvers' revenues are accurate to ~1e-10 relative).
REGRET_TOLERANCE = 1e-6

#: ``choose(menu, urgencies, rng) -> Choice``: how the users of a period choose.
ChoiceRule = Callable[[object, NDArray, np.random.Generator], Choice]


@dataclass(frozen=True)
class Period:
    """One period of a learning platform.

    Attributes
    ----------
    period : int
        1, 2, ...
    users : int
        Users who arrived.
    posted : dict
        The estimate the period's menu was solved for.
    fitted : dict
        The estimate made after the period, from every period so far.
    log_likelihood : float
        :math:`\\ell` at ``fitted``.
    participation : float
        Share of the period's users who bought.
    realized_revenue : Estimate
        Mean payment of the period's users, with its standard error.
    expected_revenue : float
        The posted menu's revenue per user under the true :math:`G`, rational users.
    rows : tuple of MenuRow
        The posted menu on the report grid.
    """

    period: int
    users: int
    posted: dict
    fitted: dict
    log_likelihood: float
    participation: float
    realized_revenue: Estimate
    expected_revenue: float
    rows: tuple[MenuRow, ...]


@dataclass(frozen=True)
class Learning:
    """The record of a learning platform: its family, the truth it did not know, the revenue
    of the optimal menu for the truth, and one :class:`Period` per period."""

    family: str
    truth: dict
    seed: int
    optimal_revenue: float
    periods: tuple[Period, ...]

    @property
    def parameters(self) -> tuple[str, ...]:
        return FAMILIES[self.family].parameters

    @property
    def estimate(self) -> dict:
        """The last estimate (after the last period)."""
        return dict(self.periods[-1].fitted)

    def records(self) -> pd.DataFrame:
        """One row per period: ``period, users, family, estimate`` (JSON of the parameters the
        period's menu was solved for), one column per parameter (the estimate made *after* the
        period), ``log_likelihood`` (of that estimate), ``participation``,
        ``realized_revenue``, ``realized_revenue_se``, ``expected_revenue`` (the posted menu
        under the true :math:`G`), ``optimal_revenue``, ``regret`` (optimal minus expected)
        and ``relative_regret`` (over optimal)."""
        rows = []
        for p in self.periods:
            regret = self.optimal_revenue - p.expected_revenue
            rows.append(
                {
                    "period": p.period,
                    "users": p.users,
                    "family": self.family,
                    "estimate": json.dumps(p.posted),
                    **{k: p.fitted[k] for k in self.parameters},
                    "log_likelihood": p.log_likelihood,
                    "participation": p.participation,
                    "realized_revenue": p.realized_revenue.mean,
                    "realized_revenue_se": p.realized_revenue.se,
                    "expected_revenue": p.expected_revenue,
                    "optimal_revenue": self.optimal_revenue,
                    "regret": regret,
                    "relative_regret": regret / self.optimal_revenue,
                }
            )
        return pd.DataFrame(rows)

    def menus(self) -> pd.DataFrame:
        """Each period's posted menu on the report grid: ``period, urgency, token_cap`` (NaN:
        unlimited) ``, price``."""
        return pd.DataFrame(
            [
                {
                    "period": p.period,
                    "urgency": row.urgency,
                    "token_cap": math.nan if row.token_cap is None else row.token_cap,
                    "price": row.price,
                }
                for p in self.periods
                for row in p.rows
            ]
        )

    def summary(self) -> dict:
        """A JSON-safe record for a run's ``summary.json`` (under ``"learning"``)."""
        last = self.records().iloc[-1]
        return {
            "family": self.family,
            "truth": self.truth,
            "seed": self.seed,
            "periods": len(self.periods),
            "users_per_period": self.periods[0].users,
            "estimate": self.estimate,
            "optimal_revenue": self.optimal_revenue,
            "last_expected_revenue": float(last.expected_revenue),
            "last_relative_regret": float(last.relative_regret),
        }


def _rational(menu, urgency: NDArray, rng: np.random.Generator) -> Choice:
    return menu.choose(urgency)


def _expected_revenue(market: Market, policy: SolvedPolicy) -> float:
    """:math:`\\int g(r)\\hat P(r)\\,dr` under the true :math:`G` (the market's one integral over
    types; the pools' ends are kinks of :math:`\\hat P`)."""
    kinks = [x for pool in policy.pooled for x in pool[:2]]
    return float(market.expect(lambda r: policy.menu.choose(r).price, breakpoints=kinks))


def _check_regret(period: int, expected: float, optimal: float) -> None:
    if not math.isfinite(expected) or expected > optimal * (1 + REGRET_TOLERANCE):
        raise ValueError(
            f"period {period}: the posted menu earns {expected!r} per user under the true "
            f"urgency law, more than the optimal menu's {optimal!r} (or not a number): the "
            "solver cannot deliver consistent numbers for this market"
        )


def _check_counts(periods, users_per_period, seed) -> None:
    for name, value, least in (("periods", periods, 1), ("users_per_period", users_per_period, 1),
                               ("seed", seed, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise ValueError(f"{name} = {value!r}: expected an integer >= {least}")


def _play(market: Market, policy: SolvedPolicy, users: int, seed: int, period: int, choose):
    """The period's users: urgencies from the true law, and their choices."""
    u = open_uniforms(stream(seed, "learning", period, 0), users)
    urgency = np.asarray(market.urgency.ppf(u), dtype=float)
    return choose(policy.menu, urgency, stream(seed, "learning", period, 1))


def learn(
    market: Market,
    family: str,
    periods: int,
    users_per_period: int,
    initial: dict | None = None,
    seed: int = 0,
    choose: ChoiceRule | None = None,
    progress: Callable[[int], object] | None = None,
) -> Learning:
    """Run a learning platform on the true ``market`` (module docstring).

    Parameters
    ----------
    market : Market
        The true market: its urgency law draws the users, its model serves them.
    family : {"beta", "truncnorm", "uniform"}
        The family the platform fits on the true support.
    periods, users_per_period : int
        :math:`P` and the users of each period.
    initial : dict, optional
        The first estimate (every parameter of the family, or none for the default start:
        ``a = b = 1``; mean at the middle of the support and sd half its width).
    seed : int
        Root of the random streams.
    choose : callable, optional
        ``choose(menu, urgencies, rng) -> Choice``; default: rational (``menu.choose``).
    progress : callable, optional
        Called with each period's number when it is done.
    """
    _check_counts(periods, users_per_period, seed)
    low, high = market.low, market.high
    params = check_parameters(family, dict(initial or {}), low, high)
    choose = _rational if choose is None else choose
    optimal = float(solve_optimal(market).revenue)
    law_of = FAMILIES[family].law
    seen, out, cache = Observations.empty(), [], {}
    for p in range(1, periods + 1):
        key = json.dumps(params)
        if key not in cache:  # a menu and its score depend on the estimate only
            platform = Market(market.model, law_of(params, low, high), entropy=market.entropy,
                              prior=market.prior)  # fmt: skip
            policy = solve_optimal(platform)
            cache = {key: (policy, _expected_revenue(market, policy))}
        policy, expected = cache[key]
        _check_regret(p, expected, optimal)
        choice = _play(market, policy, int(users_per_period), int(seed), p, choose)
        seen = seen + observe(
            policy.menu.cap_of, choice.cap, choice.buys, low, high, hint=choice.report
        )
        result = fit(family, seen, low, high, params)
        out.append(
            Period(
                p, int(users_per_period), params, result.params, result.log_likelihood,
                float(np.mean(choice.buys)), Estimate.of(np.asarray(choice.price, dtype=float)),
                expected, policy.rows,
            )
        )  # fmt: skip
        params = result.params
        if progress is not None:
            progress(p)
    truth = market.urgency.describe()
    return Learning(family, truth, int(seed), optimal, tuple(out))
