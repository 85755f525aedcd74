"""Which functions and methods of a module the runtime checker calls, and against what.

The shared semantic model (`gradlint.analysis.semantics`) says which functions
are derivatives (from their bodies) and which are forwards. This module turns
that into targets with the reference to compare against:

- the forward paired with a derivative is the truth: the forward of the same
  class, or a module function paired by name (`f` / `f_prime`, `f_derivative`,
  `df`, `f_backward` / `f_forward`); its recognised kind gives the analytic
  reference, an unrecognised one is differentiated numerically. Only without
  a pairing does the kind of the derivative's own formula stand in.

Targets, in order of precedence (a function is checked once):

00. `loss, dW = f(W, X, y, reg)` (CS231n): dW against its own loss (`self_gradient_targets`);
00. scalar objectives: `J, grad = costFunction(theta, X, y)` and gradients scipy.optimize is given
    (`minimize(f, x0, jac=g)`): against central differences of the objective (`objective_targets`);
0. `f(logits, y)` applying a softmax/sigmoid to the logits: a fused loss gradient;
1. the model's derivatives (formulas in the body, wrappers like apply_along_axis);
2. the backward of a layer class with a forward (abstract bases skipped);
3. name pairs `f` / `f_prime` (activations, and losses like `mse` / `mse_prime`);
4. functions returning a fused loss gradient (`p - y`);
5. functions returning a Jacobian of a known forward, or flagged by GL102/GL103/GL105;
6. forwards holding a static finding (values, overflow at extreme logits);
7. functions with a GL401/GL402 finding and no other check (argument mutation,
   a reduction that lost its axis);
8. `loss, dx = f(x, y)` (CS231n's `softmax_loss`): dx against its own loss;
9. loss classes with `loss`/`gradient`/`hess` methods and `mse`/`mse_prime` pairs of one signature:
   each derivative against the code's own loss or gradient (`loss_class_targets`; its boosting
   objectives, `grad, hess = obj(preds, dtrain)` and catboost `calc_ders_range`, and the classes'
   `hess` methods come right after 00).
10. CS231n layer pairs `dx, dw, db = f_backward(dout, cache)` / `out, cache = f_forward(x, w, b, ...)`:
   each returned gradient against central differences of the forward (`layer_pair_targets`); pairs
   whose forward takes several parameters (or one image) come first of all when they can be called
   (the stages above call a forward with one input), the others last.

Every activation or loss target carries the parameters its body reads only as
records (`cache[1]`, `Z, A = cache`): the runtime cannot know what they hold, and
says `unknown` rather than feed them an array.

A derivative switch (`def sigmoid(x, derivative=False)` returning the forward unless
the flag is set) is called with the flag set (`flag`), and its forward with the flag
unset is the reference (or the analytic one of the kind its forward branch computes);
a function with such a parameter whose branches the model cannot read is `unknown`
(`flag_unknown`): called as it comes it would return the forward, not the derivative.

`call_site_targets` adds the calls a static finding is about: GL201/GL202 (a
derivative fed the wrong kind of value) and GL203 (a fused loss gradient chained
into a softmax layer's backward by a training loop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Optional

import libcst as cst

from gradlint.analysis.syntax import ARRAY_METADATA, names_in, positional_parameters
from gradlint.diagnostics import Position
from gradlint.naming import is_target_name

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis
    from gradlint.analysis.semantics import Semantics

# The semantic model's ForwardKind values -> the runtime references' kinds.
KIND_NAMES = {
    "softmax": "softmax",
    "log-softmax": "log_softmax",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky relu": "leaky_relu",  # slope unknown statically: the user's forward is preferred
    "softplus": "softplus",
}
SUFFIXES = (
    "_prime", "prime", "_derivative", "derivative", "_deriv", "deriv", "_der", "_grad", "_gradient",
    "_backward", "_back", "_diff", "_d", "_jacobian", "_jac", "_dx", "_p",
)
PREFIXES = ("d_", "d", "derivative_", "deriv_", "grad_", "dif_", "diff_", "der_")
LOSS_NAME = re.compile(r"loss|mse|mae|cross_?entropy|entropy|bce|nll|cost|error|hinge|huber|sse", re.IGNORECASE)
BACKWARD_NAMES = ("backward", "backprop", "backward_pass", "bprop", "backpropagate", "gradient", "grad",
                  "derivative", "prime", "deriv", "df", "jacobian", "backpropagation")


@dataclass(frozen=True)
class Target:
    """One derivative to check, and the reference to check it against."""

    qualname: str  # `softmax_prime` or `Softmax.backward`
    role: str  # "activation" or "loss"
    forward_kind: Optional[str]  # a kind of `gradlint.runtime.references`, when recognised
    forward: Optional[str]  # the user's forward (`softmax`, `Softmax.forward`) when found
    start: Position
    end: Position
    first_row: int
    last_row: int
    evidence: str = ""
    slope: Optional[float] = None
    feed: Optional[str] = None  # a call site's argument: "logits" or "activations"; "flow": a chain
    parts: Optional[tuple["Target", "Target"]] = None  # a flow: (the loss, the softmax layer)
    batched: bool = False  # a forward known to be applied to batches (GL401, GL302)
    codes: tuple[str, ...] = ()  # the static findings inside (for the call checks)
    # Parameters read only as records (`cache[1]`, `Z, A = cache`): (name, the read).
    # What they hold is not known, so the target cannot be called with confidence.
    records: tuple[tuple[str, str], ...] = ()
    # A loss class whose forward feeds its prediction only through a softmax/sigmoid: "softmax" or
    # "sigmoid" (its backward fed those probabilities follows a known convention, not a guess).
    applies: Optional[str] = None
    # CS231n style: the record parameter is the cache its paired forward returns (`return out, cache`):
    # the runtime calls that forward on the input and passes the cache as it comes.
    cache_forward: bool = False
    # A derivative switch (`def sigmoid(x, derivative=False)`): the parameter the runtime sets to True
    # to get the derivative; or, when the switch's branches are not understood, why it cannot be called.
    flag: Optional[str] = None
    flag_unknown: Optional[str] = None
    # A scalar objective's target (`objective_targets`): how to call it, as JSON (role "objective").
    options: str = ""

    @property
    def ident(self) -> str:
        """Unique within a module: the qualname, or `qualname@row` for a call site."""
        return f"{self.qualname}@{self.start.row}" if self.feed else self.qualname

    @property
    def top_level(self) -> str:
        return self.qualname.split(".", 1)[0]

    @property
    def analytic(self) -> bool:
        """Whether the reference is the analytic formula (a leaky relu's slope is
        not known statically, so its own forward is differentiated instead)."""
        return bool(self.forward_kind) and not (self.forward_kind == "leaky_relu" and self.forward)

    def spec(self) -> dict[str, Any]:
        if self.parts is not None:
            return {"id": self.ident, "role": "flow", "qualname": self.qualname,
                    "loss": self.parts[0].spec(), "activation": self.parts[1].spec()}
        return {
            "id": self.ident,
            "feed": self.feed,
            "qualname": self.qualname,
            "role": self.role,
            "batched": self.batched,
            "codes": list(self.codes),
            "forward_kind": self.forward_kind if self.analytic else None,
            "forward": self.forward,
            "slope": self.slope,
            "records": dict(self.records),
            "applies": self.applies,
            "cache_forward": self.cache_forward,
            "flag": self.flag,
            "flag_unknown": self.flag_unknown,
            "options": self.options,
        }

    def reference(self) -> str:
        """What the target was compared with, in words."""
        if self.parts is not None:
            return f"the gradient with respect to the logits ({self.parts[0].reference()})"
        if self.role == "forward":
            return f"the reference {self.forward_kind.replace('_', ' ')}"  # type: ignore[union-attr]
        if self.role == "mutation":
            return "its argument before the call, and its shapes"
        if self.role == "objective":
            from gradlint.runtime.objective_targets import reference

            return reference(self)
        if self.role in ("self_gradient", "self_gradient_x"):
            from gradlint.runtime.self_gradient_targets import REFERENCES

            return REFERENCES[self.role]
        if self.role == "layer_pair":
            from gradlint.runtime.layer_pair_targets import reference as layer_pair_reference

            return layer_pair_reference(self)
        if self.role in ("loss_class", "loss_class_hess", "boosting", "catboost"):
            from gradlint.runtime.loss_class_targets import REFERENCES as SELF_CONSISTENCY

            return SELF_CONSISTENCY[self.role]
        if self.analytic:
            return f"the analytic {self.forward_kind.replace('_', ' ')} derivative"  # type: ignore[union-attr]
        if self.forward:
            return f"central differences of `{self.forward}`"
        return "nothing"


@dataclass
class _Found:
    targets: dict[str, Target] = field(default_factory=dict)

    def add(self, target: Target) -> None:
        self.targets.setdefault(target.qualname, target)


def _place(analysis: "ModuleAnalysis", function: cst.FunctionDef) -> tuple[Position, Position, int, int]:
    name_range = analysis.range_of(function.name)
    whole = analysis.range_of(function)
    start = Position(name_range.start.line, name_range.start.column + 1)
    end = Position(name_range.end.line, name_range.end.column + 1)
    return start, end, whole.start.line, whole.end.line


def _callable_name(semantics: "Semantics", function: Any) -> Optional[str]:
    """`f` or `Class.method` when the function can be reached from the module level."""
    if not isinstance(function, cst.FunctionDef):
        return None
    qualname = semantics.qualname(function)
    parts = qualname.split(".")
    if len(parts) == 1 and parts[0] in semantics.module_functions:
        return qualname
    if len(parts) == 2 and parts[0] in semantics.classes and semantics.index.class_of(function) is not None:
        return qualname
    return None


def _kind(semantics_kind: Any) -> Optional[str]:
    if semantics_kind is None:
        return None
    return KIND_NAMES.get(getattr(semantics_kind, "value", str(semantics_kind)))


def _paired_forward(semantics: "Semantics", name: str) -> Optional[str]:
    """The module function paired with the derivative `name` by naming."""
    functions = semantics.module_functions
    lowered = {key.lower(): key for key in functions}
    low = name.lower()
    candidates = []
    for suffix in SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            candidates.append(low[: -len(suffix)])
    for prefix in PREFIXES:
        if low.startswith(prefix) and len(low) > len(prefix):
            candidates.append(low[len(prefix):])
    if low.endswith("_backward"):
        candidates.append(low[: -len("_backward")] + "_forward")
    for candidate in candidates:
        if candidate in lowered and lowered[candidate] != name:
            return lowered[candidate]
    return None


def _constructible(semantics: "Semantics", class_def: cst.ClassDef) -> bool:
    """True when `Class()` needs no arguments (judged from the nearest `__init__` in the module)."""
    for owner in semantics.base_classes(class_def):
        init = semantics.index.methods(owner).get("__init__")
        if init is not None:
            return not positional_parameters(init, True, required_only=True)
    return True


# Where a forward that returns None keeps its output (kept in step with probing.OUTPUT_ATTRIBUTES).
_OUTPUT_ATTRIBUTES = frozenset({"output", "outputs", "out", "activation", "activations", "a", "A", "y", "result"})


def _class_kind(semantics: "Semantics", info: Any) -> Optional[str]:
    """The reference kind of a layer class: its forward's recognised nonlinearity, unless the forward
    returns nothing and the nonlinearity is not what it stores as its output (an nnfs-style Swish
    keeps `self.sig = 1 / (1 + np.exp(-inputs))` but outputs `self.output = inputs * self.sig`): then
    None, and the runtime differentiates the stored output numerically."""
    kind = _kind(info.forward_kind)
    forward = info.forward
    if kind is None or forward is None or any(r.value is not None for r in semantics.index.nodes_in(forward, cst.Return)):
        return kind
    forward_info = semantics.forward_of(forward)
    node = getattr(forward_info, "node", None)
    if node is None:
        return None
    statement = semantics.index.parent(node)
    held = None
    if type(statement) is cst.Assign and len(statement.targets) == 1 and statement.value is node:
        held = statement.targets[0].target
    if type(held) is cst.Attribute and held.attr.value in _OUTPUT_ATTRIBUTES:
        return kind  # `self.output = 1 / (1 + np.exp(-inputs))`
    if type(held) is not cst.Name:
        return None
    stored = False
    for assign in semantics.index.nodes_in(forward, cst.Assign):
        for target in assign.targets:
            if type(target.target) is cst.Attribute and target.target.attr.value in _OUTPUT_ATTRIBUTES:
                if not (type(assign.value) is cst.Name and assign.value.value == held.value):
                    return None  # an output stored that is not the nonlinearity's name
                stored = True
    return kind if stored else None  # `s = sigmoid(x); self.output = s`


def _class_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found) -> None:
    for name, class_def in semantics.classes.items():
        if semantics.index.parent(class_def) is not None and not isinstance(
            semantics.index.parent(class_def), cst.Module
        ):
            continue
        info = semantics.class_info(class_def)
        if info.forward is None or info.backward is None:
            continue
        kind = _class_kind(semantics, info)
        forward_params = positional_parameters(info.forward, True, required_only=True)
        backward_name = info.backward.name.value
        forward_name = info.forward.name.value
        qualname = f"{name}.{backward_name}"
        if qualname in found.targets:
            continue
        constructible = _constructible(semantics, class_def)
        if not constructible and (kind is None or semantics.subclasses(class_def)):
            continue  # a parametrised layer, or an abstract base whose subclasses are the targets
        if kind is None and not _body_does_something(info.forward) and _kind(info.forward_kind) is None:
            continue  # (a storing forward computing a recognised nonlinearity is checked on its stored output)
        if _abstract(info.backward) or _abstract(info.forward):
            continue  # an abstract base's placeholder (`@abstractmethod ... raise NotImplementedError`)
        role = "loss" if len(forward_params) == 2 else "activation"
        if len(forward_params) not in (1, 2):
            continue
        if role == "loss" and not LOSS_NAME.search(name):
            continue  # two inputs but not named as a loss: not a loss we know how to feed
        start, end, first, last = _place(analysis, info.backward)
        if semantics.index.class_of(info.backward) is not class_def:
            # inherited backward: report at the class
            class_range = analysis.range_of(class_def.name)
            start = Position(class_range.start.line, class_range.start.column + 1)
            end = Position(class_range.end.line, class_range.end.column + 1)
            whole = analysis.range_of(class_def)
            first, last = whole.start.line, whole.end.line
        found.add(
            Target(
                qualname, role, kind, f"{name}.{forward_name}", start, end, first, last,
                evidence=f"the backward of a layer whose forward computes a {kind.replace('_', ' ')}" if kind else
                f"the backward of `{name}`, against central differences of its forward",
                applies=_applied_to_prediction(analysis, semantics, info.forward) if role == "loss" else None,
            )
        )


def _abstract(function: cst.FunctionDef) -> bool:
    """A placeholder for subclasses: decorated `@abstractmethod`, or a body of nothing but a
    docstring, `pass`, `...` and `raise NotImplementedError`."""
    for decorator in function.decorators:
        name = decorator.decorator
        if type(name) is cst.Call:
            name = name.func
        if type(name) is cst.Attribute:
            name = name.attr
        if type(name) is cst.Name and name.value.startswith("abstract"):
            return True
    if type(function.body) is not cst.IndentedBlock:
        return False
    for statement in function.body.body:
        if type(statement) is not cst.SimpleStatementLine:
            return False
        for small in statement.body:
            if type(small) is cst.Pass or (type(small) is cst.Expr and type(small.value) in (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)):
                continue
            if type(small) is cst.Raise and small.exc is not None and "NotImplementedError" in cst.Module([]).code_for_node(small.exc):
                continue
            return False
    return True


def _body_does_something(function: cst.FunctionDef) -> bool:
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    code = cst.Module([]).code_for_node(function.body)
    return bool(body) and "NotImplementedError" not in code and "return" in code


# Static findings that say "this function builds a softmax Jacobian".
SOFTMAX_JACOBIAN_CODES = frozenset({"GL102", "GL103", "GL105"})


def discover(analysis: "ModuleAnalysis", diagnostics: Any = ()) -> list[Target]:
    """The derivative targets of one analysed module, in source order.

    `diagnostics` (the module's static findings) add the functions a rule
    recognised as building a softmax Jacobian (GL102, GL103, GL105)."""
    semantics = analysis.semantics
    found = _Found()
    forwards = semantics.forwards
    # 0000. CS231n layer pairs `f_backward(dout, cache)` / `f_forward(x, w, b, ...)` of several inputs
    #       (layer_pair_targets): each returned gradient against central differences of the forward
    from gradlint.runtime.layer_pair_targets import discover_layer_pairs

    for target in discover_layer_pairs(analysis, found.targets, first=True):
        found.add(target)
    # 00. loss, dW = f(W, X, y, reg) (CS231n): dW against the function's own loss
    from gradlint.runtime.self_gradient_targets import discover_score_losses, discover_self_gradients

    for target in discover_self_gradients(analysis):
        found.add(target)
    # 000. scalar objectives: `J, grad = costFunction(theta, X, y)`, `minimize(f, x0, jac=g)` (objective_targets)
    from gradlint.runtime.objective_targets import discover_objectives

    for target in discover_objectives(analysis, found.targets):
        found.add(target)
    # 00b. boosting objectives `grad, hess = obj(preds, dtrain)`, catboost `calc_ders_range` (loss_class_targets)
    from gradlint.runtime.loss_class_targets import discover_boosting, discover_loss_classes

    for target in discover_boosting(analysis, found.targets):
        found.add(target)
    # 0. f(logits, target) applying a softmax/sigmoid to the logits: the gradient of the
    #    fused loss (checked as such, never as an activation's VJP with `y` upstream)
    _fused_loss_targets(analysis, semantics, found)
    # 1. derivatives the model recognised from their bodies
    for qualname, info in semantics.derivatives.items():
        name = _callable_name(semantics, info.function)
        if name is None:
            continue
        kind = _kind(info.forward_kind)
        forward = None
        class_def = semantics.index.class_of(info.function) if isinstance(info.function, cst.FunctionDef) else None
        if class_def is not None:
            class_info = semantics.class_info(class_def)
            if class_info.forward is not None and class_info.forward is not info.function:
                # The paired forward is the truth: its kind, or central differences of it
                # (never the kind the derivative's own formula suggests).
                forward = f"{class_def.name.value}.{class_info.forward.name.value}"
                kind = _class_kind(semantics, class_info)
        else:
            paired = _paired_forward(semantics, name)
            if paired is not None:
                forward = paired
                paired_info = forwards.get(paired)
                kind = _kind(paired_info.kind) if paired_info is not None else None
        if class_def is not None and not _constructible(semantics, class_def) and semantics.subclasses(class_def):
            continue  # an abstract base (`Activation(f, f_prime)`): its subclasses are the targets
        start, end, first, last = _place(analysis, info.function)
        found.add(Target(name, "activation", kind, forward, start, end, first, last, evidence=info.evidence))
    # 2. layer classes with a forward and a backward
    _class_targets(analysis, semantics, found)
    # 3. name pairs f / f_prime among module functions
    for name, function in semantics.module_functions.items():
        if name in found.targets or not isinstance(function, cst.FunctionDef):
            continue
        paired = _paired_forward(semantics, name)
        if paired is None:
            continue
        forward_function = semantics.module_functions[paired]
        if not isinstance(forward_function, cst.FunctionDef):
            continue
        forward_params = positional_parameters(forward_function, False, required_only=True)
        params = positional_parameters(function, False, required_only=True)
        if not params or len(forward_params) not in (1, 2):
            continue
        role = "loss" if len(forward_params) == 2 else "activation"
        if role == "loss" and (not LOSS_NAME.search(paired) or len(params) != 2):
            continue
        forward_info = forwards.get(paired)
        kind = _kind(forward_info.kind) if forward_info is not None and role == "activation" else None
        if role == "activation" and kind is None and semantics.derivative_of(function) is None:
            # an unrecognised pair: only when the forward maps one array to one array
            if len(params) > 2:
                continue
        start, end, first, last = _place(analysis, function)
        found.add(Target(name, role, kind, paired, start, end, first, last, evidence=f"paired by name with `{paired}`"))
    # 4. loss gradients recognised by their value (fused p - y, -y / p)
    _loss_gradient_targets(analysis, semantics, found)
    # 6. forwards holding a static finding: their values, overflow and input mutation
    _forward_targets(analysis, semantics, found, diagnostics)
    # 7. functions with a GL402 finding and no other check: does a call modify its argument?
    _mutation_targets(analysis, semantics, found, diagnostics)
    # 5. functions returning a value the model sees as a Jacobian of a known forward,
    #    and functions a static rule flagged as building a softmax Jacobian
    _jacobian_targets(analysis, semantics, found, diagnostics)
    # 8. loss, dx = f(x, y) (CS231n's softmax_loss, svm_loss) that no stage above took
    for target in discover_score_losses(analysis, found.targets):
        found.add(target)
    # 9. loss classes carrying their own derivatives (`loss`/`gradient`/`hess`): self-consistency (loss_class_targets)
    for target in discover_loss_classes(analysis, found.targets):
        found.add(target)
    # 10. the layer pairs no stage above took (one-input forwards; forwards it cannot call: `unknown`)
    for target in discover_layer_pairs(analysis, found.targets, first=False):
        found.add(target)
    targets = [_with_flag(analysis, _with_records(analysis, t)) for t in found.targets.values()]
    return sorted(targets, key=lambda t: (t.start.row, t.start.column, t.qualname))


def _function_named(semantics: "Semantics", qualname: str) -> Optional[cst.FunctionDef]:
    parts = qualname.split(".")
    if len(parts) == 1:
        function = semantics.module_functions.get(parts[0])
        return function if isinstance(function, cst.FunctionDef) else None
    if len(parts) == 2 and parts[0] in semantics.classes:
        return semantics.find_method(semantics.classes[parts[0]], parts[1])
    return None


def _with_records(analysis: "ModuleAnalysis", target: Target) -> Target:
    """The target with the parameters it reads only as records (activation and loss
    derivatives: the runtime feeds every required parameter an array)."""
    if target.role not in ("activation", "loss") or target.feed:
        return target
    semantics = analysis.semantics
    function = _function_named(semantics, target.qualname)
    if function is None:
        return target
    is_method = semantics.index.class_of(function) is not None
    records = record_parameters(analysis, function, is_method)
    if not records:
        return target
    cache_forward = (
        not is_method
        and target.role == "activation"
        and len(records) == 1
        and len(positional_parameters(function, False, required_only=True)) == 2
        and _returns_output_and_cache(semantics, target.forward)
    )
    return replace(target, records=tuple(records.items()), cache_forward=cache_forward)


def _with_flag(analysis: "ModuleAnalysis", target: Target) -> Target:
    """The target with its derivative switch (`def sigmoid(x, derivative=False)`): called as it comes,
    such a function returns the forward, so the runtime sets the flag, and the function with the flag
    unset is the forward to compare with (the analytic reference of the kind its forward branch
    computes, when recognised). A switch whose branches the model cannot read leaves the target
    unknown: the flag is read, and which value selects the derivative is not known."""
    if target.role not in ("activation", "loss"):
        return target
    from gradlint.analysis.semantics import flag_parameter

    semantics = analysis.semantics
    function = _function_named(semantics, target.qualname)
    if function is None:
        return target
    param = flag_parameter(function)
    if param is None or param.name.value not in names_in(function.body):
        return target  # no switch, or one the body never reads
    name = param.name.value
    switch = semantics.derivative_flag(function)
    if switch is None or target.role != "activation":
        default = analysis.code_for(param.default) if param.default is not None else "False"
        return replace(target, flag_unknown=(
            f"its parameter `{name}` (default {default}) switches what it returns, and which branch is the "
            "derivative is not clear from its body: called as it comes it may return the forward"
        ))
    if target.forward is not None and target.forward != target.qualname:
        return replace(target, flag=name)  # a forward paired with it stays the truth
    return replace(
        target, flag=name, forward_kind=_kind(switch.forward), forward=target.qualname,
        evidence=f"its derivative branch ({name}=True): {switch.derivative.evidence.removeprefix('it ')}",
    )


def _returns_output_and_cache(semantics: "Semantics", forward: Optional[str]) -> bool:
    """Whether the module function `forward` takes one input and every return gives a pair
    (`return out, cache`): CS231n's `tanh_forward(x)`, whose cache its `tanh_backward` reads."""
    function = semantics.module_functions.get(forward) if forward and "." not in forward else None
    if not isinstance(function, cst.FunctionDef) or len(positional_parameters(function, False, required_only=True)) != 1:
        return False
    returns = semantics.index.nodes_in(function, cst.Return)  # its own returns, not a nested function's
    return bool(returns) and all(isinstance(r.value, cst.Tuple) and len(r.value.elements) == 2 for r in returns)


def record_parameters(analysis: "ModuleAnalysis", function: cst.FunctionDef, is_method: bool) -> dict[str, str]:
    """Required parameters that the body reads only as records: subscripted with an integer
    literal (`cache[1]`) or unpacked (`Z, A = cache`), besides `len(...)`, never as an array
    and never rebound. Such a parameter holds a tuple or list (a cache), not the array the
    runtime would pass. Maps each to its first such read, as written."""
    from gradlint.analysis.syntax import literal_int

    params = positional_parameters(function, is_method, required_only=True)
    if not params:
        return {}
    index = analysis.index
    uses: dict[str, list[cst.CSTNode]] = {name: [] for name in params}
    for name_node in index.nodes_in(function, cst.Name):
        if name_node.value in uses:
            uses[name_node.value].append(name_node)
    records = {}
    for name, nodes in uses.items():
        shown = None
        as_record = True
        for node in nodes:
            parent = index.parent(node)
            if isinstance(parent, cst.Param) or (isinstance(parent, cst.Attribute) and parent.attr is node):
                continue  # its own definition, or `self.<name>`
            if isinstance(parent, cst.Arg) and parent.keyword is node:
                continue  # f(<name>=...)
            if (
                isinstance(parent, cst.Subscript)
                and parent.value is node
                and len(parent.slice) == 1
                and isinstance(parent.slice[0].slice, cst.Index)
                and literal_int(parent.slice[0].slice.value) is not None
            ):
                shown = shown or analysis.code_for(parent)
                continue
            if isinstance(parent, cst.Assign) and parent.value is node and all(
                isinstance(t.target, (cst.Tuple, cst.List)) for t in parent.targets
            ):
                shown = shown or analysis.code_for(parent)
                continue
            if isinstance(parent, cst.Arg) and isinstance(index.parent(parent), cst.Call):
                call = index.parent(parent)
                if isinstance(call.func, cst.Name) and call.func.value == "len":
                    continue
            as_record = False  # read as a value, or rebound
            break
        if as_record and shown is not None:
            records[name] = shown
    return records


def _loss_gradient_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found) -> None:
    from gradlint.analysis.semantics import Role

    for function in semantics.index.nodes(cst.FunctionDef):
        name = _callable_name(semantics, function)
        if name is None or name in found.targets:
            continue
        facts = semantics.facts(function)
        if not facts.returns or len([p for p in facts.params if p not in facts.defaults]) != 2:
            continue
        kinds = set()
        for returned in facts.returns:
            role = semantics.role_of(returned)
            if role is None:
                kinds.add(None)
            elif role.role is Role.FUSED_LOSS_GRADIENT:
                forward = _kind(role.forward_kind)
                kinds.add({"softmax": "softmax_cross_entropy", "sigmoid": "sigmoid_binary_cross_entropy"}.get(forward or ""))
            elif role.role is Role.LOSS_GRADIENT and _kind(role.forward_kind) == "softmax":
                kinds.add("cross_entropy")
            else:
                kinds.add(None)
        if len(kinds) != 1 or None in kinds:
            continue
        start, end, first, last = _place(analysis, function)
        found.add(Target(name, "loss", kinds.pop(), None, start, end, first, last, evidence="it returns a loss gradient"))


