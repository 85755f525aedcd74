"""Loss code that carries its own derivatives: which functions to check against each other.

The parent side of `gradlint.runtime.loss_classes` (which runs the trials in the sandbox):
from the module's syntax only, no numpy. Every target is checked for self-consistency,
with no guess of the user's math:

- `loss_class`: a class with a loss method (`loss`, `__call__`, `forward`, `compute`) and a
  gradient method (`gradient`, `grad`, `derivative`, `backward`, `prime`, `delta`) of the same
  parameters (`(y, y_pred)`, `(y_true, y_pred)`, `(y_pred, y_true)`; the one that is not a
  target's name is the prediction), or of none at all (`forward(input, target)` caching what
  `backward()` reads); a one-parameter pair `__call__(w)` / `grad(w)` (a regulariser) when the
  loss is a scalar. Also module-level name pairs `mse(y, p)` / `mse_prime(y, p)` of the same
  parameters. The gradient must be the derivative of the loss with respect to the prediction.
- `loss_class_hess`: the class's `hess` (`hessian`) of the same parameters: the derivative of
  its gradient, entry by entry.
- `boosting`: an xgboost / lightgbm custom objective `obj(preds, dtrain)`, `(y_true, y_pred)`,
  `(preds, labels)` returning `grad, hess` (a module function or a method): hess must be the
  derivative of grad with respect to the raw prediction.
- `catboost`: `calc_ders_range(self, approxes, targets, weights)` returning (der1, der2)
  pairs: der2 must be the derivative of der1 with respect to the approx.

These are the lowest-precedence targets: a function another stage took keeps its check.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional

from gradlint.naming import is_target_name

if TYPE_CHECKING:
    import libcst as cst

    from gradlint.analysis import ModuleAnalysis

LOSS_CLASS = "loss_class"  # the gradient against its loss
HESS = "loss_class_hess"  # the hess against the gradient
BOOSTING = "boosting"  # grad, hess = obj(preds, dtrain)
CATBOOST = "catboost"  # [(der1, der2), ...] = calc_ders_range(approxes, targets, weights)
ROLES = (LOSS_CLASS, HESS, BOOSTING, CATBOOST)

LOSS_METHODS = ("loss", "__call__", "forward", "compute")
GRADIENT_METHODS = ("gradient", "grad", "derivative", "backward", "prime", "delta")
HESS_METHODS = ("hess", "hessian")
# One-parameter pairs (a penalty of the weights): only these names, the loss a scalar (checked).
SCALAR_LOSS_METHODS = ("__call__", "loss", "compute")
SCALAR_GRADIENT_METHODS = ("grad", "gradient", "derivative")

# One-parameter pairs are penalties or objectives of a point, by the class's name (not activations).
PENALTY_CLASS = re.compile(r"regulari|penalt|norm|loss|cost|objective|ridge|lasso|elastic|^l[12]", re.IGNORECASE)
PREDICTION = re.compile(
    r"^(?:y_?pred\w*|y_?hat|yhat|y_?perd|p|preds?|predt|predictions?|predicted|probs?|probabilit(?:y|ies)|"
    r"outputs?|out|input|inputs|x|a|al|logits?|scores?|z|y_?prob\w*|y_?out|activations?|raw_?preds?|approx\w*)$",
    re.IGNORECASE,
)
DATA = re.compile(r"^(?:d_?train|d_?test|d_?valid|d_?val|train_?data|train_?set|dataset|data|d_?mat(?:rix)?|dtrain_?\w*|d)$", re.IGNORECASE)
GRAD_RESULT = re.compile(r"^(?:grad\w*|g|gradient|der1|d1|first\w*|dl\w*)$", re.IGNORECASE)
HESS_RESULT = re.compile(r"^(?:hess\w*|h|der2|d2\w*|second\w*)$", re.IGNORECASE)
OBJECTIVE_NAME = re.compile(r"obj|loss|grad|hess|custom|focal|huber|fair|cosh|quantile|asym|mse|rmsle|logcosh", re.IGNORECASE)

REFERENCES = {
    LOSS_CLASS: "the derivative of its own loss with respect to the prediction (the weights, for a penalty; central differences)",
    HESS: "the derivative of its own gradient with respect to the prediction, entry by entry (central differences)",
    BOOSTING: "the derivative of the gradient it returns with respect to the raw prediction, entry by entry (central differences)",
    CATBOOST: "the derivative of the der1 it returns with respect to the approx, entry by entry (central differences)",
}


def _prediction_index(names: list[str]) -> Optional[int]:
    """Which of two parameters is the prediction: the one that is not a target's name, when the
    other is (`(y, y_pred)`, `(y_pred, y_true)`, `(input, target)`); None when it cannot be told."""
    if len(names) != 2:
        return None
    first, second = (is_target_name(n) for n in names)
    if first and not second and PREDICTION.match(names[1]):
        return 1
    if second and not first and PREDICTION.match(names[0]):
        return 0
    return None


def _required(function: cst.FunctionDef, is_method: bool) -> Optional[list[str]]:
    """The required positional parameters (self excluded), or None when the function takes *args or
    keyword-only parameters without defaults."""
    import libcst as cst

    from gradlint.analysis.syntax import positional_parameters

    params = function.params
    if isinstance(params.star_arg, cst.Param) or any(p.default is None for p in params.kwonly_params):
        return None
    return positional_parameters(function, is_method, required_only=True)


def _method(semantics: Any, class_def: cst.ClassDef, names: tuple[str, ...]) -> Optional[cst.FunctionDef]:
    """The first of `names` the class defines or inherits from a class of the module (nearest first)."""
    for name in names:
        for owner in semantics.base_classes(class_def):
            method = semantics.index.methods(owner).get(name)
            if method is not None:
                return method
    return None


def _root_name(node: Any) -> Optional[str]:
    """`grad` for `grad`, `-grad`, `grad.flatten('F')`, `grad.reshape(-1)`, `np.array(grad)`."""
    import libcst as cst

    for _ in range(6):
        if isinstance(node, cst.UnaryOperation):
            node = node.expression
        elif isinstance(node, cst.Call):
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("flatten", "ravel", "reshape", "astype", "copy"):
                node = node.func.value
            elif node.args:
                node = node.args[0].value
            else:
                return None
        elif isinstance(node, cst.Name):
            return node.value
        else:
            return None
    return None


def _returns_grad_hess(analysis: ModuleAnalysis, function: cst.FunctionDef, strict: bool = False) -> bool:
    """Every return is a pair `grad, hess` (by the names returned; `strict`: spelled `grad...`,
    `hess...`, not `g, h`)."""
    from gradlint.runtime.self_gradient_targets import _returned_pairs

    pairs = _returned_pairs(analysis, function)
    if not pairs:
        return False
    for pair in pairs:
        first, second = (_root_name(e.value) for e in pair.elements)
        if first is None or second is None or not GRAD_RESULT.match(first) or not HESS_RESULT.match(second):
            return False
        if strict and not (first.lower().startswith("grad") and second.lower().startswith("hess")):
            return False
    return True


def _chains(function: cst.FunctionDef) -> bool:
    """A backward that calls other objects' backwards (a model's: `self.loss_function.backward()`,
    `layer.backward(grad)`): its result is the gradient of something else than its own forward."""
    import libcst as cst

    from gradlint.analysis.syntax import walk

    return any(isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in GRADIENT_METHODS
               for node in walk(function.body))


def _abstract(function: cst.FunctionDef) -> bool:
    from gradlint.runtime.targets import _abstract as abstract

    return abstract(function)


def _class_targets(analysis: ModuleAnalysis, taken: Any, hess_only: bool = False) -> list[Any]:
    """The gradient methods checked against their class's loss and the hess methods against their
    class's gradient (only the latter when `hess_only`)."""
    import libcst as cst

    from gradlint.runtime.targets import Target, _place

    semantics = analysis.semantics
    found = []
    for class_name, class_def in semantics.classes.items():
        if not isinstance(semantics.index.parent(class_def), cst.Module):
            continue
        own = semantics.index.methods(class_def)
        gradient = _method(semantics, class_def, GRADIENT_METHODS)
        hess = _method(semantics, class_def, HESS_METHODS)
        loss = _method(semantics, class_def, LOSS_METHODS)
        if gradient is None or _abstract(gradient):
            continue
        grad_params = _required(gradient, True)
        if grad_params is None:
            continue
        if not hess_only and loss is not None and not _abstract(loss) and own.get(gradient.name.value) is gradient:
            loss_params = _required(loss, True)
            fits = False
            if loss_params is not None and len(loss_params) == 2 and _prediction_index(loss_params) is not None:
                # the same parameters, or none (`forward(input, target)` then `backward()`)
                fits = grad_params == loss_params or (not grad_params and loss.name.value in ("forward", "__call__")
                                                      and not _chains(gradient))
            elif loss_params is not None and len(loss_params) == 1 and grad_params == loss_params:
                fits = (loss.name.value in SCALAR_LOSS_METHODS and gradient.name.value in SCALAR_GRADIENT_METHODS
                        and bool(PENALTY_CLASS.search(class_name)))
            qualname = f"{class_name}.{gradient.name.value}"
            if fits and qualname not in taken:
                start, end, first, last = _place(analysis, gradient)
                found.append(Target(qualname, LOSS_CLASS, None, f"{class_name}.{loss.name.value}", start, end, first, last,
                                    evidence=f"its class's loss `{loss.name.value}` takes the same arguments: the gradient against its own loss"))
        if hess_only and hess is not None and own.get(hess.name.value) is hess and not _abstract(hess):
            hess_params = _required(hess, True)
            qualname = f"{class_name}.{hess.name.value}"
            if hess_params == grad_params and len(grad_params) == 2 and _prediction_index(grad_params) is not None and qualname not in taken:
                start, end, first, last = _place(analysis, hess)
                found.append(Target(qualname, HESS, None, f"{class_name}.{gradient.name.value}", start, end, first, last,
                                    evidence=f"its class's gradient `{gradient.name.value}` takes the same arguments: the hess against that gradient"))
    return found


