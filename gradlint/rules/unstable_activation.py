"""GL305 unstable-activation: tanh, sigmoid or softplus written in a form that overflows."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Numerics, Stability, is_number, numerics, unwrap
from gradlint.analysis.syntax import call_name, last_part, names_in
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class UnstableActivation(Rule):
    code = "GL305"
    name = "unstable-activation"
    severity = Severity.WARNING
    summary = "An activation written from exps that overflows (tanh, softplus) or a sigmoid shifted by a max."
    what_it_does = """
        Finds three hand-written activations: `tanh` as `(exp(x) - exp(-x)) / (exp(x) + exp(-x))`
        (or with `exp(2x)`), softplus as `log(1 + exp(x))`, and a sigmoid whose input is shifted
        by its max (`1 / (1 + exp(-(x - max(x))))`).
        """
    why_bad = """
        `exp(x)` is inf for x above ~709 (float32: 88): the tanh form becomes inf/inf = nan and the
        softplus becomes inf where `x` would be right. Subtracting the max is only valid for softmax,
        whose normalisation cancels the shift; a sigmoid has no normaliser, so the shift changes its
        values (sigmoid(x - m) != sigmoid(x)).
        """
    example = """
        def tanh(x):
            return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))

        def softplus(x):
            return np.log(1 + np.exp(x))
        """
    use_instead = """
        def tanh(x):
            return np.tanh(x)

        def softplus(x):
            return np.logaddexp(0, x)
        """
    references = ("numpy.logaddexp: https://numpy.org/doc/stable/reference/generated/numpy.logaddexp.html",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def tanh(x):
                return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            """,
            line=4,
            message="tanh",
            why="free function: tanh from exps",
        ),
        Invalid(
            """
            import numpy as np

            class Softplus:
                def forward(self, x):
                    self.x = x
                    return np.log(1 + np.exp(x))
            """,
            line=6,
            message="softplus",
            why="layer class: softplus",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(Z):
                Z = Z - np.max(Z, axis=0, keepdims=True)
                return 1 / (1 + np.exp(-Z))
            """,
            line=5,
            message="sigmoid",
            why="column layout: the softmax trick applied to a sigmoid",
        ),
        Invalid(
            """
            import numpy as np

            def tanh(z):
                e2 = np.exp(2 * z)
                return (e2 - 1) / (e2 + 1)
            """,
            line=5,
            why="tanh via exp(2z) through a name",
        ),
        Invalid(
            """
            import numpy as np

            def tanh(x):
                ex, enx = np.exp(x), np.exp(-x)
                return (ex - enx) / (ex + enx)
            """,
            line=5,
            message="tanh written as `(ex - enx) / (ex + enx)`",
            why="both exps bound by one tuple assignment",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def softplus(x):
                return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)

            def tanh(x):
                return np.tanh(x)

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))
            """,
            why="the stable forms; a plain sigmoid",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def tanh_clipped(x):
                x = np.clip(x, -20, 20)
                return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
            """,
            why="the max shift in a softmax is right; a clipped input cannot overflow",
        ),
        Valid(
            """
            import math

            def log_odds_sum(a, b):
                return math.log(1 + math.exp(-abs(a - b)))
            """,
            why="a bounded exponent",
        ),
        Valid(
            """
            import numpy as np

            def log_sigmoid(x):
                return np.where(x < 0, x - np.log1p(np.exp(x)), -np.log1p(np.exp(-x)))
            """,
            why="np.where picks log1p(exp(x)) only where x < 0, where it cannot overflow",
        ),
        Valid(
            """
            import numpy as np

            def exps(x):
                x = np.clip(x, -20, 20)
                return np.exp(x), np.exp(-x)

            def tanh_unpacked(x):
                ex, enx = exps(x)
                return (ex - enx) / (ex + enx)

            def tanh_clipped_pair(x, y):
                x, y = np.clip(x, -20, 20), x
                ex, enx = np.exp(x), np.exp(-x)
                return (ex - enx) / (ex + enx)
            """,
            why="tuple assignments: unpacked from a helper (it may clip); a clip bound by a tuple assignment",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        for node in analysis.index.nodes(cst.BinaryOperation):
            if type(node.operator) is cst.Divide:
                finding = self._tanh(model, node) or self._shifted_sigmoid(model, node)
                if finding is not None:
                    yield finding
        for call in analysis.index.nodes(cst.Call):
            operation = model.operation(call)
            if operation in ("log", "log1p") and not model.is_method_call(call) and call.args:
                finding = self._softplus(model, call, operation)
                if finding is not None:
                    yield finding

    def _raw_exponent(self, model: Numerics, exp: cst.BaseExpression, anchor: cst.CSTNode) -> bool:
        argument = model.exp_argument(exp)
        if argument is None:
            return False
        scope = model.scope_of(anchor)
        return model.stability(argument, scope, scope.order_of(exp, model.analysis)) is Stability.RAW

    def _tanh(self, model: Numerics, node: cst.BinaryOperation) -> Optional[Finding]:
        top, bottom = unwrap(node.left), unwrap(node.right)
        if not (type(top) is cst.BinaryOperation and type(top.operator) is cst.Subtract):
            return None
        if not (type(bottom) is cst.BinaryOperation and type(bottom.operator) is cst.Add):
            return None
        code = model.code
        if {code(top.left), code(top.right)} != {code(bottom.left), code(bottom.right)}:
            return None
        scope = model.scope_of(node)
        order = scope.order_of(node, model.analysis)
        terms = [model.exp_call(term, scope, order) for term in (top.left, top.right)]
        exps = [term for term in terms if term is not None]
        others = [t for t, e in zip((top.left, top.right), terms) if e is None]
        if not exps or any(not is_number(other, 1) for other in others):
            return None
        if not any(self._raw_exponent(model, exp, node) for exp in exps):
            return None
        return Finding(
            node,
            f"tanh written as `{code(node)}`: exp overflows to inf for |x| above ~355-709 and the ratio "
            "becomes inf/inf = nan; use np.tanh",
        )

    def _shifted_sigmoid(self, model: Numerics, node: cst.BinaryOperation) -> Optional[Finding]:
        argument = model.sigmoid_argument(node)
        if argument is None:
            return None
        scope = model.scope_of(node)
        order = scope.order_of(node, model.analysis)
        if model.stability(argument, scope, order) not in (Stability.SHIFTED_AXIS, Stability.SHIFTED_GLOBAL):
            return None
        shift = model.shift_call(argument, scope, order)
        return Finding(
            node,
            f"sigmoid `{model.code(node)}` of an input shifted by its max"
            + (f" (`{model.code(shift)}`)" if shift is not None else "")
            + ": a sigmoid has no normaliser to cancel the shift, so this changes its values; "
            "sigmoid is stable without it (or use scipy.special.expit)",
        )

    def _softplus(self, model: Numerics, call: cst.Call, operation: str) -> Optional[Finding]:
        argument = unwrap(call.args[0].value)
        if operation == "log1p":
            exp = argument
        elif type(argument) is cst.BinaryOperation and type(argument.operator) is cst.Add:
            if is_number(argument.left, 1):
                exp = argument.right
            elif is_number(argument.right, 1):
                exp = argument.left
            else:
                return None
        else:
            return None
        scope = model.scope_of(call)
        exp_node = model.exp_call(exp, scope, scope.order_of(call, model.analysis))
        if exp_node is None or not self._raw_exponent(model, exp_node, call):
            return None
        exponent = model.exp_argument(exp_node)
        if type(exponent) is cst.UnaryOperation and type(exponent.operator) is cst.Minus:
            return None  # log(1 + exp(-x)) is the stable half for x >= 0; the domain decides
        if exponent is not None and _selected_by_where(model, call, exponent):
            return None
        return Finding(
            call,
            f"softplus written as `{model.code(call)}`: `{model.code(exp_node)}` overflows to inf for inputs "
            "above ~709 (float32: 88) where the answer is the input itself; use np.logaddexp(0, x) "
            "(torch: torch.nn.functional.softplus)",
        )


def _selected_by_where(model: Numerics, node: cst.CSTNode, exponent: cst.BaseExpression) -> bool:
    """True inside a branch of `where(cond, a, b)` whose condition tests the exponent's
    variables (`np.where(x < 0, x - np.log1p(np.exp(x)), ...)`): the domain is chosen."""
    index = model.analysis.index
    variables = names_in(exponent)
    child: cst.CSTNode = node
    for ancestor in index.ancestors(node):
        if type(ancestor) is cst.Call and last_part(call_name(ancestor)) == "where" and len(ancestor.args) == 3:
            in_branch = child is ancestor.args[1] or child is ancestor.args[2]
            if in_branch and variables & names_in(ancestor.args[0].value):
                return True
        if type(ancestor) in (cst.FunctionDef, cst.Lambda):
            return False
        child = ancestor
    return False
