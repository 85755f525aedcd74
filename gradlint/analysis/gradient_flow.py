"""Where a loss gradient goes: softmax backwards, fused gradients, layer sequences.

Answers the questions GL203 (double-softmax-derivative) asks of the semantic
model, across the classes and functions of one module and, when the engine
supplies a `Package` (`ModuleAnalysis.package`), across the modules of one
package where an import makes the pairing visible:

- `softmax_backward(analysis, function)`: does this backward apply the softmax
  derivative (a Jacobian, a VJP, even the elementwise s*(1-s)) to its upstream
  gradient, or pass the gradient through?
- `fused_gradient(analysis, expression, at)`: is this value the fused softmax +
  cross-entropy gradient `p - y` (computed here, or returned by a loss whose
  backward returns `p - y` while its forward takes `log(p)`)?
- `last_layer_classes(analysis, loop)`: for `for layer in reversed(layers)`, the
  class of the layer the loop visits first (the last one added), per list
  literals, `append`/`add` calls and constructor arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional, Protocol

import libcst as cst

from gradlint.analysis.jacobians import resolve, scope_for
from gradlint.analysis.syntax import call_name, dotted_name, last_part, literal_number, walk

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis

_LOG = re.compile(r"\blog\w*\s*\(")


# -- cross-module lookups --------------------------------------------------------
class Package(Protocol):
    """What the engine provides in `ModuleAnalysis.package` when it checks several
    modules of one package: the analysis of a module named by an import."""

    def module_for_import(self, importer: "ModuleAnalysis", module: str, level: int) -> "Optional[ModuleAnalysis]":
        """The analysis of `module` (`from .layers import X` is module="layers", level=1)
        as imported from `importer`, or None when it is not part of the package."""
        ...


@dataclass(frozen=True)
class Definition:
    """A class or function and the module analysis it lives in."""

    analysis: "ModuleAnalysis"
    node: cst.CSTNode


def imported_definition(analysis: "ModuleAnalysis", name: str) -> Optional[Definition]:
    """The class/function `name` refers to through `from M import name` in another
    module of the package (needs `analysis.package`)."""
    package = getattr(analysis, "package", None)
    if package is None or not hasattr(package, "module_for_import"):
        return None
    for node in analysis.index.nodes(cst.ImportFrom):
        if type(node.names) is cst.ImportStar:
            continue
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            if dotted_name(bound) != name:
                continue
            module = dotted_name(node.module) if node.module is not None else ""
            other = package.module_for_import(analysis, module or "", len(node.relative))
            if other is None:
                return None
            original = dotted_name(alias.name) or name
            for class_def in other.index.nodes(cst.ClassDef):
                if class_def.name.value == original:
                    return Definition(other, class_def)
            function = other.semantics.module_functions.get(original)
            if function is not None:
                return Definition(other, function)
    return None


def class_named(analysis: "ModuleAnalysis", name: str) -> Optional[Definition]:
    """A class defined in this module, or imported from the package."""
    local = analysis.semantics.classes.get(name)
    if local is not None:
        return Definition(analysis, local)
    found = imported_definition(analysis, name)
    if found is not None and type(found.node) is cst.ClassDef:
        return found
    return None


# -- softmax backwards ---------------------------------------------------------------
@dataclass(frozen=True)
class SoftmaxBackward:
    """A backward that applies the softmax derivative to its upstream gradient."""

    analysis: "ModuleAnalysis"
    function: cst.FunctionDef
    gradient: str
    qualname: str
    evidence: str


def softmax_backward(analysis: "ModuleAnalysis", function: cst.FunctionDef) -> Optional[SoftmaxBackward]:
    """`function` when it applies the softmax derivative (not a pass-through)."""
    from gradlint.analysis.semantics import BACKWARD_METHODS, ForwardKind

    semantics = analysis.semantics
    cls = analysis.index.class_of(function)
    if cls is not None:
        info = semantics.class_info(cls)
        if info.forward_kind is not ForwardKind.SOFTMAX or function.name.value not in BACKWARD_METHODS:
            return None
        gradient = semantics.gradient_param(function)
        if gradient is None or _passes_through(analysis, function, gradient):
            return None
        reads = _reads_activation(analysis, function, info.activation_attrs)
        if reads is None:
            return None
        return SoftmaxBackward(
            analysis, function, gradient, semantics.qualname(function),
            f"it applies the softmax derivative to {gradient} using {reads}",
        )
    derivative = semantics.derivative_of(function)
    if derivative is None or derivative.forward_kind is not ForwardKind.SOFTMAX:
        return None
    gradient = derivative.upstream_param or (semantics.gradient_param(function) if semantics.is_backward(function) else None)
    if gradient is None or gradient == derivative.input_param:
        return None
    return SoftmaxBackward(
        analysis, function, gradient, semantics.qualname(function),
        f"it applies the softmax derivative to {gradient}: {derivative.evidence.removeprefix('it ')}",
    )


def _passes_through(analysis: "ModuleAnalysis", function: cst.FunctionDef, gradient: str) -> bool:
    """Every return is the gradient itself (possibly copied or times ones)."""
    returns = [r.value for r in analysis.index.nodes_in(function, cst.Return) if r.value is not None]
    if not returns:
        return False
    for returned in returns:
        value = resolve(analysis, returned)
        if dotted_name(value) == gradient:
            continue
        if _only_gradient(value, gradient):
            continue
        return False
    return True


def _only_gradient(node: cst.BaseExpression, gradient: str) -> bool:
    """`grad.copy()`, `np.ones_like(x) * grad`, `1 * grad`: the gradient, unchanged."""
    if dotted_name(node) == gradient:
        return True
    if type(node) is cst.Call:
        name = last_part(call_name(node))
        if name in {"ones_like"}:
            return False
        if name == "copy" and type(node.func) is cst.Attribute:
            return dotted_name(node.func.value) == gradient
        if name in {"copy", "array", "asarray"} and node.args:
            return _only_gradient(node.args[0].value, gradient)
        return False
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        for ones, other in ((node.left, node.right), (node.right, node.left)):
            if _is_ones(ones) and _only_gradient(other, gradient):
                return True
    return False


def _is_ones(node: cst.BaseExpression) -> bool:
    if type(node) is cst.Integer and node.value == "1":
        return True
    if type(node) is cst.Float and literal_number(node) == 1.0:
        return True
    return type(node) is cst.Call and last_part(call_name(node)) in {"ones_like", "ones"}


def _reads_activation(analysis: "ModuleAnalysis", function: cst.FunctionDef, attrs: frozenset[str]) -> Optional[str]:
    """The cached activation (`self.output`) or the forward the backward reads."""
    facts = analysis.semantics.facts(function)
    self_name = facts.self_name or "self"
    for attribute in analysis.index.nodes_in(function, cst.Attribute):
        name = dotted_name(attribute)
        if name and name.startswith(self_name + ".") and name.split(".", 1)[1] in attrs:
            return name
    for call in analysis.index.nodes_in(function, cst.Call):
        applied = analysis.semantics.nonlinearity_applied(call)
        if applied is not None:
            return analysis.code_for(call)
    return None


# -- fused gradients ---------------------------------------------------------------
def fused_gradient(analysis: "ModuleAnalysis", expression: cst.BaseExpression, at: cst.CSTNode, depth: int = 0) -> Optional[str]:
    """Why `expression` (read at `at`) is the fused softmax + cross-entropy gradient
    p - y, or None."""
    from gradlint.analysis.semantics import ForwardKind, Role

    if depth > 3:
        return None
    semantics = analysis.semantics
    role = semantics.role_of(expression, at=at)
    if role is not None and role.role is Role.FUSED_LOSS_GRADIENT:
        if role.forward_kind is not ForwardKind.SOFTMAX or not _trains_with_cross_entropy(analysis):
            return None
        return role.explanation
    if role is not None and role.role is Role.LOSS_GRADIENT:
        return None
    value = resolve(analysis, expression)
    from_callers = _difference_of_softmax_parameter(analysis, value)
    if from_callers is not None and _trains_with_cross_entropy(analysis):
        return from_callers
    if type(value) is cst.Call:
        reasons = []
        targets = semantics.resolve_call_targets(value)
        for target in targets:
            if type(target.function) is not cst.FunctionDef:
                return None
            reason = _returns_fused(analysis, target.function)
            if reason is None:
                return None
            reasons.append(reason)
        if not targets:
            imported = method_of_instance(analysis, value)
            if imported is not None and imported.analysis is not analysis:
                assert type(imported.node) is cst.FunctionDef
                reason = _returns_fused(imported.analysis, imported.node)
                if reason is not None:
                    reasons.append(reason)
        return reasons[0] if reasons else None
    return None


def _returns_fused(analysis: "ModuleAnalysis", function: cst.FunctionDef) -> Optional[str]:
    """The function returns p - y: fused by role, or a cross-entropy whose backward
    returns `p - y` (its forward takes log(p))."""
    from gradlint.analysis.semantics import ForwardKind, Role

    semantics = analysis.semantics
    returns = [r.value for r in analysis.index.nodes_in(function, cst.Return) if r.value is not None]
    if not returns:
        return None
    qualname = semantics.qualname(function)
    for returned in returns:
        role = semantics.role_of(returned)
        if role is not None and role.role is Role.FUSED_LOSS_GRADIENT:
            if role.forward_kind is ForwardKind.SOFTMAX:
                return f"{qualname} returns {analysis.code_for(returned)}, {role.why}"
            return None
        difference = _difference(analysis, returned)
        if difference is None:
            return None
        prediction, _ = difference
        log = _cross_entropy_log(analysis, function, prediction)
        if log is None:
            return None
        return (
            f"{qualname} returns {analysis.code_for(returned)}, the gradient of the cross-entropy "
            f"{analysis.code_for(log)} with respect to the logits"
        )
    return None


def _difference(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> Optional[tuple[str, str]]:
    """(`p`, `y`) for `p - y`, `(p - y) / n`, `1 / n * (p - y)` (names or self attributes)."""
    value = resolve(analysis, node)
    for _ in range(3):
        if type(value) is cst.BinaryOperation and type(value.operator) is cst.Divide:
            value = value.left
        elif type(value) is cst.BinaryOperation and type(value.operator) is cst.Multiply:
            left, right = value.left, value.right
            value = right if type(left) in (cst.Integer, cst.Float, cst.BinaryOperation) and type(right) not in (cst.Integer, cst.Float) and _is_subtraction(right) else left
        else:
            break
    if not _is_subtraction(value):
        return None
    assert type(value) is cst.BinaryOperation
    left, right = dotted_name(value.left), dotted_name(value.right)
    if left is None or right is None:
        return None
    return left, right


def _is_subtraction(node: cst.CSTNode) -> bool:
    return type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract


def _cross_entropy_log(analysis: "ModuleAnalysis", function: cst.FunctionDef, prediction: str) -> Optional[cst.Call]:
    """A `log(...)` of the prediction in the loss this backward belongs to: another
    method of its class, or the module function it is named after."""
    semantics = analysis.semantics
    cls = analysis.index.class_of(function)
    siblings: list[cst.FunctionDef] = []
    if cls is not None:
        siblings = [m for m in analysis.index.methods(cls).values() if m is not function]
    else:
        base = re.sub(r"(_?(grad|gradient|derivative|deriv|prime|backward|back|d))$", "", function.name.value, flags=re.I)
        candidate = semantics.module_functions.get(base)
        if type(candidate) is cst.FunctionDef and candidate is not function:
            siblings = [candidate]
    prediction_attr = prediction.split(".", 1)[1] if prediction.startswith("self.") else None
    function_params = semantics.facts(function).params
    position = function_params.index(prediction) if prediction in function_params else None
    for sibling in siblings:
        sibling_params = semantics.facts(sibling).params
        wanted = set()
        if prediction_attr is not None:
            wanted.add(prediction)
        if position is not None and position < len(sibling_params):
            wanted.add(sibling_params[position])
        for call in analysis.index.nodes_in(sibling, cst.Call):
            if last_part(call_name(call)) not in {"log", "log2", "log10"} or not call.args:
                continue
            mentioned = {dotted_name(n) for n in walk(call.args[0].value) if type(n) in (cst.Name, cst.Attribute)}
            if wanted & mentioned:
                return call
    return None


# -- layer sequences -------------------------------------------------------------------
def loop_first_layer(analysis: "ModuleAnalysis", loop: cst.For) -> Optional[tuple[Definition, str]]:
    """For `for layer in reversed(L)` / `L[::-1]`: the class of L's last element and
    how it was found."""
    iterable = loop.iter
    if type(iterable) is cst.Call and call_name(iterable) == "reversed" and iterable.args:
        sequence = iterable.args[0].value
    elif type(iterable) is cst.Subscript and len(iterable.slice) == 1 and _is_reversing(iterable.slice[0].slice):
        sequence = iterable.value
    else:
        return None
    elements = _list_elements(analysis, sequence)
    if not elements:
        return None
    last = elements[-1]
    if type(last) is not cst.Call:
        return None
    name = dotted_name(last.func)
    if not name or "." in name:
        return None
    found = class_named(analysis, name)
    if found is None:
        return None
    return found, f"the last layer of {analysis.code_for(sequence)} is {analysis.code_for(last)}"


def _is_reversing(node: cst.BaseSlice) -> bool:
    return (
        type(node) is cst.Slice
        and node.lower is None
        and node.upper is None
        and node.step is not None
        and analysis_code(node.step) == "-1"
    )


def analysis_code(node: cst.CSTNode) -> str:
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus and type(node.expression) is cst.Integer:
        return "-" + node.expression.value
    return ""


def _list_elements(analysis: "ModuleAnalysis", sequence: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The elements of a list in the order they are added: a list literal, then
    `.append(x)` / `.add(x)` calls (on the list, or on the owner via an `add` method)."""
    name = dotted_name(sequence)
    if name is None:
        return []
    index = analysis.index
    function = index.function_containing(sequence)
    cls = index.class_of(function) if function is not None else None
    elements: list[cst.BaseExpression] = []
    if name.startswith("self.") and cls is not None:
        attr = name.split(".", 1)[1]
        for method in index.methods(cls).values():
            for assign in index.nodes_in(method, cst.Assign):
                if any(dotted_name(t.target) == name for t in assign.targets):
                    elements.extend(_literal_or_argument(analysis, method, assign.value, cls))
        for call in index.nodes(cst.Call):
            func = call.func
            if type(func) is not cst.Attribute or func.attr.value not in {"append", "add"} or len(call.args) != 1:
                continue
            owner = dotted_name(func.value)
            caller = index.function_containing(call)
            if owner == name and caller is not None and index.class_of(caller) is cls:
                elements.append(call.args[0].value)
            elif func.attr.value == "add" and _adds_to(analysis, cls, attr) and _instance_of(analysis, func.value, cls):
                elements.append(call.args[0].value)
        return elements
    definition = scope_for(analysis, sequence).reaching(analysis, name, sequence) if "." not in name else None
    if definition is not None and type(definition.value) is cst.List:
        elements.extend(e.value for e in definition.value.elements)
        for call in index.nodes_in(function, cst.Call):
            func = call.func
            if type(func) is cst.Attribute and func.attr.value == "append" and dotted_name(func.value) == name and len(call.args) == 1:
                elements.append(call.args[0].value)
    return elements


