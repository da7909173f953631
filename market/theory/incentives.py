"""An independent check that a menu is incentive compatible and individually rational.

Given types :math:`r_i` and the items meant for them, compute every type's payoff from every
item, :math:`u_{ij} = U(\\text{item}_j \\mid r_i) - P_j`; the menu is IC if no type gains by
taking another type's item, and IR if no type's own payoff is negative. Nothing here uses the
envelope formula or the single-crossing argument the menus were built with: the check is a
brute-force comparison on a grid of types, so it catches what the paper's conditions miss
(docs/paper-notes.md, erratum 7: condition (12) gives IC but not IR).

:func:`check_menu` takes a utility matrix; :func:`check_caps` builds it for a menu of token
caps (a type of valuation :math:`q(r)` values cap :math:`T` at
:math:`q(r)E[e^{-r\\tau}1\\{\\tau\\le T\\}]`), a block of rows at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["IncentiveReport", "check_caps", "check_menu"]

#: Largest utility matrix built at once by :func:`check_caps` (entries).
BLOCK = 2_000_000


@dataclass(frozen=True)
class IncentiveReport:
    """Result of :func:`check_menu`.

    ``max_gain`` is the largest gain any type gets from misreporting (0 for an IC menu);
    ``worst_type`` and ``worst_report`` are the type and the report that achieve it;
    ``min_surplus`` is the smallest own payoff (>= 0 for an IR menu), of type ``ir_type``;
    ``types`` is the number of types checked.
    """

    max_gain: float
    worst_type: float
    worst_report: float
    min_surplus: float
    ir_type: float = math.nan
    types: int = 0

    def passes(self, tol: float = 1e-9) -> bool:
        return self.max_gain <= tol and self.min_surplus >= -tol

    def ic_holds(self, tol: float = 1e-9) -> bool:
        """No type gains more than ``tol`` by taking another type's item."""
        return self.max_gain <= tol

    def ir_holds(self, tol: float = 1e-9) -> bool:
        """No type's own payoff is below ``-tol``."""
        return self.min_surplus >= -tol

    def failures(self, tol: float = 1e-9) -> tuple[str, ...]:
        """Plain sentences, one per broken kind of constraint (empty if the menu passes)."""
        out = []
        if not self.ir_holds(tol):
            out.append(
                f"individual rationality fails: type r = {self.ir_type:.6g} pays more than its "
                f"item is worth to it (surplus {self.min_surplus:.6g}); it would not buy"
            )
        if not self.ic_holds(tol):
            out.append(
                f"incentive compatibility fails: type r = {self.worst_type:.6g} gains "
                f"{self.max_gain:.6g} by reporting r = {self.worst_report:.6g}"
            )
        return tuple(out)

    def describe(self, tol: float = 1e-9) -> str:
        """One sentence: the menu passes on ``types`` types, or what fails."""
        fails = self.failures(tol)
        if not fails:
            return (
                f"incentive compatible and individually rational on {self.types} types "
                f"(largest misreport gain {self.max_gain:.3g}, smallest surplus "
                f"{self.min_surplus:.3g})"
            )
        return "; ".join(fails)


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
    k = int(np.argmin(own))
    return IncentiveReport(
        max_gain=float(gain[i, j]),
        worst_type=float(types[i]),
        worst_report=float(types[j]),
        min_surplus=float(own[k]),
        ir_type=float(types[k]),
        types=int(types.size),
    )


def check_caps(model, types: ArrayLike, caps: ArrayLike, prices: ArrayLike,
               valuation=None) -> IncentiveReport:  # fmt: skip
    r"""Check a menu of time caps: item ``j`` is cap ``caps[j]`` at ``prices[j]``, meant for
    ``types[j]``; type ``i`` values it at :math:`q(r_i)E[e^{-r_i\tau}1\{\tau\le T_j\}]`
    (:math:`q \equiv 1` if ``valuation`` is None). The matrix is built in blocks of rows."""
    types = np.asarray(types, dtype=float)
    caps = np.asarray(caps, dtype=float)
    prices = np.asarray(prices, dtype=float)
    rows = max(1, BLOCK // max(types.size, 1))
    best = (-np.inf, 0, 0)
    own = np.empty(types.size)
    for s in range(0, types.size, rows):
        block = types[s : s + rows]
        util = model.laplace(block[:, None], caps[None, :])
        if valuation is not None:
            util = valuation.q(block)[:, None] * util
        payoff = util - prices[None, :]
        idx = np.arange(block.size)
        own[s : s + block.size] = payoff[idx, s + idx]
        gain = payoff - own[s : s + block.size, None]
        i, j = np.unravel_index(np.argmax(gain), gain.shape)
        if gain[i, j] > best[0]:
            best = (float(gain[i, j]), s + int(i), int(j))
    k = int(np.argmin(own))
    return IncentiveReport(
        max_gain=best[0],
        worst_type=float(types[best[1]]),
        worst_report=float(types[best[2]]),
        min_surplus=float(own[k]),
        ir_type=float(types[k]),
        types=int(types.size),
    )
