"""GL402 input-mutated-in-place: a forward or derivative writes into an array it received."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.numerics import Numerics, Scope, numerics
from gradlint.analysis.syntax import ARRAY_METADATA, argument_for, dotted_name, names_in, positional_parameters, subscript_base, walk
from gradlint.diagnostics import Severity
from gradlint.naming import RETURNED_GRADIENT, is_gradient_name
from gradlint.rule import Finding, Invalid, Rule, Valid

# Calls that return a view of (or the very same) array: writing into the result writes into the input.
_VIEWS = frozenset({"asarray", "asanyarray", "view", "reshape", "ravel", "squeeze", "transpose", "swapaxes"})
# Parameters that exist to be written (output buffers).
_OUTPUT_PARAMS = ("out", "output_buffer", "buf", "buffer", "result", "res", "dest", "dst")
_WRITING_KEYWORDS = ("out",)
# Parameters by which the caller chooses whether its array may be written (thinc's `inplace`, scipy's
# `overwrite_a`, scikit-learn's `copy=False`): the writes are the function's contract.
_OPT_IN_PARAMS = re.compile(r"in_?place|overwrite(?:_\w+)?|copy", re.IGNORECASE)
# A parameter annotated or documented as one of these holds arrays, it is not one: storing an element
# (`deltas[i] = ...`) fills a slot the caller handed over (scikit-learn's `_backprop(..., deltas, ...)`).
_CONTAINERS = frozenset({"list", "dict", "sequence", "mutablesequence", "mapping", "mutablemapping"})
_AUGMENTED = {
    "SubtractAssign": "-", "AddAssign": "+", "MultiplyAssign": "*", "DivideAssign": "/", "PowerAssign": "**",
    "FloorDivideAssign": "//", "ModuloAssign": "%", "MatrixMultiplyAssign": "@",
}
# Words a forward or derivative function's text contains (an exponential, a known activation, a
# backward pass, a gradient). The rule only reports in functions whose text matches; the registry's
# pre-check uses the same pattern, so files without any of them are never parsed for this rule.
EVIDENCE = (
    r"\b(?:exp|tanh|maximum)\s*\(|\b(?:dout|dvalues|grad_output)\b"
    r"|(?:def|class)\s+\w*(?:[Bb]ackward|[Bb]ackprop|bprop|[Gg]rad|[Dd]eriv|[Pp]rime|[Rr]e[Ll][Uu]|[Ss]igmoid|[Ss]oftmax"
    r"|[Tt]anh|[Aa]ctivation|[Ff]orward|[Cc]ost|[Ll]oss)"
)
_EVIDENCE = re.compile(EVIDENCE)
# A cost function returning its gradient (`_cost_and_gradient`): its name (the evidence's `Cost`/`Loss` words);
# the gradient's is naming.RETURNED_GRADIENT or a conventional gradient name.
_COST_NAME = re.compile(r"[Cc]ost|[Ll]oss")
_GRADIENT_FUNCTION = re.compile(r"[Gg]rad")  # the evidence's `Grad`/`grad` word
# A function whose name says it works in place (`inplace_tanh_derivative`, torch's trailing `relu_`):
# the writes are its contract.
_NAMED_IN_PLACE = re.compile(r"in_?place|[^_]_$", re.IGNORECASE)
# The gradient of a recurrent step's next state (`dnext_h`, `dnext_c`, CS231n's `lstm_step_backward`),
# an upstream gradient besides the conventional names of gradlint.naming.
_NEXT_STATE_GRADIENT = re.compile(r"d_?next_?[a-z]\w*", re.IGNORECASE)
# A loss's backward may receive the scalar seed dL/dL (`backward(self, dloss)`): no array evidence.
_LOSS_WORDS = re.compile(r"loss|cost|criterion|objective", re.IGNORECASE)
# Gradient names of collections (`grads += [dW, db]` extends a list the caller hands over to be filled),
# and the displays that extend one.
_COLLECTION_NAMES = frozenset({"grads", "gradients", "deltas"})
# What only whole arrays have or need (`_batched_code`).
_ARRAY_ATTRIBUTES = frozenset({"T", "shape", "ndim", "reshape", "transpose"})
_ARRAY_BUILDERS = frozenset(
    {"hstack", "vstack", "concatenate", "stack", "einsum", "outer", "zeros_like", "ones_like", "empty_like", "zeros", "ones", "empty", "rand", "randn", "matmul"}
)
_DISPLAYS = (cst.List, cst.Tuple, cst.ListComp, cst.GeneratorExp, cst.Set, cst.SetComp, cst.Dict, cst.DictComp)
# Arithmetic operators of a class: an autograd engine's value node (micrograd's `Value`), whose
# gradients may be Python floats, which `+=` re-binds.
_ARITHMETIC_DUNDERS = frozenset({"__add__", "__radd__", "__mul__", "__rmul__", "__sub__", "__truediv__", "__pow__", "__neg__"})
# Array libraries whose arrays have no in-place operators (`g += x` re-binds), or frameworks whose
# gradients are not numpy arrays: a module importing one of them gives a name no array evidence.
_NON_NUMPY_ARRAYS = frozenset({"jax", "tensorflow", "torch", "chainer", "dezero", "mxnet", "autograd", "cupy", "tinygrad", "mlx"})


class InputMutatedInPlace(Rule):
    code = "GL402"
    name = "input-mutated-in-place"
    severity = Severity.WARNING
    summary = "A forward or derivative modifies an array it received: the caller's logits or gradient change under it."
    what_it_does = """
        In a function that computes a forward (softmax, sigmoid, relu... by body, also a row softmax
        written with transposes, `(np.exp(x[i]).T / np.sum(np.exp(x[i]), axis=0)).T`), a derivative /
        backward pass, or a cost function that returns its gradient (named as a cost or loss, every
        return a pair `J, grad`, also `[J, grad.flatten()]`: Andrew Ng's `lrCostFunction(theta, X, y,
        lambda_)`, which an optimizer hands its own parameter array; in a function named as a gradient that
        returns one value, only writes through an alias, `temp = theta; temp[0] = 0`), finds in-place
        writes into an array parameter: `x -= np.max(x)`,
        `grad *= mask`, `dout[x <= 0] = 0`, `d[range(n), y] -= 1`, `np.exp(x, out=x)`, also through a
        plain alias (`dx = dout; dx[x <= 0] = 0`) or an attribute of the same method
        (`self.dinputs = dvalues; self.dinputs[self.inputs <= 0] = 0`, the nnfs book's ReLU without
        `.copy()`), as long as nothing in between may re-bind the attribute (a call of a method of
        `self`, or one handed `self`, makes it silent). A relu clamped through an alias is a forward
        (CS231n's `out = x; out[out < 0] = 0; return out, cache`). An augmented assignment to a name
        (`g += ...`) counts only when the name holds an array (an int or float re-binds): it is used as
        one (indexed, handed to numpy), or it is the upstream gradient a numpy backward received
        (`dnext_c += ...` in `lstm_step_backward(dnext_h, dnext_c, cache)`) in code that works on
        whole arrays (a matrix product, a shape, `axis=`, `np.hstack`... in the function or its
        class), unless it has a default (the scalar seed `dout=1`), the backward is a loss's, a nested
        callback's (thinc's `backprop`) or a method of a class with arithmetic operators (an autograd
        value node), it is only added into and returned (a gradient buffer to accumulate into), the
        module passes it a number, or the module imports jax, torch or another framework. Silent
        where the writes are the function's contract: a function named as in place
        (`inplace_relu_backward`, torch's `relu_`), a caller who passes `inplace=`, `overwrite_x=` or `copy=` chooses them, and a slot
        of a parameter annotated or documented as a list (`deltas : list`) is filled, not written into;
        nor a parameter that is only ever written (`gW[path] += gw`: an accumulator handed over), indexed
        by string keys (a dict of gradients), given a list by every caller in the module, or filled
        slot by slot (first stored into, then used only through single slots `deltas[i - 1]`, returned
        or handed to a call, with a slot stored unconditionally in a loop at the loop's index); nor a write after the parameter
        was overwritten whole with values that do not read it (`inerr[:] = outbuf - inbuf` on every
        path before the write, and no other use before that fill: PyBrain's output buffer `inerr`,
        then scaled `inerr /= sigma ** 2` or filled slot by slot in another branch); nor
        the `backward` of a class derived from dezero's `Function` or chainer's `FunctionNode` imported
        from the framework: it receives the framework's Variables, which have no in-place operators
        (`gy /= k` re-binds `gy`).
        """
    why_bad = """
        numpy passes arrays by reference. The caller's array changes silently: the logits a model
        cached for its backward pass are shifted, or the upstream gradient another branch still needs
        is zeroed. The bug shows up far from its cause (a gradient check that passes once and fails
        when the same array is reused).
        """
    example = """
        def relu_backward(dout, x):
            dx = dout
            dx[x <= 0] = 0
            return dx
        """
    use_instead = """
        def relu_backward(dout, x):
            dx = dout.copy()
            dx[x <= 0] = 0
            return dx
        """
    references = ("numpy copies and views: https://numpy.org/doc/stable/user/basics.copies.html",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            class L1Penalty:
                def __init__(self, W, lam):
                    self.W = W
                    self.lam = lam

                def forward(self, x):
                    self.x = x
                    return x @ self.W

                def backward(self, dvalues):
                    dvalues += self.lam * np.sign(self.x @ self.W)
                    return dvalues
            """,
            line=13,
            message="writes into `dvalues`",
            why="the adversarial review: the upstream gradient itself only added into and returned is still the caller's array",
        ),
        Invalid(
            """
            import numpy as np

            def relu_backward(dout, x):
                dx = dout
                dx[x <= 0] = 0
                return dx
            """,
            line=5,
            message="through the alias `dx = dout`",
            why="free function: the catalog's alias of the upstream gradient",
        ),
        Invalid(
            """
            import numpy as np

            def dropout_backward(dout, mask):
                for i in range(len(dout)):
                    dout[i] = dout[i] * mask[i]
                return dout

            def embedding_backward(dout, W):
                dout[0] = 0
                return dout @ W.T
            """,
            line=5,
            count=2,
            message="writes into `dout`",
            why="row by row in a loop: near misses of a list filled slot by slot (the store reads the slot; a whole read)",
        ),
        Invalid(
            """
            import numpy as np

            def relu_backward(dout, x):
                for i in range(len(x)):
                    if x[i] <= 0:
                        dout[i] = 0
                return dout

            class Dropout:
                def backward(self, grad):
                    for i in range(len(self.mask)):
                        if not self.mask[i]:
                            grad[i] = 0.0
                    return grad
            """,
            line=6,
            count=2,
            message="writes into `dout`",
            why="a loop that zeroes some slots of the upstream gradient: a conditional store is no buffer fill",
        ),
        Invalid(
            """
            import numpy as np

            def relu_backward(dout, x):
                dout[0] = 0.0
                for i in range(1, len(x)):
                    dout[i] = dout[i] * (x[i] > 0)
                return dout
            """,
            line=4,
            count=2,
            message="writes into `dout`",
            why="a first store that reads nothing, then a loop that reads and replaces each slot: the caller's values are updated",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                x -= np.max(x, axis=1, keepdims=True)
                e = np.exp(x)
                return e / np.sum(e, axis=1, keepdims=True)
            """,
            line=4,
            message="`x -= np.max(x, axis=1, keepdims=True)`",
            why="the max shift done in place on the caller's logits",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxCrossEntropy:
                def forward(self, z, y):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    self.p = e / e.sum(axis=1, keepdims=True)
                    self.y = y
                    return self.p

                def backward(self, probs):
                    n = probs.shape[0]
                    probs[np.arange(n), self.y] -= 1
                    return probs / n
            """,
            line=12,
            message="`probs`",
            why="layer class: the fused gradient written into the caller's probabilities",
        ),
        Invalid(
            """
            import numpy as np

            class ReLU:
                def forward(self, X):
                    self.X = X
                    X[X < 0] = 0
                    return X
            """,
            line=6,
            why="an in-place relu forward on the caller's activations",
        ),
        Invalid(
            """
            import numpy as np

            def backward(dout, grads: list, x):
                grads[0] *= dout * (x > 0)
                return grads[0].sum(axis=0)
            """,
            line=4,
            message="`grads[0] *= dout * (x > 0)`",
            why="a list parameter's array updated in place (and read back), not a slot this function filled",
        ),
        Invalid(
            """
            import numpy as np

            class Activation_ReLU:
                def forward(self, inputs):
                    self.inputs = inputs
                    self.output = np.maximum(0, inputs)

                def backward(self, dvalues):
                    self.dinputs = dvalues
                    self.dinputs[self.inputs <= 0] = 0
            """,
            line=10,
            message="through the alias `self.dinputs = dvalues` into `dvalues`",
            why="the nnfs book's ReLU backward without `.copy()`: an alias through an attribute of self zeroes "
            "the caller's upstream gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    x -= x.max(axis=1, keepdims=True)
                    y = np.exp(x)
                    y /= y.sum(axis=1, keepdims=True)
                    return y
            """,
            line=5,
            message="`x -= x.max(axis=1, keepdims=True)` writes into `x`",
            why="dezero-style softmax forward normalised in place (`y /= y.sum(...)` on a local): the shift "
            "is still done in place on the caller's logits",
        ),
        Invalid(
            """
            import numpy as np

            class ReLU:
                def backward(self, dout):
                    self.grad = dout
                    np.multiply(self.grad, self.mask, out=self.grad)
                    return self.grad
            """,
            line=6,
            message="`np.multiply(self.grad, self.mask, out=self.grad)` writes through the alias `self.grad = dout`",
            why="an `out=` write into an attribute that aliases the upstream gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Function:
                def __call__(self, *inputs):
                    self.inputs = inputs
                    self.outputs = [self.forward(*inputs)]
                    return self.outputs[0]

            class AveragePooling(Function):
                def forward(self, x):
                    self.input_shape = x.shape
                    return x.mean(axis=(2, 3))

                def backward(self, gy):
                    gy /= 4
                    return np.broadcast_to(gy.reshape(gy.shape + (1, 1)), self.input_shape)
            """,
            line=15,
            message="`gy /= 4` writes into `gy`",
            why="a numpy `Function` base written in the module (not dezero's): backward receives ndarrays, `/=` "
            "writes into the caller's gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    out = np.zeros(shape=(32, 10))
                    x -= np.max(x)
                    for i in range(x.shape[0]):
                        out[i] = (np.exp(x[i]).T / np.sum(np.exp(x[i]), axis=0)).T
                    self.y = out
                    return self.y
            """,
            line=6,
            message="`x -= np.max(x)` writes into `x`",
            why="real code (PyEZNet Activation_Function.py Softmax.forward): a row softmax written with "
            "transposes for the broadcast, shifted in place on the caller's logits",
        ),
        Invalid(
            """
            import numpy as np

            class Scale:
                def backward(self, dout, x):
                    if self.reset:
                        dout[:] = x - self.mean
                    dout /= self.sigma ** 2
                    return dout

            class Shift:
                def backward(self, dout, x):
                    dout[:] = dout - dout.mean(axis=0)
                    dout *= x > 0
                    return dout

            class OneLine:
                def backward(self, dout, x):
                    if self.reset: dout[:] = 0
                    dout /= 2.0
                    return dout
            """,
            line=7,
            count=3,
            message="into `dout`",
            why="near misses of PyBrain's filled buffer: a whole fill on one branch only (also a one-line "
            "`if`), or a fill that reads the caller's values (`dout[:] = dout - ...`): the caller's array is scaled",
        ),
        Invalid(
            """
            import numpy as np

            def relu_forward(x):
                out = None
                out = x
                out[out < 0] = 0
                cache = x
                return out, cache

            def relu_backward(dout, cache):
                dx, x = None, cache
                dx = dout * (x > 0)
                return dx
            """,
            line=6,
            message="`out[out < 0] = 0` writes through the alias `out = x` into `x`, an array the forward `relu_forward`",
            why="real code (AbhishekVangipuram/cs231n-2020 layers.py relu_forward): the alias clamps the caller's x "
            "(and the course's numeric gradient check, which perturbs x and calls relu_forward(x))",
        ),
        Invalid(
            """
            import numpy as np

            class ReLU:
                def forward(self, x):
                    y = x
                    y[0 >= x] = 0.0
                    self.y = y

            class FlatReLU:
                def forward(self, x):
                    out = x.reshape(len(x), -1)
                    out[out <= 0] = 0
                    return out
            """,
            line=6,
            count=2,
            message="through the alias",
            why="the clamp through an alias in layer classes: stored on self, a mask written `0 >= x`, a reshape view",
        ),
        Invalid(
            """
            import numpy as np

            def lstm_step_backward(dnext_h, dnext_c, cache):
                x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_next_c = cache
                do = dnext_h * tanh_next_c
                dnext_c += dnext_h * o * (1 - tanh_next_c * tanh_next_c)
                dg = dnext_c * i
                di = dnext_c * g
                df = dnext_c * prev_c
                dprev_c = dnext_c * f
                da = np.hstack((di * (i * (1 - i)), df * (f * (1 - f)), do * (o * (1 - o)), dg * (1 - g * g)))
                return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, np.sum(da, axis=0)
            """,
            line=6,
            message="`dnext_c += dnext_h * o * (1 - tanh_next_c * tanh_next_c)` writes into `dnext_c`, an array the backward pass",
            why="real code (AndersonZhangyq/cs231n-2017 rnn_layers.py lstm_step_backward): adds into the caller's "
            "upstream cell-state gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Dropout:
                def forward(self, x):
                    self.mask = np.random.rand(*x.shape) > 0.5
                    return x * self.mask

                def backward(self, dout):
                    dout *= self.mask
                    return dout

            def rnn_step_backward(dnext_h, cache):
                x, prev_h, Wx, Wh, next_h = cache
                dnext_h *= 1 - next_h * next_h
                return dnext_h @ Wx.T, dnext_h @ Wh.T
            """,
            line=9,
            count=2,
            message="rebind instead: `dout = dout * self.mask`",
            why="a layer class and a batched step: `*=` on the upstream gradient of a numpy backward",
        ),
        Invalid(
            """
            import numpy as np

            def lrCostFunction(theta, X, y, lambda_):
                m = y.size
                h = 1 / (1 + np.exp(-X.dot(theta)))
                temp = theta
                temp[0] = 0
                J = -(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m + lambda_ / (2 * m) * np.sum(temp ** 2)
                grad = X.T @ (h - y) / m + lambda_ / m * temp
                return J, grad
            """,
            line=7,
            message="`temp[0] = 0` writes through the alias `temp = theta` into `theta`, an array the cost function "
            "`lrCostFunction` received",
            why="real code (the Andrew Ng ex3 ports: camichaves/ProyectoFinalCompuII, AmmarMZ/ML-Basic-NN, rw5a "
            "miss/01): the alias zeroes the caller's intercept; a cost returning (J, grad) is handed the optimizer's array",
        ),
        Invalid(
            """
            import numpy as np
            from utils import sigmoid

            def costFunctionReg(theta, X, y, lambda_):
                m = y.size
                h = sigmoid(X.dot(theta))
                temp = theta
                temp[0] = 0
                grad = X.T @ (h - y) / m + lambda_ / m * temp
                return [-(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m, grad.flatten()]

            def gradientReg(theta, X, y, lambda_):
                h = sigmoid(X.dot(theta))
                temp = theta
                temp[0] = 0
                return X.T @ (h - y) / y.size + lambda_ / y.size * temp
            """,
            line=8,
            count=2,
            why="the adversarial review (rev12a miss/08): a cost returning `[J, grad.flatten()]`, and ex2's separate "
            "gradient function (fmin_tnc's fprime) with the same alias",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def apply_gradients(params, grads, lr=0.1):
                for p, g in zip(params, grads):
                    p -= lr * g
                params[0] = params[0] * 1.0
                return params

            def gradient_step(theta, X, y, lr):
                theta[1:] -= lr * X[:, 1:].T @ (X @ theta - y)
                return theta
            """,
            why="optimizer steps named after gradients write their parameters on purpose (only a write through an "
            "alias counts in a gradient function)",
        ),
        Valid(
            """
            import numpy as np

            def lrCostFunction(theta, X, y, lambda_):
                m = y.size
                h = 1 / (1 + np.exp(-X.dot(theta)))
                temp = theta.copy()
                temp[0] = 0
                grad = X.T @ (h - y) / m + lambda_ / m * temp
                grad[0] = grad[0] * 1.0
                return -(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m, grad

            def cost_history(theta, costs):
                costs[0] = np.sum(theta ** 2)
                return costs
            """,
            why="the ex3 cost with a copy, and a write into its own gradient; a cost helper that fills a buffer "
            "and returns no (cost, gradient) pair",
        ),
        Valid(
            """
            import numpy as np

            class Neuron:
                def __init__(self, n):
                    self.w = np.random.randn(n)
                    self.b = 0.0

                def forward(self, x):
                    self.x = x
                    self.out = 1 / (1 + np.exp(-(np.dot(self.w, x) + self.b)))
                    return self.out

                def backward(self, error, lr=0.1):
                    error *= self.out * (1 - self.out)
                    self.w -= lr * error * self.x
                    self.b -= lr * error
                    return error * self.w
            """,
            why="the adversarial review: a single neuron's error is a float (`*=` rebinds it); weights allocated in "
            "__init__ with np.random.randn say nothing about the gradient's type",
        ),
        Valid(
            """
            import numpy as np

            def relu_backward(dout, x):
                dx = dout.copy()
                dx[x <= 0] = 0
                return dx
            """,
            why="catalog trap: dx = dout.copy()",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                x = x - np.max(x)
                e = np.exp(x)
                return e / e.sum()
            """,
            why="catalog trap: x = x - np.max(x) rebinds (a new array)",
        ),
        Valid(
            """
            def insort(a, x):
                a.append(x)
                a[-1] = x

            def fill_gradient(x, grad):
                grad[:] = 2 * x
                return (x ** 2).sum()
            """,
            why="ordinary list code; an output-parameter callback writing grad[:] by contract",
        ),
        Valid(
            """
            def backward(grad_out, name, **kwargs):
                kwargs[name] = grad_out
                return attention_backward(**kwargs)
            """,
            why="**kwargs is a dict built for this call: storing into it changes nothing the caller holds",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def backward(self, grad):
                    s = self.out
                    total = (grad * s).sum(axis=1, keepdims=True)
                    total -= 1
                    dx = s * (grad - total)
                    dx[:, 0] += 0
                    return dx
            """,
            why="writes into local arrays only",
        ),
        Valid(
            """
            import numpy as np

            class Ops:
                def sigmoid(self, X, *, inplace=False):
                    if inplace:
                        np.clip(X, -20.0, 20.0, out=X)
                        np.exp(-X, out=X)
                        X += 1.0
                        X **= -1.0
                        return X
                    return 1.0 / (1.0 + np.exp(-np.clip(X, -20.0, 20.0)))

            def softmax(x, overwrite_x=False):
                x -= np.max(x)
                e = np.exp(x)
                return e / e.sum()
            """,
            why="real code (thinc's Ops.sigmoid): the caller asks for the writes with inplace= / overwrite_x=",
        ),
        Valid(
            """
            import numpy as np

            class MLP:
                def _backprop(self, X, y, activations, deltas, coef_grads):
                    \"\"\"Fill the buffers.

                    deltas : list, length = n_layers - 1
                        The backpropagated error of each layer, filled here.
                    \"\"\"
                    last = len(activations) - 2
                    deltas[last] = activations[-1] - y
                    deltas[last] *= 2.0
                    for i in range(last, 0, -1):
                        deltas[i - 1] = np.dot(deltas[i], self.coefs_[i].T)
                        deltas[i - 1] *= activations[i] * (1 - activations[i])
                    return coef_grads

            def backward(dout, grads: list[np.ndarray], x):
                grads[0] = dout * (x > 0)
                return dout
            """,
            why="real code (scikit-learn's _backprop): slots of a list the caller hands over to be filled",
        ),
        Valid(
            """
            import numpy as np

            def affine_backward(dout, x, params, grads):
                for k in params:
                    grads[k] = np.zeros_like(params[k])
                grads["W"] = x.T @ dout
                grads["b"] = dout.sum(axis=0)
                return dout @ params["W"].T

            def backprop(x, y, weights, activations, deltas):
                deltas[-1] = activations[-1] - y
                for i in range(len(weights) - 1, 0, -1):
                    deltas[i - 1] = (deltas[i] @ weights[i].T) * (activations[i] > 0)
                return deltas

            def train(x, y, weights):
                activations = [x]
                for w in weights:
                    activations.append(np.maximum(activations[-1] @ w, 0))
                deltas = [None] * len(weights)
                return backprop(x, y, weights, activations, deltas)
            """,
            why="a dict of gradients (also indexed by string keys) and a list every caller builds: slots filled",
        ),
        Valid(
            """
            import numpy as np

            def _backprop(X, y, activations, deltas, coef_grads, coefs, n_layers):
                n_samples = X.shape[0]
                last = n_layers - 2
                deltas[last] = activations[-1] - y
                coef_grads[last] = activations[last].T @ deltas[last] / n_samples
                for i in range(n_layers - 2, 0, -1):
                    deltas[i - 1] = np.dot(deltas[i], coefs[i].T)
                    coef_grads[i - 1] = activations[i - 1].T @ deltas[i - 1] / n_samples
                return coef_grads
            """,
            why="scikit-learn's _backprop with neither docstring nor caller: first stored, then used slot by slot, filled in a loop",
        ),
        Valid(
            """
            import numpy as np

            class MLP:
                def _compute_loss_grad(self, layer, n_samples, activations, deltas, coef_grads):
                    coef_grads[layer] = activations[layer].T @ deltas[layer] / n_samples

                def _backprop(self, X, y, activations, deltas, coef_grads, intercept_grads):
                    n_samples = X.shape[0]
                    last = len(activations) - 2
                    deltas[last] = activations[-1] - y
                    self._compute_loss_grad(last, n_samples, activations, deltas, coef_grads)
                    for i in range(last, 0, -1):
                        deltas[i - 1] = deltas[i] @ self.coefs_[i].T
                        self._compute_loss_grad(i - 1, n_samples, activations, deltas, coef_grads)
                    return coef_grads, intercept_grads
            """,
            why="scikit-learn's real _backprop without its docstring: the lists handed on whole to a helper, returned in a tuple",
        ),
        Valid(
            """
            import numpy as np

            class HierarchicalSoftmax:
                def backward(self, x, W, gloss):
                    gW = np.zeros_like(W)
                    gx = np.stack([self._backward_one(row, W, gloss, gW) for row in x])
                    return gx, gW

                def _backward_one(self, x, W, gloss, gW):
                    g = -gloss / (1.0 + np.exp(W.dot(x)))
                    gW[self.path] += np.outer(g, x)
                    return g.dot(W)
            """,
            why="real code (chainer's hierarchical softmax): gW is an accumulator the caller hands over, only ever written",
        ),
        Valid(
            """
            import jax.numpy as jnp

            def _flash_attention_kernel(batch_idx, q_tile_ref, k_tile_ref, v_tile_ref, o_tile_ref, l_ref=None, m_ref=None):
                q = q_tile_ref[batch_idx]
                s = jnp.dot(q, k_tile_ref[batch_idx].T)
                m = jnp.max(s, axis=1)[:, None]
                p = jnp.exp(s - m)
                l = jnp.sum(p, axis=1)[:, None]
                p /= l
                if m_ref is not None:
                    m_ref[batch_idx] = jnp.broadcast_to(m, m_ref.shape[2:])
                o_tile_ref[batch_idx] = jnp.dot(p, v_tile_ref[batch_idx]).astype(o_tile_ref.dtype)
            """,
            why="real code (jax Pallas flash_attention.py kernel, a softmax normalised in place): output refs whose "
            "values are never read, only their shape, dtype and None-ness",
        ),
        Valid(
            """
            import numpy as np

            class Activation_ReLU:
                def forward(self, inputs):
                    self.inputs = inputs
                    self.output = np.maximum(0, inputs)

                def backward(self, dvalues):
                    self.dinputs = dvalues.copy()
                    self.dinputs[self.inputs <= 0] = 0

            class Activation_ReLU_masked:
                def backward(self, dvalues):
                    self.dinputs = dvalues * (self.inputs > 0)
                    self.dinputs[:, 0] += 0

            class Layer_Dropout:
                def backward(self, dvalues):
                    self.dinputs = np.where(self.binary_mask, dvalues, 0.0)
                    self.dinputs[self.inputs <= 0] = 0
            """,
            why="the nnfs book's correct code: `self.dinputs = dvalues.copy()`, a product or np.where (new arrays)",
        ),
        Valid(
            """
            import numpy as np

            class ReLUCopyAgain:
                def backward(self, dvalues):
                    self.dinputs = dvalues
                    self.dinputs = self.dinputs.copy()
                    self.dinputs[self.inputs <= 0] = 0

            class ReLUDetach:
                def backward(self, dvalues):
                    self.dinputs = dvalues
                    self._detach()
                    self.dinputs[self.inputs <= 0] = 0

                def _detach(self):
                    self.dinputs = self.dinputs.copy()

            class ReLUSetattr:
                def backward(self, dvalues):
                    self.dinputs = dvalues
                    setattr(self, "dinputs", np.copy(dvalues))
                    self.dinputs[self.inputs <= 0] = 0

            class ReLUSometimes:
                def backward(self, dvalues):
                    if self.share:
                        self.dinputs = dvalues
                    self.dinputs[self.inputs <= 0] = 0

            class ReLUInLoop:
                def backward(self, dvalues):
                    self.dinputs = dvalues
                    for _ in range(2):
                        self.dinputs = self.dinputs * 1.0
                    self.dinputs[self.inputs <= 0] = 0

            class ReLUProperty:
                @property
                def dinputs(self):
                    return self._dinputs

                @dinputs.setter
                def dinputs(self, value):
                    self._dinputs = np.array(value, copy=True)

                def backward(self, dvalues):
                    self.dinputs = dvalues
                    self.dinputs[self.inputs <= 0] = 0
            """,
            why="the attribute re-bound between the alias and the write (a copy, a method that may re-bind it, "
            "setattr, a loop), the alias made on one path only, or a property whose setter copies: unsure, silent",
        ),
        Valid(
            """
            from dezero.core import Function
            from dezero.utils import pair
            from dezero.functions import broadcast_to

            class AveragePooling(Function):
                def forward(self, x):
                    self.input_shape = x.shape
                    return x.mean(axis=(2, 3))

                def backward(self, gy):
                    N, C, OH, OW = gy.shape
                    KW, KH = pair(self.kernel_size)
                    gy /= (KW*KH)
                    gcol = broadcast_to(gy.reshape(-1), (KH, KW, N*C*OH*OW))
                    return gcol

            class _Pool(Function):
                pass

            class SumPooling(_Pool):
                def backward(self, gy):
                    gy *= 2.0
                    return broadcast_to(gy.reshape(-1), self.input_shape)
            """,
            why="real code (dezero functions_conv.py AveragePooling.backward): dezero's Function.backward receives "
            "Variables, which have no `__itruediv__`, so `gy /= k` re-binds `gy` (also through a module class)",
        ),
        Valid(
            """
            from chainer import function_node
            import chainer.functions as F

            class Scale(function_node.FunctionNode):
                def forward(self, inputs):
                    x, = inputs
                    return x * 2.0,

                def backward(self, indexes, gy):
                    gy *= 2.0
                    return F.broadcast_to(gy.reshape(-1), self.shape),
            """,
            why="chainer's FunctionNode.backward receives chainer Variables (no in-place operators): `*=` re-binds",
        ),
        Valid(
            """
            import numpy as np

            class Layer:
                def forward(self, x, cache):
                    self.cache = cache
                    out = np.maximum(x, 0)
                    self.cache['x'] = x
                    return out
            """,
            why="a string key: the attribute holds a dict of arrays (a cache), not an array",
        ),
        Valid(
            """
            import numpy as np

            class GaussianLayer:
                def _backwardImplementation(self, outerr, inerr, outbuf, inbuf):
                    sigma = np.exp(self.params)
                    self._derivs += ((outbuf - inbuf) ** 2 - sigma ** 2) / sigma
                    inerr[:] = outbuf - inbuf
                    if not self.autoalpha:
                        inerr /= sigma ** 2

            class StateDependentLayer:
                def _backwardImplementation(self, outerr, inerr, outbuf, inbuf):
                    if self.onesigma:
                        expln_params = np.exp(self.params)
                        sumxsquared = np.dot(self.state, self.state)
                        inerr[:] = outbuf - inbuf
                        if not self.autoalpha and sumxsquared != 0:
                            inerr /= expln_params ** 2 * sumxsquared
                    else:
                        expln_params = np.exp(self.params).reshape(len(outbuf), len(self.state))
                        for j in range(len(outbuf)):
                            sigma_subst2 = np.dot(self.state ** 2, expln_params[j, :] ** 2)
                            inerr[j] = outbuf[j] - inbuf[j]
                            if not self.autoalpha and sigma_subst2 != 0:
                                inerr[j] /= sigma_subst2

            class Relu:
                def backward(self, dout, dx, x):
                    dx[...] = dout
                    dx[x <= 0] = 0
                    return dx
            """,
            why="real code (PyBrain gaussianlayer.py, statedependentlayer.py): the output buffer `inerr` is "
            "first filled whole (`inerr[:] = ...`) or slot by slot, then refined: it holds the function's own values",
        ),
        Valid(
            """
            import numpy as np

            def relu_forward(x):
                out = x.copy()
                out[out < 0] = 0
                return out, x

            def lstm_step_backward(dnext_h, dnext_c, cache, t):
                i, f, o, g, tanh_next_c, prev_c = cache
                t += 1
                dnext_c = dnext_c + dnext_h * o * (1 - tanh_next_c ** 2)
                dnext_c += 0.0
                dc = dnext_c * f
                dc += dnext_h
                return dnext_c * i, dc, t
            """,
            why="a copy before the clamp; `t += 1` on an int (re-binds); `+=` after the upstream gradient was re-bound "
            "to a new array, and on a local",
        ),
        Valid(
            """
            import numpy as np

            class MulLayer:
                def forward(self, x, y):
                    self.x, self.y = x, y
                    return x * y

                def backward(self, dout=1):
                    dout *= self.y
                    return dout

            class SoftmaxWithLoss:
                def backward(self, dout):
                    dout /= self.batch_size
                    return (self.y - self.t) * dout

            class Value:
                def __add__(self, other):
                    return Value(self.data + other.data)

                def backward(self, grad):
                    grad *= self.local
                    return grad

            def scale_backward(dout, k):
                dout *= k
                return dout

            def check():
                return scale_backward(1.0, 2.0)

            def inplace_relu_backward(dout, x):
                dout[x <= 0] = 0
                return dout

            def relu_(x):
                x[x < 0] = 0
                return x

            class Affine:
                def backward(self, dout, grads):
                    grads += [self.x.T @ dout]
                    return dout @ self.W.T

            class Bias:
                def backward(self, dout, grad):
                    grad += [dout.sum(axis=0)]
                    return dout

            def bias_backward(dout, grad):
                grad += dout.sum(axis=0)
                return dout, grad

            class Neuron:
                def forward(self, x):
                    self.out = 1.0 / (1.0 + np.exp(-np.dot(self.w, x)))
                    return self.out

                def backward(self, error):
                    error *= self.out * (1.0 - self.out)
                    self.delta = error
                    return error * self.w
            """,
            why="a gradient name with no array evidence: a scalar seed default (Saito's layers), a loss's backward "
            "(dL/dL), an autograd value node, a number passed by the module, a list extended by a display "
            "(`grads += [...]`), a gradient buffer only added into and returned (`grad += ...; return dout, grad`), a neuron's float error in a class with no array operation; and functions named as in-place (as scikit-learn's inplace_tanh_derivative, torch's relu_)",
        ),
        Valid(
            """
            import numpy as np

            def forward(model, X, is_train):
                mask = np.random.rand(*X.shape) > 0.5

                def backprop(dY):
                    dY *= mask
                    return dY

                return X * mask, backprop
            """,
            why="a framework callback (thinc's embed backprop closure): the gradient convention is the framework's",
        ),
        Valid(
            """
            import jax
            import jax.numpy as jnp
            import numpy as np

            def relu_backward(g, x):
                g *= x > 0
                return g
            """,
            why="a jax module: jax arrays have no in-place operators, `g *= ...` re-binds",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        model = numerics(analysis)
        for function in analysis.index.nodes(cst.FunctionDef):
            scope = model.scope(function)
            # *args and **kwargs are fresh containers built for the call: writing to them never reaches the caller.
            fresh = {star.name.value for star in (function.params.star_arg, function.params.star_kwarg) if type(star) is cst.Param}
            candidates = [
                name
                for name in scope.params
                if name not in ("self", "cls") and name not in fresh and not name.startswith(_OUTPUT_PARAMS)
            ]
            if not candidates or _opts_in(function) or _NAMED_IN_PLACE.search(function.name.value) or _receives_framework_variables(model, function):
                continue
            containers = _container_params(function, candidates) | _mapping_params(analysis, function, candidates)
            writes = [write for write in self._writes(model, scope, function, set(candidates)) if not _fills_container(model, write, containers)]
            if writes:  # the module's calls are searched only for a function that writes into a parameter
                listed = _list_arguments(analysis, function, sorted({write[1] for write in writes}))
                writes = [write for write in writes if not _fills_container(model, write, listed)]
            if writes:
                fills = _whole_fills(analysis, function, {write[1] for write in writes})
                writes = [write for write in writes if not _after_fill(analysis, write[0], fills.get(write[1], ()))]
            if writes:
                buffers = _write_only(model, function, writes) | _slot_buffers(analysis, function, writes, fills)
                writes = [write for write in writes if write[1] not in buffers]
            if not writes:
                continue
            owner = analysis.index.class_of(function)
            if not _EVIDENCE.search(analysis.module.code_for_node(function)) and not (
                owner is not None and _EVIDENCE.search(f"class {owner.name.value}")
            ):
                continue
            role = _cost_and_gradient(function, analysis) or _role(model, function) or _clamping_forward(model, function, writes)
            if role is None and _gradient_function(function, analysis):
                # ex2's `gradientReg(theta, X, y, lambda_)`: only writes through an alias (`temp = theta;
                # temp[0] = 0`, the copy the author meant); an optimizer step writes its parameters on purpose
                writes = [write for write in writes if write[2]]
                role = "the gradient function" if writes else None
            if role is None:
                continue
            qualname = f"{owner.name.value}.{function.name.value}" if owner is not None else function.name.value
            for node, param, alias in writes:
                via = f" through the alias `{alias}`" if alias else ""
                if type(node) is cst.AugAssign and type(node.target) is cst.Name and not alias:
                    operator = node.operator.__class__.__name__
                    symbol = _AUGMENTED.get(operator, "-")
                    remedy = f"rebind instead: `{param} = {param} {symbol} {_operand_text(model, node.value, symbol)}`"
                elif alias and alias.endswith(f"= {param}") and alias.count("=") == 1:
                    # `self.dinputs = dvalues`: the same array under a second name, not a copy
                    remedy = f"bind a copy instead: `{alias[: -len(param)]}{param}.copy()`"
                else:
                    remedy = f"work on a copy: `{param}.copy()`"
                yield Finding(
                    node,
                    f"`{model.code(node)}` writes{via} into `{param}`, an array {role} `{qualname}` "
                    f"received: the caller's array changes too ({remedy})",
                )

    def _writes(
        self, model: Numerics, scope: Scope, function: cst.FunctionDef, params: set[str]
    ) -> Iterator[tuple[cst.CSTNode, str, Optional[str]]]:
        """(statement, parameter, alias binding text) for each in-place write into a parameter."""
        analysis = model.analysis
        for statement in model.analysis.index.nodes_in(function, cst.AugAssign):
            order = scope.order_of(statement, analysis)
            target = statement.target
            if type(target) is cst.Name:
                owner = _owner(model, scope, target.value, order, params, statement)
                # `+=` re-binds an int or a float: the name must hold an array (used as one here, or
                # the upstream gradient a numpy backward received)
                if owner is not None and (
                    _array_like(model, function, target.value)
                    or (owner[0] != target.value and _array_like(model, function, owner[0]))
                    or (type(statement.value) not in _DISPLAYS and _upstream_gradient_array(model, function, owner[0]))
                ):
                    yield statement, owner[0], owner[1]
            elif type(target) is cst.Attribute:
                # `self.dinputs *= mask` after `self.dinputs = dvalues`: numpy's in-place operator on
                # the very array the attribute holds (an int or a Variable would rebind: array evidence)
                dotted = dotted_name(target)
                owner = _owner(model, scope, dotted, order, params, statement) if dotted else None
                if owner is not None and owner[1] is not None and (
                    _array_like(model, function, dotted) or _array_like(model, function, owner[0])  # type: ignore[arg-type]
                ):
                    yield statement, owner[0], owner[1]
            elif type(target) is cst.Subscript and not _full_slice(target) and not _keyed_by_string(target):
                root = subscript_base(target)
                owner = _owner(model, scope, root, order, params, statement) if root else None
                if owner is not None:
                    yield statement, owner[0], owner[1]
        for statement in model.analysis.index.nodes_in(function, cst.Assign):
            order = scope.order_of(statement, analysis)
            for target in statement.targets:
                node = target.target
                if type(node) is cst.Subscript and not _full_slice(node) and not _keyed_by_string(node):
                    root = subscript_base(node)
                    owner = _owner(model, scope, root, order, params, statement) if root else None
                    if owner is not None:
                        yield statement, owner[0], owner[1]
                        break
        for call in model.analysis.index.nodes_in(function, cst.Call):
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value in _WRITING_KEYWORDS and type(arg.value) in (cst.Name, cst.Attribute):
                    written = dotted_name(arg.value)
                    if written is None:
                        continue
                    order = scope.order_of(call, analysis)
                    owner = _owner(model, scope, written, order, params, call)
                    if owner is not None:
                        yield call, owner[0], owner[1]