def _literal_or_argument(
    analysis: "ModuleAnalysis", method: cst.FunctionDef, value: cst.BaseExpression, cls: cst.ClassDef
) -> list[cst.BaseExpression]:
    if type(value) is cst.List:
        return [e.value for e in value.elements]
    if type(value) is cst.Name and method.name.value == "__init__":
        params = [p.name.value for p in method.params.params][1:]
        if value.value not in params:
            return []
        position = params.index(value.value)
        found: list[cst.BaseExpression] = []
        for call in analysis.index.nodes(cst.Call):
            if dotted_name(call.func) != cls.name.value:
                continue
            argument = None
            positional = [a.value for a in call.args if a.keyword is None]
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == value.value:
                    argument = arg.value
            if argument is None and position < len(positional):
                argument = positional[position]
            if type(argument) is cst.List:
                found.extend(e.value for e in argument.elements)
            elif type(argument) is cst.Name:
                resolved = resolve(analysis, argument)
                if type(resolved) is cst.List:
                    found.extend(e.value for e in resolved.elements)
        return found
    return []


def _adds_to(analysis: "ModuleAnalysis", cls: cst.ClassDef, attr: str) -> bool:
    """The class has an `add(self, layer)` method appending to `self.<attr>`."""
    method = analysis.index.methods(cls).get("add")
    if method is None:
        return False
    return any(
        type(c.func) is cst.Attribute and c.func.attr.value == "append" and dotted_name(c.func.value) == f"self.{attr}"
        for c in analysis.index.nodes_in(method, cst.Call)
    )


