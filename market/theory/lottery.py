r"""The best menu of token caps that satisfies every IC and IR constraint, by linear programming
(docs/paper-notes.md, erratum 7).

When the threshold menu fails individual rationality (steeply rising valuations :math:`q`),
the best mechanism among menus of caps for the greedy model is computed as follows.

1. **The linear program.** Types are discretised to points :math:`r_i` with the masses
   :math:`w_i` of their cells under :math:`G`, caps to a grid :math:`T_j` (multiples of
   :math:`E[\tau]`, and :math:`\infty`). An item is a lottery over caps: :math:`x_{ij} \ge 0`,
   :math:`\sum_j x_{ij} \le 1` (the rest: nothing), at price :math:`p_i`. With
   :math:`u_{ij} = q(r_i)E[e^{-r_i\tau}1\{\tau\le T_j\}]` and the token cost
   :math:`\kappa_j = c\chi E[\min(\tau, T_j)]`, maximise :math:`\sum_i w_i(p_i - \sum_j
   \kappa_j x_{ij})` subject to every pairwise IC, :math:`\sum_j u_{ij}x_{ij} - p_i \ge
   \sum_j u_{ij}x_{lj} - p_l`, and IR, :math:`\sum_j u_{ij}x_{ij} - p_i \ge 0`
   (``scipy.optimize.linprog``, HiGHS).
2. **The continuum.** The LP's distinct items are offered to the continuum of types; each type
   takes its best item, or nothing if every payoff is negative, so the menu is IC and IR by
   construction. Its profit is exact: the boundaries between choices are roots of payoff
   differences and the surplus an integral over types
   (:func:`market.numerics.integrate.expect`). The items' prices are then polished on the
   continuum (Nelder-Mead, for menus of at most :data:`POLISH_ITEMS` items).
3. **Refinement.** Types are added around the LP's choice boundaries and caps around the caps
   it uses; the rounds stop when the continuum profit changes by at most ``tol``
   (:data:`TOLERANCE`, absolute, per user) between two rounds.

Every menu found is a feasible mechanism, so its profit is a lower bound on the best; the LP's
value on the last grid is reported beside it. On the paper's example with
:math:`q = e^{2(r-1)}` the answer is one uncapped plan sold to :math:`r \ge (3+\sqrt5)/4` at
revenue :math:`e^{(\sqrt5-1)/2}(3-\sqrt5)/4`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import brentq, linprog, minimize

from market.numerics.integrate import expect
from market.theory.valuation import Valuation

__all__ = ["LotteryItem", "LotteryMenu", "TOLERANCE", "best_cap_menu"]

#: Convergence of the continuum profit between refinement rounds (absolute, per user).
TOLERANCE = 1e-7
START_TYPES, START_CAPS, MAX_ROUNDS = 25, 24, 6
#: Largest grids of the LP (its pairwise IC constraints grow as types squared times caps).
MAX_TYPES, MAX_CAPS = 101, 64
#: Caps of the first grid, in units of E[tau] (and unlimited).
CAP_RANGE = (0.02, 20.0)
#: Points of the grid of types on which choices are located before root finding.
EVAL_GRID = 4001
#: Items whose lotteries and prices agree to this are one item.
ITEM_TOL = 1e-9
#: Probabilities below this in the LP's solution are the solver's tolerance, set to 0.
LOTTERY_NOISE = 1e-7
#: Caps from this many times E[tau] on are tried as unlimited.
LONG_CAP = 4.0
#: Largest menu whose prices are polished on the continuum.
POLISH_ITEMS = 10
EXACT_ITEMS = 3
#: Profit evaluations per item the polish may spend (on interpolated, then exact boundaries):
#: a bound on the work of a solve, whatever the menu (each exact evaluation finds roots).
POLISH_EVALS, POLISH_EXACT_EVALS = 300, 80


@dataclass(frozen=True)
class LotteryItem:
    """One item: cap ``caps[j]`` (time; ``inf``: unlimited) with probability
    ``probabilities[j]`` (summing to at most 1), at ``price``; bought by the types in
    ``[low, high]``, a share ``share`` of them."""

    caps: tuple[float, ...]
    probabilities: tuple[float, ...]
    price: float
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class LotteryMenu:
    """The best IC and IR menu of (lotteries over) token caps found, evaluated on the continuum
    of types. ``rounds``: its profit after each refinement; ``lp_value``: the discrete LP's
    optimum on the last grid (``types`` types, ``caps`` caps)."""

    items: tuple[LotteryItem, ...]
    revenue: float
    token_cost: float
    profit: float
    user_surplus: float
    welfare: float
    participation: float
    lp_value: float
    rounds: tuple[float, ...]
    converged: bool
    tolerance: float
    types: int
    caps: int

    def describe(self) -> str:
        """One sentence: what is sold and what it earns."""
        parts = []
        for it in self.items:
            lottery = " + ".join(
                f"{p:.3g}×{'unlimited' if np.isinf(c) else f'cap {c:.4g}'}"
                for c, p in zip(it.caps, it.probabilities, strict=True)
            )
            parts.append(f"[{lottery}] at {it.price:.6g} to r in [{it.low:.6g}, {it.high:.6g}]")
        state = "converged" if self.converged else "not converged"
        return (
            f"best IC/IR menu of token caps: {'; '.join(parts) or 'nothing sold'}; revenue "
            f"{self.revenue:.10g}, profit {self.profit:.10g} ({state} to {self.tolerance:g} in "
            f"{len(self.rounds)} rounds; LP on {self.types} types x {self.caps} caps: "
            f"{self.lp_value:.10g})"
        )


def _solve_lp(util: NDArray, kappa: NDArray, w: NDArray) -> tuple[NDArray, NDArray, float]:
    """The LP of the module docstring: ``(x (K, J), p (K), value)``."""
    k, j = util.shape
    n = k * j + k
    i_idx, l_idx = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    off = i_idx != l_idx
    i_idx, l_idx = i_idx[off], l_idx[off]
    pairs = i_idx.size
    cols_j = np.arange(j)[None, :]
    cols = np.concatenate(
        [l_idx[:, None] * j + cols_j, i_idx[:, None] * j + cols_j,
         (k * j + l_idx)[:, None], (k * j + i_idx)[:, None]], axis=1,
    ).ravel()  # fmt: skip
    ones = np.ones((pairs, 1))
    vals = np.concatenate([util[i_idx], -util[i_idx], -ones, ones], axis=1).ravel()
    ic = sparse.csr_matrix((vals, (np.repeat(np.arange(pairs), 2 * j + 2), cols)), (pairs, n))
    own = np.arange(k)[:, None] * j + cols_j
    ir_cols = np.concatenate([own, (k * j + np.arange(k))[:, None]], axis=1).ravel()
    ir_vals = np.concatenate([-util, np.ones((k, 1))], axis=1).ravel()
    ir = sparse.csr_matrix((ir_vals, (np.repeat(np.arange(k), j + 1), ir_cols)), (k, n))
    prob = sparse.csr_matrix((np.ones(k * j), (np.repeat(np.arange(k), j), own.ravel())), (k, n))
    res = linprog(
        np.concatenate([(w[:, None] * kappa[None, :]).ravel(), -w]),
        A_ub=sparse.vstack([ic, ir, prob]).tocsr(),
        b_ub=np.concatenate([np.zeros(pairs + k), np.ones(k)]),
        bounds=[(0, 1)] * (k * j) + [(None, None)] * k,
        method="highs",
    )
    if res.status != 0:
        raise RuntimeError(f"the lottery LP failed: {res.message}")
    x = np.clip(res.x[: k * j].reshape(k, j), 0.0, 1.0)
    x /= np.maximum(x.sum(axis=1, keepdims=True), 1.0)
    return x, res.x[k * j :], float(-res.fun)


def _distinct(x: NDArray, p: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """The distinct items bought (lottery rows and prices) and each type's item (-1: none)."""
    x = np.where(x < LOTTERY_NOISE, 0.0, x)  # the LP solver's feasibility tolerance
    items: list[int] = []
    of_type = np.full(p.size, -1)
    for i in range(p.size):
        if x[i].sum() <= ITEM_TOL:
            continue
        for m, k in enumerate(items):
            if np.max(np.abs(x[i] - x[k])) <= 1e-7 and abs(p[i] - p[k]) <= 1e-7:
                of_type[i] = m
                break
        else:
            of_type[i] = len(items)
            items.append(i)
    return x[items], p[items], of_type