def explicit_target(analysis: "ModuleAnalysis", qualname: str) -> tuple[Optional[Target], Optional[str]]:
    """A target the user named (`verify`) that discovery did not list: its best
    reference, or the reason it cannot be checked (as the second item)."""
    semantics = analysis.semantics
    parts = qualname.split(".")
    function: Optional[cst.FunctionDef] = None
    class_def: Optional[cst.ClassDef] = None
    if len(parts) == 1:
        candidate = semantics.module_functions.get(parts[0])
        function = candidate if isinstance(candidate, cst.FunctionDef) else None
    elif len(parts) == 2 and parts[0] in semantics.classes:
        class_def = semantics.classes[parts[0]]
        function = semantics.find_method(class_def, parts[1])
    if function is None:
        nested = [f for f in semantics.index.nodes(cst.FunctionDef) if semantics.qualname(f) == qualname]
        if nested:
            return None, f"`{qualname}` is nested inside a function; verify the enclosing module-level function"
        return None, f"no module-level function or Class.method named `{qualname}` in {analysis.filename}"
    start, end, first, last = _place(analysis, function)
    forward: Optional[str] = None
    kind: Optional[str] = None
    role = "activation"
    if class_def is not None:
        info = semantics.class_info(class_def)
        if info.forward is not None and info.forward is not function:
            forward = f"{class_def.name.value}.{info.forward.name.value}"
            kind = _class_kind(semantics, info)
            if len(positional_parameters(info.forward, True, required_only=True)) == 2:
                role = "loss"
    else:
        paired = _paired_forward(semantics, qualname)
        if paired is not None:
            forward = paired
            paired_info = semantics.forwards.get(paired)
            kind = _kind(paired_info.kind) if paired_info is not None else None
            paired_function = semantics.module_functions[paired]
            if isinstance(paired_function, cst.FunctionDef) and len(positional_parameters(paired_function, False, required_only=True)) == 2:
                role, kind = "loss", None
    target = _with_flag(analysis, _with_records(analysis, Target(qualname, role, kind, forward, start, end, first, last, evidence="named on the command line")))
    forward, kind = target.forward, target.forward_kind
    if forward is None and kind is None:
        return target, (
            "not recognised as a derivative: no derivative formula in its body, no forward in its class, "
            "and no forward paired by name (f / f_prime, f_derivative, df, f_backward / f_forward)"
        )
    return target, None