def _instance_of(analysis: "ModuleAnalysis", expression: cst.BaseExpression, cls: cst.ClassDef) -> bool:
    value = resolve(analysis, expression)
    return type(value) is cst.Call and dotted_name(value.func) == cls.name.value


def callers_arguments(
    analysis: "ModuleAnalysis", function: cst.FunctionDef, parameter: str
) -> Iterator[tuple[cst.Call, cst.BaseExpression]]:
    """Calls in the module that reach `function`, with the argument bound to `parameter`."""
    from gradlint.analysis.semantics import CallTarget

    semantics = analysis.semantics
    name = function.name.value
    for call in analysis.index.nodes(cst.Call):
        func = call.func
        tail = func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None
        if tail != name:
            continue
        for target in semantics.resolve_call_targets(call):
            if target.function is function:
                bound = semantics.bind_arguments(call, CallTarget(function, target.via, target.bound_self))
                if parameter in bound:
                    yield call, bound[parameter]


def instance_class(analysis: "ModuleAnalysis", expression: cst.BaseExpression) -> Optional[Definition]:
    """The class of the object `expression` holds, when it is built by a constructor
    call visible here (`self.loss = CrossEntropy()`, `act = Softmax()`), the class being
    defined in this module or imported from the package."""
    index = analysis.index
    name = dotted_name(expression)
    if name is None:
        return None
    constructors: list[cst.BaseExpression] = []
    if name.startswith("self.") and name.count(".") == 1:
        function = index.function_containing(expression)
        cls = index.class_of(function) if function is not None else None
        if cls is None:
            return None
        for method in index.methods(cls).values():
            for assign in index.nodes_in(method, cst.Assign):
                if any(dotted_name(t.target) == name for t in assign.targets):
                    constructors.append(assign.value)
    elif type(expression) is cst.Name:
        constructors.append(resolve(analysis, expression))
    classes = set()
    for value in constructors:
        if type(value) is not cst.Call:
            return None
        callee = dotted_name(value.func)
        if not callee or "." in callee:
            return None
        classes.add(callee)
    if len(classes) != 1:
        return None
    return class_named(analysis, classes.pop())