_TIGHTER = {"+": (cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.MatrixMultiply, cst.Power), "-": (
    cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.MatrixMultiply, cst.Power)}


def _operand_text(model: Numerics, value: cst.BaseExpression, symbol: str) -> str:
    """The right operand of `name {symbol} value` as source, parenthesised unless it binds tighter than
    `symbol` (`x *= mask > 0` rebinds as `x = x * (mask > 0)`, `x -= a - b` as `x = x - (a - b)`)."""
    text = model.code(value)
    if type(value) is cst.BinaryOperation:
        tighter = _TIGHTER.get(symbol, (cst.Power,) if symbol != "**" else ())
        if type(value.operator) in tighter:
            return text
    elif type(value) not in (cst.Comparison, cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr):
        return text
    return text if value.lpar else f"({text})"


def _receives_framework_variables(model: Numerics, function: cst.FunctionDef) -> bool:
    """Whether `function` is the `backward` of a class derived (directly or through classes of this
    module) from an autograd framework's node whose `backward` is called with the framework's Variables,
    not arrays: dezero's `Function` (`gys = [output().grad ...]`) and chainer's `FunctionNode`. Neither
    Variable has in-place operators (`gy /= k` re-binds `gy` to a new Variable) nor item assignment, so
    no write there reaches the caller's array. The base must be imported from the framework (evidence in
    the file); a `Function` class written in the module itself (numpy layers) is no such evidence."""
    if function.name.value != "backward":
        return False
    owner = model.analysis.index.class_of(function)
    if owner is None:
        return False
    module_classes = {
        statement.name.value: statement for statement in model.analysis.module.body if type(statement) is cst.ClassDef
    }
    pending, seen = [owner], set()
    while pending and len(seen) < 16:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for base in current.bases:
            if base.keyword is not None or base.star:
                continue
            written = dotted_name(base.value)
            if written is None:
                continue
            local = module_classes.get(written)
            if local is not None:
                pending.append(local)
                continue
            qualified = model.qualified(base.value) or ""
            if qualified.startswith("dezero.") and qualified.rsplit(".", 1)[-1] == "Function":
                return True
            if qualified in ("chainer.FunctionNode", "chainer.function_node.FunctionNode"):
                return True
    return False


