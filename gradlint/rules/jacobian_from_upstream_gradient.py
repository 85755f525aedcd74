"""GL105 jacobian-from-upstream-gradient: a backward builds the Jacobian from the incoming gradient."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.gradient_flow import GradientOrigin, gradient_parameters, local_root
from gradlint.analysis.jacobians import (
    JacobianPart,
    Part,
    classify,
    jacobian_parts,
    resolve,
    scope_for,
    vector_key,
)
from gradlint.analysis.semantics import FORWARD_METHODS, ForwardKind
from gradlint.analysis.syntax import call_name, dotted_name, last_part, literal_number, walk
from gradlint.diagnostics import Severity
from gradlint.naming import is_gradient_name
from gradlint.rule import Finding, Invalid, Rule, Valid

_APPLIERS = {"dot", "matmul", "einsum", "tensordot", "inner"}
_RECTIFIERS = {ForwardKind.RELU: "ReLU", ForwardKind.LEAKY_RELU: "leaky ReLU"}
_SIGN_TESTS = (cst.GreaterThan, cst.GreaterThanEqual, cst.LessThan, cst.LessThanEqual)
# Layers whose backward rectifies the gradient on purpose (visualisation: Zeiler and Fergus's deconvnet,
# guided backpropagation).
_DESIGNED_RECTIFIER = re.compile(r"deconv|guided", re.IGNORECASE)
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
        then applied (returned, or multiplied into the gradient). The gradient is followed
        through reshapes, aliases and loops over its rows (`for s, g in zip(dvalues, dvalues)`),
        and into helpers the backward calls with it whatever their name (numpy-ml's
        `self._bwd(dy, x)`), when the helper multiplies it into something else and every call
        of the helper passes a gradient. Also the elementwise case, a ReLU's or leaky ReLU's mask
        (its Jacobian's diagonal) taken from the gradient: in the backward of a layer whose forward is a
        rectifier by its body, sign tests of the upstream gradient alone (`np.where(grad > 0, 1, alpha)`,
        `dx[dout <= 0] = 0`, the parameter named as a gradient, not as the forward's input), when the
        backward tests the sign of nothing else and reads no mask the forward cached (`out[self.mask]`,
        `self.mask = x <= 0`); not in a deconvnet or guided-backprop layer, which rectifies the gradient
        by design.
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

            class LeakyReLU:
                def forward(self, inputs):
                    self.leakage = 0.1
                    self.inputs = inputs
                    self.output = np.maximum(inputs * self.leakage, inputs)

                def backward(self, gradients):
                    leaky_relu_gradients = np.where(gradients > 0, 1, self.leakage)
                    self.gradients = gradients * leaky_relu_gradients

            class ReLU:
                def forward(self, x):
                    self.x = x
                    return np.maximum(0, x)

                def backward(self, dout):
                    assert dout.shape == self.x.shape
                    dx = dout.copy()
                    dx[dout <= 0] = 0
                    self.grads[self.name] = dx
                    return dx
            """,
            line=10,
            count=2,
            message="derivative mask `gradients > 0` tests the sign of the upstream gradient `gradients`",
            why="review 6 (rw6c miss/03, Sarvesh810/NeuralNetworksDIY LeakyReLU.py and ReLU.py): the rectifier's "
            "mask taken from dL/dy instead of the input; a shape assert and an unrelated attribute index beside it "
            "(rev13a miss/03, miss/04)",
        ),
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
        Invalid(
            """
            import numpy as np

            class Softmax:
                def __init__(self, dim=-1):
                    self.dim = dim
                    self.X = []

                def forward(self, X):
                    self.X.append(X)
                    return self._fwd(X)

                def _fwd(self, X):
                    e_X = np.exp(X - np.max(X, axis=self.dim, keepdims=True))
                    return e_X / e_X.sum(axis=self.dim, keepdims=True)

                def backward(self, dLdy):
                    if not isinstance(dLdy, list):
                        dLdy = [dLdy]
                    dX = [self._bwd(dy, x) for dy, x in zip(dLdy, self.X)]
                    return dX[0] if len(self.X) == 1 else dX

                def _bwd(self, dLdy, X):
                    dX = []
                    for dy, x in zip(dLdy, X):
                        dxi = []
                        for dyi, xi in zip(*np.atleast_2d(dy, x)):
                            yi = self._fwd(dyi.reshape(1, -1)).reshape(-1, 1)
                            dyidxi = np.diagflat(yi) - yi @ yi.T
                            dxi.append(dyi @ dyidxi)
                        dX.append(dxi)
                    return np.array(dX).reshape(*X.shape)
            """,
            line=28,
            message="which carries the upstream gradient dLdy of Softmax.backward, passed to Softmax._bwd as dLdy",
            why="numpy-ml: the helper _bwd (fed the gradient by backward) evaluates the Jacobian at the gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Activation_Softmax:
                def forward(self, inputs):
                    exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

                def backward(self, dvalues):
                    self.dinputs = np.empty_like(dvalues)
                    for index, (single_output, single_dvalues) in enumerate(zip(dvalues, dvalues)):
                        single_output = single_output.reshape(-1, 1)
                        jacobian_matrix = np.diagflat(single_output) - np.dot(single_output, single_output.T)
                        self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)
            """,
            line=12,
            message="builds the Jacobian from `single_output`, which carries the upstream gradient dvalues",
            why="nnfs: the per-row 'output' drawn from the gradient by zip(dvalues, dvalues)",
        ),
        Invalid(
            """
            import numpy as np

            class Activation_Softmax:
                def forward(self, inputs):
                    exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

                def backward(self, dvalues):
                    self.dinputs = np.empty_like(dvalues)
                    for index, (single_output, single_dvalues) in enumerate(zip(self.output, dvalues)):
                        jacobian_matrix = np.diagflat(single_output) - np.outer(single_dvalues, single_dvalues)
                        self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)
            """,
            line=11,
            message="`np.outer(single_dvalues, single_dvalues)` builds the Jacobian from `single_dvalues`",
            why="nnfs: the outer product of a row of the gradient",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class ReLU:
                def forward(self, x):
                    self.x = x
                    return np.maximum(0, x)

                def backward(self, dout):
                    dx = dout.copy()
                    dx[self.x <= 0] = 0
                    return dx

            class GuidedReLU:
                def forward(self, x):
                    self.x = x
                    return np.maximum(0, x)

                def backward(self, dout):
                    return dout * (dout > 0) * (self.x > 0)

            class MaskedReLU:
                def forward(self, x):
                    self.mask = x <= 0
                    out = x.copy()
                    out[self.mask] = 0
                    return out

                def backward(self, dout):
                    dout = dout.copy()
                    dout[self.mask] = 0
                    return dout

            class Clipped:
                def forward(self, x):
                    return np.tanh(x)

                def backward(self, grad):
                    return np.where(grad > 0, grad, 0.5 * grad)

            class Relu:
                def forward(self, X):
                    return np.maximum(0, X)

                def backward(self, X):
                    return np.where(X > 0, 1, 0)

            class DeconvReLU:
                def forward(self, x):
                    return np.maximum(0, x)

                def backward(self, grad):
                    return np.maximum(grad, 0)

            class StoredMaskReLU:
                def forward(self, x):
                    self.keep = x > 0
                    return x * self.keep

                def backward(self, grad):
                    grad = np.where(grad > 1e3, 1e3, grad)
                    out = np.zeros_like(grad)
                    out[self.keep] = grad[self.keep]
                    return out
            """,
            why="the mask from the input; guided backprop (the gradient's sign and the input's); the nnfs/"
            "deep-learning-from-scratch mask cached in forward; a gradient test in a layer that is no rectifier; "
            "a stateless activation's `backward(self, X)`, the derivative at X (rw3 numpyneuron, rw4b femto-flow); "
            "a deconvnet's rectified backward (rev13a fp/07); a mask the forward cached",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def __init__(self, dim=-1):
                    self.dim = dim
                    self.X = []

                def forward(self, X):
                    self.X.append(X)
                    return self._fwd(X)

                def _fwd(self, X):
                    e_X = np.exp(X - np.max(X, axis=self.dim, keepdims=True))
                    return e_X / e_X.sum(axis=self.dim, keepdims=True)

                def backward(self, dLdy):
                    if not isinstance(dLdy, list):
                        dLdy = [dLdy]
                    dX = [self._bwd(dy, x) for dy, x in zip(dLdy, self.X)]
                    return dX[0] if len(self.X) == 1 else dX

                def _bwd(self, dLdy, X):
                    dX = []
                    for dy, x in zip(dLdy, X):
                        dxi = []
                        for dyi, xi in zip(*np.atleast_2d(dy, x)):
                            yi = self._fwd(xi.reshape(1, -1)).reshape(-1, 1)
                            dyidxi = np.diagflat(yi) - yi @ yi.T
                            dxi.append(dyi @ dyidxi)
                        dX.append(dxi)
                    return np.array(dX).reshape(*X.shape)
            """,
            why="numpy-ml's Softmax._bwd as written: the Jacobian at the forward of the cached input",
        ),
        Valid(
            """
            import numpy as np

            class Activation_Softmax:
                def forward(self, inputs):
                    exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

                def backward(self, dvalues):
                    self.dinputs = np.empty_like(dvalues)
                    for index, (single_output, single_dvalues) in enumerate(zip(self.output, dvalues)):
                        single_output = single_output.reshape(-1, 1)
                        jacobian_matrix = np.diagflat(single_output) - np.dot(single_output, single_output.T)
                        self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)
            """,
            why="the nnfs book's Softmax backward: rows of the cached output zipped with rows of the gradient",
        ),
        Valid(
            """
            import numpy as np

            def apply_jacobian(s, g):
                J = np.diag(s) - np.outer(s, s)
                return J @ g

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    self.out = e / np.sum(e)
                    return self.out

                def backward(self, grad):
                    return apply_jacobian(self.out, grad)
            """,
            why="a helper given the cached output and the gradient: the Jacobian is built from the output",
        ),
        Valid(
            """
            import numpy as np

            def weight_grad(g, x, W):
                dW = np.outer(g, x)
                return dW, W.T @ g

            class Dense:
                def forward(self, x):
                    self.x = x
                    return self.W @ x

                def backward(self, grad):
                    dW, dx = weight_grad(grad, self.x, self.W)
                    self.dW = dW
                    return dx
            """,
            why="a helper fed the gradient builds a weight gradient outer(g, x), not a Jacobian",
        ),
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
        # a backward's gradient parameter, and the parameters of the helpers it hands the gradient to
        for function in gradient_parameters(analysis):
            for node, _part, source in self._jacobians(analysis, function):
                statement = analysis.index.statement_of(node)
                if id(statement) in reported or not _applied(analysis, function, node):
                    continue
                reported.add(id(statement))
                yield Finding(node, self._message(analysis, function, node, *source))
            if calls_in is None:
                calls_in = {}
                for derivative_call in semantics.derivative_calls:
                    calls_in.setdefault(analysis.index.function_containing(derivative_call.call), []).append(derivative_call)
            for derivative_call in calls_in.get(function, ()):
                call = derivative_call.call
                if not derivative_call.derivative.returns_jacobian:
                    continue
                argument = derivative_call.argument
                if argument is None or id(analysis.index.statement_of(call)) in reported:
                    continue
                origin = _origin_here(analysis, function, argument)
                if origin is None or not _applied(analysis, function, call):
                    continue
                reported.add(id(analysis.index.statement_of(call)))
                yield Finding(call, self._message(analysis, function, call, argument, origin, None))
        yield from _rectifier_masks_from_gradient(analysis)

    def _jacobians(
        self, analysis: ModuleAnalysis, function: cst.FunctionDef
    ) -> Iterator[tuple[cst.BaseExpression, JacobianPart, tuple[cst.BaseExpression, GradientOrigin, Optional[cst.BaseExpression]]]]:
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
            source = self._source(analysis, function, vector_part)
            if source is None:
                continue
            yield candidate, vector_part, source

    @staticmethod
    def _source(
        analysis: ModuleAnalysis, function: cst.FunctionDef, part: JacobianPart
    ) -> Optional[tuple[cst.BaseExpression, GradientOrigin, Optional[cst.BaseExpression]]]:
        """(the gradient expression, where it comes from, the forward call or None) when the
        part's vector is the upstream gradient (a row of it, reshaped) or the forward applied
        to it; None otherwise."""
        vector = _vector_node(part.node, part.vector, analysis)
        if vector is None:
            return None
        origin = _origin_here(analysis, function, vector)
        if origin is not None:
            return vector, origin, None
        value = resolve(analysis, vector) if type(vector) is cst.Name else vector
        for _ in range(8):
            inner = _layout_operand(value)
            if inner is None:
                break
            value = resolve(analysis, inner) if type(inner) is cst.Name else inner
        if type(value) is not cst.Call:
            return None
        applied = analysis.semantics.nonlinearity_applied(value)
        if applied is None:
            return None
        _, argument = applied
        origin = _origin_here(analysis, function, argument)
        if origin is None:
            return None
        return argument, origin, value

    @staticmethod
    def _message(
        analysis: ModuleAnalysis,
        function: cst.FunctionDef,
        node: cst.BaseExpression,
        gradient: cst.BaseExpression,
        origin: GradientOrigin,
        source: Optional[cst.BaseExpression],
    ) -> str:
        cached = _cached_activation(analysis, function)
        target = f"the activation cached in forward ({cached})" if cached else "the activation saved by the forward pass"
        built = analysis.code_for(node)
        code = analysis.code_for(gradient)
        if code == origin.parameter and not origin.via:
            what = f"the upstream gradient `{code}`"
        else:
            what = f"`{code}`, which carries {origin.describe}"
        if source is not None:
            return (
                f"`{built}` is the Jacobian at `{analysis.code_for(source)}`, the forward applied to {what}; "
                f"build it from {target}"
            )
        return f"`{built}` builds the Jacobian from {what}; build it from {target}"


def _origin_here(analysis: ModuleAnalysis, function: cst.FunctionDef, node: cst.BaseExpression) -> Optional[GradientOrigin]:
    """The upstream gradient `node` carries, read in `function` (its own parameter, a row of it, reshaped)."""
    root = local_root(analysis, node)
    if root is None or root[0] is not function:
        return None
    return gradient_parameters(analysis).get(function, {}).get(root[1])


def _layout_operand(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`x` of `x.reshape(..)`, `x.ravel()`, `x.T`, `x[:, None]`, `np.atleast_2d(x)`."""
    from gradlint.analysis.gradient_flow import _unwrap

    return _unwrap(node)


