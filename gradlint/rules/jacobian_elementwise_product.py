"""GL104 jacobian-elementwise-product: an (n, n) Jacobian combined with the upstream gradient by `*`."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Role, RoleEvidence, Semantics
from gradlint.analysis.syntax import call_name, dotted_name, last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_GRADIENTS = frozenset({Role.UPSTREAM_GRADIENT, Role.LOSS_GRADIENT, Role.FUSED_LOSS_GRADIENT})
_REDUCTIONS = frozenset({"sum", "nansum", "mean", "dot", "matmul", "einsum", "tensordot", "inner", "vdot", "trace"})
_SHAPERS = frozenset({"reshape", "newaxis", "expand_dims", "None", "T", "transpose", "swapaxes", "moveaxis", "atleast_2d"})


class JacobianElementwiseProduct(Rule):
    code = "GL104"
    name = "jacobian-elementwise-product"
    severity = Severity.ERROR
    summary = "An (n, n) Jacobian is multiplied elementwise by the upstream gradient; the chain rule needs a matrix product."
    what_it_does = """
        Finds `J * g` (or `np.multiply(J, g)`) where `J` is a Jacobian matrix (built by
        `np.diag`/`np.diagflat`/`np.outer`/`np.eye`, an `einsum(...->ij)`, filled element by
        element, or returned by a function that builds one) and `g` is a gradient: the
        gradient parameter of a backward, a loss gradient such as `-y / p`, or the value
        returned by another layer's `backward`.
        """
    why_bad = """
        The chain rule through a vector function is a matrix-vector product: `dL/dz = J^T g`.
        `J * g` broadcasts the (n,) gradient across the rows of the (n, n) matrix and
        returns an (n, n) array, with no error. Summed or reshaped later, it gives a gradient
        that is wrong in every entry that depends on an off-diagonal term.
        """
    example = """
        def softmax_backward(s, grad):
            J = np.diag(s) - np.outer(s, s)
            return J * grad
        """
    use_instead = """
        def softmax_backward(s, grad):
            J = np.diag(s) - np.outer(s, s)
            return J @ grad  # J is symmetric; for a general Jacobian use J.T @ grad
        """
    references = (
        "Vector-Jacobian products: https://en.wikipedia.org/wiki/Automatic_differentiation#Reverse_accumulation",
        "NumPy broadcasting: https://numpy.org/doc/stable/user/basics.broadcasting.html",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax_prime(s):
                return np.diag(s) - np.outer(s, s)

            def softmax_backward(s, grad):
                return softmax_prime(s) * grad
            """,
            line=7,
            message="softmax_prime(s) (the softmax Jacobian returned by softmax_prime",
            why="free functions: prime(x) * grad with prime returning an (n, n) Jacobian",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max())
                    self.out = e / e.sum()
                    return self.out

                def backward(self, dout):
                    J = np.diag(self.out) - np.outer(self.out, self.out)
                    return J * dout
            """,
            line=11,
            message="upstream gradient dout",
            why="a layer class: the Jacobian from the cached output, times the backward's gradient",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def jacobian(a):
                n = len(a)
                J = np.zeros((n, n))
                for i in range(n):
                    for j in range(n):
                        J[i, j] = a[i] * ((i == j) - a[j])
                return J

            def output_delta(z, t):
                a = softmax(z)
                dE_dA = -t / a
                return dE_dA * jacobian(a)
            """,
            line=18,
            message="the cross-entropy gradient",
            why="the question's chain rule written with *: a loss gradient times a loop-built Jacobian",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxLayer:
                def forward(self, inputs):
                    exps = np.exp(inputs - np.max(inputs))
                    self.output = exps / np.sum(exps)
                    return self.output

                def backward(self, grad_output):
                    s = self.output
                    jac = np.einsum("i,j->ij", -s, s) + np.diag(s)
                    return np.multiply(jac, grad_output)
            """,
            line=12,
            why="einsum outer product and np.multiply",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def backward(x, grad):
                s = sigmoid(x)
                J = np.diagflat(s * (1 - s))
                return grad * J
            """,
            line=9,
            why="a diagonal Jacobian of an elementwise activation multiplied by *",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def softmax_backward(s, grad):
                s = s.reshape(-1, 1)
                I = np.eye(s.shape[0])
                J = (I - s.T) * s
                return np.dot(J, grad)
            """,
            why="`*` used to BUILD the Jacobian by broadcasting a column against a row, then np.dot",
        ),
        Valid(
            """
            import numpy as np

            def softmax_backward(s, grad):
                J = np.diag(s) - np.outer(s, s)
                return (J * grad).sum(axis=1)
            """,
            why="(J * g).sum(axis=1) is a matrix-vector product written out",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def sigmoid_jacobian(s):
                return np.diag(s * (1 - s))

            def backward(x, grad):
                return np.dot(sigmoid_jacobian(sigmoid(x)), grad)
            """,
            why="np.diag Jacobian of an elementwise activation combined with np.dot by the caller",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max())
                    self.out = e / e.sum()
                    return self.out

                def backward(self, dout):
                    J = np.diag(self.out) - np.outer(self.out, self.out)
                    return J @ dout
            """,
            why="the matrix product",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def backward(x, grad):
                s = sigmoid(x)
                return grad * s * (1 - s)
            """,
            why="an elementwise derivative (a vector) times the gradient",
        ),
        Valid(
            """
            import numpy as np

            def backward(s, grad):
                J = np.diag(s) - np.outer(s, s)
                return np.diag(J) * grad
            """,
            why="np.diag of a matrix is its diagonal, a vector",
        ),
        Valid(
            """
            import numpy as np

            def backward(s, grad):
                J = np.diag(s) - np.outer(s, s)
                weighted = J * grad[:, None]
                return weighted.sum(axis=0)
            """,
            why="explicit broadcasting followed by a reduction",
        ),
        Valid(
            """
            import numpy as np

            def dense_backward(x, grad, lr, W):
                dW = np.outer(grad, x)
                W -= lr * dW
                return W.T @ grad
            """,
            why="an outer product of the gradient is a weight gradient, not a Jacobian",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        index = analysis.index
        for product in index.nodes(cst.BinaryOperation):
            if type(product.operator) is cst.Multiply:
                finding = self._check_product(analysis, semantics, product, product.left, product.right)
                if finding is not None:
                    yield finding
        for call in index.nodes(cst.Call):
            if last_part(call_name(call)) == "multiply" and call_name(call) != "multiply":
                args = [a.value for a in call.args if a.keyword is None and not a.star]
                if len(args) == 2:
                    finding = self._check_product(analysis, semantics, call, args[0], args[1])
                    if finding is not None:
                        yield finding

    def _check_product(
        self,
        analysis: ModuleAnalysis,
        semantics: Semantics,
        product: cst.BaseExpression,
        left: cst.BaseExpression,
        right: cst.BaseExpression,
    ) -> Optional[Finding]:
        for matrix, vector in ((left, right), (right, left)):
            if _explicitly_broadcast(vector):
                continue
            jacobian = semantics.role_of(matrix, at=product)
            if jacobian is None or jacobian.role is not Role.JACOBIAN:
                continue
            gradient = semantics.role_of(vector, at=product)
            if gradient is None or gradient.role not in _GRADIENTS:
                continue
            if _reduced_later(analysis, product):
                return None
            return Finding(product, _message(analysis, matrix, vector, jacobian, gradient))
        return None


def _explicitly_broadcast(expr: cst.BaseExpression) -> bool:
    """`g[:, None]`, `g.reshape(-1, 1)`, `g[..., np.newaxis]`: the author chose the broadcast."""
    if type(expr) is cst.Subscript:
        for element in expr.slice:
            if type(element.slice) is cst.Index and dotted_name(element.slice.value) in ("None", "np.newaxis", "numpy.newaxis"):
                return True
    if type(expr) is cst.Call and type(expr.func) is cst.Attribute and expr.func.attr.value in _SHAPERS:
        return True
    if type(expr) is cst.Attribute and expr.attr.value == "T":
        return True
    return False


def _reduced_later(analysis: ModuleAnalysis, product: cst.BaseExpression) -> bool:
    """The product is summed or multiplied again as a matrix: `(J * g).sum(axis=1)`, `np.dot(J * s, g)`."""
    index = analysis.index
    parent = index.parent(product)
    if type(parent) is cst.Attribute and parent.attr.value in _REDUCTIONS:
        return True
    if type(parent) is cst.Arg:
        call = index.parent(parent)
        if type(call) is cst.Call and last_part(call_name(call)) in _REDUCTIONS:
            return True
    if type(parent) is cst.BinaryOperation and type(parent.operator) is cst.MatrixMultiply:
        return True
    # assigned to a name that is reduced afterwards
    if type(parent) is cst.Assign and len(parent.targets) == 1 and type(parent.targets[0].target) is cst.Name:
        name = parent.targets[0].target.value
        function = index.function_containing(product)
        order = index.order.get(product, 0)
        for node in index.nodes_in(function, cst.Name):
            if node.value != name or index.order.get(node, 0) <= order:
                continue
            use = index.parent(node)
            if type(use) is cst.Attribute and use.value is node and use.attr.value in _REDUCTIONS:
                return True
            if type(use) is cst.Arg:
                call = index.parent(use)
                if type(call) is cst.Call and last_part(call_name(call)) in _REDUCTIONS:
                    return True
            if type(use) is cst.BinaryOperation and type(use.operator) is cst.MatrixMultiply:
                return True
    return False


def _message(
    analysis: ModuleAnalysis,
    matrix: cst.BaseExpression,
    vector: cst.BaseExpression,
    jacobian: RoleEvidence,
    gradient: RoleEvidence,
) -> str:
    matrix_code = analysis.code_for(matrix)
    vector_code = analysis.code_for(vector)
    what = gradient.why if gradient.role is not Role.UPSTREAM_GRADIENT else f"the upstream gradient {vector_code}"
    return (
        f"{matrix_code} ({jacobian.why}) is multiplied elementwise by {vector_code} ({what}): broadcasting makes an "
        f"(n, n) array instead of the chain-rule vector; use a matrix product ({matrix_code} @ {vector_code}, "
        f"or {vector_code} @ {matrix_code} for a row gradient)"
    )
