"""An independent check that a menu is incentive compatible and individually rational.

Given types :math:`r_i` and the items meant for them, compute every type's payoff from every
item, :math:`u_{ij} = U(\\text{item}_j \\mid r_i) - P_j`; the menu is IC if no type gains by
taking another type's item, and IR if no type's own payoff is negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class IncentiveReport:
    """Result of :func:`check_menu`.

    ``max_gain`` is the largest gain any type gets from misreporting (0 for an IC menu);
    ``worst_type`` and ``worst_report`` are the type and the report that achieve it;
    ``min_surplus`` is the smallest own payoff (>= 0 for an IR menu).
    """

    max_gain: float
    worst_type: float
    worst_report: float
    min_surplus: float

    def passes(self, tol: float = 1e-9) -> bool:
        return self.max_gain <= tol and self.min_surplus >= -tol


def check_menu(types: ArrayLike, utility: ArrayLike, prices: ArrayLike) -> IncentiveReport:
    """Check IC and IR from a utility matrix.

    Parameters
    ----------
    types : array_like, shape (k,)
        Types :math:`r_i`; item ``i`` is the one meant for type ``i``.
    utility : array_like, shape (k, k)
        ``utility[i, j]``: the gross utility of type ``i`` from item ``j``.
    prices : array_like, shape (k,)
        Price of item ``j``.
    """
    types = np.asarray(types, dtype=float)
    payoff = np.asarray(utility, dtype=float) - np.asarray(prices, dtype=float)[None, :]
    own = np.diag(payoff)
    # Leaving (payoff 0) is always available; IR is reported separately.
    gain = payoff - own[:, None]
    i, j = np.unravel_index(np.argmax(gain), gain.shape)
    return IncentiveReport(
        max_gain=float(gain[i, j]),
        worst_type=float(types[i]),
        worst_report=float(types[j]),
        min_surplus=float(own.min()),
    )
