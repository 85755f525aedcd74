"""Derivative switches in the semantic model: `def sigmoid(x, derivative=False)` is a forward
where a call leaves the flag unset and a derivative where a call sets it (decided from the
branches of its body, never from the flag's name alone)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Convention, ForwardKind


def analyse(source: str) -> ModuleAnalysis:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleAnalysis(cst.parse_module(text), "case.py", text)


def call_of(analysis: ModuleAnalysis, code: str) -> cst.Call:
    for call in analysis.index.nodes(cst.Call):
        if analysis.code_for(call) == code:
            return call
    raise AssertionError(f"no call {code}")


@pytest.mark.parametrize(
    "body, convention",
    [
        ("f = 1 / (1 + np.exp(-x))\n    if derivative:\n        return f * (1 - f)\n    return f", Convention.LOGIT),
        ("f = 1 / (1 + np.exp(-x))\n    if derivative:\n        return f * (1 - f)\n    else:\n        return f", Convention.LOGIT),
        ("f = 1 / (1 + np.exp(-x))\n    if not derivative:\n        return f\n    return f * (1 - f)", Convention.LOGIT),
        ("if derivative == True:\n        return x * (1 - x)\n    return 1 / (1 + np.exp(-x))", Convention.ACTIVATION),
        ("if derivative is False:\n        return 1 / (1 + np.exp(-x))\n    return x * (1 - x)", Convention.ACTIVATION),
        ("f = 1 / (1 + np.exp(-x))\n    return f * (1 - f) if derivative else f", Convention.LOGIT),
    ],
)
def test_switch_read_from_the_branches(body: str, convention: Convention) -> None:
    analysis = analyse(f"import numpy as np\ndef sigmoid(x, derivative=False):\n    {body}\n")
    semantics = analysis.semantics
    flag = semantics.derivative_flag(semantics.module_functions["sigmoid"])
    assert flag is not None and flag.param == "derivative" and flag.input_param == "x"
    assert flag.forward is ForwardKind.SIGMOID and flag.derivative.forward_kind is ForwardKind.SIGMOID
    assert flag.derivative.convention is convention
    assert "when called with derivative=True" in flag.derivative.evidence


@pytest.mark.parametrize(
    "signature, body",
    [
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    if derivative and f.ndim:\n        return f * (1 - f)\n    return f"),
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    if derivative:\n        out = f * (1 - f)\n    else:\n        out = f\n    return out"),
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    if derivative:\n        return np.ones_like(f)\n    return f"),
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    if derivative:\n        return 1 - np.tanh(x) ** 2\n    return f"),
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    if derivative is None:\n        return f * (1 - f)\n    return f"),
        ("x, derivative=True", "f = 1 / (1 + np.exp(-x))\n    if derivative:\n        return f * (1 - f)\n    return f"),
        ("x, scale=False", "f = 1 / (1 + np.exp(-x))\n    if scale:\n        return f * (1 - f)\n    return f"),
        ("x, derivative=False", "f = 1 / (1 + np.exp(-x))\n    return f * (1 - f)"),
    ],
    ids=["compound-test", "assigned-in-branches", "not-a-formula", "another-kind", "is-none", "default-true",
         "not-a-switch-name", "no-branch"],
)
def test_no_switch_without_clear_branches(signature: str, body: str) -> None:
    analysis = analyse(f"import numpy as np\ndef sigmoid({signature}):\n    {body}\n")
    semantics = analysis.semantics
    assert semantics.derivative_flag(semantics.module_functions["sigmoid"]) is None


SWITCHED = """
import numpy as np

def sigmoid(x, derivative=False):
    f = 1 / (1 + np.exp(-x))
    if derivative:
        return f * (1 - f)
    return f

def use(W, z, dh, flag):
    o = sigmoid(W @ z)
    a = sigmoid(o, derivative=True)
    b = sigmoid(o, True)
    c = sigmoid(o, derivative=False)
    d = sigmoid(o, flag)
    e = sigmoid(o, derivative=1)
    g = sigmoid(*[o, True])
    return a, b, c, d, e, g
"""


def test_calls_setting_the_switch_are_derivative_calls_and_the_others_forwards() -> None:
    analysis = analyse(SWITCHED)
    semantics = analysis.semantics
    derivative_calls = {analysis.code_for(c.call) for c in semantics.derivative_calls}
    assert derivative_calls == {"sigmoid(o, derivative=True)", "sigmoid(o, True)", "sigmoid(o, derivative=1)"}
    for code in ("sigmoid(W @ z)", "sigmoid(o, derivative=False)"):
        applied = semantics.nonlinearity_applied(call_of(analysis, code))
        assert applied is not None and applied[0] == frozenset({ForwardKind.SIGMOID}), code
    for code in ("sigmoid(o, derivative=True)", "sigmoid(o, flag)", "sigmoid(*[o, True])"):
        assert semantics.nonlinearity_applied(call_of(analysis, code)) is None, code
    call = next(c for c in semantics.derivative_calls if analysis.code_for(c.call) == "sigmoid(o, True)")
    assert call.derivative.convention is Convention.LOGIT and analysis.code_for(call.argument) == "o"


def test_a_method_switch_set_positionally() -> None:
    analysis = analyse(
        """
        import numpy as np

        class Net:
            def sigmoid(self, s, deriv=False):
                if deriv:
                    return s * (1 - s)
                return 1 / (1 + np.exp(-s))

            def forward(self, x):
                self.a = self.sigmoid(x @ self.W)
                return self.a

            def backward(self, g):
                return g * self.sigmoid(self.a, True)
        """
    )
    semantics = analysis.semantics
    (call,) = semantics.derivative_calls
    assert analysis.code_for(call.call) == "self.sigmoid(self.a, True)"
    assert call.derivative.convention is Convention.ACTIVATION
    assert "a" in semantics.class_info(semantics.classes["Net"]).activation_attrs  # the switch left unset: a forward


def test_a_wrapper_passing_an_unset_switch_is_not_a_derivative() -> None:
    analysis = analyse(
        """
        import numpy as np

        def tanh(x, derivative=False):
            f = np.tanh(x)
            if derivative:
                return 1 - f ** 2
            return f

        def cell_backward(C, dh):
            return dh * tanh(C)

        def cell_derivative(C):
            return tanh(C, derivative=True)
        """
    )
    semantics = analysis.semantics
    assert semantics.derivative_of(semantics.module_functions["cell_backward"]) is None
    wrapped = semantics.derivative_of(semantics.module_functions["cell_derivative"])
    assert wrapped is not None and wrapped.convention is Convention.LOGIT and wrapped.input_param == "C"


def test_a_switch_not_understood_makes_only_its_set_calls_derivative_calls() -> None:
    analysis = analyse(
        """
        import numpy as np

        def nonlin(x, deriv=False):
            if deriv and x.ndim:
                return x * (1 - x)
            return 1 / (1 + np.exp(-x))

        def train(W, x, y, flag):
            z = W @ x
            a = nonlin(z)
            b = nonlin(z, flag)
            return (a - y) * nonlin(a, deriv=True)
        """
    )
    semantics = analysis.semantics
    assert semantics.derivative_flag(semantics.module_functions["nonlin"]) is None
    assert semantics.switch_parameter(semantics.module_functions["nonlin"]) == "deriv"
    assert [analysis.code_for(c.call) for c in semantics.derivative_calls] == ["nonlin(a, deriv=True)"]
