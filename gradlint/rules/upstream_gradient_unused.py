"""GL204 upstream-gradient-unused: a backward that drops the gradient it is given."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from gradlint.analysis import ModuleAnalysis
from gradlint.analysis.semantics import Role, Semantics
from gradlint.analysis.syntax import ARRAY_METADATA, call_name, dotted_name, last_part
from gradlint.diagnostics import Severity
from gradlint.rule import Finding, Invalid, Rule, Valid

_DYNAMIC = frozenset({"locals", "vars", "eval", "exec", "globals"})
_PASS_THROUGH = frozenset({"ones_like", "ones", "identity", "eye"})


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
        cache that holds the real input goes unused, or is read only as the input of a
        derivative function (`do = sigmoid_prime(dout)`: the point the derivative is evaluated
        at, never multiplied in; reads of its shape aside). An unread gradient is reported only
        where the function does backprop work that should have used it: it writes a
        derivative formula or a relu mask, or it is the backward of a layer whose forward
        is a nonlinearity or an affine map (shape-only functions and hooks are left alone).
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
    )
    VALID = (
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
            """,
            why="the gradient multiplies the derivative at the cached pre-activation",
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
    )

    def check(self, analysis: ModuleAnalysis) -> Iterator[Finding]:
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
            inside = [_nonlinearity_around(analysis, semantics, read) for read in reads]
            if all(call is not None for call in inside) and not _reads_other_inputs(analysis, semantics, function, param):
                first = inside[0]
                assert first is not None
                yield Finding(
                    node,
                    f"{qualname} reads its upstream gradient {param} only inside the nonlinearity "
                    f"({analysis.code_for(first)} on line {analysis.line_of(first)}) and never reads its cached input: "
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


def _reads_other_inputs(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef, param: str) -> bool:
    """Does the function read a parameter other than the gradient (a cache) or a `self.` attribute?"""
    facts = semantics.facts(function)
    others = [p for p in facts.params if p != param and p not in facts.defaults]
    for other in others:
        reads = _reads(analysis, semantics, function, other)
        # `Z = cache` whose Z is then unused still counts as unused
        if any(not _dead_alias(analysis, semantics, function, read) for read in reads):
            return True
    if facts.self_name and _reads(analysis, semantics, function, facts.self_name):
        return True
    return False


def _dead_alias(analysis: ModuleAnalysis, semantics: Semantics, function: cst.FunctionDef, read: cst.Name) -> bool:
    """`Z = cache` (or `A, Z = cache`) where no name it binds is read afterwards."""
    parent = analysis.index.parent(read)
    if type(parent) is not cst.Assign or parent.value is not read:
        return False
    names = []
    for target in parent.targets:
        for node in semantics.walk(target.target):
            if type(node) is cst.Name:
                names.append(node.value)
    return all(not _reads(analysis, semantics, function, name) for name in names)
