"""GL304 unguarded-division: a gradient divides by a probability with no guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.index import child_nodes
from gradlint.analysis.numerics import Numerics, Scope, cross_entropy_weights, in_loss_term, is_number, numerics, unwrap
from gradlint.analysis.syntax import dotted_name, positional_parameters
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnguardedDivision(Rule):
    code = "GL304"
    name = "unguarded-division"
    severity = Severity.WARNING
    summary = "A cross-entropy gradient divides by a probability with no guard: inf/nan once it saturates."
    what_it_does = """
        Finds a division by a probability `p`, by `1 - p` or by `p * (1 - p)` in a gradient
        (`-y / p`, `(1 - y) / (1 - p)`, `(p - y) / (p * (1 - p))`) when nothing bounds `p` away from
        0 and 1. `p` is known to be a probability when it is a softmax/sigmoid output (by body), when
        the expression is the binary cross-entropy derivative itself (it divides by both `p` and
        `1 - p`, or by `p * (1 - p)`), or when a loss in the same class or module takes `log(p)` of
        the same parameter (directly, or of each row's probability selected from it by
        `p[range(n), y]` or `np.sum(p * y, axis=1)`). In a class, the loss's parameter may have
        another name when it stands in the same position and the two methods share the target
        parameter that weights the log and appears in the gradient's numerator (the nnfs book's
        `forward(self, y_pred, y_true)` and `backward(self, dvalues, y_true)`). When that matching
        loss clips `p` but the gradient does not, the message says so. A division inside
        `np.nan_to_num(...)` is still reported: that maps the inf to +-1.8e308, not to a usable
        gradient (the message says so).
        """
    why_bad = """
        Probabilities saturate to exactly 0.0 or 1.0 in floating point. `y / 0` is inf and `0 / 0` is
        nan; one saturated sample poisons the whole gradient. Clipping only in the loss does not help
        the gradient, which sees the raw `p`.
        """
    example = """
        def bce_grad(p, y):
            return -(y / p - (1 - y) / (1 - p))
        """
    use_instead = """
        def bce_grad(p, y, eps=1e-12):
            p = np.clip(p, eps, 1 - eps)
            return -(y / p - (1 - y) / (1 - p))

        # or fuse with the sigmoid/softmax and use p - y with respect to the logits
        """
    references = ("Cross-entropy: https://en.wikipedia.org/wiki/Cross-entropy",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def bce_grad(p, y):
                return -(y / p - (1 - y) / (1 - p))
            """,
            line=4,
            message="`y / p`",
            why="free function: the binary cross-entropy derivative",
        ),
        Invalid(
            """
            import numpy as np

            class CrossEntropy:
                def forward(self, y_pred, y_true):
                    y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    return -np.sum(y_true * np.log(y_pred), axis=1).mean()

                def backward(self, y_pred, y_true):
                    return -y_true / y_pred / len(y_pred)
            """,
            line=9,
            message="the matching loss `forward` clips",
            why="layer class: the loss clips, the gradient does not",
        ),
        Invalid(
            """
            import numpy as np

            def cost(a, y):
                return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

            def cost_derivative(a, y):
                return np.nan_to_num(-y / a + (1 - y) / (1 - a))
            """,
            line=7,
            message="np.nan_to_num turns the inf into +-1.8e308",
            why="Nielsen-style: nan_to_num is a fair guard for the loss's 0 * log(0), not for the gradient's y / 0",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def backward(W, X, Y):
                A = sigmoid(W @ X)
                dA = (A - Y) / (A * (1 - A))
                return dA * A * (1 - A)
            """,
            line=8,
            message="sigmoid output",
            why="column layout: divides by the variance of a sigmoid output",
        ),
        Invalid(
            """
            import numpy as np

            def loss(probs, targets):
                return -np.sum(targets * np.log(probs))

            def loss_grad(probs, targets):
                return -targets / probs
            """,
            line=7,
            why="module-level pair: the loss takes log(probs) of the same parameter",
        ),
        Invalid(
            """
            import numpy as np

            def linear_activation_backward_start(AL, Y):
                dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))
                return dAL
            """,
            line=4,
            message="np.divide(Y, AL)",
            why="np.divide spelling, column layout (units x examples)",
        ),
        Invalid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    return np.mean(-np.log(correct_confidences))

                def backward(self, dvalues, y_true):
                    samples = len(dvalues)
                    self.dinputs = -y_true / dvalues
                    self.dinputs = self.dinputs / samples
            """,
            line=11,
            message="the matching loss `forward` clips `y_pred`, the prediction it receives in the position of `dvalues`",
            why="nnfs book loss with its backward's clip removed: forward(y_pred, y_true) / backward(dvalues, y_true)",
        ),
        Invalid(
            """
            import numpy as np

            class CategoricalCrossEntropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    if len(y_true.shape) == 1:
                        confidences = y_pred[range(samples), y_true]
                    else:
                        confidences = np.sum(y_pred * y_true, axis=1)
                    return -np.log(confidences)

                def backward(self, dvalues, y_true):
                    if len(y_true.shape) == 1:
                        y_true = np.eye(len(dvalues[0]))[y_true]
                    return -y_true / dvalues / len(dvalues)
            """,
            line=15,
            message="takes the log of `y_pred`, the prediction it receives in the position of `dvalues`",
            why="layer class, sparse or one-hot labels: neither the loss nor its gradient clips",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def bce_grad(p, y, eps=1e-12):
                p = np.clip(p, eps, 1 - eps)
                return -(y / p - (1 - y) / (1 - p))

            def bce_grad2(p, y, eps=1e-12):
                return -(y / (p + eps) - (1 - y) / (1 - p + eps))
            """,
            why="clipped or epsilon-guarded",
        ),
        Valid(
            """
            def split(total, p):
                return total / p

            def normalise(x, s):
                return (x - s) / (s * (1 - s)) if 0 < s < 1 else x
            """,
            why="no evidence that the divisor is a probability / a guard by comparison",
        ),
        Valid(
            """
            import numpy as np

            class SoftmaxCE:
                def forward(self, z, y):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    self.p = e / e.sum(axis=1, keepdims=True)
                    return -np.log(np.clip(self.p[np.arange(len(y)), y], 1e-12, 1))

                def backward(self, y):
                    d = self.p.copy()
                    d[np.arange(len(y)), y] -= 1
                    return d / len(y)
            """,
            why="the fused gradient divides by the batch size, not by a probability",
        ),
        Valid(
            """
            import numpy as np

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    samples = len(y_pred)
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    if len(y_true.shape) == 1:
                        correct_confidences = y_pred_clipped[range(samples), y_true]
                    elif len(y_true.shape) == 2:
                        correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
                    return -np.log(correct_confidences)

                def backward(self, dvalues, y_true):
                    samples = len(dvalues)
                    labels = len(dvalues[0])
                    if len(y_true.shape) == 1:
                        y_true = np.eye(labels)[y_true]
                    dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
                    self.dinputs = -y_true / dvalues
                    self.dinputs = self.dinputs / samples
            """,
            why="the nnfs book's own loss: its backward clips dvalues too",
        ),
        Valid(
            """
            import numpy as np

            class SwappedPositions:
                def forward(self, y_pred, y_true):
                    return -np.mean(np.log(np.clip(y_pred[range(len(y_pred)), y_true], 1e-7, 1)))

                def backward(self, y_true, dvalues):
                    return -y_true / dvalues

            class NoSharedTarget:
                def forward(self, y_pred, y_true):
                    return -np.mean(np.log(np.clip(y_pred[range(len(y_pred)), y_true], 1e-7, 1)))

                def backward(self, dvalues, labels):
                    return -labels / dvalues

            class LogOfTheSoftmax:
                def forward(self, inputs, y_true):
                    e = np.exp(inputs - inputs.max(axis=1, keepdims=True))
                    p = e / e.sum(axis=1, keepdims=True)
                    return -np.log(np.clip(p[range(len(inputs)), y_true], 1e-7, 1)).mean()

                def backward(self, dvalues, y_true):
                    return y_true / dvalues

            class NotACrossEntropy:
                def forward(self, x, scale):
                    return np.log(x) * 2

                def backward(self, dvalues, scale):
                    return -scale / dvalues
            """,
            why="near misses of the positional match: the positions differ, no target shared, the loss takes the log "
            "of a softmax it computes (not of the parameter in that position), a log that is no cross-entropy",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        reported: set[tuple[int, str]] = set()
        for node, numerator, denominator in _all_divisions(model):
            divisor = _probability_divisor(model, denominator)
            if divisor is None:
                continue
            probability, form = divisor
            scope = model.scope_of(node)
            order = scope.order_of(node, analysis)
            evidence = self._evidence(model, scope, order, node, numerator, denominator, probability, form)
            if evidence is None:
                continue
            reason, extra = evidence
            statement = analysis.index.statement_of(node)
            key = (id(statement), model.code(probability))
            if key in reported:
                continue
            reported.add(key)
            saturates = "0 or 1" if form != "p" else "0"
            if model.inside_nan_to_num(node):
                outcome = (
                    f"once it saturates to {saturates}, np.nan_to_num turns the inf into +-1.8e308, "
                    "a gradient that still wrecks the update"
                )
            else:
                outcome = f"inf or nan once it saturates to {saturates}"
            yield Finding(
                node,
                f"`{model.code(node)}` divides by {reason} with no guard{extra}: {outcome} "
                f"(clip `{model.code(probability)}` to [eps, 1 - eps] first)",
            )

    def _evidence(
        self,
        model: Numerics,
        scope: Scope,
        order: int,
        division: cst.CSTNode,
        numerator: cst.BaseExpression,
        denominator: cst.BaseExpression,
        probability: cst.BaseExpression,
        form: str,
    ) -> Optional[tuple[str, str]]:
        """(what the divisor is, an optional remark) when it is known to be a probability."""
        name = model.code(probability)
        if not _numerator_is_gradient(numerator, probability):
            return None
        source = model.probability_source(probability, scope, order)
        if source is not None:
            return f"the {source} output `{name}`", ""
        if not model.is_unguarded_parameter(probability, scope, order):
            return None
        if form == "p(1-p)":
            if not _is_difference_with(model, numerator, name):
                return None  # the binary cross-entropy gradient divides p - y by p(1 - p)
            return f"`{model.code(denominator)}`, the variance of the probability `{name}`,", ""
        loss = _matching_loss(model, scope, name)
        if loss is not None and not _names_in(numerator) & loss.targets:
            loss = None
        if loss is not None and loss.clipped:
            if loss.parameter != name:
                return f"the probability `{name}`", (
                    f" (the matching loss `{loss.name}` clips `{loss.parameter}`, the prediction it receives in the "
                    f"position of `{name}` beside the same target, but this gradient does not)"
                )
            return f"the probability `{name}`", f" (the matching loss `{loss.name}` clips `{name}`, but this gradient does not)"
        statement = model.analysis.index.statement_of(division)
        other_form = "1-p" if form == "p" else "p"
        for _, _, other in _divisions_in(model, statement):
            found = _probability_divisor(model, other)
            if found is not None and found[1] == other_form and model.code(found[0]) == name:
                return f"the probability `{name}`", f" (this cross-entropy derivative divides by `{name}` and by `1 - {name}`)"
        if loss is not None:
            if loss.parameter != name:
                return f"the probability `{name}`", (
                    f" (the matching loss `{loss.name}` takes the log of `{loss.parameter}`, the prediction it "
                    f"receives in the position of `{name}` beside the same target)"
                )
            return f"the probability `{name}`", f" (the matching loss `{loss.name}` takes log({name}))"
        return None


def _probability_divisor(model: Numerics, node: cst.BaseExpression) -> Optional[tuple[cst.BaseExpression, str]]:
    """(p, form) when the divisor is `p`, `1 - p` or `p * (1 - p)` with `p` a name (or subscript)."""
    node = unwrap(node)
    if _is_array_name(node):
        return node, "p"
    complement = _complement(node)
    if complement is not None:
        return complement, "1-p"
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        for first, second in ((node.left, node.right), (node.right, node.left)):
            if _is_array_name(first) and (c := _complement(second)) is not None and model.code(c) == model.code(first):
                return first, "p(1-p)"
    return None


def _complement(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    if (
        type(node) is cst.BinaryOperation
        and type(node.operator) is cst.Subtract
        and is_number(node.left, 1)
        and _is_array_name(node.right)
    ):
        return node.right
    return None


def _is_array_name(node: cst.BaseExpression) -> bool:
    if type(node) is cst.Subscript:
        return _is_array_name(node.value)
    return type(node) is cst.Name


def _numerator_is_gradient(numerator: cst.BaseExpression, probability: cst.BaseExpression) -> bool:
    """The numerator involves another array (the target): `-y`, `1 - y`, `p - y`, `y`."""
    own = _root(probability)
    stack: list[cst.CSTNode] = [numerator]
    while stack:
        current = stack.pop()
        if type(current) is cst.Name and current.value != own:
            return True
        if type(current) is cst.Call:
            return False
        if type(current) is cst.Attribute:
            continue
        stack.extend(child_nodes(current))
    return False


def _root(node: cst.BaseExpression) -> Optional[str]:
    while type(node) is cst.Subscript:
        node = node.value
    return node.value if type(node) is cst.Name else None


def _division(model: Numerics, node: cst.CSTNode) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(numerator, denominator) of `a / b` or `np.divide(a, b)`."""
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Divide:
        return node.left, node.right
    if type(node) is cst.Call and model.operation(node) in ("divide", "true_divide") and not model.is_method_call(node):
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        if len(positional) == 2:
            return positional[0], positional[1]
    return None


def _all_divisions(model: Numerics) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression]]:
    index = model.analysis.index
    for node in (*index.nodes(cst.BinaryOperation), *index.nodes(cst.Call)):
        parts = _division(model, node)
        if parts is not None:
            yield node, parts[0], parts[1]


