"""GL104 jacobian-elementwise-product: an (n, n) Jacobian combined with the upstream gradient by `*`."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.gradient_flow import gradient_origin
from gradlint.analysis.jacobians import Layout, is_batched_rows, layout, scope_for
from gradlint.analysis.semantics import ForwardKind, Role, RoleEvidence, Semantics
from gradlint.analysis.syntax import call_name, dotted_name, last_part, literal_int
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
        gradient parameter of a backward, a loss gradient such as `-y / p` (or a column
        `g[:, k]` of one), the value returned by another layer's `backward`, or the gradient a
        backward hands to a helper that applies it (numpy-ml's `_bwd(self, dLdy, X)`, rows taken
        by `zip(*np.atleast_2d(dy, x))`), whatever the helper is called.

        Also finds `(J * g).sum(axis=0)` (or `np.sum(J * g, axis=0)`) where `g` is 1-D per the
        code (a row of a batch) and `J` a softmax Jacobian: `g` broadcasts as a row, so the sum
        over the first axis is g_j * sum_i J_ij, which is zero for the softmax. The sum over
        `axis=1` is the matrix-vector product and stays silent.
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
                    dX = []
                    for dy, x in zip(dLdy, self.X):
                        dX.append(self._bwd(dy, x))
                    return dX[0] if len(self.X) == 1 else dX

                def _bwd(self, dLdy, X):
                    dX = []
                    for dy, x in zip(dLdy, X):
                        dxi = []
                        for dyi, xi in zip(*np.atleast_2d(dy, x)):
                            yi = self._fwd(xi.reshape(1, -1)).reshape(-1, 1)
                            dyidxi = np.diagflat(yi) - yi @ yi.T
                            dxi.append(dyi * dyidxi)
                        dX.append(dxi)
                    return np.array(dX).reshape(*X.shape)
            """,
            line=31,
            message="the upstream gradient dLdy of Softmax.backward, passed to Softmax._bwd as dLdy",
            why="numpy-ml: a backward helper `_bwd` (not named backward) fed the gradient by backward",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0, keepdims=True))
                return e / np.sum(e, axis=0, keepdims=True)

            def softmax_jacobian(s):
                s = s.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)

            def output_layer(W, b, z_prev, y):
                a_prev = np.tanh(z_prev)
                out = softmax(W @ a_prev + b)
                dL_dout = -y / np.clip(out, 1e-12, None)
                delta = softmax_jacobian(out[:, 0]) * dL_dout[:, 0]
                return delta @ a_prev.T, weights_back(W, delta)

            def weights_back(W, delta):
                return W.T @ delta
            """,
            line=15,
            message="a column of dL_dout",
            why="column layout: a column slice of the loss gradient times the Jacobian; delta only used downstream",
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
                        single_output = single_output.reshape(-1, 1)
                        jacobian_matrix = np.diagflat(single_output) - np.dot(single_output, single_output.T)
                        self.dinputs[index] = (jacobian_matrix * single_dvalues).sum(axis=0)
            """,
            line=13,
            message="sums over axis 0",
            why="nnfs: (J * g).sum(axis=0) with g a row of the batch gradient: g_j * sum_i J_ij = 0",
        ),
    )
    VALID = (
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
                    dX = []
                    for dy, x in zip(dLdy, self.X):
                        dX.append(self._bwd(dy, x))
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
            why="numpy-ml's Softmax._bwd as written: the vector-Jacobian product dyi @ dyidxi",
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
                        self.dinputs[index] = np.sum(jacobian_matrix * single_dvalues, axis=1)
            """,
            why="trap: np.sum(J * g, axis=1) with g a row is the matrix-vector product J g (J symmetric)",
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
                        self.dinputs[index] = (jacobian_matrix * single_dvalues.reshape(-1, 1)).sum(axis=0)
            """,
            why="the gradient broadcast as a column: the sum over axis 0 is sum_i J_ij g_i, the chain rule",
        ),
        Valid(
            """
            import numpy as np

            def softmax_vjp(J, g):
                return (J * g).sum(axis=0)
            """,
            why="(J * g).sum(axis=0) with the layout of g unknown (correct for a column g)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0, keepdims=True))
                return e / np.sum(e, axis=0, keepdims=True)

            def softmax_jacobian(s):
                s = s.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)

            def output_layer(W, b, z_prev, y):
                a_prev = np.tanh(z_prev)
                out = softmax(W @ a_prev + b)
                dL_dout = -y / np.clip(out, 1e-12, None)
                delta = softmax_jacobian(out[:, 0]) @ dL_dout[:, 0]
                return delta, W.T @ delta
            """,
            why="column layout twin: the Jacobian applied to a column slice of the loss gradient with @",
        ),
        Valid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, X):
                    self.X = X
                    return self._fwd(X)

                def _fwd(self, X):
                    return 1 / (1 + np.exp(-X))

                def backward(self, dLdy):
                    return self._bwd(dLdy, self.X)

                def _bwd(self, dLdy, X):
                    s = self._fwd(X)
                    return dLdy * s * (1 - s)
            """,
            why="a backward helper multiplying the gradient by an elementwise derivative (a vector, no Jacobian)",
        ),
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
            what = _gradient(analysis, semantics, vector, product)
            if what is None:
                continue
            if _reduced_later(analysis, product):
                return _summed_over_rows(analysis, product, matrix, vector, jacobian)
            return Finding(product, _message(analysis, matrix, vector, jacobian, what))
        return None