def _opts_in(function: cst.FunctionDef) -> bool:
    """Whether a parameter lets the caller ask for the writes (`inplace`, `overwrite_x`, `copy`)."""
    params = function.params
    every = (*params.posonly_params, *params.params, *params.kwonly_params)
    return any(_OPT_IN_PARAMS.fullmatch(param.name.value) for param in every)


def _container_params(function: cst.FunctionDef, names: list[str]) -> frozenset[str]:
    """The parameters among `names` annotated (`deltas: list`) or documented (numpydoc `deltas : list`,
    Google style `deltas (list): ...`) as a list or mapping."""
    found = set()
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        annotation = param.annotation.annotation if param.annotation is not None else None
        if type(annotation) is cst.Subscript:
            annotation = annotation.value
        if type(annotation) is cst.Attribute:
            annotation = annotation.attr
        if type(annotation) is cst.Name and annotation.value.lower() in _CONTAINERS:
            found.add(param.name.value)
    docstring = function.get_docstring(clean=False)
    if docstring:
        for name in names:
            documented = re.search(rf"^[ \t]*{re.escape(name)}[ \t]*(?::[ \t]*|\()(\w+)", docstring, re.MULTILINE)
            if documented and documented.group(1).lower() in _CONTAINERS:
                found.add(name)
    return frozenset(name for name in found if name in names)