def _divisions_in(model: Numerics, statement: cst.CSTNode) -> Iterator[tuple[cst.CSTNode, cst.BaseExpression, cst.BaseExpression]]:
    stack = [statement]
    while stack:
        current = stack.pop()
        if type(current) in (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.IndentedBlock):
            continue
        parts = _division(model, current)
        if parts is not None:
            yield current, parts[0], parts[1]
        stack.extend(child_nodes(current))


@dataclass(frozen=True)
class MatchingLoss:
    """A sibling loss that takes the log of the probability a gradient divides by."""

    name: str  # the loss function's name
    clipped: bool  # it clips (or otherwise guards) the probability before the log
    targets: frozenset[str]  # the target names weighting its log
    parameter: str  # its parameter holding the probability (the gradient's own name, or the one in that position)


def _matching_loss(model: Numerics, scope: Scope, name: str) -> Optional[MatchingLoss]:
    """The sibling loss (same class, or module level) whose cross-entropy takes `log` of the
    probability the parameter `name` holds, possibly after clipping it or selecting from it
    (`p[range(n), y]`, `np.sum(p * y, axis=1)`): a sibling with a parameter called `name`, or, for a
    method, a sibling method with another name in the same position that shares a target parameter
    (same name, same position) with this one, the target that weights its log (the nnfs book's
    `forward(self, y_pred, y_true)` / `backward(self, dvalues, y_true)`)."""
    function = scope.function
    if function is None or name not in scope.params:
        return None
    key = ("GL304-matching-loss", function, name)
    if key not in model.memo:
        model.memo[key] = _find_matching_loss(model, function, name)
    return model.memo[key]  # type: ignore[return-value]