class _Continuum:
    """A finite menu of lotteries offered to the continuum of types."""

    def __init__(self, model, urgency, q: Valuation, k: float, caps: NDArray, x: NDArray):
        self.model, self.urgency, self.q, self.k = model, urgency, q, k
        used = np.flatnonzero(x.max(axis=0, initial=0.0) > ITEM_TOL)
        self.caps, self.x = caps[used], x[:, used]
        self.kappa = k * (self.x @ model.expected_truncated_time(self.caps)) if k > 0 else 0.0
        lo, hi = float(urgency.low), float(urgency.high)
        quant = urgency.ppf(np.linspace(0.0, 1.0, EVAL_GRID))
        grid = np.concatenate([np.linspace(lo, hi, EVAL_GRID), quant])
        self.grid = np.unique(np.clip(grid, lo, hi))
        self.gross = self.gross_of(self.grid)
        self.g_cdf = np.asarray(urgency.cdf(self.grid), dtype=float)

    def gross_of(self, r: NDArray) -> NDArray:
        """``(len(r), m)``: :math:`q(r)\\sum_j x_{mj}E[e^{-r\\tau}1\\{\\tau\\le T_j\\}]`."""
        r = np.atleast_1d(np.asarray(r, dtype=float))
        util = self.model.laplace(r[:, None], self.caps[None, :])
        return self.q.q(r)[:, None] * (util @ self.x.T)

    def _choices(self, p: NDArray, gross: NDArray) -> NDArray:
        pay = np.concatenate([np.zeros((gross.shape[0], 1)), gross - p[None, :]], axis=1)
        return np.argmax(pay, axis=1) - 1  # -1: nothing (ties go to the first: buying is later)

    def segments(self, p: NDArray, exact: bool = True) -> list[tuple[float, float, int]]:
        """``(a, b, item)`` of the types choosing each item (-1: nothing), boundaries by
        root finding (``exact``) or linear interpolation on the grid."""
        choice = self._choices(p, self.gross)
        edges, owners = [self.grid[0]], [int(choice[0])]
        for i in np.flatnonzero(choice[1:] != choice[:-1]):
            a, b = int(choice[i]), int(choice[i + 1])

            def diff(r, a=a, b=b):
                pay = np.append(self.gross_of(np.array([r]))[0] - p, 0.0)
                return pay[a] - pay[b]

            r0, r1 = self.grid[i], self.grid[i + 1]
            d0, d1 = diff(r0), diff(r1)
            if exact and d0 * d1 < 0:
                cut = brentq(diff, r0, r1, xtol=1e-15, rtol=1e-15)
            else:
                cut = r0 + (r1 - r0) * d0 / (d0 - d1) if d0 != d1 else r0
            edges.append(float(cut))
            owners.append(b)
        edges.append(self.grid[-1])
        return [(edges[s], edges[s + 1], owners[s]) for s in range(len(owners))]

    def profit(self, p: NDArray, exact: bool = False) -> float:
        """Profit per user; boundaries interpolated on the grid unless ``exact``."""
        total = 0.0
        kappa = np.broadcast_to(self.kappa, p.shape)
        for a, b, m in self.segments(p, exact=exact):
            if m >= 0:
                total += (p[m] - kappa[m]) * float(self.urgency.cdf(b) - self.urgency.cdf(a))
        return total

    def evaluate(self, p: NDArray) -> dict:
        """Exact revenue, token cost, user surplus and the items' buyers."""
        kappa = np.broadcast_to(self.kappa, p.shape)
        out = {"revenue": 0.0, "token_cost": 0.0, "user_surplus": 0.0, "participation": 0.0}
        bought = {}
        for a, b, m in self.segments(p):
            if m < 0 or b <= a:
                continue
            mass = float(self.urgency.cdf(b) - self.urgency.cdf(a))
            out["revenue"] += p[m] * mass
            out["token_cost"] += kappa[m] * mass
            out["participation"] += mass
            out["user_surplus"] += expect(
                self.urgency, lambda r, m=m: self.gross_of(r)[:, m] - p[m], a, b
            )
            lo, hi, share = bought.get(m, (a, b, 0.0))
            bought[m] = (min(lo, a), max(hi, b), share + mass)
        out["profit"] = out["revenue"] - out["token_cost"]
        out["bought"] = bought
        return out


