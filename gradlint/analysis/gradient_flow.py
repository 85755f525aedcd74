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
from gradlint.analysis.syntax import call_name, dotted_name, last_part, literal_number, positional_parameters, target_path, walk

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


def imported_function(analysis: "ModuleAnalysis", name: str) -> Optional[Definition]:
    """The module-level function `name` calls in another module of the package: `f` bound by
    `from M import f` (or found in M after `from M import *`), or `m.f` with `m` bound by `import m` /
    `import pkg.m as m` (needs `analysis.package`)."""
    package = getattr(analysis, "package", None)
    if package is None or not hasattr(package, "module_for_import"):
        return None
    if "." not in name:
        found = imported_definition(analysis, name)
        if found is not None:
            return found if type(found.node) is cst.FunctionDef else None
        for node in analysis.index.nodes(cst.ImportFrom):  # `from sigmoid import *` (an ex2 port's)
            if type(node.names) is cst.ImportStar:
                module = dotted_name(node.module) if node.module is not None else ""
                other = package.module_for_import(analysis, module or "", len(node.relative))
                function = other.semantics.module_functions.get(name) if other is not None else None
                if other is not None and function is not None and not name.startswith("_"):
                    return Definition(other, function)
        return None
    head, _, attribute = name.rpartition(".")
    for node in analysis.index.nodes(cst.Import):
        for alias in node.names:
            module = dotted_name(alias.name)
            bound = dotted_name(alias.asname.name) if alias.asname is not None else module
            if module is None or bound != head:
                continue
            other = package.module_for_import(analysis, module, 0)
            function = other.semantics.module_functions.get(attribute) if other is not None else None
            return Definition(other, function) if other is not None and function is not None else None
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
    cached = _fused_from_cached_output(analysis, expression, value, at, depth)
    if cached is not None:
        return cached
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
    operands = _difference_operands(analysis, node)
    if operands is None:
        return None
    left, right = dotted_name(operands[0]), dotted_name(operands[1])
    if left is None or right is None:
        return None
    return left, right


def _difference_operands(
    analysis: "ModuleAnalysis", node: cst.BaseExpression
) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """The operands of `p - y` in `p - y`, `(p - y) / n`, `1 / n * (p - y)`."""
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
    return value.left, value.right


def _fused_from_cached_output(
    analysis: "ModuleAnalysis", expression: cst.BaseExpression, value: cst.BaseExpression, at: cst.CSTNode, depth: int
) -> Optional[str]:
    """The fused gradient built from the softmax output a layer object caches (the nnfs
    idiom: `forward` stores `self.output` and returns nothing): `(act.output - y) / n`, or
    `d = act.output.copy(); d[range(n), y] -= 1` (possibly scaled afterwards)."""
    from gradlint.analysis.semantics import Role

    if not _trains_with_cross_entropy(analysis):
        return None
    operands = _difference_operands(analysis, value)
    if operands is not None:
        prediction, target = operands
        output = _cached_softmax_output(analysis, prediction)
        if output is None or literal_number(target) is not None or type(target) in (cst.Integer, cst.Float):
            return None
        role = analysis.semantics.role_of(target, at=at)
        if role is not None and role.role is not Role.PREACTIVATION:
            return None  # `p - q` of two activations or gradients: not a prediction minus its targets
        where = ""
        if type(expression) is cst.Name and value is not expression:
            where = f"{expression.value} = {analysis.code_for(value)} on line {analysis.line_of(value)}: "
        return (
            f"{where}{analysis.code_for(value)} is the softmax output {output} minus the targets "
            f"{analysis.code_for(target)}"
        )
    if type(expression) is not cst.Name:
        return None
    scope = scope_for(analysis, expression)
    definition = scope.reaching(analysis, expression.value, expression)
    if definition is None or definition.value is None:
        return None
    bound = definition.value
    if type(bound) is cst.BinaryOperation and type(bound.operator) in (cst.Divide, cst.Multiply) and depth < 3:
        # `d = d / n` after the in-place update
        inner = bound.left if type(bound.left) is cst.Name else bound.right
        if type(inner) is cst.Name and inner.value == expression.value:
            return fused_gradient(analysis, inner, inner, depth + 1)
        return None
    copied = _copied(bound)
    output = _cached_softmax_output(analysis, copied) if copied is not None else None
    if output is None:
        return None
    store = _minus_one_store(analysis, scope, expression.value, definition, expression)
    if store is None:
        return None
    return (
        f"`{analysis.code_for(store)}` on line {analysis.line_of(store)} turns the copy of the softmax output "
        f"{output} into p - y"
    )


