"""GL105 jacobian-from-upstream-gradient: a backward builds the Jacobian from the incoming gradient."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.jacobians import (
    JacobianPart,
    Part,
    classify,
    jacobian_parts,
    resolve,
    scope_for,
)
from gradlint.analysis.syntax import call_name, dotted_name, last_part, walk
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_APPLIERS = {"dot", "matmul", "einsum", "tensordot", "inner"}
_JACOBIAN_CALLS = {"outer", "diag", "diagflat", "einsum", "dot", "matmul", "multiply"}


class JacobianFromUpstreamGradient(Rule):
    code = "GL105"
    name = "jacobian-from-upstream-gradient"
    severity = Severity.ERROR
    summary = "A backward pass builds the activation's Jacobian from the incoming gradient instead of the cached activation."
    what_it_does = """
        In a backward method or function (a layer's `backward`, `softmax_backward(dout,
        cache)`, ...), finds a Jacobian (an outer product `np.outer(g, g)`,
        `einsum('bi,bj->bij', g, g)`, `diag(g) - g g^T`, or a Jacobian-returning derivative
        called on `g`) built from the upstream-gradient parameter itself, or from the forward
        applied to it (`s = softmax(delta)`, `s = self.forward(grad)`), when that Jacobian is
        then applied (returned, or multiplied into the gradient).
        """
    why_bad = """
        The Jacobian of an activation is evaluated at the activation: J = diag(s) - s s^T with
        s the output `forward` computed (and cached). Built from the incoming gradient, it is
        the Jacobian at a meaningless point, so the returned gradient has the right shape and
        the wrong values.
        """
    example = """
        class Softmax:
            def forward(self, x):
                e = np.exp(x - x.max())
                self.output = e / e.sum()
                return self.output

            def backward(self, grad):
                J = np.diag(grad) - np.outer(grad, grad)
                return J @ grad
        """
    use_instead = """
            def backward(self, grad):
                s = self.output
                J = np.diag(s) - np.outer(s, s)
                return J @ grad
        """
    references = ("Softmax derivative: https://en.wikipedia.org/wiki/Softmax_function#Properties",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    self.output = e / np.sum(e)
                    return self.output

                def backward(self, grad):
                    J = np.diag(grad) - np.outer(grad, grad)
                    return J @ grad
            """,
            line=10,
            message="upstream gradient `grad`",
            why="layer class: the Jacobian built from grad",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_backward(dout, cache):
                s = softmax(dout)
                J = np.diag(s) - np.outer(s, s)
                return dout @ J
            """,
            line=9,
            message="softmax(dout)",
            why="free function: the forward applied to the upstream gradient",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxLayer:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    self.output = e / e.sum(axis=1, keepdims=True)
                    return self.output

                def backward(self, dvalues):
                    eye = np.eye(dvalues.shape[1])
                    jac = np.einsum('bi,ij->bij', dvalues, eye) - np.einsum('bi,bj->bij', dvalues, dvalues)
                    return np.einsum('bij,bj->bi', jac, dvalues)
            """,
            line=11,
            message="`dvalues`",
            why="batched einsum",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=0, keepdims=True))
                    self.a = e / e.sum(axis=0, keepdims=True)
                    return self.a

                def backward(self, delta):
                    s = self.forward(delta)
                    J = np.diagflat(s) - s @ s.T
                    return J @ delta
            """,
            line=11,
            message="self.forward(delta)",
            why="column layout: the forward re-run on the gradient",
        ),
        Invalid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s) - np.outer(s, s)

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    self.out = e / np.sum(e)
                    return self.out

                def backward(self, output_gradient):
                    return softmax_jacobian(output_gradient) @ output_gradient
            """,
            line=13,
            message="softmax_jacobian(output_gradient)",
            why="a Jacobian-returning derivative called on the upstream gradient",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    self.output = e / np.sum(e)
                    return self.output

                def backward(self, grad):
                    s = self.output
                    J = np.diag(s) - np.outer(s, s)
                    return J @ grad
            """,
            why="the Jacobian from the cached activation",
        ),
        Valid(
            """
            import numpy as np

            class Dense:
                def forward(self, x):
                    self.x = x
                    return self.W @ x

                def backward(self, grad):
                    self.dW = np.outer(grad, self.x)
                    self.G = np.outer(grad, grad)
                    return self.W.T @ grad
            """,
            why="a weight gradient, and a gradient covariance (K-FAC) stored, not applied",
        ),
        Valid(
            """
            import numpy as np

            def softmax_jacobian(s):
                return np.diag(s) - np.outer(s, s)

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    self.out = e / np.sum(e)
                    return self.out

                def backward(self, grad):
                    return softmax_jacobian(self.out) @ grad
            """,
            why="the Jacobian derivative fed the cached output",
        ),
        Valid(
            """
            import numpy as np

            def softmax_grad(s):
                return np.diag(s) - np.outer(s, s)
            """,
            why="not a backward: an activation-convention derivative of its own argument",
        ),
        Valid(
            """
            import numpy as np

            def softmax_backward(dout, cache):
                s = cache
                J = np.diagflat(s) - np.outer(s, s)
                return dout @ J
            """,
            why="free function using its cache",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        reported: set[int] = set()
        # the derivative calls of each function, in their order: looked up per backward instead of
        # scanning every call of the module for each (asked for where the scan first asked for them)
        calls_in: Optional[dict[Optional[cst.FunctionDef], list]] = None
        for function in analysis.index.nodes(cst.FunctionDef):
            if not semantics.is_backward(function):
                continue
            gradient = semantics.gradient_param(function)
            if gradient is None:
                continue
            for node, _part, source in self._jacobians(analysis, function, gradient):
                statement = analysis.index.statement_of(node)
                if id(statement) in reported or not _applied(analysis, function, node):
                    continue
                reported.add(id(statement))
                yield Finding(node, self._message(analysis, function, node, gradient, source))
            if calls_in is None:
                calls_in = {}
                for derivative_call in semantics.derivative_calls:
                    calls_in.setdefault(analysis.index.function_containing(derivative_call.call), []).append(derivative_call)
            for derivative_call in calls_in.get(function, ()):
                call = derivative_call.call
                if not derivative_call.derivative.returns_jacobian:
                    continue
                argument = derivative_call.argument
                if argument is None or dotted_name(argument) != gradient or id(analysis.index.statement_of(call)) in reported:
                    continue
                if not _applied(analysis, function, call):
                    continue
                reported.add(id(analysis.index.statement_of(call)))
                yield Finding(call, self._message(analysis, function, call, gradient, None))

    def _jacobians(
        self, analysis: ModuleAnalysis, function: cst.FunctionDef, gradient: str
    ) -> Iterator[tuple[cst.BaseExpression, JacobianPart, Optional[cst.BaseExpression]]]:
        """Jacobian constructions whose vector is the gradient or the forward applied to it."""
        index = analysis.index
        candidates: list[cst.BaseExpression] = []
        for operation in index.nodes_in(function, cst.BinaryOperation):
            if type(operation.operator) in (cst.Add, cst.Subtract) and not isinstance(
                index.parent(operation), (cst.BinaryOperation, cst.UnaryOperation)
            ):
                candidates.append(operation)
            elif type(operation.operator) in (cst.MatrixMultiply, cst.Multiply):
                candidates.append(operation)
        candidates.extend(c for c in index.nodes_in(function, cst.Call) if last_part(call_name(c)) in _JACOBIAN_CALLS)
        covered: set[int] = set()
        for candidate in candidates:
            if id(candidate) in covered:
                continue
            if type(candidate) is cst.BinaryOperation and type(candidate.operator) in (cst.Add, cst.Subtract):
                parts = [p for p in jacobian_parts(analysis, candidate) if p is not None]
                kinds = {p.kind for p in parts}
                if Part.DIAG not in kinds or not kinds & {Part.OUTER, Part.TRANSPOSED, Part.SCALAR}:
                    continue
                vectors = {p.vector for p in parts}
                if len(vectors) != 1:
                    continue
                vector_part = parts[0]
                for inner in walk(candidate):
                    covered.add(id(inner))
            else:
                part = classify(analysis, candidate)
                if part is None or part.kind is not Part.OUTER:
                    continue
                vector_part = part
            source = self._source(analysis, function, vector_part, gradient)
            if source is False:
                continue
            yield candidate, vector_part, source if isinstance(source, cst.BaseExpression) else None

    @staticmethod
    def _source(
        analysis: ModuleAnalysis, function: cst.FunctionDef, part: JacobianPart, gradient: str
    ) -> "cst.BaseExpression | bool":
        """True when the part's vector is the gradient itself; the forward call when it is
        the forward applied to the gradient; False otherwise."""
        if part.vector == gradient:
            return True
        vector = _vector_node(part.node, part.vector, analysis)
        if type(vector) is not cst.Name:
            return False
        value = resolve(analysis, vector)
        if type(value) is not cst.Call:
            return False
        applied = analysis.semantics.nonlinearity_applied(value)
        if applied is None:
            return False
        _, argument = applied
        if dotted_name(argument) == gradient and scope_for(analysis, argument).is_unbound_parameter(analysis, gradient, argument):
            return value
        return False

    @staticmethod
    def _message(
        analysis: ModuleAnalysis,
        function: cst.FunctionDef,
        node: cst.BaseExpression,
        gradient: str,
        source: Optional[cst.BaseExpression],
    ) -> str:
        cached = _cached_activation(analysis, function)
        target = f"the activation cached in forward ({cached})" if cached else "the activation saved by the forward pass"
        built = analysis.code_for(node)
        if source is not None:
            return (
                f"`{built}` is the Jacobian at `{analysis.code_for(source)}`, the forward applied to the upstream "
                f"gradient `{gradient}`; build it from {target}"
            )
        return f"`{built}` builds the Jacobian from the upstream gradient `{gradient}`; build it from {target}"


def _vector_node(node: cst.BaseExpression, key: str, analysis: ModuleAnalysis) -> Optional[cst.BaseExpression]:
    for inner in walk(node):
        if type(inner) is cst.Name and inner.value == key:
            return inner
    return None


def _applied(analysis: ModuleAnalysis, function: cst.FunctionDef, node: cst.CSTNode) -> bool:
    """The Jacobian reaches a return or a product with another array."""
    if _flows_out(analysis, node):
        return True
    statement = analysis.index.parent(node)
    while statement is not None and type(statement) not in (cst.Assign, cst.SimpleStatementLine):
        statement = analysis.index.parent(statement)
    if type(statement) is not cst.Assign or len(statement.targets) != 1:
        return False
    target = statement.targets[0].target
    if type(target) is not cst.Name:
        return False
    for name in analysis.index.nodes_in(function, cst.Name):
        if name.value == target.value and name is not target and _flows_out(analysis, name):
            definition = scope_for(analysis, name).reaching(analysis, target.value, name)
            if definition is not None and definition.value is statement.value:
                return True
    return False


def _flows_out(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    for ancestor in analysis.index.ancestors(node):
        if type(ancestor) is cst.Return:
            return True
        if type(ancestor) is cst.BinaryOperation and type(ancestor.operator) is cst.MatrixMultiply:
            return True
        if type(ancestor) is cst.Call and last_part(call_name(ancestor)) in _APPLIERS and ancestor is not node:
            return True
        if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            return False
    return False


def _cached_activation(analysis: ModuleAnalysis, function: cst.FunctionDef) -> Optional[str]:
    cls = analysis.index.class_of(function)
    if cls is None:
        return None
    info = analysis.semantics.class_info(cls)
    if info.activation_attrs:
        return ", ".join(f"self.{attr}" for attr in sorted(info.activation_attrs))
    return None
