r"""Heterogeneous valuations (Zhong 2025, Section 4): a user of urgency :math:`r` values a task
solved at time :math:`t` at :math:`q(r)e^{-rt}`.

A :class:`Valuation` is :math:`q` with its derivative :math:`q'`, vectorised over ``r``:

- :meth:`Valuation.from_expression`: a formula in ``r`` (:mod:`market.theory.formula`: parsed,
  never executed; the derivative is exact);
- :meth:`Valuation.from_points`: the monotone cubic through points ``urgency = [...]``,
  ``value = [...]`` (:class:`scipy.interpolate.PchipInterpolator`, Fritsch and Carlson 1980:
  monotone wherever the data are, and :math:`C^1`);
- :meth:`Valuation.constant`: :math:`q \equiv 1`, the baseline of Sections 2 and 3.

:meth:`Valuation.check` verifies that :math:`q` is positive and finite (with a finite
derivative) on the urgency range, naming the offending type. Errors are
:class:`ValuationError` in the theory's vocabulary (``expression``, ``urgency``, ``value``);
the scenario layer prefixes the table's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.theory.formula import FormulaError, parse

__all__ = ["Valuation", "ValuationError"]

#: Points of the grid on which :meth:`Valuation.check` evaluates q and q'.
CHECK_POINTS = 4001
#: Points may miss the ends of the urgency range by this much (relative to its width).
COVER_TOLERANCE = 1e-12


class ValuationError(ValueError):
    """A valuation the theory cannot use; the message names the field and the value."""


def _show(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _numbers(field: str, values: object) -> NDArray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValuationError(f"{field} = {values!r}: expected a list of numbers") from None
    if arr.ndim != 1 or arr.size < 2:
        raise ValuationError(f"{field} = {values!r}: expected a list of at least 2 numbers")
    if not np.all(np.isfinite(arr)):
        raise ValuationError(f"{field} = {_show(arr)}: expected finite numbers")
    return arr


class Valuation:
    r""":math:`q(r)`, the value of a task solved at once to a user of urgency :math:`r`.

    Use the constructors :meth:`from_expression`, :meth:`from_points` and :meth:`constant`.

    Attributes
    ----------
    is_constant : bool
        :math:`q' \equiv 0` (then the menu is Theorem 1's, scaled by ``q``).
    """

    def __init__(
        self,
        evaluate: Callable[[NDArray], tuple[NDArray, NDArray]],
        record: dict,
        label: str,
        is_constant: bool = False,
        points: tuple[float, float] | None = None,
    ):
        self._evaluate = evaluate
        self._record = record
        self.label = label
        self.is_constant = is_constant
        self._points = points

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_expression(cls, text: str) -> Valuation:
        """:math:`q` given by a formula in ``r`` (:mod:`market.theory.formula`)."""
        try:
            formula = parse(text, "expression")
        except FormulaError as err:
            raise ValuationError(str(err)) from None
        return cls(formula.evaluate, {"expression": text}, f"expression = {text!r}",
                   formula.is_constant)  # fmt: skip

    @classmethod
    def from_points(cls, urgency: ArrayLike, value: ArrayLike) -> Valuation:
        """The monotone cubic (PCHIP) through ``(urgency[i], value[i])``; urgencies strictly
        increasing, as many values as urgencies (at least 2)."""
        from scipy.interpolate import PchipInterpolator  # lazy: `market solve` starts faster

        x, y = _numbers("urgency", urgency), _numbers("value", value)
        if x.size != y.size:
            raise ValuationError(
                f"value = {_show(y)}: expected as many values as urgencies "
                f"({y.size} values, {x.size} urgencies)"
            )
        if np.any(np.diff(x) <= 0):
            k = int(np.argmax(np.diff(x) <= 0))
            raise ValuationError(
                f"urgency = {_show(x)}: expected strictly increasing urgencies "
                f"({x[k]:g} is followed by {x[k + 1]:g})"
            )
        spline = PchipInterpolator(x, y, extrapolate=True)
        slope = spline.derivative()

        def evaluate(r: NDArray) -> tuple[NDArray, NDArray]:
            r = np.asarray(r, dtype=float)
            return np.asarray(spline(r), dtype=float), np.asarray(slope(r), dtype=float)

        record = {"urgency": x.tolist(), "value": y.tolist()}
        label = f"value = {_show(y)}"
        return cls(evaluate, record, label, bool(np.all(y == y[0])), (float(x[0]), float(x[-1])))

    @classmethod
    def constant(cls, value: float = 1.0) -> Valuation:
        """:math:`q \\equiv` ``value`` (1: the baseline)."""
        v = float(value)

        def evaluate(r: NDArray) -> tuple[NDArray, NDArray]:
            r = np.asarray(r, dtype=float)
            return np.full(r.shape, v), np.zeros(r.shape)

        return cls(evaluate, {"expression": repr(v)}, f"q = {v:g}", True)

    # -- values -----------------------------------------------------------------------
    def q(self, r: ArrayLike) -> NDArray:
        """:math:`q(r)`."""
        return self._evaluate(np.asarray(r, dtype=float))[0]

    def dq(self, r: ArrayLike) -> NDArray:
        """:math:`q'(r)`."""
        return self._evaluate(np.asarray(r, dtype=float))[1]

    def values(self, r: ArrayLike) -> tuple[NDArray, NDArray]:
        """``(q(r), q'(r))`` in one pass."""
        return self._evaluate(np.asarray(r, dtype=float))

    def log_slope(self, r: ArrayLike) -> NDArray:
        """:math:`q'(r)/q(r)`."""
        v, d = self.values(r)
        return d / v

    def describe(self) -> dict:
        """Plain record, as in a scenario's ``[valuation]`` table."""
        return dict(self._record)

    def __repr__(self) -> str:
        return f"Valuation({self.label})"

    # -- the check --------------------------------------------------------------------
    def check(self, low: float, high: float) -> None:
        """Raise :class:`ValuationError` unless :math:`q > 0` and :math:`q, q'` are finite on
        ``[low, high]`` (a grid of :data:`CHECK_POINTS` types), naming the first bad urgency;
        points must cover the range."""
        low, high = float(low), float(high)
        if self._points is not None:
            a, b = self._points
            slack = COVER_TOLERANCE * max(1.0, high - low)
            if a > low + slack or b < high - slack:
                raise ValuationError(
                    f"urgency = {_show(self._record['urgency'])}: the points must cover the "
                    f"urgency range [{low:g}, {high:g}]"
                )
        r = np.linspace(low, high, CHECK_POINTS)
        v, d = self.values(r)
        bad = ~(np.isfinite(v) & (v > 0))
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValuationError(
                f"{self.label}: q(r) = {v[k]:.6g} at r = {r[k]:.6g}: expected a positive, "
                f"finite value on the urgency range [{low:g}, {high:g}]"
            )
        bad = ~np.isfinite(d)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValuationError(
                f"{self.label}: q'(r) = {d[k]:.6g} at r = {r[k]:.6g}: expected a finite "
                f"derivative on the urgency range [{low:g}, {high:g}]"
            )

    def is_one(self) -> bool:
        """:math:`q \\equiv 1` (the baseline; the menu is then exactly Theorem 1's)."""
        return self.is_constant and math.isclose(float(self.q(np.array([0.0]))[0]), 1.0,
                                                 rel_tol=0, abs_tol=0)  # fmt: skip