def _copied(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`x` of `x.copy()`, `np.copy(x)`, `np.array(x)`."""
    if type(node) is not cst.Call:
        return None
    func = node.func
    if type(func) is cst.Attribute and func.attr.value == "copy" and not node.args:
        return func.value
    if last_part(call_name(node)) in {"copy", "array"} and type(func) is cst.Attribute and dotted_name(func.value) in {"np", "numpy"}:
        args = [a.value for a in node.args if a.keyword is None]
        return args[0] if len(args) == 1 else None
    return None


def _minus_one_store(
    analysis: "ModuleAnalysis", scope, name: str, definition, use: cst.CSTNode
) -> Optional[cst.AugAssign]:
    """`name[rows, y] -= 1` after `definition` and before `use`, run whenever both are."""
    use_statement = scope.statement_at(analysis, use)
    if use_statement is None:
        return None
    here = scope.ordinal[use_statement]
    chain = set(scope.enclosing[use_statement])
    for augmented in analysis.index.nodes_in(scope.function, cst.AugAssign):
        target = augmented.target
        if type(augmented.operator) is not cst.SubtractAssign or type(target) is not cst.Subscript:
            continue
        if dotted_name(target.value) != name or len(target.slice) != 2 or literal_number(augmented.value) != 1:
            continue
        statement = scope.statement_at(analysis, augmented)
        if statement is None or not definition.ordinal < scope.ordinal[statement] < here:
            continue
        if all(outer in chain for outer in scope.enclosing[statement]):
            return augmented
    return None


def _cached_softmax_output(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> Optional[str]:
    """`act.output` / `self.act.out`: the attribute in which the object's class (built by a
    constructor call visible here) caches the output of its softmax forward."""
    from gradlint.analysis.semantics import ForwardKind

    if type(node) is not cst.Attribute:
        return None
    owner = instance_class(analysis, node.value)
    if owner is None or type(owner.node) is not cst.ClassDef:
        return None
    info = owner.analysis.semantics.class_info(owner.node)
    if info.forward_kind is not ForwardKind.SOFTMAX or node.attr.value not in info.activation_attrs:
        return None
    return f"`{analysis.code_for(node)}` ({info.name}.forward caches its softmax in self.{node.attr.value})"


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


# -- where the upstream gradient flows inside a backward and its helpers -----------------
_SHAPE_METHODS = frozenset({"reshape", "ravel", "flatten", "squeeze", "copy", "astype", "transpose"})
_SHAPE_FUNCTIONS = frozenset({"atleast_1d", "atleast_2d", "asarray", "array", "copy", "squeeze", "ravel", "reshape", "transpose"})


@dataclass(frozen=True)
class GradientOrigin:
    """An expression carrying the upstream gradient `parameter` of the backward `backward`;
    `via` says how it got there when it crossed a call (e.g. "passed to Softmax._bwd as dLdy on line 28")."""

    parameter: str
    backward: str
    via: str = ""

    @property
    def describe(self) -> str:
        where = f", {self.via}" if self.via else ""
        return f"the upstream gradient {self.parameter} of {self.backward}{where}"


def _unwrap(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`g` of a shape-only wrapper of it (`g.reshape(1, -1)`, `g.T`, `np.atleast_2d(g)`,
    `g[:, None]`, `[g]`), or None when `node` is no such wrapper."""
    if type(node) is cst.Attribute and node.attr.value == "T":
        return node.value
    if type(node) is cst.Call:
        func = node.func
        positional = [a.value for a in node.args if a.keyword is None and not a.star]
        if type(func) is cst.Attribute and dotted_name(func.value) in {"np", "numpy"}:
            if func.attr.value in _SHAPE_FUNCTIONS and len(positional) >= 1 and (
                len(positional) == 1 or func.attr.value in {"reshape", "transpose"}
            ):
                return positional[0]
            return None
        if type(func) is cst.Attribute and func.attr.value in _SHAPE_METHODS:
            return func.value
        return None
    if type(node) is cst.Subscript and node.slice and all(
        type(e.slice) is cst.Slice and e.slice.lower is None and e.slice.upper is None and e.slice.step is None
        or type(e.slice) is cst.Index and (dotted_name(e.slice.value) or "") in {"None", "np.newaxis", "numpy.newaxis"}
        for e in node.slice
    ) and any(type(e.slice) is cst.Index for e in node.slice):
        return node.value
    if type(node) is cst.List and len(node.elements) == 1 and type(node.elements[0]) is cst.Element:
        return node.elements[0].value
    return None