# Static findings at a call site whose numbers the runtime can show: the
# derivative is run on the argument the call passes, against the reference at
# the pre-activation. GL201: an activation-convention derivative fed the
# pre-activation; GL202: a logit-convention derivative fed the activation.
CALL_SITE_FEEDS = {"GL201": "logits", "GL202": "activations", "GL203": "flow"}


def _flow_target(diagnostic: Any, targets: list[Target]) -> Optional[Target]:
    """GL203 outside any checked function (a training loop): the loss's backward
    chained into the softmax layer's backward, the pair named by the finding (or
    the module's only pair)."""
    if any(t.first_row <= diagnostic.start.row <= t.last_row and not t.feed for t in targets):
        return None  # inside a checked function: its own verdict covers it
    losses = [t for t in targets if t.role == "loss" and not t.feed]
    layers = [t for t in targets if t.role == "activation" and t.forward_kind == "softmax" and "." in t.qualname and not t.feed]

    def pick(candidates: list[Target]) -> Optional[Target]:
        named = [t for t in candidates if t.qualname in diagnostic.message]
        chosen = named or candidates
        return chosen[0] if len(chosen) == 1 else None

    loss, layer = pick(losses), pick(layers)
    if loss is None or layer is None:
        return None
    return Target(
        f"{loss.qualname} -> {layer.qualname}", "flow", None, None, diagnostic.start, diagnostic.end,
        diagnostic.start.row, diagnostic.start.row, evidence=f"chained on line {diagnostic.start.row}",
        feed="flow", parts=(loss, layer),
    )