def _pair_targets(analysis: ModuleAnalysis, taken: Any) -> list[Any]:
    """Module-level name pairs `mse(y, p)` / `mse_prime(y, p)` with the same two parameters."""
    import libcst as cst

    from gradlint.runtime.targets import Target, _paired_forward, _place

    semantics = analysis.semantics
    found = []
    for name, function in semantics.module_functions.items():
        if name in taken or not isinstance(function, cst.FunctionDef) or _abstract(function):
            continue
        paired = _paired_forward(semantics, name)
        loss = semantics.module_functions.get(paired) if paired else None
        if not isinstance(loss, cst.FunctionDef):
            continue
        params = _required(function, False)
        if params is None or len(params) != 2 or params != _required(loss, False) or _prediction_index(params) is None:
            continue
        start, end, first, last = _place(analysis, function)
        found.append(Target(name, LOSS_CLASS, None, paired, start, end, first, last,
                            evidence=f"paired by name with the loss `{paired}` of the same arguments: the gradient against that loss"))
    return found


def _objective_params(params: list[str]) -> bool:
    """Two parameters, one a prediction and the other the labels or a training set."""
    if len(params) != 2:
        return False
    kinds = []
    for name in params:
        if DATA.match(name) or is_target_name(name):
            kinds.append("labels")
        elif PREDICTION.match(name):
            kinds.append("prediction")
        else:
            return False
    return sorted(kinds) == ["labels", "prediction"]


