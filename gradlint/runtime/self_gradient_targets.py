"""Which functions return their own loss and gradient: `loss, dW = f(W, X, y, reg)`.

The parent side of `gradlint.runtime.self_gradients` (which runs the trial in the
sandbox): from the module's syntax only, no numpy. A target is a module-level
function whose first four parameters are W, X, y, reg as CS231n writes them
(case-insensitive; `X_batch`, `y_batch`; reg may have a default, W, X, y may not;
any further parameter has a default), whose every `return` is a pair, and which is
named as a loss (`svm_loss_naive`, `softmax_loss`) or returns a gradient's name
second (`return loss, dW`).

`discover_score_losses` finds `loss, dx = f(x, y)` (CS231n's `softmax_loss(x, y)`):
x (or scores, logits) and y (or labels) first, named as a loss, and every return a
pair whose second item is named as the scores' gradient (`dx`, `dscores`). These
are the lowest-precedence targets: a function another stage took keeps its check.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

ROLE = "self_gradient"  # loss, dW = f(W, X, y, reg)
SCORES_ROLE = "self_gradient_x"  # loss, dx = f(x, y)
ROLES = (ROLE, SCORES_ROLE)
REFERENCES = {
    ROLE: "central differences of the loss it returns (with respect to W; X, y and reg fixed)",
    SCORES_ROLE: "central differences of the loss it returns (with respect to the scores x; y fixed)",
}

WEIGHTS = re.compile(r"^w$", re.IGNORECASE)
DATA = re.compile(r"^x(_?batch)?$", re.IGNORECASE)
LABELS = re.compile(r"^y(_?batch)?$", re.IGNORECASE)
STRENGTH = re.compile(r"^(reg|reg_?strength|reg_?lambda|regulari[sz]ation(_?strength)?)$", re.IGNORECASE)
LOSS_FUNCTION = re.compile(r"loss|cost|hinge|entropy|objective", re.IGNORECASE)
GRADIENT_NAME = re.compile(r"^(d_?w|grad\w*|\w*_grad(ient)?|gradient)$", re.IGNORECASE)
SCORES = re.compile(r"^(x|scores|logits)$", re.IGNORECASE)
SCORES_GRADIENT = re.compile(r"^(d_?x|d_?scores|d_?logits)$", re.IGNORECASE)


def _signature_fits(function: "cst.FunctionDef") -> bool:
    """W, X, y, reg first (W, X, y required), every further parameter with a default, no *args."""
    import libcst as cst

    params = function.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param):
        return False
    positional = list(params.params)
    if len(positional) < 4:
        return False
    names = [p.name.value for p in positional[:4]]
    patterns = (WEIGHTS, DATA, LABELS, STRENGTH)
    if not all(pattern.match(name) for pattern, name in zip(patterns, names)):
        return False
    if any(p.default is not None for p in positional[:3]):
        return False
    return all(p.default is not None for p in positional[4:]) and all(p.default is not None for p in params.kwonly_params)


def _returned_pairs(analysis: "ModuleAnalysis", function: "cst.FunctionDef") -> Optional[list["cst.Tuple"]]:
    """Every `return` of the function (its own, not a nested function's) as a 2-tuple, or None."""
    import libcst as cst

    returns = analysis.index.nodes_in(function, cst.Return)
    if not returns:
        return None
    pairs = []
    for node in returns:
        value = node.value
        if not isinstance(value, cst.Tuple) or len(value.elements) != 2 or any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        pairs.append(value)
    return pairs


def discover_self_gradients(analysis: "ModuleAnalysis") -> list[Any]:
    """The module's `f(W, X, y, reg) -> (loss, dW)` functions as targets (see the module doc)."""
    import libcst as cst

    from gradlint.runtime.targets import Target, _place

    semantics = analysis.semantics
    found = []
    for name, function in semantics.module_functions.items():
        if not isinstance(function, cst.FunctionDef) or not _signature_fits(function):
            continue
        pairs = _returned_pairs(analysis, function)
        if pairs is None:
            continue
        second = [pair.elements[1].value for pair in pairs]
        weights = function.params.params[0].name.value
        if any(isinstance(value, cst.Name) and value.value == weights for value in second):
            continue  # `return loss, W`: the weights (updated?), not their gradient
        named_gradient = all(isinstance(value, cst.Name) and GRADIENT_NAME.match(value.value) for value in second)
        if not (LOSS_FUNCTION.search(name) or named_gradient):
            continue  # a pair of something else (`return W, history`): not known to be (loss, dW)
        start, end, first, last = _place(analysis, function)
        found.append(
            Target(name, ROLE, None, None, start, end, first, last,
                   evidence="it takes (W, X, y, reg) and returns a pair (loss, dW): its gradient against its own loss")
        )
    return found


def _scores_signature_fits(function: "cst.FunctionDef") -> bool:
    """x, y first (both required), every further parameter with a default, no *args."""
    import libcst as cst

    params = function.params
    if params.posonly_params or isinstance(params.star_arg, cst.Param) or len(params.params) < 2:
        return False
    first, second = params.params[:2]
    if not (SCORES.match(first.name.value) and LABELS.match(second.name.value)):
        return False
    if first.default is not None or second.default is not None:
        return False
    return all(p.default is not None for p in params.params[2:]) and all(p.default is not None for p in params.kwonly_params)


def _names_the_scores_gradient(value: "cst.BaseExpression") -> bool:
    """`dx`, `dscores`, or one scaled or negated on the way out (`dx / N`, `-dx / N`, `dscores * scale`)."""
    import libcst as cst

    for _ in range(4):
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Divide, cst.Multiply)):
            value = value.left
        elif isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
            value = value.expression
    return isinstance(value, cst.Name) and bool(SCORES_GRADIENT.match(value.value))


def discover_score_losses(analysis: "ModuleAnalysis", taken: Any) -> list[Any]:
    """The module's `loss, dx = f(x, y)` functions (CS231n's `softmax_loss(x, y)`, `svm_loss(x, y)`)
    that no other stage took (`taken`: their names): named as a loss, every return a pair whose
    second item is named as the gradient of the scores (`dx`, `dscores`)."""
    import libcst as cst

    from gradlint.runtime.targets import Target, _place

    found = []
    for name, function in analysis.semantics.module_functions.items():
        if name in taken or not isinstance(function, cst.FunctionDef) or not LOSS_FUNCTION.search(name):
            continue
        if not _scores_signature_fits(function):
            continue
        pairs = _returned_pairs(analysis, function)
        if pairs is None or not all(_names_the_scores_gradient(pair.elements[1].value) for pair in pairs):
            continue
        start, end, first, last = _place(analysis, function)
        found.append(
            Target(name, SCORES_ROLE, None, None, start, end, first, last,
                   evidence="it takes (x, y) and returns a pair (loss, dx): its gradient against its own loss")
        )
    return found