def call_site_targets(analysis: "ModuleAnalysis", diagnostics: Any, targets: list[Target]) -> dict[int, Target]:
    """For each GL201/GL202 finding on a call to a derivative target, the
    target as that call uses it (keyed by the finding's index in `diagnostics`)."""
    wanted = [(i, d) for i, d in enumerate(diagnostics) if d.code in CALL_SITE_FEEDS]
    if not wanted:
        return {}
    semantics = analysis.semantics
    by_name = {t.qualname: t for t in targets}
    calls = []
    for call in semantics.derivative_calls:
        name = _callable_name(semantics, call.derivative.function)
        if name in by_name:
            code_range = analysis.range_of(call.call)
            calls.append(((code_range.start.line, code_range.start.column), (code_range.end.line, code_range.end.column), by_name[name]))
    found: dict[int, Target] = {}
    for i, diagnostic in wanted:
        if diagnostic.code == "GL203":
            flow = _flow_target(diagnostic, targets)
            if flow is not None:
                found[i] = flow
            continue
        at = (diagnostic.start.row, diagnostic.start.column - 1)  # libcst's columns are 0-based
        holding = [c for c in calls if c[0] <= at < c[1] and c[2].role == "activation"]
        if not holding:
            continue
        # the innermost call holding the finding (two calls on one line: the one the finding is about)
        _, _, target = min(holding, key=lambda c: (c[1][0] - c[0][0], c[1][1] - c[0][1]))
        found[i] = Target(
            target.qualname, target.role, target.forward_kind, target.forward, diagnostic.start, diagnostic.end,
            diagnostic.start.row, diagnostic.start.row, evidence=f"as called on line {diagnostic.start.row}",
            slope=target.slope, feed=CALL_SITE_FEEDS[diagnostic.code], records=target.records,
            flag=target.flag, flag_unknown=target.flag_unknown,
        )
    return found


