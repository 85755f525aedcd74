"""Polynomial normal forms of small arithmetic expressions.

Hand-written derivatives spell one formula many ways: `s*(1-s)`, `s - s*s`,
`(1 - s) * s`, `s*(-s+1)`, `np.multiply(s, 1 - s)`, `grad * out * (1 - out)`.
Expanding an expression into a polynomial over its *atoms* (every operand
that is not `+ - * **` arithmetic or a number: names, attributes, subscripts,
calls) makes them compare equal, so rules can ask "is this `m*s*(1-s)`?"
instead of matching spellings.

Expansion is bounded: expressions whose expansion grows past `MAX_TERMS`
monomials, or that use other operators (`/`, `@`, comparisons), have no
normal form (`None`), and callers must then stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Optional

import libcst as cst

from gradlint.analysis.syntax import call_name, last_part, literal_number

MAX_TERMS = 24

Monomial = tuple[str, ...]  # sorted atom keys, with repetition for powers


@dataclass(frozen=True)
class Polynomial:
    """A sum of monomials with rational coefficients, ints where integral (zero terms dropped)."""

    terms: tuple[tuple[Monomial, Fraction], ...]

    @staticmethod
    def of(mapping: dict[Monomial, Fraction]) -> "Polynomial":
        # Integral coefficients stay ints (exact, and much cheaper than making a Fraction of
        # each): every reader only compares coefficients or multiplies them by a sign, where an
        # int and the equal Fraction agree (equality, hash and arithmetic alike). The sort never
        # compares coefficients: the monomials are the keys of a dict, all different.
        return Polynomial(tuple(sorted((m, c) for m, c in mapping.items() if c != 0)))

    def as_dict(self) -> dict[Monomial, Fraction]:
        return dict(self.terms)

    @property
    def atoms(self) -> set[str]:
        return {atom for monomial, _ in self.terms for atom in monomial}

    def degree_in(self, atom: str) -> int:
        return max((monomial.count(atom) for monomial, _ in self.terms), default=0)


def _add(a: dict[Monomial, Fraction], b: dict[Monomial, Fraction], sign: int = 1) -> dict[Monomial, Fraction]:
    out = dict(a)
    for monomial, coefficient in b.items():
        out[monomial] = out.get(monomial, 0) + sign * coefficient
    return {m: c for m, c in out.items() if c != 0}


def _mul(a: dict[Monomial, Fraction], b: dict[Monomial, Fraction]) -> Optional[dict[Monomial, Fraction]]:
    if len(a) * len(b) > MAX_TERMS * 2:
        return None
    out: dict[Monomial, Fraction] = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            monomial = tuple(sorted(ma + mb))
            out[monomial] = out.get(monomial, 0) + ca * cb
    out = {m: c for m, c in out.items() if c != 0}
    return out if len(out) <= MAX_TERMS else None


def _number(node: cst.BaseExpression) -> Optional["int | Fraction"]:
    # the literal's value as Python reads it (syntax.literal_number: never libcst's `evaluated_value`,
    # which runs ast.literal_eval, compiles the text and leaves a cycle of closures per call for the
    # collector); an int for an integer literal (exact, like a Fraction, and cheaper to compute with);
    # None for a literal it cannot represent (then the expression has no normal form)
    if type(node) is cst.Integer:
        return literal_number(node)  # type: ignore[return-value]
    if type(node) is cst.Float:
        text = node.value
        if text in _FLOAT_VALUES:
            return _FLOAT_VALUES[text]
        number = literal_number(node)
        value: Optional[Fraction] = Fraction(str(number)) if number is not None else None
        if len(_FLOAT_VALUES) < _MAX_FLOAT_VALUES:
            _FLOAT_VALUES[text] = value
        return value
    return None


# A float literal's exact value by its text (Fractions are immutable: one can be shared). The same
# few literals (`1.0`, `0.5`, `1e-8`) recur in every module, and making a Fraction from text is
# costly; the table is bounded so that no input makes it grow without end.
_FLOAT_VALUES: dict[str, Optional[Fraction]] = {}
_MAX_FLOAT_VALUES = 4096


_BINARY_CALLS = {"multiply": "*", "add": "+", "subtract": "-"}


def expand(node: cst.BaseExpression, atom_key: Callable[[cst.BaseExpression], str]) -> Optional[Polynomial]:
    """The polynomial normal form of `node`, or None when it has none."""
    result = _expand(node, atom_key, 0)
    return Polynomial.of(result) if result is not None else None


def _expand(
    node: cst.BaseExpression, atom_key: Callable[[cst.BaseExpression], str], depth: int
) -> Optional[dict[Monomial, Fraction]]:
    if depth > 40:
        return None
    value = _number(node)
    if value is not None:
        return {(): value} if value != 0 else {}
    if type(node) is cst.UnaryOperation:
        inner = _expand(node.expression, atom_key, depth + 1)
        if inner is None:
            return None
        if type(node.operator) is cst.Minus:
            return {m: -c for m, c in inner.items()}
        if type(node.operator) is cst.Plus:
            return inner
        return None
    if type(node) is cst.BinaryOperation:
        operator = node.operator
        if type(operator) in (cst.Add, cst.Subtract, cst.Multiply):
            left = _expand(node.left, atom_key, depth + 1)
            right = _expand(node.right, atom_key, depth + 1)
            if left is None or right is None:
                return None
            if type(operator) is cst.Add:
                return _add(left, right)
            if type(operator) is cst.Subtract:
                return _add(left, right, -1)
            return _mul(left, right)
        if type(operator) is cst.Power:
            exponent = _number(node.right)
            if exponent is None or exponent.denominator != 1 or not 1 <= exponent <= 4:
                return None
            base = _expand(node.left, atom_key, depth + 1)
            if base is None:
                return None
            result: Optional[dict[Monomial, Fraction]] = {(): 1}
            for _ in range(int(exponent)):
                result = _mul(result, base) if result is not None else None
            return result
        return None
    if type(node) is cst.Call:
        name = last_part(call_name(node))
        args = [a.value for a in node.args if a.keyword is None and not a.star]
        if name in _BINARY_CALLS and len(args) == 2 and len(node.args) == 2:
            left = _expand(args[0], atom_key, depth + 1)
            right = _expand(args[1], atom_key, depth + 1)
            if left is None or right is None:
                return None
            operator = _BINARY_CALLS[name]
            if operator == "*":
                return _mul(left, right)
            return _add(left, right, 1 if operator == "+" else -1)
        if name == "square" and len(args) == 1 and len(node.args) == 1:
            inner = _expand(args[0], atom_key, depth + 1)
            return _mul(inner, inner) if inner is not None else None
    if type(node) in (cst.Name, cst.Attribute, cst.Subscript, cst.Call):
        return {(atom_key(node),): 1}
    return None


@dataclass(frozen=True)
class ScaledForm:
    """`multiplier * shape(atom)`: which atom the formula is in, and what else multiplies it."""

    atom: str
    multiplier: Monomial
    # the constant k of `k * m * shape(atom)`: `s**2 - s` is the logistic shape with k = -1, the
    # negated derivative; readers that need the derivative itself ask for k > 0
    coefficient: "int | Fraction" = 1


def _split_out(poly: dict[Monomial, Fraction], atom: str) -> dict[int, dict[Monomial, Fraction]]:
    """Group the terms by the power of `atom` they carry."""
    groups: dict[int, dict[Monomial, Fraction]] = {}
    for monomial, coefficient in poly.items():
        power = monomial.count(atom)
        rest = tuple(a for a in monomial if a != atom)
        groups.setdefault(power, {})[rest] = coefficient
    return groups


def _single_monomial(group: dict[Monomial, Fraction]) -> Optional[tuple[Monomial, Fraction]]:
    if len(group) != 1:
        return None
    return next(iter(group.items()))


def _match(poly: Polynomial, powers: dict[int, int]) -> Iterator[ScaledForm]:
    """Atoms `a` with poly == k * m * sum(sign * a**power), for one monomial m and constant k."""
    mapping = poly.as_dict()
    wanted = set(powers)
    for atom in sorted(poly.atoms):
        if {monomial.count(atom) for monomial in mapping} != wanted:
            continue  # the powers of `atom` present (the keys `_split_out` would group by) are not the wanted ones
        groups = _split_out(mapping, atom)
        first = None
        consistent = True
        for power, sign in powers.items():
            single = _single_monomial(groups[power])
            if single is None:
                consistent = False
                break
            rest, coefficient = single
            if first is None:
                first = (rest, coefficient * sign)
            elif first != (rest, coefficient * sign):
                consistent = False
                break
        if consistent and first is not None:
            yield ScaledForm(atom, first[0], first[1])


def logistic_form(poly: Optional[Polynomial]) -> list[ScaledForm]:
    """`m*s*(1-s)` (the derivative of a sigmoid at output s; also the softmax diagonal)."""
    return list(_match(poly, {1: 1, 2: -1})) if poly is not None else []


def tanh_form(poly: Optional[Polynomial]) -> list[ScaledForm]:
    """`m*(1-s**2)` (the derivative of tanh at output s)."""
    return list(_match(poly, {0: 1, 2: -1})) if poly is not None else []


@dataclass(frozen=True)
class MixedForm:
    """`multiplier * a * (1 - b)` with two different atoms a and b."""

    first: str
    second: str
    multiplier: Monomial


def mixed_logistic_form(poly: Optional[Polynomial]) -> list[MixedForm]:
    """`m*a*(1-b)` with a != b: the logistic derivative with its factors taken from two values."""
    if poly is None or len(poly.terms) != 2:
        return []
    (first_monomial, first_coefficient), (second_monomial, second_coefficient) = poly.terms
    if first_coefficient != -second_coefficient:
        return []
    short, long = (first_monomial, second_monomial) if len(first_monomial) < len(second_monomial) else (second_monomial, first_monomial)
    if len(long) != len(short) + 1:
        return []
    remaining = list(long)
    for atom in short:
        if atom not in remaining:
            return []
        remaining.remove(atom)
    extra = remaining[0]
    forms = []
    for atom in sorted(set(short)):
        if atom != extra:
            rest = list(short)
            rest.remove(atom)
            forms.append(MixedForm(atom, extra, tuple(rest)))
    return forms
