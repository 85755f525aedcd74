"""The semantic model follows a softmax output through framework hand-offs and library softmaxes
(review 4: torch ctx.save_for_backward, jax custom_vjp residuals, tf.custom_gradient closures,
`self(x)` for a `__call__` forward, an epsilon in the normaliser)."""

from __future__ import annotations

import textwrap
from typing import Optional

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import ForwardKind, Role


def analyse(source: str) -> ModuleAnalysis:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleAnalysis(cst.parse_module(text), "case.py", text)


def role_at(source: str, name: str, line: int) -> Optional[tuple[Role, Optional[ForwardKind]]]:
    """The role of the last occurrence of `name` on `line` (1-based, of the dedented source)."""
    analysis = analyse(source)
    found = [n for n in analysis.index.nodes(cst.Name) if n.value == name and analysis.line_of(n) == line]
    assert found, f"no {name} on line {line}"
    role = analysis.semantics.role_of(found[-1])
    return (role.role, role.forward_kind) if role is not None else None


SOFTMAX_OUTPUT = (Role.ACTIVATION, ForwardKind.SOFTMAX)

TORCH_FUNCTION = """
    import torch

    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = torch.softmax(x, dim=-1)
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            s = ctx.saved_tensors[1]
            return g * y + g * s + x
    """


def test_torch_saved_tensors_keep_the_role_of_what_forward_saved() -> None:
    assert role_at(TORCH_FUNCTION, "y", 14) == SOFTMAX_OUTPUT
    assert role_at(TORCH_FUNCTION, "s", 14) == SOFTMAX_OUTPUT
    assert role_at(TORCH_FUNCTION, "x", 14) == (Role.PREACTIVATION, ForwardKind.SOFTMAX)  # the saved input


def test_saved_tensors_of_a_different_arity_are_unknown() -> None:
    source = TORCH_FUNCTION.replace("x, y = ctx.saved_tensors", "y, = ctx.saved_tensors")
    assert role_at(source, "y", 14) is None


JAX_VJP = """
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def f(x):
        return jax.nn.softmax(x)

    def f_fwd(x):
        y = f(x)
        return y, (x, y)

    def f_bwd(res, g):
        x, y = res
        return (g * y + x,)

    f.defvjp(f_fwd, f_bwd)
    """


def test_jax_residuals_keep_the_role_of_what_fwd_returned() -> None:
    assert role_at(JAX_VJP, "y", 14) == SOFTMAX_OUTPUT
    assert role_at(JAX_VJP, "x", 14) == (Role.PREACTIVATION, ForwardKind.SOFTMAX)


def test_jax_residuals_need_a_plain_custom_vjp() -> None:
    source = JAX_VJP.replace("@jax.custom_vjp", "@partial(jax.custom_vjp, nondiff_argnums=(0,))")
    assert role_at(source, "y", 14) is None


TF_CLOSURE = """
    import tensorflow as tf

    @tf.custom_gradient
    def f(x):
        e = tf.exp(x - tf.reduce_max(x, axis=-1, keepdims=True))
        y = e / (tf.reduce_sum(e, axis=-1, keepdims=True) + 1e-9)

        def grad(dy):
            return dy * y

        return y, grad
    """


def test_a_closure_reads_the_enclosing_softmax_output() -> None:
    assert role_at(TF_CLOSURE, "y", 9) == SOFTMAX_OUTPUT


def test_a_closure_over_a_reassigned_name_is_unknown() -> None:
    source = TF_CLOSURE.replace("        return y, grad", "        y = tf.sigmoid(x)\n        return y, grad")
    assert role_at(source, "y", 9) is None


@pytest.mark.parametrize(
    "forward",
    [
        "y = softmax(x, axis=-1)",  # from scipy.special import softmax
        "y = sm(x)",  # ... as sm
        "y = tf.nn.softmax(x, axis=-1)",
        "y = x.softmax(dim=-1)",
        "y = x.softmax(-1)",
        "e = np.exp(x - x.max(axis=1, keepdims=True)); y = e / (e.sum(axis=1, keepdims=True) + 1e-12)",
        "e = np.exp(x - x.max(axis=1, keepdims=True)); y = e / (e.sum(axis=1, keepdims=True) + self.eps)",
    ],
)
def test_library_and_guarded_softmaxes(forward: str) -> None:
    source = f"""
        import numpy as np
        import tensorflow as tf
        from scipy.special import softmax
        from scipy.special import softmax as sm

        class L:
            def forward(self, x):
                {forward}
                return y
        """
    assert role_at(source, "y", 9) == SOFTMAX_OUTPUT


@pytest.mark.parametrize(
    "forward",
    [
        "y = self.softmax(x)",  # a method of the class, not torch's
        "y = x.softmax(x)",  # a non-integer argument: not the tensor method
        "e = np.exp(x); y = e / (e.sum() + 1.0)",  # not an epsilon
        "e = np.exp(x); y = e / (e.sum() + scale)",  # a name that is no epsilon
    ],
)
def test_not_a_softmax(forward: str) -> None:
    source = f"""
        import numpy as np

        class L:
            def softmax(self, x):
                return x

            def forward(self, x, scale=1.0):
                {forward}
                return y
        """
    role = role_at(source, "y", 9)
    assert role is None or role[1] is not ForwardKind.SOFTMAX


def test_self_call_reaches_dunder_call() -> None:
    source = """
        import numpy as np

        class Softmax:
            def __call__(self, x):
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                return e / e.sum(axis=-1, keepdims=True)

            def derivative(self, x):
                y = self(x)
                return y
        """
    assert role_at(source, "y", 10) == SOFTMAX_OUTPUT
