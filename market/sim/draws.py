r"""The random draws of a simulated market, made before any simulation runs.

Every random number of a run comes from one root seed through
:class:`numpy.random.SeedSequence` (NEP 19, SPEC 7). Each *purpose* has its own stream,
``SeedSequence(seed, spawn_key=(i,))`` for the index ``i`` of the purpose in :data:`STREAMS`,
so adding users, or a purpose, never changes the draws of another purpose:

``arrivals``      inter-arrival times of the Poisson process of users (rate :math:`\lambda`);
``urgency``       uniforms mapped to urgencies :math:`r` by the quantile function of :math:`G`;
``state``         uniforms mapped to the true states :math:`\theta \sim \mu_0`;
``breakthrough``  one uniform :math:`u` per user; a policy's model turns it into the
                  breakthrough time by solving :math:`P(\tau > t \mid \theta) = u`;
``choice``        one uniform per user, for a logit choice among the plans
                  (:mod:`market.sim.behaviour`);
``misperception`` one standard normal per user, the noise of the urgency users choose with;
``learning``      the users of a learning platform's periods: period ``p`` draws from
                  ``SeedSequence(seed, spawn_key=(i, p))`` (:mod:`market.sim.learning`);
``revision``      which users revise their choice in round ``k`` of the fixed point of
                  anticipated congestion (spawn key ``(i, k)``, :mod:`market.sim.anticipation`).

The draws do not depend on the policy: every policy of a run faces the same users and the
same uniforms (common random numbers). The simulation kernels
(:mod:`market.sim.vectorized`, :mod:`market.sim.abm`) are deterministic given a
:class:`Draws`, so they can also be run on hand-picked draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["STREAMS", "Draws", "make_draws", "open_uniforms", "stream"]

#: The purposes of the random streams, in the order of their spawn keys.
STREAMS = (
    "arrivals",
    "urgency",
    "state",
    "breakthrough",
    "choice",
    "misperception",
    "learning",
    "revision",
)

#: Uniforms are drawn on the grid (k + 1/2) / 2**53, k = 0, ..., 2**53 - 1: strictly in (0, 1).
_UNIFORM_BITS = 53


def stream(seed: int, purpose: str, *task: int) -> np.random.Generator:
    """The generator of one purpose of :data:`STREAMS` under the root ``seed``; ``task``
    (e.g. a period) extends the spawn key, for independent streams of one purpose."""
    if purpose not in STREAMS:
        raise ValueError(f"purpose = {purpose!r}: expected one of {', '.join(STREAMS)}")
    key = (STREAMS.index(purpose), *task)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def open_uniforms(rng: np.random.Generator, size: int) -> NDArray:
    """``size`` uniforms strictly inside (0, 1), so that quantile functions stay finite."""
    k = rng.integers(0, 2**_UNIFORM_BITS, size=size, dtype=np.int64)
    return (k + 0.5) / 2.0**_UNIFORM_BITS


@dataclass(frozen=True, eq=False)
class Draws:
    r"""The per-user random inputs of a market, one entry per user in order of arrival.

    Attributes
    ----------
    seed : int or None
        The root seed they were drawn from (None for hand-picked draws).
    arrival : ndarray of float
        Arrival times, non-decreasing.
    urgency : ndarray of float
        :math:`r`.
    state : ndarray of int
        The true state :math:`\theta` of each user's task.
    uniform : ndarray of float
        :math:`u \in (0, 1)`, the breakthrough uniform.
    noise : ndarray of float, optional
        A standard normal per user: the misperception of its urgency, in units of its sd.
    choice_uniform : ndarray of float, optional
        A uniform in (0, 1) per user, for a logit choice.
    """

    seed: int | None
    arrival: NDArray
    urgency: NDArray
    state: NDArray
    uniform: NDArray
    noise: NDArray | None = None
    choice_uniform: NDArray | None = None

    def __post_init__(self) -> None:
        n = self.arrival.size
        for name in ("urgency", "state", "uniform", "noise", "choice_uniform"):
            if getattr(self, name) is None:
                continue
            size = getattr(self, name).size
            if size != n:
                raise ValueError(f"{name} has {size} entries; expected {n} (one per user)")
        if n and (np.any(np.diff(self.arrival) < 0) or self.arrival[0] < 0):
            raise ValueError("arrival times must be >= 0 and non-decreasing")
        for name in ("uniform", "choice_uniform"):
            u = getattr(self, name)
            if u is not None and np.any((u <= 0) | (u >= 1)):
                raise ValueError(f"{name}: expected uniforms strictly inside (0, 1)")

    @property
    def users(self) -> int:
        return int(self.arrival.size)

    @classmethod
    def given(
        cls,
        arrival: ArrayLike,
        urgency: ArrayLike,
        state: ArrayLike,
        uniform: ArrayLike,
        noise: ArrayLike | None = None,
        choice_uniform: ArrayLike | None = None,
    ) -> Draws:
        """Hand-picked draws (for tests and worked examples)."""

        def floats(x):
            return None if x is None else np.asarray(x, dtype=float).ravel()

        return cls(
            seed=None,
            arrival=floats(arrival),
            urgency=floats(urgency),
            state=np.asarray(state, dtype=np.int64).ravel(),
            uniform=floats(uniform),
            noise=floats(noise),
            choice_uniform=floats(choice_uniform),
        )


def make_draws(seed: int, users: int, arrival_rate: float, urgency, prior: ArrayLike) -> Draws:
    r"""Draw a market of ``users`` users from the root ``seed``.

    Parameters
    ----------
    seed : int
        Root seed (>= 0).
    users : int
        Number of users (>= 1).
    arrival_rate : float
        :math:`\lambda > 0`, the rate of the Poisson arrival process.
    urgency : distribution
        :math:`G`: anything with a vectorised quantile function ``ppf(u)``.
    prior : array_like
        :math:`\mu_0`.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed = {seed!r}: expected an integer >= 0")
    if isinstance(users, bool) or not isinstance(users, int | np.integer) or users < 1:
        raise ValueError(f"users = {users!r}: expected an integer >= 1")
    if not np.isfinite(arrival_rate) or arrival_rate <= 0:
        raise ValueError(f"arrival_rate = {arrival_rate!r}: expected a number > 0")
    seed, users = int(seed), int(users)
    gaps = stream(seed, "arrivals").standard_exponential(users) / arrival_rate
    r = np.asarray(urgency.ppf(open_uniforms(stream(seed, "urgency"), users)), dtype=float)
    cdf = np.cumsum(np.asarray(prior, dtype=float))
    cdf /= cdf[-1]
    v = open_uniforms(stream(seed, "state"), users)
    state = np.minimum(np.searchsorted(cdf, v, side="right"), cdf.size - 1).astype(np.int64)
    return Draws(
        seed=seed,
        arrival=np.cumsum(gaps),
        urgency=r,
        state=state,
        uniform=open_uniforms(stream(seed, "breakthrough"), users),
        noise=stream(seed, "misperception").standard_normal(users),
        choice_uniform=open_uniforms(stream(seed, "choice"), users),
    )
