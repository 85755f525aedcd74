"""GL201 jacobian-from-preactivation: an activation-convention derivative fed a pre-activation."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Convention, DerivativeCall, ForwardKind, Role, RoleEvidence
from gradlint.analysis.syntax import last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid


_SHAPES = {
    "logistic": "the sigmoid derivative s*(1-s)",
    "tanh": "the tanh derivative 1-s**2",
    "softmax-jacobian": "the softmax Jacobian diag(s) - s s^T",
}


_SHAPE_KINDS = {
    "logistic": (ForwardKind.SIGMOID, ForwardKind.SOFTMAX),
    "tanh": (ForwardKind.TANH,),
    "softmax-jacobian": (ForwardKind.SOFTMAX,),
}


class JacobianFromPreactivation(Rule):
    code = "GL201"
    name = "jacobian-from-preactivation"
    severity = Severity.ERROR
    summary = "A derivative written in terms of the activation's output is called with the pre-activation (logits)."
    what_it_does = """
        Decides, for every derivative in the module, which side of the nonlinearity it takes:
        an *activation-convention* derivative does arithmetic on the forward's output `s`
        (`s*(1-s)`, `1-s**2`, `diag(s) - outer(s, s)`, a Jacobian filled from `s[i]*s[j]`,
        scikit-learn's in-place `delta *= 1 - Z**2`), while a logit-convention derivative
        applies the forward itself. It then follows every
        call of an activation-convention derivative (directly, through `np.apply_along_axis`,
        through a wrapper, or through `self.activation_prime` set by a subclass's
        `super().__init__`) and reports the call when the argument is a *pre-activation*: the
        result of an affine map (`W @ A + b`, `np.dot(x, W) + b`), a value handed to the
        forward (`A = softmax(Z)` makes `Z` the softmax's input, also through a shift or an
        alias: `shiftx = x - np.max(x); exps = np.exp(shiftx)`), or an attribute that
        `forward` stored before applying the nonlinearity (`self.input`); a whole row or
        column of one (`z[:, 0]`) is one too. A backward that
        writes the formula inline on such a value (`dvalues * (1 - self.inputs) *
        self.inputs`) is reported too.
        """
    why_bad = """
        The derivative evaluates its formula at the wrong point: `s*(1-s)` computed from the
        logits `z` instead of `s = sigmoid(z)`. Nothing fails, the shapes agree, but every
        gradient through the layer is wrong (this is the second bug of the question behind
        gradlint: the softmax Jacobian built from `Z` instead of `A`).
        """
    example = """
        def sigmoid(z):
            return 1 / (1 + np.exp(-z))

        def sigmoid_prime(s):
            return s * (1 - s)

        z = W @ x + b
        a = sigmoid(z)
        delta = grad * sigmoid_prime(z)
        """
    use_instead = """
        z = W @ x + b
        a = sigmoid(z)
        delta = grad * sigmoid_prime(a)
        """
    references = (
        "The question behind gradlint: ../shared/seed/softmax-backprop-question.txt",
        "Softmax derivative: https://en.wikipedia.org/wiki/Softmax_function#Properties",
    )

    INVALID = (
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def df2(d):
                def softmax_prime(f):
                    jacobian = np.diag(f)
                    for i in range(len(jacobian)):
                        for j in range(len(jacobian)):
                            if i == j:
                                jacobian[i][j] = f[i] * (1 - f[i])
                            else:
                                jacobian[i][j] = -f[i] * f[j]
                    return jacobian
                return np.apply_along_axis(softmax_prime, axis=1, arr=d)

            def output_delta(W, A_prev, b, T):
                Z = W @ A_prev + b
                A = softmax(Z)
                J = df2(Z)
                return np.einsum("bi,bij->bj", -T / A, J)
            """,
            line=22,
            message="df2 expects the softmax output",
            why="the question's free-function form: a Jacobian per row built from Z",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_prime(s):
                return s * (1 - s)

            def backprop(W, b, x, grad):
                z = np.dot(W, x) + b
                a = sigmoid(z)
                return grad * sigmoid_prime(z)
            """,
            line=12,
            message="is passed z, a pre-activation (z = np.dot(W, x) + b on line 10, an affine map)",
            why="free functions, column layout",
        ),
        Invalid(
            """
            import numpy as np

            class Layer:
                def forward(self, input):
                    raise NotImplementedError

            class Activation(Layer):
                def __init__(self, activation, activation_prime):
                    self.activation = activation
                    self.activation_prime = activation_prime

                def forward(self, input):
                    self.input = input
                    return self.activation(self.input)

                def backward(self, output_gradient, learning_rate):
                    return np.multiply(output_gradient, self.activation_prime(self.input))

            class Tanh(Activation):
                def __init__(self):
                    def tanh(x):
                        return np.tanh(x)

                    def tanh_prime(y):
                        return 1 - y ** 2

                    super().__init__(tanh, tanh_prime)
            """,
            line=17,
            message="self.activation_prime",
            why="the class form: forward saved the logits in self.input; the subclass passes an activation-convention derivative",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def dsigmoid(y):
                return y * (1.0 - y)

            class Dense:
                def forward(self, x):
                    self.x = x
                    self.z = x @ self.W + self.b
                    self.a = sigmoid(self.z)
                    return self.a

                def backward(self, grad):
                    dz = grad * dsigmoid(self.z)
                    self.dW = self.x.T @ dz
                    return dz @ self.W.T
            """,
            line=17,
            message="self.z, a pre-activation",
            why="a layer class caching the affine result in self.z (batched row layout)",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_prime(a):
                return a * (1 - a)

            def backprop(weights, biases, x, y):
                activation = x
                activations = [x]
                zs = []
                for b, w in zip(biases, weights):
                    z = np.dot(w, activation) + b
                    zs.append(z)
                    activation = sigmoid(z)
                    activations.append(activation)
                delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
                return delta
            """,
            line=18,
            message="zs[-1]",
            why="Nielsen-style lists of pre-activations",
        ),
        Invalid(
            """
            import numpy as np

            dtanh = lambda out: 1.0 - out ** 2

            def rnn_step_backward(dh, x, h_prev, Wx, Wh, b):
                raw = x @ Wx + h_prev @ Wh + b
                h = np.tanh(raw)
                return dh * dtanh(raw)
            """,
            line=8,
            message="dtanh expects the tanh output",
            why="a lambda derivative, an RNN step",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                exps = np.exp(x - np.max(x))
                return exps / np.sum(exps)

            def softmax_grad(s):
                s = s.reshape(-1, 1)
                return np.diagflat(s) - np.dot(s, s.T)

            def output_gradient(logits, dprobs):
                probs = softmax(logits)
                return softmax_grad(logits) @ dprobs
            """,
            line=13,
            message="the input of softmax(logits)",
            why="a full softmax Jacobian from the value handed to the forward",
        ),
        Invalid(
            """
            import numpy as np

            class Activation_Sigmoid:
                def forward(self, inputs):
                    self.inputs = inputs
                    self.output = 1 / (1 + np.exp(-inputs))

                def backward(self, dvalues):
                    self.dinputs = dvalues * (1 - self.inputs) * self.inputs
            """,
            line=9,
            message="is the sigmoid derivative s*(1-s) written in the activation's output, but self.inputs is a pre-activation",
            why="the formula written inline in a backward, on the cached input",
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

            def output_delta(W, a, b, y):
                z = W @ a + b
                out = softmax(z)
                dL_dout = -y / np.clip(out, 1e-12, None)
                return softmax_jacobian(z[:, 0]) @ dL_dout
            """,
            line=15,
            message="but is passed z[:, 0], a pre-activation",
            why="column layout: a column z[:, 0] of the affine map passed to an activation-convention softmax Jacobian",
        ),
        Invalid(
            """
            import numpy as np


            def inplace_tanh(X):
                np.tanh(X, out=X)


            def inplace_tanh_derivative(Z, delta):
                delta *= 1 - Z**2


            def backprop(coefs, intercepts, X, delta_out):
                activations = [X]
                zs = []
                for W, b in zip(coefs, intercepts):
                    z = activations[-1] @ W + b
                    zs.append(z.copy())
                    inplace_tanh(z)
                    activations.append(z)
                delta = delta_out
                for i in range(len(coefs) - 1, 0, -1):
                    delta = delta @ coefs[i].T
                    inplace_tanh_derivative(zs[i - 1], delta)
                return delta
            """,
            line=23,
            message="but is passed zs[i - 1], a pre-activation",
            why="scikit-learn style: zs keeps a copy of z before inplace_tanh(z), then the in-place tanh derivative is handed zs[i - 1]",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    self.last_x = x
                    shiftx = x - np.max(x)
                    exps = np.exp(shiftx)
                    self.result = exps / np.sum(exps)
                    return self.result

                def backward(self, dL_dy):
                    x = self.last_x.reshape(-1, 1)
                    self.dy_dx = np.diagflat(x) - np.dot(x, x.T)
                    return np.dot(self.dy_dx, dL_dy)
            """,
            line=13,
            message="the input of exps / np.sum(exps)",
            why="numpy-nn Softmax.py: the Jacobian built from self.last_x, the logits shifted through a variable (shiftx = x - np.max(x)) before the exp",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    self.last_x = x
                    shiftx = x - np.max(x)
                    exps = np.exp(shiftx)
                    self.result = exps / np.sum(exps)
                    return self.result

                def backward(self, dL_dy):
                    s = self.result.reshape(-1, 1)
                    return np.dot(np.diagflat(s) - np.dot(s, s.T), dL_dy)

            class Shifted:
                def forward(self, x):
                    self.centred = x - np.max(x)
                    self.centred = np.exp(self.centred) / np.sum(np.exp(self.centred))
                    return self.centred

                def backward(self, g):
                    s = self.centred.reshape(-1, 1)
                    return np.dot(np.diagflat(s) - np.dot(s, s.T), g)
            """,
            why="the two-step shifted softmax with its Jacobian built from the output (self.result), and an attribute that holds the shifted logits and then the softmax",
        ),
        Valid(
            """
            import numpy as np

            def dsigmoid(s):
                return s * (1 - s)

            def highway_backward(gate, grad):
                h = np.tanh(gate)
                return grad * dsigmoid(gate)
            """,
            why="the input of a tanh may be a sigmoid output (here a parameter): a different nonlinearity says nothing",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_prime(s):
                return s * (1 - s)

            def backprop(W, b, x, grad):
                z = np.dot(W, x) + b
                a = sigmoid(z)
                return grad * sigmoid_prime(a)
            """,
            why="an activation-convention derivative fed the activation",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def dsigmoid(y):
                return y * (1 - y)

            def dtanh(y):
                return 1 - y * y

            def lstm_backward(dh, dc_next, x, h_prev, c_prev, Wf, Wi, Wo, Wc):
                hx = np.concatenate([h_prev, x])
                f = sigmoid(Wf @ hx)
                i = sigmoid(Wi @ hx)
                o = sigmoid(Wo @ hx)
                c_bar = np.tanh(Wc @ hx)
                c = f * c_prev + i * c_bar
                tanh_c = np.tanh(c)
                do = dh * tanh_c * dsigmoid(o)
                dc = dh * o * dtanh(tanh_c) + dc_next
                dc_bar = dc * i * dtanh(c_bar)
                di = dc * c_bar * dsigmoid(i)
                df = dc * c_prev * dsigmoid(f)
                return do, dc_bar, di, df
            """,
            why="LSTM gates and c = tanh(...) values are activations",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def sigmoid_prime(z):
                return z * (1 - z)

            def backward(W, x, grad):
                a = sigmoid(W @ x)
                return grad * sigmoid_prime(a)
            """,
            why="the parameter is named z but the call passes the activation: consistent, never flag on names",
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
                return grad * sigmoid_prime(z)
            """,
            why="a logit-convention derivative fed the pre-activation",
        ),
        Valid(
            """
            import numpy as np

            class Activation:
                def __init__(self, activation, activation_prime):
                    self.activation = activation
                    self.activation_prime = activation_prime

                def forward(self, input):
                    self.input = input
                    return self.activation(self.input)

                def backward(self, output_gradient, learning_rate):
                    return np.multiply(output_gradient, self.activation_prime(self.input))

            class Tanh(Activation):
                def __init__(self):
                    def tanh(x):
                        return np.tanh(x)

                    def tanh_prime(x):
                        return 1 - np.tanh(x) ** 2

                    super().__init__(tanh, tanh_prime)
            """,
            why="the class form with a logit-convention derivative",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def dsigmoid(y):
                return y * (1 - y)

            class Sigmoid:
                def forward(self, x):
                    self.out = sigmoid(x)
                    return self.out

                def backward(self, grad):
                    return grad * dsigmoid(self.out)
            """,
            why="the cached output fed to an activation-convention derivative",
        ),
        Valid(
            """
            def binomial_variance(n, p):
                return n * p * (1 - p)

            def describe(counts, total, W, x, b):
                rate = W @ x + b
                return binomial_variance(total, counts / total)
            """,
            why="p*(1-p) outside gradient code, fed a ratio",
        ),
        Valid(
            """
            import numpy as np

            def relu_prime(x):
                return (x > 0).astype(float)

            def backward(W, b, x, grad):
                z = W @ x + b
                return grad * relu_prime(z)
            """,
            why="relu derivatives read the same on either side of the nonlinearity",
        ),
        Valid(
            """
            def sigmoid_prime(s):
                return s * (1 - s)

            def chain(grad, value):
                return grad * sigmoid_prime(value)
            """,
            why="an argument of unknown meaning: stay silent",
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

            def output_delta(W, a, b, y):
                z = W @ a + b
                out = softmax(z)
                dL_dout = -y / np.clip(out, 1e-12, None)
                return softmax_jacobian(out[:, 0]) @ dL_dout
            """,
            why="the correct twin: a column out[:, 0] of the softmax output",
        ),
        Valid(
            """
            import numpy as np


            def inplace_tanh(X):
                np.tanh(X, out=X)


            def inplace_tanh_derivative(Z, delta):
                delta *= 1 - Z**2


            def layer_delta(a, W, b, delta):
                z = a @ W + b
                inplace_tanh(z)
                inplace_tanh_derivative(z, delta)
                return delta
            """,
            why="trap: z handed to inplace_tanh(z) (np.tanh(X, out=X)) holds the tanh output afterwards",
        ),
        Valid(
            """
            # scikit-learn neural_network/_base.py + the backprop loop of _multilayer_perceptron.py, trimmed
            import numpy as np
            from scipy.special import expit as logistic_sigmoid


            def inplace_logistic(X):
                logistic_sigmoid(X, out=X)


            def inplace_tanh(X):
                np.tanh(X, out=X)


            def inplace_softmax(X):
                tmp = X - X.max(axis=1)[:, np.newaxis]
                np.exp(tmp, out=X)
                X /= X.sum(axis=1)[:, np.newaxis]


            def inplace_logistic_derivative(Z, delta):
                delta *= Z
                delta *= 1 - Z


            def inplace_tanh_derivative(Z, delta):
                delta *= 1 - Z**2


            def log_loss(y_true, y_prob):
                eps = np.finfo(y_prob.dtype).eps
                y_prob = np.clip(y_prob, eps, 1 - eps)
                return -np.sum(y_true * np.log(y_prob)) / y_prob.shape[0]


            def forward_pass(coefs, intercepts, X):
                activations = [X]
                for i in range(len(coefs) - 1):
                    z = activations[i] @ coefs[i] + intercepts[i]
                    inplace_tanh(z)
                    activations.append(z)
                z = activations[-1] @ coefs[-1] + intercepts[-1]
                inplace_softmax(z)
                activations.append(z)
                return activations


            def backprop(coefs, intercepts, X, y):
                activations = forward_pass(coefs, intercepts, X)
                n_samples = X.shape[0]
                last = len(coefs) - 1
                deltas = [None] * len(coefs)
                deltas[last] = activations[-1] - y
                coef_grads = [None] * len(coefs)
                for i in range(last, 0, -1):
                    coef_grads[i] = activations[i].T @ deltas[i] / n_samples
                    deltas[i - 1] = deltas[i] @ coefs[i].T
                    inplace_tanh_derivative(activations[i], deltas[i - 1])
                coef_grads[0] = activations[0].T @ deltas[0] / n_samples
                return coef_grads
            """,
            why="real code (scikit-learn _base.py in-place activations and derivatives, MLP backprop loop): the derivative gets the activations",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        reported: set[int] = set()
        for call in semantics.derivative_calls:
            derivative = call.derivative
            if id(call.call) in reported or call.argument is None:
                continue
            if derivative.convention is not Convention.ACTIVATION or not derivative.forward_kind.convention_matters:
                continue
            role = semantics.role_of(call.argument, at=call.call)
            if role is None or role.role is not Role.PREACTIVATION:
                continue
            if role.forward_kind is not None and role.forward_kind is not derivative.forward_kind:
                continue  # the input of another nonlinearity (e.g. a tanh) may be this one's output
            reported.add(id(call.call))
            yield Finding(call.call, self._message(analysis, call, role))
        yield from self._inline_formulas(analysis)

    @staticmethod
    def _inline_formulas(analysis: ModuleAnalysis) -> Iterator[Finding]:
        """A backward writing the activation-convention formula on a pre-activation: `self.input * (1 - self.input)`."""
        semantics = analysis.semantics
        for function in analysis.index.nodes(cst.FunctionDef):
            if not semantics.is_backward(function):
                continue
            for form in semantics.formulas_in(function):
                role = semantics.role_of(form.atom, at=form.node)
                if role is None or role.role is not Role.PREACTIVATION:
                    continue
                if role.forward_kind is not None and role.forward_kind not in _SHAPE_KINDS[form.shape]:
                    continue
                shape = _SHAPES[form.shape]
                atom = analysis.code_for(form.atom)
                yield Finding(
                    form.node,
                    f"{analysis.code_for(form.node)} is {shape} written in the activation's output, but {atom} is "
                    f"a pre-activation ({role.explanation}); evaluate it at the activation instead",
                )

    @staticmethod
    def _message(analysis: ModuleAnalysis, call: DerivativeCall, role: RoleEvidence) -> str:
        derivative = call.derivative
        callee = analysis.code_for(call.call.func)
        if call.how:  # np.apply_along_axis(f, ...)
            callee = last_part(derivative.qualname) or callee
        if call.target.via and ", set to " in call.target.via:
            how = call.target.via.split(", set to ", 1)[1]
            callee = f"{callee} (set to {last_part(how.split(' ', 1)[0])} {how.split(' ', 1)[1] if ' ' in how else ''})".replace(" )", ")")
        argument = analysis.code_for(call.argument) if call.argument is not None else "its argument"
        kind = derivative.forward_kind.label
        return (
            f"{callee} expects the {kind} output ({derivative.evidence}) but is passed {argument}, "
            f"a pre-activation ({role.explanation}); feed it the {kind} output instead"
        )