def _boosting_targets(analysis: ModuleAnalysis, taken: Any) -> list[Any]:
    import libcst as cst

    from gradlint.runtime.targets import Target, _callable_name, _place

    semantics = analysis.semantics
    found = []
    for function in semantics.index.nodes(cst.FunctionDef):
        qualname = _callable_name(semantics, function)
        if qualname is None or qualname in taken:
            continue
        class_def = semantics.index.class_of(function)
        if class_def is not None and function.name.value == "calc_ders_range":
            params = _required(function, True)
            if params is not None and len(params) == 3:
                start, end, first, last = _place(analysis, function)
                found.append(Target(qualname, CATBOOST, None, None, start, end, first, last,
                                    evidence="a CatBoost objective (`calc_ders_range`): der2 against the derivative of der1"))
            continue
        params = _required(function, class_def is not None)
        if params is None or not _objective_params(params):
            continue
        named = bool(OBJECTIVE_NAME.search(function.name.value))
        if not _returns_grad_hess(analysis, function, strict=not named):
            continue  # (`return grad, hess` needs no objective's name; `return g, h` does)
        start, end, first, last = _place(analysis, function)
        found.append(Target(qualname, BOOSTING, None, None, start, end, first, last,
                            evidence="a gradient-boosting custom objective returning (grad, hess): hess against the derivative of grad"))
    return found


def discover_boosting(analysis: ModuleAnalysis, taken: Any) -> list[Any]:
    """The module's boosting objectives (`grad, hess = obj(preds, dtrain)`, catboost's
    `calc_ders_range`): ahead of the loss-gradient stages, whose conventions (a target array, no
    training set, one result) they do not follow; and the `hess` methods of loss classes (a sigmoid
    derivative's formula, p * (1 - p), is the hess of a logistic loss, not an activation's derivative)."""
    seen = set(taken)
    found = _boosting_targets(analysis, seen)
    return found + _class_targets(analysis, seen | {t.qualname for t in found}, hess_only=True)


def discover_loss_classes(analysis: ModuleAnalysis, taken: Any) -> list[Any]:
    """The module's loss classes and name pairs (see the module doc) that no other stage took
    (`taken`: their qualnames)."""
    found = []
    seen = set(taken)
    for target in _class_targets(analysis, seen) + _pair_targets(analysis, seen):
        if target.qualname not in seen:
            seen.add(target.qualname)
            found.append(target)
    return found
