r"""Formulas in one variable, parsed (never executed) and differentiated exactly.

A user's valuation of a solved task (Zhong 2025, Section 4: value :math:`q(r)e^{-rt}`) may be
written as a formula in the urgency ``r``::

    1 + 0.5*(r - 1)        exp(2*(r - 1))        min(3 - r, 1.5)        r^2/(1 + r)

The language: numbers (``2``, ``0.5``, ``.5``, ``1e-3``), the variable ``r``, ``+ - * /``,
``^`` for powers (``**`` is accepted too; right-associative, binding tighter than a unary
minus: ``-r^2`` is :math:`-(r^2)`), parentheses, and the functions ``exp``, ``log``, ``sqrt``,
``tanh`` (one argument) and ``min``, ``max`` (two or more). A recursive-descent parser turns
the text into a tree of the nodes below; nothing is passed to ``eval``. Evaluating a tree gives
the value and the exact derivative in one pass (forward-mode differentiation of the tree: each
node applies the chain rule to its children's values and derivatives), vectorised over numpy
arrays of ``r``.

Errors are :class:`FormulaError`, naming the field and the text:
``expression = '1 +': expected a number, r, a function or '(' at the end``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["FUNCTIONS", "Formula", "FormulaError", "parse"]

#: The variable of a formula.
VARIABLE = "r"
#: Longest formula accepted, and deepest nesting of parentheses, calls and unary signs.
MAX_LENGTH = 2000
MAX_DEPTH = 100

Pair = tuple[NDArray, NDArray]


class FormulaError(ValueError):
    """A formula that cannot be parsed; the message names the field and the text."""


# -- the functions: value and derivative of f(a), given a and a' ----------------------------
def _exp(a: NDArray, da: NDArray) -> Pair:
    v = np.exp(a)
    return v, v * da


def _log(a: NDArray, da: NDArray) -> Pair:
    return np.log(a), da / a


def _sqrt(a: NDArray, da: NDArray) -> Pair:
    v = np.sqrt(a)
    return v, da / (2 * v)


def _tanh(a: NDArray, da: NDArray) -> Pair:
    v = np.tanh(a)
    return v, (1 - v * v) * da


#: The one-argument functions of the language.
FUNCTIONS: dict[str, Callable[[NDArray, NDArray], Pair]] = {
    "exp": _exp,
    "log": _log,
    "sqrt": _sqrt,
    "tanh": _tanh,
}
#: The functions of two or more arguments (the derivative is the chosen argument's).
EXTREMA = ("min", "max")


# -- the tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Number:
    value: float
    depends = False

    def evaluate(self, r: NDArray) -> Pair:
        return np.full(r.shape, self.value), np.zeros(r.shape)


@dataclass(frozen=True)
class Variable:
    depends = True

    def evaluate(self, r: NDArray) -> Pair:
        return r.copy(), np.ones(r.shape)


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    arg: object

    @property
    def depends(self) -> bool:
        return self.arg.depends

    def evaluate(self, r: NDArray) -> Pair:
        v, d = self.arg.evaluate(r)
        return (-v, -d) if self.op == "-" else (v, d)


@dataclass(frozen=True)
class Binary:
    op: str  # one of + - * / ^
    left: object
    right: object

    @property
    def depends(self) -> bool:
        return self.left.depends or self.right.depends

    def evaluate(self, r: NDArray) -> Pair:
        a, da = self.left.evaluate(r)
        b, db = self.right.evaluate(r)
        if self.op == "+":
            return a + b, da + db
        if self.op == "-":
            return a - b, da - db
        if self.op == "*":
            return a * b, da * b + a * db
        if self.op == "/":
            return a / b, (da * b - a * db) / (b * b)
        v = a**b
        if not self.right.depends:  # a^c: c a^(c-1) a', defined for a < 0 too
            return v, np.where(da == 0, 0.0, b * a ** (b - 1) * da)
        return v, v * (db * np.log(a) + np.where(da == 0, 0.0, b * da / a))


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple

    @property
    def depends(self) -> bool:
        return any(arg.depends for arg in self.args)

    def evaluate(self, r: NDArray) -> Pair:
        pairs = [arg.evaluate(r) for arg in self.args]
        if self.name in FUNCTIONS:
            return FUNCTIONS[self.name](*pairs[0])
        v, d = pairs[0]
        for w, dw in pairs[1:]:
            take = (w < v) if self.name == "min" else (w > v)
            v, d = np.where(take, w, v), np.where(take, dw, d)
        return v, d


# -- the parser -------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>\*\*|[-+*/^(),]))"
)


def _tokens(text: str, fail: Callable[[str], FormulaError]) -> list[tuple[str, str, int]]:
    """``(kind, text, position)`` of each token, then ``("end", "", len(text))``."""
    out, pos = [], 0
    while text[pos:].strip():
        m = _TOKEN.match(text, pos)
        if m is None:
            at = len(text) - len(text[pos:].lstrip())
            raise fail(f"unexpected character {text[at]!r} at position {at}")
        kind = m.lastgroup
        value = m.group(kind)
        out.append((kind, "^" if value == "**" else value, m.start(kind)))
        pos = m.end()
    out.append(("end", "", len(text)))
    return out


class _Parser:
    """expr := term (('+'|'-') term)*;  term := unary (('*'|'/') unary)*;
    unary := ('-'|'+') unary | power;  power := atom ('^' unary)?;
    atom := number | 'r' | name '(' expr (',' expr)* ')' | '(' expr ')'."""

    def __init__(self, text: str, field: str):
        self.text, self.field = text, field
        self.toks = _tokens(text, self.error)
        self.i = 0
        self.depth = 0

    def error(self, what: str) -> FormulaError:
        return FormulaError(f"{self.field} = {self.text!r}: {what}")

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def where(self, tok: tuple[str, str, int]) -> str:
        return "at the end" if tok[0] == "end" else f"at position {tok[2]} (found {tok[1]!r})"

    def expect(self, value: str, context: str) -> None:
        tok = self.take()
        if tok[1] != value or tok[0] == "end":
            raise self.error(f"expected {value!r} {context} {self.where(tok)}")

    def parse(self):
        node = self.expr()
        tok = self.peek()
        if tok[1] == ")":
            raise self.error(f"unmatched ')' at position {tok[2]}")
        if tok[0] != "end":
            raise self.error(f"expected an operator {self.where(tok)}")
        return node

    def expr(self):
        node = self.term()
        while self.peek()[1] in ("+", "-") and self.peek()[0] == "op":
            node = Binary(self.take()[1], node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.peek()[1] in ("*", "/") and self.peek()[0] == "op":
            node = Binary(self.take()[1], node, self.unary())
        return node

    def unary(self):
        if self.peek()[0] == "op" and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            return Unary(op, self.nested(self.unary))
        return self.power()

    def power(self):
        node = self.atom()
        if self.peek()[0] == "op" and self.peek()[1] == "^":
            self.take()
            node = Binary("^", node, self.nested(self.unary))
        return node

    def nested(self, rule):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} deep")
        try:
            return rule()
        finally:
            self.depth -= 1

    def atom(self):
        tok = self.take()
        kind, value, _ = tok
        if kind == "number":
            return Number(float(value))
        if kind == "name":
            return self.name(tok)
        if value == "(" and kind == "op":
            node = self.nested(self.expr)
            self.expect(")", "to close '('")
            return node
        raise self.error(f"expected a number, {VARIABLE}, a function or '(' {self.where(tok)}")

    def name(self, tok: tuple[str, str, int]):
        value = tok[1]
        calls = self.peek()[1] == "(" and self.peek()[0] == "op"
        if value == VARIABLE:
            if calls:
                raise self.error(f"{VARIABLE} is the variable, not a function")
            return Variable()
        if value not in FUNCTIONS and value not in EXTREMA:
            known = ", ".join([*FUNCTIONS, *EXTREMA])
            raise self.error(
                f"unknown name {value!r} (the variable is {VARIABLE}; functions: {known})"
            )
        if not calls:
            raise self.error(f"{value} is a function: write {value}(...)")
        self.take()
        args = [self.nested(self.expr)]
        while self.peek()[1] == "," and self.peek()[0] == "op":
            self.take()
            args.append(self.nested(self.expr))
        self.expect(")", f"to close {value}(")
        if value in FUNCTIONS and len(args) != 1:
            raise self.error(f"{value} takes 1 argument ({len(args)} given)")
        if value in EXTREMA and len(args) < 2:
            raise self.error(f"{value} takes 2 or more arguments (1 given)")
        return Call(value, tuple(args))


@dataclass(frozen=True)
class Formula:
    """A parsed formula in ``r``: call it for the value, :meth:`derivative` for d/dr."""

    text: str
    tree: object

    @property
    def is_constant(self) -> bool:
        """The formula does not involve ``r``."""
        return not self.tree.depends

    def evaluate(self, r: ArrayLike) -> Pair:
        """Value and exact derivative at ``r`` (arrays of the shape of ``r``)."""
        r = np.asarray(r, dtype=float)
        with np.errstate(all="ignore"):
            v, d = self.tree.evaluate(r)
        return np.asarray(v, dtype=float), np.asarray(d, dtype=float)

    def __call__(self, r: ArrayLike) -> NDArray:
        return self.evaluate(r)[0]

    def derivative(self, r: ArrayLike) -> NDArray:
        return self.evaluate(r)[1]


def parse(text: str, field: str = "expression") -> Formula:
    """Parse ``text`` (see the module docstring); errors name ``field``."""
    if not isinstance(text, str):
        raise FormulaError(f"{field} = {text!r}: expected a formula in {VARIABLE} (a string)")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{field}: longer than {MAX_LENGTH} characters")
    if text.strip() == "":
        raise FormulaError(f"{field} = {text!r}: expected a formula in {VARIABLE}")
    return Formula(text, _Parser(text, field).parse())