def _loop_source(loop: "cst.For | cst.CompFor", name: str) -> Optional[cst.BaseExpression]:
    """The array whose rows (elements) the loop variable `name` takes: `g` for
    `for s, g in zip(self.output, g)`, `for i, (s, g) in enumerate(zip(...))`,
    `for gi, xi in zip(*np.atleast_2d(g, x))`, `for gi in g`."""
    path = target_path(loop.target, name)
    if path is None:
        return None
    iterable: cst.BaseExpression = loop.iter
    while path:
        if type(iterable) is not cst.Call:
            return None
        callee = call_name(iterable)
        args = list(iterable.args)
        if callee == "enumerate" and args and path[0] == 1:
            iterable, path = args[0].value, path[1:]
        elif callee == "zip" and len(args) == 1 and args[0].star == "*":
            inner = args[0].value  # zip(*np.atleast_2d(a, b)) pairs the rows of a and b
            if type(inner) is cst.Call and last_part(call_name(inner)) in {"atleast_1d", "atleast_2d"}:
                items = [a.value for a in inner.args if a.keyword is None and not a.star]
            elif type(inner) in (cst.List, cst.Tuple):
                items = [e.value for e in inner.elements]
            else:
                return None
            if path[0] >= len(items):
                return None
            iterable, path = items[path[0]], path[1:]
        elif callee == "zip" and all(not a.star and a.keyword is None for a in args) and path[0] < len(args):
            iterable, path = args[path[0]].value, path[1:]
        else:
            return None
    return iterable


def local_root(analysis: "ModuleAnalysis", node: cst.BaseExpression, depth: int = 0) -> Optional[tuple[cst.FunctionDef, str]]:
    """The parameter of the enclosing function whose value `node` is, up to shape-only
    changes, local aliases and the rows a loop takes from it; None when it is anything else."""
    for _ in range(12):
        inner = _unwrap(node)
        if inner is None:
            break
        node = inner
    if type(node) is not cst.Name or depth > 8:
        return None
    comprehension = _comprehension_loop(analysis, node)
    if comprehension is not None:
        source = _loop_source(comprehension, node.value)
        return local_root(analysis, source, depth + 1) if source is not None else None
    scope = scope_for(analysis, node)
    function = scope.function
    if function is None:
        return None
    name = node.value
    if scope.is_unbound_parameter(analysis, name, node):
        return function, name
    definition = scope.reaching(analysis, name, node)
    if definition is None:
        # `if not isinstance(g, list): g = [g]`: every earlier binding wraps the parameter itself
        statement = scope.statement_at(analysis, node)
        if statement is None or name not in scope.parameters:
            return None
        earlier = [d for d in scope.definitions.get(name, ()) if d.ordinal < scope.ordinal[statement]]
        for earlier_definition in earlier:
            value = earlier_definition.value
            if value is None:
                return None
            for _ in range(12):
                inner = _unwrap(value)
                if inner is None:
                    break
                value = inner
            if type(value) is not cst.Name or value.value != name:
                return None
        return function, name
    if definition.value is not None:
        return local_root(analysis, definition.value, depth + 1)
    if definition.loop is not None:
        source = _loop_source(definition.loop, name)
        return local_root(analysis, source, depth + 1) if source is not None else None
    return None


_COMPREHENSIONS = (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)


def _comprehension_loop(analysis: "ModuleAnalysis", node: cst.Name) -> Optional[cst.CompFor]:
    """The `for` clause of an enclosing comprehension that binds `node`'s name."""
    for ancestor in analysis.index.ancestors(node):
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement, cst.SimpleStatementLine)):
            return None
        if type(ancestor) in _COMPREHENSIONS:
            clause: Optional[cst.CompFor] = ancestor.for_in  # type: ignore[attr-defined]
            while clause is not None:
                if node is not clause.target and target_path(clause.target, node.value) is not None:
                    return clause
                clause = clause.inner_for_in
    return None