def _polish(menu: _Continuum, p: NDArray) -> NDArray:
    """Prices maximising the continuum profit, from ``p`` (Nelder-Mead on boundaries
    interpolated on the grid, then, for at most :data:`EXACT_ITEMS` items, on exact ones)."""
    if p.size == 0 or p.size > POLISH_ITEMS:
        return p
    scale = max(float(np.max(np.abs(p))), 1e-12)
    for exact, step in ((False, 1e-3), (True, 1e-5)):
        if exact and p.size > EXACT_ITEMS:
            break
        start = p / scale
        res = minimize(
            lambda z, exact=exact: -menu.profit(z * scale, exact), start, method="Nelder-Mead",
            options={"xatol": 1e-12, "fatol": 1e-15,
                     "maxfev": (POLISH_EXACT_EVALS if exact else POLISH_EVALS) * p.size,
                     "initial_simplex": np.vstack([start, start + step * np.eye(p.size)])},
        )  # fmt: skip
        if -res.fun >= menu.profit(p, exact):
            p = res.x * scale
    return p


def _unlimited(menu: _Continuum, grid: NDArray, xs: NDArray, prices: NDArray, result: dict):
    """Each item's caps beyond :data:`LONG_CAP` times :math:`E[\\tau]` tried as unlimited (the
    LP cannot tell them apart to its tolerance); kept where the continuum profit does not fall."""
    long = np.isfinite(grid) & (grid >= LONG_CAP * float(menu.model.expected_time))
    if not np.isinf(grid[-1]) or not np.any(xs[:, long] > 0):
        return menu, prices, result
    for m in range(xs.shape[0]):
        if not np.any(xs[m, long] > 0):
            continue
        trial = xs.copy()
        trial[m, -1] += trial[m, long].sum()
        trial[m, long] = 0.0
        other = _Continuum(menu.model, menu.urgency, menu.q, menu.k, grid, trial)
        p2 = _polish(other, prices)
        res2 = other.evaluate(p2)
        if res2["profit"] >= result["profit"] - 1e-12:
            menu, xs, prices, result = other, trial, p2, res2
    return menu, prices, result