def _mapping_params(analysis: ModuleAnalysis, function: cst.FunctionDef, names: list[str]) -> frozenset[str]:
    """The parameters among `names` the function indexes with a string key somewhere (`grads["W"]`):
    mappings of arrays, whose slots it fills (`for k in params: grads[k] = ...`)."""
    found = set()
    for subscript in analysis.index.nodes_in(function, cst.Subscript):
        if type(subscript.value) is cst.Name and subscript.value.value in names and _keyed_by_string(subscript):
            found.add(subscript.value.value)
    return frozenset(found)


def _list_arguments(analysis: ModuleAnalysis, function: cst.FunctionDef, names: list[str]) -> frozenset[str]:
    """The parameters among `names` to which every call of `function` in the module (one at least)
    passes a list the caller built (`deltas = [None] * n`, `[]`, a list comprehension): the function
    fills its slots (a slot store replaces an element, it writes into no array of the caller's)."""
    if not names:
        return frozenset()
    index = analysis.index
    owner = index.class_of(function)
    params = positional_parameters(function, owner is not None)
    callee = ("self." if owner is not None else "") + function.name.value
    calls = analysis.model("GL402-calls-by-callee", _calls_by_callee).get(callee, [])
    if not calls:
        return frozenset()
    found = set()
    for param in names:
        position = params.index(param) if param in params else None
        if all(_passes_list(analysis, call, param, position) for call in calls):
            found.add(param)
    return frozenset(found)


