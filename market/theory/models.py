r"""The interface every conversation model offers (Definition 1, Section 2.2).

A conversation model is a belief process that ends at the stopping time :math:`\tau`, when the
belief reaches a vertex :math:`e_\theta`. What pricing and simulation need of it is its
*stopping law*: the distribution of :math:`\tau`, jointly with the learned state, and the
discounted moments :math:`E[\tau^m e^{-r\tau}\mathbf 1\{\tau \le T\}]` for an urgency
:math:`r` and a time cap :math:`T` (a token cap :math:`\chi T`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from numpy.typing import ArrayLike, NDArray


@runtime_checkable
class ConversationModel(Protocol):
    r"""Stopping law of a conversation model.

    Attributes
    ----------
    kind : str
        ``"greedy"``, ``"constant_delay"`` or ``"diffusion"``.
    prior : ndarray
        :math:`\mu_0`.
    token_rate : float
        :math:`\chi`, tokens (units of information) per unit of time.
    """

    kind: str
    prior: NDArray
    token_rate: float

    @property
    def expected_time(self) -> float:
        """:math:`E[\tau]` with no cap."""

    def survival(self, t: ArrayLike) -> NDArray:
        """:math:`P(\tau > t)`, elementwise."""

    def laplace(self, r: ArrayLike, cap: ArrayLike = float("inf"), moment: int = 0) -> NDArray:
        r""":math:`E[\tau^m e^{-r\tau}\mathbf 1\{\tau\le T\}]` with ``m = moment``, ``T = cap``.

        ``r`` and ``cap`` broadcast against each other; ``cap`` may be ``inf``. With
        ``moment = 0`` this is the utility of urgency ``r`` under time cap ``cap``.
        """

    def expected_truncated_time(self, cap: ArrayLike) -> NDArray:
        r""":math:`E[\min(\tau, T)]` for time caps ``cap`` (``inf``: :math:`E[\tau]`)."""

    def sample_time(self, u: ArrayLike, state: ArrayLike) -> NDArray:
        r"""Breakthrough time given the true ``state`` and a uniform ``u`` in (0, 1).

        Exact inverse of the conditional survival :math:`P(\tau > t \mid \theta)`: the
        returned time ``t`` solves :math:`P(\tau > t\mid\theta) = u`. ``u`` and ``state``
        broadcast. The learned state is always the true state.
        """
