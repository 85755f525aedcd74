"""GL202 derivative-fed-activation: the nonlinearity applied again to a value that already went through it."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Convention, Role
from gradlint.analysis.syntax import last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


class DerivativeFedActivation(Rule):
    code = "GL202"
    name = "derivative-fed-activation"
    severity = Severity.ERROR
    summary = "A derivative that applies the forward itself is given the forward's output, so the nonlinearity is applied twice."
    what_it_does = """
        Finds calls of a *logit-convention* derivative (one that applies the forward to its
        argument: `sigmoid(z) * (1 - sigmoid(z))`, `s = softmax(z)`, `1 - np.tanh(x)**2`)
        whose argument is already an activation (the output of a forward call, a value a
        layer's `forward` stored after the nonlinearity such as `self.output`, an element of a
        list of activations, also one kept in a list attribute: `hidden_states.append(h)` in
        forward, `self.hidden_states = hidden_states`, `hidden_states[t]` in backward). Also finds a backward that applies the forward to its own
        cached output (`s = self.forward(self.out)`, or `np.tanh(self.outputs[0]())` in a
        dezero / chainer `Function`, whose `__call__` keeps the forward's output). An activation
        with a bias unit joined to it (`np.append([1], a)`, `np.insert(a, 0, 1, axis=1)`,
        `np.hstack((np.ones((m, 1)), a))`, `np.c_[np.ones(m), a]`) is still the activation.

        A derivative switch counts as both, as its branches say: `def sigmoid(x, derivative=False)`
        returning `f * (1 - f)` of `f = sigmoid(x)` when the flag is set and `f` otherwise is a
        forward where a call leaves the flag unset (`o = sigmoid(W @ z)`) and a logit-convention
        derivative where a call sets it to True or 1 (`sigmoid(o, derivative=True)`); a flag passed
        as a variable is neither.
        """
    why_bad = """
        The derivative is evaluated at `f(f(z))` instead of `f(z)`: `sigmoid(sigmoid(z))` lies
        in (0.5, 0.73), so the computed slope has nothing to do with the true one. The network
        still trains a little, which makes the bug hard to notice.
        """
    example = """
        def sigmoid_prime(z):
            return sigmoid(z) * (1 - sigmoid(z))

        a = sigmoid(W @ x + b)
        delta = grad * sigmoid_prime(a)
        """
    use_instead = """
        z = W @ x + b
        a = sigmoid(z)
        delta = grad * sigmoid_prime(z)   # or a * (1 - a)
        """
    references = ("Logistic function derivative: https://en.wikipedia.org/wiki/Logistic_function#Derivative",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def derivedSigmoid(x):
                return sigmoid(x) * (1 - sigmoid(x))

            def backprop(sample, weightsIH, weightsHO):
                activationInput = np.append([1], sample).reshape(-1, 1)
                a2 = sigmoid(np.dot(activationInput.T, weightsIH))
                activationHidden = np.append([1], a2).reshape(-1, 1)
                yPred = sigmoid(np.dot(activationHidden.T, weightsHO))
                delta3 = yPred - sample
                return np.multiply(np.dot(delta3, weightsHO.T), derivedSigmoid(activationHidden.T))

            def with_bias_column(X, W1, W2, y):
                m = X.shape[0]
                a2 = np.hstack((np.ones((m, 1)), sigmoid(X @ W1)))
                delta3 = sigmoid(a2 @ W2) - y
                return (delta3 @ W2.T) * derivedSigmoid(a2)
            """,
            line=15,
            count=2,
            message="already a sigmoid output",
            why="review 6 (rw6b miss/03, HansBambel/ACML sparse_autoencoder.py): the activation with a bias unit "
            "joined to it (`np.append([1], a2)`, `np.hstack((np.ones((m, 1)), a))`) is still the activation",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_derivative(z):
                return sigmoid(z) * (1 - sigmoid(z))

            def backprop(weights, biases, x, y):
                activations = [x]
                for w, b in zip(weights, biases):
                    activations.append(sigmoid(np.dot(w, activations[-1]) + b))
                deltas = [(activations[-1] - y) * sigmoid_derivative(activations[-1])]
                for i in range(len(weights) - 2, -1, -1):
                    err = np.dot(weights[i + 1].T, deltas[0])
                    deltas.insert(0, err * sigmoid_derivative(activations[i + 1]))
                return deltas
            """,
            line=13,
            message="already a sigmoid output",
            why="free functions: a list of activations fed to a logit-convention derivative",
        ),
        Invalid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, x):
                    self.out = 1 / (1 + np.exp(-x))
                    return self.out

                def backward(self, grad):
                    s = self.forward(self.out)
                    return grad * s * (1 - s)
            """,
            line=9,
            message="self.out",
            why="a layer's backward applying the forward to its own cached output",
        ),
        Invalid(
            """
            import numpy as np

            def tanh_grad(x):
                return 1 - np.tanh(x) ** 2

            def rnn_backward(dh, W, x, b):
                h = np.tanh(W @ x + b)
                return dh * tanh_grad(h)
            """,
            line=8,
            message="tanh_grad applies the tanh",
            why="an RNN step: tanh output fed to a logit-convention tanh derivative",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=-1, keepdims=True))
                return e / np.sum(e, axis=-1, keepdims=True)

            def softmax_jacobian(z):
                s = softmax(z)
                return np.diag(s) - np.outer(s, s)

            def head_backward(logits, dprobs):
                probs = softmax(logits)
                return softmax_jacobian(probs) @ dprobs
            """,
            line=13,
            message="already a softmax output",
            why="a full softmax Jacobian in the logit convention fed the probabilities",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def sigmoid_prime(x):
                s = sigmoid(x)
                return s * (1 - s)

            class Activation:
                def __init__(self, activation, activation_prime):
                    self.activation = activation
                    self.activation_prime = activation_prime

                def forward(self, input):
                    self.output = self.activation(input)
                    return self.output

                def backward(self, output_gradient):
                    return output_gradient * self.activation_prime(self.output)

            class Sigmoid(Activation):
                def __init__(self):
                    super().__init__(sigmoid, sigmoid_prime)
            """,
            line=20,
            message="self.activation_prime",
            why="the class form: the cached output fed to a subclass-supplied logit-convention derivative",
        ),
        Invalid(
            """
            import numpy as np
            from dezero.core import Function

            class Tanh(Function):
                def forward(self, x):
                    y = np.tanh(x)
                    return y

                def backward(self, gy):
                    y = np.tanh(self.outputs[0]())
                    gx = gy * (1 - y * y)
                    return gx
            """,
            line=10,
            message="already its output",
            why="dezero Function: the tanh applied to self.outputs[0](), already the forward's output",
        ),
        Invalid(
            """
            import numpy as np

            def tanh_prime(t):
                return 1 - np.tanh(t) ** 2

            class RNN:
                def forward(self, xs, h):
                    hidden_states = [h]
                    for t in range(xs.shape[0]):
                        h = np.tanh(xs[t] @ self.W + h @ self.U)
                        hidden_states.append(h)
                    self.hidden_states = hidden_states
                    return h

                def backward(self, dh):
                    hidden_states = self.hidden_states
                    for t in reversed(range(len(hidden_states))):
                        dh = tanh_prime(hidden_states[t]) * dh
                    return dh
            """,
            line=18,
            message="an element of self.hidden_states, which collects the output of the tanh",
            why="nets rnn.py: tanh outputs appended to a list in forward, kept in self.hidden_states, fed to tanh_prime in backward",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def sigmoid_prime(z):
                return sigmoid(z) * (1 - sigmoid(z))

            class Net:
                def __init__(self):
                    self.activations = []

                def forward(self, x):
                    self.activations = [x]
                    for W in self.weights:
                        x = sigmoid(W @ x)
                        self.activations.append(x)
                    return x

                def backward(self, delta):
                    for i in range(len(self.weights), 0, -1):
                        delta = (self.weights[i - 1].T @ delta) * sigmoid_prime(self.activations[i - 1])
                    return delta
            """,
            line=22,
            message="an element of self.activations",
            why="column layout: sigmoid outputs appended to self.activations, the logit-convention sigmoid_prime applied to them",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x, derivative=False):
                f = 1 / (1 + np.exp(-x))
                if derivative:
                    return f * (1 - f)
                return f

            def tanh(x, derivative=False):
                f = np.tanh(x)
                if derivative:
                    return 1 - f ** 2
                return f

            def cell_backward(W_o, z, C, dh):
                o = sigmoid(np.dot(W_o, z))
                do = dh * tanh(C)
                do = sigmoid(o, derivative=True) * do
                dC = dh * o * tanh(tanh(C), derivative=True)
                return do, dC
            """,
            line=18,
            message="when called with derivative=True, but is passed o, already a sigmoid output",
            count=2,
            why="kalupad/LSTM-numpy pass_functions.py (the DTU 02456 LSTM notebook): derivative=True switches the "
            "logit-convention derivative on, and the gate activations o and tanh(C) are fed to it",
        ),
        Invalid(
            """
            import numpy as np

            class LSTMCell:
                def sigmoid(self, x, deriv=0):
                    return self.sig(x) * (1 - self.sig(x)) if deriv else self.sig(x)

                def sig(self, x):
                    return 1 / (1 + np.exp(-x))

                def forward(self, x, h):
                    self.f = self.sigmoid(x @ self.Wf + h @ self.Uf)
                    return self.f

                def backward(self, df):
                    return df * self.sigmoid(self.f, 1)
            """,
            line=15,
            message="already a sigmoid output",
            why="a layer class: a conditional-expression switch (deriv=0) set positionally, fed the cached gate output self.f",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def sigmoidGradient(z):
                return sigmoid(z) * (1 - sigmoid(z))

            def nnCostFunction(Theta1, Theta2, X, y):
                m = X.shape[0]
                a1 = np.c_[np.ones(m), X]
                z2 = a1 @ Theta1.T
                a2 = np.c_[np.ones(m), sigmoid(z2)]
                a3 = sigmoid(a2 @ Theta2.T)
                delta3 = a3 - y
                delta2 = (delta3 @ Theta2[:, 1:]) * sigmoidGradient(z2)
                return delta2.T @ a1
            """,
            why="Andrew Ng's ex4: the bias column joined with np.c_, the derivative taken at the pre-activation z2",
        ),
        Valid(
            """
            import numpy as np

            def tanh_prime(t):
                return 1 - np.tanh(t) ** 2

            class RNN:
                def forward(self, xs, h):
                    self.pre = []
                    self.hs = [h]
                    for t in range(xs.shape[0]):
                        z = xs[t] @ self.W + h @ self.U
                        h = np.tanh(z)
                        self.pre.append(z)
                        self.hs.append(h)
                    return h

                def backward(self, dh):
                    for t in reversed(range(len(self.pre))):
                        dh = (tanh_prime(self.pre[t]) * dh) @ self.U.T
                    return dh
            """,
            why="the pre-activations kept in a list attribute and fed to the logit-convention tanh_prime (correct)",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def tanh_prime(t):
                return 1 - np.tanh(t) ** 2

            class Cell:
                def forward(self, x, h):
                    self.cache = []
                    self.cache.append(np.tanh(x @ self.W))
                    self.cache.append(sigmoid(h @ self.U))
                    self.cache[1] = x @ self.V
                    return self.cache[0]

                def backward(self, dh):
                    return tanh_prime(self.cache[1]) * dh
            """,
            why="trap: a list attribute holding outputs of different nonlinearities, one slot then overwritten by a pre-activation",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def tanh_prime(x):
                return 1 - np.tanh(x) ** 2

            def gated_backward(W, x, grad):
                gate = sigmoid(W @ x)
                out = np.tanh(gate)
                return grad * tanh_prime(gate)
            """,
            why="the output of one nonlinearity is the next one's input: tanh_prime(sigmoid output) is right here",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_prime(z):
                return sigmoid(z) * (1 - sigmoid(z))

            def backprop(W, b, x, grad):
                z = W @ x + b
                a = sigmoid(z)
                return grad * sigmoid_prime(z)
            """,
            why="a logit-convention derivative fed the pre-activation",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def dsigmoid(s):
                return s * (1 - s)

            def backprop(W, x, grad):
                a = sigmoid(W @ x)
                return grad * dsigmoid(a)
            """,
            why="an activation-convention derivative fed the activation",
        ),
        Valid(
            """
            import numpy as np

            def relu(x):
                return np.maximum(0, x)

            def relu_prime(x):
                return (relu(x) > 0).astype(float)

            def backward(W, x, grad):
                a = relu(W @ x)
                return grad * relu_prime(a)
            """,
            why="relu(relu(z)) == relu(z): the convention does not matter",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            class Sigmoid:
                def forward(self, x):
                    self.input = x
                    return sigmoid(x)

                def backward(self, grad):
                    s = sigmoid(self.input)
                    return grad * s * (1 - s)
            """,
            why="the backward applies the forward to the cached input",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def sigmoid_prime(a):
                return sigmoid(a) * (1 - sigmoid(a))

            def backward(W, x, b, grad):
                z = W @ x + b
                return grad * sigmoid_prime(z)
            """,
            why="the parameter is named a but the call passes the pre-activation",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def forward(x, W1, W2):
                h = np.tanh(W1 @ x)
                return sigmoid(np.tanh(h))
            """,
            why="stacked nonlinearities in a forward pass are a model choice, not a derivative bug",
        ),
        Valid(
            """
            import numpy as np
            from dezero.core import Function

            class Tanh(Function):
                def forward(self, x):
                    y = np.tanh(x)
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    gx = gy * (1 - y * y)
                    return gx

            class Sigmoid(Function):
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))

                def backward(self, gy):
                    x, = self.inputs
                    s = 1 / (1 + np.exp(-x))
                    return gy * s * (1 - s)
            """,
            why="dezero: Tanh reads its output through self.outputs[0](), Sigmoid applies the forward to its input (self.inputs)",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x, derivative=False):
                f = 1 / (1 + np.exp(-x))
                if derivative:
                    return f * (1 - f)
                return f

            def cell_backward(W_o, z, dh):
                zo = np.dot(W_o, z)
                o = sigmoid(zo)
                return dh * sigmoid(zo, derivative=True)
            """,
            why="the derivative switch set on the pre-activation (the logit convention fed right)",
        ),
        Valid(
            """
            import numpy as np

            def nonlin(x, deriv=False):
                if deriv == True:
                    return x * (1 - x)
                return 1 / (1 + np.exp(-x))

            def train(X, y, W0, W1):
                l1 = nonlin(np.dot(X, W0))
                l2 = nonlin(np.dot(l1, W1))
                l2_delta = (y - l2) * nonlin(l2, deriv=True)
                return l2_delta.dot(W1.T) * nonlin(l1, True)
            """,
            why="the 11-line network's nonlin(x, deriv=False): an activation-convention switch fed the activations (right)",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x, derivative=False):
                f = 1 / (1 + np.exp(-x))
                if derivative:
                    return f * (1 - f)
                return f

            def forward(W1, W2, x):
                return sigmoid(W2 @ sigmoid(W1 @ x))

            def backward_layer(h, grad, derivative):
                return grad * sigmoid(sigmoid(h), derivative)

            def apply_rows(a):
                return np.apply_along_axis(sigmoid, 1, sigmoid(a))
            """,
            why="traps: the switch left unset is the forward (stacked forwards are a model); a flag passed as a "
            "variable, and a function handed to apply_along_axis, are not known to select the derivative",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x, derivative=False):
                f = 1 / (1 + np.exp(-x))
                if derivative and f.ndim > 1:
                    return f * (1 - f)
                return f

            def backward(W, z, dh):
                o = sigmoid(W @ z)
                return dh * sigmoid(o, derivative=True)
            """,
            why="trap: a test the flag alone does not decide (derivative and f.ndim > 1): which branch runs is not known",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        reported: set[int] = set()
        for call in semantics.derivative_calls:
            derivative = call.derivative
            if id(call.call) in reported or call.argument is None:
                continue
            if derivative.convention is not Convention.LOGIT or not derivative.forward_kind.convention_matters:
                continue
            role = semantics.role_of(call.argument, at=call.call)
            if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not derivative.forward_kind:
                continue  # the output of another nonlinearity is this one's input
            reported.add(id(call.call))
            callee = analysis.code_for(call.call.func)
            if call.target.via and ", set to " in call.target.via:
                how = call.target.via.split(", set to ", 1)[1]
                function, _, rest = how.partition(" ")
                callee = f"{callee} (set to {last_part(function)} {rest})".replace(" )", ")")
            kind = derivative.forward_kind.label
            argument = analysis.code_for(call.argument)
            yield Finding(
                call.call,
                f"{callee} {derivative.evidence.removeprefix('it ')}, but is "
                f"passed {argument}, already a {_kind_of(role.forward_kind, kind)} output ({role.explanation}): the "
                f"nonlinearity is applied twice; pass the pre-activation instead",
            )
        yield from self._backward_reapplies(analysis, reported)

    def _backward_reapplies(self, analysis: ModuleAnalysis, reported: set[int]) -> Iterator[Finding]:
        """A backward applying the forward to a value that is already its output."""
        semantics = analysis.semantics
        for function in analysis.index.nodes(cst.FunctionDef):
            if not semantics.is_backward(function):
                continue
            for call in analysis.index.nodes_in(function, cst.Call):
                if id(call) in reported:
                    continue
                application = semantics.nonlinearity_applied(call)
                if application is None:
                    continue
                kinds, argument = application
                if not all(kind.convention_matters for kind in kinds):
                    continue
                role = semantics.role_of(argument, at=call)
                if role is None or role.role is not Role.ACTIVATION:
                    continue
                if role.forward_kind is None or role.forward_kind not in kinds:
                    continue
                reported.add(id(call))
                kind = "/".join(sorted(k.label for k in kinds))
                yield Finding(
                    call,
                    f"{analysis.code_for(call)} in {function.name.value} applies the {kind} to "
                    f"{analysis.code_for(argument)}, which is already its output ({role.explanation}): the "
                    f"nonlinearity is applied twice; use the cached output directly",
                )


def _kind_of(kind: object, default: str) -> str:
    label = getattr(kind, "label", None)
    return label if isinstance(label, str) else default
