"""GL203 double-softmax-derivative: the fused p - y gradient passed through the softmax's backward."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.gradient_flow import (
    SoftmaxBackward,
    callers_arguments,
    fused_gradient,
    loop_first_layer,
    method_of_instance,
    softmax_backward,
)
from gradlint.analysis.jacobians import scope_for
from gradlint.analysis.semantics import BACKWARD_METHODS
from gradlint.analysis.syntax import call_name, last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_SOFTMAX_TEXT = re.compile(r"\bexp\s*\(|softmax\s*\(")


def _has_softmax_text(source: str) -> bool:
    """`_SOFTMAX_TEXT` occurs in `source`. The pattern has no fixed first character, so the
    search tries it at every position of a long file: a substring test first rules most out."""
    return ("exp" in source or "softmax" in source) and _SOFTMAX_TEXT.search(source) is not None

_LAYERS = '''
import numpy as np

class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.random.randn(n_in, n_out) * 0.01
    def forward(self, x):
        self.x = x
        return x @ self.W
    def backward(self, grad):
        self.dW = self.x.T @ grad
        return grad @ self.W.T
'''

_NNFS_LAYERS = '''
import numpy as np

class Activation_Softmax:
    def forward(self, inputs):
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

    def backward(self, dvalues):
        self.dinputs = np.empty_like(dvalues)
        for index, (single_output, single_dvalues) in enumerate(zip(self.output, dvalues)):
            single_output = single_output.reshape(-1, 1)
            jacobian_matrix = np.diagflat(single_output) - np.dot(single_output, single_output.T)
            self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)

class Loss_CategoricalCrossentropy:
    def forward(self, y_pred, y_true):
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return np.mean(-np.log(y_pred_clipped[range(len(y_pred)), y_true]))

    def backward(self, dvalues, y_true):
        y_true = np.eye(len(dvalues[0]))[y_true]
        self.dinputs = -y_true / np.clip(dvalues, 1e-7, 1 - 1e-7) / len(dvalues)
'''


class DoubleSoftmaxDerivative(Rule):
    code = "GL203"
    name = "double-softmax-derivative"
    severity = Severity.ERROR
    summary = "The fused softmax + cross-entropy gradient p - y is passed through the softmax's backward, applying its derivative twice."
    what_it_does = """
        Follows the loss gradient through the module: when a value is the fused softmax +
        cross-entropy gradient `p - y` (computed from a softmax output, including the output a
        layer object caches in an attribute, as the nnfs book's `activation2.output`; the
        in-place `d = p.copy(); d[range(n), y] -= 1`; or returned by a loss whose backward
        returns `p - y` while its forward takes `log(p)`), and it is then handed to a
        backward that applies the softmax derivative (a Jacobian, a VJP, or an elementwise
        formula over the cached output),
        directly (`softmax.backward(p - y)`), through a call chain, or through the usual loop
        `for layer in reversed(self.layers): grad = layer.backward(grad)` whose last layer is
        that softmax; or it is multiplied by a softmax derivative or Jacobian
        (`(a - y) * softmax_prime(z)`, `np.dot(softmax_jacobian(s), p - y)`). Layers are
        matched to their classes through list literals, `append`/`add`
        calls and constructor arguments; classes imported from another module of the same
        package are followed when the engine analyses the package together.

        `p - y` is also the gradient of a squared error with respect to `p`, so the rule
        needs the module to train with a cross-entropy (a `log`, or a loss whose forward
        takes `log(p)`) and stays silent when it computes a squared error.
        """
    why_bad = """
        `p - y` is already the gradient with respect to the logits: the softmax Jacobian is
        folded into it. Multiplying by the Jacobian again computes J^T (p - y), a different
        and much smaller vector, so the output layer learns slowly or not at all while the
        code runs without error.
        """
    example = """
        grad = loss.backward(probs, y)          # CrossEntropy.backward returns probs - y
        for layer in reversed(self.layers):     # the last layer is Softmax()
            grad = layer.backward(grad)         # Softmax.backward applies the Jacobian again
        """
    use_instead = """
        grad = loss.backward(probs, y)          # already dL/dlogits
        for layer in reversed(self.layers[:-1]):  # skip the softmax layer
            grad = layer.backward(grad)
        """
    references = (
        "Softmax with cross-entropy: https://en.wikipedia.org/wiki/Softmax_function#Properties",
        "The question behind gradlint: ../shared/seed/softmax-backprop-question.txt",
    )

    INVALID = (
        Invalid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(p + 1e-12), axis=1))
    def backward(self, p, y):
        return (p - y) / len(p)

class Network:
    def __init__(self):
        self.layers = [Dense(4, 8), Dense(8, 3), Softmax()]
        self.loss = CrossEntropy()
    def train_step(self, x, y):
        out = x
        for layer in self.layers:
            out = layer.forward(out)
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
''',
            line=38,
            message="applies the softmax derivative again",
            why="layer classes and the reversed(self.layers) loop, loss class returning p - y",
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
                    n = self.a.shape[0]
                    J = np.einsum('ib,jb->bij', -self.a, self.a)
                    J[:, range(n), range(n)] += self.a.T
                    return np.einsum('bij,jb->ib', J, delta)

            class Model:
                def __init__(self):
                    self.softmax = Softmax()
                def backward(self, Z, Y):
                    A = self.softmax.forward(Z)
                    loss = -np.sum(Y * np.log(A + 1e-12)) / Y.shape[1]
                    dZ = A - Y
                    return loss, self.softmax.backward(dZ)
            """,
            line=21,
            message="fused",
            why="column layout, batched einsum Jacobian, a direct attribute call",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_backward(dout, s):
                J = np.diag(s) - np.outer(s, s)
                return J @ dout

            def output_gradient(z, y):
                p = softmax(z)
                loss = -np.sum(y * np.log(np.clip(p, 1e-12, 1.0)))
                return loss, softmax_backward(p - y, p)
            """,
            line=14,
            message="softmax_backward",
            why="free functions: a Jacobian-vector backward fed p - y",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0))
                return e / np.sum(e, axis=0)

            def softmax_prime(z):
                s = softmax(z)
                return np.diag(s) - np.outer(s, s)

            def cross_entropy(a, y):
                return -np.sum(y * np.log(a))

            def output_error(zs, y):
                a = softmax(zs[-1])
                return np.dot(softmax_prime(zs[-1]), a - y)
            """,
            line=16,
            message="applied twice",
            why="column layout free functions: the fused gradient times the softmax Jacobian",
        ),
        Invalid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - np.max(x, axis=1, keepdims=True))
        self.output = e / np.sum(e, axis=1, keepdims=True)
        return self.output
    def backward(self, dvalues):
        self.dinputs = np.empty_like(dvalues)
        for i, (s, d) in enumerate(zip(self.output, dvalues)):
            s = s.reshape(-1, 1)
            self.dinputs[i] = (np.diagflat(s) - s @ s.T) @ d
        return self.dinputs

