"""Review 5 (rw5c fp/01): the derivative-formula recognisers read one value, elements included.

`x[1:] - x[:-1]**2` (Rosenbrock), `-y[8] + y[9]*y[0]` (an ODE right-hand side) and
`x**2 - 1` (a potential) are not the logistic `s - s**2` or the tanh `1 - s**2`: the
operands are different elements of an array, or the sign is the negation of the
derivative's. Shape-only subscripts (`s[:, None]`) and the same element on both sides
(`s[i] * (1 - s[i])`) still are.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import ForwardKind


def analyse(source: str) -> ModuleAnalysis:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleAnalysis(cst.parse_module(text), "case.py", text)


def derivative(source: str, name: str):
    analysis = analyse(source)
    function = analysis.semantics.module_functions[name]
    return analysis.semantics.derivative_of(function)


ROSEN_DER = """
import numpy as np
from scipy.optimize import minimize, rosen

def rosen_der(x):
    xm = x[1:-1]
    xm_m1 = x[:-2]
    xm_p1 = x[2:]
    der = np.zeros_like(x)
    der[1:-1] = 200*(xm-xm_m1**2) - 400*(xm_p1 - xm**2)*xm - 2*(1-xm)
    der[0] = -400*x[0]*(x[1]-x[0]**2) - 2*(1-x[0])
    der[-1] = 200*(x[-1]-x[-2]**2)
    return der
"""


@pytest.mark.parametrize(
    "source, name",
    [
        (ROSEN_DER, "rosen_der"),  # the scipy tutorial's gradient (rw5c rosenbrock_armijo.py:10)
        ("import numpy as np\ndef objective_grad(x):\n    g = np.zeros_like(x)\n"
         "    g[:-1] = -400*x[:-1]*(x[1:]-x[:-1]**2) - 2*(1-x[:-1])\n    g[1:] += 200*(x[1:]-x[:-1]**2)\n    return g\n",
         "objective_grad"),
        ("import numpy as np\ndef grad(x):\n    return np.array([-2*(1-x[0]) - 400*x[0]*(x[1]-x[0]**2), 200*(x[1]-x[0]**2)])\n", "grad"),
        ("def dfdx(x):\n    return 2 * (x[1:] - x[:-1] ** 2)\n", "dfdx"),
        ("def rosen(x):\n    return sum(100.0*(x[1:]-x[:-1]**2.0)**2.0 + (1-x[:-1])**2.0)\n", "rosen"),
        ("def f(x):\n    return (x[1] - x[0]**2)\n", "f"),
        ("def f(x):\n    return x[0]**2 - x[1]\n", "f"),
        ("def f(x):\n    return 200*x[1] - 200*x[0]**2\n", "f"),
        # an ODE right-hand side (rw5c stiff_ode_bdf.py `derivs`)
        ("import numpy as np\ndef derivs(t, y):\n    dy = np.zeros_like(y)\n    dy[0] = -y[8] + y[9]*y[0]\n    return dy\n", "derivs"),
        # a 2-D potential (rw5c gradiente_descendente.py `U`): the tanh shape negated
        ("def U(x, y):\n    return x**2 - 1\n", "U"),
        # the logistic shape negated: not the derivative
        ("def f(s):\n    return s**2 - s\n", "f"),
        ("def f(s, g):\n    return -g * s * (1 - s)\n", "f"),
        # two records of one cache: Z and A, not one value
        ("def backward(dA, cache):\n    Z = cache[0]\n    A = cache[1]\n    return dA * A * (1 - Z)\n", "backward"),
    ],
)
def test_different_elements_or_a_negated_shape_are_no_derivative(source: str, name: str) -> None:
    assert derivative(source, name) is None


@pytest.mark.parametrize(
    "source, name, kind",
    [
        ("def f(s):\n    return s - s**2\n", "f", ForwardKind.SIGMOID),
        ("def f(s):\n    return s * (1 - s)\n", "f", ForwardKind.SIGMOID),
        ("def f(s):\n    return -s * (s - 1)\n", "f", ForwardKind.SIGMOID),
        ("def f(a):\n    return 1 - a**2\n", "f", ForwardKind.TANH),
        ("def f(a):\n    return 1.7159 * (1 - a**2)\n", "f", ForwardKind.TANH),
        # the same element on both sides
        ("def f(s):\n    return s[0] * (1 - s[0])\n", "f", ForwardKind.SIGMOID),
        ("def f(s, t):\n    return s[:, t] * (1 - s[:, t])\n", "f", ForwardKind.SIGMOID),
        ("def f(x):\n    s = x[1:]\n    return s * (1 - s)\n", "f", ForwardKind.SIGMOID),
        ("def f(dA, cache):\n    A = cache[1]\n    return dA * A * (1 - A)\n", "f", ForwardKind.SIGMOID),
        ("def f(dout, cache):\n    out = cache[-1]\n    return dout * out[0] * (1 - out[0])\n", "f", ForwardKind.SIGMOID),
        # shape-only subscripts read every element
        ("import numpy as np\ndef f(s):\n    return np.diag(s) - s[:, None] * s[None, :]\n", "f", ForwardKind.SOFTMAX),
        ("import numpy as np\ndef f(s):\n    return np.diag(s) - np.outer(s[:, np.newaxis], s[...])\n", "f", ForwardKind.SOFTMAX),
        ("def f(s):\n    return s[:, None] * (1 - s[:])\n", "f", ForwardKind.SIGMOID),
    ],
)
def test_one_value_in_every_place_is_still_a_derivative(source: str, name: str, kind: ForwardKind) -> None:
    info = derivative(source, name)
    assert info is not None and info.forward_kind is kind


def test_rosenbrock_is_no_activation_role() -> None:
    analysis = analyse(ROSEN_DER)
    semantics = analysis.semantics
    assert "rosen_der" not in semantics.derivatives
    for node in analysis.index.nodes(cst.BinaryOperation):
        role = semantics.role_of(node)
        assert role is None or "derivative" not in role.explanation(), (analysis.code_for(node), role.explanation())


def test_an_ode_jacobian_with_the_softmax_shape_of_different_elements_is_no_jacobian() -> None:
    source = "import numpy as np\ndef jac(y):\n    return np.diag(y[1:]) - np.outer(y[:-1], y[:-1])\n"
    assert derivative(source, "jac") is None
