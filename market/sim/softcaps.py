r"""The market under a menu of reasoning quality (Section 4, Figure 1; issue 10 §3).

A user who bought the item of report :math:`r'` (time cap :math:`T(r')`, soft for
``soft_caps``, hard for ``hard_caps``) converses with that item's model: the belief stays at
:math:`\tfrac12` and jumps to :math:`\tfrac12\pm\kappa(t)` at the hazard
:math:`\chi/\kappa(t)^\alpha`. The platform draws the jump by inverting the cumulative hazard at
the user's breakthrough uniform :math:`u` (the ``breakthrough`` stream of
:mod:`market.sim.draws`): :math:`\Lambda(\tau) = -\log u`. The user stops at the jump and gains
:math:`\kappa(\tau)e^{-r\tau}` (the value :math:`V = |\mu-\tfrac12|` of the belief it stops at);
a conversation that reaches a hard cap before its jump gains nothing (under soft caps the jump
always comes first: :math:`\Lambda(T) = \infty`). It uses :math:`\chi\min(\tau, T)` tokens.

The engines need nothing new: the offer's ``breakthrough`` is :math:`\tau` and its ``worth`` is
:math:`\kappa(\tau)` (the factor of :math:`e^{-r\tau}`), so both engines compute
``utility = worth * exp(-r tau)`` if :math:`\tau \le T` and agree user by user. The direction
of the jump is not drawn (the value does not depend on it); ``learned_state`` records the true
state for a user whose conversation ended with an answer.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from market.pricing.plans import Choice
from market.sim.draws import Draws
from market.sim.offer import Offer

__all__ = ["jumps", "quality_offer"]


def jumps(law, report: NDArray, cap: NDArray, uniform: NDArray) -> tuple[NDArray, NDArray]:
    r"""The deterministic kernel: jump times :math:`\tau` with :math:`\Lambda(\tau) = -\log u`
    and the quality :math:`\kappa(\tau)` there, for the models of ``report`` with time caps
    ``cap`` (``law.jump``: :class:`market.theory.softcaps.QualityLaw` or
    :class:`market.theory.softcaps_menu.FixedQualityLaw`). Entries with a cap of 0 (nothing
    bought) get :math:`\tau = \infty`, :math:`\kappa = 0`."""
    report, cap, uniform = (np.asarray(a, dtype=float) for a in (report, cap, uniform))
    if np.any((uniform <= 0) | (uniform >= 1)):
        raise ValueError("uniform: expected uniforms strictly inside (0, 1)")
    tau = np.full(report.shape, np.inf)
    kappa = np.zeros(report.shape)
    served = cap > 0
    if np.any(served):
        t, k = law.jump(report[served], cap[served], -np.log(uniform[served]))
        tau[served], kappa[served] = t, k
    return tau, kappa


def quality_offer(draws: Draws, menu, choice: Choice | None = None) -> Offer:
    """The offer of a menu of reasoning quality (``menu.quality_menu``): each user's item,
    its jump time (``breakthrough``) and the quality at the jump (``worth``)."""
    n = draws.users
    choice = menu.choose(draws.urgency) if choice is None else choice
    cap = np.where(choice.buys, choice.cap, 0.0)
    tau, kappa = jumps(menu.law, np.where(choice.buys, choice.report, 1.0), cap, draws.uniform)
    return Offer(
        draws, choice, tau, (), float(menu.model.token_rate), np.ones(n), np.zeros(n), menu,
        kappa,
    )  # fmt: skip