def _gradient(analysis: ModuleAnalysis, semantics: Semantics, vector: cst.BaseExpression, at: cst.CSTNode) -> Optional[str]:
    """Why `vector` is a gradient: its role (a backward's gradient parameter, a loss
    gradient), a column `g[:, k]` of one, or the upstream gradient a backward hands to the
    helper holding `vector` (numpy-ml's `_bwd`), per the data flow."""
    role = semantics.role_of(vector, at=at)
    if role is not None and role.role in _GRADIENTS:
        return role.why if role.role is not Role.UPSTREAM_GRADIENT else f"the upstream gradient {analysis.code_for(vector)}"
    if role is None and type(vector) is cst.Subscript and len(vector.slice) == 2:
        first, second = (element.slice for element in vector.slice)
        if (
            type(first) is cst.Slice and first.lower is None and first.upper is None and first.step is None
            and type(second) is cst.Index and type(second.value) in (cst.Integer, cst.Name)
            and dotted_name(second.value) not in ("None",)
        ):
            column = semantics.role_of(vector.value, at=at)
            if column is not None and column.role in _GRADIENTS:
                base = analysis.code_for(vector.value)
                why = column.why if column.role is not Role.UPSTREAM_GRADIENT else f"the upstream gradient {base}"
                return f"a column of {base}, {why}"
    if role is None:
        origin = gradient_origin(analysis, vector)
        if origin is not None:
            return origin.describe
    return None


def _summed_over_rows(
    analysis: ModuleAnalysis,
    product: cst.BaseExpression,
    matrix: cst.BaseExpression,
    vector: cst.BaseExpression,
    jacobian: RoleEvidence,
) -> Optional[Finding]:
    """`(J * g).sum(axis=0)` / `np.sum(J * g, axis=0)` with `g` provably 1-D (so it broadcasts
    as a row: entry (i, j) is J_ij g_j) and J a full softmax Jacobian: the sum over i is
    g_j * sum_i J_ij, zero for the softmax, not the chain rule's sum_i J_ij g_i."""
    if jacobian.forward_kind is not ForwardKind.SOFTMAX:
        return None  # a diagonal Jacobian sums to the right thing over either axis
    reduction = _row_sum(analysis, product)
    if reduction is None or not _one_dimensional(analysis, vector):
        return None
    matrix_code, vector_code = analysis.code_for(matrix), analysis.code_for(vector)
    return Finding(
        reduction,
        f"`{analysis.code_for(reduction)}` sums over axis 0: the 1-D `{vector_code}` broadcasts as a row, so entry "
        f"(i, j) of `{analysis.code_for(product)}` is J_ij*g_j and the sum over i is g_j*sum_i J_ij, which is 0 for "
        f"the softmax Jacobian (its columns sum to 0), not the chain rule's sum_i J_ij*g_i; use "
        f"{matrix_code} @ {vector_code} (or sum over axis=1 for this symmetric Jacobian)",
    )


