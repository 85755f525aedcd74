"""GL205 derivative-of-wrong-function: a derivative whose formula belongs to another forward."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.algebra import mixed_logistic_form
from gradlint.analysis.jacobians import (
    arithmetic_roots,
    expand_with_atoms,
    formula_sites,
    in_derivative_context,
    resolve,
    scope_for,
)
from gradlint.analysis.semantics import (
    BACKWARD_METHODS,
    DERIVATIVE_METHODS,
    ForwardKind,
    Role,
    RoleEvidence,
    derivative_base,
    named_as_derivative,
)
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_RIGHT_FORMULA = {
    ForwardKind.SIGMOID: "s*(1-s)",
    ForwardKind.TANH: "1 - t**2",
    ForwardKind.SOFTMAX: "the Jacobian diag(s) - s s^T (or the VJP s*(g - sum(g*s)))",
    ForwardKind.RELU: "(x > 0)",
    ForwardKind.LEAKY_RELU: "1 where x > 0, else the slope",
}
_FORMULA_NAME = {"logistic": "the sigmoid derivative s*(1-s)", "tanh": "the tanh derivative 1 - t**2"}
# Which forwards each formula is wrong for (softmax + s*(1-s) is GL102's).
_WRONG_FOR = {
    "logistic": (ForwardKind.TANH, ForwardKind.RELU, ForwardKind.LEAKY_RELU),
    "tanh": (ForwardKind.SIGMOID, ForwardKind.SOFTMAX, ForwardKind.RELU, ForwardKind.LEAKY_RELU),
}
_SELF_RETURNING = (ForwardKind.SOFTMAX, ForwardKind.SIGMOID, ForwardKind.TANH, ForwardKind.RELU, ForwardKind.LEAKY_RELU)


class DerivativeOfWrongFunction(Rule):
    code = "GL205"
    name = "derivative-of-wrong-function"
    severity = Severity.ERROR
    summary = "The derivative's formula belongs to a different function than its forward (or is the forward itself)."
    what_it_does = """
        Judges each derivative formula against the forward that produced its input, decided
        from bodies: the forward defined in the same class (a layer's `forward`, whose output
        a dezero / chainer `Function` reads back as `self.outputs[0]()`), the module function
        the derivative or Jacobian is named after (`tanh` / `tanh_prime`, `softmax` /
        `softmax_jacobian`), or the forward whose output is handed to it. It reports:

        - a sigmoid formula `s*(1-s)` applied to a tanh or relu output, a tanh formula
          `1 - t**2` applied to a sigmoid, softmax or relu output;
        - a derivative (a layer's `backward`, or a function named as the derivative of a
          module forward) that returns the forward's output itself (`return self.output`,
          `grad * self.output`, `def softmax_prime(x): return softmax(x)`), or a method named
          as the class's derivative that computes the class's own nonlinearity again (a class
          without a `forward` counts its public methods that are forwards by their bodies:
          exclusiveAI's `@staticmethod function(x)` beside `derivative(x)`);
        - `s*(1-z)`: the logistic derivative with one factor taken from the activation and
          the other from the pre-activation.
        """
    why_bad = """
        The formula is the derivative of a different function, so the gradient is wrong
        everywhere, while the code runs and the shapes agree. Typical causes: copying the
        sigmoid layer to make a tanh layer, or mixing `self.input` and `self.output`.
        """
    example = """
        class Tanh:
            def forward(self, x):
                self.out = np.tanh(x)
                return self.out

            def backward(self, grad):
                return grad * self.out * (1 - self.out)
        """
    use_instead = """
            def backward(self, grad):
                return grad * (1 - self.out ** 2)
        """
    references = ("Derivatives of activation functions: https://en.wikipedia.org/wiki/Activation_function",)

    INVALID = (
        Invalid(
            """
            import numpy as np

            class Tanh:
                def forward(self, x):
                    self.out = np.tanh(x)
                    return self.out

                def backward(self, grad):
                    return grad * self.out * (1 - self.out)
            """,
            line=9,
            message="tanh output",
            why="layer class: the sigmoid formula in a tanh layer",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            def sigmoid_prime(s):
                return 1 - s ** 2
            """,
            line=7,
            message="the tanh derivative 1 - t**2",
            why="free function named after the module's sigmoid",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(x):
                e = np.exp(x - np.max(x))
                return e / np.sum(e)

            def softmax_derivative(x):
                return softmax(x)
            """,
            line=8,
            message="returns the softmax itself",
            why="a softmax derivative returning the softmax",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    self.output = e / e.sum(axis=1, keepdims=True)
                    return self.output

                def backward(self, dvalues):
                    return dvalues * self.output
            """,
            line=10,
            message="the softmax output itself",
            why="batched layer: backward returns grad * s",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                def forward(self, x):
                    e = np.exp(x - np.max(x))
                    return e / np.sum(e)

                def derivative(self, x):
                    return self.forward(x)
            """,
            line=9,
            message="returns `self.forward(x)`",
            why="a derivative method returning the forward",
        ),
        Invalid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            class Sigmoid:
                def forward(self, z):
                    self.z = z
                    self.a = sigmoid(z)
                    return self.a

                def backward(self, grad):
                    return grad * self.a * (1 - self.z)
            """,
            line=13,
            message="mixes",
            why="s*(1-z): activation and pre-activation in one factor pair",
        ),
        Invalid(
            """
            import numpy as np

            def train_step(W1, W2, X, Y, lr):
                Z1 = W1 @ X
                A1 = np.tanh(Z1)
                A2 = 1 / (1 + np.exp(-(W2 @ A1)))
                dZ2 = A2 - Y
                dA1 = W2.T @ dZ2
                dZ1 = dA1 * A1 * (1 - A1)
                return dZ1 @ X.T
            """,
            line=9,
            message="`A1` is a tanh output",
            why="column layout training step: sigmoid formula on the tanh hidden layer",
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
                    y = self.outputs[0]()
                    gx = gy * y * (1 - y)
                    return gx
            """,
            line=11,
            message="is a tanh output",
            why="dezero Function: the sigmoid formula on self.outputs[0]() in a tanh's backward",
        ),
        Invalid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z, axis=0, keepdims=True))
                return e / np.sum(e, axis=0, keepdims=True)

            def softmax_jacobian(s):
                return softmax(s)

            def output_delta(W, a, y):
                out = softmax(W @ a)
                return softmax_jacobian(out[:, 0]) @ (-y / np.clip(out, 1e-12, None))
            """,
            line=8,
            message="returns the softmax itself",
            why="free function named as the softmax Jacobian returning the softmax itself",
        ),
        Invalid(
            """
            import numpy as np

            class Softmax:
                @staticmethod
                def function(x):
                    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
                    return e / np.sum(e, axis=-1, keepdims=True)

                @staticmethod
                def derivative(x):
                    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
                    return e / np.sum(e, axis=-1, keepdims=True)
            """,
            line=12,
            message="the softmax of its argument x itself (as Softmax.function does)",
            why="exclusiveAI Softmax.py: static function/derivative pair, the derivative recomputes the softmax",
        ),
        Invalid(
            """
            import numpy as np

            class Logistic:
                def __call__(self, z):
                    return 1.0 / (1.0 + np.exp(-z))

                def prime(self, z):
                    return np.exp(z) / (1.0 + np.exp(z))
            """,
            line=8,
            message="the sigmoid of its argument z itself",
            why="a callable sigmoid class whose prime is the sigmoid again (written another way)",
        ),
    )
    VALID = (
        Valid(
            """
            import numpy as np

            class Sigmoid:
                @staticmethod
                def function(x):
                    return np.ones(x.shape) / (np.ones(x.shape) + np.exp(-x))

                @staticmethod
                def derivative(x):
                    return Sigmoid.function(x) * (np.ones(x.shape) - Sigmoid.function(x))

            class Softplus:
                @staticmethod
                def function(x):
                    return np.logaddexp(0, x)

                @staticmethod
                def derivative(x):
                    return 1 / (1 + np.exp(-x))
            """,
            why="exclusiveAI Sigmoid (logit convention), and a softplus whose derivative is rightly the sigmoid (another forward)",
        ),
        Valid(
            """
            import numpy as np

            class Network:
                def softmax(self, z):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    return e / e.sum(axis=1, keepdims=True)

                def _softmax(self, z):
                    return self.softmax(z)

                def tanh_prime(self, t):
                    return 1 - t ** 2

                def predict(self, x):
                    h = np.tanh(x @ self.W1)
                    return self.softmax(h @ self.W2)

            class CrossEntropy:
                def _softmax(self, z):
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    return e / e.sum(axis=1, keepdims=True)

                def derivative(self, t):
                    return 1 - t ** 2
            """,
            why="trap: a class without a forward method pairs a derivative only with the forward its name points to (tanh_prime is not the derivative of softmax), or with a public forward (not a private helper)",
        ),
        Valid(
            """
            import numpy as np

            class Tanh:
                def forward(self, x):
                    self.out = np.tanh(x)
                    return self.out

                def backward(self, grad):
                    return grad * (1 - self.out ** 2)
            """,
            why="the right formula",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(x):
                return 1 / (1 + np.exp(-x))

            class GRUCell:
                def forward(self, x, h):
                    self.z = sigmoid(x @ self.Wz + h @ self.Uz)
                    self.c = np.tanh(x @ self.Wc + h @ self.Uc)
                    self.h = self.z * h + (1 - self.z) * self.c
                    return np.tanh(self.h)

                def backward(self, dh):
                    dz = dh * self.z * (1 - self.z)
                    dc = dh * (1 - self.c ** 2)
                    return dz, dc
            """,
            why="a cell mixing sigmoid gates and tanh states: each formula matches its own value",
        ),
        Valid(
            """
            import numpy as np

            class Softmax:
                def forward(self, z):
                    e = np.exp(z - z.max())
                    self.output = e / e.sum()
                    return self.output

                def backward(self, grad):
                    return grad
            """,
            why="a pass-through backward (fused with the loss): not the softmax itself",
        ),
        Valid(
            """
            import numpy as np

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def sigmoid_prime(z):
                return sigmoid(z) * (1 - sigmoid(z))
            """,
            why="logit convention: the forward applied inside",
        ),
        Valid(
            """
            import numpy as np

            def tanh(x):
                return np.tanh(x)

            def tanh_prime(x):
                return 1 - np.tanh(x) ** 2
            """,
            why="tanh derivative in the logit convention",
        ),
        Valid(
            """
            import numpy as np

            class Exp:
                def forward(self, x):
                    self.out = np.exp(x)
                    return self.out

                def backward(self, grad):
                    return grad * self.out
            """,
            why="the exponential is its own derivative",
        ),
        Valid(
            """
            import numpy as np

            class Sigmoid:
                def forward(self, x):
                    return 1 / (1 + np.exp(-x))

                def derivative(self, x):
                    s = self.forward(x)
                    return s * (1 - s)
            """,
            why="a derivative method in the logit convention",
        ),
        Valid(
            """
            import numpy as np

            def mix(x, y):
                t = np.tanh(x)
                return t * (1 - y)
            """,
            why="no derivative context, no pre-activation",
        ),
        Valid(
            """
            import numpy as np
            from dezero.core import Function

            class Sigmoid(Function):
                def forward(self, x):
                    y = np.tanh(x * 0.5) * 0.5 + 0.5
                    return y

                def backward(self, gy):
                    y = self.outputs[0]()
                    gx = gy * y * (1 - y)
                    return gx

            class Tanh(Function):
                def forward(self, x):
                    return np.tanh(x)

                def backward(self, gy):
                    y = self.outputs[0]()
                    return gy * (1 - y * y)
            """,
            why="trap: dezero's Sigmoid forward written with a tanh (tanh(x/2)/2 + 1/2): a sigmoid, so gy*y*(1-y) is right",
        ),
        Valid(
            """
            import numpy as np

            def softmax(z):
                e = np.exp(z - np.max(z))
                return e / np.sum(e)

            def softmax_jacobian(s):
                return np.diagflat(s) - np.outer(s, s)

            def sigmoid(z):
                return 1 / (1 + np.exp(-z))

            def sigmoid_jac(z):
                s = sigmoid(z)
                return np.diag(s * (1 - s))
            """,
            why="correct Jacobian functions named *_jacobian / *_jac",
        ),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
        reported: set[int] = set()
        roots = list(arithmetic_roots(analysis))
        yield from self._wrong_formulas(analysis, roots, reported)
        yield from self._returns_forward(analysis, reported)
        yield from self._mixed_factors(analysis, roots, reported)

    # -- a formula of another forward ------------------------------------------
    def _wrong_formulas(self, analysis: ModuleAnalysis, roots: list[cst.BaseExpression], reported: set[int]) -> Iterator[Finding]:
        for site in formula_sites(analysis, iter(roots), ("logistic", "tanh")):
            if id(site.expression) in reported or not _derivative_context(analysis, site.expression):
                continue
            judged = _forward_of_value(analysis, site.atom)
            if judged is None:
                continue
            kind, why = judged
            if kind not in _WRONG_FOR[site.shape]:
                continue
            reported.add(id(site.expression))
            yield Finding(
                site.expression,
                f"`{analysis.code_for(site.expression)}` is {_FORMULA_NAME[site.shape]}, but "
                f"`{analysis.code_for(site.atom)}` is a {kind.label} output ({why}); the {kind.label} derivative "
                f"is {_RIGHT_FORMULA[kind]}",
            )

    # -- the forward itself ------------------------------------------------------
    def _returns_forward(self, analysis: ModuleAnalysis, reported: set[int]) -> Iterator[Finding]:
        semantics = analysis.semantics
        for function in analysis.index.nodes(cst.FunctionDef):
            paired = _paired_forward(analysis, function)
            if paired is None:
                continue
            kind, forward_name = paired
            if kind not in _SELF_RETURNING:
                continue
            own = semantics.forward_of(function)
            facts = semantics.facts(function)
            if own is not None and own.kind is kind and analysis.index.class_of(function) is None:
                returned = facts.returns[0] if facts.returns else function
                if id(returned) not in reported:
                    reported.add(id(returned))
                    yield Finding(
                        returned,
                        f"{function.name.value} is named as the derivative of {forward_name} but returns the "
                        f"{kind.label} itself (`{analysis.code_for(returned)}`); the {kind.label} derivative is "
                        f"{_RIGHT_FORMULA[kind]}",
                    )
                continue
            if analysis.index.class_of(function) is None:
                continue
            if (
                own is not None
                and own.kind is kind
                and own.input_param in facts.params
                and function.name.value not in BACKWARD_METHODS
                and facts.returns
                and id(facts.returns[0]) not in reported
            ):
                # exclusiveAI: `def function(x): <softmax>` and `def derivative(x): <the same softmax>`
                returned = facts.returns[0]
                reported.add(id(returned))
                forward = _class_forward(analysis, analysis.index.class_of(function), function.name.value)  # type: ignore[arg-type]
                computed_by = f" (as {forward_name}.{forward[1]} does)" if forward is not None else ""
                yield Finding(
                    returned,
                    f"{forward_name}.{function.name.value} returns `{analysis.code_for(returned)}`, the {kind.label} "
                    f"of its argument {own.input_param} itself{computed_by}, not its derivative; the {kind.label} "
                    f"derivative is {_RIGHT_FORMULA[kind]}",
                )
                continue
            gradient = semantics.gradient_param(function)
            for returned in facts.returns:
                if id(returned) in reported:
                    continue
                activation = self._activation_times_gradient(analysis, returned, gradient, kind)
                if activation is None:
                    continue
                reported.add(id(returned))
                yield Finding(
                    returned,
                    f"{forward_name}.{function.name.value} returns `{analysis.code_for(returned)}`, the {kind.label} output "
                    f"itself (`{analysis.code_for(activation)}`){' times the upstream gradient' if gradient else ''}; "
                    f"only the exponential is its own derivative: the {kind.label} derivative is {_RIGHT_FORMULA[kind]}",
                )

    @staticmethod
    def _activation_times_gradient(
        analysis: ModuleAnalysis, returned: cst.BaseExpression, gradient: Optional[str], kind: ForwardKind
    ) -> Optional[cst.BaseExpression]:
        """The activation when `returned` is `s` or `gradient * s` with s the forward's output."""
        value = resolve(analysis, returned)
        polynomial, atoms = expand_with_atoms(analysis, value, require_difference=False)
        if polynomial is None or len(polynomial.terms) != 1:
            return None
        monomial, coefficient = polynomial.terms[0]
        if coefficient != 1:
            return None
        others = [atom for atom in monomial if atom != gradient]
        if len(others) != 1 or (len(monomial) == 2 and gradient not in monomial) or len(monomial) > 2:
            return None
        activation = atoms[others[0]]
        semantics = analysis.semantics
        role = semantics.role_of(activation, at=returned)
        if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not kind:
            return None
        if type(activation) is cst.Call:
            applied = semantics.nonlinearity_applied(activation)
            if applied is not None:
                inner = semantics.role_of(applied[1], at=returned)
                if inner is not None and inner.role is Role.ACTIVATION:
                    return None  # the forward applied to its own output: GL202's finding
        return activation

    # -- s*(1-z) ---------------------------------------------------------------
    def _mixed_factors(self, analysis: ModuleAnalysis, roots: list[cst.BaseExpression], reported: set[int]) -> Iterator[Finding]:
        semantics = analysis.semantics
        for root in roots:
            if id(root) in reported:
                continue
            polynomial, atoms = expand_with_atoms(analysis, root)
            forms = mixed_logistic_form(polynomial)
            if not forms or not _derivative_context(analysis, root):
                continue
            for form in forms:
                first, second = atoms[form.first], atoms[form.second]
                first_role = semantics.role_of(first)
                second_role = semantics.role_of(second)
                pair = _activation_and_input(first_role, second_role)
                if pair is None:
                    continue
                activation_role, _ = pair
                kind = activation_role.forward_kind
                activation, preactivation = (first, second) if activation_role is first_role else (second, first)
                reported.add(id(root))
                yield Finding(
                    root,
                    f"`{analysis.code_for(root)}` mixes the {kind.label} output `{analysis.code_for(activation)}` "  # type: ignore[union-attr]
                    f"and the pre-activation `{analysis.code_for(preactivation)}` in one factor pair; the "
                    f"{kind.label} derivative is s*(1-s) with both factors the output "  # type: ignore[union-attr]
                    f"`{analysis.code_for(activation)}`",
                )
                break


def _activation_and_input(
    first: Optional[RoleEvidence], second: Optional[RoleEvidence]
) -> Optional[tuple[RoleEvidence, RoleEvidence]]:
    for activation, preactivation in ((first, second), (second, first)):
        if (
            activation is not None
            and preactivation is not None
            and activation.role is Role.ACTIVATION
            and activation.forward_kind in (ForwardKind.SIGMOID, ForwardKind.SOFTMAX)
            and preactivation.role is Role.PREACTIVATION
        ):
            return activation, preactivation
    return None


def _derivative_context(analysis: ModuleAnalysis, node: cst.CSTNode) -> bool:
    return in_derivative_context(analysis, node)


def _forward_of_value(analysis: ModuleAnalysis, atom: cst.BaseExpression) -> Optional[tuple[ForwardKind, str]]:
    """Which forward produced `atom`: its role, or (for a parameter) the forward its
    function is the derivative of, by class or by name, or by what every caller passes."""
    semantics = analysis.semantics
    role = semantics.role_of(atom)
    if role is not None and role.role is Role.ACTIVATION and role.forward_kind is not None:
        return role.forward_kind, role.why
    if role is not None:
        return None
    if type(atom) is not cst.Name:
        return None
    function = analysis.index.function_containing(atom)
    if function is None or not scope_for(analysis, atom).is_unbound_parameter(analysis, atom.value, atom):
        return None
    callers = [
        dc for dc in semantics.derivative_calls if dc.derivative.function is function and dc.argument is not None
    ]
    kinds = set()
    for caller in callers:
        caller_role = semantics.role_of(caller.argument, at=caller.call)  # type: ignore[arg-type]
        if caller_role is None or caller_role.role is not Role.ACTIVATION:
            kinds = set()
            break
        kinds.add(caller_role.forward_kind)
    if len(kinds) == 1 and None not in kinds:
        kind = kinds.pop()
        return kind, f"every caller passes a {kind.label} output"  # type: ignore[union-attr]
    paired = _paired_forward(analysis, function)
    if paired is not None and not callers:
        kind, forward_name = paired
        return kind, f"{function.name.value} is named as the derivative of {forward_name}, a {kind.label} by its body"
    return None


def _class_forward(analysis: ModuleAnalysis, cls: cst.ClassDef, derivative: str) -> Optional[tuple[ForwardKind, str]]:
    """The nonlinearity a class's derivative method `derivative` belongs to, and the method computing it:
    the class's `forward`/`__call__`; for a class without one, a method that is a forward by its body and
    is the one the derivative's name points to: `softmax` for `softmax_prime`, or, for a generic name
    (`derivative`, `deriv`, `prime`), the class's public forwards, which must agree on one kind
    (exclusiveAI's `@staticmethod function(x)` beside `derivative(x)`)."""
    semantics = analysis.semantics
    info = semantics.class_info(cls)
    if info.forward is not None:
        return (info.forward_kind, info.forward.name.value) if info.forward_kind is not None else None
    methods = analysis.index.methods(cls)
    if derivative.lower() not in DERIVATIVE_METHODS:
        base = derivative_base(derivative) or ""
        named = methods.get(base)
        forward = semantics.forward_of(named) if named is not None else None
        return (forward.kind, base) if forward is not None else None
    found: dict[ForwardKind, str] = {}
    for method in methods.values():
        name = method.name.value
        if name in BACKWARD_METHODS or named_as_derivative(name) or name.startswith("_"):
            continue  # a derivative, or a private helper (`_softmax` of a loss class)
        forward = semantics.forward_of(method)
        if forward is not None:
            found.setdefault(forward.kind, name)
    return next(iter(found.items())) if len(found) == 1 else None


def _paired_forward(analysis: ModuleAnalysis, function: cst.FunctionDef) -> Optional[tuple[ForwardKind, str]]:
    """The forward `function` is the derivative of: its class's forward (for a backward
    method), or the module function it is named after (`tanh` for `tanh_prime`)."""
    semantics = analysis.semantics
    cls = analysis.index.class_of(function)
    if cls is not None:
        name = function.name.value
        if name not in BACKWARD_METHODS and not named_as_derivative(name):
            return None
        info = semantics.class_info(cls)
        if info.forward is function:
            return None
        if name in BACKWARD_METHODS:  # a layer's backward: only beside a forward method
            return (info.forward_kind, cls.name.value) if info.forward_kind is not None else None
        forward = _class_forward(analysis, cls, name)
        return (forward[0], cls.name.value) if forward is not None else None
    base = derivative_base(function.name.value)
    if base is None:
        return None
    base = base.lower()
    for name, candidate in analysis.model("functions by lower-case name", _functions_by_lower_name).get(base, ()):
        if candidate is not function:
            info = semantics.forward_of(candidate)
            if info is not None:
                return info.kind, name
    return None


def _functions_by_lower_name(analysis: ModuleAnalysis) -> dict[str, list[tuple[str, cst.FunctionDef]]]:
    """The module's functions by lower-cased name, in order (built once: looking a derivative's
    forward up by a scan of every function was quadratic in a module of many functions)."""
    found: dict[str, list[tuple[str, cst.FunctionDef]]] = {}
    for name, candidate in analysis.semantics.module_functions.items():
        if type(candidate) is cst.FunctionDef:
            found.setdefault(name.lower(), []).append((name, candidate))
    return found