def _type_grid(urgency, r: NDArray) -> tuple[NDArray, NDArray]:
    """Types ``r`` (sorted) and the masses of their cells (edges halfway between them)."""
    r = np.unique(r)
    edges = np.concatenate([[urgency.low], 0.5 * (r[1:] + r[:-1]), [urgency.high]])
    return r, np.diff(np.asarray(urgency.cdf(edges), dtype=float))


def _refine(urgency, r: NDArray, cuts: list[float], caps: NDArray, x: NDArray):
    """More types around the continuum menu's choice boundaries ``cuts`` (at most
    :data:`MAX_TYPES`), more caps around the caps the LP uses (at most :data:`MAX_CAPS`)."""
    new_r = [r]
    step = 1.0 / r.size
    for cut in cuts:
        u = float(urgency.cdf(cut))
        new_r.append(urgency.ppf(np.clip(u + step * np.array([-0.5, -0.25, 0.0, 0.25, 0.5]), 0, 1)))
    r_new = np.unique(np.concatenate(new_r))
    finite = caps[np.isfinite(caps)]
    new_c = [caps]
    for j in np.flatnonzero(x.max(axis=0) > ITEM_TOL):
        if np.isfinite(caps[j]):
            k = int(np.searchsorted(finite, caps[j]))
            below = finite[k - 1] if k > 0 else caps[j] / 2
            for nb in (below, finite[min(k + 1, finite.size - 1)]):
                new_c.append([np.sqrt(caps[j] * nb)])
        elif finite.size:
            new_c.append([2 * finite[-1]])
    c_new = np.unique(np.concatenate(new_c))
    return (r_new if r_new.size <= MAX_TYPES else r), (c_new if c_new.size <= MAX_CAPS else caps)