def _jacobian_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found, diagnostics: Any) -> None:
    from gradlint.analysis.semantics import Role

    flagged_rows = [d.start.row for d in diagnostics if d.code in SOFTMAX_JACOBIAN_CODES]
    for function in semantics.index.nodes(cst.FunctionDef):
        name = _callable_name(semantics, function)
        if name is None or name in found.targets:
            continue
        facts = semantics.facts(function)
        required = [p for p in facts.params if p not in facts.defaults]
        if not facts.returns or not 1 <= len(required) <= 2:
            continue
        kind = None
        evidence = ""
        roles = [semantics.role_of(returned) for returned in facts.returns]
        kinds = {_kind(r.forward_kind) for r in roles if r is not None and r.role is Role.JACOBIAN}
        if len(kinds) == 1 and None not in kinds and all(r is not None and r.role is Role.JACOBIAN for r in roles):
            kind = kinds.pop()
            evidence = f"it returns a {kind.replace('_', ' ')} Jacobian"  # type: ignore[union-attr]
        start, end, first, last = _place(analysis, function)
        if kind is None and any(first <= row <= last for row in flagged_rows):
            kind, evidence = "softmax", "a static rule found it building a softmax Jacobian"
        if kind is None:
            continue
        forward = None
        class_def = semantics.index.class_of(function)
        if class_def is not None:
            info = semantics.class_info(class_def)
            if info.forward is not None and info.forward is not function:
                forward = f"{class_def.name.value}.{info.forward.name.value}"
                kind = _kind(info.forward_kind) or kind
        found.add(Target(name, "activation", kind, forward, start, end, first, last, evidence=evidence))


