"""GL102, GL103, GL105, GL203, GL205 beyond their own cases: the algebra and layout
helpers they rest on, robustness on odd input, and GL203 across a package."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.algebra import (
    expand,
    logistic_form,
    mixed_logistic_form,
    tanh_form,
)
from gradlint.analysis.jacobians import Layout, Part, classify, layout, signed_terms
from gradlint.analysis.package import PackageModules
from gradlint.api import check_source
from gradlint.rules.double_softmax_derivative import DoubleSoftmaxDerivative
from gradlint.settings import Settings

CODES = ("GL102", "GL103", "GL105", "GL203", "GL205")


def _analysis(source: str, filename: str = "/tmp/case.py") -> ModuleAnalysis:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleAnalysis(cst.parse_module(text), filename, text)


def _expression(text: str) -> cst.BaseExpression:
    return cst.parse_expression(text)


def _poly(text: str):
    module = cst.parse_module("")
    return expand(_expression(text), lambda node: module.code_for_node(node))


# -- algebra -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["s * (1 - s)", "s - s * s", "s - s ** 2", "(1 - s) * s", "s * (-s + 1)", "np.multiply(s, 1 - s)", "-s ** 2 + s"],
)
def test_every_spelling_of_the_logistic_derivative_has_one_normal_form(text: str) -> None:
    forms = logistic_form(_poly(text))
    assert [(f.atom, f.multiplier) for f in forms] == [("s", ())]


def test_the_logistic_form_keeps_its_multiplier() -> None:
    forms = logistic_form(_poly("grad * out * (1 - out)"))
    assert [(f.atom, f.multiplier) for f in forms] == [("out", ("grad",))]


@pytest.mark.parametrize("text", ["s * (g - np.sum(g * s))", "s * (1 - t)", "1 - s", "s * s", "s / (1 - s)"])
def test_non_logistic_expressions_have_no_logistic_form(text: str) -> None:
    assert logistic_form(_poly(text)) == []


def test_tanh_and_mixed_forms() -> None:
    assert [f.atom for f in tanh_form(_poly("g * (1 - t ** 2)"))] == ["t"]
    assert tanh_form(_poly("s * (1 - s)")) == []
    mixed = mixed_logistic_form(_poly("g * a * (1 - z)"))
    assert {(f.first, f.second) for f in mixed} == {("a", "z"), ("g", "z")}
    assert mixed_logistic_form(_poly("a * (1 - a)")) == []


def test_expansion_is_bounded() -> None:
    text = " * ".join(f"(a{i} + b{i})" for i in range(12))
    assert _poly(text) is None


# -- layouts and Jacobian parts ------------------------------------------------------
def _layout_of_return(source: str) -> "Layout | None":
    analysis = _analysis(source)
    returned = analysis.index.nodes(cst.Return)[-1].value
    assert returned is not None
    return layout(analysis, returned)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("s = x.reshape(-1, 1)\n    return s", Layout.COLUMN),
        ("s = x.reshape(1, -1)\n    return s", Layout.ROW),
        ("s = x.ravel()\n    return s", Layout.FLAT),
        ("s = np.zeros(n)\n    return s", Layout.FLAT),
        ("s = np.zeros((n, 1))\n    return s", Layout.COLUMN),
        ("s = x.ravel()\n    return s[:, None]", Layout.COLUMN),
        ("s = x.reshape(-1, 1)\n    return s.T", Layout.ROW),
        ("return x", None),
        ("if c:\n        x = x.ravel()\n    return x", None),
    ],
)
def test_layout_comes_only_from_evidence(body: str, expected: "Layout | None") -> None:
    assert _layout_of_return(f"def f(x, n, c):\n    {body}\n") is expected


def test_a_function_mapped_by_apply_along_axis_gets_1d_slices() -> None:
    source = """
    import numpy as np
    def jac(s):
        return s
    out = np.apply_along_axis(jac, 1, probs)
    """
    assert _layout_of_return(source) is Layout.FLAT


def test_jacobian_parts() -> None:
    analysis = _analysis("import numpy as np\ndef f(s):\n    c = s.reshape(-1, 1)\n    return np.diagflat(c) - c @ c.T\n")
    returned = analysis.index.nodes(cst.Return)[0].value
    parts = [classify(analysis, term, sign) for sign, term in signed_terms(returned)]
    assert [(p.kind, p.vector, p.sign) for p in parts if p] == [(Part.DIAG, "s", 1), (Part.OUTER, "s", -1)]


def test_long_sums_are_read_without_recursion() -> None:
    terms = " + ".join(f"x{i}" for i in range(400))
    assert len(signed_terms(_expression(terms), limit=1000)) == 400
    source = f"import numpy as np\ndef f(s):\n    return np.diag(s) + {terms}\n"
    report = check_source(source, "long.py", Settings(select=CODES))
    assert not report.crashes


# -- robustness ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        "x = 1\n",
        "def f():\n    return\n",
        "lambda: exp(1) - diag(2)\n",
        "class A:\n    def backward(self):\n        return np.outer()\n",
        "def backward(self, grad):\n    for (a, *b) in reversed(self.layers):\n        grad = a.backward(grad)\n",
        "import numpy as np\nJ = np.diag(s) + np.outer(s, s)\n",
    ],
)
def test_odd_code_never_crashes(source: str) -> None:
    report = check_source(source, "odd.py", Settings(select=CODES))
    assert not report.crashes


def test_module_level_jacobian_is_checked() -> None:
    report = check_source("import numpy as np\nJ = np.diag(s) + np.outer(s, s)\n", "m.py", Settings(select=("GL103",)))
    assert [d.code for d in report.diagnostics] == ["GL103"]


# -- GL203 across the modules of a package --------------------------------------------------
LAYERS = '''
import numpy as np

class Dense:
    def __init__(self, n_in, n_out):
        self.W = np.zeros((n_in, n_out))
    def forward(self, x):
        self.x = x
        return x @ self.W
    def backward(self, grad):
        return grad @ self.W.T

class Softmax:
    def forward(self, x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.out = e / e.sum(axis=1, keepdims=True)
        return self.out
    def backward(self, grad):
        s = self.out
        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))
'''

LOSSES = '''
import numpy as np

class CrossEntropy:
    def forward(self, p, y):
        return -np.mean(np.sum(y * np.log(np.clip(p, 1e-12, 1.0)), axis=1))
    def backward(self, p, y):
        return (p - y) / len(p)
'''

MODEL = '''
from .layers import Dense, Softmax
from .losses import CrossEntropy

class Network:
    def __init__(self):
        self.layers = [Dense(4, 3), Softmax()]
        self.loss = CrossEntropy()
    def step(self, x, y):
        out = x
        for layer in self.layers:
            out = layer.forward(out)
        grad = self.loss.backward(out, y)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
'''


def _package(tmp_path: Path, model: str = MODEL) -> Path:
    package = tmp_path / "net"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "layers.py").write_text(LAYERS)
    (package / "losses.py").write_text(LOSSES)
    (package / "model.py").write_text(model)
    return package / "model.py"


def test_gl203_pairs_classes_imported_from_the_package(tmp_path: Path) -> None:
    path = _package(tmp_path)
    text = path.read_text()
    analysis = ModuleAnalysis(cst.parse_module(text), str(path), text)
    assert list(DoubleSoftmaxDerivative().check(analysis)) == []  # nothing visible without the package
    PackageModules().adopt(analysis)
    findings = list(DoubleSoftmaxDerivative().check(analysis))
    assert len(findings) == 1
    assert "CrossEntropy.backward returns (p - y) / len(p)" in findings[0].message
    assert "Softmax.backward" in findings[0].message
    package = analysis.package
    read = {Path(p).name for p in package.dependencies(str(path)) if Path(p).is_file() and Path(p).name != "__init__.py"}
    assert read == {"layers.py", "losses.py"}  # (besides the __init__.py files and absent paths probed)


def test_gl203_package_pairing_keeps_the_pass_through_trap(tmp_path: Path) -> None:
    path = _package(tmp_path)
    layers = path.parent / "layers.py"
    layers.write_text(LAYERS.replace("        s = self.out\n        return s * (grad - np.sum(grad * s, axis=1, keepdims=True))", "        return grad"))
    text = path.read_text()
    analysis = ModuleAnalysis(cst.parse_module(text), str(path), text)
    PackageModules().adopt(analysis)
    assert list(DoubleSoftmaxDerivative().check(analysis)) == []


def test_package_resolves_absolute_imports_and_ignores_missing_modules(tmp_path: Path) -> None:
    path = _package(tmp_path, MODEL.replace("from .layers", "from net.layers").replace("from .losses", "from net.nowhere"))
    text = path.read_text()
    analysis = ModuleAnalysis(cst.parse_module(text), str(path), text)
    package = PackageModules()
    package.adopt(analysis)
    assert package.module_for_import(analysis, "net.layers", 0) is not None
    assert package.module_for_import(analysis, "net.nowhere", 0) is None
    assert list(DoubleSoftmaxDerivative().check(analysis)) == []  # the loss is not visible: silent