class SoftmaxCrossEntropy:
    def forward(self, logits, y):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return -np.mean(np.log(self.p[range(len(y)), y]))
    def backward(self, y):
        d = self.p.copy()
        d[range(len(y)), y] -= 1
        return d / len(y)

class Net:
    def __init__(self, layers):
        self.layers = layers
    def backward(self, grad):
        for layer in self.layers[::-1]:
            grad = layer.backward(grad)
        return grad

loss = SoftmaxCrossEntropy()
net = Net([Dense(2, 3), Softmax()])
net.backward(loss.backward(np.array([0, 1])))
''',
            line=40,
            message="d[range(len(y)), y] -= 1",
            why="the in-place fused gradient, layers from the constructor, the loop in a method fed by its caller",
        ),
        Invalid(
            _NNFS_LAYERS
            + '''
def train(dense2, X, y):
    activation2 = Activation_Softmax()
    loss_function = Loss_CategoricalCrossentropy()
    activation2.forward(dense2.output)
    loss = loss_function.forward(activation2.output, y)
    dlogits = (activation2.output - y) / len(X)
    activation2.backward(dlogits)
    dense2.backward(activation2.dinputs)
    return loss
''',
            line=31,
            message="the softmax output `activation2.output` (Activation_Softmax.forward caches its softmax",
            why="nnfs book layers (forward stores self.output, returns nothing): p - y fed to the Jacobian backward",
        ),
        Invalid(
            _NNFS_LAYERS
            + '''
