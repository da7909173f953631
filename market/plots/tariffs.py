r"""Tariffs: what a user pays for the tokens it uses, under a policy's plans.

A plan :math:`j` (a row of ``plans.parquet``) sells up to :math:`\bar q_j` tokens
(``token_cap``; null: unlimited) at speed :math:`s_j` for a price :math:`p_j` paid up front
and :math:`c_j` per token used (``per_token``). A user who uses :math:`q` tokens at speed
:math:`s` pays at least

.. math::  P_s(q) = \min\{\, p_j + c_j q \;:\; s_j = s,\ \bar q_j \ge q \,\},

infinite when no plan allows :math:`q` tokens (:func:`tariff`). A flat price is a constant, a
per-token price a line of slope :math:`c` through 0, a two-part tariff a line of slope
:math:`c` starting at its fee, and token tiers a staircase that jumps at each cap. A
continuum schedule (rows without a plan name: the optimal token menu's price :math:`P(r)` of
the cap :math:`\chi T(r)`, Definition 2 as corrected in ``docs/paper-notes.md``, erratum 2)
is sampled at a grid of types; its curve is drawn through the sampled caps
(:func:`tariff_curves`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["GRID_POINTS", "SAME_PLAN_DECIMALS", "TariffCurve", "tariff", "tariff_curves"]

#: Plans whose cap, price, per-token price and speed agree to this many decimals are one plan
#: (a solver may list a plan twice, its price differing in the last bit).
SAME_PLAN_DECIMALS = 12
#: Evenly spaced token quantities of a curve of finitely many plans (caps added).
GRID_POINTS = 401


@dataclass(frozen=True)
class TariffCurve:
    """The tariff :math:`P_s(q)` of one policy at one speed, at sampled token quantities.

    Attributes
    ----------
    speed : float
        The plans' speed :math:`s` (fraction of the token rate).
    tokens, payment : numpy.ndarray
        Token quantities :math:`q` (increasing) and :math:`P_s(q)`; NaN where no plan allows
        :math:`q` tokens, so a drawn line ends at the largest cap.
    plans : pandas.DataFrame
        The plans at this speed (rows of ``plans.parquet``).
    continuum : bool
        True for a sampled schedule (drawn through its caps), False for finitely many plans.
    """

    speed: float
    tokens: NDArray[np.float64]
    payment: NDArray[np.float64]
    plans: pd.DataFrame
    continuum: bool


def tariff(plans: pd.DataFrame, tokens: ArrayLike) -> NDArray[np.float64]:
    """The cheapest payment :math:`\\min_j\\{p_j + c_j q : \\bar q_j \\ge q\\}` at each ``q``.

    Parameters
    ----------
    plans : pandas.DataFrame
        Columns ``token_cap`` (NaN: unlimited), ``price`` and ``per_token``.
    tokens : array_like
        Token quantities :math:`q \\ge 0`.

    Returns
    -------
    numpy.ndarray
        The payment at each ``q``; ``inf`` where no plan's cap reaches ``q``.
    """
    q = np.asarray(tokens, dtype=float)[:, None]
    cap = plans.token_cap.fillna(np.inf).to_numpy(dtype=float)[None, :]
    cost = plans.price.to_numpy(dtype=float)[None, :] + plans.per_token.to_numpy(float) * q
    return np.where(cap >= q, cost, np.inf).min(axis=1, initial=np.inf)


def tariff_curves(plans: pd.DataFrame, q_max: float) -> list[TariffCurve]:
    """One :class:`TariffCurve` per speed of a policy's plans (fastest first), on [0, q_max].

    Plans that sell no token (cap 0) and repeated plans (equal to
    :data:`SAME_PLAN_DECIMALS` decimals) are left out. Finitely many plans are
    evaluated at :data:`GRID_POINTS` evenly spaced quantities and at each cap and just past
    it, so that a tier's jump is drawn as a vertical step; a continuum schedule at 0, at its
    caps, just past its largest cap and at ``q_max``, so that its line runs through the
    sampled points ``(cap, price)``.
    """
    plans = plans[~(plans.token_cap <= 0)]
    key = plans[["token_cap", "price", "per_token", "speed"]].round(SAME_PLAN_DECIMALS)
    plans = plans[~key.duplicated()]
    curves = []
    for speed in sorted(plans.speed.unique(), reverse=True):
        rows = plans[plans.speed == speed]
        continuum = bool(rows.plan.isna().any())
        caps = rows.token_cap.dropna().to_numpy(dtype=float)
        caps = np.unique(caps[caps < q_max])
        past = np.nextafter(caps, np.inf)
        if continuum:
            q = np.concatenate([[0.0, q_max], caps, past[-1:]])
        else:
            q = np.concatenate([np.linspace(0.0, q_max, GRID_POINTS), caps, past])
        q = np.unique(q)
        payment = tariff(rows, q)
        payment[np.isinf(payment)] = np.nan
        curves.append(TariffCurve(float(speed), q, payment, rows, continuum))
    return curves