def _calls_by_callee(analysis: ModuleAnalysis) -> "dict[str, list[cst.Call]]":
    """The module's calls of a plain name (`backprop(...)`) or of a method of `self` (`self._backprop(...)`,
    keyed `self._backprop`), in one pass."""
    found: dict[str, list[cst.Call]] = {}
    for call in analysis.index.nodes(cst.Call):
        func = call.func
        if type(func) is cst.Name:
            found.setdefault(func.value, []).append(call)
        elif type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value == "self":
            found.setdefault(f"self.{func.attr.value}", []).append(call)
    return found


def _passes_list(analysis: ModuleAnalysis, call: cst.Call, param: str, position: Optional[int]) -> bool:
    """Whether `call` passes, for `param`, a name its function binds only to lists it builds."""
    argument = argument_for(call, param, position)
    if type(argument) is not cst.Name:
        return False
    caller = analysis.index.function_containing(call)
    values = [
        statement.value
        for statement in analysis.index.nodes_in(caller, cst.Assign)
        if any(type(target.target) is cst.Name and target.target.value == argument.value for target in statement.targets)
    ]
    return bool(values) and all(_builds_list(value) for value in values)


def _builds_list(value: cst.BaseExpression) -> bool:
    """`[...]`, `[x for ...]`, `[None] * n`, `n * [None]`, `list(...)`."""
    if type(value) in (cst.List, cst.ListComp):
        return True
    if type(value) is cst.BinaryOperation and type(value.operator) is cst.Multiply:
        return type(value.left) is cst.List or type(value.right) is cst.List
    return type(value) is cst.Call and type(value.func) is cst.Name and value.func.value == "list"


def _fills_container(model: Numerics, write: "tuple[cst.CSTNode, str, Optional[str]]", containers: frozenset[str]) -> bool:
    """Whether `write` stores into a slot of a list or mapping parameter (`deltas[i] = ...`), or updates
    a slot the function itself stored earlier (`deltas[-1] = a - y` then `deltas[-1] *= w`): the
    caller's arrays are not written."""
    statement, param, alias = write
    if param not in containers or alias is not None:
        return False
    if type(statement) is cst.Assign:
        return all(type(target.target) is cst.Subscript for target in statement.targets)
    if type(statement) is cst.AugAssign and type(statement.target) is cst.Subscript:
        slot = model.code(statement.target)
        index = model.analysis.index
        function = index.enclosing(statement, cst.FunctionDef)
        order = index.order.get(statement, 0)
        return any(
            index.order.get(earlier, 0) < order and any(model.code(target.target) == slot for target in earlier.targets)
            for earlier in index.nodes_in(function, cst.Assign)
        )
    return False


