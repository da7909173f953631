"""The public API: scenario -> solved policies -> simulated market -> run folder.

One pipeline serves the notebook and the command line alike::

    import market as mk

    scenario = mk.load_scenario("scenarios/paper_example.toml")
    solution = mk.solve(scenario)                  # every policy, solved
    run = mk.simulate(scenario, users=10_000, seed=1)
    run.summary                                    # realised beside expected
    run.save("runs")                               # the atomic run folder
    mk.compare(scenario, users=10_000, seed=1)     # the comparison table

A scenario may be given as a :class:`~market.scenario.Scenario`, a path to a TOML file, or a
dictionary with the same schema.
"""

from __future__ import annotations

import functools
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from market.pricing import Solution, default_policies, solve_policies, solve_policy
from market.pricing.checks import problems
from market.scenario import Scenario, ScenarioError, build_market, load_scenario
from market.scenario import scenario_from_dict as _from_dict
from market.scenario.errors import one_line

__all__ = ["ENGINES", "compare", "learn", "scenario_of", "select_specs", "simulate", "solve"]

#: The simulation engines.
ENGINES = ("abm", "vectorized")

#: Memory a simulated user costs per policy (outcome columns, the users table and the
#: engines' temporaries), in bytes; a run that needs more than what is available is refused.
BYTES_PER_USER_AND_POLICY = 1200


def scenario_of(scenario) -> Scenario:
    """A :class:`Scenario` from a scenario, a path to a TOML file, or a dictionary."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        return _from_dict(scenario)
    raise TypeError(f"scenario = {scenario!r}: expected a Scenario, a file path or a dict")


def select_specs(scenario: Scenario, wanted: Sequence[str] | None, option: str = "policies"):
    """The scenario's policies (or the default set), those named by ``wanted`` (names or
    kinds) only, in the scenario's order. An unknown name is a ``ValueError`` naming
    ``option``."""
    specs = list(scenario.policy_specs) or default_policies()
    if wanted is None:
        return specs
    if isinstance(wanted, str):
        wanted = [wanted]
    for want in wanted:
        if not any(want in (s["name"], s["kind"]) for s in specs):
            available = ", ".join(f"{s['name']!r} (kind {s['kind']})" for s in specs)
            raise ValueError(f"{option} = {want}: unknown policy; available: {available}")
    return [s for s in specs if s["name"] in wanted or s["kind"] in wanted]


def one_blas_thread(func):
    """Run ``func`` with one BLAS thread: the package's linear algebra is on matrices of a few
    rows, where OpenBLAS's threads cost far more than they save (3 tiers: 470 ms -> 35 ms)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            return func(*args, **kwargs)

    return wrapper


def _ticker(progress, description: str, total: int) -> Callable:
    if progress is None:
        return lambda advance=1, label=None: None
    return progress.task(description, total)


@one_blas_thread
def solve(scenario, policies: Sequence[str] | None = None, progress=None) -> Solution:
    """Solve every policy of ``scenario`` (or the default set), or those named in
    ``policies``; policies that do not apply are listed in ``Solution.unavailable``.

    ``progress``, if given, has a method ``task(description, total)`` returning a callable
    ``advance(n=1, label=None)`` (the command line passes a progress bar).
    """
    scenario = scenario_of(scenario)
    specs = select_specs(scenario, policies)
    market = build_market(scenario)
    tick = _ticker(progress, "solving", len(specs))
    try:
        solved, skipped = solve_policies(market, specs, progress=lambda name: tick(0, name))
    except ScenarioError:
        raise
    except ValueError as exc:
        raise ScenarioError(f"{scenario.source}: {one_line(str(exc))}") from exc
    tick(len(specs))
    model = market.model
    first_best = market.first_best_welfare()  # with q(r) and net of the token cost
    _check(scenario, specs, market, solved, first_best)
    return Solution(
        scenario=scenario.name,
        first_best_welfare=first_best,
        policies=solved,
        unavailable=skipped,
        switch_times=model.switch_times,
        stationary_rate=model.stationary_rate,
        expected_time=model.expected_time,
        units=None if scenario.units is None else scenario.units.build(),
    )


