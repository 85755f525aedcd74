"""GL204 upstream-gradient-unused: a backward that drops the gradient it is given."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Role, Semantics
from gradlint.analysis.syntax import ARRAY_METADATA, call_name, dotted_name, last_part, literal_number
from gradlint.diagnostics import Severity
from gradlint.naming import is_gradient_name
from gradlint.rule import Finding, Invalid, Rule, Valid

_DYNAMIC = frozenset({"locals", "vars", "eval", "exec", "globals"})
_PASS_THROUGH = frozenset({"ones_like", "ones", "identity", "eye"})
_PLAIN_BASES = frozenset({"object", "ABC", "Generic", "Protocol"})
_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "add", "__setitem__", "push", "put"})


class UpstreamGradientUnused(Rule):
    code = "GL204"
    name = "upstream-gradient-unused"
    severity = Severity.ERROR
    summary = "A backward takes the upstream gradient and never uses it (or only feeds it to the nonlinearity)."
    what_it_does = """
        Finds a backward pass (a layer's `backward`, a `*_backward` function) whose upstream
        gradient parameter (`grad`, `dout`, `dvalues`, `delta`, `output_error`,
        `output_gradient`, `dA`, or the one parameter of a layer's `backward`) is never read,
        or is read only as the argument of the nonlinearity (`1 - np.tanh(dA)**2`) while the
        cache that holds the real input goes unused (or is read only for its shape, as in the
        Coursera-style `assert dZ.shape == Z.shape`), or is read only as the input of a
        derivative function (`do = sigmoid_prime(dout)`: the point the derivative is evaluated
        at, never multiplied in; reads of its shape aside). These two are reported only when the
        parameter is named as a gradient (`dout`, `grad_output`, `dx`, a name holding `grad`,
        `delta`, `err`) and not as the forward's input: the `backward(self, x)` of a stateless
        activation class (`return 1 - np.tanh(x)**2`) is the derivative at x, which the caller
        multiplies by the gradient. An unread gradient is reported only
        where the function does backprop work that should have used it: it writes a
        derivative formula or a relu mask, or it is the backward of a layer whose forward
        is a nonlinearity or an affine map (shape-only functions and hooks are left alone).
        Also a copy of the upstream gradient whose masked entries are overwritten with a nonzero
        constant (`dZ = np.array(dA, copy=True); dZ[Z <= 0] = 0.01`: a leaky ReLU's slope alone where
        the chain rule needs `0.01 * dA`). Also the forward-mode twin: a JAX `custom_jvp` rule (`@f.defjvp`, `f.defjvp(rule)`)
        that never reads its tangents (its last parameter, or only unpacks them into names it
        never reads) yet returns a tangent that is not zero: a JVP must be linear in the input
        tangent, so one that ignores it returns the local derivative alone.
        """
    why_bad = """
        The chain rule multiplies the local derivative by the gradient flowing back from
        the loss. A backward that ignores it returns the local derivative alone, so every
        earlier layer is trained on a gradient that does not depend on the loss at all; one
        that evaluates the derivative at the gradient computes a meaningless number.
        """
    example = """
        class Sigmoid:
            def backward(self, dout):
                return self.out * (1 - self.out)
        """
    use_instead = """
        class Sigmoid:
            def backward(self, dout):
                return dout * self.out * (1 - self.out)
        """
    references = ("Backpropagation, the chain rule: https://en.wikipedia.org/wiki/Backpropagation",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            def leaky_relu_backward(dA, cache):
                Z = cache
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] = 0.01
                return dZ

            class LeakyReLU:
                def __init__(self, alpha=0.2):
                    self.alpha = alpha

                def forward(self, x):
                    self.x = x
                    return np.where(x > 0, x, self.alpha * x)

                def backward(self, dout):
                    slope = 0.2
                    dx = dout.copy()
                    dx[self.x < 0] = slope
                    return dx
            """,
            line=6,
            count=2,
            message="with the slope",
            why="daniellaah's deeplearning.ai DeepNeuralNetwork.leaky_relu_backward (review 4): the masked entries of the "
            "copied upstream gradient become the slope itself",
        ),
        Invalid(
            """
            import numpy as np

            class Tanh:
                def forward(self, x):
                    self.x = x
                    return np.tanh(x)

                def backward(self, dLdA):
                    return 1 - np.tanh(dLdA) ** 2

            class Sigmoid:
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))

                def backward(self, gy):
                    s = 1 / (1 + np.exp(-gy))
                    return s * (1 - s)
            """,
            line=8,
            count=2,
            message="only inside the nonlinearity",
            why="the adversarial review: Leibniz-quotient and chainer spellings of the upstream gradient (dLdA, gy) stay gradients",
        ),
        Invalid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, x):
                    self.out = 1 / (1 + np.exp(-x))
                    return self.out

                def backward(self, dout):
                    return self.out * (1 - self.out)
            """,
            line=8,
            message="never reads it",
            why="a layer class whose backward returns the local derivative only",
        ),
        Invalid(
            """
            import numpy as np

            def tanh_backward(dA, cache):
                Z = cache
                return 1 - np.tanh(dA) ** 2
            """,
            line=3,
            message="only inside the nonlinearity",
            why="a (dA, cache) function evaluating the derivative at the gradient",
        ),
        Invalid(
            """
            import numpy as np

            def tanh_backward(dA, cache):
                Z = cache
                dZ = 1 - np.power(np.tanh(dA), 2)
                assert (dZ.shape == Z.shape)
                return dZ

            def sigmoid_backward(dA, cache):
                assert dA.shape == cache.shape
                s = 1 / (1 + np.exp(-dA))
                return s * (1 - s)
            """,
            line=3,
            count=2,
            message="only inside the nonlinearity",
            why="sherwyn11/Skyplay-NN activation_functions.py: the cache read only by the Coursera-style shape assert",
        ),
        Invalid(
            """
            import numpy as np

            class Dense:
                def forward(self, inputs):
                    self.inputs = inputs
                    return inputs @ self.weights + self.biases

                def backward(self, dvalues):
                    self.dweights = self.inputs.T @ np.ones((self.inputs.shape[0], self.weights.shape[1]))
                    self.dbiases = np.sum(self.biases, axis=0, keepdims=True)
                    self.dinputs = self.weights.T
            """,
            line=8,
            message="the gradients it computes ignore dvalues",
            why="a dense layer whose parameter gradients ignore dvalues",
        ),
        Invalid(
            """
            import numpy as np

            def relu_backward(delta, z):
                return (z > 0).astype(float)
            """,
            line=3,
            why="a free function: the relu mask without the incoming delta",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(t):
                return 1.0 / (1.0 + np.exp(-t))

            def sigmoid_prime(t):
                return sigmoid(t) * (1 - sigmoid(t))

            class Out:
                def backward(self, dout):
                    do = sigmoid_prime(dout)
                    return do @ self.W.T
            """,
            line=10,
            message="reads its upstream gradient dout only as the input of the derivative sigmoid_prime",
            why="nets rnn.py: do = sigmoid_prime(dout[t]), the gradient is the point the derivative is evaluated at",
        ),
        Invalid(
            """
            import numpy as np

            def tanh_prime(a):
                return 1 - a ** 2

            def rnn_step_backward(dh, cache):
                x, h_prev, W, U = cache
                dz = tanh_prime(dh[:, 0])
                return np.outer(x, dz), np.outer(h_prev, dz), dz @ U.T, np.zeros(dh.shape)
            """,
            line=6,
            message="only as the input of the derivative tanh_prime",
            why="a (dh, cache) step function: the activation-convention tanh_prime evaluated at a column of the gradient (its shape read aside)",
        ),
        Invalid(
            """
            import numpy as np

            class Tanh:
                def forward(self, x):
                    self.x = x
                    return np.tanh(x)

                def backward(self, dout):
                    return 1 - np.tanh(dout) ** 2
            """,
            line=8,
            message="only inside the nonlinearity (np.tanh(dout) on line 9) and never reads its cached input",
            why="near miss of the femto-flow f'(x) layout: the forward caches self.x, the backward's parameter is named as a gradient",
        ),
        Invalid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))

                def backward(self, grad_output):
                    s = 1 / (1 + np.exp(-grad_output))
                    return s * (1 - s)
            """,
            line=7,
            message="and the layer caches no input for it",
            why="a stateless class whose backward is named as taking the upstream gradient: no f'(x) convention there",
        ),
        Invalid(
            """
            import numpy as np

            class Tanh:
                @staticmethod
                def forward(x):
                    return np.tanh(x)

                @staticmethod
                def backward(dx):
                    return 1 - np.tanh(dx) ** 2
            """,
            line=9,
            message="reads its upstream gradient dx only inside the nonlinearity",
            why="a staticmethod backward whose parameter is named as a gradient (dx, ted027's name for it)",
        ),
        Invalid(
            """
            import jax.numpy as jnp
            from jax import custom_jvp

            @custom_jvp
            def log1pexp(x):
                return jnp.logaddexp(0., x)

            @log1pexp.defjvp
            def log1pexp_jvp(primals, tangents):
                x, = primals
                x_dot, = tangents
                ans = log1pexp(x)
                ans_dot = 1 - 1 / (1 + jnp.exp(x))
                return ans, ans_dot
            """,
            line=9,
            message="never uses its tangent x_dot (unpacked from tangents)",
            why="the JAX custom_jvp docs' log1pexp with `* x_dot` dropped: the forward-mode twin of an unused upstream gradient",
        ),
        Invalid(
            """
            from functools import partial
            import jax
            import jax.numpy as jnp

            @partial(jax.custom_jvp, nondiff_argnums=(0,))
            def scaled_tanh(scale, x):
                return jnp.tanh(scale * x)

            def scaled_tanh_jvp(scale, primals, tangents):
                (x,) = primals
                y = scaled_tanh(scale, x)
                return y, scale * (1 - y ** 2)

            scaled_tanh.defjvp(scaled_tanh_jvp)
            """,
            line=9,
            message="never uses its tangents parameter tangents",
            why="a rule registered by a call, after a nondiff argument: the tangents are its last parameter",
        ),
        Invalid(
            """
            from functools import partial
            import jax

            @jax.custom_jvp
            def mul(x, y):
                return x * y

            @partial(mul.defjvp, symbolic_zeros=True)
            def mul_jvp(primals, tangents):
                x, y = primals
                x_dot, y_dot = tangents
                return mul(x, y), y + x
            """,
            line=9,
            message="never uses its tangents x_dot, y_dot",
            why="a two-argument rule adding the partial derivatives without their tangents",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            def relu_backward(dA, cache):
                Z = cache
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] = 0
                return dZ

            def leaky_relu_backward(dA, Z):
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] *= 0.01
                return dZ

            def leaky_relu_prime(x):
                alpha = 0.01
                dx = np.ones_like(x)
                dx[x < 0] = alpha
                return dx

            def leaky_relu_backward_scaled(dA, Z):
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] = 0.01
                return dZ * dA
            """,
            why="near misses of the slope overwrite: a relu's 0, the slope multiplied in place, a local derivative "
            "built from ones (aeronet-learn's leaky_relu_prime), the gradient read again afterwards",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(t):
                return 1.0 / (1.0 + np.exp(-t))

            def sigmoid_prime(t):
                return sigmoid(t) * (1 - sigmoid(t))

            def sigmoid_backward(dA, Z):
                s = sigmoid(Z)
                return dA * s * (1 - s)

            class Out:
                def forward(self, x):
                    self.z = x @ self.W
                    return sigmoid(self.z)

                def backward(self, dout):
                    do = dout * sigmoid_prime(self.z)
                    return do @ self.W.T

            class Out2(Out):
                def backward(self, dout):
                    return sigmoid_backward(dout, self.z) @ self.W.T
            """,
            why="the gradient multiplies the derivative, or is the upstream argument of a derivative helper (dA of sigmoid_backward)",
        ),
        Valid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, x):
                    self.out = 1 / (1 + np.exp(-x))
                    return self.out

                def backward(self, dout):
                    return dout * self.out * (1 - self.out)
            """,
            why="the gradient is used",
        ),
        Valid(
            """
            class Layer:
                def forward(self, x):
                    raise NotImplementedError

                def backward(self, grad):
                    raise NotImplementedError

            class Identity(Layer):
                def backward(self, grad):
                    pass
            """,
            why="abstract and stub backwards",
        ),
        Valid(
            """
            import numpy as np

            class SoftmaxCrossEntropy:
                def forward(self, logits, y):
                    e = np.exp(logits - logits.max(axis=1, keepdims=True))
                    self.p = e / e.sum(axis=1, keepdims=True)
                    self.y = y
                    return -np.mean(np.log(self.p[range(len(y)), y] + 1e-12))

                def backward(self, grad=1.0):
                    d = self.p.copy()
                    d[range(len(self.y)), self.y] -= 1
                    return d / len(self.y)
            """,
            why="the last layer: a defaulted gradient parameter of 1",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - x.max())
                    self.out = e / e.sum()
                    return self.out

                def backward(self, grad):
                    return np.ones_like(self.out)
            """,
            why="a pass-through softmax backward paired with a fused loss (the catalog's GL203 trap)",
        ),
        Valid(
            """
            import numpy as np

            def tanh_backward(dA, cache):
                Z = cache
                return dA * (1 - np.tanh(Z) ** 2)

            def relu_backward(dA, cache):
                Z = cache
                dZ = np.array(dA, copy=True)
                dZ[Z <= 0] = 0
                assert (dZ.shape == Z.shape)
                return dZ

            def tanh_from_cache(dA, cache):
                Z = cache
                assert dA.shape == Z.shape
                return np.tanh(dA) * (1 - np.tanh(Z) ** 2)
            """,
            why="the gradient multiplies the derivative at the cached pre-activation (also beside a shape assert, "
            "and where the cache is read for its values next to the gradient inside a nonlinearity)",
        ),
        Valid(
            """
            class Turtle:
                def forward(self, distance):
                    self.move(distance)

                def backward(self, distance):
                    self.move(-distance)

                def move(self, d):
                    self.x = getattr(self, "x", 0) + d
            """,
            why="not gradient code: the parameter is read",
        ),
        Valid(
            """
            import torch

            def meta_attention_backward(grad_out, query, key, value):
                return torch.empty_like(query), torch.empty_like(key), torch.empty_like(value)

            def _backward_hook(module, grad_input, grad_output):
                module.calls += 1
            """,
            why="shape-only meta functions and hooks compute no derivative: an unused gradient is no bug there",
        ),
        Valid(
            """
            class Tracker:
                def backward(self, delta, *args, **kwargs):
                    return self.handler(*args, **kwargs, **locals())
            """,
            why="dynamic access (locals()) may read it",
        ),
        Valid(
            """
            import numpy as np

            class TanH:
                def forward(self, x):
                    return np.tanh(x)

                def backward(self, x):
                    return 1 - np.tanh(x) ** 2

            class Sigmoid:
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))

                def backward(self, x):
                    return 1 / (1 + np.exp(-x)) * (1 - (1 / (1 + np.exp(-x))))

            class ActivationLayer:
                def __init__(self, activation):
                    self.activation = activation()

                def forward(self, input):
                    self.input = input
                    return self.activation.forward(input)

                def backward(self, output_error, learning_rate):
                    return self.activation.backward(self.input) * output_error
            """,
            why="TQCB/femto-flow nn/activations.py: backward(x) is f'(x) at the pre-activation, the layer multiplies",
        ),
        Valid(
            """
            import numpy as np

            class Sigmoid:
                @staticmethod
                def forward(x):
                    return 1 / (1 + np.exp(-x))

                @staticmethod
                def backward(x):
                    sig = Sigmoid.forward(x)
                    return sig * (1 - sig)

            class Tanh:
                @staticmethod
                def forward(x):
                    return np.tanh(x)

                @staticmethod
                def backward(z):
                    return 1 - np.tanh(z) ** 2
            """,
            why="AnujJha88/RNN-Implementation activation.py: staticmethod derivatives at the pre-activation",
        ),
        Valid(
            """
            import numpy as np

            class Tanh:
                def forward(self, inputs):
                    self.inputs = inputs
                    return np.tanh(inputs)

                def backward(self, z):
                    return 1 - np.tanh(z) ** 2

            class Act:
                def forward(self, g):
                    return np.tanh(g)

                def backward(self, g):
                    return 1 - np.tanh(g) ** 2

            def sigmoid(t):
                return 1.0 / (1.0 + np.exp(-t))

            def sigmoid_prime(t):
                return sigmoid(t) * (1 - sigmoid(t))

            class Sigmoid:
                def forward(self, x):
                    return sigmoid(x)

                def backward(self, z):
                    return sigmoid_prime(z)
            """,
            why="f'(z) at a parameter whose name does not say gradient (even beside a cache, or through a derivative helper), or named as the forward's input",
        ),
        Valid(
            """
            import math
            import jax
            import jax.numpy as jnp

            @jax.custom_jvp
            def plus_eps(x):
                return jnp.nextafter(jnp.float32(x), jnp.inf)

            @plus_eps.defjvp
            def plus_eps_jvp(primals, tangents):
                return plus_eps(*primals), tangents[0]

            @jax.custom_jvp
            def event(x):
                return (x > 0).astype(x.dtype)

            @event.defjvp
            def event_jvp(primals, tangents):
                (x,), (dx,) = primals, tangents
                s = jax.nn.sigmoid(10 * x)
                return event(x), dx * 10 * s * (1 - s)

            @jax.custom_jvp
            def stable_norm(x):
                return jnp.sqrt(jnp.sum(x * x))

            @stable_norm.defjvp
            def stable_norm_jvp(primals, tangents):
                (x,), (tx,) = primals, tangents
                y = stable_norm(x)
                return y, jnp.where(y == 0, 0.0, jnp.vdot(x, tx) / jnp.where(y == 0, 1.0, y))

            def generate_safe_fn(fn, grad_fn, x_range):
                @jax.custom_jvp
                def safe_fn(x):
                    return fn(jnp.clip(x, *x_range))

                @safe_fn.defjvp
                def safe_fn_jvp(primals, tangents):
                    (x,) = primals
                    (x_dot,) = tangents
                    y = safe_fn(x)
                    return y, grad_fn(jnp.clip(x, *x_range), y, x_dot)

                return safe_fn
            """,
            why="real custom_jvp rules (zipnerf math.py, a spiking-surrogate event, a safe norm): the tangent is passed through or multiplied",
        ),
        Valid(
            """
            import jax
            import jax.numpy as jnp

            @jax.custom_jvp
            def stop(x):
                return x

            @stop.defjvp
            def stop_jvp(primals, tangents):
                x, = primals
                return stop(x), jnp.zeros_like(x)

            @jax.custom_jvp
            def floor_ste(x):
                return jnp.floor(x)

            def floor_ste_jvp(primals, tangents):
                x, = primals
                t_out = 0.0 * x
                return floor_ste(x), t_out

            floor_ste.defjvp(floor_ste_jvp)

            def jvp_via_helper(primals, tangents):
                return helper(primals, tangents)

            stop.defjvp(jvp_via_helper)
            """,
            why="a zero tangent needs no input tangent; a rule that hands its tangents to a helper uses them",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        yield from self._check_backwards(analysis)
        if "defjvp" in analysis.source:
            yield from _check_jvp_rules(analysis)

    def _check_backwards(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        semantics = analysis.semantics
        for function in analysis.index.nodes(cst.FunctionDef):
            if not semantics.is_backward(function):
                continue
            param = semantics.gradient_param(function)
            if param is None or param in semantics.facts(function).defaults:
                continue
            if _is_stub(analysis, function) or _is_dynamic(analysis, function) or _passes_through(analysis, function):
                continue
            reads = _reads(analysis, semantics, function, param)
            slope = _slope_over_gradient(analysis, function, param)
            if slope is not None:
                yield slope
                continue
            node = _param_node(function, param)
            if node is None:
                continue
            qualname = semantics.qualname(function)
            if not reads and _computes_a_local_derivative(analysis, semantics, function):
                returns = any(r.value is not None for r in analysis.index.nodes_in(function, cst.Return))
                consequence = (
                    f"what it returns is the local derivative alone, not the chain-rule product with {param}"
                    if returns
                    else f"the gradients it computes ignore {param}, so they do not depend on the loss"
                )
                yield Finding(node, f"{qualname} takes the upstream gradient {param} but never reads it: {consequence}")
                continue
            if not reads:
                continue
            if not is_gradient_name(param, loosely=True) or _mirrors_forward_input(semantics, function, param):
                # `backward(self, x): return 1 - np.tanh(x)**2` (femto-flow, RNN-Implementation): a body that
                # applies the nonlinearity to its parameter computes f'(x), the logit-convention derivative at x,
                # and the caller multiplies by the gradient. Only the parameter's name could say it holds an
                # upstream gradient instead (`dout`, `dLdA`, `gy`, `sensitivity`); `x`, `z`, `inputs` do not.
                continue
            value_reads = [read for read in reads if not _shape_only(analysis, read)]  # `assert dA.shape == Z.shape` aside
            inside = [_nonlinearity_around(analysis, semantics, read) for read in value_reads]
            if inside and all(call is not None for call in inside) and not _reads_other_inputs(analysis, semantics, function, param):
                first = inside[0]
                assert first is not None
                class_def = semantics.facts(function).class_def
                cache = (
                    "the layer caches no input for it"
                    if class_def is not None and _caches_nothing(analysis, semantics, class_def, function)
                    else "never reads its cached input"
                )
                yield Finding(
                    node,
                    f"{qualname} reads its upstream gradient {param} only inside the nonlinearity "
                    f"({analysis.code_for(first)} on line {analysis.line_of(first)}) and {cache}: "
                    f"the derivative is evaluated at the gradient instead of the pre-activation, and {param} never "
                    f"multiplies it",
                )
                continue
            derivative_call = _only_derivative_input(analysis, semantics, reads)
            if derivative_call is not None:
                callee = analysis.code_for(derivative_call.func)
                yield Finding(
                    node,
                    f"{qualname} reads its upstream gradient {param} only as the input of the derivative {callee} "
                    f"(`{analysis.code_for(derivative_call)}` on line {analysis.line_of(derivative_call)}): the "
                    f"derivative is evaluated at the gradient instead of at the layer's own value, and {param} never "
                    f"multiplies it (the chain rule needs {param} * f'(z))",
                )


def _check_jvp_rules(analysis: ModuleAnalysis) -> Iterator[Finding]:
    """A `jax.custom_jvp` rule (`@f.defjvp`, `f.defjvp(rule)`) that never reads its tangents but returns
    a nonzero tangent: the forward-mode twin of an unused upstream gradient. A JVP must be linear in
    the incoming tangent; one that ignores it is the local derivative alone."""
    for rule, primal in _jvp_rules(analysis):
        params = rule.params
        positional = [*params.posonly_params, *params.params]
        if len(positional) < 2 or isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None:
            continue
        tangents = positional[-1].name.value  # jax: rule(*nondiff_args, primals, tangents)
        if _is_stub(analysis, rule) or _is_dynamic(analysis, rule):
            continue
        if _used(analysis, rule, tangents, depth=0):
            continue
        returned = _returned_tangent(analysis, rule)
        if returned is None:
            continue
        unpacked = _unpacked_names(analysis, rule, tangents)
        if len(unpacked) == 1:
            what, chain = f"its tangent {unpacked[0]} (unpacked from {tangents})", f"f'(x) * {unpacked[0]}"
        elif unpacked:
            names = ", ".join(unpacked)
            what, chain = f"its tangents {names} (unpacked from {tangents})", f"each partial derivative times its tangent ({names})"
        else:
            what, chain = f"its tangents parameter {tangents}", f"the local derivative times the tangents in {tangents}"
        yield Finding(
            positional[-1],
            f"{analysis.semantics.qualname(rule)}, the JVP rule of {primal}, never uses {what}: the tangent it "
            f"returns ({analysis.code_for(returned)} on line {analysis.line_of(returned)}) is the local derivative "
            f"alone, not even linear in the input tangent (the chain rule needs {chain})",
        )


def _jvp_rules(analysis: ModuleAnalysis) -> list[tuple[cst.FunctionDef, str]]:
    """(rule, the primal's name) for each `@f.defjvp` def and each `f.defjvp(rule)` call naming a def."""
    found: list[tuple[cst.FunctionDef, str]] = []
    for function in analysis.index.nodes(cst.FunctionDef):
        for decorator in function.decorators:
            expression = decorator.decorator
            if type(expression) is cst.Call and last_part(call_name(expression)) == "partial" and expression.args:
                expression = expression.args[0].value  # `@partial(f.defjvp, symbolic_zeros=True)`
            name = dotted_name(expression)
            if name and "." in name and last_part(name) == "defjvp":
                found.append((function, name[: name.rfind(".")]))
    for call in analysis.index.nodes(cst.Call):
        name = call_name(call)
        if not name or "." not in name or last_part(name) != "defjvp" or len(call.args) != 1:
            continue
        value = call.args[0].value
        if type(value) is not cst.Name:
            continue
        targets = analysis.semantics.resolve_callable(value)
        functions = {id(t.function): t.function for t in targets}
        if len(functions) == 1:
            target = next(iter(functions.values()))
            if type(target) is cst.FunctionDef and all(target is not f for f, _ in found):
                found.append((target, name[: name.rfind(".")]))
    return found


def _used(analysis: ModuleAnalysis, function: cst.FunctionDef, name: str, depth: int) -> bool:
    """Is `name` read anywhere in `function` other than by an assignment (`x_dot, = tangents`,
    `t = tangents[0]`) whose bound names are themselves never read? Unknown (deep chains): True."""
    if depth > 3:
        return True
    semantics = analysis.semantics
    for read in _reads(analysis, semantics, function, name):
        if any(type(a) is cst.AssignTarget for a in analysis.index.ancestors(read)):
            continue  # a store: `_reads` takes the names of a tuple target `x_dot, = tangents` for reads
        statement = analysis.index.statement_of(read)
        assign = None
        if type(statement) is cst.SimpleStatementLine and len(statement.body) == 1 and type(statement.body[0]) is cst.Assign:
            assign = statement.body[0]
        if assign is None or not any(a is assign.value for a in (read, *analysis.index.ancestors(read))):
            return True
        for target in assign.targets:
            for node in semantics.walk(target.target):
                if type(node) is cst.Name and _is_bound_name(analysis, node) and node.value != name:
                    if _used(analysis, function, node.value, depth + 1):
                        return True
                elif type(node) in (cst.Attribute, cst.Subscript):
                    return True  # stored somewhere (`self.t = tangents`): it may be read elsewhere
    return False


def _unpacked_names(analysis: ModuleAnalysis, function: cst.FunctionDef, name: str) -> list[str]:
    """The names `x_dot, = tangents` / `(x_dot, y_dot) = tangents` binds straight from `name`, for the message."""
    found: list[str] = []
    for read in _reads(analysis, analysis.semantics, function, name):
        parent = analysis.index.parent(read)
        if type(parent) is cst.Assign and parent.value is read:
            for target in parent.targets:
                for node in analysis.semantics.walk(target.target):
                    if type(node) is cst.Name and _is_bound_name(analysis, node) and node.value not in found:
                        found.append(node.value)
    return found


def _is_bound_name(analysis: ModuleAnalysis, node: cst.Name) -> bool:
    parent = analysis.index.parent(node)
    return not (type(parent) is cst.Attribute and parent.attr is node)


def _returned_tangent(analysis: ModuleAnalysis, function: cst.FunctionDef) -> Optional[cst.BaseExpression]:
    """The tangent output of a rule returning `(primal_out, tangent_out)` that is not a zero (`0.`,
    `jnp.zeros_like(x)`, a name bound only to such): a zero tangent needs no input tangent. None when some
    return is not a pair (a helper may read the tangents) or every tangent out is zero."""
    returns = [r for r in analysis.index.nodes_in(function, cst.Return) if analysis.semantics.scope_of(r) is function]
    found = None
    for returned in returns:
        value = returned.value
        if type(value) not in (cst.Tuple, cst.List) or len(value.elements) != 2:  # type: ignore[union-attr]
            return None
        element = value.elements[1]  # type: ignore[union-attr]
        if type(element) is cst.StarredElement:
            return None
        if not _is_zero(analysis, function, element.value, 0):
            found = found or element.value
    return found


def _is_zero(analysis: ModuleAnalysis, function: cst.FunctionDef, node: cst.BaseExpression, depth: int) -> bool:
    """`0`, `0.`, `None`, a call named `*zero*` (`zeros_like`, `lax.zeros_like_array`), or a local name
    every binding of which is one of those."""
    if type(node) in (cst.Integer, cst.Float):
        return float(node.value.replace("_", "")) == 0.0  # type: ignore[attr-defined]
    if type(node) is cst.Name and node.value == "None":
        return True
    if type(node) is cst.Call:
        called = (last_part(call_name(node)) or "").lower()
        if called in ("full", "full_like") and len(node.args) >= 2:
            return _is_zero(analysis, function, node.args[1].value, depth + 1)
        return "zero" in called
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        return any(type(side) in (cst.Integer, cst.Float) and _is_zero(analysis, function, side, depth) for side in (node.left, node.right))
    if type(node) is cst.Name and depth < 3:
        bindings = analysis.semantics.facts(function).bindings.get(node.value, ())
        return bool(bindings) and all(
            b.value is not None and not b.augmented and _is_zero(analysis, function, b.value, depth + 1) for b in bindings
        )
    return False


def _mirrors_forward_input(semantics: Semantics, function: cst.FunctionDef, param: str) -> bool:
    """`forward(self, g)` / `backward(self, g)`: the backward's parameter is named as its class's forward input."""
    class_def = semantics.facts(function).class_def
    if class_def is None:
        return False
    forward = semantics.class_info(class_def).forward
    return forward is not None and forward is not function and param in semantics.facts(forward).params


def _caches_nothing(
    analysis: ModuleAnalysis, semantics: Semantics, class_def: cst.ClassDef, backward: cst.FunctionDef
) -> bool:
    """No method of the class, its in-module bases or subclasses (`__init__` and the backward itself
    aside) stores anything on self: assigns `self.<attr>` or `self.<attr>[...]`, calls a mutating method
    or `setattr`. A base class from another module may cache: then unknown, so False."""
    owners = semantics.base_classes(class_def)
    known = {c.name.value for c in owners}
    for owner in owners:
        for base in owner.bases:
            name = last_part(dotted_name(base.value))
            if base.keyword is None and name not in known and name not in _PLAIN_BASES:
                return False
    for owner in (*owners, *semantics.subclasses(class_def)):
        for name, method in analysis.index.methods(owner).items():
            if name == "__init__" or method is backward:
                continue
            facts = semantics.facts(method)
            self_name = facts.self_name
            if self_name is None:
                continue
            prefix = f"{self_name}."
            if any(key.startswith(prefix) for key in facts.bindings) or any(
                key == self_name or key.startswith(prefix) for key in facts.element_stores
            ):
                return False
            for call in analysis.index.nodes_in(method, cst.Call):
                called = call_name(call) or ""
                if called == "setattr" or (called.startswith(prefix) and last_part(called) in _MUTATORS):
                    return False
    return True


def _computes_a_local_derivative(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef) -> bool:
    """Evidence that the function is hand-written backprop that should have used the gradient:
    it writes a derivative formula (`s*(1-s)`, `1-s**2`, a softmax Jacobian), a relu mask
    (`z > 0`), or it is the backward of a layer whose forward is a nonlinearity or an affine map.
    Without it (shape-only meta functions, hooks, test doubles) an unused gradient is no bug."""
    if semantics.formulas_in(function):
        return True
    for comparison in analysis.index.nodes_in(function, cst.Comparison):
        if len(comparison.comparisons) == 1 and isinstance(
            comparison.comparisons[0].operator, (cst.GreaterThan, cst.GreaterThanEqual, cst.LessThan, cst.LessThanEqual)
        ):
            comparator = comparison.comparisons[0].comparator
            if type(comparator) is cst.Integer and comparator.value == "0":
                return True
    class_def = semantics.facts(function).class_def
    if class_def is None:
        return False
    info = semantics.class_info(class_def)
    if info.forward is None:
        return False
    if info.forward_kind is not None or info.preactivation_attrs or info.activation_attrs:
        return True
    forward_facts = semantics.facts(info.forward)
    for returned in forward_facts.returns:
        role = semantics.role_of(returned)
        if role is not None and role.role is Role.PREACTIVATION:
            return True  # a dense layer: forward returns the affine map
    return False


def _param_node(function: cst.FunctionDef, name: str) -> Optional[cst.Param]:
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value == name:
            return param
    return None


def _is_stub(analysis: ModuleAnalysis, function: cst.FunctionDef) -> bool:
    """`pass`, `...`, a docstring, `raise NotImplementedError`, or an abstract method."""
    for decorator in function.decorators:
        if last_part(dotted_name(decorator.decorator)) in ("abstractmethod", "abstractproperty", "overload"):
            return True
    index = analysis.index
    if index.nodes_in(function, cst.Raise) and any(
        "NotImplemented" in (dotted_name(r.exc.func if type(r.exc) is cst.Call else r.exc) or "")
        for r in index.nodes_in(function, cst.Raise)
        if r.exc is not None
    ):
        return True
    body = function.body
    statements = body.body if type(body) is cst.IndentedBlock else ()
    meaningful = 0
    for statement in statements:
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                if type(small) is cst.Pass:
                    continue
                if type(small) is cst.Expr and type(small.value) in (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis):
                    continue
                if type(small) is cst.Return and (small.value is None or dotted_name(small.value) in ("None", "NotImplemented")):
                    continue
                meaningful += 1
        else:
            meaningful += 1
    return meaningful == 0


def _is_dynamic(analysis: ModuleAnalysis, function: cst.FunctionDef) -> bool:
    return any(call_name(c) in _DYNAMIC for c in analysis.index.nodes_in(function, cst.Call))


def _passes_through(analysis: ModuleAnalysis, function: cst.FunctionDef) -> bool:
    """A backward returning `np.ones_like(...)`: a local derivative the caller multiplies (fused-loss designs)."""
    for returned in analysis.index.nodes_in(function, cst.Return):
        value = returned.value
        if type(value) is cst.Call and last_part(call_name(value)) in _PASS_THROUGH:
            return True
        if value is not None and type(value) in (cst.Integer, cst.Float):
            return True
    return False


def _reads(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef, name: str) -> list[cst.Name]:
    """Every read of `name` in the function, nested functions and lambdas included."""
    found = []
    for node in semantics.walk(function.body):
        if type(node) is cst.Name and node.value == name and _is_load(analysis, node):
            found.append(node)
    return found


def _is_load(analysis: ModuleAnalysis, node: cst.Name) -> bool:
    parent = analysis.index.parent(node)
    if type(parent) is cst.Attribute and parent.attr is node:
        return False
    if type(parent) in (cst.Arg,) and parent.keyword is node:
        return False
    if type(parent) in (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.AsName):
        return False
    if type(parent) is cst.AssignTarget and parent.target is node:
        return False
    return True


def _nonlinearity_around(analysis: ModuleAnalysis, semantics: Semantics, read: cst.Name) -> Optional[cst.CSTNode]:
    """The call or formula applying a nonlinearity whose argument holds `read`, if any."""
    for ancestor in analysis.index.ancestors(read):
        if type(ancestor) in (cst.Call, cst.BinaryOperation):
            application = semantics.nonlinearity_of(ancestor)
            if application is not None and all(kind.convention_matters for kind in application[0]):
                return ancestor
        if isinstance(ancestor, (cst.BaseStatement, cst.BaseSmallStatement)):
            return None
    return None


_SHAPE_FUNCTIONS = frozenset({"len", "zeros_like", "ones_like", "empty_like", "full_like", "shape"})


def _shape_only(analysis: ModuleAnalysis, read: cst.Name) -> bool:
    """`dout.shape[0]`, `len(dout)`, `np.zeros_like(dout)`: a read of the gradient's shape, not its values."""
    parent = analysis.index.parent(read)
    if type(parent) is cst.Attribute and parent.value is read and parent.attr.value in ARRAY_METADATA:
        return True
    if type(parent) is cst.Arg and parent.keyword is None:
        call = analysis.index.parent(parent)
        if type(call) is cst.Call and call.args and call.args[0] is parent and last_part(call_name(call)) in _SHAPE_FUNCTIONS:
            return True
    return False


def _only_derivative_input(analysis: ModuleAnalysis, semantics: Semantics, reads: list[cst.Name]) -> Optional[cst.Call]:
    """nets' RNN `do = sigmoid_prime(dout[t])`: every read of the gradient's values is inside the argument a
    derivative function takes as its input (the point the derivative is evaluated at, not an upstream
    gradient it multiplies), so the result is not even linear in the gradient. The first such call."""
    arguments = {id(c.argument): c.call for c in semantics.derivative_calls if c.argument is not None}
    if not arguments:
        return None
    found: Optional[cst.Call] = None
    value_reads = 0
    for read in reads:
        if _shape_only(analysis, read):
            continue
        value_reads += 1
        call = None
        node: Optional[cst.CSTNode] = read
        while node is not None and not isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement)):
            call = arguments.get(id(node))
            if call is not None:
                break
            node = analysis.index.parent(node)
        if call is None:
            return None
        found = found or call
    return found if value_reads else None