def method_of_instance(analysis: "ModuleAnalysis", call: cst.Call) -> Optional[Definition]:
    """`obj.method(...)` resolved through `instance_class` (also across the package)."""
    func = call.func
    if type(func) is not cst.Attribute:
        return None
    owner = instance_class(analysis, func.value)
    if owner is None or type(owner.node) is not cst.ClassDef:
        return None
    method = owner.analysis.semantics.find_method(owner.node, func.attr.value)
    if method is None:
        return None
    return Definition(owner.analysis, method)


def _difference_of_softmax_parameter(analysis: "ModuleAnalysis", value: cst.BaseExpression) -> Optional[str]:
    """`p - y` (possibly scaled) where `p` is a parameter every caller passes a softmax output for."""
    from gradlint.analysis.semantics import ForwardKind, Role

    difference = _difference(analysis, value)
    if difference is None:
        return None
    prediction = difference[0]
    function = analysis.index.function_containing(value)
    if function is None or "." in prediction:
        return None
    scope = scope_for(analysis, value)
    if not scope.is_unbound_parameter(analysis, prediction, value):
        return None
    callers = list(callers_arguments(analysis, function, prediction))
    if not callers:
        return None
    for call, argument in callers:
        role = analysis.semantics.role_of(argument, at=call)
        if role is None or role.role is not Role.ACTIVATION or role.forward_kind is not ForwardKind.SOFTMAX:
            return None
    call, argument = callers[0]
    return (
        f"{analysis.code_for(value)} where {prediction} is the softmax output "
        f"{analysis.code_for(argument)} passed on line {analysis.line_of(call)}"
    )


_CROSS_ENTROPY = re.compile(r"\blog\w*\s*\(|cross_?entropy|crossentropy|\bnll|log_?softmax|logsumexp", re.IGNORECASE)
_SQUARED_ERROR = re.compile(r"\)\s*\*\*\s*2|square\s*\(|mse|mean_squared|squared_error", re.IGNORECASE)


def _trains_with_cross_entropy(analysis: "ModuleAnalysis") -> bool:
    """The module takes a logarithm / names a cross-entropy, and computes no squared
    error (whose gradient is also `p - y`, with respect to p)."""
    source = analysis.source
    return bool(_CROSS_ENTROPY.search(source)) and not _SQUARED_ERROR.search(source)
