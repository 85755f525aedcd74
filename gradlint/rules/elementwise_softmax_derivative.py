"""GL102 elementwise-softmax-derivative: the softmax derivative written as s*(1-s)."""

from __future__ import annotations

import re
from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis import algebra
from gradlint.analysis.jacobians import (
    FormulaSite,
    arithmetic_roots,
    builds_outer_product,
    expand_with_atoms,
    in_derivative_context,
    logistic_sites,
    resolve,
)
from gradlint.analysis.semantics import (
    BACKWARD_METHODS,
    DERIVATIVE_METHODS,
    Convention,
    ForwardKind,
    Role,
    derivative_base,
    flag_parameter,
)
from gradlint.analysis.syntax import call_name, dotted_name, last_part, positional_parameters
from gradlint.diagnostics import Severity
from gradlint.naming import is_gradient_name
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
        their sum, also in place: `y = np.exp(...); y /= y.sum(...)`, also masked in place before they
        are normalised, as graph attention does: `e *= adj; e / e.sum(axis=1, keepdims=True)`, also with an epsilon
        guarding the division: `e / (e.sum() + 1e-9)`) or a library softmax (`torch.softmax`,
        `F.softmax`, `x.softmax(dim=-1)`, `jax.nn.softmax`, `tf.nn.softmax`,
        `scipy.special.softmax`, also imported by name), whether the value comes
        from a call of that forward (also of an instance whose `__call__` it is: `f = SoftMax();
        y = f(x)`, or `y = self(x)` inside the class), from `self.output` cached by a softmax
        layer's `forward`, from `self.outputs[0]()` (dezero / chainer `Function`s, whose
        `__call__` keeps the forward's output), from framework hand-offs (a torch
        `autograd.Function`'s `ctx.save_for_backward(y)` read back from `ctx.saved_tensors`, a
        jax `custom_vjp` fwd's residual arriving as its bwd's first parameter, a
        `@tf.custom_gradient` closure reading the enclosing function's output), from an entry
        of a dict cache (`self.cache = {'attn': attn}` or `self.cache['attn'] = attn` in forward,
        `attn = self.cache['attn']` in backward: followed only when every store into the dict
        is a literal dict or a plain store under a string key, with no `update`/`pop` and no
        alias written into), or is handed to a derivative function that computes `a*(1-a)`.
        A whole row or column of the output counts when the code shows it is one whole
        distribution (`yi[:, 0]` of a `reshape(-1, 1)` column, `forward(x.reshape(1, -1))[0]`,
        a column of a softmax normalised along axis 0). Also finds a Jacobian function
        returning `np.diagflat(s*(1-s))` when every call passes it a softmax output, and a
        method named as the derivative (`deriv`, `derivative`, `*_prime`) or the backward pass
        of a class whose forward or `__call__` is a softmax by its body, computing `y*(1-y)` of
        its parameter (neurolab's `SoftMax.deriv(x, y)`, `backward(self, grad, outputs)` returning
        `grad * outputs * (1 - outputs)`, a layer's `backward(self, x)` returning `x * (1 - x)`)
        when no call in the module passes it anything else and no subclass with another forward
        inherits it; and a derivative switch whose forward is a softmax (`def softmax(x, deriv=False):
        if deriv: return x * (1 - x)`, then the softmax of `x`). Whether a
        class or function is a softmax is decided from its body, never its name: a `Softmax`
        class whose forward is `1/(1+exp(-x))` is a sigmoid. Stays silent on `p*(1-p)` that is a
        statistic or a second derivative: summed (the Gini impurity), stored as a Hessian, a
        curvature or a variance (`hess = p * (1 - p)`), computed by a function so named
        (`softmax_hessian_diag`, `newton_step`, `d2_loss`, `diag_ggn`), or returned second in a
        (gradient, Hessian) pair (`return p - y, p * (1 - p)`): the diagonal of the softmax
        cross-entropy's Hessian is exactly p*(1-p), as xgboost-style custom objectives use it.
        An upstream gradient multiplying it (`dout * s * (1 - s)`) makes it a first derivative
        again, whatever the names.
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

            class GATLayer:
                def forward(self, H, adj):
                    self.H = H
                    e = H @ self.a1 + (H @ self.a2).T
                    e_exp = np.exp(e - np.max(e, axis=1, keepdims=True))
                    e_exp *= adj
                    self.attention = e_exp / np.sum(e_exp, axis=1, keepdims=True)
                    return self.attention @ H

                def backward(self, grad_output):
                    grad_alpha = grad_output @ self.H.T
                    return grad_alpha * self.attention * (1 - self.attention)
            """,
            line=14,
            message="`self.attention` is a softmax output",
            why="review 6 (rw6b miss/02, a numpy graph-attention layer): the masked softmax of graph attention, "
            "its exponentials multiplied in place by the adjacency before they are normalised",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x, deriv=False):
                if deriv:
                    return x * (1.0 - x)
                x = x - np.max(x)
                return np.exp(x) / np.sum(np.exp(x))
            """,
            line=5,
            message="with `deriv=True` it returns s*(1-s) of its argument `x`, the softmax output",
            why="review 6 (rw6c miss/02, a two-hidden-layer network's helper): the iamtrask derivative-switch idiom "
            "applied to a softmax",
        ),
        Invalid(
            """
            from functools import partial

            import jax

            @partial(jax.custom_vjp, nondiff_argnums=(1,))
            def sm(x, axis):
                return jax.nn.softmax(x, axis=axis)

            def sm_fwd(x, axis):
                y = jax.nn.softmax(x, axis=axis)
                return y, y

            def sm_bwd(axis, y, g):
                return (g * y * (1 - y),)

            sm.defvjp(sm_fwd, sm_bwd)
            """,
            line=14,
            message="softmax derivative computed as the elementwise",
            why="the adversarial review: with nondiff_argnums the residual is the bwd's parameter after the nondiff ones",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_backward(dout, z):
                s = softmax(z)
                local_var = s * (1 - s)
                return dout * local_var

            def softmax_grad_hess(z, dout):
                s = softmax(z)
                grad = dout * s * (1 - s)
                return grad

            class SoftmaxLayer:
                def forward(self, z):
                    self.out = softmax(z)
                    return self.out

                def backward_newton(self, dout):
                    return dout * self.out * (1 - self.out)

                def set_upstream(self, grad):
                    self.grad = grad

                def hess_backward(self):
                    return self.grad * self.out * (1 - self.out)
            """,
            line=9,
            count=4,
            message="softmax derivative computed as the elementwise",
            why="near misses of the second-order exemptions: `var` inside a longer name, and an upstream gradient multiplying it, as a parameter or kept on self (a Hessian never is)",
        ),
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
        Invalid(
            """
            import numpy as np
            from dezero.core import Function

            class Softmax(Function):
                def __init__(self, axis=1):
                    self.axis = axis

                def forward(self, x):
                    y = x - x.max(axis=self.axis, keepdims=True)
                    y = np.exp(y)
                    y /= y.sum(axis=self.axis, keepdims=True)
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    return gy * (y - y * y)
            """,
            line=16,
            message="the output of Softmax.forward",
            why="dezero Function: the output read back through self.outputs[0]() (set by the framework's __call__), the forward normalising in place (y /= y.sum(...))",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    y = np.exp(x - x.max(axis=1, keepdims=True))
                    y /= y.sum(axis=1, keepdims=True)
                    self.y = y
                    return y

                def backward(self, gy):
                    y = self.y
                    return gy * y * (1 - y)
            """,
            line=12,
            message="normalised in place",
            why="a softmax normalised in place (y /= y.sum(...)) cached in self.y",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def _fwd(self, X):
                    e_X = np.exp(X - np.max(X, axis=-1, keepdims=True))
                    return e_X / e_X.sum(axis=-1, keepdims=True)

                def _bwd(self, dLdy, X):
                    dX = []
                    for dy, x in zip(dLdy, X):
                        yi = self._fwd(x.reshape(1, -1)).reshape(-1, 1)
                        dX.append(dy * yi[:, 0] * (1 - yi[:, 0]))
                    return np.array(dX)
            """,
            line=12,
            message="`dy * yi[:, 0] * (1 - yi[:, 0])`",
            why="numpy-ml _bwd: a column yi[:, 0] of the (n, 1) softmax output",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, X):
                    e_X = np.exp(X - np.max(X, axis=-1, keepdims=True))
                    return e_X / e_X.sum(axis=-1, keepdims=True)

                def backward(self, dLdy, X):
                    dX = []
                    for dy, x in zip(dLdy, X):
                        yi = self.forward(x.reshape(1, -1))[0]
                        dX.append(dy * yi * (1 - yi))
                    return np.array(dX)
            """,
            line=12,
            message="a row of the output of the softmax",
            why="row 0 of the softmax of a (1, n) row: self.forward(x.reshape(1, -1))[0]",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0, keepdims=True))
                return e / np.sum(e, axis=0, keepdims=True)

            def softmax_jacobian(s):
                return np.diagflat(s * (1 - s))

            def output_delta(W, a, y):
                z = W @ a
                out = softmax(z)
                dL_dout = -y / np.clip(out, 1e-12, None)
                return softmax_jacobian(out[:, 0]) @ dL_dout
            """,
            line=8,
            message="the elementwise s*(1-s) is the softmax Jacobian's diagonal only",
            why="column layout (Nielsen): a Jacobian function returning np.diagflat(s * (1 - s)), called on a column of the softmax output",
        ),
        Invalid(
            """
            import numpy as np

            class SoftMax:
                def __call__(self, dist):
                    exp = np.exp(dist - np.max(dist))
                    return exp / exp.sum()

                def deriv(self, x, y):
                    return y * (1 - y)
            """,
            line=9,
            message="SoftMax.deriv computes the softmax derivative as the elementwise `y * (1 - y)`",
            why="neurolab trans.py SoftMax.deriv(x, y): the derivative method of a callable softmax class, in its output y",
        ),
        Invalid(
            """
            import numpy as np

            class SoftMax:
                def __call__(self, dist):
                    exp = np.exp(dist - np.max(dist))
                    return exp / exp.sum()

                def deriv(self, x, y):
                    return y * (1 - y)

            def output_delta(x, err):
                f = SoftMax()
                y = f(x)
                return err * f.deriv(x, y)
            """,
            line=14,
            message="`y` is a softmax output (the output of the softmax f(x))",
            why="neurolab's convention df = f.deriv(x, y) with y = f(x): the instance's __call__ is the softmax",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    return e / e.sum(axis=1, keepdims=True)

                @staticmethod
                def derivative(s):
                    return s - s ** 2
            """,
            line=10,
            message="written in its output s",
            why="a batched softmax layer's static derivative method s - s**2, never called in the module",
        ),
        Invalid(
            """
            import numpy as np

            class SoftmaxActivation:
                def forward(self, inputs):
                    exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    sum_exp_values = np.sum(exp_values, axis=1, keepdims=True)
                    return exp_values / (sum_exp_values + 1e-9)

                def backward(self, grad_output, outputs):
                    return grad_output * outputs * (1 - outputs)
            """,
            line=10,
            message="SoftmaxActivation.backward computes the softmax derivative as the elementwise `grad_output * outputs * (1 - outputs)`",
            why="JosueRomero2002/ProyectoSistemasInteligentes Activation.py: the softmax output handed to backward as a parameter, the forward normalised by `sum + 1e-9`",
        ),
        Invalid(
            """
            import torch

            class softmax:
                def forward(self, x):
                    exp_x = torch.exp(x - torch.max(x))
                    return exp_x / torch.sum(exp_x)

                def backward(self, x):
                    return x * (1 - x)
            """,
            line=9,
            message="backward is the backward pass of softmax.forward (a softmax by its body) written in its output x",
            why="iam-tarun/Resnet-Implementation softmax_layer.py: a torch-style layer whose backward returns the local derivative x*(1-x) of its output",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    self.output = e / (e.sum(axis=1, keepdims=True) + self.eps)
                    return self.output

                def backward(self, grad):
                    return grad * self.output * (1 - self.output)
            """,
            line=10,
            message="`self.output` is a softmax output",
            why="an epsilon name guarding the normaliser keeps it a softmax",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax(object):
                def __call__(self, x, axis=-1):
                    x = x - x.max(axis=axis, keepdims=True)
                    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)

                def derivative(self, x):
                    y = self(x)
                    return y * (1 - y)
            """,
            line=10,
            message="the output of the softmax self(x)",
            why="Sacry/mla_sani activations.py Softmax.derivative: the forward is __call__, invoked as self(x)",
        ),
        Invalid(
            """
            import torch

            class EfficientMemorySoftmaxFunc(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    y = torch.softmax(x, dim=-1)
                    ctx.save_for_backward(y)
                    return y

                @staticmethod
                def backward(ctx, grad_output):
                    y, = ctx.saved_tensors
                    return grad_output * y * (1 - y)

            class SoftmaxFunc(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    e = torch.exp(x - x.max(dim=-1, keepdim=True)[0])
                    y = e / e.sum(dim=-1, keepdim=True)
                    ctx.save_for_backward(x, y)
                    return y

                @staticmethod
                def backward(ctx, grad_output):
                    y = ctx.saved_tensors[1]
                    return grad_output * (y - y ** 2)
            """,
            line=13,
            count=2,
            message="saved by ctx.save_for_backward(y)",
            why="torch.autograd.Function (a mutation of Ther-nullptr/efficient_operators): the softmax output saved with ctx.save_for_backward and read back from ctx.saved_tensors",
        ),
        Invalid(
            """
            import numpy as np
            import tensorflow as tf
            from scipy.special import softmax

            class Softmax:
                def forward(self, x):
                    self.y = softmax(x, axis=-1)
                    return self.y

                def backward(self, g):
                    return g * self.y * (1 - self.y)

            class TorchSoftmax:
                def forward(self, logits):
                    self.p = logits.softmax(dim=-1)
                    return self.p

                def backward(self, dp):
                    return dp * self.p * (1 - self.p)

            class TFSoftmax:
                def forward(self, logits):
                    self.p = tf.nn.softmax(logits, axis=-1)
                    return self.p

                def backward(self, dp):
                    return dp * self.p * (1 - self.p)
            """,
            line=11,
            count=3,
            message="softmax derivative computed as the elementwise",
            why="library softmaxes as forwards: scipy.special.softmax imported by name, torch's tensor method, tf.nn.softmax",
        ),
        Invalid(
            """
            import jax
            import jax.numpy as jnp

            @jax.custom_vjp
            def softmax(x):
                e = jnp.exp(x - jnp.max(x, axis=-1, keepdims=True))
                return e / jnp.sum(e, axis=-1, keepdims=True)

            def softmax_fwd(x):
                y = softmax(x)
                return y, y

            def softmax_bwd(y, g):
                return (g * y * (1 - y),)

            softmax.defvjp(softmax_fwd, softmax_bwd)
            """,
            line=14,
            message="the residual of softmax_fwd",
            why="jax custom_vjp: the softmax output is the fwd's residual, the bwd's first parameter",
        ),
        Invalid(
            """
            import jax
            import jax.numpy as jnp

            @jax.custom_vjp
            def softmax(x):
                return jax.nn.softmax(x, axis=-1)

            def softmax_fwd(x):
                y = softmax(x)
                return y, (x, y)

            def softmax_bwd(res, g):
                x, y = res
                return (g * (y - y * y),)

            softmax.defvjp(softmax_fwd, softmax_bwd)
            """,
            line=14,
            message="the residual of softmax_fwd",
            why="jax custom_vjp with a tuple of residuals unpacked in the bwd",
        ),
        Invalid(
            """
            import tensorflow as tf

            @tf.custom_gradient
            def softmax(x):
                e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))
                y = e / tf.reduce_sum(e, axis=-1, keepdims=True)

                def grad(dy):
                    return dy * y * (1 - y)

                return y, grad
            """,
            line=9,
            message="`y` is a softmax output",
            why="tf.custom_gradient: the gradient closure reads the softmax output of the enclosing function",
        ),
        Invalid(
            """
            import numpy as np

            class MultiHeadAttention:
                def forward(self, Q, K, V):
                    scores = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(Q.shape[-1])
                    attn = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
                    attn = attn / np.sum(attn, axis=-1, keepdims=True)
                    self.cache = {'Q': Q, 'K': K, 'V': V, 'attn': attn}
                    return attn @ V

                def backward(self, dout):
                    Q, K, V = self.cache['Q'], self.cache['K'], self.cache['V']
                    attn = self.cache['attn']
                    dV = attn.transpose(0, 1, 3, 2) @ dout
                    dattn = dout @ V.transpose(0, 1, 3, 2)
                    dscores = dattn * attn * (1 - attn)
                    return dscores @ K / np.sqrt(Q.shape[-1]), dV
            """,
            line=16,
            message="`attn` is a softmax output",
            why="a transformer-from-scratch attention (code-index id 61333871650, transformer.py:130): the attention "
            "weights cached in a dict literal self.cache and read back as self.cache['attn']",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)

            class Attention:
                def __init__(self):
                    self.cache = {}

                def forward(self, q, k, v):
                    self.cache['v'] = v
                    self.cache['weights'] = softmax(q @ k.T)
                    return self.cache['weights'] @ v

                def backward(self, dout):
                    cache = self.cache
                    w = cache['weights']
                    dw = dout @ cache['v'].T
                    return (dw * w * (1 - w)) @ self.k
            """,
            line=20,
            message="softmax",
            why="an element store self.cache['weights'] = softmax(...) after an empty dict in __init__, read through the alias cache = self.cache",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class GATLayer:
                def forward(self, H, adj):
                    self.H = H
                    e = H @ self.a1 + (H @ self.a2).T
                    e_exp = np.exp(e - np.max(e, axis=1, keepdims=True))
                    e_exp *= adj
                    self.attention = e_exp / np.sum(e_exp, axis=1, keepdims=True)
                    return self.attention @ H

                def backward(self, grad_output):
                    g = grad_output @ self.H.T
                    s = self.attention
                    return s * (g - np.sum(g * s, axis=1, keepdims=True))
            """,
            why="the masked attention softmax's VJP",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x, deriv=False):
                if deriv:
                    return x * (1.0 - x)
                return 1.0 / (1.0 + np.exp(-x))

            def softmax(x, derivative=False):
                if derivative:
                    return np.diag(x) - np.outer(x, x)
                e = np.exp(x - np.max(x))
                return e / np.sum(e)

            def softmax2(x, deriv=False):
                if deriv:
                    return x * (1 - x)
                e = np.exp(x - np.max(x))
                return e / np.sum(e)

            def softmax_jacobian(z):
                s = softmax2(z)
                J = -np.outer(s, s)
                J[np.diag_indices_from(J)] = softmax2(s, deriv=True)
                return J
            """,
            why="derivative switches: a sigmoid's s*(1-s), and a softmax's full Jacobian from its output; a "
            "switch's s*(1-s) written onto the diagonal of -outer(s, s) by its caller (rev13a fp/02)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / np.sum(e)

            def softmax_jacobian(x):
                y = softmax(x)
                J = np.diag(y * (1 - y))
                for i in range(len(y)):
                    for j in range(len(y)):
                        if i != j:
                            J[i, j] = -y[i] * y[j]
                return J
            """,
            why="the adversarial review: the diagonal s*(1-s) first, then every off-diagonal entry -s_i*s_j written in a loop",
        ),
        Valid(
            """
            import numpy as np

            class MultiHeadAttention:
                def forward(self, Q, K, V):
                    scores = Q @ K.transpose(0, 2, 1)
                    attn = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
                    attn = attn / np.sum(attn, axis=-1, keepdims=True)
                    self.cache = {'attn': attn, 'V': V}
                    return attn @ V

                def backward(self, dout):
                    attn = self.cache['attn']
                    dattn = dout @ self.cache['V'].transpose(0, 2, 1)
                    return attn * (dattn - np.sum(dattn * attn, axis=-1, keepdims=True))
            """,
            why="the softmax VJP through a dict cache (right)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            class Block:
                def forward(self, x, W, U):
                    self.cache = {'attn': softmax(x @ W), 'gate': sigmoid(x @ U)}
                    return self.cache['attn'] * self.cache['gate']

                def set_mask(self, mask):
                    self.cache['attn'] = mask

                def backward(self, dout):
                    g = self.cache['gate']
                    a = self.cache['attn']
                    return dout * g * (1 - g), dout * a * (1 - a)
            """,
            why="traps: a dict entry holding a sigmoid gate (g*(1-g) is right), and an entry another method "
            "overwrites with something else (self.cache['attn'] = mask): not known to be a softmax output",
        ),
        Valid(
            """
            import numpy as np

            class Attention:
                def forward(self, q, k, extra):
                    s = q @ k.T
                    a = np.exp(s - s.max(axis=-1, keepdims=True))
                    self.cache = {'attn': a / a.sum(axis=-1, keepdims=True)}
                    self.cache.update(extra)
                    return self.cache['attn']

                def backward(self, dout):
                    a = self.cache['attn']
                    return dout * a * (1 - a)
            """,
            why="trap: self.cache.update(extra) may replace the entry: the dict is not followed",
        ),
        Valid(
            """
            import numpy as np

            class LogSig:
                def __call__(self, x):
                    return 1 / (1 + np.exp(-x))

                def deriv(self, x, y):
                    return y * (1 - y)

            class SoftMax:
                def __call__(self, dist):
                    exp = np.exp(dist - np.max(dist))
                    return exp / exp.sum()

                def deriv(self, x, y):
                    J = -np.outer(y, y)
                    np.fill_diagonal(J, y * (1 - y))
                    return J
            """,
            why="neurolab's LogSig.deriv(x, y) = y*(1-y) is right for a sigmoid; a softmax deriv writing y*(1-y) onto the diagonal of -y y^T is the whole Jacobian",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=-1, keepdims=True))
                    return e / e.sum(axis=-1, keepdims=True)

                def confidence(self, p):
                    return p * (1 - p)

                def sigmoid_prime(self, a):
                    return a * (1 - a)

                def gate_prime(self, g):
                    return g * (1 - g)

                def gated_grad(self, z, dout):
                    g = 1 / (1 + np.exp(-z))
                    return dout * self.gate_prime(g)
            """,
            why="trap: in a softmax class, a method not named as a derivative (a statistic), one named as another nonlinearity's (sigmoid_prime), and a derivative the class calls on a sigmoid output",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / e.sum()

            def softmax_jacobian(s):
                J = -np.outer(s, s)
                J[np.diag_indices_from(J)] = s * (1 - s)
                return J

            def softmax_jacobian_where(s):
                return np.where(np.eye(len(s), dtype=bool), s * (1 - s), -np.outer(s, s))

            class Softmax:
                def forward(self, x):
                    self.s = softmax(x)
                    return self.s

                def backward(self, g):
                    return softmax_jacobian(self.s) @ g + 0 * softmax_jacobian_where(self.s) @ g
            """,
            why="the whole Jacobian: -s s^T off the diagonal, s*(1-s) written on it (diag_indices_from, np.where)",
        ),
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
            import torch

            def _softmax_backward_data(grad_output, output, dim, input_dtype):
                grad_input = grad_output * output * (1 - output)
                return grad_input.contiguous()

            def _softmax(x, dim, half_to_float):
                x_max = torch.amax(x, dim, keepdim=True)
                unnormalized = torch.exp(x - x_max)
                return unnormalized / torch.sum(unnormalized, dim, keepdim=True)
            """,
            why="names only (a torch._decomp mutation): a free function's `output` parameter is tied to the softmax forward beside it by its name alone, no call passes it",
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
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def softmax_ce_grad_hess(z, y):
                p = softmax(z)
                grad = p - y
                hess = p * (1 - p)
                return grad, hess

            class NewtonStep:
                def backward(self, z):
                    p = softmax(z)
                    self.hess = 2.0 * p * (1.0 - p)
                    return p

            def softmax_hessian_diag(z):
                s = softmax(z)
                return s * (1 - s)

            def newton_step_diag(W, X, y, lr=1.0):
                p = softmax(X @ W)
                g = X.T @ (p - y)
                h = (X ** 2).T @ (p * (1 - p)) + 1e-6
                return W - lr * g / h
            """,
            why="xgboost-style custom objectives: the diagonal of the softmax cross-entropy's Hessian is exactly p*(1-p)",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def d2_loss(z, y):
                p = softmax(z)
                return p * (1 - p)

            def second_derivative(z, y):
                p = softmax(z)
                return p * (1 - p)

            class SoftmaxCrossEntropy:
                def forward(self, z, y):
                    self.p = softmax(z)
                    return -np.sum(y * np.log(self.p + 1e-12))

                def diag_ggn(self):
                    return self.p * (1 - self.p)

                def grad_and_diag(self, z, y):
                    p = softmax(z)
                    return p - y, p * (1 - p)
            """,
            why="second-order values not named hess: d2_loss, second_derivative, a generalised Gauss-Newton diagonal, a (gradient, Hessian) pair",
        ),
        Valid(
            """
            import numpy as np

            def softmax(x):
                exp_x = np.exp(x - np.max(x, axis=1).reshape(-1, 1))
                return exp_x / np.sum(exp_x, axis=1).reshape(-1, 1)

            def multiclass_objective(y_true, y_pred):
                num_rows, num_class = y_pred.shape
                prob = softmax(y_pred)
                grad = prob.copy()
                grad[np.arange(num_rows), y_true.astype(np.int32)] -= 1.0
                factor = num_class / (num_class - 1)
                hess = factor * prob * (1 - prob)
                return grad, hess
            """,
            why="real code (LightGBM's test objective helpers): a constant factor times the Hessian diagonal is no upstream gradient",
        ),
        Valid(
            """
            import numpy as np
            from dezero.core import Function

            class Softmax(Function):
                def __init__(self, axis=1):
                    self.axis = axis

                def forward(self, x):
                    y = x - x.max(axis=self.axis, keepdims=True)
                    y = np.exp(y)
                    y /= y.sum(axis=self.axis, keepdims=True)
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    gx = y * gy
                    sumdx = gx.sum(axis=self.axis, keepdims=True)
                    gx -= y * sumdx
                    return gx
            """,
            why="dezero's own Softmax: the VJP on self.outputs[0]() (forward normalised in place)",
        ),
        Valid(
            """
            import numpy as np
            from dezero.core import Function

            class Sigmoid(Function):
                def forward(self, x):
                    y = 1 / (1 + np.exp(-x))
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    gx = gy * y * (1 - y)
                    return gx

            class Softmax(Function):
                def forward(self, x):
                    y = np.exp(x - x.max(axis=1, keepdims=True))
                    y /= y.sum(axis=1, keepdims=True)
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    gx = y * gy
                    gx -= y * gx.sum(axis=1, keepdims=True)
                    return gx
            """,
            why="trap: dezero Sigmoid.backward gy*y*(1-y) on self.outputs[0]() beside a softmax Function",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def positive_class_grad(z, dp):
                p = softmax(z)
                return dp * p[:, 1] * (1 - p[:, 1])
            """,
            why="trap: a column p[:, 1] of a batch normalised along axis 1 is one class's probability across samples, not a distribution",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=1, keepdims=True))
                return e / np.sum(e, axis=1, keepdims=True)

            def correct_class_grad(z, y):
                probs = softmax(z)
                p = probs[range(len(y)), y]
                return p * (1 - p)
            """,
            why="trap: p = probs[range(n), y] picks one probability per row (fancy index), not a row or column",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1.0 / (1.0 + np.exp(-z))

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0, keepdims=True))
                return e / np.sum(e, axis=0, keepdims=True)

            def sigmoid_jacobian(s):
                return np.diagflat(s * (1 - s))

            def hidden_delta(W1, W2, x, g):
                a = sigmoid(W1 @ x)
                out = softmax(W2 @ a)
                return sigmoid_jacobian(a[:, 0]) @ (W2.T @ g), out
            """,
            why="trap: np.diagflat(s * (1 - s)) called on a sigmoid output (a correct sigmoid Jacobian) beside a softmax",
        ),
        Valid(
            """
            import numpy as np

            class Layer:
                pass

            class Softmax(Layer):
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    return e / e.sum(axis=1, keepdims=True)

                def attach(self, gates):
                    self.outputs = [1 / (1 + np.exp(-gates))]

                def backward(self, gy):
                    y = self.outputs[0]
                    return gy * y * (1 - y)
            """,
            why="trap: self.outputs stored by the class's own method (a sigmoid), not kept by a framework __call__",
        ),
        Valid(
            """
            import numpy as np

            class L1Normalize:
                def forward(self, x):
                    w = np.abs(x) + 1e-12
                    w /= w.sum(axis=1, keepdims=True)
                    self.w = w
                    return w

                def backward(self, gy):
                    w = self.w
                    return gy * w * (1 - w)
            """,
            why="trap: an in-place normalisation w /= w.sum(...) of something that is not an exponential",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def first_entry_grad(z):
                s = softmax(z)
                s0 = s[0]
                return s0 * (1 - s0)
            """,
            why="trap: element 0 of a 1-D softmax (s[0] * (1 - s[0]) is one Jacobian entry, not a whole-vector derivative)",
        ),
        Valid(
            """
            import numpy as np

            class Sigmoid(object):
                def __call__(self, x):
                    return 1.0 / (1.0 + np.exp(-x))

                def derivative(self, x):
                    y = self(x)
                    return y * (1 - y)

            class Softmax(object):
                def __call__(self, x, axis=-1):
                    x = x - x.max(axis=axis, keepdims=True)
                    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)

                def derivative(self, x):
                    y = self(x)
                    return y[..., :, None] * (np.eye(y.shape[-1]) - y[..., None, :])
            """,
            why="mla_sani activations.py: the same y = self(x); y * (1 - y) is right when __call__ is a sigmoid; the softmax's is the whole Jacobian",
        ),
        Valid(
            """
            import numpy as np

            class SoftmaxActivation:
                def forward(self, inputs):
                    e = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                    return e / (np.sum(e, axis=1, keepdims=True) + 1e-9)

                def backward(self, grad_output, outputs):
                    dot = np.sum(grad_output * outputs, axis=1, keepdims=True)
                    return outputs * (grad_output - dot)

            class Activation:
                def forward(self, x):
                    e = np.exp(x - x.max(axis=1, keepdims=True))
                    return e / e.sum(axis=1, keepdims=True)

                def backward(self, grad, out):
                    return grad * out * (1 - out)

            class Sigmoid(Activation):
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))
            """,
            why="the output as a backward parameter: the VJP s*(g - sum(g*s)); and a backward a sigmoid subclass inherits (it serves that forward too)",
        ),
        Valid(
            """
            import torch

            class SigmoidFunc(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    y = torch.sigmoid(x)
                    ctx.save_for_backward(y)
                    return y

                @staticmethod
                def backward(ctx, grad_output):
                    y, = ctx.saved_tensors
                    return grad_output * y * (1 - y)

            class SoftmaxFunc(torch.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    y = torch.softmax(x, dim=-1)
                    ctx.save_for_backward(x, y)
                    return y

                @staticmethod
                def backward(ctx, grad_output):
                    x, y = ctx.saved_tensors
                    g = torch.sigmoid(x)
                    return grad_output * y - y * (grad_output * y).sum(dim=-1, keepdim=True) + 0 * g * (1 - g)
            """,
            why="torch Functions: a sigmoid's saved output (right), and a softmax Function whose s*(1-s) is of another saved value (the input's sigmoid)",
        ),
        Valid(
            """
            import functools
            import jax
            import jax.numpy as jnp
            import tensorflow as tf

            @jax.custom_vjp
            def sigmoid(x):
                return 1 / (1 + jnp.exp(-x))

            def sigmoid_fwd(x):
                y = sigmoid(x)
                return y, y

            def sigmoid_bwd(y, g):
                return (g * y * (1 - y),)

            sigmoid.defvjp(sigmoid_fwd, sigmoid_bwd)

            @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
            def scaled_softmax(t, x):
                return jax.nn.softmax(x / t)

            def scaled_fwd(t, x):
                y = scaled_softmax(t, x)
                return y, jax.nn.sigmoid(x)

            def scaled_bwd(t, s, g):
                return (g * s * (1 - s),)

            scaled_softmax.defvjp(scaled_fwd, scaled_bwd)

            @tf.custom_gradient
            def gate(x):
                y = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))
                y = y / tf.reduce_sum(y, axis=-1, keepdims=True)

                def grad(dy):
                    return dy * y * (1 - y)

                y = tf.sigmoid(x)
                return y, grad

            @tf.custom_gradient
            def softmax(x):
                y = tf.nn.softmax(x, axis=-1)

                def grad(dy):
                    return y * (dy - tf.reduce_sum(dy * y, axis=-1, keepdims=True))

                return y, grad
            """,
            why="framework hooks done right or unclear: a jax sigmoid's residual, bwd parameters shifted by nondiff_argnums, a tf closure over a name reassigned (the closure reads the last value), the tf softmax VJP",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        reported: set[int] = set()
        roots = list(arithmetic_roots(analysis))
        for site in (*logistic_sites(analysis, iter(roots)), *_column_sites(analysis, roots)):
            if id(site.expression) in reported:
                continue
            if _in_matrix_context(analysis, site.expression) or _is_reduced(analysis, site.expression):
                continue
            if not site.multiplier and not in_derivative_context(analysis, site.expression):
                continue  # p*(1-p) outside any derivative: a variance, not a gradient
            if not _times_a_parameter(analysis, site) and _second_order(analysis, site.expression):
                continue  # a Hessian or a variance (an upstream gradient never multiplies those)
            role = semantics.role_of(site.atom)
            if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not ForwardKind.SOFTMAX:
                continue
            function = analysis.index.function_containing(site.expression)
            if builds_outer_product(analysis, function, site.atom):
                continue
            if _diag_then_filled(analysis, function, site.expression):
                continue  # `J = np.diag(y * (1 - y))`, then its off-diagonal entries written: the whole Jacobian
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
        yield from _diagonal_jacobians(analysis, reported)
        yield from _softmax_class_derivatives(analysis, reported)
        yield from _switched_softmax_derivatives(analysis, reported)
        for derivative_call in semantics.derivative_calls:
            derivative = derivative_call.derivative
            argument = derivative_call.argument
            if argument is None or derivative.convention is not Convention.ACTIVATION or derivative.returns_jacobian:
                continue
            forms = [f for f in semantics.derivative_forms(derivative.function) if f.shape == "logistic" and not f.in_matrix]
            if not forms or id(derivative_call.call) in reported:
                continue
            if type(derivative.function) is cst.FunctionDef and builds_outer_product(analysis, derivative.function, forms[0].atom):
                continue  # `J = -np.outer(s, s); J[np.diag_indices_from(J)] = s * (1 - s)`: the whole Jacobian
            if _completed_by_caller(analysis, derivative_call.call, argument):
                continue  # the caller writes it onto the diagonal of `-np.outer(s, s)`
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


def _completed_by_caller(analysis: ModuleAnalysis, call: cst.Call, argument: Optional[cst.BaseExpression]) -> bool:
    """The function holding `call` also builds the outer product of its argument (`-np.outer(s, s)`): the
    elementwise s*(1-s) it returns is the diagonal of a whole Jacobian there."""
    if argument is None:
        return False
    return builds_outer_product(analysis, analysis.index.function_containing(call), argument)


def _switched_softmax_derivatives(analysis: ModuleAnalysis, reported: set[int]) -> Iterator[Finding]:
    """`def softmax(x, deriv=False): if deriv: return x * (1 - x)` then the softmax: a derivative switch
    (semantics.derivative_flag: every return without the flag is a softmax of the parameter) whose branch
    with the flag returns the elementwise s*(1-s) of that parameter, in the activation convention."""
    semantics = analysis.semantics
    for function in analysis.index.nodes(cst.FunctionDef):
        if flag_parameter(function) is None:
            continue
        switch = semantics.derivative_flag(function)
        if switch is None or switch.forward is not ForwardKind.SOFTMAX:
            continue
        derivative = switch.derivative
        if derivative.returns_jacobian or derivative.convention is not Convention.ACTIVATION or id(derivative.node) in reported:
            continue
        forms = [f for f in semantics.derivative_forms(function) if f.node is derivative.node and f.shape == "logistic" and not f.in_matrix]
        if not forms or builds_outer_product(analysis, function, forms[0].atom):
            continue
        if any(
            call.derivative.function is function and _completed_by_caller(analysis, call.call, call.argument)
            for call in semantics.derivative_calls
        ):
            continue  # `J = -np.outer(s, s); J[np.diag_indices_from(J)] = softmax(s, deriv=True)`: the diagonal of a whole Jacobian
        reported.add(id(derivative.node))
        yield Finding(
            derivative.node,
            f"softmax derivative computed as the elementwise `{analysis.code_for(derivative.node)}` {_LOST}: "
            f"`{function.name.value}` is a softmax when `{switch.param}` is unset, and with `{switch.param}=True` it "
            f"returns s*(1-s) of its argument `{switch.input_param}`, the softmax output; {_INSTEAD}",
        )


def _softmax_class_derivatives(analysis: ModuleAnalysis, reported: set[int]) -> Iterator[Finding]:
    """neurolab's `class SoftMax: __call__ = exp / exp.sum(); def deriv(self, x, y): return y * (1 - y)`: a
    method named as a derivative (`deriv`, `derivative`, `softmax_prime`; not the backward, whose parameter
    is the upstream gradient) of a class whose forward is a softmax by its body, computing the
    activation-convention `s*(1-s)` of a parameter. Its own formula says the parameter is the forward's
    output, and no call in the module passes it a value whose role is known (such calls are judged
    where they are made)."""
    semantics = analysis.semantics
    called = {  # a call passing a value of known role decides (reported at the call when a softmax output)
        id(c.derivative.function)
        for c in semantics.derivative_calls
        if c.argument is not None and semantics.role_of(c.argument, at=c.call) is not None
    }
    for class_def in analysis.index.nodes(cst.ClassDef):
        info = semantics.class_info(class_def)
        if info.forward_kind is not ForwardKind.SOFTMAX or info.forward is None:
            continue
        for method in analysis.index.methods(class_def).values():
            backward = method.name.value in BACKWARD_METHODS
            if method is info.forward or not (backward or _names_the_class_derivative(method, class_def, info.forward)):
                continue
            if id(method) in called or _inherited_by_another_forward(analysis, class_def, method):
                continue
            derivative = semantics.derivative_of(method)
            if (
                derivative is None
                or derivative.convention is not Convention.ACTIVATION
                or derivative.returns_jacobian
                or derivative.input_param is None
                or derivative.forward_kind is not ForwardKind.SOFTMAX
                or (backward and derivative.upstream_param == derivative.input_param)
            ):
                continue
            for form in semantics.derivative_forms(method):
                if form.shape != "logistic" or form.in_matrix or id(form.node) in reported:
                    continue
                if type(form.atom) is not cst.Name or form.atom.value != derivative.input_param:
                    continue
                if _in_matrix_context(analysis, form.node) or _is_reduced(analysis, form.node) or _second_order(analysis, form.node):
                    continue
                if builds_outer_product(analysis, method, form.atom):
                    continue
                reported.add(id(form.node))
                forward = f"{class_def.name.value}.{info.forward.name.value}"
                param = derivative.input_param
                what = "the backward pass" if backward else "the derivative"
                yield Finding(
                    form.node,
                    f"{class_def.name.value}.{method.name.value} computes the softmax derivative as the elementwise "
                    f"`{analysis.code_for(form.node)}` {_LOST}: {method.name.value} is {what} of {forward} "
                    f"(a softmax by its body) written in its output {param}; {_INSTEAD}",
                )
                break


def _inherited_by_another_forward(analysis: ModuleAnalysis, class_def: cst.ClassDef, method: cst.FunctionDef) -> bool:
    """A subclass keeps `method` but replaces the softmax forward with another one (`class Sigmoid(Activation)`
    inheriting `backward(grad, out) = grad * out * (1 - out)`): the method serves that forward too."""
    semantics = analysis.semantics
    for subclass in semantics.subclasses(class_def):
        info = semantics.class_info(subclass)
        if info.forward_kind is not ForwardKind.SOFTMAX and semantics.find_method(subclass, method.name.value) is method:
            return True
    return False


def _names_the_class_derivative(method: cst.FunctionDef, class_def: cst.ClassDef, forward: cst.FunctionDef) -> bool:
    """`deriv`, `derivative`, `prime` (a class's generic derivative), or a derivative name pointing at
    the softmax, the class or its forward (`softmax_prime`, `d_softmax`); not `sigmoid_prime`, a helper
    for another nonlinearity that happens to live in the class."""
    name = method.name.value
    if name.lower() in DERIVATIVE_METHODS:
        return True
    base = derivative_base(name)
    if base is None:
        return False
    base = base.lower()
    return "softmax" in base or base in (class_def.name.value.lower(), forward.name.value.lower())


def _column_sites(analysis: ModuleAnalysis, roots: list[cst.BaseExpression]) -> Iterator[FormulaSite]:
    """`s*(1-s)` whose atom is a whole row or column of an array, `yi[:, 0] * (1 - yi[:, 0])` (the shared
    formula sites leave every subscript to the loop-filled Jacobian rules); whether the row or column
    is a whole softmax distribution is the semantic model's answer (`role_of`)."""
    for root in roots:
        polynomial, atoms = expand_with_atoms(analysis, root)
        if polynomial is None or len(polynomial.terms) < 2:
            continue
        for form in algebra.logistic_form(polynomial):
            atom = atoms.get(form.atom)
            if type(atom) is cst.Subscript and _is_row_or_column(atom):
                yield FormulaSite(root, atom, form.multiplier, "logistic")


def _is_row_or_column(subscript: cst.Subscript) -> bool:
    """`a[:, 0]`, `a[0]`, `a[0, :]`: full slices (or new axes) and one integer literal."""
    integers = 0
    for element in subscript.slice:
        inner = element.slice
        if type(inner) is cst.Slice:
            if inner.lower is not None or inner.upper is not None or inner.step is not None:
                return False
        elif type(inner) is cst.Index and type(_unnegated(inner.value)) is cst.Integer:
            integers += 1
        elif not (type(inner) is cst.Index and type(inner.value) is cst.Name and inner.value.value == "None"):
            return False
    return integers == 1


def _unnegated(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.expression if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus else node


def _diagonal_jacobians(analysis: ModuleAnalysis, reported: set[int]) -> Iterator[Finding]:
    """`def softmax_jacobian(s): return np.diagflat(s * (1 - s))` (activation convention) where every
    call passes a softmax output: a Jacobian that is its diagonal only. (Called on sigmoid outputs,
    the same function is a correct sigmoid Jacobian: the callers decide.)"""
    semantics = analysis.semantics
    calls_by_function: dict[int, list] = {}
    for derivative_call in semantics.derivative_calls:
        derivative = derivative_call.derivative
        if derivative.convention is Convention.ACTIVATION and derivative.returns_jacobian and derivative.input_param:
            calls_by_function.setdefault(id(derivative.function), []).append(derivative_call)
    for calls in calls_by_function.values():
        derivative = calls[0].derivative
        function = derivative.function
        if type(function) is not cst.FunctionDef:
            continue
        diagonal = _returned_diagonal_formula(analysis, function, derivative.input_param)  # type: ignore[arg-type]
        if diagonal is None or id(diagonal[0]) in reported:
            continue
        formula, atom = diagonal
        if builds_outer_product(analysis, function, atom):
            continue
        roles = []
        for derivative_call in calls:
            argument = derivative_call.argument
            role = semantics.role_of(argument, at=derivative_call.call) if argument is not None else None
            if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not ForwardKind.SOFTMAX:
                break
            roles.append((derivative_call, role))
        else:
            first_call, role = roles[0]
            reported.add(id(formula))
            diag = analysis.code_for(_parent_call(analysis, formula) or formula)
            others = f" (and {len(roles) - 1} more call{'s' if len(roles) > 2 else ''})" if len(roles) > 1 else ""
            yield Finding(
                formula,
                f"{function.name.value} returns `{diag}` as the Jacobian of a softmax output "
                f"(`{analysis.code_for(first_call.call)}` on line {analysis.line_of(first_call.call)}{others} passes "
                f"{role.why}): the elementwise s*(1-s) is the softmax Jacobian's diagonal only, the off-diagonal "
                f"terms -s_i*s_j are lost; {_INSTEAD}",
            )


def _returned_diagonal_formula(
    analysis: ModuleAnalysis, function: cst.FunctionDef, param: str
) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """The `s * (1 - s)` of `return np.diag(s * (1 - s))` (through one local name) when `s` is `param`:
    the function's every return is that diagonal matrix."""
    facts = analysis.semantics.facts(function)
    found: Optional[tuple[cst.BaseExpression, cst.BaseExpression]] = None
    for returned in facts.returns:
        value = resolve(analysis, returned)
        if type(value) is not cst.Call or last_part(call_name(value)) not in {"diag", "diagflat"}:
            return None
        args = [a.value for a in value.args if a.keyword is None and not a.star]
        if len(args) != 1:
            return None
        formula = resolve(analysis, args[0])
        polynomial, atoms = expand_with_atoms(analysis, formula)
        forms = [f for f in algebra.logistic_form(polynomial) if not f.multiplier]
        if len(forms) != 1 or atoms.get(forms[0].atom) is None:
            return None
        atom = atoms[forms[0].atom]
        if type(atom) is not cst.Name or atom.value != param:
            return None
        if found is not None:
            return None
        found = (formula, atom)
    return found


def _parent_call(analysis: ModuleAnalysis, node: cst.CSTNode) -> Optional[cst.Call]:
    parent = analysis.index.parent(node)
    if type(parent) is cst.Arg:
        call = analysis.index.parent(parent)
        if type(call) is cst.Call:
            return call
    return None


def _diag_then_filled(analysis: ModuleAnalysis, function: Optional[cst.FunctionDef], node: cst.CSTNode) -> bool:
    """`J = np.diag(y * (1 - y))` (the diagonal) whose name later gets element stores in the same function
    (`J[i, j] = -y[i] * y[j]` for `i != j`, `J[mask] = ...`): the off-diagonal is filled in afterwards."""
    call = _parent_call(analysis, node)
    if function is None or call is None or last_part(call_name(call)) not in {"diag", "diagflat"}:
        return False
    holder = analysis.index.parent(call)
    if type(holder) is not cst.Assign or holder.value is not call or len(holder.targets) != 1 or type(holder.targets[0].target) is not cst.Name:
        return False
    name = holder.targets[0].target.value
    order = analysis.index.order
    for store in analysis.index.nodes_in(function, cst.Assign):
        if order.get(store, 0) <= order.get(holder, 0):
            continue
        for target in store.targets:
            if type(target.target) is not cst.Subscript or dotted_name(target.target.value) != name:
                continue
            in_loop = any(type(a) in (cst.For, cst.While) for a in analysis.index.ancestors(store))
            slices = target.target.slice
            masked = len(slices) == 1 and type(slices[0].slice) is cst.Index and type(slices[0].slice.value) in (cst.Name, cst.Call, cst.UnaryOperation)
            if in_loop or masked:  # entry by entry in a loop, or through a mask (not one fixed entry)
                return True
    return False


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


_SECOND_ORDER_FUNCTION = re.compile(r"hess|newton|curvature|fisher|variance|second_deriv|ggn|(?:^|_)d2(?:_|$)", re.IGNORECASE)
_SECOND_ORDER_VALUE = re.compile(r"hess|curvature|fisher|variance|ggn|^var$", re.IGNORECASE)


def _times_a_parameter(analysis: ModuleAnalysis, site: FormulaSite) -> bool:
    """Whether an upstream gradient multiplies the formula (`dout * s * (1 - s)`): a parameter of the
    function, or an attribute of self named as one (`self.grad`); a constant factor
    (`factor * p * (1 - p)`, LightGBM's Hessian) or a weight (`self.weight`) does not count."""
    function = analysis.index.function_containing(site.expression)
    if function is None or not site.multiplier:
        return False
    method = analysis.index.class_of(function) is not None
    params = set(positional_parameters(function, method))
    params |= {param.name.value for param in function.params.kwonly_params}
    self_name = function.params.params[0].name.value if method and function.params.params else None
    for atom in site.multiplier:
        head, _, attr = atom.partition(".")
        if head in params or (head == self_name and is_gradient_name(attr)):
            return True
    return False


def _second_order(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    """Stored as a Hessian, a curvature or a variance (`hess = p * (1 - p)`), computed by a function
    so named (`softmax_hessian_diag`, `newton_step`, `d2_loss`, `diag_ggn`), or returned second in a
    (gradient, Hessian) pair (`return p - y, p * (1 - p)`, xgboost's objectives): the diagonal of the
    softmax cross-entropy's Hessian is exactly p*(1-p), and so is the Bernoulli variance; neither is
    a first derivative. The caller has checked that no upstream gradient multiplies it."""
    function = analysis.index.function_containing(node)
    if function is not None and _SECOND_ORDER_FUNCTION.search(function.name.value):
        return True
    parent = analysis.index.parent(node)
    if type(parent) is cst.Element:
        pair = analysis.index.parent(parent)
        if type(pair) is cst.Tuple and type(analysis.index.parent(pair)) is cst.Return and pair.elements[0] is not parent:
            return True
    for ancestor in analysis.index.ancestors(node):
        if type(ancestor) is cst.Assign:
            targets = [target.target for target in ancestor.targets]
        elif type(ancestor) in (cst.AugAssign, cst.AnnAssign):
            targets = [ancestor.target]
        elif isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseStatement, cst.Lambda)):
            return False
        else:
            continue
        return any(_SECOND_ORDER_VALUE.search(last_part(dotted_name(target)) or "") for target in targets)
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