def _fused_loss_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found) -> None:
    """`def delta(z, y): p = softmax(z); ...`: two parameters, the second a target,
    the first fed to a softmax (sigmoid) in the body and never read otherwise (but for
    its size). A method of a loss class with its own forward is left to that forward
    (stage 2): `if self.from_logits: p = softmax(p)` makes the logits one option only."""
    for function in semantics.index.nodes(cst.FunctionDef):
        name = _callable_name(semantics, function)
        if name is None or name in found.targets:
            continue
        facts = semantics.facts(function)
        required = [p for p in facts.params if p not in facts.defaults]
        if len(required) != 2 or not is_target_name(required[1]) or is_target_name(required[0]):
            continue
        if not facts.returns or required[1] not in names_in(function.body):
            continue
        if function.name.value in FORWARD_NAMES or any(_is_reduction(r) for r in facts.returns):
            continue  # the loss itself (a forward, or a returned mean/sum), not its gradient
        class_def = semantics.index.class_of(function)
        if class_def is not None:
            paired = semantics.class_info(class_def).forward
            if paired is not None and paired is not function:
                continue  # a loss class's backward: its own forward decides the reference (stage 2)
        applied = _nonlinearity_applied_to(analysis, semantics, function, required[0])
        if applied is None:
            continue
        start, end, first, last = _place(analysis, function)
        kind = {"softmax": "softmax_cross_entropy", "sigmoid": "sigmoid_binary_cross_entropy"}[applied]
        found.add(Target(name, "loss", kind, None, start, end, first, last,
                         evidence=f"it applies a {kind.split('_')[0]} to `{required[0]}` and takes the target `{required[1]}`"))