def gradient_parameters(analysis: "ModuleAnalysis") -> "dict[cst.FunctionDef, dict[str, GradientOrigin]]":
    """The parameters that carry an upstream gradient: a backward's gradient parameter, and
    the parameters of the helpers it calls with that gradient (numpy-ml's `_bwd(self, dLdy,
    X)` called as `self._bwd(dy, x)` in a loop over `zip(dLdy, self.X)`), when every call
    of the helper in the module passes one. Memoised per module analysis."""
    memo = analysis.__dict__.get("_gradient_parameters")
    if memo is not None:
        return memo
    semantics = analysis.semantics
    found: dict[cst.FunctionDef, dict[str, GradientOrigin]] = {}
    work: list[tuple[cst.FunctionDef, int]] = []
    rejected: set[tuple[cst.FunctionDef, str]] = set()  # helper parameters already found not to carry it
    for function in analysis.index.nodes(cst.FunctionDef):
        if semantics.is_backward(function) and not _loss_backward(analysis, function):
            gradient = semantics.gradient_param(function)
            if gradient is not None:
                found[function] = {gradient: GradientOrigin(gradient, semantics.qualname(function))}
                work.append((function, 0))
    while work:
        caller, level = work.pop()
        if level >= 2:
            continue
        for call in analysis.index.nodes_in(caller, cst.Call):
            if type(call.func) not in (cst.Name, cst.Attribute):
                continue
            targets = semantics.resolve_call_targets(call)
            if len(targets) != 1 or type(targets[0].function) is not cst.FunctionDef:
                continue
            callee = targets[0].function
            if callee is caller or callee in found or semantics.is_backward(callee):
                continue
            for parameter, argument in semantics.bind_arguments(call, targets[0]).items():
                root = local_root(analysis, argument)
                if root is None or root[0] is not caller or root[1] not in found.get(caller, {}):
                    continue
                origin = found[caller][root[1]]
                if (callee, parameter) in rejected:
                    continue
                # `softmax_jacobian(grad)` does not use it as a gradient: a derivative fed the gradient is
                # wrong at the call (the derivative rules' business), not inside
                if not _applied_as_gradient(analysis, callee, parameter) or not _every_caller_passes_gradient(
                    analysis, callee, parameter, found
                ):
                    rejected.add((callee, parameter))
                    continue
                via = f"passed to {semantics.qualname(callee)} as {parameter} on line {analysis.line_of(call)}"
                found.setdefault(callee, {})[parameter] = GradientOrigin(origin.parameter, origin.backward, via)
            if callee in found:
                work.append((callee, level + 1))
    analysis.__dict__["_gradient_parameters"] = found
    return found


def _loss_backward(analysis: "ModuleAnalysis", function: cst.FunctionDef) -> bool:
    """The backward of a loss class (nnfs's `Loss.backward(self, dvalues, y_true)` next to
    `forward(self, y_pred, y_true)`): it shares a second required parameter (the targets)
    with its class's forward, so its first is the prediction the chain starts from, not an
    upstream gradient."""
    cls = analysis.index.class_of(function)
    if cls is None:
        return False
    forward = analysis.semantics.class_info(cls).forward
    if forward is None:
        return False

    mine = positional_parameters(function, True, required_only=True)
    theirs = positional_parameters(forward, True, required_only=True)
    return len(mine) >= 2 and len(theirs) >= 2 and bool(set(mine[1:]) & set(theirs[1:]))


_PRODUCTS = frozenset({"dot", "matmul", "einsum", "multiply", "tensordot", "inner"})


def _applied_as_gradient(analysis: "ModuleAnalysis", function: cst.FunctionDef, parameter: str) -> bool:
    """The helper uses `parameter` as a gradient: it (a row of it, reshaped) is multiplied
    (`@`, `*`, np.dot, einsum) with a value that does not come from it."""
    products: list[list[cst.BaseExpression]] = []
    for operation in analysis.index.nodes_in(function, cst.BinaryOperation):
        if type(operation.operator) in (cst.MatrixMultiply, cst.Multiply):
            products.append([operation.left, operation.right])
    for call in analysis.index.nodes_in(function, cst.Call):
        if last_part(call_name(call)) in _PRODUCTS:
            products.append([a.value for a in call.args if a.keyword is None and not a.star and type(a.value) is not cst.SimpleString])
    for operands in products:
        roots = [local_root(analysis, operand) for operand in operands]
        mine = [root is not None and root[0] is function and root[1] == parameter for root in roots]
        if any(mine) and not all(mine):
            return True
    return False


def _every_caller_passes_gradient(
    analysis: "ModuleAnalysis", callee: cst.FunctionDef, parameter: str, found: "dict[cst.FunctionDef, dict[str, GradientOrigin]]"
) -> bool:
    calls = list(callers_arguments(analysis, callee, parameter))
    if not calls:
        return False
    for call, argument in calls:
        root = local_root(analysis, argument)
        if root is None or root[1] not in found.get(root[0], {}):
            return False
    return True


def gradient_origin(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> Optional[GradientOrigin]:
    """`node` carries the upstream gradient (per `local_root` and `gradient_parameters`)."""
    root = local_root(analysis, node)
    if root is None:
        return None
    return gradient_parameters(analysis).get(root[0], {}).get(root[1])
