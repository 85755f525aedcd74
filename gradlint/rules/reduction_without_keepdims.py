"""GL401 reduction-without-keepdims: a per-row reduction broadcast back against its rows."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import REDUCTIONS, Numerics, Scope, numerics, unwrap
from gradlint.analysis.syntax import literal_int, prefixed_integer
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_REDUCING = REDUCTIONS | {"norm", "logsumexp"}
# The reduction's own text must match this (the registry's pre-check uses the same pattern, so a
# file is parsed for this rule only when it holds such a call): a reduction with axis/dim 1 or -1,
# keyword or positional, its arguments nested at most two parentheses deep before the axis.
REDUCTION_CALL = (
    r"\b(?:sum|nansum|max|amax|nanmax|min|amin|nanmin|mean|nanmean|std|var|prod|norm|logsumexp)\s*\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*?"
    r"(?:\b(?:axis|dim)\s*=\s*\(?\s*-?\s*1\b|,\s*\(?\s*-?\s*1\s*\)?\s*[,)])"
)
_REDUCTION_CALL = re.compile(REDUCTION_CALL)
# Reductions whose axis is also recognised when passed positionally (the registry's pre-check
# names exactly these).
_POSITIONAL_AXIS = frozenset({"sum", "nansum", "mean", "nanmean", "std", "var", "prod", "norm", "logsumexp"})


class ReductionWithoutKeepdims(Rule):
    code = "GL401"
    name = "reduction-without-keepdims"
    severity = Severity.ERROR
    summary = "A per-row sum/max/mean without keepdims=True is broadcast against the rows' last axis."
    what_it_does = """
        Finds `x / np.sum(x, axis=1)` and `x - np.max(x, axis=1)` (also `mean`, `std`, `norm`,
        `logsumexp`, torch's `dim=1`, and names bound to such a reduction) where the reduction over
        axis 1 (or -1, when `x` is known to be 2-D) drops that axis and is then combined with the
        unreduced `x`, directly or scaled first (`gx -= y * s` with `s = gx.sum(axis=1)`, the
        softmax vector-Jacobian product).
        """
    why_bad = """
        For `x` of shape (n, k), `np.sum(x, axis=1)` has shape (n,). Broadcasting aligns trailing
        axes, so the (n,) sums are matched against the k columns: a ValueError when n != k and,
        worse, silently wrong when n == k (row i is divided by the sum of row j). `keepdims=True`
        keeps the shape (n, 1), which broadcasts along the rows as intended.
        """
    example = """
        def softmax(z):
            e = np.exp(z - np.max(z, axis=1, keepdims=True))
            return e / np.sum(e, axis=1)
        """
    use_instead = """
        def softmax(z):
            e = np.exp(z - np.max(z, axis=1, keepdims=True))
            return e / np.sum(e, axis=1, keepdims=True)
        """
    references = ("numpy broadcasting: https://numpy.org/doc/stable/user/basics.broadcasting.html",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1)
            """,
            line=5,
            message="`np.sum(e, axis=1)`",
            why="free function, batched rows",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    shifted = x - x.max(axis=1)
                    e = np.exp(shifted)
                    self.out = e / e.sum(axis=1, keepdims=True)
                    return self.out
            """,
            line=5,
            message="`x.max(axis=1)`",
            why="layer class: the max shift without keepdims",
        ),
        Invalid(
            """
            import torch

            def normalise(scores):
                totals = scores.sum(dim=-1)
                first = scores[:, 0]
                return scores / totals
            """,
            line=6,
            why="torch, a name bound to the reduction, axis -1 of a 2-D array",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_vjp(s, g):
                return s * (g - (g * s).sum(axis=1))
            """,
            line=4,
            message="`(g * s).sum(axis=1)`",
            why="batched vector-Jacobian product: the row dot products broadcast against the columns",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_backward(y, gy):
                gx = y * gy
                sumdx = gx.sum(axis=1)
                gx -= y * sumdx
                return gx
            """,
            line=6,
            message="so `y * sumdx` in `gx -= y * sumdx` broadcasts",
            why="dezero-style softmax VJP: the (n,) row sums scaled by y, then subtracted from the (n, k) rows",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1).reshape(-1, 1))
                return e / np.sum(e, axis=1).reshape(-1, 1)

            def softmax2(z):
                e = np.exp(z - z.max(axis=1)[:, None])
                s = e.sum(axis=1)
                s = s.reshape(-1, 1)
                return e / s
            """,
            why="catalog trap: .reshape(-1, 1) (or [:, None]) on the reduction",
        ),
        Valid(
            """
            import numpy as np

            def softmax_columns(W, X, b):
                Z = W @ X + b
                E = np.exp(Z - np.max(Z, axis=0))
                return E / np.sum(E, axis=0)
            """,
            why="catalog trap: axis=0 in a column layout (classes x batch) is correct",
        ),
        Valid(
            """
            import numpy as np

            def softmax_1d(z):
                e = np.exp(z - np.max(z, axis=-1))
                return e / e.sum(axis=-1)

            def transpose_trick(x):
                return (x.T / x.sum(axis=1)).T
            """,
            why="axis -1 of a 1-D array; the transposed numerator broadcasts correctly",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def backward(self, gy):
                    y = self.outputs[0]
                    gx = y * gy
                    sumdx = gx.sum(axis=self.axis, keepdims=True)
                    gx -= y * sumdx
                    return gx

            def vjp_keepdims(y, gy):
                gx = y * gy
                gx -= y * gx.sum(axis=1, keepdims=True)
                return gx

            def vjp_columns(y, gy):
                gx = y * gy
                sumdx = gx.sum(axis=0)
                gx -= y * sumdx
                return gx

            def vjp_newaxis(y, gy):
                gx = y * gy
                sumdx = gx.sum(axis=1)
                gx -= y * sumdx[:, None]
                return gx

            def vjp_1d(y, gy):
                gx = y * gy
                sumdx = gx.sum(axis=-1)
                gx -= y * sumdx
                return gx

            def vjp_transposed(y, gy):
                gx = y * gy
                sumdx = gx.sum(axis=1)
                gx = gx.T
                gx -= y.T * sumdx
                return gx.T
            """,
            why="dezero's own softmax VJP (keepdims=True) and near misses: keepdims, axis 0 in a column layout, "
            "[:, None], a 1-D vector, the array transposed after the sum",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        for left, right, node, symbol in _combinations(analysis):
            scope = model.scope_of(node)
            order = scope.order_of(node, analysis)
            found = self._judge(model, scope, order, left, right)
            if found is None:
                continue
            reduction, scaled = found
            axis_value = _literal_axis(model.reduction_axis(reduction))
            combined = f"{model.code(left)} {symbol} {model.code(right)}"
            through = f"`{model.code(scaled)}` in " if scaled is not None else ""
            yield Finding(
                node,
                f"`{model.code(reduction)}` drops axis {axis_value}, so {through}`{combined}` broadcasts the per-row "
                f"results (shape (n,)) against the last axis of `{model.code(left)}` (shape (n, k)): a shape "
                "error when n != k, silently wrong when n == k; pass keepdims=True",
            )

    def _judge(
        self, model: Numerics, scope: Scope, order: int, left: cst.BaseExpression, right: cst.BaseExpression
    ) -> Optional[tuple[cst.Call, Optional[cst.BaseExpression]]]:
        """(the reduction, the product or quotient carrying it or None) when `left op right` combines
        `left` with a reduction of it over axis 1 (or -1 of a known 2-D array) that dropped the axis:
        `right` is the reduction, or an elementwise product/quotient with it as a factor (`y * s` in the
        softmax VJP `gx -= y * s`, `s = gx.sum(axis=1)`). Whatever multiplies the (n,) reduction, the
        result's last axis is n (or the factor's own last axis, k, when n == 1), so it still meets the k
        columns of `left`."""
        reduction = _reduction(model, right, scope, order)
        scaled: Optional[cst.BaseExpression] = None
        if reduction is None:
            for factor in _factors(unwrap(right)):
                reduction = _reduction(model, factor, scope, order)
                if reduction is not None and _same_value_since(scope, unwrap(left), unwrap(factor), order):
                    scaled = right
                    break
                reduction = None
        if reduction is None:
            return None
        operand = model.operand(reduction) if model.operation(reduction) != "norm" else _first(reduction)
        if operand is None or not _reduces(model, unwrap(operand), unwrap(left)):
            return None
        if _literal_axis(model.reduction_axis(reduction)) == -1 and not _known_2d(model, scope, unwrap(left)):
            return None
        return reduction, scaled


def _combinations(analysis: ModuleAnalysis) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression, cst.CSTNode, str]]:
    for node in analysis.index.nodes(cst.BinaryOperation):
        if type(node.operator) is cst.Divide:
            yield node.left, node.right, node, "/"
        elif type(node.operator) is cst.Subtract:
            yield node.left, node.right, node, "-"
    for node in analysis.index.nodes(cst.AugAssign):
        if type(node.operator) is cst.DivideAssign:
            yield node.target, node.value, node, "/="
        elif type(node.operator) is cst.SubtractAssign:
            yield node.target, node.value, node, "-="


def _reduction(model: Numerics, node: cst.BaseExpression, scope: Scope, order: int) -> Optional[cst.Call]:
    value = unwrap(model.value_of(unwrap(node), scope, order))
    if type(value) is not cst.Call or model.operation(value) not in _REDUCING:
        return None
    if model.keepdims(value) or _literal_axis(model.reduction_axis(value)) not in (1, -1):
        return None
    keyword_axis = any(arg.keyword is not None and arg.keyword.value in ("axis", "dim") for arg in value.args)
    if not keyword_axis and model.operation(value) not in _POSITIONAL_AXIS:
        return None  # `x.max(1)` is too ambiguous (builtins, torch's (values, indices))
    if model.qualified(value.func) in ("builtins.sum", "builtins.max", "builtins.min"):
        return None
    if not _REDUCTION_CALL.search(model.analysis.module.code_for_node(value)):
        return None
    return value


def _factors(node: cst.BaseExpression, depth: int = 0) -> Iterator[cst.BaseExpression]:
    """The operands of an elementwise product or quotient chain (`a * b / c`), parentheses included,
    whose every level is a `*` or `/` (never the whole expression itself)."""
    if depth > 8 or type(node) is not cst.BinaryOperation or type(node.operator) not in (cst.Multiply, cst.Divide):
        return
    for side in (unwrap(node.left), unwrap(node.right)):
        if type(side) is cst.BinaryOperation and type(side.operator) in (cst.Multiply, cst.Divide):
            yield from _factors(side, depth + 1)
        else:
            yield side


def _same_value_since(scope: Scope, left: cst.BaseExpression, factor: cst.BaseExpression, order: int) -> bool:
    """`factor` is a reduction call, or a name bound to one, and `left` (a name) is not rebound or
    updated in place between that binding and `order`: the reduction reduced the array `left` holds."""
    if type(left) is not cst.Name:
        return False
    if type(factor) is cst.Call:
        return True
    if type(factor) is not cst.Name:
        return False
    bindings = scope.before(factor.value, order)
    if not bindings:
        return False
    since = bindings[-1].order
    return not any(since < binding.order < order for binding in scope.bindings.get(left.value, ()))


def _reduces(model: Numerics, operand: cst.BaseExpression, left: cst.BaseExpression) -> bool:
    """The reduced array is `left` itself, or an elementwise product with `left` as a factor."""
    if model.code(operand) == model.code(left):
        return True
    return (
        type(operand) is cst.BinaryOperation
        and type(operand.operator) is cst.Multiply
        and model.code(left) in (model.code(operand.left), model.code(operand.right))
    )


def _literal_axis(node: Optional[cst.BaseExpression]) -> Optional[int]:
    """An axis written as an integer literal, maybe negated (`1`, `-1`, `1_0`); unknown (None) when
    spelled with a base prefix (`0x1`): the pre-check (registry._GL401_AXIS) admits a decimal `1` only."""
    if node is None:
        return None
    literal = node.expression if type(node) is cst.UnaryOperation else node
    if prefixed_integer(literal):
        return None
    return literal_int(node)


def _first(call: cst.Call) -> Optional[cst.BaseExpression]:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[0].value if positional else None


def _known_2d(model: Numerics, scope: Scope, node: cst.BaseExpression) -> bool:
    """The array is indexed with two indices (`x[:, 0]`, `x[i, j]`) or reduced over axis 1
    elsewhere in the same function."""
    if type(node) is not cst.Name:
        return False
    name = node.value
    index = model.analysis.index
    for subscript in index.nodes_in(scope.function, cst.Subscript):
        if type(subscript.value) is cst.Name and subscript.value.value == name and len(subscript.slice) == 2:
            if not any(type(element.slice) is cst.Index and type(element.slice.value) is cst.Ellipsis for element in subscript.slice):
                return True
    for call in index.nodes_in(scope.function, cst.Call):
        if model.operation(call) in _REDUCING and _literal_axis(model.reduction_axis(call)) == 1:
            operand = model.operand(call)
            if type(operand) is cst.Name and operand.value == name:
                return True
    return False