def _write_only(model: Numerics, function: cst.FunctionDef, writes: "list[tuple[cst.CSTNode, str, Optional[str]]]") -> frozenset[str]:
    """The parameters written directly and otherwise never used (not read, returned or passed on,
    nested functions included; asking for their shape or dtype, or whether they are None, reads no
    value): an output or accumulator buffer the caller handed over, such as chainer's `gW[path] += gw`
    or a Pallas kernel's `o_ref[...] = acc.astype(o_ref.dtype)`, whose writes are the function's result."""
    written: dict[str, set[int]] = {}  # parameter -> ids of its write targets
    for statement, param, alias in writes:
        if alias is not None:
            continue  # `dx = dout` reads the parameter
        if type(statement) is cst.AugAssign:
            targets: list[cst.CSTNode] = [statement.target]
        elif type(statement) is cst.Assign:
            targets = [target.target for target in statement.targets]
        else:  # np.exp(x, out=x): the call reads it
            continue
        written.setdefault(param, set()).update(id(target) for target in targets)
    if not written:
        return frozenset()
    index = model.analysis.index
    start = index.order.get(function)
    if start is None:
        return frozenset()
    parents = index.parents
    read: set[str] = set()
    for node in index.preorder[start : index.end_order(function) + 1]:
        if type(node) is not cst.Name or node.value not in written or node.value in read:
            continue
        parent = parents.get(node)
        if type(parent) is cst.Param or (type(parent) is cst.Attribute and parent.attr is node) or (type(parent) is cst.Arg and parent.keyword is node):
            continue  # the parameter itself, `self.gW`, `f(gW=...)`
        if type(parent) is cst.Attribute and parent.attr.value in ARRAY_METADATA:
            continue  # `o_ref.dtype`, `m_ref.shape[2:]`: what the buffer is, not what it holds
        if type(parent) is cst.Comparison and _is_none_test(parent):
            continue  # `if m_ref is not None:` (an optional output)
        targets = written[node.value]
        if id(node) not in targets and not any(id(ancestor) in targets for ancestor in index.ancestors(node)):  # `dW += g`: the target itself
            read.add(node.value)
    return frozenset(param for param in written if param not in read)


def _slot_buffers(
    analysis: ModuleAnalysis,
    function: cst.FunctionDef,
    writes: "list[tuple[cst.CSTNode, str, Optional[str]]]",
    fills: "dict[str, list[cst.Assign]]",
) -> frozenset[str]:
    """The parameters the function fills slot by slot, as scikit-learn's `_backprop` fills `deltas`
    and `coef_grads`: first stored into (`deltas[last] = a - y`, a value that does not read it), then
    used only through single slots (`deltas[i]`, `deltas[i - 1]`) or returned whole, with a slot stored
    in a `for` loop at an index of the loop's variable. A list (or output array) the caller handed over
    to be filled: the caller's data is not overwritten, the slots are the function's result. The uses
    in a whole fill (`inerr[:] = outbuf - inbuf`, see `_whole_fills`) and after it are left out: on
    that path the buffer holds the function's own values (PyBrain fills `inerr` whole in one branch
    and slot by slot in the other)."""
    index = analysis.index
    start = index.order.get(function)
    if start is None:
        return frozenset()
    names = {param for _statement, param, alias in writes if alias is None}
    uses: dict[str, list[cst.Name]] = {}
    for node in index.preorder[start : index.end_order(function) + 1]:
        if type(node) is cst.Name and node.value in names and type(index.parents.get(node)) is not cst.Param:
            if fills.get(node.value) and _covered_by_fill(analysis, node, fills[node.value]):
                continue
            uses.setdefault(node.value, []).append(node)
    return frozenset(name for name, found in uses.items() if _filled_slot_by_slot(analysis, found))


def _whole_fills(analysis: ModuleAnalysis, function: cst.FunctionDef, names: set[str]) -> "dict[str, list[cst.Assign]]":
    """For each parameter among `names`, the statements that overwrite it whole with a value that does
    not read it (`inerr[:] = outbuf - inbuf`, `out[...] = 0`) before any other use of it on the way
    (every earlier use lies in an earlier fill or after one, on its path). After such a fill the array
    holds the function's own values: PyBrain's `_backwardImplementation(outerr, inerr, outbuf, inbuf)`
    fills the buffer `inerr` the framework hands in, then scales it (`inerr /= sigma ** 2`). The fill
    itself is the output-parameter idiom (exempt); what follows it writes nothing the caller gave."""
    index = analysis.index
    start = index.order.get(function)
    if start is None or not names:
        return {}
    fills: dict[str, list[cst.Assign]] = {}
    spoiled: set[str] = set()  # a use not covered by a fill came first: the caller's values were read
    for node in index.preorder[start : index.end_order(function) + 1]:
        if type(node) is not cst.Name or node.value not in names or node.value in spoiled:
            continue
        parent = index.parents.get(node)
        if type(parent) is cst.Param or (type(parent) is cst.Attribute and parent.attr is node):
            continue
        if type(parent) is cst.Attribute and parent.attr.value in ARRAY_METADATA:
            continue  # `inerr.shape`: what the buffer is, not what it holds
        found = fills.get(node.value, [])
        if found and _covered_by_fill(analysis, node, found):
            continue
        statement = _fill_statement(analysis, node, parent)
        if statement is None:
            spoiled.add(node.value)
            continue
        fills.setdefault(node.value, []).append(statement)
    return {name: found for name, found in fills.items() if found}


def _fill_statement(analysis: ModuleAnalysis, node: cst.Name, parent: Optional[cst.CSTNode]) -> Optional[cst.Assign]:
    """The `name[:] = value` statement whose sole target is `node`'s full slice, with a value that
    does not read `node`'s name; else None."""
    if type(parent) is not cst.Subscript or parent.value is not node or not _full_slice(parent):
        return None
    target = analysis.index.parents.get(parent)
    statement = analysis.index.parents.get(target) if type(target) is cst.AssignTarget else None
    if type(statement) is not cst.Assign or len(statement.targets) != 1:
        return None
    if node.value in names_in(statement.value):
        return None
    return statement


def _covered_by_fill(analysis: ModuleAnalysis, node: cst.CSTNode, fills: "list[cst.Assign]") -> bool:
    """Whether `node` is the target of one of `fills` or runs after one on every path to it."""
    ancestors = set(map(id, analysis.index.ancestors(node)))
    return any(id(fill) in ancestors for fill in fills) or _after_fill(analysis, node, fills)


def _after_fill(analysis: ModuleAnalysis, node: cst.CSTNode, fills: "list[cst.Assign]") -> bool:
    """Whether one of `fills` runs before `node` on every path to it: the fill's statement comes
    first and its block encloses `node` (a fill in one branch of an `if` covers nothing outside it)."""
    if not fills:
        return False
    index = analysis.index
    order = index.order.get(node, 0)
    ancestors = set(map(id, index.ancestors(node)))
    for fill in fills:
        line: Optional[cst.CSTNode] = index.parents.get(fill)
        if type(line) is cst.SimpleStatementLine:
            block = index.parents.get(line)
        else:  # `if c: a[:] = 0` (a one-line suite): the suite is the block
            line, block = fill, line
        if block is not None and id(block) in ancestors and index.order.get(line, 0) < order and id(line) not in ancestors:
            return True
    return False


def _filled_slot_by_slot(analysis: ModuleAnalysis, uses: list[cst.Name]) -> bool:
    """Whether `uses` (of one parameter) are those of a buffer filled slot by slot (see _slot_buffers):
    besides single slots, the whole is only returned (alone or in a tuple) or handed to a call (scikit-
    learn's `self._compute_loss_grad(..., deltas, ...)`). The first store and the loop's store are
    unconditional where they stand: `if x[i] <= 0: dout[i] = 0` writes some slots of the caller's array."""
    index = analysis.index
    slots: list[cst.Subscript] = []
    for use in uses:
        parent = index.parents.get(use)
        if _returned_or_handed_on(analysis, use, parent):
            continue
        if type(parent) is not cst.Subscript or parent.value is not use or _slot_index(parent) is None:
            return False  # a whole read, a mask or a slice: an array used as such
        slots.append(parent)
    if not slots:
        return False
    first = index.parents.get(slots[0])
    statement = index.parents.get(first) if type(first) is cst.AssignTarget else None
    if type(statement) is not cst.Assign or any(use in set(walk(statement.value)) for use in uses):
        return False  # not first stored (or the store reads it)
    if not _unconditional(analysis, statement, index.enclosing(statement, cst.For)):
        return False
    if any(_updates_its_slot(analysis, slot) for slot in slots):
        return False  # `dout[i] = dout[i] * mask[i]`: the caller's value of that slot is read and replaced
    for slot in slots:
        target = index.parents.get(slot)
        loop = index.enclosing(slot, cst.For) if type(target) is cst.AssignTarget else None
        if loop is None or not names_in(loop.target) & names_in(_slot_index(slot)):  # type: ignore[arg-type]
            continue
        if _unconditional(analysis, index.parents.get(target), loop):  # type: ignore[arg-type]
            return True
    return False


def _updates_its_slot(analysis: ModuleAnalysis, slot: cst.Subscript) -> bool:
    """Whether `slot` is stored by an assignment whose value reads the same slot (`xs[i] = xs[i] * m`)."""
    target = analysis.index.parents.get(slot)
    statement = analysis.index.parents.get(target) if type(target) is cst.AssignTarget else None
    if type(statement) is not cst.Assign:
        return False
    written = analysis.code_for(slot)
    return any(type(node) is cst.Subscript and analysis.code_for(node) == written for node in walk(statement.value))


def _returned_or_handed_on(analysis: ModuleAnalysis, use: cst.Name, parent: Optional[cst.CSTNode]) -> bool:
    """`return deltas`, `return coef_grads, intercept_grads`, `f(..., deltas, ...)`."""
    if type(parent) is cst.Return:
        return True
    if type(parent) is cst.Element:
        pair = analysis.index.parents.get(parent)
        return type(pair) is cst.Tuple and type(analysis.index.parents.get(pair)) is cst.Return
    return type(parent) is cst.Arg and parent.value is use and type(analysis.index.parents.get(parent)) is cst.Call