def _applied_to_prediction(analysis: "ModuleAnalysis", semantics: "Semantics", forward: cst.FunctionDef) -> Optional[str]:
    """"softmax" or "sigmoid" when a loss forward `forward(self, logits, y)` reads its prediction only
    as the argument of that one nonlinearity (`p = sigmoid(logits)`), else None."""
    facts = semantics.facts(forward)
    required = [p for p in facts.params if p not in facts.defaults and p != facts.self_name]
    if len(required) != 2 or is_target_name(required[0]):
        return None
    return _nonlinearity_applied_to(analysis, semantics, forward, required[0])


def _nonlinearity_applied_to(analysis: "ModuleAnalysis", semantics: "Semantics", function: cst.FunctionDef, param: str) -> Optional[str]:
    """"softmax" or "sigmoid" when `function` reads `param` only as the argument of that one
    nonlinearity (but for its size), else None: also read as it comes (probabilities, in another
    branch), which of the two is meant is not known."""
    kinds = set()
    arguments = []
    for call in semantics.index.nodes_in(function, cst.Call):
        applied = semantics.forward_application(call, semantics._place(call))  # noqa: SLF001 - the model's own place
        if applied is None:
            continue
        kind, argument, _ = applied
        if isinstance(argument, cst.Name) and argument.value == param:
            kinds.add(_kind(kind))
            arguments.append(argument)
    if len(kinds) != 1 or next(iter(kinds)) not in ("softmax", "sigmoid"):
        return None
    return next(iter(kinds)) if _read_only_through(analysis, function, param, arguments) else None