def _slope_over_gradient(analysis: ModuleAnalysis, function: cst.FunctionDef, param: str) -> Optional[Finding]:
    """`dZ = np.array(dA, copy=True); dZ[Z <= 0] = 0.01`: a copy of the upstream gradient whose masked
    entries are overwritten with a nonzero constant (a leaky ReLU's slope) and the gradient not read
    again: there the result is the slope alone, where the chain rule needs slope * dA."""
    index = analysis.index
    copies: dict[str, cst.Assign] = {}
    constants: dict[str, float] = {}
    order = index.order
    for assign in index.nodes_in(function, cst.Assign):
        if len(assign.targets) != 1:
            continue
        target, value = assign.targets[0].target, assign.value
        if type(target) is cst.Name:
            if _copy_of(value, param):
                copies[target.value] = assign
            number = literal_number(value)
            if number is not None:
                constants[target.value] = number
            continue
        if type(target) is not cst.Subscript or type(target.value) is not cst.Name or target.value.value not in copies:
            continue
        slope = literal_number(value) if type(value) is not cst.Name else constants.get(value.value)
        if not slope or order.get(assign, 0) < order.get(copies[target.value.value], 0):
            continue
        later = [n for n in index.nodes_in(function, cst.Name) if n.value == param and order.get(n, 0) > order.get(assign, 0)]
        if later:
            continue  # the gradient is read again (multiplied in afterwards?)
        copied = copies[target.value.value]
        mask = analysis.code_for(target)
        return Finding(
            assign,
            f"`{analysis.code_for(assign)}` overwrites entries of the upstream gradient {param} (copied into "
            f"`{target.value.value}` on line {analysis.line_of(copied)}) with the slope {analysis.code_for(value)}: there the "
            f"result is the slope alone, where the chain rule needs slope * {param} (`{mask} *= {analysis.code_for(value)}`)",
        )
    return None