def _unconditional(analysis: ModuleAnalysis, statement: cst.CSTNode, loop: Optional[cst.For]) -> bool:
    """Whether `statement` runs whenever the body of `loop` (or, without a loop, of its function) does:
    no `if`, `while`, `try` or `match` between them."""
    for ancestor in analysis.index.ancestors(statement):
        if ancestor is loop or type(ancestor) in (cst.FunctionDef, cst.For):
            return ancestor is loop or loop is None
        if type(ancestor) in (cst.If, cst.Else, cst.While, cst.Try, cst.Match):
            return False
    return loop is None


def _slot_index(subscript: cst.Subscript) -> Optional[cst.BaseExpression]:
    """The index of `xs[i]`, `xs[-1]`, `xs[i - 1]`: one element (names, integers, + and -); else None."""
    if len(subscript.slice) != 1 or type(subscript.slice[0].slice) is not cst.Index:
        return None
    value = subscript.slice[0].slice.value
    for node in walk(value):
        if type(node) in (cst.BinaryOperation, cst.UnaryOperation):
            if type(node.operator) not in (cst.Add, cst.Subtract, cst.Minus):  # type: ignore[union-attr]
                return None
        elif type(node) not in (cst.Name, cst.Integer, cst.Add, cst.Subtract, cst.Minus):
            return None
    return value


def _is_none_test(comparison: cst.Comparison) -> bool:
    """`x is None` / `x is not None`."""
    return len(comparison.comparisons) == 1 and type(comparison.comparisons[0].operator) in (cst.Is, cst.IsNot) and (
        type(comparison.comparisons[0].comparator) is cst.Name and comparison.comparisons[0].comparator.value == "None"
    )


def _owner(
    model: Numerics, scope: Scope, name: str, order: int, params: set[str], use: cst.CSTNode
) -> Optional[tuple[str, Optional[str]]]:
    """(parameter, alias text) when `name` (a local or an attribute chain such as `self.dinputs`)
    still refers to a parameter's array at `order`, where `use` reads it."""
    for _ in range(4):
        bindings = [b for b in scope.before(name, order) if b.augmented is None]
        if not bindings:
            return (name, None) if name in params else None
        last = bindings[-1]
        value = last.value
        if value is None or len(bindings) > 1 and _in_branch(model, last.statement):
            return None
        if "." in name and not _attribute_kept(model, scope, name, last.statement, last.order, order, use):
            return None
        source = _view_source(model, value)
        if source is None:
            return None
        if source in params and not [b for b in scope.before(source, last.order) if b.augmented is None]:
            return source, model.code(last.statement)
        name, order, use = source, last.order, last.statement
    return None


def _attribute_kept(
    model: Numerics, scope: Scope, dotted: str, binding: cst.CSTNode, bound_at: int, order: int, use: cst.CSTNode
) -> bool:
    """Whether the attribute chain `dotted` (`self.dinputs`), bound by `binding` (at `bound_at`), surely
    still holds that value where `use` (at `order`) reads it: the binding runs on every path to the use
    (its block encloses the use), neither the chain's root nor a shorter chain is re-bound in between,
    the class defines no property of that name nor a `__setattr__` (a setter may store a copy), and no
    call in between may re-bind the attribute (a method of the root, a call handed the root itself:
    `self._reset()`, `setattr(self, ...)`). Unsure: False."""
    index = model.analysis.index
    block = index.parent(index.statement_of(binding))
    if block is None or not any(ancestor is block for ancestor in index.ancestors(use)):
        return False
    parts = dotted.split(".")
    for end in range(1, len(parts)):
        prefix = ".".join(parts[:end])
        if any(bound_at < other.order <= order for other in scope.bindings.get(prefix, ())):
            return False
    root = parts[0]
    owner = index.class_of(scope.function) if scope.function is not None else None
    if owner is not None:
        methods = index.methods(owner)
        if parts[1] in methods or "__setattr__" in methods:
            return False  # a property (its setter may copy) or a custom __setattr__
    for call_order, call in _calls_by_order(model, scope):
        if call_order <= bound_at or call_order > order:
            continue
        callee = dotted_name(call.func) if type(call.func) in (cst.Name, cst.Attribute) else None
        if callee is None or callee.split(".")[0] == root:
            return False  # `self.reset()`, `self.layer.f()`, or a callee that is not a plain name
        if any(type(arg.value) is cst.Name and arg.value.value == root for arg in call.args):
            return False  # `setattr(self, ...)`, `helper(self)`
    return True


def _calls_by_order(model: Numerics, scope: Scope) -> "list[tuple[int, cst.Call]]":
    """The calls of the scope's function with the order of their statements (memoised per function)."""
    key = ("GL402.calls", scope.function)
    found = model.memo.get(key)
    if found is None:
        analysis = model.analysis
        found = model.memo[key] = [(scope.order_of(call, analysis), call) for call in analysis.index.nodes_in(scope.function, cst.Call)]
    return found  # type: ignore[return-value]


def _view_source(model: Numerics, value: cst.BaseExpression) -> Optional[str]:
    """`dout` for `dout`, `np.asarray(dout)`, `dout.reshape(...)`, `dout.T`, and `self.d` for `self.d`
    (an attribute chain: followed only to its binding in the same function); else None (a copy or new array)."""
    if type(value) is cst.Name:
        return value.value
    if type(value) is cst.Attribute:
        if value.attr.value == "T":
            value = value.value
        return dotted_name(value) if type(value) in (cst.Name, cst.Attribute) else None
    if type(value) is cst.Call and model.operation(value) in _VIEWS:
        operand = model.operand(value)
        if type(operand) in (cst.Name, cst.Attribute) and not any(arg.keyword is not None and arg.keyword.value == "dtype" for arg in value.args):
            return dotted_name(operand)
    return None


def _in_branch(model: Numerics, statement: cst.CSTNode) -> bool:
    return model.analysis.index.enclosing(statement, cst.If) is not None


def _keyed_by_string(target: cst.Subscript) -> bool:
    """`cache['z'] = z`, `self.cache["x"][0] = 1`: the root is a mapping (a dict of arrays), not an array."""
    current: cst.BaseExpression = target
    while type(current.value) is cst.Subscript:  # type: ignore[attr-defined]
        current = current.value  # type: ignore[attr-defined]
    elements = current.slice  # type: ignore[attr-defined]
    return len(elements) == 1 and type(elements[0].slice) is cst.Index and isinstance(
        elements[0].slice.value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)
    )


def _full_slice(target: cst.Subscript) -> bool:
    """`a[:] = ...` / `a[...] = ...`: the output-parameter idiom, deliberate."""
    if len(target.slice) != 1:
        return False
    element = target.slice[0].slice
    if type(element) is cst.Slice:
        return element.lower is None and element.upper is None and element.step is None
    return type(element) is cst.Index and type(element.value) is cst.Ellipsis


def _array_like(model: Numerics, function: cst.FunctionDef, name: str) -> bool:
    """`name` (a local, or an attribute chain such as `self.dinputs`) is used as an array in the
    function: indexed, reduced, or passed to numpy."""
    index = model.analysis.index
    for subscript in index.nodes_in(function, cst.Subscript):
        if type(subscript.value) in (cst.Name, cst.Attribute) and dotted_name(subscript.value) == name:
            return True
    for call in index.nodes_in(function, cst.Call):
        operand = model.operand(call)
        if type(operand) in (cst.Name, cst.Attribute) and dotted_name(operand) == name and model.operation(call) is not None:
            qualified = model.qualified(call.func) or ""
            if not qualified.startswith("builtins.") and model.operation(call) not in ("append", "extend", "pop", "insert"):
                return True
    return False


def _role(model: Numerics, function: cst.FunctionDef) -> Optional[str]:
    """'that the forward' / 'that the derivative' / 'that the backward' when the function is one."""
    semantics = getattr(model.analysis, "semantics", None)
    if semantics is not None:
        try:
            if semantics.forward_of(function) is not None:
                return "the forward"
            if semantics.derivative_of(function) is not None:
                return "the derivative"
            if semantics.is_backward(function):
                return "the backward pass"
        except Exception:  # noqa: BLE001 - the shared model must not take this rule down
            pass
    scope = model.scope(function)
    for node in model.analysis.index.nodes_in(function, cst.BinaryOperation):
        if type(node.operator) is cst.Divide:
            order = scope.order_of(node, model.analysis)
            if model.softmax_parts(_untransposed(node.left), node.right, scope, order) is not None or model.sigmoid_argument(node) is not None:
                return "the forward"
    for node in model.analysis.index.nodes_in(function, cst.AugAssign):
        # `y = np.exp(x); y /= y.sum(axis=1, keepdims=True)`: a softmax normalised in place
        if type(node.operator) is cst.DivideAssign and type(node.target) in (cst.Name, cst.Attribute):
            order = scope.order_of(node, model.analysis)
            if model.softmax_parts(node.target, node.value, scope, order) is not None:
                return "the forward"
    return None


def _cost_and_gradient(function: cst.FunctionDef, analysis: ModuleAnalysis) -> Optional[str]:
    """'the cost function' for a function named as a cost or loss whose every return is a pair whose
    second item is named as a gradient (`return J, grad`): Andrew Ng's `lrCostFunction(theta, X, y,
    lambda_)`, which an optimizer calls with its own parameter array."""
    if not _COST_NAME.search(function.name.value):
        return None
    returns = analysis.index.nodes_in(function, cst.Return)
    if not returns:
        return None
    for statement in returns:
        value = statement.value
        if type(value) not in (cst.Tuple, cst.List) or len(value.elements) != 2:  # type: ignore[union-attr]
            return None
        if not _gradient_valued(value.elements[1].value):  # type: ignore[union-attr]
            return None
    return "the cost function"


