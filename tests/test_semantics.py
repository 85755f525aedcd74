"""The shared semantic model: forwards, derivatives, conventions, roles, call resolution."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Convention, ForwardKind, Role


def analyse(source: str) -> ModuleAnalysis:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleAnalysis(cst.parse_module(text), "case.py", text)


def call_of(analysis: ModuleAnalysis, code: str) -> cst.Call:
    for call in analysis.index.nodes(cst.Call):
        if analysis.code_for(call) == code:
            return call
    raise AssertionError(f"no call {code}")


def name_at(analysis: ModuleAnalysis, name: str, line: int) -> cst.CSTNode:
    for node in analysis.index.nodes(cst.Name) + analysis.index.nodes(cst.Attribute):  # type: ignore[operator]
        if analysis.code_for(node) == name and analysis.line_of(node) == line:
            return node
    raise AssertionError(f"no {name} on line {line}")


@pytest.mark.parametrize(
    "body, kind",
    [
        ("e = np.exp(x - np.max(x))\n    return e / np.sum(e)", ForwardKind.SOFTMAX),
        ("return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)", ForwardKind.SOFTMAX),
        ("return 1 / (1 + np.exp(-x))", ForwardKind.SIGMOID),
        ("return np.exp(x) / (1 + np.exp(x))", ForwardKind.SIGMOID),
        ("return np.tanh(x)", ForwardKind.TANH),
        ("return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))", ForwardKind.TANH),
        ("return np.maximum(0, x)", ForwardKind.RELU),
        ("return x * (x > 0)", ForwardKind.RELU),
        ("x[x < 0] = 0\n    return x", ForwardKind.RELU),
        ("return np.where(x > 0, x, 0.01 * x)", ForwardKind.LEAKY_RELU),
        ("return np.log(1 + np.exp(x))", ForwardKind.SOFTPLUS),
        ("return x - np.log(np.sum(np.exp(x)))", ForwardKind.LOG_SOFTMAX),
    ],
)
def test_forward_recognised_by_body(body: str, kind: ForwardKind) -> None:
    analysis = analyse(f"import numpy as np\ndef f(x):\n    {body}\n")
    info = analysis.semantics.forwards["f"]
    assert info.kind is kind
    assert info.input_param == "x"


def test_forward_decided_by_body_not_name() -> None:
    analysis = analyse(
        """
        import numpy as np
        class Softmax:
            def forward(self, x):
                self.out = 1 / (1 + np.exp(-x))
                return self.out
        def mean(x):
            return np.sum(x) / len(x)
        """
    )
    semantics = analysis.semantics
    assert semantics.forwards["Softmax.forward"].kind is ForwardKind.SIGMOID
    assert "mean" not in semantics.forwards
    info = semantics.class_info(semantics.classes["Softmax"])
    assert info.forward_kind is ForwardKind.SIGMOID
    assert info.activation_attrs == frozenset({"out"})


def test_derivative_conventions() -> None:
    analysis = analyse(
        """
        import numpy as np
        def sigmoid(z):
            return 1 / (1 + np.exp(-z))
        def act(s):
            return s * (1 - s)
        def logit(z):
            return sigmoid(z) * (1 - sigmoid(z))
        def tanh_logit(x):
            return 1 - np.tanh(x) ** 2
        def jac(s):
            return np.diag(s) - np.outer(s, s)
        def vjp(grad, s):
            return grad * s * (1.0 - s)
        def rows(d):
            return np.apply_along_axis(jac, 1, d)
        def variance(n, p):
            return n * p + 1
        """
    )
    derivatives = analysis.semantics.derivatives
    assert derivatives["act"].convention is Convention.ACTIVATION
    assert derivatives["act"].forward_kind is ForwardKind.SIGMOID
    assert derivatives["logit"].convention is Convention.LOGIT
    assert derivatives["tanh_logit"].convention is Convention.LOGIT
    assert derivatives["tanh_logit"].forward_kind is ForwardKind.TANH
    assert derivatives["jac"].forward_kind is ForwardKind.SOFTMAX and derivatives["jac"].returns_jacobian
    assert not derivatives["act"].returns_jacobian
    assert derivatives["vjp"].input_param == "s" and derivatives["vjp"].upstream_param == "grad"
    assert derivatives["rows"].convention is Convention.ACTIVATION and derivatives["rows"].returns_jacobian
    assert derivatives["rows"].via is derivatives["jac"].function
    assert "variance" not in derivatives and "sigmoid" not in derivatives


def test_roles_with_evidence() -> None:
    analysis = analyse(
        """
        import numpy as np
        def softmax(z):
            e = np.exp(z - z.max())
            return e / e.sum()
        def step(W, x, b, y):
            Z = W @ x + b
            A = softmax(Z)
            d = A - y
            g = -y / A
            J = np.diag(A) - np.outer(A, A)
            return Z, A, d, g, J
        """
    )
    semantics = analysis.semantics
    role = semantics.role_of(name_at(analysis, "Z", 11))
    assert role is not None and role.role is Role.PREACTIVATION
    assert role.explanation == "Z = W @ x + b on line 6, an affine map"
    assert semantics.role_of(name_at(analysis, "A", 11)).role is Role.ACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "d", 11)).role is Role.FUSED_LOSS_GRADIENT  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "g", 11)).role is Role.LOSS_GRADIENT  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "J", 11)).role is Role.JACOBIAN  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "y", 8)) is None


def test_role_follows_reaching_assignment() -> None:
    analysis = analyse(
        """
        import numpy as np
        def f(W, x, b):
            z = W @ x + b
            a = z
            z = np.tanh(z)
            return a, z
        """
    )
    semantics = analysis.semantics
    assert semantics.role_of(name_at(analysis, "a", 6)).role is Role.PREACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "z", 6)).role is Role.ACTIVATION  # type: ignore[union-attr]


def test_fused_in_place_gradient() -> None:
    analysis = analyse(
        """
        import numpy as np
        def softmax(z):
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        def loss_grad(z, y):
            p = softmax(z)
            d = p.copy()
            d[range(len(y)), y] -= 1
            return d
        """
    )
    role = analysis.semantics.role_of(name_at(analysis, "d", 9))
    assert role is not None and role.role is Role.FUSED_LOSS_GRADIENT


def test_self_attributes_before_and_after_the_nonlinearity() -> None:
    analysis = analyse(
        """
        import numpy as np
        class Dense:
            def forward(self, x):
                self.x = x
                self.z = x @ self.W + self.b
                self.a = np.tanh(self.z)
                return self.a
            def backward(self, grad):
                return grad, self.z, self.a, self.x
        """
    )
    semantics = analysis.semantics
    info = semantics.class_info(semantics.classes["Dense"])
    assert info.preactivation_attrs == frozenset({"z"})
    assert info.activation_attrs == frozenset({"a"})
    assert semantics.role_of(name_at(analysis, "self.z", 9)).role is Role.PREACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "self.a", 9)).role is Role.ACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "self.x", 9)) is None
    assert semantics.role_of(name_at(analysis, "grad", 9)).role is Role.UPSTREAM_GRADIENT  # type: ignore[union-attr]


def test_resolve_calls() -> None:
    analysis = analyse(
        """
        import numpy as np
        def tanh(x):
            return np.tanh(x)
        def tanh_prime(y):
            return 1 - y ** 2
        class Activation:
            def __init__(self, activation, activation_prime):
                self.activation = activation
                self.activation_prime = activation_prime
            def forward(self, x):
                self.input = x
                return self.activation(self.input)
            def backward(self, grad):
                return grad * self.activation_prime(self.input)
        class Tanh(Activation):
            def __init__(self):
                super().__init__(tanh, tanh_prime)
        class Helper:
            def run(self, v):
                return self.twice(v)
            def twice(self, v):
                return 2 * v
        def outer():
            def inner(v):
                return v
            alias = inner
            return alias(1), Helper().run(2), tanh(3)
        """
    )
    semantics = analysis.semantics
    target = semantics.resolve_call(call_of(analysis, "self.activation_prime(self.input)"))
    assert target is semantics.module_functions["tanh_prime"]
    assert semantics.resolve_call(call_of(analysis, "self.twice(v)")).name.value == "twice"  # type: ignore[union-attr]
    assert semantics.resolve_call(call_of(analysis, "alias(1)")).name.value == "inner"  # type: ignore[union-attr]
    assert semantics.resolve_call(call_of(analysis, "Helper().run(2)")).name.value == "run"  # type: ignore[union-attr]
    assert semantics.resolve_call(call_of(analysis, "tanh(3)")) is semantics.module_functions["tanh"]
    assert semantics.resolve_call(call_of(analysis, "np.tanh(x)")) is None
    # forward stores self.input before the (subclass-supplied) nonlinearity
    info = semantics.class_info(semantics.classes["Activation"])
    assert info.preactivation_attrs == frozenset({"input"})


def test_lists_of_pre_activations_and_activations() -> None:
    analysis = analyse(
        """
        import numpy as np
        def sigmoid(z):
            return 1.0 / (1.0 + np.exp(-z))
        def backprop(weights, biases, x):
            activation = x
            activations = [x]
            zs = []
            for b, w in zip(biases, weights):
                z = np.dot(w, activation) + b
                zs.append(z)
                activation = sigmoid(z)
                activations.append(activation)
            return zs[-1], activations[-1]
        """
    )
    semantics = analysis.semantics
    ret = analysis.index.nodes(cst.Return)[-1].value
    assert isinstance(ret, cst.Tuple)
    first, second = (e.value for e in ret.elements)
    assert semantics.role_of(first).role is Role.PREACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(second).role is Role.ACTIVATION  # type: ignore[union-attr]


def test_semantics_is_lazy_and_cached() -> None:
    analysis = analyse("def f(x):\n    return x\n")
    assert "semantics" not in vars(analysis)
    semantics = analysis.semantics
    assert analysis.semantics is semantics
    assert semantics.derivatives == {} and semantics.forwards == {}
    assert semantics.derivative_calls == ()


def test_rows_of_a_batch_keep_the_batch_role() -> None:
    analysis = analyse(
        """
        import numpy as np
        class Softmax:
            def forward(self, inputs):
                e = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
                self.output = e / np.sum(e, axis=1, keepdims=True)
            def backward(self, dvalues):
                for index, (row, grad_row) in enumerate(zip(self.output, dvalues)):
                    print(row, grad_row)
        """
    )
    semantics = analysis.semantics
    assert semantics.forwards["Softmax.forward"].kind is ForwardKind.SOFTMAX  # stores instead of returning
    assert semantics.role_of(name_at(analysis, "row", 8)).role is Role.ACTIVATION  # type: ignore[union-attr]
    assert semantics.role_of(name_at(analysis, "grad_row", 8)).role is Role.UPSTREAM_GRADIENT  # type: ignore[union-attr]


def test_library_callables_passed_to_a_base_class() -> None:
    analysis = analyse(
        """
        import numpy as np
        dtanh = lambda y: 1.0 - y ** 2
        class Activation:
            def __init__(self, f, f_prime):
                self.f = f
                self.f_prime = f_prime
            def forward(self, x):
                self.x = x
                return self.f(x)
            def backward(self, g):
                return g * self.f_prime(self.x)
        class Tanh(Activation):
            def __init__(self):
                super().__init__(np.tanh, dtanh)
        """
    )
    semantics = analysis.semantics
    assert semantics.derivatives["dtanh"].convention is Convention.ACTIVATION
    info = semantics.class_info(semantics.classes["Activation"])
    assert info.preactivation_attrs == frozenset({"x"})
    call = call_of(analysis, "self.f_prime(self.x)")
    assert semantics.resolve_call(call) is semantics.module_functions["dtanh"]
    assert semantics.nonlinearity_applied(call_of(analysis, "self.f(x)")) is not None


def test_explanations_are_lazy() -> None:
    analysis = analyse(
        """
        def f(W, x, b):
            z = W @ x + b
            return z
        """
    )
    role = analysis.semantics.role_of(name_at_no_positions(analysis, "z"))
    assert role is not None and role.role is Role.PREACTIVATION
    assert "_positions" not in vars(analysis)  # nothing asked for a line yet
    assert role.explanation == "z = W @ x + b on line 2, an affine map"


def name_at_no_positions(analysis: ModuleAnalysis, name: str) -> cst.Name:
    """The last read of `name` (found without computing positions)."""
    return [n for n in analysis.index.nodes(cst.Name) if n.value == name][-1]


def expression_on(analysis: ModuleAnalysis, code: str, line: int) -> cst.BaseExpression:
    """The expression spelled `code` on `line`."""
    for node in analysis.index.preorder:
        if isinstance(node, cst.BaseExpression) and analysis.code_for(node) == code and analysis.line_of(node) == line:
            return node
    raise AssertionError(f"no {code} on line {line}")


def test_softmax_normalised_in_place_is_a_forward() -> None:
    analysis = analyse(
        """
        import numpy as np
        def softmax(x):
            y = x - x.max(axis=1, keepdims=True)
            y = np.exp(y)
            y /= y.sum(axis=1, keepdims=True)
            return y
        def l1(x):
            w = np.abs(x)
            w /= w.sum(axis=1, keepdims=True)
            return w
        def rescaled(x):
            e = np.exp(x)
            e /= 2.0
            return e
        """
    )
    semantics = analysis.semantics
    info = semantics.forwards["softmax"]
    assert info.kind is ForwardKind.SOFTMAX and info.input_param == "x"
    assert "l1" not in semantics.forwards  # not an exponential
    assert "rescaled" not in semantics.forwards  # not divided by its own sum
    role = semantics.role_of(name_at(analysis, "y", 6))
    assert role is not None and role.role is Role.ACTIVATION and role.forward_kind is ForwardKind.SOFTMAX


FRAMEWORK = """
    import numpy as np
    from dezero.core import Function
    class Tanh(Function):
        def forward(self, x):
            return np.tanh(x)
        def backward(self, gy):
            y = self.outputs[0]()
            return gy * (1 - y * y), self.outputs[0], self.output_data[0].data, self.outputs[1]()
    class Cached(Function):
        def forward(self, x):
            self.outputs = [x]
            return np.tanh(x)
        def backward(self, gy):
            return gy * self.outputs[0]
    class Plain:
        def forward(self, x):
            return np.tanh(x)
        def backward(self, gy):
            return gy * self.outputs[0]
    """


@pytest.mark.parametrize(
    "code, line, expected",
    [
        ("self.outputs[0]()", 7, ForwardKind.TANH),  # dezero: a weak reference to the output
        ("self.outputs[0]", 8, ForwardKind.TANH),
        ("self.output_data[0].data", 8, ForwardKind.TANH),  # chainer's Function
        ("self.outputs[1]()", 8, None),  # a forward with one output has no second one
        ("self.outputs[0]", 14, None),  # stored by the class's own forward, not by a framework
        ("self.outputs[0]", 19, None),  # no base class keeps outputs
    ],
)
def test_framework_outputs_are_the_forward_output(code: str, line: int, expected: ForwardKind) -> None:
    analysis = analyse(FRAMEWORK)
    role = analysis.semantics.role_of(expression_on(analysis, code, line))
    if expected is None:
        assert role is None or role.role is not Role.ACTIVATION
    else:
        assert role is not None and role.role is Role.ACTIVATION and role.forward_kind is expected


SLICES = """
    import numpy as np
    def softmax_rows(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    def softmax_columns(z):
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))
    def f(W, x, b, y):
        z = W @ x + b
        rows = softmax_rows(z)
        columns = softmax_columns(z)
        column = softmax_rows(x.reshape(1, -1)).reshape(-1, 1)
        a = sigmoid(z)
        return z[:, 0], z[0], z[:, 1:], rows[0], rows[:, 0], columns[:, 0], columns[0], column[:, 0], a[:, 2], a[range(3), y], rows[:, None]
    """


@pytest.mark.parametrize(
    "code, role, kind",
    [
        ("z[:, 0]", Role.PREACTIVATION, None),
        ("z[0]", Role.PREACTIVATION, None),
        ("z[:, 1:]", None, None),  # a partial slice may pick anything
        ("rows[0]", Role.ACTIVATION, ForwardKind.SOFTMAX),  # a row of a batch normalised along axis 1
        ("rows[:, 0]", None, None),  # one class across the batch: not a distribution
        ("columns[:, 0]", Role.ACTIVATION, ForwardKind.SOFTMAX),  # classes x batch: a column is a sample
        ("columns[0]", None, None),
        ("column[:, 0]", Role.ACTIVATION, ForwardKind.SOFTMAX),  # an (n, 1) column
        ("a[:, 2]", Role.ACTIVATION, ForwardKind.SIGMOID),  # elementwise: any part is an output
        ("a[range(3), y]", None, None),  # fancy indexing
        ("rows[:, None]", Role.ACTIVATION, ForwardKind.SOFTMAX),  # a new axis only
    ],
)
def test_roles_through_rows_and_columns(code: str, role: Role, kind: ForwardKind) -> None:
    analysis = analyse(SLICES)
    found = analysis.semantics.role_of(expression_on(analysis, code, 16))
    if role is None:
        assert found is None
    else:
        assert found is not None and found.role is role
        if kind is not None:
            assert found.forward_kind is kind


SHIFTS = """
    import numpy as np
    class Softmax:
        def forward(self, x):
            self.last_x = x
            shiftx = x - np.max(x)
            exps = np.exp(shiftx)
            self.result = exps / np.sum(exps)
            return self.result
    def softmax(x):
        z = x
        z = z - z.max()
        e = np.exp(z)
        return e / e.sum()
    def f(a):
        b = a.reshape(-1)
        c = b - np.max(b)
        b = a * 2
        return np.exp(c) / np.sum(np.exp(c)), a, b
    """


@pytest.mark.parametrize(
    "code, line, role",
    [
        ("x", 4, Role.PREACTIVATION),  # shifted through `shiftx` before the exp
        ("self.last_x", 4, Role.PREACTIVATION),
        ("x", 10, Role.PREACTIVATION),  # an alias, shifted in place of itself
        ("a", 18, Role.PREACTIVATION),  # reshaped, then shifted
        ("b", 18, None),  # rebound after the shift: no longer the softmax's input
    ],
)
def test_softmax_input_through_a_shift_variable(code: str, line: int, role: Role) -> None:
    analysis = analyse(SHIFTS)
    found = analysis.semantics.role_of(expression_on(analysis, code, line))
    if role is None:
        assert found is None or found.role is not Role.PREACTIVATION
    else:
        assert found is not None and found.role is role
    if code == "self.last_x":
        info = analysis.semantics.class_info(analysis.semantics.classes["Softmax"])
        assert info.preactivation_attrs == {"last_x"} and info.activation_attrs == {"result"}


LIST_ATTRIBUTES = """
    import numpy as np
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))
    class RNN:
        def forward(self, xs, h):
            hidden = [h]
            self.zs = []
            self.mixed = []
            self.rows = []
            for x in xs:
                z = x @ self.W + h @ self.U
                h = np.tanh(z)
                hidden.append(h)
                self.zs.append(z)
                self.mixed.append(h)
                self.mixed.append(sigmoid(z))
                self.rows.append(h)
            self.hidden = hidden
            self.rows.insert(0, xs[0])
            return h
        def backward(self, dh):
            hidden = self.hidden
            return hidden[1], self.hidden[-1], self.zs[0], self.mixed[0], self.rows[1]
    """


@pytest.mark.parametrize(
    "code, role, kind",
    [
        ("hidden[1]", Role.ACTIVATION, ForwardKind.TANH),  # a local alias of the list attribute
        ("self.hidden[-1]", Role.ACTIVATION, ForwardKind.TANH),
        ("self.zs[0]", Role.PREACTIVATION, None),  # appended by `self.zs.append(z)`
        ("self.mixed[0]", None, None),  # outputs of two different nonlinearities
        ("self.rows[1]", None, None),  # also filled by insert: not only appended values
    ],
)
def test_roles_of_list_attributes(code: str, role: Role, kind: ForwardKind) -> None:
    analysis = analyse(LIST_ATTRIBUTES)
    found = analysis.semantics.role_of(expression_on(analysis, code, 23))
    if role is None:
        assert found is None
    else:
        assert found is not None and found.role is role
        if kind is not None:
            assert found.forward_kind is kind


@pytest.mark.parametrize(
    "name, expected",
    [("deriv", True), ("derivative", True), ("sigmoid_prime", True), ("d_tanh", True), ("softmax_jacobian", True),
     ("forward", False), ("confidence", False), ("backward", False)],  # a backward is told by BACKWARD_METHODS
)
def test_named_as_derivative(name: str, expected: bool) -> None:
    from gradlint.analysis.semantics import named_as_derivative

    assert named_as_derivative(name) is expected


def test_calling_an_instance_runs_its_call_method() -> None:
    analysis = analyse(
        """
        import numpy as np
        class SoftMax:
            def __call__(self, dist):
                e = np.exp(dist - np.max(dist))
                return e / e.sum()
        class Plain:
            def forward(self, x):
                return np.tanh(x)
        def f(x):
            g = SoftMax()
            h = Plain()
            return g(x), h(x)
        """
    )
    semantics = analysis.semantics
    targets = semantics.resolve_call_targets(call_of(analysis, "g(x)"))
    assert [semantics.qualname(t.function) for t in targets] == ["SoftMax.__call__"] and targets[0].bound_self
    assert semantics.resolve_call_targets(call_of(analysis, "h(x)")) == []  # no __call__
    role = semantics.role_of(call_of(analysis, "g(x)"))
    assert role is not None and role.role is Role.ACTIVATION and role.forward_kind is ForwardKind.SOFTMAX