def _check(scenario, specs, market, solved, first_best: float) -> None:
    """Exit with the reason when a solved number breaks what must hold (market.pricing.checks),
    naming the policy: never print an impossible number."""
    optimal = next((p for p in solved if p.kind == "optimal_token_menu"), None)
    if optimal is None and solved:
        optimal = solve_policy(market, "optimal_token_menu", "optimal token menu", {})
    plain = market.valuation is None and not market.cost > 0
    found = problems(solved, first_best, optimal, plain)
    if not found:
        return
    index = {s["name"]: i for i, s in enumerate(specs)}
    lines = []
    for policy, what in found:
        where = (
            "first best"
            if policy is None
            else (f"policies[{index.get(policy.name, '?')}] ({policy.kind} {policy.name!r})")
        )
        lines.append(
            f"{scenario.source}: {where}: {'; '.join(what)}: the solver cannot deliver "
            "consistent numbers for this scenario"
        )
    raise ScenarioError(*lines)


def check_run(users, seed, engine: str, policies: int, users_name: str = "users") -> None:
    """The arguments of a simulation, and whether its memory fits (before any work)."""
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"{users_name} = {users!r}: expected an integer >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed = {seed!r}: expected an integer >= 0")
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r}: expected one of {', '.join(ENGINES)}")
    need = users * max(policies, 1) * BYTES_PER_USER_AND_POLICY
    have = _available_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{users_name} = {users}: {users} users x {policies} policies need about "
            f"{need / 2**30:.1f} GiB of memory, more than the {have / 2**30:.1f} GiB available"
        )


def _available_memory() -> int | None:
    """``MemAvailable`` of /proc/meminfo in bytes (None where unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


@one_blas_thread
def simulate(
    scenario,
    users: int | None = None,
    seed: int | None = None,
    engine: str = "vectorized",
    policies: Sequence[str] | None = None,
    solution: Solution | None = None,
    progress=None,
    command_line: str | None = None,
    learning: bool = True,
):
    """Simulate the scenario's policies (or those named in ``policies``) on one population.

    ``users`` and ``seed`` default to the scenario's; ``engine`` is ``"vectorized"`` or
    ``"abm"`` (the agent-based market); ``solution`` reuses policies already solved. A
    scenario with ``[platform] learning`` also runs the learning platform (:func:`learn`)
    unless ``learning`` is False. Returns a :class:`market.run.Run`.
    """
    from market.run import Run  # lazy: the run's tables need pyarrow
    from market.sim.draws import make_draws
    from market.sim.engine import sample_interval

    scenario = scenario_of(scenario)
    users = scenario.market.users if users is None else users
    seed = scenario.seed if seed is None else seed
    count = len(select_specs(scenario, policies)) if solution is None else len(solution.policies)
    check_run(users, seed, engine, count)  # before any work
    solution = _selected(scenario, solution, policies, progress)
    created = datetime.now().astimezone()
    rate = scenario.market.arrival_rate
    market = build_market(scenario)
    draws = make_draws(seed, users, rate, market.urgency, scenario.prior)
    interval = sample_interval(users, rate)
    runs = _simulated(scenario, solution, market, draws, engine, interval, progress)
    if scenario.platform.anticipate_congestion:
        solution = _repriced(scenario, solution, runs)
    learned = None
    if learning and scenario.platform.learning is not None:
        learned = learn(scenario, seed, progress)
    return Run(
        scenario=scenario,
        solution=solution,
        runs=runs,
        engine=engine,
        seed=seed,
        users_count=users,
        interval=interval,
        created=created,
        command_line=command_line or shlex.join(sys.argv),
        learning=learned,
    )


def _selected(scenario: Scenario, solution, policies, progress) -> Solution:
    """The solution of the policies named (solved now if ``solution`` is None)."""
    if solution is None:
        return solve(scenario, policies, progress=progress)
    if policies is None:
        return solution
    names = {s["name"] for s in select_specs(scenario, policies)}
    return Solution(
        solution.scenario, solution.first_best_welfare,
        tuple(p for p in solution.policies if p.name in names),
        tuple(u for u in solution.unavailable if u.name in names),
        solution.switch_times, solution.stationary_rate, solution.expected_time, solution.units,
    )  # fmt: skip


def _simulated(scenario, solution, market, draws, engine, interval, progress):
    """Every policy simulated on ``draws``; errors of the market's settings name the file."""
    from market.sim.engine import simulate_policies

    tick = _ticker(progress, "simulating", draws.users * len(solution.policies))
    try:
        return simulate_policies(
            solution.policies, draws, engine, interval, lambda name, k: tick(k, name),
            dynamics_of(scenario), _repricer(scenario), market,
        )  # fmt: skip
    except ValueError as exc:
        if str(exc).startswith(("market.", "users.", "platform.")):
            raise ScenarioError(f"{scenario.source}: {exc}") from exc
        raise