def _gradient_valued(node: cst.BaseExpression) -> bool:
    """A name that says gradient, maybe reshaped (`grad`, `grad.flatten()`, `grad.ravel()`, `dtheta[:, 0]`)."""
    while True:
        if type(node) is cst.Call and type(node.func) is cst.Attribute:
            node = node.func.value
        elif type(node) in (cst.Attribute, cst.Subscript):
            node = node.value  # type: ignore[attr-defined]
        else:
            break
    return type(node) is cst.Name and (is_gradient_name(node.value, loosely=True) or RETURNED_GRADIENT.match(node.value) is not None)


def _gradient_function(function: cst.FunctionDef, analysis: ModuleAnalysis) -> bool:
    """A function named as a gradient (`gradient`, `gradientReg`, `compute_grad`) every return of which
    gives one value (no tuple, not None): ex2's separate gradient for `fmin_tnc(fprime=...)`."""
    if not _GRADIENT_FUNCTION.search(function.name.value):
        return False
    returns = analysis.index.nodes_in(function, cst.Return)
    return bool(returns) and all(
        statement.value is not None and type(statement.value) not in (cst.Tuple, cst.List) and not (
            type(statement.value) is cst.Name and statement.value.value == "None"
        )
        for statement in returns
    )


def _untransposed(node: cst.BaseExpression) -> cst.BaseExpression:
    """`e` for `e.T` (PyEZNet's `(np.exp(x[i]).T / np.sum(np.exp(x[i]), axis=0)).T`: a transpose for
    the broadcast keeps the values of the exp), else `node` itself."""
    while type(node) is cst.Attribute and node.attr.value == "T" and not node.lpar:
        node = node.value
    return node


def _clamping_forward(
    model: Numerics, function: cst.FunctionDef, writes: "list[tuple[cst.CSTNode, str, Optional[str]]]"
) -> Optional[str]:
    """'the forward' when one of `writes` is a relu written in place and its result is the function's:
    `out[out < 0] = 0` (or `out[x <= 0] = 0.0`, `out[0 > out] = 0`) into a parameter or its alias, and
    that array returned (alone or in a tuple, CS231n's `return out, cache`) or stored on `self`.
    `_role` asks the shared model, which knows `x[x < 0] = 0; return x` but not the alias `out = x`."""
    for node, param, _alias in writes:
        if type(node) is not cst.Assign or len(node.targets) != 1 or not _is_zero(node.value):
            continue
        target = node.targets[0].target
        if type(target) is not cst.Subscript or len(target.slice) != 1 or type(target.slice[0].slice) is not cst.Index:
            continue
        root = subscript_base(target)
        mask = target.slice[0].slice.value
        if root is None or type(mask) is not cst.Comparison or len(mask.comparisons) != 1:
            continue
        comparison = mask.comparisons[0]
        if type(comparison.operator) in (cst.LessThan, cst.LessThanEqual) and _is_zero(comparison.comparator):
            compared: cst.BaseExpression = mask.left
        elif type(comparison.operator) in (cst.GreaterThan, cst.GreaterThanEqual) and _is_zero(mask.left):
            compared = comparison.comparator
        else:
            continue
        clamped = {root, param}
        if type(compared) not in (cst.Name, cst.Attribute) or dotted_name(compared) not in clamped:
            continue
        if _result_of(model, function, clamped):
            return "the forward"
    return None


def _result_of(model: Numerics, function: cst.FunctionDef, names: set[str]) -> bool:
    """Whether the function returns one of `names` (alone or in a tuple) or stores it on an attribute."""
    index = model.analysis.index
    for statement in index.nodes_in(function, cst.Return):
        value = statement.value
        parts = [element.value for element in value.elements] if type(value) is cst.Tuple else [value]
        if any(type(part) in (cst.Name, cst.Attribute) and dotted_name(part) in names for part in parts):
            return True
    return any(
        type(statement.value) in (cst.Name, cst.Attribute)
        and dotted_name(statement.value) in names
        and any(type(target.target) is cst.Attribute for target in statement.targets)
        for statement in index.nodes_in(function, cst.Assign)
    )


def _is_zero(node: cst.BaseExpression) -> bool:
    """`0`, `0.`, `0.0`."""
    if type(node) is cst.Integer:
        return node.evaluated_value == 0
    return type(node) is cst.Float and node.evaluated_value == 0.0


def _upstream_gradient_array(model: Numerics, function: cst.FunctionDef, param: str) -> bool:
    """Whether `param` is the upstream gradient a numpy backward received, so an array (`+=` writes into
    it): named as one (`dout`, `dnext_c`), without a default (a default is the scalar seed `dout=1.0`),
    in a backward (`lstm_step_backward`, a layer's `backward`) that is neither nested (a framework's
    callback, whose gradient convention it owns) nor a loss's (it may be handed the scalar dL/dL) nor a
    method of a class with arithmetic operators (an autograd value node: float gradients), in a module
    that imports numpy and no other array framework (jax arrays have no in-place operators)."""
    if not (is_gradient_name(param) or _NEXT_STATE_GRADIENT.fullmatch(param)) or param.lower() in _COLLECTION_NAMES:
        return False
    params = function.params
    if any(p.name.value == param and p.default is not None for p in (*params.posonly_params, *params.params, *params.kwonly_params)):
        return False
    analysis = model.analysis
    index = analysis.index
    if any(type(ancestor) in (cst.FunctionDef, cst.Lambda) for ancestor in index.ancestors(function)):
        return False
    owner = index.class_of(function)
    if _LOSS_WORDS.search(function.name.value) or (owner is not None and _LOSS_WORDS.search(owner.name.value)):
        return False
    if owner is not None and _ARITHMETIC_DUNDERS & set(index.methods(owner)):
        return False
    try:
        if not analysis.semantics.is_backward(function):
            return False
    except Exception:  # noqa: BLE001 - the shared model must not take this rule down
        return False
    if analysis.model("GL402-array-library", _array_library) != "numpy":
        return False
    # (the class's other methods count, but not `__init__`: any model allocates its weights there with
    # `np.random.randn(n)`, also a single neuron whose gradient is a float)
    if not (_batched_code(analysis, function) or (owner is not None and any(
        _batched_code(analysis, method) for name, method in index.methods(owner).items() if name != "__init__"
    ))):
        return False
    # a buffer handed over to accumulate into (`bias_backward(dout, grad)`: grad) is the function's contract;
    # the upstream gradient itself (`backward(self, dvalues): dvalues += ...; return dvalues`) is not
    upstream = analysis.semantics.gradient_param(function) == param
    if not upstream and _accumulated_only(analysis, function, param):
        return False
    return not _handed_a_number(analysis, function, param)


def _batched_code(analysis: ModuleAnalysis, function: cst.FunctionDef) -> bool:
    """Whether `function` works on whole arrays, not on floats one neuron at a time: a matrix product
    (`@`, `.T`), a shape (`x.shape`, `axis=`, `keepdims=`), or numpy's array builders and joiners
    (`np.hstack`, `np.zeros_like`, `np.einsum`...). Memoised per function."""
    memo = analysis.model("GL402-batched", lambda _analysis: {})
    found = memo.get(function)
    if found is None:
        index = analysis.index
        found = (
            any(type(node.operator) is cst.MatrixMultiply for node in index.nodes_in(function, cst.BinaryOperation))
            or any(node.attr.value in _ARRAY_ATTRIBUTES for node in index.nodes_in(function, cst.Attribute))
            or any(_array_call(call) for call in index.nodes_in(function, cst.Call))
        )
        memo[function] = found
    return found


def _array_call(call: cst.Call) -> bool:
    """`np.hstack(...)`, `np.zeros_like(x)`, `x.sum(axis=0)`, `np.max(x, keepdims=True)`."""
    if type(call.func) is cst.Attribute and call.func.attr.value in _ARRAY_BUILDERS:
        return True
    return any(arg.keyword is not None and arg.keyword.value in ("axis", "keepdims") for arg in call.args)


def _accumulated_only(analysis: ModuleAnalysis, function: cst.FunctionDef, param: str) -> bool:
    """Whether `param` is only added into (`grad += ...`, `grad -= ...`) and returned: a gradient
    buffer the caller hands over to accumulate into (`bias_backward(dout, grad)`), not an upstream
    gradient the function reads."""
    index = analysis.index
    for node in index.nodes_in(function, cst.Name):
        if node.value != param:
            continue
        parent = index.parents.get(node)
        if type(parent) is cst.Param or (type(parent) is cst.Attribute and parent.attr is node):
            continue
        if type(parent) is cst.AugAssign and parent.target is node and type(parent.operator) in (cst.AddAssign, cst.SubtractAssign):
            continue
        if not _returned_or_handed_on(analysis, node, parent) or type(parent) is cst.Arg:
            return False
    return True


def _array_library(analysis: ModuleAnalysis) -> Optional[str]:
    """'numpy' when the module imports numpy and none of _NON_NUMPY_ARRAYS; else None."""
    roots: set[str] = set()
    for statement in analysis.index.nodes(cst.Import):
        roots.update((dotted_name(alias.name) or "").split(".")[0] for alias in statement.names)
    for statement in analysis.index.nodes(cst.ImportFrom):
        if statement.module is not None and not statement.relative:
            roots.add((dotted_name(statement.module) or "").split(".")[0])
    return "numpy" if "numpy" in roots and not roots & _NON_NUMPY_ARRAYS else None


def _handed_a_number(analysis: ModuleAnalysis, function: cst.FunctionDef, param: str) -> bool:
    """Whether a call of `function` in the module passes a number literal for `param` (`backward(1.0)`)."""
    owner = analysis.index.class_of(function)
    positions = positional_parameters(function, owner is not None)
    position = positions.index(param) if param in positions else None
    callee = ("self." if owner is not None else "") + function.name.value
    for call in analysis.model("GL402-calls-by-callee", _calls_by_callee).get(callee, []):
        argument = argument_for(call, param, position)
        if type(argument) is cst.UnaryOperation:
            argument = argument.expression
        if type(argument) in (cst.Integer, cst.Float):
            return True
    return False