def train(dense2, X, y):
    activation2 = Activation_Softmax()
    loss_function = Loss_CategoricalCrossentropy()
    activation2.forward(dense2.output)
    loss = loss_function.forward(activation2.output, y)
    dlogits = activation2.output.copy()
    dlogits[range(len(dlogits)), y] -= 1
    dlogits = dlogits / len(dlogits)
    activation2.backward(dlogits)
    dense2.backward(activation2.dinputs)
    return loss
''',
            line=33,
            message="`dlogits[range(len(dlogits)), y] -= 1` on line 31",
            why="nnfs: the in-place fused gradient from a copy of the cached output, then the softmax backward",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x, axis=1, keepdims=True))
                    self.out = e / np.sum(e, axis=1, keepdims=True)
                    return self.out

                def backward(self, grad):
                    s = self.out
                    return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

            class CrossEntropy:
                def forward(self, p, y):
                    return -np.mean(np.sum(y * np.log(p + 1e-12), axis=1))

            def train_step(x, y):
                softmax = Softmax()
                loss = CrossEntropy()
                p = softmax.forward(x)
                l = loss.forward(p, y)
                return softmax.backward(softmax.out - y)
            """,
            line=22,
            message="softmax.out - y is the softmax output `softmax.out`",
            why="a VJP backward fed p - y read from the attribute the forward caches",
        ),
    )
    VALID = (
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

            class Loss_CategoricalCrossentropy:
                def forward(self, y_pred, y_true):
                    y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
                    return np.mean(-np.log(y_pred_clipped[range(len(y_pred)), y_true]))

            class Activation_Softmax_Loss_CategoricalCrossentropy:
                def __init__(self):
                    self.activation = Activation_Softmax()
                    self.loss = Loss_CategoricalCrossentropy()

                def forward(self, inputs, y_true):
                    self.activation.forward(inputs)
                    self.output = self.activation.output
                    return self.loss.forward(self.output, y_true)

                def backward(self, dvalues, y_true):
                    samples = len(dvalues)
                    self.dinputs = dvalues.copy()
                    self.dinputs[range(samples), y_true] -= 1
                    self.dinputs = self.dinputs / samples

            def train(dense2, y):
                loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
                loss = loss_activation.forward(dense2.output, y)
                loss_activation.backward(loss_activation.output, y)
                dense2.backward(loss_activation.dinputs)
                return loss
            """,
            why="the nnfs book's combined Softmax + cross-entropy: its in-place p - y goes to the dense layer, not the softmax",
        ),
        Valid(
            _NNFS_LAYERS
            + '''
def train(dense2, X, y):
    activation2 = Activation_Softmax()
    loss_function = Loss_CategoricalCrossentropy()
    activation2.forward(dense2.output)
    loss = loss_function.forward(activation2.output, y)
    loss_function.backward(activation2.output, y)
    activation2.backward(loss_function.dinputs)
    dense2.backward(activation2.dinputs)
    return loss
''',
            why="nnfs: the softmax Jacobian backward fed the cross-entropy gradient -y/p (the correct chain)",
        ),
        Valid(
            _NNFS_LAYERS
            + '''
def train(dense2, X, y):
    activation2 = Activation_Softmax()
    loss_function = Loss_CategoricalCrossentropy()
    activation2.forward(dense2.output)
    loss = loss_function.forward(activation2.output, y)
    dlogits = activation2.output.copy()
    dlogits[range(len(dlogits)), y] -= 1
    dense2.backward(dlogits / len(dlogits))
    return loss
