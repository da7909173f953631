r"""The agent-based market one step at a time, for a live view (Mesa's ``SolaraViz``).

:class:`LiveMarket` is the agent-based market of :mod:`market.sim.abm` for one solved policy,
built from a scenario exactly as :func:`market.simulate` builds it (the same draws for the same
users and seed, the same record interval), but advanced by :meth:`LiveMarket.step`: each step
runs the SimPy clock one record interval :math:`\Delta` further and records the market in the
Mesa :class:`~mesa.DataCollector`. Run to the end, it holds the per-user outcomes that
``market.simulate(scenario, users, seed, engine="abm")`` gives for that policy.

The market is the scenario's: users choose as its ``[users]`` table says (rationally, by a
logit, with misperceived urgency; anticipating the slowdown with ``[market] anticipate``), and a
finite ``[market] capacity`` is shared by its ``discipline``. The policy is offered as solved:
a platform re-pricing for congestion (``[platform] anticipate_congestion``) is left to
:func:`market.simulate`.

Mesa's own ``time`` counts the steps; the market's clock is the SimPy clock ``env.now``, which
the DataCollector records as ``time``. Besides the records of :class:`market.sim.abm.MarketModel`
(users arrived, conversations open, tokens served, cumulative revenue and utility; utilisation
and slowdown with a finite capacity), it records ``expected_revenue``: the solver's expected
revenue per user times the users arrived so far, the line the realised cumulative revenue
moves around.
"""

from __future__ import annotations

import mesa

from market.scenario import Scenario, build_market
from market.sim.abm import MarketModel
from market.sim.draws import make_draws
from market.sim.engine import dynamics_of, offer_of, sample_interval

__all__ = ["LiveMarket", "dynamics_of"]


def _clock(model: LiveMarket) -> float:
    """The market's clock (SimPy's), not Mesa's step count."""
    return float(model.env.now)


def _expected_revenue(model: LiveMarket) -> float:
    """Expected cumulative revenue of the users arrived so far (the solver's, per user)."""
    return float(model.policy.revenue) * model.users_arrived


class LiveMarket(MarketModel):
    r"""The agent-based market of one solved policy, one record interval per :meth:`step`.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`market.load_scenario`).
    policy : SolvedPolicy
        One policy of ``market.solve(scenario)``: its ``menu`` is offered, its ``revenue``
        draws the expected line.
    users : int, optional
        Users who arrive (default: the scenario's ``[market] users``).
    seed : int, optional
        Root seed of the draws (default: the scenario's ``seed``).

    Attributes
    ----------
    policy : SolvedPolicy
        The policy offered.
    records : int
        Steps taken; the clock stands at ``records * interval``.
    running : bool
        False once every user has arrived and every conversation has ended.

    Notes
    -----
    ``model.scenario`` is Mesa's own (``mesa.Model`` sets it); Mesa's ``SolaraViz`` passes
    it to the constructor under that name when it resets a model, so a subclass meant for
    ``SolaraViz`` names its scenario parameter otherwise.
    """

    def __init__(self, scenario: Scenario, policy, users: int | None = None, seed=None) -> None:
        users = scenario.market.users if users is None else users
        seed = scenario.seed if seed is None else seed
        rate = scenario.market.arrival_rate
        market = build_market(scenario)
        draws = make_draws(seed, users, rate, market.urgency, scenario.prior)
        interval = sample_interval(users, rate)
        dynamics = dynamics_of(scenario)
        offer, _ = offer_of(draws, policy.menu, dynamics, interval)
        menu = policy.menu if offer.menu is None else offer.menu
        super().__init__(draws, menu, interval, offer=offer, congestion=dynamics.congestion)
        self.policy = policy
        self.records = 0
        reporters = dict(self.datacollector.model_reporters)
        reporters.update(time=_clock, expected_revenue=_expected_revenue)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.collect()

    def collect(self) -> None:
        """One record of the DataCollector at the current clock time (Mesa's ``time`` is left
        to Mesa, which counts the steps with it)."""
        steps = self.time
        super().collect()
        self.time = steps

    def step(self) -> None:
        """Advance the clock by one record interval and record the market."""
        if self.done:
            self.running = False
            return
        self.records += 1
        self.env.run(until=self.records * self.interval)
        self.collect()
        self.running = not self.done