def _vector_node(node: cst.BaseExpression, key: str, analysis: ModuleAnalysis) -> Optional[cst.BaseExpression]:
    """The operand of the Jacobian part `node` that is its vector (`key`, see vector_key)."""
    for inner in walk(node):
        if type(inner) is cst.Name and inner.value == key:
            return inner
    for inner in walk(node):
        if type(inner) in (cst.Name, cst.Attribute, cst.Call, cst.Subscript) and inner is not node and vector_key(analysis, inner) == key:
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


def _rectifier_masks_from_gradient(analysis: ModuleAnalysis) -> Iterator[Finding]:
    """The backward of a layer whose forward is a ReLU or leaky ReLU (by body) whose only sign tests are of
    its upstream gradient against 0 (`np.where(grad > 0, 1, self.leakage)`, `dx[dout <= 0] = 0`): the
    derivative mask follows the sign of dL/dy instead of the forward's input. Silent when the backward
    tests the sign of anything else (guided backprop also tests the input), indexes with a mask the class
    caches (`dout[self.mask]`), or belongs to a deconvnet or guided-backprop layer."""
    semantics = analysis.semantics
    index = analysis.index
    for function, origins in gradient_parameters(analysis).items():
        if not semantics.is_backward(function):
            continue
        cls = index.class_of(function)
        if cls is None:
            continue
        forwards = [
            info for name, method in index.methods(cls).items()
            if name in FORWARD_METHODS and (info := semantics.forward_of(method)) is not None
        ]
        kinds = {info.kind for info in forwards}
        if len(kinds) != 1 or next(iter(kinds)) not in _RECTIFIERS:
            continue
        gradient = next((name for name, origin in origins.items() if origin.parameter == name), None)
        if gradient is None or not is_gradient_name(gradient) or any(info.input_param == gradient for info in forwards):
            continue  # `backward(self, x)` of a stateless activation: the derivative at x, which the caller multiplies
        if _DESIGNED_RECTIFIER.search(cls.name.value):
            continue  # a deconvnet / guided-backprop layer rectifies the backward signal by design
        signs = [(test, _signed(test)) for test in index.nodes_in(function, cst.Comparison)]
        of_gradient = [test for test, signed in signs if signed == gradient]
        if not of_gradient or any(signed not in (None, gradient) for _, signed in signs):
            continue  # no sign test of the gradient, or one of something else (guided backprop tests the input too)
        masks = _cached_masks(analysis, cls)
        if any(type(element.slice) is cst.Index and dotted_name(element.slice.value) in masks
               for subscript in index.nodes_in(function, cst.Subscript) for element in subscript.slice):
            continue  # `dout[self.mask] = 0`: a mask the forward cached
        test = of_gradient[0]
        what = _RECTIFIERS[next(iter(kinds))]
        yield Finding(
            test,
            f"the {what}'s derivative mask `{analysis.code_for(test)}` tests the sign of the upstream gradient "
            f"`{gradient}`, not of the forward's input: the {what}'s slope at an entry depends on the sign of x "
            f"there (1 where x > 0), whatever the sign of dL/dy; test the input the forward cached",
        )


def _signed(test: cst.Comparison) -> Optional[str]:
    """The value a sign test compares with zero (`grad > 0`, `0 < self.x`, any of > >= < <=): its dotted
    name, "" for another expression, None when `test` is no sign test (`dout.shape == x.shape`)."""
    if len(test.comparisons) != 1 or type(test.comparisons[0].operator) not in _SIGN_TESTS:
        return None
    left, right = test.left, test.comparisons[0].comparator
    for value, zero in ((left, right), (right, left)):
        if literal_number(zero) == 0:
            return dotted_name(value) or ""
    return None


def _cached_masks(analysis: ModuleAnalysis, cls: cst.ClassDef) -> set[str]:
    """The attributes a method of the class sets from a comparison (`self.mask = x <= 0`)."""
    masks = set()
    for method in analysis.index.methods(cls).values():
        for assign in analysis.index.nodes_in(method, cst.Assign):
            if any(type(node) is cst.Comparison for node in walk(assign.value)):
                masks.update(name for target in assign.targets if (name := dotted_name(target.target)) is not None)
    return masks