''',
            why="nnfs: the in-place fused gradient handed to the dense layer, skipping the softmax backward",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x, axis=1, keepdims=True))
                    self.out = e / np.sum(e, axis=1, keepdims=True)
                    return self.out

                def backward(self, grad):
                    s = self.out
                    return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

            def train_step(x, y):
                softmax = Softmax()
                p = softmax.forward(x)
                loss = np.mean((softmax.out - y) ** 2)
                return loss, softmax.backward(2 * (softmax.out - y) / y.size)
            """,
            why="a squared error on the cached softmax output: p - y is dL/dp, the softmax backward must apply",
        ),
        Valid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        return grad

class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(p + 1e-12), axis=1))
    def backward(self, p, y):
        return (p - y) / len(p)

class Network:
    def __init__(self):
        self.layers = [Dense(4, 3), Softmax()]
        self.loss = CrossEntropy()
    def train_step(self, out, y):
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
''',
            why="trap: a pass-through softmax backward paired with the fused loss",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    self.out = e / e.sum(axis=1, keepdims=True)
                    return self.out
                def backward(self, grad):
                    return np.ones_like(self.out) * grad

            class Model:
                def __init__(self):
                    self.act = Softmax()
                def step(self, x, y):
                    p = self.act.forward(x)
                    return self.act.backward(p - y)
            """,
            why="trap: np.ones_like pass-through",
        ),
        Valid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

class SoftmaxCrossEntropy:
    def forward(self, logits, y):
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return -np.mean(np.sum(y * np.log(self.p), axis=1))
    def backward(self, y):
        return (self.p - y) / len(y)

class Network:
    def __init__(self):
        self.layers = [Dense(4, 8), Dense(8, 3)]
        self.loss = SoftmaxCrossEntropy()
    def train_step(self, y):
        grad = self.loss.backward(y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
''',
            why="trap: the fused softmax+loss class trains; the separate Softmax class is unused",
        ),
        Valid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(p), axis=1))
    def backward(self, p, y):
        return -y / p / len(p)

class Network:
    def __init__(self):
        self.layers = [Dense(4, 3), Softmax()]
        self.loss = CrossEntropy()
    def train_step(self, out, y):
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
''',
            why="trap: the softmax VJP fed -y/p (the correct chain)",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=0, keepdims=True))
                    self.a = e / e.sum(axis=0, keepdims=True)
                    return self.a
                def backward(self, delta):
                    s = self.a
                    return s * (delta - (delta * s).sum(axis=0, keepdims=True))

            def backprop(W, X, Y):
                A = sigmoid(W @ X)
                dZ = A - Y
                dW = dZ @ X.T / X.shape[1]
                return dW
            """,
            why="trap: the fused sigmoid + binary cross-entropy dZ = A - Y",
        ),
        Valid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

class MeanSquaredError:
    def forward(self, p, y):
        return np.mean((p - y) ** 2)
    def backward(self, p, y):
        return 2 * (p - y) / p.size

class Network:
    def __init__(self):
        self.layers = [Dense(4, 3), Softmax()]
        self.loss = MeanSquaredError()
    def train_step(self, out, y):
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
''',
            why="mean squared error on the probabilities: p - y is dL/dp, the softmax backward must apply",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    self.p = e / e.sum(axis=1, keepdims=True)
                    return self.p
                def backward(self, grad):
                    s = self.p
                    return s * (grad - (grad * s).sum(axis=1, keepdims=True))

            def step(z, y):
                act = Softmax()
                p = act.forward(z)
                loss = np.mean((p - y) ** 2)
                return loss, act.backward(p - y)
            """,
            why="a squared error on the softmax output: p - y is dL/dp, so the softmax backward must apply",
        ),
        Valid(
            _LAYERS
            + '''
class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))

class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(p), axis=1))
    def backward(self, p, y):
        return (p - y) / len(p)

class Network:
    def __init__(self):
        self.layers = [Dense(4, 3), Softmax()]
        self.loss = CrossEntropy()
    def train_step(self, out, y):
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            if isinstance(layer, Softmax):
                continue
            grad = layer.backward(grad)