def dynamics_of(scenario: Scenario):
    """The scenario's market beyond the paper's (:func:`market.sim.engine.dynamics_of`)."""
    from market.sim.engine import dynamics_of as of

    return of(scenario)


def _repricer(scenario: Scenario):
    """``reprice(policy)(market)`` for a platform that prices for congestion, else None."""
    if not scenario.platform.anticipate_congestion:
        return None
    specs = {s["name"]: s for s in select_specs(scenario, None)}

    def reprice(policy):
        spec = specs[policy.name]
        values = {k: v for k, v in spec.items() if k not in ("kind", "name")}
        return lambda market: solve_policy(market, policy.kind, policy.name, values)

    return reprice


def _repriced(scenario: Scenario, solution: Solution, runs) -> Solution:
    """The solution of the policies priced for congestion, each checked in its own market
    (the law of sigma r for its slowdown sigma)."""
    from market.sim.platform import scaled_market

    market = build_market(scenario)
    for run in runs:
        priced = scaled_market(market, run.pricing.slowdown)
        best = solve_policy(priced, "optimal_token_menu", "optimal token menu", {})
        plain = priced.valuation is None and not priced.cost > 0
        found = problems([run.policy], priced.first_best_welfare(), best, plain)
        if found:
            what = "; ".join(w for _, items in found for w in items)
            raise ScenarioError(
                f"{scenario.source}: platform.anticipate_congestion: policy "
                f"{run.policy.name!r} priced for slowdown {run.pricing.slowdown:.4g}: {what}"
            )
    return Solution(
        solution.scenario, solution.first_best_welfare, tuple(r.policy for r in runs),
        solution.unavailable, solution.switch_times, solution.stationary_rate,
        solution.expected_time, solution.units,
    )  # fmt: skip


def compare(
    scenario,
    users: int | None = None,
    seed: int | None = None,
    engine: str = "vectorized",
    policies: Sequence[str] | None = None,
    in_units: bool = False,
):
    """The comparison table: every policy solved and simulated on one population, sorted by
    expected profit (revenue without a token cost; a :class:`pandas.DataFrame`); with
    ``in_units``, money in the currency of the scenario's ``[units]`` and real tokens."""
    run = simulate(scenario, users, seed, engine, policies, learning=False)
    return run.comparison(in_units=in_units)


@one_blas_thread
def learn(scenario, seed: int | None = None, progress=None):
    """Run the scenario's learning platform (``[platform] learning``): each period it posts
    the optimal menu for its estimate of the urgency law, watches what users buy and
    re-estimates (:func:`market.sim.learning.learn`). ``seed`` defaults to the scenario's;
    ``progress`` as in :func:`solve`. Returns a :class:`market.sim.learning.Learning`
    (``records()``, ``menus()``, ``summary()``).
    """
    from market.sim.learning import learn as _learn

    scenario = scenario_of(scenario)
    spec = scenario.platform.learning
    if spec is None:
        raise ScenarioError(
            f"{scenario.source}: platform.learning: missing (expected a table such as "
            'learning = { family = "beta", periods = 20, users_per_period = 5000 })'
        )
    seed = scenario.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed = {seed!r}: expected an integer >= 0")
    market = build_market(scenario)
    tick = _ticker(progress, "learning", spec.periods)
    return _learn(
        market, spec.family, spec.periods, spec.users_per_period, spec.initial, seed,
        choose=_period_choice(scenario), progress=lambda period: tick(1, f"period {period}"),
    )  # fmt: skip


def _period_choice(scenario: Scenario):
    """How the users of a learning platform's periods choose (``[users]``), or None for
    rational users: ``choose(menu, urgencies, rng) -> Choice``."""
    from market.sim.behaviour import Behaviour, choose
    from market.sim.draws import open_uniforms

    users = scenario.users
    behaviour = Behaviour(users.choice, users.temperature, users.misperception_sd)
    if behaviour.rational and behaviour.misperception == 0:
        return None

    def period_choice(menu, urgency, rng):
        noise = rng.standard_normal(urgency.size)
        return choose(menu, urgency, behaviour, noise, open_uniforms(rng, urgency.size))[1]

    return period_choice
