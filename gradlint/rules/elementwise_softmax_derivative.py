"""GL102 elementwise-softmax-derivative: the softmax derivative written as s*(1-s)."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.jacobians import (
    arithmetic_roots,
    builds_outer_product,
    in_derivative_context,
    logistic_sites,
)
from gradlint.analysis.semantics import Convention, ForwardKind, Role
from gradlint.analysis.syntax import call_name, last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_LOST = "(the Jacobian's diagonal only); the off-diagonal terms -s_i*s_j are lost"
_INSTEAD = "use the vector-Jacobian product s * (g - np.sum(g * s, axis=-1, keepdims=True)) or the Jacobian np.diag(s) - np.outer(s, s)"


class ElementwiseSoftmaxDerivative(Rule):
    code = "GL102"
    name = "elementwise-softmax-derivative"
    severity = Severity.ERROR
    summary = "The softmax derivative is computed as the elementwise s*(1-s): only the Jacobian's diagonal, the -s_i*s_j terms are lost."
    what_it_does = """
        Finds the elementwise formula `s*(1-s)` (also spelled `s - s*s`, `s - s**2`,
        `s*(-s+1)`, `grad*out*(1-out)`, `np.diag(s*(1-s))`) applied to a value that is the
        output of a softmax: a forward recognised by its body (exponentials normalised by
        their sum), whether the value comes from a call of that forward, from `self.output`
        cached by a softmax layer's `forward`, or is handed to a derivative function that
        computes `a*(1-a)`. Whether a class or function is a softmax is decided from its
        body, never its name: a `Softmax` class whose forward is `1/(1+exp(-x))` is a sigmoid.
        """
    why_bad = """
        Every output of a softmax depends on every input: its derivative is the full
        Jacobian J_ij = s_i(δ_ij - s_j). `s*(1-s)` is only its diagonal, so the off-diagonal
        terms -s_i*s_j are silently dropped and the gradient reaching the logits is wrong
        (it no longer sums to zero over the classes). The code runs and the network still
        trains a little, which is why this is the most common softmax bug.
        """
    example = """
        class Softmax:
            def forward(self, x):
                e = np.exp(x - x.max(axis=1, keepdims=True))
                self.out = e / e.sum(axis=1, keepdims=True)
                return self.out

            def backward(self, grad):
                return grad * self.out * (1 - self.out)
        """
    use_instead = """
            def backward(self, grad):
                s = self.out
                return s * (grad - np.sum(grad * s, axis=1, keepdims=True))
        """
    references = (
        "Softmax derivative: https://en.wikipedia.org/wiki/Softmax_function#Properties",
        "The softmax Jacobian-vector product: https://stackoverflow.com/q/40575841",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_derivative(z):
                s = softmax(z)
                return s * (1 - s)
            """,
            line=9,
            message="elementwise `s * (1 - s)`",
            why="free function, logit convention",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    self.out = e / e.sum(axis=1, keepdims=True)
                    return self.out

                def backward(self, grad):
                    return grad * self.out * (1 - self.out)
            """,
            line=10,
            message="the off-diagonal terms -s_i*s_j are lost",
            why="layer class: grad*out*(1-out) in the softmax's backward",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxLayer:
                def forward(self, inputs):
                    exps = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    self.output = exps / np.sum(exps, axis=1, keepdims=True)
                    return self.output

                def backward(self, dvalues):
                    s = self.output
                    self.dinputs = dvalues * (s - s ** 2)
                    return self.dinputs
            """,
            line=11,
            message="`dvalues * (s - s ** 2)`",
            why="batched layer, s - s**2 spelling",
        ),
        Invalid(
            """
            import numpy as np

            def train_step(W1, W2, X, Y):
                A1 = np.tanh(W1 @ X)
                Z2 = W2 @ A1
                E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
                A2 = E / E.sum(axis=0, keepdims=True)
                dA2 = -Y / A2
                dZ2 = dA2 * A2 * (1 - A2)
                return dZ2 @ A1.T
            """,
            line=9,
            message="`A2`",
            why="column layout (classes x batch), inline in a training step",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid_prime(a):
                return a * (1 - a)

            def softmax(z):
                e = np.exp(z - z.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)

            def output_delta(z, dloss):
                p = softmax(z)
                return dloss * sigmoid_prime(p)
            """,
            line=12,
            message="sigmoid_prime(p)",
            why="the softmax output handed to an elementwise a*(1-a) derivative",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / e.sum()

            def softmax_jacobian(x):
                s = softmax(x)
                return np.diag(s * (1 - s))
            """,
            line=9,
            message="diagonal only",
            why="a Jacobian that is only its diagonal",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    self.out = 1 / (1 + np.exp(-x))
                    return self.out

                def backward(self, grad):
                    return grad * self.out * (1 - self.out)
            """,
            why="trap: a class called Softmax whose forward is a sigmoid",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_jacobian(z):
                s = softmax(z)
                J = -np.outer(s, s)
                np.fill_diagonal(J, s * (1 - s))
                return J
            """,
            why="trap: s*(1-s) written onto the diagonal of a full Jacobian that subtracts the outer product",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    self.s = e / e.sum(axis=1, keepdims=True)
                    return self.s

                def backward(self, g):
                    s = self.s
                    return s * (g - np.sum(g * s, axis=1, keepdims=True))
            """,
            why="trap: the VJP s*(g - sum(g*s))",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_grad(z):
                s = softmax(z)
                n = len(s)
                J = np.zeros((n, n))
                for i in range(n):
                    for j in range(n):
                        if i == j:
                            J[i, j] = s[i] * (1 - s[i])
                        else:
                            J[i, j] = -s[i] * s[j]
                return J
            """,
            why="the diagonal element s_i(1-s_i) of a loop-filled Jacobian",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def softmax(z):
                e = np.exp(z - z.max(axis=1, keepdims=True))
                return e / e.sum(axis=1, keepdims=True)

            def backward(X, Y, W1, W2):
                A1 = sigmoid(X @ W1)
                P = softmax(A1 @ W2)
                dZ2 = (P - Y) / len(X)
                dA1 = dZ2 @ W2.T
                dZ1 = dA1 * A1 * (1 - A1)
                return dZ1
            """,
            why="s*(1-s) on a real sigmoid's output, beside a softmax output layer",
        ),
        Valid(
            """
            def softmax_prime(s):
                return s * (1 - s)
            """,
            why="names only: nothing in the module says s is a softmax output",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def jac(z):
                s = softmax(z)
                return np.diag(s * (1 - s)) - np.outer(s, s) + np.diag(s * s)
            """,
            why="a full Jacobian (the outer product is subtracted)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def gini(z):
                p = softmax(z)
                return np.sum(p * (1 - p), axis=1)
            """,
            why="not a derivative: the Gini impurity sum(p*(1-p)) of the probabilities",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=-1, keepdims=True))
                return e / np.sum(e, axis=-1, keepdims=True)

            def predict_with_uncertainty(z):
                p = softmax(z)
                variance = p * (1 - p)
                return p, variance
            """,
            why="not a derivative: the Bernoulli variance p*(1-p) of each class",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        reported: set[int] = set()
        for site in logistic_sites(analysis, arithmetic_roots(analysis)):
            if _in_matrix_context(analysis, site.expression) or _is_reduced(analysis, site.expression):
                continue
            if not site.multiplier and not in_derivative_context(analysis, site.expression):
                continue  # p*(1-p) outside any derivative: a variance, not a gradient
            role = semantics.role_of(site.atom)
            if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not ForwardKind.SOFTMAX:
                continue
            function = analysis.index.function_containing(site.expression)
            if builds_outer_product(analysis, function, site.atom):
                continue
            reported.add(id(site.expression))
            expression = analysis.code_for(site.expression)
            atom = analysis.code_for(site.atom)
            if _diag_parent(analysis, site.expression):
                what = f"softmax Jacobian built as np.diag({expression}), the elementwise s*(1-s) on the diagonal"
            else:
                what = f"softmax derivative computed as the elementwise `{expression}`"
            yield Finding(
                site.expression,
                f"{what} {_LOST}: `{atom}` is a softmax output ({role.why}); {_INSTEAD}",
            )
        for derivative_call in semantics.derivative_calls:
            derivative = derivative_call.derivative
            argument = derivative_call.argument
            if argument is None or derivative.convention is not Convention.ACTIVATION or derivative.returns_jacobian:
                continue
            forms = [f for f in semantics.derivative_forms(derivative.function) if f.shape == "logistic" and not f.in_matrix]
            if not forms or id(derivative_call.call) in reported:
                continue
            role = semantics.role_of(argument, at=derivative_call.call)
            if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not ForwardKind.SOFTMAX:
                continue
            formula = analysis.code_for(forms[0].node)
            yield Finding(
                derivative_call.call,
                f"`{analysis.code_for(derivative_call.call)}` takes the softmax derivative as the elementwise "
                f"`{formula}` of {last_part(derivative.qualname)} {_LOST}: `{analysis.code_for(argument)}` is a "
                f"softmax output ({role.why}); {_INSTEAD}",
            )


def _parent_call(analysis: ModuleAnalysis, node: cst.CSTNode) -> Optional[cst.Call]:
    parent = analysis.index.parent(node)
    if type(parent) is cst.Arg:
        call = analysis.index.parent(parent)
        if type(call) is cst.Call:
            return call
    return None


def _diag_parent(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    call = _parent_call(analysis, node)
    return call is not None and last_part(call_name(call)) in {"diag", "diagflat"}


def _in_matrix_context(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    """Written onto part of a matrix: `np.fill_diagonal(J, ...)`, `J[i, j] = ...`, `J[idx] = ...`."""
    call = _parent_call(analysis, node)
    if call is not None and last_part(call_name(call)) in {"fill_diagonal", "put", "place", "copyto"}:
        return True
    parent = analysis.index.parent(node)
    if type(parent) is cst.Assign and any(type(t.target) is cst.Subscript for t in parent.targets):
        return True
    if type(parent) is cst.AugAssign and type(parent.target) is cst.Subscript:
        return True
    return False


def _is_reduced(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    """Summed to a statistic (`np.sum(p * (1 - p))`, the Gini impurity / Bernoulli variance)."""
    call = _parent_call(analysis, node)
    if call is not None and last_part(call_name(call)) in {"sum", "mean", "nansum", "average", "prod", "trace"}:
        return True
    parent = analysis.index.parent(node)
    if type(parent) is cst.Attribute and parent.attr.value in {"sum", "mean"}:
        return True
    return False