''',
            why="the loop skips the softmax layer for the fused gradient",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        local_backwards: set[str] = set()
        softmax_text = _has_softmax_text(analysis.source)
        if softmax_text:  # a softmax forward needs one of these here
            local_backwards = {
                function.name.value
                for function in analysis.index.nodes(cst.FunctionDef)
                if analysis.index.class_of(function) is None and softmax_backward(analysis, function) is not None
            }
        for call in analysis.index.nodes(cst.Call):
            func = call.func
            tail = func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None
            if tail is None or (tail not in BACKWARD_METHODS and tail not in local_backwards):
                continue
            targets = [t for t in semantics.resolve_call_targets(call) if type(t.function) is cst.FunctionDef]
            if targets:
                backwards = [softmax_backward(analysis, t.function) for t in targets]  # type: ignore[arg-type]
                if not all(backwards):
                    continue
                backward = backwards[0]
                assert backward is not None
                argument = semantics.bind_arguments(call, targets[0]).get(backward.gradient)
                how = ""
                loop = None
            else:
                found = self._loop_layer(analysis, call, tail) or self._imported_layer(analysis, call)
                if found is None:
                    continue
                backward, how, loop = found
                positional = [a.value for a in call.args if a.keyword is None]
                argument = positional[0] if positional else None
            if argument is None:
                continue
            evidence = self._fused(analysis, argument, call, loop)
            if evidence is None:
                continue
            yield Finding(call, self._message(analysis, call, argument, backward, evidence, how))
        if local_backwards or softmax_text:
            yield from self._products(analysis)

    def _products(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        """`(a - y) * softmax_prime(z)`, `J @ (p - y)`: the fused gradient multiplied by a
        softmax derivative or Jacobian."""
        index = analysis.index
        candidates: list[tuple[cst.CSTNode, list[cst.BaseExpression]]] = []
        for operation in index.nodes(cst.BinaryOperation):
            if type(operation.operator) in (cst.Multiply, cst.MatrixMultiply):
                candidates.append((operation, [operation.left, operation.right]))
        for call in index.nodes(cst.Call):
            if last_part(call_name(call)) in {"dot", "matmul", "multiply"} and len(call.args) == 2:
                candidates.append((call, [a.value for a in call.args]))
        for node, operands in candidates:
            for derivative, gradient in ((operands[0], operands[1]), (operands[1], operands[0])):
                what = _softmax_derivative_value(analysis, derivative)
                if what is None:
                    continue
                evidence = fused_gradient(analysis, gradient, node)
                if evidence is None:
                    continue
                yield Finding(
                    node,
                    f"`{analysis.code_for(node)}` multiplies `{analysis.code_for(gradient)}`, already the fused "
                    f"softmax + cross-entropy gradient p - y with respect to the logits ({evidence}), by "
                    f"`{analysis.code_for(derivative)}`, {what}: the softmax derivative is applied twice; use "
                    f"the fused gradient as it is",
                )
                break

    @staticmethod
    def _loop_layer(
        analysis: ModuleAnalysis, call: cst.Call, method: str
    ) -> Optional[tuple[SoftmaxBackward, str, cst.For]]:
        """`layer.backward(g)` inside `for layer in reversed(layers)` whose first visited layer is a softmax."""
        func = call.func
        if type(func) is not cst.Attribute or type(func.value) is not cst.Name:
            return None
        definition = scope_for(analysis, func.value).reaching(analysis, func.value.value, func.value)
        if definition is None or definition.loop is None:
            return None
        if _layers_filtered(analysis, definition.loop, func.value.value, call):
            return None
        found = loop_first_layer(analysis, definition.loop)
        if found is None:
            return None
        layer, how = found
        assert type(layer.node) is cst.ClassDef
        function = layer.analysis.semantics.find_method(layer.node, method)
        if function is None:
            return None
        backward = softmax_backward(layer.analysis, function)
        if backward is None:
            return None
        return backward, how, definition.loop

    @staticmethod
    def _imported_layer(analysis: ModuleAnalysis, call: cst.Call) -> Optional[tuple[SoftmaxBackward, str, None]]:
        """`self.softmax.backward(g)` with the layer's class imported from another module of the package."""
        method = method_of_instance(analysis, call)
        if method is None or method.analysis is analysis:
            return None
        assert type(method.node) is cst.FunctionDef
        backward = softmax_backward(method.analysis, method.node)
        if backward is None:
            return None
        return backward, f"imported from {method.analysis.filename}", None

    @staticmethod
    def _fused(
        analysis: ModuleAnalysis, argument: cst.BaseExpression, call: cst.Call, loop: Optional[cst.For]
    ) -> Optional[str]:
        """Why the gradient reaching the softmax backward is the fused p - y."""
        at: cst.CSTNode = call
        if loop is not None and type(argument) is cst.Name:
            # the first iteration sees the value bound before the loop
            scope = scope_for(analysis, loop)
            before = scope.reaching(analysis, argument.value, loop)
            if before is not None and before.value is not None:
                return fused_gradient(analysis, before.value, before.value)
            if before is None and scope.function is not None and scope.is_unbound_parameter(analysis, argument.value, loop):
                for caller, value in callers_arguments(analysis, scope.function, argument.value):
                    reason = fused_gradient(analysis, value, caller)
                    if reason is not None:
                        return reason
            return None
        reason = fused_gradient(analysis, argument, at)
        if reason is not None:
            return reason
        if type(argument) is cst.Name:
            scope = scope_for(analysis, call)
            if scope.function is not None and scope.is_unbound_parameter(analysis, argument.value, call):
                for caller, value in callers_arguments(analysis, scope.function, argument.value):
                    reason = fused_gradient(analysis, value, caller)
                    if reason is not None:
                        return reason
        return None

    @staticmethod
    def _message(
        analysis: ModuleAnalysis,
        call: cst.Call,
        argument: cst.BaseExpression,
        backward: SoftmaxBackward,
        evidence: str,
        how: str,
    ) -> str:
        where = f" ({how})" if how else ""
        return (
            f"`{analysis.code_for(call)}` passes `{analysis.code_for(argument)}` through {backward.qualname}{where}, "
            f"which applies the softmax derivative again ({backward.evidence}), but it is already the fused softmax + "
            f"cross-entropy gradient p - y with respect to the logits ({evidence}); the softmax Jacobian is counted "
            f"twice: skip the softmax backward for a fused loss gradient, or give it the cross-entropy gradient -y/p"
        )


def _layers_filtered(analysis: ModuleAnalysis, loop: cst.For, variable: str, call: cst.Call) -> bool:
    """The loop tests its layer variable (`if isinstance(layer, Softmax): continue`) or
    the call is conditional: which layers reach the call is not known."""
    for branch in analysis.index.nodes(cst.If):
        if not any(ancestor is loop for ancestor in analysis.index.ancestors(branch)):
            continue
        if any(type(n) is cst.Name and n.value == variable for n in _walk_expression(branch.test)):
            return True
        if any(ancestor is branch for ancestor in analysis.index.ancestors(call)):
            return True
    return False


def _walk_expression(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    from gradlint.analysis.syntax import walk

    return walk(node)


def _softmax_derivative_value(analysis: ModuleAnalysis, node: cst.BaseExpression) -> Optional[str]:
    """What makes `node` a softmax derivative: a call of a derivative whose forward is a
    softmax (by its body), or a softmax Jacobian value."""
    from gradlint.analysis.semantics import ForwardKind, Role

    semantics = analysis.semantics
    if type(node) is cst.Call:
        targets = semantics.resolve_call_targets(node)
        infos = [semantics.derivative_of(t.function) for t in targets]
        if infos and all(i is not None and i.forward_kind is ForwardKind.SOFTMAX for i in infos):
            info = infos[0]
            assert info is not None
            return f"the softmax derivative {last_part(info.qualname)} ({info.evidence})"
    if type(node) in (cst.Name, cst.Attribute, cst.Call):
        role = semantics.role_of(node)
        if role is not None and role.role is Role.JACOBIAN and role.forward_kind is ForwardKind.SOFTMAX:
            return f"the softmax Jacobian ({role.why})"
    return None