def _find_matching_loss(model: Numerics, function: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    index = model.analysis.index
    owner = index.class_of(function)
    if owner is not None:
        siblings = list(index.methods(owner).values())
    else:
        siblings = [f for f in index.nodes_in(None, cst.FunctionDef)]
    for sibling in siblings:
        if sibling is function or name not in model.scope(sibling).params:
            continue
        found = _log_of_parameter(model, sibling, name)
        if found is not None:
            return found
    if owner is None:
        return None
    mine = positional_parameters(function, is_method=True)
    if name not in mine:
        return None
    position = mine.index(name)
    for sibling in siblings:
        if sibling is function:
            continue
        theirs = positional_parameters(sibling, is_method=True)
        if len(theirs) <= position or theirs[position] == name or theirs[position] in mine:
            continue
        shared = frozenset(target for target, other in zip(mine, theirs) if target == other)
        if not shared:
            continue
        found = _log_of_parameter(model, sibling, theirs[position])
        if found is not None and found.targets & shared:
            return MatchingLoss(found.name, found.clipped, found.targets & shared, found.parameter)
    return None


def _log_of_parameter(model: Numerics, sibling: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    """A cross-entropy log in `sibling` of the probability its parameter `name` holds: the log's
    argument is written `p`, `p[...]`, `1 - p` or a clip of one of these (the registry's _GL304_LOG),
    and reaches the parameter through names, clips and per-row selections (numerics.probability_paths)."""
    key = ("GL304-log-of-parameter", sibling, name)
    if key not in model.memo:
        model.memo[key] = _find_log_of_parameter(model, sibling, name)
    return model.memo[key]  # type: ignore[return-value]


def _find_log_of_parameter(model: Numerics, sibling: cst.FunctionDef, name: str) -> Optional[MatchingLoss]:
    index = model.analysis.index
    sibling_scope = model.scope(sibling)
    for call in index.nodes_in(sibling, cst.Call):
        if model.operation(call) != "log" or model.is_method_call(call):
            continue
        argument = model.operand(call)
        if argument is None:
            continue
        probability = _strip_complement(argument)
        clipped = False
        if type(probability) is cst.Call and model.operation(probability) in ("clip", "maximum", "clamp"):
            inner = model.operand(probability)
            if inner is None:
                continue
            probability, clipped = _strip_complement(inner), True
        root = _root(probability)
        if root is None:
            continue
        paths = model.probability_paths(probability, sibling_scope, sibling_scope.order_of(call, model.analysis))
        reaching = [path for path in paths or () if type(path.end) is cst.Name and path.end.value == name]
        if not reaching and root != name:
            continue
        weights = set(cross_entropy_weights(model, call, argument) or ())
        if in_loss_term(model, call):
            for path in reaching:
                weights |= path.weights
        if not weights:
            continue
        guarded = bool(reaching) and all(path.guarded for path in reaching)
        clipped = clipped or guarded or _rebound_by_guard(model, sibling_scope, name)
        return MatchingLoss(sibling.name.value, clipped, frozenset(weights), name)
    return None


def _rebound_by_guard(model: Numerics, scope: Scope, name: str) -> bool:
    """`p = np.clip(p, ...)`, `p = helper(p)`, an in-place clip, or any mutation of `p`."""
    if scope.mutations.get(name):
        return True
    for binding in scope.bindings.get(name, ()):
        if binding.value is not None and type(binding.value) is cst.Call:
            return True
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.Name:
            found.add(current.value)
        elif type(current) is cst.Attribute:
            dotted = dotted_name(current)
            if dotted:
                found.add(dotted)
            continue
        stack.extend(child_nodes(current))
    return found


def _is_difference_with(model: Numerics, node: cst.BaseExpression, name: str) -> bool:
    """`p - y` or `y - p` (a prediction minus its target)."""
    node = unwrap(node)
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        node = node.expression
    if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract):
        return False
    sides = {model.code(node.left), model.code(node.right)}
    return name in sides and not any(is_number(side) for side in (node.left, node.right))


def _strip_complement(node: cst.BaseExpression) -> cst.BaseExpression:
    c = _complement(node) if type(node) is cst.BinaryOperation else None
    return c if c is not None else node