def _copy_of(value: cst.BaseExpression, name: str) -> bool:
    """`np.array(name, copy=True)`, `np.copy(name)`, `name.copy()`."""
    if type(value) is not cst.Call:
        return False
    callee = last_part(call_name(value))
    if callee == "copy" and type(value.func) is cst.Attribute and type(value.func.value) is cst.Name:
        if value.func.value.value == name and not value.args:
            return True
    args = [arg for arg in value.args if arg.keyword is None]
    if callee in ("copy", "array") and args and type(args[0].value) is cst.Name and args[0].value.value == name:
        return callee == "copy" or any(arg.keyword is not None and arg.keyword.value == "copy" for arg in value.args)
    return False


def _reads_other_inputs(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef, param: str) -> bool:
    """Does the function read a parameter other than the gradient (a cache) or a `self.` attribute?"""
    facts = semantics.facts(function)
    others = [p for p in facts.params if p != param and p not in facts.defaults]
    for other in others:
        reads = _reads(analysis, semantics, function, other)
        # `Z = cache` whose Z is then unused, or read only for its shape (`assert dZ.shape == Z.shape`,
        # in every Coursera-style backward), still counts as unused
        if any(not _shape_only(analysis, read) and not _dead_alias(analysis, semantics, function, read) for read in reads):
            return True
    if facts.self_name and _reads(analysis, semantics, function, facts.self_name):
        return True
    return False


def _dead_alias(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef, read: cst.Name) -> bool:
    """`Z = cache` (or `A, Z = cache`) where no name it binds is read afterwards, but for its shape."""
    parent = analysis.index.parent(read)
    if type(parent) is not cst.Assign or parent.value is not read:
        return False
    names = []
    for target in parent.targets:
        for node in semantics.walk(target.target):
            if type(node) is cst.Name:
                names.append(node.value)
    return all(_shape_only(analysis, later) for name in names for later in _reads(analysis, semantics, function, name))