def best_cap_menu(model, urgency, valuation: Valuation | None = None, cost: float = 0.0, *,
                  tol: float = TOLERANCE, max_rounds: int = MAX_ROUNDS,
                  types: int = START_TYPES, caps: int = START_CAPS) -> LotteryMenu:  # fmt: skip
    r"""The best IC and IR menu of lotteries over token caps (the module docstring).

    Parameters
    ----------
    model : ConversationModel
        The deployed model (the greedy model).
    urgency : UrgencyDistribution
        :math:`G`.
    valuation : Valuation or None
        :math:`q` (None: :math:`q\equiv 1`).
    cost : float
        :math:`c`, per token.
    tol : float
        Stop when the continuum profit changes by at most this between two rounds.
    max_rounds, types, caps : int
        Most refinement rounds; types and caps of the first LP.
    """
    q = valuation if valuation is not None else Valuation.constant()
    k = float(cost) * float(model.token_rate)
    r, w = _type_grid(urgency, urgency.ppf((np.arange(types) + 0.5) / types))
    scale = float(model.expected_time)
    grid = np.concatenate([scale * np.geomspace(*CAP_RANGE, caps - 1), [np.inf]])
    history: list[float] = []
    best = None
    for _ in range(max_rounds):
        util = q.q(r)[:, None] * model.laplace(r[:, None], grid[None, :])
        kappa = k * model.expected_truncated_time(grid) if k > 0 else np.zeros(grid.size)
        x, p, value = _solve_lp(util, kappa, w)
        xs, ps, _ = _distinct(x, p)
        menu = _Continuum(model, urgency, q, k, grid, xs)
        prices = _polish(menu, ps)
        result = menu.evaluate(prices)
        menu, prices, result = _unlimited(menu, grid, xs, prices, result)
        history.append(result["profit"])
        if best is None or result["profit"] > best[1]["profit"]:
            best = (menu, result, prices, value, r.size, grid.size)
        if len(history) > 1 and abs(history[-1] - history[-2]) <= tol:
            break
        cuts = [a for a, _, _ in menu.segments(prices)[1:]]
        r_new, grid = _refine(urgency, r, cuts, grid, x)
        r, w = _type_grid(urgency, r_new)
    menu, result, prices, value, n_types, n_caps = best
    items = tuple(
        LotteryItem(
            tuple(float(c) for c, pr in zip(menu.caps, menu.x[m], strict=True) if pr > ITEM_TOL),
            tuple(float(pr) for pr in menu.x[m] if pr > ITEM_TOL),
            float(prices[m]), share, float(lo), float(hi),
        )
        for m, (lo, hi, share) in sorted(result["bought"].items(), key=lambda kv: kv[1][0])
    )  # fmt: skip
    converged = len(history) > 1 and abs(history[-1] - history[-2]) <= tol
    return LotteryMenu(
        items, result["revenue"], result["token_cost"], result["profit"], result["user_surplus"],
        result["revenue"] + result["user_surplus"] - result["token_cost"],
        result["participation"], value, tuple(history), converged, tol, n_types, n_caps,
    )  # fmt: skip