def _row_sum(analysis: ModuleAnalysis, product: cst.BaseExpression) -> Optional[cst.Call]:
    """The `.sum(axis=0)` / `np.sum(product, axis=0)` call that reduces `product` directly."""
    index = analysis.index
    parent = index.parent(product)
    call: Optional[cst.CSTNode] = None
    axis: Optional[cst.BaseExpression] = None
    if type(parent) is cst.Attribute and parent.attr.value == "sum":
        call = index.parent(parent)
        if type(call) is not cst.Call or call.func is not parent:
            return None
        positional = [a.value for a in call.args if a.keyword is None]
        axis = positional[0] if positional else None
    elif type(parent) is cst.Arg:
        call = index.parent(parent)
        if type(call) is not cst.Call or call_name(call) not in ("np.sum", "numpy.sum") or call.args[0] is not parent:
            return None
        positional = [a.value for a in call.args if a.keyword is None]
        axis = positional[1] if len(positional) > 1 else None
    else:
        return None
    assert type(call) is cst.Call
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "axis":
            axis = arg.value
    if axis is None:
        return None
    value = literal_int(axis)
    return call if value in (0, -2) else None


def _one_dimensional(analysis: ModuleAnalysis, vector: cst.BaseExpression) -> bool:
    """`vector` is 1-D per the code: its layout, or a row of a batch taken by a loop over
    `zip(self.output, dvalues)` with `self.output` normalised along its rows."""
    if layout(analysis, vector) is Layout.FLAT:
        return True
    if type(vector) is not cst.Name:
        return False
    definition = scope_for(analysis, vector).reaching(analysis, vector.value, vector)
    if definition is None or definition.loop is None or definition.value is not None:
        return False
    iterable = definition.loop.iter
    if type(iterable) is cst.Call and call_name(iterable) == "enumerate" and iterable.args:
        iterable = iterable.args[0].value
    if type(iterable) is not cst.Call or call_name(iterable) != "zip" or any(a.star for a in iterable.args):
        return False
    return any(is_batched_rows(analysis, a.value) for a in iterable.args)


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
                    matrix_product = last_part(call_name(call)) in {"dot", "matmul"}
                    if not matrix_product or (
                        call.args[0] is use and not _weight_gradient(analysis, call, [a.value for a in call.args[1:]])
                    ):
                        return True
            if type(use) is cst.BinaryOperation and type(use.operator) is cst.MatrixMultiply:
                if use.left is node and not _weight_gradient(analysis, use, [use.right]):
                    return True
    return False


def _weight_gradient(analysis: ModuleAnalysis, use: cst.CSTNode, others: list[cst.BaseExpression]) -> bool:
    """`delta @ a_prev.T`, `np.dot(delta, a.T)`: the product times an activation is a weight
    gradient computed from it downstream, not a reduction that makes it a vector (nor is
    `W.T @ delta`, which has it on the right: `X @ v` reduces X's columns, `M @ X` does not)."""
    for other in others:
        role = analysis.semantics.role_of(other, at=use)
        if role is not None and role.role in (Role.ACTIVATION, Role.PREACTIVATION):
            return True
    return False


def _message(
    analysis: ModuleAnalysis,
    matrix: cst.BaseExpression,
    vector: cst.BaseExpression,
    jacobian: RoleEvidence,
    what: str,
) -> str:
    matrix_code = analysis.code_for(matrix)
    vector_code = analysis.code_for(vector)
    return (
        f"{matrix_code} ({jacobian.why}) is multiplied elementwise by {vector_code} ({what}): broadcasting makes an "
        f"(n, n) array instead of the chain-rule vector; use a matrix product ({matrix_code} @ {vector_code}, "
        f"or {vector_code} @ {matrix_code} for a row gradient)"
    )