def _read_only_through(analysis: "ModuleAnalysis", function: cst.FunctionDef, name: str, allowed: list[cst.Name]) -> bool:
    """Whether every read of the parameter `name` is one of the `allowed` nodes (the
    softmax's argument) or asks only for its size (`.shape`, `.ndim`, `.size`, `len()`)."""
    index = analysis.index
    for node in index.nodes_in(function, cst.Name):
        if node.value != name or any(node is a for a in allowed):
            continue
        parent = index.parent(node)
        if isinstance(parent, cst.Param) or (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        if isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value in ARRAY_METADATA:
            continue
        if isinstance(parent, cst.Arg) and isinstance(index.parent(parent), cst.Call):
            func = index.parent(parent).func
            if isinstance(func, cst.Name) and func.value == "len":
                continue
        return False
    return True


FORWARD_NAMES = frozenset({"forward", "__call__", "call", "loss", "calculate", "compute", "evaluate", "cost", "fprop"})


def _is_reduction(node: cst.BaseExpression) -> bool:
    """`np.mean(...)`, `-np.sum(...) / n`, `float(...)`: a scalar loss value."""
    from gradlint.analysis.syntax import call_name, last_part

    while True:
        if isinstance(node, cst.UnaryOperation):
            node = node.expression
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Divide, cst.Multiply)):
            node = node.left if isinstance(node.left, (cst.Call, cst.UnaryOperation, cst.BinaryOperation)) else node.right
        else:
            break
    return isinstance(node, cst.Call) and last_part(call_name(node)) in ("mean", "sum", "average", "float", "nanmean", "nansum", "item")


# Static findings that establish a forward is applied to batches of rows.
BATCHED_CODES = frozenset({"GL401", "GL302"})


def _forward_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found, diagnostics: Any) -> None:
    rows = [d.start.row for d in diagnostics]
    if not rows:
        return
    for qualname, info in semantics.forwards.items():
        name = _callable_name(semantics, info.function)
        kind = _kind(info.kind)
        if name is None or name in found.targets or kind is None or kind == "leaky_relu":
            continue
        start, end, first, last = _place(analysis, info.function)
        inside = [d.code for d in diagnostics if first <= d.start.row <= last]
        if inside:
            found.add(Target(name, "forward", kind, None, start, end, first, last,
                             evidence=f"a {kind.replace('_', ' ')} forward holding a static finding",
                             batched=bool(set(inside) & BATCHED_CODES)))


def _mutation_targets(analysis: "ModuleAnalysis", semantics: "Semantics", found: _Found, diagnostics: Any) -> None:
    rows = [d.start.row for d in diagnostics if d.code in ("GL402", "GL401")]
    if not rows:
        return
    taken = [t for t in found.targets.values()]
    for function in semantics.index.nodes(cst.FunctionDef):
        name = _callable_name(semantics, function)
        if name is None or name in found.targets:
            continue
        start, end, first, last = _place(analysis, function)
        if not any(first <= row <= last for row in rows) or any(t.first_row <= first <= t.last_row for t in taken):
            continue
        if not positional_parameters(function, semantics.index.class_of(function) is not None, required_only=True):
            continue
        codes = tuple(sorted({d.code for d in diagnostics if first <= d.start.row <= last}))
        found.add(Target(name, "mutation", None, None, start, end, first, last,
                         evidence="called to see whether it modifies its argument or broadcasts a reduced axis",
                         codes=codes))
