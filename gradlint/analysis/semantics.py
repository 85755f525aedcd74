"""The semantic model of one module: forwards, derivatives, conventions, value roles.

Everything here is decided from function bodies, never from names alone:

- a *forward* is a function whose returned value is a nonlinearity of one of its
  parameters (softmax = an exponential normalised by a sum of exponentials,
  sigmoid = 1/(1+exp(-x)), tanh = np.tanh or its exponential formula, relu =
  maximum(0, x), ...);
- a *derivative* is a function whose returned value holds a derivative formula
  (`s*(1-s)`, `1-s**2`, `diag(s) - outer(s, s)`, a Jacobian filled in a loop) in
  one of its parameters: in the *activation convention* when the formula is in
  the parameter itself, in the *logit convention* when it is in the forward
  applied to the parameter; a function that hands its parameter to a derivative
  (`np.apply_along_axis(softmax_prime, 1, d)`) is a derivative of the same kind;
- a *role* is what a value is at a point of a function: an activation (the output
  of a forward), a pre-activation (an affine map, or the input of a forward), a
  fused loss gradient (`p - y`), a loss gradient (`-y / p`), an upstream gradient
  (the gradient parameter of a backward), or a Jacobian.

Values flow through local assignments (the assignment that reaches the read),
through `self.<attr>` stores between methods, through lists filled by `append`
(`zs[-1]`, also kept in a list attribute), through returns, and through calls resolved to their definitions
(module functions, nested functions, `self.method`, callables stored in
`self.<attr>` by `__init__` from the constructor's arguments, `Class().method`, and
`f = Class(); f(x)`, the class's `__call__`).

The model is lazy: nothing is computed until a rule asks, and every answer is
cached. Per-function facts come from the module index (`facts.FunctionFacts`).
"""

from __future__ import annotations

import enum
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional

import libcst as cst

from gradlint.analysis import algebra
from gradlint.analysis.cached import cached_property
from gradlint.analysis.facts import Binding, FunctionFacts, FunctionLike
from gradlint.analysis.syntax import call_name, dotted_name, last_part, is_new_axis, literal_float, literal_string, names_in, target_path
from gradlint.naming import is_gradient_name

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis

__all__ = [
    "CallTarget",
    "ClassInfo",
    "Convention",
    "DerivativeCall",
    "DerivativeFlag",
    "DerivativeForm",
    "DerivativeInfo",
    "ForwardInfo",
    "ForwardKind",
    "Role",
    "RoleEvidence",
    "Semantics",
    "FunctionLike",
]


class ForwardKind(enum.Enum):
    """The nonlinearity a forward computes (recognised by its body)."""

    SOFTMAX = "softmax"
    LOG_SOFTMAX = "log-softmax"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    RELU = "relu"
    LEAKY_RELU = "leaky relu"
    SOFTPLUS = "softplus"

    @property
    def convention_matters(self) -> bool:
        """False for relu-like forwards: their derivative reads the same at z and at relu(z)."""
        return self not in (ForwardKind.RELU, ForwardKind.LEAKY_RELU)

    @property
    def label(self) -> str:
        return self.value

    @property
    def is_elementwise(self) -> bool:
        """Each output depends on its own input only: any part of the output is an output."""
        return self not in (ForwardKind.SOFTMAX, ForwardKind.LOG_SOFTMAX)


class Convention(enum.Enum):
    """What a derivative takes as its input."""

    ACTIVATION = "activation"  # the forward's output s: arithmetic on it (s*(1-s))
    LOGIT = "logit"  # the pre-activation z: the forward is applied inside (sigmoid(z)*(1-sigmoid(z)))


class Role(enum.Enum):
    """What a value is, at a point of a function."""

    ACTIVATION = "activation"
    PREACTIVATION = "pre-activation"
    FUSED_LOSS_GRADIENT = "fused loss gradient"
    LOSS_GRADIENT = "loss gradient"
    UPSTREAM_GRADIENT = "upstream gradient"
    JACOBIAN = "Jacobian"


_GRADIENT_ROLES = frozenset({Role.FUSED_LOSS_GRADIENT, Role.LOSS_GRADIENT, Role.UPSTREAM_GRADIENT})


@dataclass(frozen=True)
class ForwardInfo:
    """A function or method computing a nonlinearity of its parameter `input_param`."""

    function: FunctionLike = field(repr=False)
    qualname: str
    kind: ForwardKind
    class_name: Optional[str]
    input_param: Optional[str] = None
    node: Optional[cst.CSTNode] = field(default=None, repr=False)  # the expression computing the nonlinearity


@dataclass(frozen=True)
class DerivativeForm:
    """A derivative formula found in an expression: `s * (1 - s)` in atom `s`."""

    shape: str  # "logistic" (s*(1-s)), "tanh" (1-s**2), "softmax-jacobian" (diag(s) - outer(s, s))
    node: cst.BaseExpression
    atom: cst.BaseExpression  # one occurrence of the atom the formula is in
    in_matrix: bool = False  # written into an element of a matrix (a Jacobian filled in a loop)


@dataclass(frozen=True)
class DerivativeInfo:
    """A function or method computing the derivative of a forward."""

    function: FunctionLike = field(repr=False)
    qualname: str
    forward_kind: ForwardKind
    convention: Convention
    returns_jacobian: bool
    upstream_param: Optional[str]
    input_param: Optional[str]  # the parameter the formula is in (None: a cached attribute)
    evidence: str  # e.g. "it computes s * (1 - s) from its argument"
    node: cst.CSTNode = field(repr=False)  # the formula
    input_attr: Optional[str] = None  # e.g. "self.output" for a backward reading its cache
    via: Optional[FunctionLike] = field(default=None, repr=False)  # the derivative this one delegates to


@dataclass(frozen=True)
class RoleEvidence:
    """Why a value has its role: `explanation` is e.g. "Z = W @ A_prev + b on line 31, an affine map"."""

    role: Role
    node: cst.CSTNode = field(repr=False)
    describe: Callable[[], str] = field(repr=False, compare=False)  # builds `explanation` when first read
    forward_kind: Optional[ForwardKind] = None
    describe_reason: Optional[Callable[[], str]] = field(default=None, repr=False, compare=False)

    @cached_property
    def explanation(self) -> str:
        """E.g. "Z = W @ A_prev + b on line 31, an affine map" (built lazily: it needs positions)."""
        return self.describe()

    @cached_property
    def why(self) -> str:
        """The innermost reason ("an affine map"), without the chain of assignments."""
        return self.describe_reason() if self.describe_reason is not None else self.explanation


@dataclass(frozen=True)
class CallTarget:
    """A definition a call may reach, and how it was resolved."""

    function: FunctionLike
    via: str  # "" for a direct call, else e.g. "self.activation_prime, set to tanh_prime by Tanh"
    bound_self: bool = False  # the first parameter is bound (a method called on an instance)


@dataclass(frozen=True)
class DerivativeCall:
    """A call that reaches a derivative, with the argument bound to its input parameter."""

    call: cst.Call
    target: CallTarget
    derivative: DerivativeInfo
    argument: Optional[cst.BaseExpression]
    how: str = ""  # e.g. "along axis 1" for np.apply_along_axis


@dataclass(frozen=True)
class DerivativeFlag:
    """`def sigmoid(x, derivative=False)`: a parameter (default False or 0) that selects, by the body's
    branches, the derivative (set) or the forward (left unset). A call setting it is a call of the
    derivative; a call leaving it unset applies the forward."""

    param: str  # the flag parameter
    forward: ForwardKind  # what every return of the unset branch computes
    input_param: str  # the parameter the forward is applied to (and the derivative is in)
    derivative: DerivativeInfo  # what the set branch computes (its convention and formula)


@dataclass(frozen=True)
class ClassInfo:
    """A class's layer structure: its forward/backward and what forward caches."""

    class_def: cst.ClassDef
    name: str
    bases: tuple[str, ...]
    forward: Optional[cst.FunctionDef]
    backward: Optional[cst.FunctionDef]
    forward_kind: Optional[ForwardKind]
    preactivation_attrs: frozenset[str]  # self.<attr> stored by forward before the nonlinearity
    activation_attrs: frozenset[str]  # self.<attr> stored by forward after it


FORWARD_METHODS = frozenset({"forward", "__call__", "call", "fprop", "forward_pass", "activate", "feedforward"})
BACKWARD_METHODS = frozenset(
    {"backward", "backprop", "backward_pass", "bprop", "backpropagate", "backpropagation", "grad", "gradient"}
)
# a function or method named as a derivative: `tanh_prime`, `d_sigmoid`, `softmax_jacobian`, `deriv`
DERIVATIVE_NAME = re.compile(
    r"^(?:d_?|der_?|deriv_?|derivative_?|grad_?|diff_?|jacobian_)(?P<a>\w+)$"
    r"|^(?P<b>\w+?)_?(?:prime|derivative|deriv|der|grad|gradient|backward|diff|_d|jacobian|jac)$",
    re.IGNORECASE,
)
DERIVATIVE_METHODS = frozenset({"derivative", "deriv", "prime", "df", "diff", "derivate"})
# names of a parameter switching an activation to its derivative: `def sigmoid(x, derivative=False)`,
# `nonlin(x, deriv=False)`, `activate(X, d=False)`
DERIVATIVE_FLAG_NAMES = frozenset(
    {"derivative", "deriv", "der", "derv", "deri", "prime", "grad", "backward", "d", "derivate", "derivatives", "gradient"}
)


def flag_parameter(function: FunctionLike) -> Optional[cst.Param]:
    """The parameter named as a derivative switch (`derivative`, `deriv`, `d`, ...) whose default
    is False or 0, if the function has one (the first such)."""
    if type(function) is not cst.FunctionDef:
        return None
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value.lower() in DERIVATIVE_FLAG_NAMES and param.default is not None and _literal_truth(param.default) is False:
            return param
    return None


def _literal_truth(node: Optional[cst.BaseExpression]) -> Optional[bool]:
    """The truth of a literal flag value: True/1 -> True, False/0/None -> False; None when not a literal."""
    if node is None:
        return None
    if type(node) is cst.Name:
        return {"True": True, "False": False, "None": False}.get(node.value)
    if type(node) is cst.Integer:
        value = literal_float(node)
        return None if value is None else value != 0
    return None


def _terminates(block: cst.BaseSuite) -> bool:
    """The block's last statement is a `return` or `raise`."""
    if type(block) is cst.IndentedBlock:
        if not block.body:
            return False
        last = block.body[-1]
        if type(last) is not cst.SimpleStatementLine or not last.body:
            return False
        return type(last.body[-1]) in (cst.Return, cst.Raise)
    if type(block) is cst.SimpleStatementSuite:
        return bool(block.body) and type(block.body[-1]) in (cst.Return, cst.Raise)
    return False


def named_as_derivative(name: str) -> bool:
    """`deriv`, `derivative`, `sigmoid_prime`, `d_tanh`: a name saying the function is a derivative."""
    return name.lower() in DERIVATIVE_METHODS or DERIVATIVE_NAME.match(name) is not None


def derivative_base(name: str) -> Optional[str]:
    """What a derivative's name says it is the derivative of: `tanh` for `tanh_prime` or `d_tanh`,
    as written (case kept); None for a name not so formed."""
    match = DERIVATIVE_NAME.match(name)
    return (match.group("a") or match.group("b") or "").strip("_") if match else None


_LIBRARY_PREFIXES = frozenset({"np", "numpy", "math", "torch", "cp", "cupy", "jnp", "jax.numpy", "xp", "scipy.special", "special", "F", "torch.nn.functional", "jax.nn", "sp", "scipy"})
_TRANSPARENT_METHODS = frozenset({"reshape", "flatten", "ravel", "squeeze", "copy", "astype", "transpose", "view", "T"})
_TRANSPARENT_FUNCTIONS = frozenset({"array", "asarray", "atleast_1d", "atleast_2d", "squeeze", "copy", "transpose", "reshape", "ravel", "asanyarray", "float32", "float64"})
_SUMS = frozenset({"sum", "nansum"})
# where a Function-style framework keeps the outputs of `forward` (dezero `self.outputs`, chainer `self.output_data`)
_FRAMEWORK_OUTPUTS = frozenset({"outputs", "output_data"})
# a layer's backward pass: its one parameter is the upstream gradient whatever its name
_LAYER_BACKWARDS = frozenset({"backward", "backprop", "backward_pass", "bprop", "backpropagate", "backpropagation"})
_LIBRARY_FORWARDS = {
    "np.tanh": ForwardKind.TANH, "numpy.tanh": ForwardKind.TANH, "torch.tanh": ForwardKind.TANH,
    "expit": ForwardKind.SIGMOID, "scipy.special.expit": ForwardKind.SIGMOID, "special.expit": ForwardKind.SIGMOID,
    "torch.sigmoid": ForwardKind.SIGMOID, "scipy.special.softmax": ForwardKind.SOFTMAX,
    "special.softmax": ForwardKind.SOFTMAX,
}
_MATMULS = frozenset({"dot", "matmul"})
# library softmaxes `_library_call` does not reach (tensorflow), and the modules a bare `softmax` may come from
_FRAMEWORK_SOFTMAXES = frozenset(
    {"tf.nn.softmax", "tf.math.softmax", "tensorflow.nn.softmax", "tensorflow.math.softmax", "nn.functional.softmax", "jax.nn.softmax"}
)
_SOFTMAX_MODULES = frozenset(
    {"scipy.special", "torch.nn.functional", "jax.nn", "tensorflow.nn", "tensorflow.math", "tensorflow.keras.activations", "torch"}
)
_EPSILON_NAME = re.compile(r"^_?(?:eps|epsilon)(?:_?\d*)$", re.IGNORECASE)
_NESTED_SCOPES = (cst.Lambda, cst.FunctionDef)
# node type -> is it a cst.BaseExpression (an ABC: isinstance goes through ABCMeta each time)
_IS_EXPRESSION_TYPE: dict[type, bool] = {}
# the callees `Semantics._library_forward` recognises (by the last part of their name)
_LIBRARY_FORWARD_TAILS = frozenset(
    {"tanh", "expit", "sigmoid", "softmax", "log_softmax", "logaddexp", "maximum", "fmax", "where", "log1p", "log"}
)


def _library_call(call: cst.Call, *names: str) -> bool:
    """`np.exp(...)`-like: the callee's last part is one of `names` on a numeric library (or bare `exp` from math)."""
    name = call_name(call)
    if name is None:
        return False
    head, _, tail = name.rpartition(".")
    return tail in names and (head in _LIBRARY_PREFIXES or head.startswith(("np.", "numpy.", "torch.", "scipy.")))


def _nondiff_count(decorator: cst.Call) -> Optional[int]:
    """How many `nondiff_argnums` a `partial(jax.custom_vjp, nondiff_argnums=(1,))` names (0 without
    them); None when they are not a literal tuple or int."""
    value = next((arg.value for arg in decorator.args if arg.keyword is not None and arg.keyword.value == "nondiff_argnums"), None)
    if value is None:
        return 0
    if type(value) in (cst.Tuple, cst.List):
        return len(value.elements) if all(type(e.value) is cst.Integer for e in value.elements) else None
    return 1 if type(value) is cst.Integer else None


def _tf_call(call: cst.Call, name: str) -> bool:
    """`tf.exp(...)`, `tf.math.exp(...)` (also spelled `tensorflow.`)."""
    return call_name(call) in (f"tf.{name}", f"tf.math.{name}", f"tensorflow.{name}", f"tensorflow.math.{name}")


def _library_tail(call: cst.Call) -> Optional[str]:
    """The callee's last part when `call` is a numeric library's function (as `_library_call` decides), else None."""
    name = call_name(call)
    if name is None:
        return None
    head, _, tail = name.rpartition(".")
    return tail if head in _LIBRARY_PREFIXES or head.startswith(("np.", "numpy.", "torch.", "scipy.")) else None


_JOINS = frozenset({"append", "hstack", "vstack", "column_stack", "concatenate"})
_BIAS_JOINS = _JOINS | {"insert"}


def _bias_augmented(expr: cst.BaseExpression, tail: Optional[str] = None) -> Optional[cst.BaseExpression]:
    """`a` of an activation with a bias unit of ones joined to it (`np.append([1], a)`, `np.insert(a, 0, 1,
    axis=1)`, `np.hstack((np.ones((m, 1)), a))`, `np.concatenate([a, ones], axis=1)`, `np.c_[np.ones(m), a]`):
    its other entries are the values of `a`."""
    if type(expr) is cst.Subscript:
        if dotted_name(expr.value) not in ("np.c_", "np.r_", "numpy.c_", "numpy.r_") or len(expr.slice) != 2:
            return None
        parts = [element.slice.value for element in expr.slice if type(element.slice) is cst.Index]
        return _the_one_not_ones(parts) if len(parts) == 2 else None
    if type(expr) is not cst.Call:
        return None
    tail = tail or _library_tail(expr)
    args = _args(expr)
    if tail == "insert":
        return args[0] if len(args) == 3 and _is_ones(args[2]) else None
    if tail not in _JOINS or not args:
        return None
    parts = args[:2] if tail == "append" else (
        [element.value for element in args[0].elements]  # type: ignore[attr-defined]
        if type(args[0]) in (cst.Tuple, cst.List) and len(args) == 1 else []
    )
    return _the_one_not_ones(parts) if len(parts) == 2 and not any(type(p) is cst.StarredElement for p in parts) else None


def _the_one_not_ones(parts: list[cst.BaseExpression]) -> Optional[cst.BaseExpression]:
    """Of two joined parts, the one that is not a block of ones, when the other is."""
    first, second = parts
    if _is_ones(first) and not _is_ones(second):
        return second
    if _is_ones(second) and not _is_ones(first):
        return first
    return None


def _is_ones(node: cst.BaseExpression) -> bool:
    """`1`, `1.0`, `[1]`, `[[1]]`, `np.ones(...)`, `np.ones_like(...)`: a bias unit."""
    if type(node) in (cst.List, cst.Tuple):
        elements = node.elements  # type: ignore[attr-defined]
        return len(elements) == 1 and _is_ones(elements[0].value)
    if type(node) is cst.Call:
        return _library_tail(node) in ("ones", "ones_like")
    return _number(node) == 1


def _args(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def _kwarg(call: cst.Call, name: str) -> Optional[cst.BaseExpression]:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def _number(node: cst.CSTNode) -> Optional[float]:
    if type(node) is cst.Integer or type(node) is cst.Float:
        return literal_float(node)  # None for what a float cannot hold (a 400-digit hex literal)
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        inner = _number(node.expression)
        return -inner if inner is not None else None
    return None


def _is_literal(node: cst.CSTNode) -> bool:
    """An int or float literal, maybe negated: a number even when no float holds it (`1e999`)."""
    while type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        node = node.expression
    return type(node) is cst.Integer or type(node) is cst.Float


def _is_number(node: cst.CSTNode, value: Optional[float] = None) -> bool:
    if value is None:
        return _is_literal(node)
    number = _number(node)
    return number is not None and number == value


def _negated(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`x` for `-x` or `-1 * x`."""
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus and not _is_literal(node):
        return node.expression
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        if _is_number(node.left, -1):
            return node.right
        if _is_number(node.right, -1):
            return node.left
    return None


def _operator(node: cst.CSTNode, kind: type) -> bool:
    return type(node) is cst.BinaryOperation and isinstance(node.operator, kind)


def _unshift(node: cst.BaseExpression) -> cst.BaseExpression:
    """`x` for the stabilised `x - np.max(x, ...)` / `x - x.max(...)` / `x - c`."""
    if _operator(node, cst.Subtract):
        right = node.right  # type: ignore[attr-defined]
        if type(right) is cst.Subscript and len(right.slice) == 1 and type(right.slice[0].slice) is cst.Index:
            if _is_number(right.slice[0].slice.value, 0):  # torch: x.max(dim=-1, keepdim=True)[0]
                right = right.value
        elif type(right) is cst.Attribute and right.attr.value == "values":  # torch: x.max(dim=-1).values
            right = right.value
        if type(right) is cst.Call and last_part(call_name(right)) in ("max", "amax", "reduce_max"):
            return node.left  # type: ignore[attr-defined]
    return node


class _Place:
    """A point in a function: the facts of the function and the index order of the point."""

    __slots__ = ("facts", "order")

    def __init__(self, facts: FunctionFacts, order: int) -> None:
        self.facts = facts
        self.order = order


class Semantics:
    """Lazy, cached semantic questions about one module."""

    MAX_DEPTH = 8

    def __init__(self, analysis: "ModuleAnalysis") -> None:
        self.analysis = analysis
        self.index = analysis.index
        self._facts: dict[Optional[cst.CSTNode], FunctionFacts] = {}
        self._scopes: dict[cst.CSTNode, Optional[FunctionLike]] = {}
        self._forward: dict[cst.CSTNode, Optional[ForwardInfo]] = {}
        self._derivative: dict[cst.CSTNode, Optional[DerivativeInfo]] = {}
        self._flags: dict[cst.CSTNode, Optional[DerivativeFlag]] = {}
        self._switches: dict[cst.CSTNode, Optional[str]] = {}
        self._class_info: dict[cst.ClassDef, ClassInfo] = {}
        self._attr_roles: dict[tuple[cst.ClassDef, str], Optional[RoleEvidence]] = {}
        self._entry_roles: dict[tuple[cst.ClassDef, str, str], Optional[RoleEvidence]] = {}
        self._attr_list_roles: dict[tuple[cst.ClassDef, str], Optional[RoleEvidence]] = {}
        self._in_progress: set[tuple[int, int]] = set()  # (id of an expression, order): roles being computed
        self._bases: dict[cst.ClassDef, list[cst.ClassDef]] = {}
        self._methods: dict[cst.ClassDef, dict[str, cst.FunctionDef]] = {}  # index.methods, asked once per class
        self._return_roles: dict[cst.CSTNode, Optional[RoleEvidence]] = {}
        self._formula_gate: dict[Optional[cst.CSTNode], bool] = {}
        self._slices: dict[Optional[cst.CSTNode], list[tuple[cst.BaseExpression, _Place, bool]]] = {}
        self._roles: dict[tuple[int, int], Optional[RoleEvidence]] = {}
        self._forward_calls: dict[Optional[cst.CSTNode], list[tuple[cst.BaseExpression, frozenset[ForwardKind], cst.BaseExpression]]] = {}
        # (id of an atom, id of its place's facts, the place's order) -> _atom_key's answer: a key names
        # the whole chain of definitions behind the atom (`forward:softmax(forward:softmax(...))`), and
        # a long straight-line function asks for the key of every link; unmemoised, each question
        # re-walked the chain below it (quadratic in the function's length)
        self._atom_keys: dict[tuple[int, int, int], str] = {}
        self._element_keys: dict[tuple[int, int, int], str] = {}  # the same, for _element_key
        self._inplace_calls: dict[Optional[cst.CSTNode], dict[str, list[int]]] = {}
        self._written: dict[cst.FunctionDef, frozenset[str]] = {}
        # per function: name -> (orders, applications: (the call or formula, its kinds, the shift it was read through))
        self._forward_inputs: dict[Optional[cst.CSTNode], dict[str, tuple[list[int], list[tuple[cst.BaseExpression, frozenset[ForwardKind], Optional[cst.CSTNode]]]]]] = {}

    # ------------------------------------------------------------------ tables
    @cached_property
    def module_functions(self) -> dict[str, FunctionLike]:
        """Module-level functions (and `name = lambda ...`) by name; the last definition wins."""
        found: dict[str, FunctionLike] = {}
        for function in self.index.nodes_in(None, cst.FunctionDef):
            if self._is_top_level(function):
                found[function.name.value] = function
        for name, bindings in self.facts(None).bindings.items():
            for binding in bindings:
                if type(binding.value) is cst.Lambda and self._is_top_level(binding.statement):
                    found[name] = binding.value
        return found

    def _is_top_level(self, node: cst.CSTNode) -> bool:
        statement = self.index.statement_of(node) if type(node) is not cst.FunctionDef else node
        parent = self.index.parent(statement)
        while parent is not None and type(parent) not in (cst.Module, cst.ClassDef, cst.FunctionDef):
            parent = self.index.parent(parent)
        return type(parent) is cst.Module

    @cached_property
    def classes(self) -> dict[str, cst.ClassDef]:
        """Classes of the module by name (the last definition wins)."""
        return {c.name.value: c for c in self.index.nodes(cst.ClassDef)}

    def qualname(self, function: FunctionLike) -> str:
        if type(function) is cst.Lambda:
            owner = self.index.statement_of(function)
            if type(owner) is cst.SimpleStatementLine and owner.body and type(owner.body[0]) is cst.Assign:
                name = dotted_name(owner.body[0].targets[0].target)
                if name:
                    return name
            return "<lambda>"
        parts = [function.name.value]
        for ancestor in self.index.ancestors(function):
            if type(ancestor) in (cst.FunctionDef, cst.ClassDef):
                parts.append(ancestor.name.value)
        return ".".join(reversed(parts))

    def facts(self, function: Optional[FunctionLike]) -> FunctionFacts:
        """Per-function facts (None: the module scope)."""
        found = self._facts.get(function)
        if found is None:
            class_def = self.index.class_of(function) if type(function) is cst.FunctionDef else None
            qualname = self.qualname(function) if function is not None else "<module>"
            found = FunctionFacts(self.index, function, qualname, class_def)
            self._facts[function] = found
        return found

    def scope_of(self, node: cst.CSTNode) -> Optional[FunctionLike]:
        """The innermost function or lambda holding `node` (None: module level)."""
        scopes = self._scopes
        if node in scopes:
            return scopes[node]
        # the nearest enclosing def, unless a lambda of that def's own body sits in between
        found = self.index.function_of.get(node)
        if self.index.nodes_in(found, cst.Lambda):
            found = None
            for ancestor in self.index.ancestors(node):
                if type(ancestor) in (cst.FunctionDef, cst.Lambda):
                    # a lambda's parameters are only its own; the body belongs to it
                    found = ancestor
                    break
        scopes[node] = found
        return found

    def _place(self, node: cst.CSTNode) -> _Place:
        return _Place(self.facts(self.scope_of(node)), self.index.order.get(node, 0))

    def describe_line(self, node: cst.CSTNode) -> str:
        return f"line {self.analysis.line_of(node)}"

    def code(self, node: cst.CSTNode) -> str:
        return self.analysis.code_for(node)

    # ------------------------------------------------------------- classes
    def class_info(self, class_def: cst.ClassDef) -> ClassInfo:
        info = self._class_info.get(class_def)
        if info is None:
            info = self._build_class_info(class_def)
            self._class_info[class_def] = info
        return info

    def base_classes(self, class_def: cst.ClassDef) -> list[cst.ClassDef]:
        """The class and its ancestors defined in this module (nearest first)."""
        cached = self._bases.get(class_def)
        if cached is not None:
            return cached
        found: list[cst.ClassDef] = []
        pending = [class_def]
        while pending and len(found) < 16:
            current = pending.pop(0)
            if current in found:
                continue
            found.append(current)
            for base in current.bases:
                name = dotted_name(base.value)
                if name and last_part(name) in self.classes:
                    pending.append(self.classes[last_part(name)])  # type: ignore[index]
        self._bases[class_def] = found
        return found

    def subclasses(self, class_def: cst.ClassDef) -> list[cst.ClassDef]:
        """The module's classes deriving (directly or not) from `class_def`."""
        return self._subclass_map.get(class_def, [])

    @cached_property
    def _subclass_map(self) -> dict[cst.ClassDef, list[cst.ClassDef]]:
        found: dict[cst.ClassDef, list[cst.ClassDef]] = {}
        for candidate in self.classes.values():
            for base in self.base_classes(candidate)[1:]:
                found.setdefault(base, []).append(candidate)
        return found

    def find_method(self, class_def: cst.ClassDef, name: str) -> Optional[cst.FunctionDef]:
        methods = self._methods
        for owner in self.base_classes(class_def):
            owned = methods.get(owner)
            if owned is None:
                owned = methods[owner] = self.index.methods(owner)  # read-only here
            method = owned.get(name)
            if method is not None:
                return method
        return None

    def _build_class_info(self, class_def: cst.ClassDef) -> ClassInfo:
        forward = next((m for n in FORWARD_METHODS if (m := self.find_method(class_def, n)) is not None), None)
        backward = next((m for n in BACKWARD_METHODS if (m := self.find_method(class_def, n)) is not None), None)
        forward_info = self.forward_of(forward) if forward is not None else None
        before: set[str] = set()
        after: set[str] = set()
        if forward is not None:
            facts = self.facts(forward)
            for name, bindings in facts.bindings.items():
                if not name.startswith(f"{facts.self_name}."):
                    continue
                attr = name.split(".", 1)[1]
                for binding in bindings:
                    if binding.value is None or binding.augmented:
                        continue
                    role = self._stored_role(facts, binding)
                    if role is not None and role.role is Role.PREACTIVATION:
                        before.add(attr)
                    elif role is not None and role.role is Role.ACTIVATION:
                        after.add(attr)
        bases = tuple(n for b in class_def.bases if (n := dotted_name(b.value)))
        return ClassInfo(
            class_def,
            class_def.name.value,
            bases,
            forward,
            backward,
            forward_info.kind if forward_info else None,
            frozenset(before - after),
            frozenset(after - before),
        )

    # ----------------------------------------------------------- resolution
    def resolve_call(self, call: cst.Call) -> Optional[FunctionLike]:
        """The one definition `call` reaches, or None (unknown, or several candidates)."""
        targets = self.resolve_call_targets(call)
        functions = {id(t.function): t.function for t in targets}
        return next(iter(functions.values())) if len(functions) == 1 else None

    def resolve_call_targets(self, call: cst.Call) -> list[CallTarget]:
        """Every definition `call` may reach (several for `self.f` set differently by subclasses)."""
        return self.resolve_callable(call.func, self._place(call))

    def resolve_callable(self, expr: cst.BaseExpression, place: Optional[_Place] = None, depth: int = 0) -> list[CallTarget]:
        """The definitions a callable expression (`f`, `self.f`, `Cls().f`, a lambda) denotes."""
        place = place or self._place(expr)
        if depth > self.MAX_DEPTH:
            return []
        if type(expr) is cst.Lambda:
            return [CallTarget(expr, "")]
        if type(expr) is cst.Name:
            return self._resolve_name(expr.value, place, depth)
        if type(expr) is cst.Attribute:
            return self._resolve_attribute(expr, place, depth)
        if type(expr) is cst.Call and type(expr.func) is cst.Name and expr.func.value in self.classes:
            # `f = SoftMax()` then `f(x)`: calling an instance of a module class runs its `__call__`
            method = self.find_method(self.classes[expr.func.value], "__call__")
            if method is not None:
                return [CallTarget(method, "", bound_self=True)]
        return []

    def _resolve_name(self, name: str, place: _Place, depth: int) -> list[CallTarget]:
        facts = place.facts
        binding = facts.reaching(name, place.order) if facts.function is not None else None
        if binding is not None:
            if type(binding.statement) is cst.FunctionDef:
                return [CallTarget(binding.statement, "")]
            if binding.value is not None and not binding.augmented:
                return self.resolve_callable(binding.value, _Place(facts, binding.order), depth + 1)
            return []
        if name == facts.self_name and facts.class_def is not None and not self._is_static(facts.function):
            # `y = self(x)` in a method: the instance's `__call__` (mla_sani's Softmax.derivative)
            method = self.find_method(facts.class_def, "__call__")
            return [CallTarget(method, "", bound_self=True)] if method is not None else []
        if facts.function is not None and name in facts.params:
            return []
        # enclosing functions' nested definitions, then the module
        for ancestor in self.index.ancestors(facts.function) if facts.function is not None else ():
            if type(ancestor) is cst.FunctionDef:
                nested = self.facts(ancestor).nested.get(name)
                if nested is not None:
                    return [CallTarget(nested, "")]
        function = self.module_functions.get(name)
        if function is not None:
            return [CallTarget(function, "")]
        return []

    def _resolve_attribute(self, expr: cst.Attribute, place: _Place, depth: int) -> list[CallTarget]:
        facts = place.facts
        attr = expr.attr.value
        owner = expr.value
        # self.method / self.<callable attribute>
        if type(owner) is cst.Name and facts.self_name and owner.value == facts.self_name and facts.class_def:
            method = self.find_method(facts.class_def, attr)
            if method is not None:
                return [CallTarget(method, "", bound_self=True)]
            return self._attribute_callables(facts.class_def, attr, depth)
        # Cls(...).method, obj.method with obj = Cls(...), self.x.method with self.x = Cls(...)
        class_def = self._instance_class(owner, place, depth)
        if class_def is not None:
            method = self.find_method(class_def, attr)
            if method is not None:
                return [CallTarget(method, "", bound_self=True)]
        # Cls.method (unbound)
        name = dotted_name(owner)
        if name in self.classes:
            method = self.find_method(self.classes[name], attr)
            if method is not None:
                return [CallTarget(method, "")]
        return []

    @staticmethod
    def _is_static(function: FunctionLike) -> bool:
        """A `@classmethod` (or `@staticmethod`): its first parameter is no instance."""
        return type(function) is cst.FunctionDef and any(
            last_part(dotted_name(d.decorator)) in ("staticmethod", "classmethod") for d in function.decorators
        )

    def _instance_class(self, expr: cst.BaseExpression, place: _Place, depth: int) -> Optional[cst.ClassDef]:
        if depth > self.MAX_DEPTH:
            return None
        if type(expr) is cst.Call:
            name = dotted_name(expr.func)
            return self.classes.get(last_part(name) or "") if name and "." not in name else None
        name = dotted_name(expr)
        if name is None:
            return None
        facts = place.facts
        binding = facts.reaching(name, place.order)
        if binding is not None and binding.value is not None and not binding.augmented:
            return self._instance_class(binding.value, _Place(facts, binding.order), depth + 1)
        if facts.self_name and name.startswith(facts.self_name + ".") and facts.class_def is not None:
            values = self._attribute_values(facts.class_def, name.split(".", 1)[1])
            # every stored value is an instance of one class (or a `None` placeholder)
            classes: dict[int, cst.ClassDef] = {}
            for value, value_place in values:
                if self._is_placeholder(value):
                    continue
                found = self._instance_class(value, value_place, depth + 1)
                if found is None:
                    return None
                classes[id(found)] = found
            if len(classes) == 1:
                return next(iter(classes.values()))
        return None

    @staticmethod
    def _is_placeholder(value: cst.BaseExpression) -> bool:
        return type(value) is cst.Name and value.value == "None"

    def _attribute_values(self, class_def: cst.ClassDef, attr: str) -> list[tuple[cst.BaseExpression, _Place]]:
        """Every value stored in `self.<attr>` by the methods of the class, its module ancestors and
        its subclasses (a base class's method may run on a subclass instance)."""
        found = []
        for owner in self.base_classes(class_def) + self.subclasses(class_def):
            for method in self.index.methods(owner).values():
                facts = self.facts(method)
                if not facts.self_name:
                    continue
                for binding in facts.bindings.get(f"{facts.self_name}.{attr}", ()):
                    if binding.value is not None and not binding.augmented:
                        found.append((binding.value, _Place(facts, binding.order)))
        return found

    def _attribute_callables(self, class_def: cst.ClassDef, attr: str, depth: int) -> list[CallTarget]:
        """Callables stored in `self.<attr>`: a function, or an `__init__` parameter bound by constructors."""
        targets: list[CallTarget] = []
        for value, place in self._attribute_values(class_def, attr):
            if type(value) is cst.Name and value.value in place.facts.params and place.facts.name == "__init__":
                for function, how in self._constructor_arguments(place.facts, value.value, class_def, depth):
                    targets.append(CallTarget(function, f"self.{attr}, set to {self.qualname(function)} {how}", bound_self=False))
            else:
                for target in self.resolve_callable(value, place, depth + 1):
                    targets.append(CallTarget(target.function, f"self.{attr}, set to {self.qualname(target.function)}", target.bound_self))
        return targets

    def _constructor_arguments(
        self, init_facts: FunctionFacts, param: str, class_def: cst.ClassDef, depth: int
    ) -> Iterator[tuple[FunctionLike, str]]:
        """Functions passed for `__init__`'s `param`: `Cls(f, ...)`, `super().__init__(f, ...)` in subclasses."""
        for argument, call, how in self._constructor_argument_exprs(init_facts, param, depth):
            for target in self.resolve_callable(argument, self._place(call), depth + 1):
                yield target.function, how

    def _constructor_argument_exprs(
        self, init_facts: FunctionFacts, param: str, depth: int
    ) -> Iterator[tuple[cst.BaseExpression, cst.Call, str]]:
        """The expressions passed for `__init__`'s `param` by constructor calls and subclasses' `__init__` calls."""
        init = init_facts.function
        owner = init_facts.class_def
        if owner is None or depth > self.MAX_DEPTH:
            return
        position = init_facts.positional.index(param) if param in init_facts.positional else None
        candidates = [owner] + self.subclasses(owner)
        owner_names = {c.name.value for c in candidates}
        for call in self.index.nodes(cst.Call):
            func = call.func
            name = dotted_name(func)
            how = None
            skip_self = False
            if name in owner_names and self.find_method(self.classes[name], "__init__") is init:  # type: ignore[index]
                how = f"by {name}(...)"
            elif type(func) is cst.Attribute and func.attr.value == "__init__":
                value = func.value
                caller = self.scope_of(call)
                caller_class = self.index.class_of(caller) if type(caller) is cst.FunctionDef else None
                if caller_class is None or caller_class is owner:
                    continue
                if type(value) is cst.Call and call_name(value) == "super":
                    if owner in self.base_classes(caller_class)[1:2] or owner in self.base_classes(caller_class)[1:]:
                        how = f"by {caller_class.name.value} via super().__init__"
                elif dotted_name(value) == owner.name.value:
                    how = f"by {caller_class.name.value} via {owner.name.value}.__init__"
                    skip_self = True
            if how is None:
                continue
            argument = _kwarg(call, param)
            if argument is None and position is not None:
                positional = _args(call)
                if skip_self:
                    positional = positional[1:]
                if position < len(positional):
                    argument = positional[position]
            if argument is None:
                continue
            yield argument, call, how

    def _attribute_forward_kinds(self, class_def: cst.ClassDef, attr: str) -> Optional[frozenset[ForwardKind]]:
        """The nonlinearities a callable `self.<attr>` may be: module forwards or library ones (`np.tanh`)
        stored directly or passed to `__init__` by constructors and subclasses; None if any is unknown."""
        kinds: set[ForwardKind] = set()
        values = self._attribute_values(class_def, attr)
        if not values:
            return None
        for value, place in values:
            if type(value) is cst.Name and value.value in place.facts.params and place.facts.name == "__init__":
                candidates = [(e, self._place(c)) for e, c, _ in self._constructor_argument_exprs(place.facts, value.value, 0)]
            else:
                candidates = [(value, place)]
            if not candidates:
                return None
            for expr, expr_place in candidates:
                kind = _LIBRARY_FORWARDS.get(dotted_name(expr) or "")
                if kind is None:
                    targets = self.resolve_callable(expr, expr_place)
                    infos = [self.forward_of(t.function) for t in targets]
                    if not infos or any(i is None for i in infos):
                        return None
                    kinds.update(i.kind for i in infos if i is not None)
                else:
                    kinds.add(kind)
        return frozenset(kinds) if kinds else None

    def effective_calls(self, call: cst.Call) -> list[tuple[CallTarget, dict[str, cst.BaseExpression], str]]:
        """What `call` invokes and with which arguments: itself, or `f` for `np.apply_along_axis(f, axis, arr)`."""
        results = []
        if _library_call(call, "apply_along_axis"):
            args = _args(call)
            function_expr = _kwarg(call, "func1d") or (args[0] if args else None)
            array = _kwarg(call, "arr") or (args[2] if len(args) > 2 else None)
            axis = _kwarg(call, "axis") or (args[1] if len(args) > 1 else None)
            if function_expr is not None and array is not None:
                for target in self.resolve_callable(function_expr, self._place(call)):
                    facts = self.facts(target.function)
                    if facts.params:
                        how = f"along axis {self.code(axis)}" if axis is not None else ""
                        results.append((target, {facts.params[0]: array}, how))
            return results
        func = call.func
        if type(func) is cst.Call and _library_call(func, "vectorize") and _args(func) and _args(call):
            for target in self.resolve_callable(_args(func)[0], self._place(call)):  # np.vectorize(f)(x)
                facts = self.facts(target.function)
                if facts.params:
                    results.append((target, {facts.params[0]: _args(call)[0]}, "elementwise"))
            return results
        for target in self.resolve_call_targets(call):
            results.append((target, self.bind_arguments(call, target), ""))
        return results

    def bind_arguments(self, call: cst.Call, target: CallTarget) -> dict[str, cst.BaseExpression]:
        """Map the call's arguments to the target's parameters (self excluded)."""
        facts = self.facts(target.function)
        bound: dict[str, cst.BaseExpression] = {}
        positional = [p for p in facts.positional]
        index = 0
        for arg in call.args:
            if arg.star:
                return bound
            if arg.keyword is not None:
                if arg.keyword.value in facts.params:
                    bound[arg.keyword.value] = arg.value
            elif index < len(positional):
                bound[positional[index]] = arg.value
                index += 1
        return bound

    # ---------------------------------------------------------- value tracing
    def _strip(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """Remove shape-only wrappers: `x.T`, `x.reshape(...)`, `np.array(x)`, `x.copy()`."""
        if type(expr) is cst.Name:
            return expr  # the commonest case, which none of the wrappers below matches
        for _ in range(12):
            if type(expr) is cst.Attribute and expr.attr.value == "T":
                expr = expr.value
            elif type(expr) is cst.Call and type(expr.func) is cst.Attribute and expr.func.attr.value in _TRANSPARENT_METHODS:
                if expr.func.attr.value == "astype" or dotted_name(expr.func.value) in _LIBRARY_PREFIXES:
                    if dotted_name(expr.func.value) in _LIBRARY_PREFIXES:
                        args = _args(expr)
                        if not args:
                            return expr
                        expr = args[0]
                        continue
                expr = expr.func.value
            elif type(expr) is cst.Call:
                tail = _library_tail(expr)
                if tail in _TRANSPARENT_FUNCTIONS and _args(expr):
                    expr = _args(expr)[0]
                elif tail in _BIAS_JOINS and (augmented := _bias_augmented(expr, tail)) is not None:
                    expr = augmented
                else:
                    return expr
            elif type(expr) is cst.Subscript and (augmented := _bias_augmented(expr)) is not None:
                expr = augmented
            else:
                return expr
        return expr

    def deref(self, expr: cst.BaseExpression, place: _Place) -> tuple[cst.BaseExpression, _Place, list[Binding]]:
        """Follow plain local aliases (`x = y`, and the reaching assignment of a name)
        to the expression that computed the value; returns the bindings crossed."""
        crossed: list[Binding] = []
        for _ in range(self.MAX_DEPTH):
            stripped = self._strip(expr)
            name = dotted_name(stripped) if type(stripped) in (cst.Name, cst.Attribute) else None
            if name is None:
                return stripped, place, crossed
            binding = place.facts.reaching(name, place.order)
            if binding is None or binding.value is None or binding.augmented:
                return stripped, place, crossed
            if place.facts.stores_between(name, binding.order, place.order):
                return stripped, place, crossed  # modified in place since
            crossed.append(binding)
            expr, place = binding.value, _Place(place.facts, binding.order)
        return expr, place, crossed

    def _atom_key(self, expr: cst.BaseExpression, place: _Place) -> str:
        """A key naming what value an atom is, so `s`, `s[i]`, `s.T` and an alias of `s` compare equal
        (memoised per atom and place for the model's lifetime: the answer depends on nothing else)."""
        memo_key = (id(expr), id(place.facts), place.order)
        found = self._atom_keys.get(memo_key)
        if found is None:
            found = self._atom_keys[memo_key] = self._compute_atom_key(expr, place)
        return found

    def _compute_atom_key(self, expr: cst.BaseExpression, place: _Place) -> str:
        for _ in range(self.MAX_DEPTH):
            stripped = self._strip(expr)
            while type(stripped) is cst.Subscript:
                stripped = self._strip(stripped.value)
            if type(stripped) in (cst.Name, cst.Attribute):
                name = dotted_name(stripped)
                if name is None:
                    return f"node:{id(stripped)}"
                binding = place.facts.reaching(name, place.order)
                if binding is None:
                    if place.facts.function is not None and name in place.facts.params:
                        return f"param:{name}"
                    return f"name:{name}"
                if binding.augmented and binding.value is not None:
                    normalised = self._inplace_normalised(binding, place.facts)
                    if normalised is not None:
                        return f"forward:{ForwardKind.SOFTMAX.value}({self._atom_key(normalised[0], normalised[1])})"
                if binding.value is None or binding.augmented:
                    return f"binding:{id(binding.statement)}:{name}"
                expr, place = binding.value, _Place(place.facts, binding.order)
                continue
            forward = self.forward_application(stripped, place)
            if forward is not None:
                kind, argument, argument_place = forward
                return f"forward:{kind.value}({self._atom_key(argument, argument_place)})"
            return f"code:{_structure(stripped)}"
        return f"node:{id(expr)}"

    def _element_key(self, expr: cst.BaseExpression, place: _Place) -> str:
        """`_atom_key` with the elements read kept: `x[1:]` and `x[:-1]` (or `xm = x[1:-1]` and
        `xm_m1 = x[:-2]`, or `y[9]` and `y[0]`) are different values of one array, so Rosenbrock's
        `x[1:] - x[:-1]**2` is not the logistic `s - s**2`. Shape-only subscripts (`s[:, None]`,
        `s[None, :]`, `s[...]`, `s[:]`) read every element and are not kept."""
        memo_key = (id(expr), id(place.facts), place.order)
        found = self._element_keys.get(memo_key)
        if found is None:
            found = self._element_keys[memo_key] = self._compute_element_key(expr, place)
        return found

    def _compute_element_key(self, expr: cst.BaseExpression, place: _Place) -> str:
        suffix = ""
        for _ in range(self.MAX_DEPTH):
            stripped = self._strip(expr)
            while type(stripped) is cst.Subscript:
                suffix = _element_selector(stripped) + suffix
                stripped = self._strip(stripped.value)
            if type(stripped) in (cst.Name, cst.Attribute):
                name = dotted_name(stripped)
                binding = place.facts.reaching(name, place.order) if name is not None else None
                if binding is not None and binding.value is not None and not binding.augmented:
                    expr, place = binding.value, _Place(place.facts, binding.order)
                    continue  # the alias's own definition, as _compute_atom_key follows it
                return self._atom_key(stripped, place) + suffix
            forward = self.forward_application(stripped, place)
            if forward is not None:
                kind, argument, argument_place = forward
                return f"forward:{kind.value}({self._element_key(argument, argument_place)})" + suffix
            return f"code:{_structure(stripped)}" + suffix
        return f"node:{id(expr)}"

    # --------------------------------------------------------------- forwards
    def forward_application(
        self, expr: cst.BaseExpression, place: _Place, depth: int = 0
    ) -> Optional[tuple[ForwardKind, cst.BaseExpression, _Place]]:
        """When `expr` applies a nonlinearity, its kind and the argument it is applied to."""
        if depth > self.MAX_DEPTH:
            return None
        expr = self._strip(expr)
        if type(expr) is cst.Name or type(expr) is cst.Attribute:
            # `y /= y.sum(...)` after `y = np.exp(...)`: deref stops at an in-place update
            name = dotted_name(expr)
            binding = place.facts.reaching(name, place.order) if name is not None else None
            if binding is not None and binding.augmented:
                normalised = self._inplace_normalised(binding, place.facts)
                if normalised is not None:
                    return ForwardKind.SOFTMAX, normalised[0], normalised[1]
            return None
        if type(expr) is cst.Call:
            library = self._library_forward(expr, place)
            if library is not None:
                return library[0], library[1], place
            targets = self.resolve_call_targets(expr)
            kinds = set()
            argument = None
            for target in targets:
                applied = self._applied_forward(expr, target)
                if applied is None:
                    return None
                kinds.add(applied[0])
                bound = self.bind_arguments(expr, target)
                argument = bound.get(applied[1])
            if len(kinds) == 1 and argument is not None:
                return kinds.pop(), argument, place
            return None
        if type(expr) is cst.BinaryOperation:
            formula = self._forward_formula(expr, place)
            if formula is not None:
                return formula[0], formula[1], place
        return None

    def _applied_forward(self, call: cst.Call, target: CallTarget) -> Optional[tuple[ForwardKind, str]]:
        """The forward kind `call` applies through `target` and the parameter it is applied to: the
        target's forward, or the forward branch of a derivative switch the call leaves unset."""
        info = self.forward_of(target.function)
        if info is not None and info.input_param is not None:
            return info.kind, info.input_param
        if info is None:
            flag = self.derivative_flag(target.function)
            if flag is not None and self.flag_state(call, target, flag.param) is False:
                return flag.forward, flag.input_param
        return None

    # ------------------------------------------------------- derivative switches
    def derivative_flag(self, function: FunctionLike) -> Optional[DerivativeFlag]:
        """The derivative switch of `function` (`def sigmoid(x, derivative=False)`), decided from its
        branches: every return the flag leaves unset applies one forward to a parameter, and every
        return it sets holds a derivative formula of that forward in that parameter."""
        if type(function) is not cst.FunctionDef:
            return None
        flags = self._flags
        if function in flags:
            return flags[function]
        flags[function] = None  # recursion guard
        param = flag_parameter(function)
        found = self._compute_flag(function, param.name.value) if param is not None else None
        flags[function] = found
        return found

    def _compute_flag(self, function: cst.FunctionDef, flag: str) -> Optional[DerivativeFlag]:
        facts = self.facts(function)
        if flag not in facts.params:
            return None
        set_values: list[cst.BaseExpression] = []
        unset_values: list[cst.BaseExpression] = []
        for statement in self.index.nodes_in(function, cst.Return):
            value = statement.value
            if value is None:
                return None
            branch = self._flag_branch(statement, function, flag)
            if branch is None and type(value) is cst.IfExp:
                test = self._flag_test(value.test, flag)
                if test is None:
                    return None
                (set_values if test else unset_values).append(value.body)
                (unset_values if test else set_values).append(value.orelse)
                continue
            if branch is None:
                return None
            (set_values if branch else unset_values).append(value)
        if not set_values or not unset_values:
            return None
        kind: Optional[ForwardKind] = None
        input_param: Optional[str] = None
        for value in unset_values:
            place = _Place(facts, self.index.order.get(value, 0))
            computed, computed_place, _ = self.deref(value, place)
            application = self.forward_application(computed, computed_place)
            if application is None:
                return None
            param = self._param_of(application[1], application[2])
            if param is None or param == flag or (kind is not None and (application[0] is not kind or param != input_param)):
                return None
            kind, input_param = application[0], param
        assert kind is not None and input_param is not None
        infos: list[DerivativeInfo] = []
        for value in set_values:
            found = []
            for expr, place, in_matrix in self._compute_return_slice(facts, [value]):
                if type(expr) is not cst.BinaryOperation:
                    continue
                form = self._derivative_form(expr, place, in_matrix)
                info = self._derivative_from_form(function, facts, form, kind) if form is not None else None
                if info is not None and info.forward_kind is kind and info.input_param == input_param:
                    found.append(info)
            if not found:
                return None  # a set branch returning something else than the forward's derivative
            infos.extend(found)
        if len({info.convention for info in infos}) != 1:
            return None
        best = infos[0]
        derivative = DerivativeInfo(
            function, facts.qualname, kind, best.convention, any(i.returns_jacobian for i in infos), best.upstream_param,
            input_param, f"{best.evidence} when called with {flag}=True", best.node,
        )
        return DerivativeFlag(flag, kind, input_param, derivative)

    def _flag_branch(self, node: cst.CSTNode, function: cst.FunctionDef, flag: str) -> Optional[bool]:
        """True when `node` runs only with the flag set, False only with it unset, None when the flag
        does not decide (`if derivative:` ... `else:`, `if not deriv:`, a return after `if d: return ...`)."""
        polarity: Optional[bool] = None
        child: cst.CSTNode = node
        for ancestor in self.index.ancestors(node):
            if ancestor is function:
                break
            if type(ancestor) is cst.If and child is not ancestor.test:
                test = self._flag_test(ancestor.test, flag)
                if test is not None:
                    side = test if child is ancestor.body else not test
                    if polarity is not None and polarity is not side:
                        return None  # unreachable
                    polarity = side
            child = ancestor
        if polarity is not None:
            return polarity
        # after `if derivative: return ...` (no else), in the same block or an enclosing one
        current: Optional[cst.CSTNode] = self.index.statement_of(node)
        while current is not None and current is not function:
            parent = self.index.parent(current)
            if type(parent) is cst.IndentedBlock:
                earlier: list[cst.CSTNode] = []
                for statement in parent.body:
                    if statement is current:
                        break
                    earlier.append(statement)
                for statement in reversed(earlier):
                    if type(statement) is cst.If and statement.orelse is None and _terminates(statement.body):
                        test = self._flag_test(statement.test, flag)
                        if test is not None:
                            return not test
            current = parent
        return None

    def _flag_test(self, test: cst.BaseExpression, flag: str) -> Optional[bool]:
        """True when `test` holds exactly when the flag is set (`derivative`, `deriv == True`,
        `d is True`, `d == 1`), False when exactly when it is unset (`not deriv`, `deriv == False`);
        None for any other test."""
        if type(test) is cst.Name:
            return True if test.value == flag else None
        if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            inner = self._flag_test(test.expression, flag)
            return None if inner is None else not inner
        if type(test) is cst.Comparison and len(test.comparisons) == 1:
            comparison = test.comparisons[0]
            left, right = test.left, comparison.comparator
            if type(right) is cst.Name and right.value == flag:
                left, right = right, left
            if type(left) is not cst.Name or left.value != flag:
                return None
            if not ((type(right) is cst.Name and right.value in ("True", "False")) or _is_number(right, 0) or _is_number(right, 1)):
                return None
            truth = _literal_truth(right)
            operator = type(comparison.operator)
            if truth is None:
                return None
            if operator in (cst.Equal, cst.Is):
                return truth
            if operator in (cst.NotEqual, cst.IsNot):
                return not truth
        return None

    def flag_state(self, call: cst.Call, target: CallTarget, param: str) -> Optional[bool]:
        """Whether `call` sets the derivative switch `param` (True: a literal True or 1), leaves it
        unset (False: not passed, or False, 0, None), or passes what is not known statically (None)."""
        if any(arg.star for arg in call.args):
            return None
        if self.facts(target.function).self_name is not None and not target.bound_self:
            return None  # `Cls.method(obj, x, True)`: the positions are not the parameters'
        value = self.bind_arguments(call, target).get(param)
        return False if value is None else _literal_truth(value)

    def switch_parameter(self, function: FunctionLike) -> Optional[str]:
        """The name of a derivative switch parameter (`derivative=False`) the body reads, recognised
        as a `derivative_flag` or not (cached per function)."""
        if type(function) is not cst.FunctionDef:
            return None
        cache = self._switches
        if function not in cache:
            param = flag_parameter(function)
            cache[function] = param.name.value if param is not None and param.name.value in names_in(function.body) else None
        return cache[function]

    def _derivative_through(self, call: cst.Call, target: CallTarget, how: str) -> Optional[DerivativeInfo]:
        """The derivative `call` computes through `target`: a switch's derivative branch where the call
        sets it; nothing where a switch (understood or not) may be left unset or is set by a variable."""
        flag = self.derivative_flag(target.function)
        if flag is not None:
            if how or self.flag_state(call, target, flag.param) is not True:
                return None  # the forward, or a branch not known
            return flag.derivative
        info = self.derivative_of(target.function)
        if info is not None:
            switch = self.switch_parameter(target.function)
            if switch is not None and (how or self.flag_state(call, target, switch) is not True):
                return None  # a switch whose branches are not understood: perhaps the forward
        return info

    def nonlinearity_of(self, node: cst.CSTNode) -> Optional[tuple[frozenset[ForwardKind], cst.BaseExpression]]:
        """When `node` applies a nonlinearity (a call of a forward or an inline formula
        such as `1 / (1 + np.exp(-x))`), its candidate kinds and the argument."""
        if type(node) is cst.Call:
            return self.nonlinearity_applied(node)
        if type(node) is cst.BinaryOperation:
            formula = self._forward_formula(node, self._place(node))
            if formula is not None:
                return frozenset({formula[0]}), formula[1]
        return None

    def nonlinearity_applied(self, call: cst.Call) -> Optional[tuple[frozenset[ForwardKind], cst.BaseExpression]]:
        """For a call applying one or more candidate forwards (`self.activation(x)` set by subclasses), their kinds and argument."""
        place = self._place(call)
        library = self._library_forward(call, place)
        if library is not None:
            return frozenset({library[0]}), library[1]
        func = call.func
        facts = place.facts
        if (
            type(func) is cst.Attribute
            and type(func.value) is cst.Name
            and facts.self_name == func.value.value
            and facts.class_def is not None
            and self.find_method(facts.class_def, func.attr.value) is None
        ):
            args = _args(call)
            kinds_of_attr = self._attribute_forward_kinds(facts.class_def, func.attr.value)
            if kinds_of_attr is not None and len(args) == 1:
                return kinds_of_attr, args[0]
            return None
        targets = self.resolve_call_targets(call)
        if not targets:
            return None
        kinds = set()
        argument = None
        for target in targets:
            applied = self._applied_forward(call, target)
            if applied is None:
                return None
            kinds.add(applied[0])
            value = self.bind_arguments(call, target).get(applied[1])
            if value is None or (argument is not None and value is not argument):
                return None
            argument = value
        return (frozenset(kinds), argument) if argument is not None else None

    def _library_forward(self, call: cst.Call, place: _Place) -> Optional[tuple[ForwardKind, cst.BaseExpression]]:
        if _library_tail(call) not in _LIBRARY_FORWARD_TAILS:
            return self._framework_softmax(call)  # else None: every case below is a library call of one of these
        args = _args(call)
        if not args:
            return None
        if _library_call(call, "tanh"):
            return ForwardKind.TANH, args[0]
        if _library_call(call, "expit", "sigmoid"):
            return ForwardKind.SIGMOID, args[0]
        if _library_call(call, "softmax"):
            return ForwardKind.SOFTMAX, args[0]
        if _library_call(call, "log_softmax"):
            return ForwardKind.LOG_SOFTMAX, args[0]
        if _library_call(call, "logaddexp") and len(args) == 2 and _is_number(args[0], 0):
            return ForwardKind.SOFTPLUS, args[1]
        if _library_call(call, "maximum", "fmax") and len(args) == 2:
            for zero, other in ((args[0], args[1]), (args[1], args[0])):
                if _is_number(zero, 0):
                    return ForwardKind.RELU, other
            for scaled, other in ((args[0], args[1]), (args[1], args[0])):
                if _operator(scaled, cst.Multiply):
                    # `alpha * x` or `x * alpha` (not `x * x`)
                    factors = [_structure(scaled.left), _structure(scaled.right)]  # type: ignore[attr-defined]
                    if factors.count(_structure(other)) == 1:
                        return ForwardKind.LEAKY_RELU, other
        if _library_call(call, "where") and len(args) == 3:
            condition, yes, no = args
            if type(condition) is cst.Comparison and len(condition.comparisons) == 1:
                left = _structure(condition.left)
                if type(condition.comparisons[0].operator) in (cst.GreaterThan, cst.GreaterThanEqual) and _is_number(condition.comparisons[0].comparator, 0):
                    if _structure(yes) == left and _is_number(no, 0):
                        return ForwardKind.RELU, yes
                    if _structure(yes) == left and _operator(no, cst.Multiply) and left in (_structure(no.left), _structure(no.right)):  # type: ignore[attr-defined]
                        return ForwardKind.LEAKY_RELU, yes
        if _library_call(call, "log1p") and type(args[0]) is cst.Call and _library_call(args[0], "exp") and _args(args[0]):
            return ForwardKind.SOFTPLUS, _args(args[0])[0]
        if _library_call(call, "log") and _operator(args[0], cst.Add):
            add = args[0]
            for one, other in ((add.left, add.right), (add.right, add.left)):  # type: ignore[attr-defined]
                if _is_number(one, 1) and type(other) is cst.Call and _library_call(other, "exp") and _args(other):
                    return ForwardKind.SOFTPLUS, _args(other)[0]
        return None

    def _framework_softmax(self, call: cst.Call) -> Optional[tuple[ForwardKind, cst.BaseExpression]]:
        """A library softmax `_library_call` does not see: `tf.nn.softmax(x)`, `softmax(x, axis=-1)` imported
        from scipy.special / torch.nn.functional / jax.nn / tensorflow, and torch's tensor method
        `x.softmax(dim=-1)` (only integer or `dim`/`axis`/`dtype` arguments, on anything but `self`)."""
        func = call.func
        if type(func) is cst.Name:
            tail = func.value
        elif type(func) is cst.Attribute:
            tail = func.attr.value
        else:
            return None
        if tail != "softmax" and (type(func) is not cst.Name or tail not in self._imported_softmaxes):
            return None  # cheap gate
        name = call_name(call)
        args = _args(call)
        if name in _FRAMEWORK_SOFTMAXES or (type(func) is cst.Name and name in self._imported_softmaxes):
            return (ForwardKind.SOFTMAX, args[0]) if args else None
        if type(func) is cst.Attribute and type(func.value) in (cst.Name, cst.Attribute, cst.Call, cst.Subscript):
            receiver = dotted_name(func.value)
            head = receiver.split(".")[0] if receiver else None
            if head is not None and (head in ("self", "cls") or head in _LIBRARY_PREFIXES or receiver in _LIBRARY_PREFIXES or head in self.classes):
                return None
            keywords_ok = all(a.keyword is None or a.keyword.value in ("dim", "axis", "dtype") for a in call.args)
            if args and all(_is_integer(a) for a in args) and keywords_ok and not any(a.star for a in call.args):
                return ForwardKind.SOFTMAX, func.value
            if not args and keywords_ok and _kwarg(call, "dim") is not None:
                return ForwardKind.SOFTMAX, func.value
        return None

    @cached_property
    def _imported_softmaxes(self) -> frozenset[str]:
        """Local names bound to a library softmax by `from scipy.special import softmax` (also `as sm`),
        unless a module-level function of that name shadows it."""
        found = set()
        for node in self.index.nodes(cst.ImportFrom):
            module = dotted_name(node.module) if node.module is not None else None
            if module not in _SOFTMAX_MODULES or node.relative or type(node.names) is cst.ImportStar:
                continue
            for alias in node.names:
                if dotted_name(alias.name) == "softmax":
                    local = alias.asname.name if alias.asname is not None else alias.name
                    if type(local) is cst.Name and local.value not in self.module_functions:
                        found.add(local.value)
        return frozenset(found)

    def _exp_argument(self, expr: cst.BaseExpression, place: _Place) -> Optional[cst.BaseExpression]:
        """The argument of `np.exp(...)` when `expr` (through aliases) is one."""
        value, _, _ = self.deref(expr, place)
        if type(value) is cst.Call and _library_call(value, "exp") and _args(value):
            return _args(value)[0]
        return None

    def _masked_softmax(
        self, numerator: cst.BaseExpression, denominator: cst.BaseExpression, place: _Place
    ) -> Optional[cst.BaseExpression]:
        """The exponent of graph attention's masked softmax, `e = np.exp(z - max); e *= adj; e / np.sum(e, ...)`:
        exponentials multiplied in place by a mask, then normalised by their own sum (the same binding)."""
        value, value_place, _ = self.deref(numerator, place)
        name = dotted_name(value) if type(value) in (cst.Name, cst.Attribute) else None
        if name is None:
            return None
        masked = binding = value_place.facts.reaching(name, value_place.order)
        steps = 0
        while binding is not None and binding.augmented and steps < 3:
            statement = binding.statement
            if type(statement) is not cst.AugAssign or type(statement.operator) is not cst.MultiplyAssign:
                return None
            binding = value_place.facts.reaching(name, binding.order)
            steps += 1
        if steps == 0 or binding is None or binding.value is None or binding.augmented:
            return None
        summed = self._sum_of(self._without_epsilon(denominator, place), place)
        if summed is None or dotted_name(self._strip(summed)) != name or value_place.facts.reaching(name, place.order) is not masked:
            return None
        argument = self._exp_argument(binding.value, _Place(value_place.facts, binding.order))
        return _unshift(argument) if argument is not None else None

    def _sum_of(self, expr: cst.BaseExpression, place: _Place) -> Optional[cst.BaseExpression]:
        """The summed operand of `np.sum(e, ...)`, `e.sum(...)`, `sum(e)` (through aliases)."""
        value, _, _ = self.deref(expr, place)
        if type(value) is cst.Call:
            name = call_name(value)
            if name in ("sum",) or _library_call(value, *_SUMS):
                args = _args(value)
                return args[0] if args else None
            if type(value.func) is cst.Attribute and value.func.attr.value in _SUMS:
                return value.func.value
        return None

    def _without_epsilon(self, expr: cst.BaseExpression, place: _Place) -> cst.BaseExpression:
        """`np.sum(e)` for `np.sum(e) + 1e-9` (through one alias): a positive literal of at most 1e-3, or
        a name spelled as an epsilon (`eps`, `self.epsilon`), added to a normaliser; `expr` otherwise."""
        value, _, _ = self.deref(expr, place)
        if _operator(value, cst.Add):
            for small, other in ((value.right, value.left), (value.left, value.right)):  # type: ignore[attr-defined]
                number = _number(small)
                if number is not None and 0 < number <= 1e-3:
                    return other
                if number is None and _EPSILON_NAME.match(last_part(dotted_name(small)) or ""):
                    return other
        return expr

    def _tf_softmax_formula(
        self, numerator: cst.BaseExpression, denominator: cst.BaseExpression, place: _Place
    ) -> Optional[cst.BaseExpression]:
        """TensorFlow's `e = tf.exp(x - tf.reduce_max(x, ...)); e / tf.reduce_sum(e, ...)` (through aliases, an
        epsilon allowed): the softmax's argument. Only the softmax: tf calls are no `_library_call` (the
        pre-checks of other rules read those heads)."""
        value, _, _ = self.deref(numerator, place)
        if type(value) is not cst.Call or not _tf_call(value, "exp") or not _args(value):
            return None
        total, _, _ = self.deref(self._without_epsilon(denominator, place), place)
        if type(total) is not cst.Call or not _tf_call(total, "reduce_sum") or not _args(total):
            return None
        summed, _, _ = self.deref(_args(total)[0], place)
        if summed is value or (type(summed) is cst.Call and _tf_call(summed, "exp") and _structure(summed) == _structure(value)):
            return _unshift(_args(value)[0])
        return None

    def _inplace_normalised(
        self, binding: Binding, facts: FunctionFacts
    ) -> Optional[tuple[cst.BaseExpression, _Place, cst.Call]]:
        """`e = np.exp(x - x.max(axis=1, keepdims=True)); e /= e.sum(axis=1, keepdims=True)`: a softmax
        normalised in place (dezero, chainer). For the `/=` binding of `e`: the softmax's argument (`x`,
        unshifted), where it is read, and the exponential; None for any other in-place update."""
        statement = binding.statement
        if type(statement) is not cst.AugAssign or type(statement.operator) is not cst.DivideAssign:
            return None
        start = self.index.order.get(statement, 0)
        summed = self._sum_of(statement.value, _Place(facts, start))
        if summed is None or dotted_name(self._strip(summed)) != binding.name:
            return None  # e /= e.sum(...): the normaliser sums the very array it divides
        previous = facts.reaching(binding.name, start)
        if previous is None or previous.value is None or previous.augmented:
            return None
        if facts.stores_between(binding.name, previous.order, start):
            return None  # e[...] = ... between the exponential and its normalisation
        value, value_place, _ = self.deref(previous.value, _Place(facts, previous.order))
        if type(value) is not cst.Call or not _library_call(value, "exp") or not _args(value):
            return None
        return _unshift(_args(value)[0]), value_place, value

    def _forward_formula(self, expr: cst.BinaryOperation, place: _Place) -> Optional[tuple[ForwardKind, cst.BaseExpression]]:
        """Inline formulas: sigmoid 1/(1+exp(-x)), softmax e/sum(e), tanh by exponentials, relu x*(x>0)."""
        operator = expr.operator
        if type(operator) is cst.Divide:
            numerator, denominator = expr.left, expr.right
            # sigmoid: 1 / (1 + exp(-x))
            if _is_number(numerator, 1) and _operator(denominator, cst.Add):
                for one, other in ((denominator.left, denominator.right), (denominator.right, denominator.left)):  # type: ignore[attr-defined]
                    if _is_number(one, 1):
                        argument = self._exp_argument(other, place)
                        inner = _negated(argument) if argument is not None else None
                        if inner is not None:
                            return ForwardKind.SIGMOID, inner
            exp_numerator = self._exp_argument(numerator, place)
            if exp_numerator is not None:
                # sigmoid: exp(x) / (1 + exp(x))
                if _operator(denominator, cst.Add):
                    for one, other in ((denominator.left, denominator.right), (denominator.right, denominator.left)):  # type: ignore[attr-defined]
                        if _is_number(one, 1):
                            argument = self._exp_argument(other, place)
                            if argument is not None and _structure(argument) == _structure(exp_numerator):
                                return ForwardKind.SIGMOID, exp_numerator
                # softmax: e / sum(e), also e / (sum(e) + 1e-9): a small epsilon guarding the division
                summed = self._sum_of(self._without_epsilon(denominator, place), place)
                if summed is not None:
                    summed_value, _, _ = self.deref(summed, place)
                    numerator_value, _, _ = self.deref(numerator, place)
                    if summed_value is numerator_value or self._exp_argument(summed, place) is not None:
                        return ForwardKind.SOFTMAX, _unshift(exp_numerator)
            else:
                tf_softmax = self._tf_softmax_formula(numerator, denominator, place)
                if tf_softmax is not None:
                    return ForwardKind.SOFTMAX, tf_softmax
                masked = self._masked_softmax(numerator, denominator, place)
                if masked is not None:
                    return ForwardKind.SOFTMAX, masked
            # tanh: (exp(x) - exp(-x)) / (exp(x) + exp(-x))
            num, _, _ = self.deref(numerator, place)
            den, _, _ = self.deref(denominator, place)
            if _operator(num, cst.Subtract) and _operator(den, cst.Add):
                first = self._exp_argument(num.left, place)  # type: ignore[attr-defined]
                second = self._exp_argument(num.right, place)  # type: ignore[attr-defined]
                if first is not None and second is not None and _negated(second) is not None:
                    if _structure(_negated(second)) == _structure(first):  # type: ignore[arg-type]
                        return ForwardKind.TANH, first
        if type(operator) is cst.Multiply:
            for value, mask in ((expr.left, expr.right), (expr.right, expr.left)):
                if type(mask) is cst.Comparison and len(mask.comparisons) == 1:
                    comparison = mask.comparisons[0]
                    if (
                        type(comparison.operator) in (cst.GreaterThan, cst.GreaterThanEqual)
                        and _is_number(comparison.comparator, 0)
                        and _structure(mask.left) == _structure(value)
                    ):
                        return ForwardKind.RELU, value
        if type(operator) is cst.Subtract:
            right = expr.right
            if type(right) is cst.Call and last_part(call_name(right)) == "logsumexp":
                return ForwardKind.LOG_SOFTMAX, expr.left
            if type(right) is cst.Call and _library_call(right, "log") and _args(right):
                summed = self._sum_of(_args(right)[0], place)
                if summed is not None and self._exp_argument(summed, place) is not None:
                    return ForwardKind.LOG_SOFTMAX, _unshift(expr.left)
        return None

    def forward_of(self, function: FunctionLike) -> Optional[ForwardInfo]:
        """The nonlinearity `function` computes of one of its parameters, decided from its body."""
        if function in self._forward:
            return self._forward[function]
        self._forward[function] = None  # recursion guard
        info = self._compute_forward(function)
        self._forward[function] = info
        return info

    def _compute_forward(self, function: FunctionLike) -> Optional[ForwardInfo]:
        facts = self.facts(function)
        if not facts.returns:
            return self._storing_forward(facts)
        found: Optional[tuple[ForwardKind, str, cst.CSTNode]] = None
        for returned in facts.returns:
            place = _Place(facts, self.index.order.get(returned, 0))
            value, value_place, _ = self.deref(returned, place)
            application = self.forward_application(value, value_place)
            param = None
            kind = None
            if application is not None:
                kind, argument, argument_place = application
                param = self._param_of(argument, argument_place)
            elif type(value) is cst.Name and value.value in facts.params:
                # in-place relu: x[x < 0] = 0; return x
                for store in facts.element_stores.get(value.value, ()):
                    index = store.target.slice[0].slice if store.target.slice else None
                    if (
                        _is_number(store.value, 0)
                        and type(index) is cst.Index
                        and type(index.value) is cst.Comparison
                        and _structure(index.value.left) == value.value
                        and type(index.value.comparisons[0].operator) in (cst.LessThan, cst.LessThanEqual)
                        and _is_number(index.value.comparisons[0].comparator, 0)
                    ):
                        kind, param = ForwardKind.RELU, value.value
            if kind is None or param is None:
                return None
            if found is not None and found[0] is not kind:
                return None
            found = (kind, param, value)
        if found is None:
            return None
        class_def = facts.class_def
        return ForwardInfo(function, facts.qualname, found[0], class_def.name.value if class_def else None, found[1], found[2])

    def _storing_forward(self, facts: FunctionFacts) -> Optional[ForwardInfo]:
        """A forward method that stores its result (`self.output = 1 / (1 + np.exp(-inputs))`) instead of returning it."""
        if facts.self_name is None or type(facts.function) is not cst.FunctionDef:
            return None
        if facts.function.name.value not in FORWARD_METHODS:
            return None
        found: Optional[tuple[ForwardKind, str, cst.CSTNode]] = None
        prefix = facts.self_name + "."
        for name, bindings in facts.bindings.items():
            if not name.startswith(prefix):
                continue
            for binding in bindings:
                if binding.value is None or binding.augmented:
                    continue
                value, value_place, _ = self.deref(binding.value, _Place(facts, binding.order))
                application = self.forward_application(value, value_place)
                if application is None:
                    continue
                param = self._param_of(application[1], application[2])
                if param is None or (found is not None and found[0] is not application[0]):
                    return None
                found = (application[0], param, value)
        if found is None:
            return None
        class_def = facts.class_def
        return ForwardInfo(facts.function, facts.qualname, found[0], class_def.name.value if class_def else None, found[1], found[2])

    def _param_of(self, expr: cst.BaseExpression, place: _Place) -> Optional[str]:
        """The parameter `expr` is (through aliases, shifts and shape wrappers), if any."""
        for _ in range(self.MAX_DEPTH):
            value, value_place, _ = self.deref(_unshift(self._strip(expr)), place)
            value = _unshift(self._strip(value))
            if type(value) is cst.Name and value.value in value_place.facts.params:
                if value_place.facts.reaching(value.value, value_place.order) is None:
                    return value.value
            if value is expr:
                return None
            expr, place = value, value_place
        return None

    @cached_property
    def forwards(self) -> dict[str, ForwardInfo]:
        """Every forward of the module by qualname."""
        found = {}
        for function in self._all_functions():
            info = self.forward_of(function)
            if info is not None:
                found[info.qualname] = info
        return found

    def _all_functions(self) -> list[FunctionLike]:
        functions: list[FunctionLike] = list(self.index.nodes(cst.FunctionDef))
        functions.extend(f for f in self.module_functions.values() if type(f) is cst.Lambda)
        return functions

    # ------------------------------------------------------------ derivatives
    def derivative_forms(self, function: Optional[FunctionLike]) -> tuple[DerivativeForm, ...]:
        """Derivative formulas in the data that reaches the function's return values."""
        facts = self.facts(function)
        found: list[DerivativeForm] = []
        for expr, place, in_matrix in self._return_slice(facts):
            if type(expr) is cst.BinaryOperation:
                form = self._derivative_form(expr, place, in_matrix)
                if form is not None:
                    found.append(form)
        return tuple(found)

    def formulas_in(self, function: cst.FunctionDef) -> tuple[DerivativeForm, ...]:
        """Derivative formulas anywhere in a function's own body (stored in `self.dinputs`,
        returned, or assigned), not only those reaching a return."""
        facts = self.facts(function)
        if not self._may_hold_formula(facts):
            return ()
        found: list[DerivativeForm] = []
        for node in self.index.nodes_in(function, cst.BinaryOperation):
            if type(self.index.parent(node)) is cst.BinaryOperation:
                continue
            form = self._derivative_form(node, _Place(facts, self.index.order.get(node, 0)), False)
            if form is not None:
                found.append(form)
        return tuple(found)

    def walk(self, root: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """The indexed nodes of a subtree, not descending into nested functions or lambdas."""
        return self._walk(root)

    def _walk(self, root: cst.CSTNode) -> Iterator[cst.CSTNode]:
        """The indexed nodes of a subtree, not descending into nested functions or lambdas
        (a slice of the index's pre-order)."""
        return self.index.walk_subtree(root, _NESTED_SCOPES)

    def _return_slice(self, facts: FunctionFacts) -> list[tuple[cst.BaseExpression, _Place, bool]]:
        """Every sub-expression whose value reaches a return (following local bindings and element stores)."""
        cached = self._slices.get(facts.function)
        if cached is None:
            cached = self._compute_return_slice(facts)
            self._slices[facts.function] = cached
        return cached

    def _compute_return_slice(
        self, facts: FunctionFacts, roots: Optional[list[cst.BaseExpression]] = None
    ) -> list[tuple[cst.BaseExpression, _Place, bool]]:
        """The slice of the returned values (or of `roots`, some of them)."""
        order_of = self.index.order
        pending: list[tuple[cst.BaseExpression, _Place, bool]] = [
            (r, _Place(facts, order_of.get(r, 0)), False) for r in (facts.returns if roots is None else roots)
        ]
        found: list[tuple[cst.BaseExpression, _Place, bool]] = []
        seen: set[int] = set()
        budget = 2000
        bindings = facts.bindings
        element_stores = facts.element_stores
        is_expression = _IS_EXPRESSION_TYPE
        Name, Attribute, Lambda, FunctionDef = cst.Name, cst.Attribute, cst.Lambda, cst.FunctionDef
        index = self.index
        end_order = index.end_order
        while pending and budget > 0:
            root, place, in_matrix = pending.pop()
            # the nodes of `self._walk(root)`: a slice of the pre-order, skipping nested scopes' insides
            start = order_of.get(root)
            if start is None:
                nodes, position, end = [root], 0, 0
            else:
                nodes, position, end = index.preorder, start, end_order(root)
            first = position
            while position <= end:
                node = nodes[position]
                node_type = type(node)
                if position != first and (node_type is Lambda or node_type is FunctionDef):
                    position = end_order(node) + 1
                else:
                    position += 1
                budget -= 1
                node_id = id(node)
                if node_id in seen:
                    continue
                seen.add(node_id)
                expression = is_expression.get(node_type)
                if expression is None:
                    expression = is_expression[node_type] = isinstance(node, cst.BaseExpression)
                if expression:
                    found.append((node, place, in_matrix))
                if node_type is Name or node_type is Attribute:
                    name = dotted_name(node)
                    if name is None:
                        continue
                    order = order_of.get(node, place.order)
                    binding = facts.reaching(name, min(order, place.order) if order else place.order)
                    for candidate in bindings.get(name, ()):
                        if candidate.value is not None and (candidate is binding or (candidate.augmented and candidate.order < place.order)):
                            if id(candidate.value) not in seen:
                                pending.append((candidate.value, _Place(facts, candidate.order), in_matrix))
                    for store in element_stores.get(name, ()):
                        if id(store.value) not in seen and store.order < place.order:
                            two_d = _is_two_index(store.target)
                            pending.append((store.value, _Place(facts, store.order), two_d))
        return found

    def _derivative_form(self, expr: cst.BinaryOperation, place: _Place, in_matrix: bool) -> Optional[DerivativeForm]:
        operator = expr.operator
        if type(operator) not in (cst.Multiply, cst.Subtract, cst.Add):
            return None
        # softmax Jacobian: diag(s) - outer(s, s)
        if type(operator) is cst.Subtract:
            diagonal = self._diagonal_of(expr.left, place)
            outer = self._outer_of(expr.right, place)
            if diagonal is not None and outer is not None:
                key = self._element_key(diagonal, place)
                if key == self._element_key(outer[0], place) == self._element_key(outer[1], place):
                    return DerivativeForm("softmax-jacobian", expr, diagonal, in_matrix=True)
        # s * (I - s.T) or (I - s.T) * s: the Jacobian by broadcasting
        if type(operator) is cst.Multiply:
            for atom, other in ((expr.left, expr.right), (expr.right, expr.left)):
                if _operator(other, cst.Subtract) and self._is_identity(other.left, place):  # type: ignore[attr-defined]
                    if self._element_key(atom, place) == self._element_key(other.right, place):  # type: ignore[attr-defined]
                        return DerivativeForm("softmax-jacobian", expr, atom, in_matrix=True)
        parent = self.index.parent(expr)
        if type(parent) is cst.BinaryOperation and type(parent.operator) in (cst.Multiply, cst.Subtract, cst.Add):
            return None  # judge the largest arithmetic expression only
        atoms: dict[str, cst.BaseExpression] = {}

        def key(atom: cst.BaseExpression) -> str:
            # the same value in every place, elements included: `s - s**2` is the logistic shape,
            # `x[1:] - x[:-1]**2` (Rosenbrock) and `-y[8] + y[9]*y[0]` (an ODE right-hand side) are not
            found = self._element_key(atom, place)
            atoms.setdefault(found, atom)
            return found

        polynomial = algebra.expand(expr, key)
        if polynomial is None:
            return None
        for shape, forms in (("logistic", algebra.logistic_form(polynomial)), ("tanh", algebra.tanh_form(polynomial))):
            for form in forms:
                if form.coefficient <= 0:
                    continue  # `s**2 - s`, `x**2 - 1`: the negated shape is not the derivative (a potential, a residual)
                base = self._atom_key(atoms[form.atom], place)
                if base.startswith(("param:", "forward:", "name:self.", "binding:")) or "." in base:
                    return DerivativeForm(shape, expr, atoms[form.atom], in_matrix=in_matrix)
        return None

    def _diagonal_of(self, expr: cst.BaseExpression, place: _Place) -> Optional[cst.BaseExpression]:
        value, _, _ = self.deref(expr, place)
        if type(value) is cst.Call and _library_call(value, "diag", "diagflat") and _args(value):
            return _args(value)[0]
        if _operator(value, cst.Multiply):
            for identity, other in ((value.left, value.right), (value.right, value.left)):  # type: ignore[attr-defined]
                if self._is_identity(identity, place):
                    return other
        return None

    def _is_identity(self, expr: cst.BaseExpression, place: _Place) -> bool:
        value, _, _ = self.deref(expr, place)
        return type(value) is cst.Call and _library_call(value, "eye", "identity")

    def _outer_of(self, expr: cst.BaseExpression, place: _Place) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
        value, _, _ = self.deref(expr, place)
        if type(value) is cst.Call and (_library_call(value, "outer", "dot", "matmul", "einsum")):
            args = [a for a in _args(value) if type(a) is not cst.SimpleString]
            if len(args) == 2:
                return args[0], args[1]
        if type(value) is cst.BinaryOperation and type(value.operator) in (cst.MatrixMultiply, cst.Multiply):
            return value.left, value.right
        return None

    def derivative_of(self, function: FunctionLike) -> Optional[DerivativeInfo]:
        """The derivative `function` computes, its convention and input, decided from its body."""
        if function in self._derivative:
            return self._derivative[function]
        self._derivative[function] = None  # recursion guard
        info = self._compute_derivative(function)
        self._derivative[function] = info
        return info

    def _compute_derivative(self, function: FunctionLike) -> Optional[DerivativeInfo]:
        facts = self.facts(function)
        if not facts.returns:
            return self._inplace_derivative(facts)
        if self.forward_of(function) is not None or self._returns_a_forward_output(facts):
            return None
        class_kind = None
        if facts.class_def is not None:
            class_kind = self.class_info(facts.class_def).forward_kind
        candidates: list[DerivativeInfo] = []
        for form in self.derivative_forms(function) if self._may_hold_formula(facts) else ():
            info = self._derivative_from_form(function, facts, form, class_kind)
            if info is not None:
                candidates.append(info)
        if not candidates:
            wrapped = self._wrapper_derivative(function, facts)
            if wrapped is not None:
                candidates.append(wrapped)
        if not candidates:
            return None
        conventions = {(c.convention, c.input_param, c.input_attr) for c in candidates}
        if len(conventions) > 1:
            return None
        best = candidates[0]
        jacobian = any(c.returns_jacobian for c in candidates) or self._returns_jacobian(facts)
        kind = best.forward_kind
        if any(c.forward_kind is ForwardKind.SOFTMAX for c in candidates):
            kind = ForwardKind.SOFTMAX
        return DerivativeInfo(
            best.function, best.qualname, kind, best.convention, jacobian, best.upstream_param, best.input_param,
            best.evidence, best.node, best.input_attr, best.via,
        )

    def _inplace_derivative(self, facts: FunctionFacts) -> Optional[DerivativeInfo]:
        """scikit-learn's `def inplace_tanh_derivative(Z, delta): delta *= 1 - Z ** 2`: a function returning
        nothing whose one statement multiplies one parameter in place by a derivative formula in another."""
        function = facts.function
        if type(function) is not cst.FunctionDef or facts.self_name is not None or len(facts.params) != 2:
            return None
        body = function.body
        if type(body) is not cst.IndentedBlock:
            return None
        statements = [s for s in body.body if not _is_docstring(s)]
        if len(statements) != 1 or type(statements[0]) is not cst.SimpleStatementLine or len(statements[0].body) != 1:
            return None
        update = statements[0].body[0]
        if type(update) is not cst.AugAssign or type(update.operator) is not cst.MultiplyAssign:
            return None
        if type(update.target) is not cst.Name or update.target.value not in facts.params:
            return None
        upstream = update.target.value
        if type(update.value) is not cst.BinaryOperation:
            return None
        form = self._derivative_form(update.value, _Place(facts, self.index.order.get(update, 0)), False)
        if form is None or form.shape == "softmax-jacobian":
            return None
        key = self._atom_key(form.atom, _Place(facts, self.index.order.get(update, 0)))
        param = key.split(":", 1)[1] if key.startswith("param:") else None
        if param is None or param == upstream or param not in facts.params:
            return None
        kind = ForwardKind.SIGMOID if form.shape == "logistic" else ForwardKind.TANH
        formula = self.code(form.node)
        return DerivativeInfo(
            function, facts.qualname, kind, Convention.ACTIVATION, False, upstream, param,
            f"it multiplies {upstream} in place by {formula} of its argument", form.node,
        )

    def _mutated_by_call(self, name: str, start: int, end: int, facts: FunctionFacts) -> bool:
        """`name` is handed, between index orders `start` and `end`, to a module function that writes into
        that parameter (`inplace_tanh(z)` with `np.tanh(X, out=X)`): its value may have changed meaning."""
        found = self._inplace_calls.get(facts.function)
        if found is None:
            found = self._inplace_calls[facts.function] = self._compute_inplace_calls(facts)
        return any(start < order < end for order in found.get(name, ()))

    def _compute_inplace_calls(self, facts: FunctionFacts) -> dict[str, list[int]]:
        """For each local name, the orders of the calls handing it to a module function that writes into it."""
        found: dict[str, list[int]] = {}
        functions = self.module_functions
        if not functions:
            return found
        scope = facts.function if type(facts.function) is cst.FunctionDef else None
        for call in self.index.nodes_in(scope, cst.Call):
            func = call.func
            if type(func) is not cst.Name:
                continue
            target = functions.get(func.value)
            if type(target) is not cst.FunctionDef:
                continue
            written = self._written_params(target)
            if not written:
                continue
            bound = self.bind_arguments(call, CallTarget(target, ""))
            for param, argument in bound.items():
                if param in written and type(argument) is cst.Name:
                    found.setdefault(argument.value, []).append(self.index.order.get(call, 0))
        return found

    def _written_params(self, function: cst.FunctionDef) -> frozenset[str]:
        """Parameters a function writes into: `X += ...`, `X[...] = ...`, `np.tanh(X, out=X)` (cached)."""
        cached = self._written.get(function)
        if cached is None:
            facts = self.facts(function)
            params = set(facts.params)
            written = {name for name in facts.element_stores if name in params}
            for name in params:
                if any(b.augmented for b in facts.bindings.get(name, ())):
                    written.add(name)
            for call in self.index.nodes_in(function, cst.Call):
                out = _kwarg(call, "out")
                if type(out) is cst.Name and out.value in params:
                    written.add(out.value)
            cached = self._written[function] = frozenset(written)
        return cached

    def _returns_a_forward_output(self, facts: FunctionFacts) -> bool:
        """`return p, p * (1 - p)`: a forward that also returns statistics of its output is not a derivative."""
        for returned in facts.returns:
            if type(returned) in (cst.Tuple, cst.List):
                for element in returned.elements:
                    place = _Place(facts, self.index.order.get(element.value, 0))
                    value, value_place, _ = self.deref(element.value, place)
                    if self.forward_application(value, value_place) is not None:
                        return True
        return False

    def _may_hold_formula(self, facts: FunctionFacts) -> bool:
        """Cheap gate: a derivative formula is an arithmetic expression with a subtraction (or a
        unary minus) in which some value appears twice or is squared (`s*(1-s)`, `1-s**2`,
        `diag(s) - outer(s, s)`, `sigmoid(z)*(1-sigmoid(z))`)."""
        cached = self._formula_gate.get(facts.function)
        if cached is not None:
            return cached
        function = facts.function
        scope = function if type(function) is cst.FunctionDef else None
        if type(function) is cst.Lambda:
            roots: list[cst.CSTNode] = [function.body]
        else:
            # only the arithmetic expressions that hold a subtraction or a unary minus
            parents = self.index.parents
            found: dict[int, cst.CSTNode] = {}
            minus_nodes = [b for b in self.index.nodes_in(scope, cst.BinaryOperation) if type(b.operator) is cst.Subtract]
            minus_nodes += [u for u in self.index.nodes_in(scope, cst.UnaryOperation) if type(u.operator) is cst.Minus]
            minus_nodes += [c for c in self.index.nodes_in(scope, cst.Call) if _callee_tail(c) == "subtract"]
            for node in minus_nodes:
                root: cst.CSTNode = node
                while True:
                    parent = parents.get(root)
                    if type(parent) in (cst.BinaryOperation, cst.UnaryOperation):
                        root = parent
                    elif type(parent) is cst.Arg and type(parents.get(parent)) is cst.Call:
                        root = parents[parent]  # np.multiply(s, 1 - s), np.diag(s) - ...
                    else:
                        break
                found[id(root)] = root
            roots = list(found.values())
        result = any(self._formula_shaped(root) for root in roots)
        self._formula_gate[facts.function] = result
        return result

    def _formula_shaped(self, root: cst.CSTNode) -> bool:
        minus = squared = False
        seen: set[str] = set()
        repeated = False
        index = self.index
        parents = index.parents
        BinaryOperation, UnaryOperation, Name, Attribute, Call = (
            cst.BinaryOperation, cst.UnaryOperation, cst.Name, cst.Attribute, cst.Call
        )
        # the nodes of `self._walk(root)`: a slice of the pre-order, skipping nested scopes' insides
        start = index.order.get(root)
        if start is None:
            nodes, position, end = [root], 0, 0
        else:
            nodes, position, end = index.preorder, start, index.end_order(root)
        first = position
        while position <= end:
            node = nodes[position]
            node_type = type(node)
            if position != first and (node_type is cst.Lambda or node_type is cst.FunctionDef):
                position = index.end_order(node) + 1
            else:
                position += 1
            if node_type is BinaryOperation:
                operator_type = type(node.operator)  # type: ignore[attr-defined]
                if operator_type is cst.Subtract:
                    minus = True
                elif operator_type is cst.Power:
                    squared = True
            elif node_type is UnaryOperation:
                if type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
                    minus = True
            elif node_type is Name or node_type is Attribute:
                parent = parents.get(node)
                parent_type = type(parent)
                if parent_type is Attribute or (parent_type is Call and parent.func is node):  # type: ignore[union-attr]
                    if parent_type is Call:
                        tail = last_part(dotted_name(node))
                        if tail in ("square", "power", "subtract"):
                            squared = squared or tail != "subtract"
                            minus = minus or tail == "subtract"
                    continue
                key = dotted_name(node)
                if key is not None:
                    repeated = repeated or key in seen
                    seen.add(key)
        return minus and (squared or repeated)

    @cached_property
    def _wrapper_callee_names(self) -> frozenset[str]:
        """Names a derivative wrapper may call: functions that may hold a formula, and apply_along_axis."""
        names = {"apply_along_axis", "vectorize"}
        for function in self._all_functions():
            if self._may_hold_formula(self.facts(function)):
                names.add(last_part(self.qualname(function)) or "")
        return frozenset(names)

    def _derivative_from_form(
        self, function: FunctionLike, facts: FunctionFacts, form: DerivativeForm, class_kind: Optional[ForwardKind]
    ) -> Optional[DerivativeInfo]:
        place = _Place(facts, self.index.order.get(form.node, 0))
        key = self._atom_key(form.atom, place)
        shape_kind = {"logistic": ForwardKind.SIGMOID, "tanh": ForwardKind.TANH, "softmax-jacobian": ForwardKind.SOFTMAX}[form.shape]
        if form.shape == "logistic" and form.in_matrix:
            shape_kind = ForwardKind.SOFTMAX
        formula = self.code(form.node)
        if key.startswith("param:"):
            param = key.split(":", 1)[1]
            kind = class_kind if class_kind is not None and class_kind.convention_matters else shape_kind
            return DerivativeInfo(
                function, facts.qualname, kind, Convention.ACTIVATION, form.shape == "softmax-jacobian",
                self._upstream_param(facts, form, param), param, f"it computes {formula} from its argument", form.node,
            )
        if key.startswith("forward:") and "(param:" in key:
            kind_name = key.split(":", 1)[1].split("(", 1)[0]
            param = key.rsplit("(param:", 1)[1].rstrip(")")
            kind = ForwardKind(kind_name)
            return DerivativeInfo(
                function, facts.qualname, kind, Convention.LOGIT, form.shape == "softmax-jacobian",
                self._upstream_param(facts, form, param), param,
                f"it applies the {kind.label} to its argument and computes {formula}", form.node,
            )
        if facts.self_name and key.startswith(f"name:{facts.self_name}."):
            # a backward computing the formula from an attribute its forward cached (`self.out`)
            attr = key.split(":", 1)[1]
            kind = class_kind if class_kind is not None and class_kind.convention_matters else shape_kind
            return DerivativeInfo(
                function, facts.qualname, kind, Convention.ACTIVATION, form.shape == "softmax-jacobian",
                self._upstream_param(facts, form, None), None, f"it computes {formula} from {attr}", form.node,
                input_attr=attr,
            )
        return None

    def _upstream_param(self, facts: FunctionFacts, form: DerivativeForm, input_param: Optional[str]) -> Optional[str]:
        """A parameter other than the input that multiplies the derivative in the returned value."""
        for name in facts.params:
            if name == input_param or name in facts.defaults:
                continue
            for expr, _, _ in self._return_slice(facts):
                if type(expr) is cst.Name and expr.value == name:
                    parent = self.index.parent(expr)
                    if type(parent) is cst.BinaryOperation and type(parent.operator) in (cst.Multiply, cst.MatrixMultiply):
                        return name
                    if type(parent) is cst.Arg and type(self.index.parent(parent)) is cst.Call:
                        if last_part(call_name(self.index.parent(parent))) in ("dot", "multiply", "matmul", "einsum"):  # type: ignore[arg-type]
                            return name
        return None

    def _wrapper_derivative(self, function: FunctionLike, facts: FunctionFacts) -> Optional[DerivativeInfo]:
        """`def df2(d): return np.apply_along_axis(softmax_prime, 1, d)`: a derivative by delegation."""
        names = self._wrapper_callee_names
        scope = function if type(function) is cst.FunctionDef else None
        calls = self.index.nodes_in(scope, cst.Call) if scope is not None else [
            n for n in self._walk(function) if type(n) is cst.Call
        ]
        if not any(_callee_tail(c) in names for c in calls):
            return None
        for expr, place, _ in self._return_slice(facts):
            if type(expr) is not cst.Call:
                continue
            if _callee_tail(expr) not in names:
                continue
            for target, bound, how in self.effective_calls(expr):
                if target.function is function:
                    continue
                # a derivative switch hands on its derivative only where the call sets it
                inner = self._derivative_through(expr, target, how)
                if inner is None or inner.input_param is None:
                    continue
                argument = bound.get(inner.input_param)
                if argument is None:
                    continue
                param = self._param_of(argument, place)
                if param is None:
                    continue
                where = f" {how}" if how else ""
                short = last_part(inner.qualname)
                evidence = f"it applies {short} to its argument{where}, and {short} {inner.evidence.removeprefix('it ')}"
                upstream = None
                parent = self.index.parent(expr)
                for name in facts.params:
                    if name != param and name not in facts.defaults and type(parent) is cst.BinaryOperation and name in (dotted_name(parent.left), dotted_name(parent.right)):
                        upstream = name
                return DerivativeInfo(
                    function, facts.qualname, inner.forward_kind, inner.convention, inner.returns_jacobian, upstream,
                    param, evidence, expr, via=target.function,
                )
        return None

    def _returns_jacobian(self, facts: FunctionFacts) -> bool:
        for returned in facts.returns:
            role = self._role(returned, _Place(facts, self.index.order.get(returned, 0)), 0)
            if role is not None and role.role is Role.JACOBIAN:
                return True
        return False

    @cached_property
    def derivatives(self) -> dict[str, DerivativeInfo]:
        """Every derivative of the module by qualname."""
        found = {}
        for function in self._all_functions():
            info = self.derivative_of(function)
            if info is not None:
                found[info.qualname] = info
        return found

    @cached_property
    def derivative_calls(self) -> tuple[DerivativeCall, ...]:
        """Every call that reaches a derivative with an input parameter, with the argument bound to it."""
        derivatives = [d for d in self.derivatives.values() if d.input_param is not None]
        derivatives += [f.derivative for f in self._flagged_functions]
        if not derivatives:
            return ()
        names = {last_part(d.qualname) for d in derivatives}
        names.update(("apply_along_axis", "vectorize"))
        calls = []
        for call in self.index.nodes(cst.Call):
            func = call.func
            if type(func) is cst.Call and _library_call(func, "vectorize"):
                func = func.func
            tail = func.value if type(func) is cst.Name else func.attr.value if type(func) is cst.Attribute else None
            if tail is None:
                continue
            is_attr_callable = type(func) is cst.Attribute and tail in self._callable_attributes
            if tail not in names and not is_attr_callable and not (
                type(func) is cst.Name and self._has_local_alias(call, tail)
            ):
                continue
            for target, bound, how in self.effective_calls(call):
                # a derivative switch: the derivative only where the call sets it (`sigmoid(o, derivative=True)`)
                info = self._derivative_through(call, target, how)
                if info is None or info.input_param is None:
                    continue
                # a call inside the derivative's own wrapper is its definition, not a use
                calls.append(DerivativeCall(call, target, info, bound.get(info.input_param), how))
        return tuple(calls)

    @cached_property
    def _flagged_functions(self) -> list[DerivativeFlag]:
        """The derivative switches of the module's functions."""
        found = []
        for function in self.index.nodes(cst.FunctionDef):
            if flag_parameter(function) is not None:
                flag = self.derivative_flag(function)
                if flag is not None:
                    found.append(flag)
        return found

    @cached_property
    def _callable_attributes(self) -> frozenset[str]:
        """Attributes that methods set to a parameter, a function or a lambda (`self.activation_prime = f`)."""
        found = set()
        for class_def in self.classes.values():
            for method in self.index.methods(class_def).values():
                facts = self.facts(method)
                if not facts.self_name:
                    continue
                prefix = facts.self_name + "."
                for name, bindings in facts.bindings.items():
                    if name.startswith(prefix) and name.count(".") == 1:
                        if any(type(b.value) in (cst.Name, cst.Lambda, cst.Attribute) for b in bindings):
                            found.add(name[len(prefix):])
        return frozenset(found)

    def _has_local_alias(self, call: cst.Call, name: str) -> bool:
        place = self._place(call)
        binding = place.facts.reaching(name, place.order)
        return binding is not None and binding.value is not None

    # ------------------------------------------------------------------ roles
    def role_of(self, expression: cst.BaseExpression, at: Optional[cst.CSTNode] = None) -> Optional[RoleEvidence]:
        """The role of `expression`'s value at `at` (default: where it stands), with the evidence."""
        node = at if at is not None else expression
        return self._role(expression, self._place(node), 0)

    def _role(self, expr: cst.BaseExpression, place: _Place, depth: int) -> Optional[RoleEvidence]:
        if depth > self.MAX_DEPTH:
            return None
        key = (id(expr), place.order)
        roles = self._roles
        if key in roles:
            return roles[key]
        # the same key marks the question as in progress (the recursion guard): the set holds
        # nothing else, and no string need be formatted per question
        in_progress = self._in_progress
        if key in in_progress:
            return None
        in_progress.add(key)
        try:
            result = self._compute_role(expr, place, depth)
        finally:
            in_progress.discard(key)
        if depth <= 1 or result is not None:
            self._roles[key] = result
        return result

    def _compute_role(self, expr: cst.BaseExpression, place: _Place, depth: int) -> Optional[RoleEvidence]:
        facts = place.facts
        stripped = self._strip(expr)
        if type(stripped) in (cst.Name, cst.Attribute):
            name = dotted_name(stripped)
            if name is None:
                return self._framework_output_role(stripped, place, depth)  # self.outputs[0]().data
            binding = facts.reaching(name, place.order)
            if binding is not None:
                if binding.value is None and type(binding.statement) is cst.For:
                    return self._loop_element_role(name, binding.statement, facts, depth)
                if binding.augmented and binding.value is not None:
                    return self._inplace_normalised_role(binding, facts)
                if binding.value is None:
                    return self._unpacked_saved_role(binding, facts, depth)  # `y, = ctx.saved_tensors`
                stores = facts.stores_between(name, binding.order, place.order)
                if stores:
                    return self._role_after_stores(name, binding, stores, facts, depth)
                if self._mutated_by_call(name, binding.order, place.order, facts):
                    return None  # inplace_tanh(z): no longer what the assignment computed
                inner = self._role(binding.value, _Place(facts, binding.order), depth + 1)
                if inner is None:
                    inner = self._role_as_forward_input(name, binding, facts, place)
                if inner is None:
                    return None
                return RoleEvidence(
                    inner.role, binding.statement,
                    lambda: f"{self.code(binding.statement)} on {self.describe_line(binding.statement)}, {inner.why}",
                    inner.forward_kind, lambda: inner.why,
                )
            if facts.function is not None and name in facts.params:
                return self._param_role(name, facts, place)
            if facts.self_name and name.startswith(facts.self_name + ".") and facts.class_def is not None:
                return self._attribute_role(facts.class_def, name.split(".", 1)[1], depth)
            if type(stripped) is cst.Name and facts.function is not None:
                return self._closure_role(name, facts, depth)
            return None
        if type(stripped) is cst.Subscript or type(stripped) is cst.Call:
            kept = self._framework_output_role(stripped, place, depth)
            if kept is not None:
                return kept
        if type(stripped) is cst.Subscript:
            saved = self._indexed_saved_role(stripped, place, depth)  # ctx.saved_tensors[0]
            if saved is not None:
                return saved
            listed = self._list_role(stripped, place, depth)
            if listed is not None:
                return listed
            entry = self._dict_entry_role(stripped, place, depth)  # self.cache['attn']
            if entry is not None:
                return entry
            return self._slice_role(stripped, place, depth)
        if type(stripped) is cst.Call:
            return self._call_role(stripped, place, depth)
        if type(stripped) is cst.BinaryOperation:
            return self._binary_role(stripped, place, depth)
        if type(stripped) is cst.UnaryOperation and type(stripped.operator) is cst.Minus:
            inner = stripped.expression
            if _operator(inner, cst.Divide):
                return self._loss_gradient_role(stripped, inner.left, inner.right, place, depth)  # type: ignore[attr-defined]
        return None

    def _closure_role(self, name: str, facts: FunctionFacts, depth: int) -> Optional[RoleEvidence]:
        """A free name of a nested function (`def grad(dy): return dy * y * (1 - y)` inside a
        `@tf.custom_gradient` function): the role of the enclosing function's value, when it assigns the
        name exactly once and never updates it in place (a closure reads the last binding)."""
        enclosing = next((a for a in self.index.ancestors(facts.function) if type(a) is cst.FunctionDef), None)
        if enclosing is None:
            return None
        outer = self.facts(enclosing)
        bindings = outer.bindings.get(name, [])
        if len(bindings) != 1 or name in outer.params or name in outer.element_stores:
            return None
        binding = bindings[0]
        if binding.value is None or binding.augmented or type(binding.statement) is not cst.Assign:
            return None
        if self.index.order.get(facts.function, 0) < binding.order:  # type: ignore[arg-type]
            return None  # assigned after the nested function is defined: keep it simple, stay unsure
        inner = self._role(binding.value, _Place(outer, binding.order), depth + 1)
        if inner is None:
            return None
        statement = binding.statement
        return RoleEvidence(
            inner.role, statement,
            lambda: f"{self.code(statement)} in the enclosing {outer.qualname} on {self.describe_line(statement)}, {inner.why}",
            inner.forward_kind, lambda: inner.why,
        )

    def _unpacked_saved_role(self, binding: Binding, facts: FunctionFacts, depth: int) -> Optional[RoleEvidence]:
        """`y, = ctx.saved_tensors` / `x, y = ctx.saved_tensors` in a torch Function's backward: the role of
        the value the forward saved at that position."""
        statement = binding.statement
        if type(statement) is not cst.Assign or len(statement.targets) != 1:
            return None
        target = statement.targets[0].target
        if type(target) not in (cst.Tuple, cst.List):
            return None
        elements = target.elements  # type: ignore[attr-defined]
        if any(type(e) is cst.StarredElement for e in elements):
            return None
        position = next((i for i, e in enumerate(elements) if e.value is binding.target), None)
        if position is None:
            return None
        value = statement.value
        function = facts.function
        if (
            type(value) is cst.Name and function is not None and id(function) in self._vjp_rules
            and self._residual_parameter(function, facts) == value.value
            and facts.reaching(value.value, self.index.order.get(statement, 0)) is None
        ):
            return self._residual_role(function, position, len(elements), depth)  # jax: `x, y = res`
        return self._saved_role(value, position, len(elements), facts, depth)

    def _indexed_saved_role(self, subscript: cst.Subscript, place: _Place, depth: int) -> Optional[RoleEvidence]:
        if len(subscript.slice) != 1 or type(subscript.slice[0].slice) is not cst.Index:
            return None
        index = subscript.slice[0].slice.value  # type: ignore[attr-defined]
        if type(index) is not cst.Integer:
            return None
        return self._saved_role(subscript.value, int(index.value, 0), None, place.facts, depth)

    def _saved_role(
        self, saved: cst.BaseExpression, position: int, count: Optional[int], facts: FunctionFacts, depth: int
    ) -> Optional[RoleEvidence]:
        """Position `position` of `ctx.saved_tensors` (`saved`) in the backward of a torch
        `autograd.Function`: the argument its forward passed there to its one `ctx.save_for_backward(...)`
        (the same number of values when `count` is known), judged where that call stands."""
        if type(saved) is not cst.Attribute or saved.attr.value not in ("saved_tensors", "saved_variables"):
            return None
        function = facts.function
        if type(function) is not cst.FunctionDef or facts.class_def is None or type(saved.value) is not cst.Name:
            return None
        first = function.params.params[0].name.value if function.params.params else None
        if saved.value.value != first:
            return None  # not the backward's own context
        forward = self.class_info(facts.class_def).forward
        if forward is None or not forward.params.params:
            return None
        forward_facts = self.facts(forward)
        context = forward.params.params[0].name.value
        calls = [
            c for c in self.index.nodes_in(forward, cst.Call)
            if type(c.func) is cst.Attribute and c.func.attr.value == "save_for_backward"
            and type(c.func.value) is cst.Name and c.func.value.value == context
        ]
        if len(calls) != 1 or any(a.star or a.keyword is not None for a in calls[0].args):
            return None
        args = _args(calls[0])
        if position >= len(args) or (count is not None and count != len(args)):
            return None
        role = self._role(args[position], _Place(forward_facts, self.index.order.get(calls[0], 0)), depth + 1)
        if role is None:
            return None
        call = calls[0]
        return RoleEvidence(
            role.role, call,
            lambda: f"saved by {self.code(call)} on {self.describe_line(call)}, {role.why}",
            role.forward_kind, lambda: f"{role.why}, saved by {self.code(call)} in {forward.name.value}",
        )

    def _slice_role(self, subscript: cst.Subscript, place: _Place, depth: int) -> Optional[RoleEvidence]:
        """A whole row or column of an activation or pre-activation keeps its role: `z[:, 0]`, `a[0]`,
        `s[:, None]`. Only full slices, `None`/`np.newaxis` and at most one integer literal: a partial
        slice (`x[:, 1:]`), a name or fancy index (`p[range(n), y]`, `s[i]`) picks something else. A
        softmax's row or column is a whole distribution only when the code says so (`_keeps_distribution`)."""
        picked: Optional[int] = None  # the axis an integer index picks
        axis = 0
        for element in subscript.slice:
            inner = element.slice
            if type(inner) is cst.Slice:
                if inner.lower is not None or inner.upper is not None or inner.step is not None:
                    return None
                axis += 1
            elif type(inner) is cst.Index and is_new_axis(inner.value):
                continue
            elif type(inner) is cst.Index and _is_integer(inner.value) and picked is None:
                picked = axis
                axis += 1
            else:
                return None
        base = subscript.value
        inner_role = self._role(base, place, depth + 1)
        if inner_role is None or inner_role.role not in (Role.ACTIVATION, Role.PREACTIVATION):
            return None
        kind = inner_role.forward_kind
        if picked is not None and inner_role.role is Role.ACTIVATION and kind is not ForwardKind.SOFTMAX:
            if kind is None or not kind.is_elementwise:
                return None
        what = "" if picked is None else ("a row of " if picked == 0 else "a column of " if picked == 1 else "a slice of ")
        evidence = ""
        if picked is not None and kind is ForwardKind.SOFTMAX and inner_role.role is Role.ACTIVATION:
            kept = self._keeps_distribution(base, place, picked)
            if kept is None:
                return None
            evidence = f", {kept}"
        return RoleEvidence(
            inner_role.role, subscript,
            lambda: f"{self.code(subscript)}, {what}{inner_role.explanation}{evidence}",
            kind,
            lambda: f"{what}{inner_role.why}{evidence}",
        )

    def _keeps_distribution(self, base: cst.BaseExpression, place: _Place, picked: int) -> Optional[str]:
        """Why row (`picked` 0) or column (1) number k of the softmax output `base` is one whole
        distribution, or None: `base` is a column (`reshape(-1, 1)`) and a column is picked, or a row
        (`reshape(1, -1)`) and a row is picked; the softmax was applied to such a value; or it is
        normalised along the other axis (`axis=0` for a column: classes x batch; `axis=1` for a row)."""
        from gradlint.analysis.jacobians import Layout, layout

        wanted = Layout.COLUMN if picked == 1 else Layout.ROW if picked == 0 else None
        if wanted is None:
            return None
        shape = "a column vector" if picked == 1 else "a row vector"
        if layout(self.analysis, base) is wanted:
            return f"{self.code(base)} is {shape}"
        value, value_place, _ = self.deref(base, place)
        if type(value) is cst.Call or type(value) is cst.BinaryOperation or type(value) is cst.Name:
            application = self.forward_application(value, value_place)
            if application is None or application[0] is not ForwardKind.SOFTMAX:
                return None
            argument = application[1]
            if layout(self.analysis, argument) is wanted:
                return f"the softmax of {shape}"
            axis = self._normalisation_axis(value, value_place)
            if axis is not None and axis == (0 if picked == 1 else 1):
                return f"the softmax is normalised along axis {axis}"
        return None

    def _normalisation_axis(self, value: cst.BaseExpression, place: _Place) -> Optional[int]:
        """The literal `axis` of the sum a softmax value is normalised by (its formula inline, in the
        forward it calls, or an in-place `e /= e.sum(axis=...)`); None when unknown or absent."""
        formula: Optional[cst.BaseExpression] = None
        formula_place = place
        value = self._strip(value)
        if type(value) is cst.BinaryOperation:
            formula = value
        elif type(value) is cst.Call:
            targets = self.resolve_call_targets(value)
            if len(targets) != 1:
                return None
            info = self.forward_of(targets[0].function)
            if info is None or info.kind is not ForwardKind.SOFTMAX or info.node is None:
                return None
            formula = info.node  # type: ignore[assignment]
            formula_place = _Place(self.facts(targets[0].function), self.index.order.get(info.node, 0))
        elif type(value) is cst.Name or type(value) is cst.Attribute:
            formula = value
        if formula is None:
            return None
        denominator: Optional[cst.BaseExpression] = None
        if type(formula) is cst.BinaryOperation and type(formula.operator) is cst.Divide:
            denominator = formula.right
        elif type(formula) is cst.Name or type(formula) is cst.Attribute:
            name = dotted_name(formula)
            binding = formula_place.facts.reaching(name, formula_place.order) if name else None
            if binding is None or self._inplace_normalised(binding, formula_place.facts) is None:
                return None
            denominator = binding.statement.value  # type: ignore[attr-defined]
        if denominator is None:
            return None
        summed, _, _ = self.deref(denominator, formula_place)
        if type(summed) is not cst.Call:
            return None
        axis = _kwarg(summed, "axis")
        if axis is None:
            positional = _args(summed)
            is_method = type(summed.func) is cst.Attribute and dotted_name(summed.func.value) not in _LIBRARY_PREFIXES
            axis = positional[0] if is_method and positional else positional[1] if len(positional) > 1 else None
        number = _number(axis) if axis is not None else None
        return int(number) if number is not None and number == int(number) else None

    def _framework_output_role(self, expr: cst.BaseExpression, place: _Place, depth: int) -> Optional[RoleEvidence]:
        """`self.outputs[0]()` (dezero: a weak reference), `self.outputs[0]`, `self.output_data[0]` (chainer),
        maybe followed by `.data` / `.array`, in a method of a `Function`-style class: the output of the
        class's `forward`, which the framework's `__call__` keeps. Only when the class's `forward` returns
        one nonlinearity of its input, and nothing in the class (or its module ancestors and subclasses)
        stores that attribute except a `__call__` (the framework's, defined in the module or imported)."""
        facts = place.facts
        class_def = facts.class_def
        if class_def is None or facts.self_name is None:
            return None
        node = expr
        if type(node) is cst.Attribute and node.attr.value in ("data", "array"):
            node = node.value
        if type(node) is cst.Call and not node.args:
            node = node.func  # dereferencing the weak reference
        if type(node) is not cst.Subscript or len(node.slice) != 1:
            return None
        index = node.slice[0].slice
        if type(index) is not cst.Index or not _is_number(index.value, 0):
            return None
        base = node.value
        if (
            type(base) is not cst.Attribute
            or base.attr.value not in _FRAMEWORK_OUTPUTS
            or type(base.value) is not cst.Name
            or base.value.value != facts.self_name
        ):
            return None
        if facts.reaching(f"{facts.self_name}.{base.attr.value}", place.order) is not None:
            return None  # stored by this very method
        forward = self.find_method(class_def, "forward")
        if forward is None or forward is facts.function:
            return None
        info = self.forward_of(forward)
        if info is None or not self.facts(forward).returns:
            return None
        if not any(dotted_name(b.value) for b in self.base_classes(class_def)[0].bases):
            return None  # no base class: nothing would set the attribute
        for owner in self.base_classes(class_def) + self.subclasses(class_def):
            for method in self.index.methods(owner).values():
                method_facts = self.facts(method)
                if method_facts.self_name and method_facts.bindings.get(f"{method_facts.self_name}.{base.attr.value}"):
                    if method.name.value != "__call__" or not self._calls_own_forward(method, method_facts.self_name):
                        return None  # kept by something other than a framework `__call__` running forward
        if depth >= 4:
            return None  # as _call_role: _return_role caches its answer, which must not be a depth cut's
        returned = self._return_role(forward, depth)
        if returned is None or returned.role is not Role.ACTIVATION or returned.forward_kind is not info.kind:
            return None
        kind = info.kind
        owner_name = class_def.name.value
        return RoleEvidence(
            Role.ACTIVATION, expr,
            lambda: f"{self.code(expr)}, the output of {owner_name}.forward kept by the framework's __call__, {returned.why}",
            kind,
            lambda: f"{self.code(expr)}, the output of {owner_name}.forward: {returned.why}",
        )

    def _calls_own_forward(self, method: cst.FunctionDef, self_name: str) -> bool:
        """`method` calls `self.forward(...)`."""
        for call in self.index.nodes_in(method, cst.Call):
            func = call.func
            if type(func) is cst.Attribute and func.attr.value == "forward" and dotted_name(func.value) == self_name:
                return True
        return False

    def _inplace_normalised_role(self, binding: Binding, facts: FunctionFacts) -> Optional[RoleEvidence]:
        """`e /= e.sum(...)` after `e = np.exp(x - ...)`: `e` is then a softmax output."""
        normalised = self._inplace_normalised(binding, facts)
        if normalised is None:
            return None
        exponential = normalised[2]
        statement = binding.statement
        return RoleEvidence(
            Role.ACTIVATION, statement,
            lambda: f"{self.code(statement)} on {self.describe_line(statement)} normalises {self.code(exponential)} in place, a softmax",
            ForwardKind.SOFTMAX,
            lambda: f"{self.code(exponential)} normalised in place by {self.code(statement)}, a softmax",
        )

    def _loop_element_role(self, name: str, loop: cst.For, facts: FunctionFacts, depth: int) -> Optional[RoleEvidence]:
        """`for s, g in zip(self.output, dvalues)`: a row of a batch has the batch's role."""
        path = target_path(loop.target, name)
        if path is None:
            return None
        iterable: cst.BaseExpression = loop.iter
        for _ in range(4):
            if type(iterable) is cst.Call and call_name(iterable) == "enumerate" and _args(iterable):
                if not path or path[0] != 1:
                    return None
                iterable, path = _args(iterable)[0], path[1:]
            elif type(iterable) is cst.Call and call_name(iterable) == "zip":
                args = _args(iterable)
                if not path or path[0] >= len(args):
                    return None
                iterable, path = args[path[0]], path[1:]
            else:
                break
        if path:
            return None
        place = _Place(facts, self.index.order.get(loop, 0))
        inner = self._role(iterable, place, depth + 1)
        if inner is None or inner.role is Role.JACOBIAN:
            return None
        return RoleEvidence(
            inner.role, loop,
            lambda: f"{name}, a row of {self.code(iterable)} (line {self.analysis.line_of(loop)}), {inner.why}",
            inner.forward_kind, lambda: inner.why,
        )

    @staticmethod
    def _reason(evidence: RoleEvidence) -> str:
        return evidence.why

    def _role_as_forward_input(
        self, name: str, binding: Optional[Binding], facts: FunctionFacts, place: _Place
    ) -> Optional[RoleEvidence]:
        """A value handed to a forward (`A = softmax(Z)`) is a pre-activation (`binding` None: a parameter)."""
        start = binding.order if binding is not None else -1
        inputs = self._forward_inputs_in(facts).get(name)
        if not inputs:
            return None
        orders, applications = inputs
        for position in range(bisect_right(orders, start), len(orders)):
            order = orders[position]
            call, kinds, via = applications[position]
            if facts.reaching(name, order) is binding:
                kind = next(iter(kinds)) if len(kinds) == 1 else None
                return RoleEvidence(
                    Role.PREACTIVATION, call,
                    lambda call=call, via=via: f"the input of {self.code(call)} on {self.describe_line(call)}"
                    + (f", through {self.code(via)} on {self.describe_line(via)}" if via is not None else ""),
                    kind,
                )
        return None

    def _forward_inputs_in(self, facts: FunctionFacts) -> "dict[str, tuple[list[int], list[tuple[cst.BaseExpression, frozenset[ForwardKind], Optional[cst.CSTNode]]]]]":
        """_forward_calls_in by the dotted name of the argument (`Z` of `softmax(Z.T)`): for each name,
        the orders of the applications to it (ascending) and the applications (cached per function, so
        that asking about every name of a long function does not scan every application each time)."""
        found = self._forward_inputs.get(facts.function)
        if found is None:
            found = {}
            shifted = False
            for call, kinds, argument in self._forward_calls_in(facts):
                name = dotted_name(_unshift(self._strip(argument)))
                if name is not None:
                    order = self.index.order.get(call, 0)
                    orders, applications = found.setdefault(name, ([], []))
                    orders.append(order)  # ascending: _forward_calls_in is sorted by it
                    applications.append((call, kinds, None))
                    for source, source_order, via in self._shift_sources(name, order, facts):
                        orders, applications = found.setdefault(source, ([], []))
                        orders.append(source_order)
                        applications.append((call, kinds, via))
                        shifted = True
            if shifted:  # a source is read where its shift is computed, before the application: re-sort
                for name, (orders, applications) in found.items():
                    pairs = sorted(zip(orders, applications), key=lambda pair: pair[0])
                    found[name] = ([o for o, _ in pairs], [a for _, a in pairs])
            self._forward_inputs[facts.function] = found
        return found

    def _shift_sources(self, name: str, order: int, facts: FunctionFacts) -> Iterator[tuple[str, int, Optional[cst.CSTNode]]]:
        """`shiftx = x - np.max(x); exps = np.exp(shiftx)`: the softmax's input is `x` too. For the name an
        application reads at `order`, the names its value was shifted or reshaped from (`x` for `shiftx`,
        through plain aliases), each with the order where it was read and the last statement on the way
        that shifted or reshaped it (None when every step was a plain alias: nothing to explain)."""
        via: Optional[cst.CSTNode] = None
        for _ in range(3):
            binding = facts.reaching(name, order)
            if binding is None or binding.value is None or binding.augmented:
                return
            if facts.stores_between(name, binding.order, order):
                return  # shiftx[...] = ... since: no longer the shifted input
            value = self._strip(binding.value)
            source = _unshift(value)
            source_name = dotted_name(source) if type(source) in (cst.Name, cst.Attribute) else None
            if source_name is None:
                return
            if source is not value or value is not binding.value:
                via = binding.statement  # a shift, a reshape or a copy: the message names it
            yield source_name, binding.order, via  # `z = z - z.max()`: the earlier `z` too
            name, order = source_name, binding.order

    def _forward_calls_in(self, facts: FunctionFacts) -> list[tuple[cst.BaseExpression, frozenset[ForwardKind], cst.BaseExpression]]:
        """The calls and inline formulas of a function that apply a nonlinearity, with its kinds and argument (cached)."""
        found = self._forward_calls.get(facts.function)
        if found is None:
            scope = facts.function if type(facts.function) is cst.FunctionDef else None
            found = []
            for call in self.index.nodes_in(scope, cst.Call):
                application = self.nonlinearity_applied(call)
                if application is not None:
                    found.append((call, application[0], application[1]))
            for operation in self.index.nodes_in(scope, cst.BinaryOperation):
                if type(operation.operator) in (cst.Divide, cst.Subtract):  # inline sigmoid/softmax/tanh
                    formula = self._forward_formula(operation, _Place(facts, self.index.order.get(operation, 0)))
                    if formula is not None:
                        found.append((operation, frozenset({formula[0]}), formula[1]))
            found.sort(key=lambda item: self.index.order.get(item[0], 0))
            self._forward_calls[facts.function] = found
        return found

    def _role_after_stores(self, name: str, binding: Binding, stores: list, facts: FunctionFacts, depth: int) -> Optional[RoleEvidence]:
        """`d = p.copy(); d[range(n), y] -= 1`: the fused softmax + cross-entropy gradient."""
        if all(_is_two_index(s.target) and s.operator is None for s in stores):
            inner = self._role(binding.value, _Place(facts, binding.order), depth + 1)  # type: ignore[arg-type]
            if inner is not None and inner.role is Role.JACOBIAN or self._is_square_allocation(binding.value):
                return RoleEvidence(
                    Role.JACOBIAN, binding.statement,
                    lambda: f"{name}, a matrix filled element by element from line {self.analysis.line_of(binding.statement)}",
                    inner.forward_kind if inner is not None else None,
                )
            return None
        if len(stores) != 1:
            return None
        store = stores[0]
        if store.operator != "SubtractAssign" or not _is_number(store.value, 1):
            return None
        elements = store.target.slice
        if len(elements) != 2:
            return None
        inner = self._role(binding.value, _Place(facts, binding.order), depth + 1)  # type: ignore[arg-type]
        if inner is None or inner.role is not Role.ACTIVATION:
            return None
        return RoleEvidence(
            Role.FUSED_LOSS_GRADIENT, store.statement,
            lambda: f"{self.code(store.statement)} on {self.describe_line(store.statement)} (the fused softmax + cross-entropy gradient p - y)",
            inner.forward_kind,
        )

    def _is_square_allocation(self, value: Optional[cst.BaseExpression]) -> bool:
        """`np.zeros((n, n))`, `np.empty([len(s), len(s)])`: a square matrix to be filled."""
        if type(value) is cst.Call and _library_call(value, "diag", "diagflat", "eye", "identity", "outer"):
            return True
        if type(value) is not cst.Call or not _library_call(value, "zeros", "empty", "ones"):
            return False
        args = _args(value)
        shape = args[0] if args else None
        if type(shape) in (cst.Tuple, cst.List) and len(shape.elements) == 2:
            return _structure(shape.elements[0].value) == _structure(shape.elements[1].value)
        return False

    def _param_role(self, name: str, facts: FunctionFacts, place: _Place) -> Optional[RoleEvidence]:
        function = facts.function
        if type(function) is not cst.FunctionDef or name in facts.defaults:
            return None
        if self.is_backward(function) and self.gradient_param(function) == name:
            return RoleEvidence(
                Role.UPSTREAM_GRADIENT, function,
                lambda: f"{name}, the upstream gradient parameter of {facts.qualname}",
            )
        if id(function) in self._vjp_rules and self._residual_parameter(function, facts) == name:
            return self._residual_role(function, None, None, 0)  # jax: def softmax_bwd(y, g), (axis, y, g)
        return self._role_as_forward_input(name, None, facts, place)

    def _residual_parameter(self, bwd: FunctionLike, facts: FunctionFacts) -> Optional[str]:
        """The bwd's parameter holding the fwd's residual: the first, after the `nondiff_argnums` ones."""
        position = self._vjp_rules[id(bwd)][1]
        return facts.params[position] if len(facts.params) > position else None

    @cached_property
    def _vjp_rules(self) -> dict[int, tuple[FunctionLike, int]]:
        """jax `f.defvjp(f_fwd, f_bwd)` of a function decorated with `@jax.custom_vjp`, or with
        `@partial(jax.custom_vjp, nondiff_argnums=(i, ...))`: the bwd function -> its fwd, and how
        many nondiff arguments the bwd takes before the residual."""
        found: dict[int, tuple[FunctionLike, int]] = {}
        for call in self.index.nodes(cst.Call):
            func = call.func
            if type(func) is not cst.Attribute or func.attr.value != "defvjp":
                continue
            args = _args(call)
            if len(args) != 2 or len(call.args) != 2:
                continue
            place = self._place(call)
            primal = self.resolve_callable(func.value, place)
            if len(primal) != 1 or type(primal[0].function) is not cst.FunctionDef:
                continue
            decorators = [d.decorator for d in primal[0].function.decorators]
            shift = None
            for decorator in decorators:
                if type(decorator) in (cst.Name, cst.Attribute) and last_part(dotted_name(decorator)) == "custom_vjp":
                    shift = 0
                elif type(decorator) is cst.Call and last_part(call_name(decorator)) == "partial" and decorator.args:
                    if last_part(dotted_name(decorator.args[0].value)) == "custom_vjp":
                        shift = _nondiff_count(decorator)
            if shift is None:
                continue
            fwd = self.resolve_callable(args[0], place)
            bwd = self.resolve_callable(args[1], place)
            if len(fwd) == 1 and len(bwd) == 1:
                found[id(bwd[0].function)] = (fwd[0].function, shift)
        return found

    def _residual_role(
        self, bwd: FunctionLike, position: Optional[int], count: Optional[int], depth: int
    ) -> Optional[RoleEvidence]:
        """The residuals a jax custom_vjp's fwd returns second (`return y, y` / `return y, (x, y)`): the
        role of the whole residual (`position` None) or of one element of a residual tuple, when every
        return of the fwd agrees."""
        rule = self._vjp_rules.get(id(bwd))
        if rule is None:
            return None
        fwd_facts = self.facts(rule[0])
        result: Optional[RoleEvidence] = None
        for returned in fwd_facts.returns:
            if type(returned) is not cst.Tuple or len(returned.elements) != 2:
                return None
            residual = returned.elements[1].value
            if position is not None:
                if type(residual) is not cst.Tuple or len(residual.elements) != count:
                    return None
                if any(type(e) is cst.StarredElement for e in residual.elements):
                    return None
                residual = residual.elements[position].value
            role = self._role(residual, _Place(fwd_facts, self.index.order.get(returned, 0)), depth + 1)
            if role is None or (result is not None and (role.role, role.forward_kind) != (result.role, result.forward_kind)):
                return None
            result = role
        if result is None:
            return None
        inner = result
        name = fwd_facts.qualname
        return RoleEvidence(
            inner.role, inner.node,
            lambda: f"the residual returned by {name}, {inner.why}",
            inner.forward_kind, lambda: f"{inner.why}, the residual of {name}",
        )

    def is_backward(self, function: FunctionLike) -> bool:
        """A backward method (of a class with a forward) or a function named as a backward pass."""
        if type(function) is not cst.FunctionDef:
            return False
        name = function.name.value.lower()
        facts = self.facts(function)
        if facts.class_def is not None and name in BACKWARD_METHODS:
            return True
        return "backward" in name or "backprop" in name

    def gradient_param(self, function: cst.FunctionDef) -> Optional[str]:
        """The upstream-gradient parameter of a backward: by its conventional name, else the
        sole parameter of a layer's backward method."""
        facts = self.facts(function)
        for name in facts.params:
            if is_gradient_name(name):
                return name
        if facts.class_def is not None and function.name.value in _LAYER_BACKWARDS:
            required = [p for p in facts.params if p not in facts.defaults]
            info = self.class_info(facts.class_def)
            if len(required) == 1 and info.forward is not None:
                return required[0]
        return None

    def _attribute_role(self, class_def: cst.ClassDef, attr: str, depth: int = 0) -> Optional[RoleEvidence]:
        key = (class_def, attr)
        if key in self._attr_roles:
            return self._attr_roles[key]
        self._attr_roles[key] = None
        roles = []
        for owner in self.base_classes(class_def):
            for method in self.index.methods(owner).values():
                facts = self.facts(method)
                if not facts.self_name:
                    continue
                for binding in facts.bindings.get(f"{facts.self_name}.{attr}", ()):
                    if binding.value is None or binding.augmented:
                        roles.append(None)
                        continue
                    if self._is_initialiser(binding.value) and facts.name == "__init__":
                        continue
                    roles.append(self._stored_role(facts, binding, depth + 1))
        result = None
        if roles and all(r is not None for r in roles) and len({r.role for r in roles}) == 1:  # type: ignore[union-attr]
            result = roles[0]
        if result is None and depth > 2:
            del self._attr_roles[key]  # perhaps cut short by the depth bound: do not remember
        else:
            self._attr_roles[key] = result
        return result

    def _dict_entry_role(self, subscript: cst.Subscript, place: _Place, depth: int) -> Optional[RoleEvidence]:
        """`self.cache['attn']` (also through `cache = self.cache`): the role of what the class's
        methods store under that key of the dict attribute (see `_attribute_entry_role`)."""
        if len(subscript.slice) != 1 or type(subscript.slice[0].slice) is not cst.Index:
            return None
        key = literal_string(subscript.slice[0].slice.value)
        base = dotted_name(subscript.value)
        facts = place.facts
        if key is None or base is None or facts.self_name is None or facts.class_def is None:
            return None
        binding = facts.reaching(base, place.order)
        if binding is not None:
            if binding.value is None or binding.augmented or type(binding.value) is not cst.Attribute:
                return None
            if facts.stores_between(base, binding.order, place.order):
                return None
            base = dotted_name(binding.value) or ""
        prefix = facts.self_name + "."
        if not base.startswith(prefix) or "." in base[len(prefix):]:
            return None
        attr = base[len(prefix):]
        stored = self._attribute_entry_role(facts.class_def, attr, key, depth)
        if stored is None:
            return None
        return RoleEvidence(
            stored.role, subscript, lambda: f"self.{attr}[{key!r}], {stored.explanation}", stored.forward_kind,
            lambda: stored.why,
        )

    def _attribute_entry_role(self, class_def: cst.ClassDef, attr: str, key: str, depth: int) -> Optional[RoleEvidence]:
        """The role shared by every value the methods of the class (its bases and subclasses) store
        under `key` of the dict `self.<attr>`: `self.cache = {'attn': attn, ...}` or
        `self.cache['attn'] = attn`. None unless the dict is followed soundly: every binding of the
        attribute a dict literal with string keys (or an empty placeholder), every element store a
        plain `=` under a string key, no `update`/`setdefault`/`pop` on it and no local alias
        written into."""
        memo = (class_def, attr, key)
        if memo in self._entry_roles:
            return self._entry_roles[memo]
        self._entry_roles[memo] = None  # recursion guard
        values: list[tuple[cst.BaseExpression, FunctionFacts, int, cst.CSTNode]] = []
        for owner in self.base_classes(class_def) + self.subclasses(class_def):
            for method in self.index.methods(owner).values():
                facts = self.facts(method)
                if not facts.self_name:
                    continue
                name = f"{facts.self_name}.{attr}"
                for binding in facts.bindings.get(name, ()):
                    value = binding.value
                    if value is None or binding.augmented:
                        return None
                    if type(value) is cst.Dict:
                        for element in value.elements:
                            if type(element) is not cst.DictElement:
                                return None  # **other
                            element_key = literal_string(element.key)
                            if element_key is None:
                                return None
                            if element_key == key:
                                values.append((element.value, facts, binding.order, binding.statement))
                    elif not (self._is_placeholder(value) or (type(value) is cst.Call and call_name(value) == "dict" and not value.args)):
                        return None
                for store in facts.element_stores.get(name, ()):
                    index = store.target.slice
                    if type(store.target.value) is not cst.Attribute or len(index) != 1 or type(index[0].slice) is not cst.Index:
                        return None  # self.cache['attn'][i] = ...: part of an entry
                    store_key = literal_string(index[0].slice.value)
                    if store_key is None:
                        return None
                    if store_key == key:
                        if store.operator is not None:
                            return None
                        values.append((store.value, facts, store.order, store.statement))
                for call in self.index.nodes_in(method, cst.Call):
                    func = call.func
                    if type(func) is cst.Attribute and dotted_name(func.value) == name and func.attr.value in (
                        "update", "setdefault", "pop", "popitem", "clear", "__setitem__"
                    ):
                        return None
                for local, bindings in facts.bindings.items():
                    if any(type(b.value) is cst.Attribute and dotted_name(b.value) == name for b in bindings):
                        if local in facts.element_stores:
                            return None  # cache = self.cache; cache['attn'] = ...
        roles = []
        for value, facts, order, statement in values:
            inner = self._role(value, _Place(facts, order), depth + 1)
            if inner is None:
                return None
            roles.append((inner, facts, statement))
        result = None
        if roles and len({(r.role, r.forward_kind) for r, _, _ in roles}) == 1:
            inner, facts, statement = roles[0]
            result = RoleEvidence(
                inner.role, statement,
                lambda: f"stored by {facts.name} on {self.describe_line(statement)}, {inner.why}", inner.forward_kind,
                lambda: inner.why,
            )
        if result is None and depth > 2:
            del self._entry_roles[memo]  # perhaps cut short by the depth bound: do not remember
        else:
            self._entry_roles[memo] = result
        return result

    @staticmethod
    def _is_initialiser(value: cst.BaseExpression) -> bool:
        if type(value) is cst.Name and value.value in ("None", "True", "False"):
            return True
        if _is_literal(value) or type(value) in (cst.List, cst.Dict, cst.Tuple, cst.SimpleString):
            return True
        return type(value) is cst.Call and last_part(call_name(value)) in ("zeros", "zeros_like", "ones", "empty", "array")

    def _stored_role(self, facts: FunctionFacts, binding: Binding, depth: int = 0) -> Optional[RoleEvidence]:
        """The role of a value a method stores in `self.<attr>`."""
        if binding.value is None:
            return None
        inner = self._role(binding.value, _Place(facts, binding.order), depth + 1)
        if inner is None:
            inner = self._role_as_forward_input(binding.name, binding, facts, _Place(facts, binding.order))
            if inner is None and type(binding.value) is cst.Name:
                aliased = facts.reaching(binding.value.value, binding.order) if binding.value.value not in facts.params else None
                source = aliased or Binding(binding.value.value, binding.statement, binding.value, binding.value, binding.order)
                inner = self._role_as_forward_input(binding.value.value, source, facts, _Place(facts, binding.order))
        if inner is None:
            return None
        return RoleEvidence(
            inner.role, binding.statement,
            lambda: f"{facts.name} stores {self.code(binding.value)} in {binding.name} on {self.describe_line(binding.statement)}, "
            f"{inner.why}",
            inner.forward_kind, lambda: inner.why,
        )

    def _list_role(self, subscript: cst.Subscript, place: _Place, depth: int) -> Optional[RoleEvidence]:
        """`zs[-1]`, `activations[i + 1]`: the role shared by every value appended to the list."""
        base = dotted_name(subscript.value)
        if base is None:
            return None
        facts = place.facts
        binding = facts.reaching(base, place.order)
        attribute = None
        if binding is None:
            attribute = base  # `self.hidden_states[t]`
        elif binding.value is not None and not binding.augmented and type(binding.value) is cst.Attribute:
            if not facts.stores_between(base, binding.order, place.order):
                attribute = dotted_name(binding.value)  # `hidden_states = self.hidden_states`
        if attribute is not None:
            if facts.self_name is None or facts.class_def is None or not attribute.startswith(facts.self_name + "."):
                return None
            attr = attribute.split(".", 1)[1]
            kept = self._attribute_list_role(facts.class_def, attr, depth)
            if kept is None:
                return None
            return RoleEvidence(
                kept.role, subscript,
                lambda: f"an element of self.{attr}, which collects {self._reason(kept)}", kept.forward_kind,
            )
        if binding is None or type(binding.value) is not cst.List:
            return None
        first = self._appended_role([(facts, base)], depth)
        if first is None:
            return None
        return RoleEvidence(
            first.role, subscript,
            lambda: f"an element of {base}, which collects {self._reason(first)}", first.forward_kind,
        )

    def _appended_role(self, lists: list[tuple[FunctionFacts, str]], depth: int, same_kind: bool = False) -> Optional[RoleEvidence]:
        """The role shared by every value appended (`name.append(v)`) to the named lists, each in its
        function; None when there is none, or they disagree (also on the kind, when `same_kind`)."""
        roles = []
        for facts, name in lists:
            scope = facts.function if type(facts.function) is cst.FunctionDef else None
            if same_kind and facts.element_stores.get(name):
                return None  # `hs[0] = x`: a value that was not appended
            for call in self.index.nodes_in(scope, cst.Call):
                func = call.func
                if same_kind and type(func) is cst.Attribute and func.attr.value in ("insert", "extend") and dotted_name(func.value) == name:
                    return None
                if type(func) is cst.Attribute and func.attr.value == "append" and dotted_name(func.value) == name:
                    args = _args(call)
                    if len(args) != 1:
                        return None
                    role = self._role(args[0], self._place(call), depth + 1)
                    if role is None:
                        return None
                    roles.append(role)
        if not roles or len({r.role for r in roles}) != 1:
            return None
        if same_kind and len({r.forward_kind for r in roles}) != 1:
            return None
        return roles[0]

    def _attribute_list_role(self, class_def: cst.ClassDef, attr: str, depth: int) -> Optional[RoleEvidence]:
        """The role of an element of the list `self.<attr>` (nets' RNN: `hidden_states = [h]`, then
        `hidden_states.append(np.tanh(...))` in a loop and `self.hidden_states = hidden_states` in forward;
        `hidden_states[t]` in backward): every value of the class stores there must be a list literal (or a
        local name bound to one), and every value appended to it, there or as `self.<attr>.append(...)`
        by any method, must have one role and one kind. The literal's own elements (the initial state)
        are not judged, as for a local list."""
        key = (class_def, attr)
        if key in self._attr_list_roles:
            return self._attr_list_roles[key]
        self._attr_list_roles[key] = None  # recursion guard
        lists: list[tuple[FunctionFacts, str]] = []
        for owner in self.base_classes(class_def) + self.subclasses(class_def):
            for method in self.index.methods(owner).values():
                facts = self.facts(method)
                if not facts.self_name:
                    continue
                lists.append((facts, f"{facts.self_name}.{attr}"))
                for binding in facts.bindings.get(f"{facts.self_name}.{attr}", ()):
                    value = binding.value
                    if value is None or binding.augmented:
                        return None
                    if type(value) is cst.List:
                        continue
                    local = facts.reaching(value.value, binding.order) if type(value) is cst.Name else None
                    if local is None or type(local.value) is not cst.List or local.augmented:
                        return None  # `self.hs = np.stack(hs)`, a parameter, ...: not a list of appended values
                    lists.append((facts, value.value))
        result = self._appended_role(lists, depth, same_kind=True)
        if result is None and depth > 2:
            del self._attr_list_roles[key]  # perhaps cut short by the depth bound: do not remember
        else:
            self._attr_list_roles[key] = result
        return result

    def _call_role(self, call: cst.Call, place: _Place, depth: int) -> Optional[RoleEvidence]:
        application = self.forward_application(call, place)
        if application is not None:
            kind = application[0]
            return RoleEvidence(Role.ACTIVATION, call, lambda: f"the output of the {kind.label} {self.code(call)}", kind)
        applied = self.nonlinearity_applied(call)
        if applied is not None:
            single = next(iter(applied[0])) if len(applied[0]) == 1 else None
            label = single.label if single else "nonlinearity"
            return RoleEvidence(Role.ACTIVATION, call, lambda: f"the output of the {label} {self.code(call)}", single)
        if _library_call(call, "outer"):
            if any((r := self._role(a, place, depth + 1)) is not None and r.role in _GRADIENT_ROLES for a in _args(call)):
                return None  # outer(delta, x): a weight gradient, not a Jacobian
            return RoleEvidence(Role.JACOBIAN, call, lambda: f"{self.code(call)}, an (n, n) outer product")
        if _library_call(call, "eye", "identity"):
            return RoleEvidence(Role.JACOBIAN, call, lambda: f"{self.code(call)}, an (n, n) identity")
        if _library_call(call, "diag", "diagflat"):
            args = _args(call)
            if not args:
                return None
            inner = self._role(args[0], place, depth + 1)
            value, _, _ = self.deref(args[0], place)
            vector = (inner is not None and inner.role is Role.ACTIVATION) or (
                inner is None and type(value) is cst.BinaryOperation and self._contains_derivative_form(value, place)
            )
            if call_name(call).endswith("diagflat") and (inner is None or inner.role is Role.ACTIVATION):  # type: ignore[union-attr]
                vector = True
            if not vector:
                return None  # np.diag of a matrix extracts its diagonal; of an unknown value: unsure
            return RoleEvidence(Role.JACOBIAN, call, lambda: f"{self.code(call)}, an (n, n) diagonal matrix", inner.forward_kind if inner else None)
        if _library_call(call, "einsum"):
            args = _args(call)
            if args and type(args[0]) is cst.SimpleString:
                spec = literal_string(args[0]) or ""
                if "->" in spec:
                    inputs, output = spec.replace(" ", "").split("->", 1)
                    if len(output) >= 2 and len(set(output[-2:])) == 2 and all(len(part) == 1 for part in inputs.split(",")):
                        return RoleEvidence(Role.JACOBIAN, call, lambda: f"{self.code(call)}, an outer product (n, n)")
            return None
        targets = self.resolve_call_targets(call)
        if targets:
            infos = [self.derivative_of(t.function) for t in targets]
            if all(i is not None and i.returns_jacobian for i in infos):
                info = infos[0]
                assert info is not None
                return RoleEvidence(
                    Role.JACOBIAN, call,
                    lambda: f"the {info.forward_kind.label} Jacobian returned by {info.qualname}", info.forward_kind,
                )
        for target, _bound, how in self.effective_calls(call) if _library_call(call, "apply_along_axis") else ():
            info = self.derivative_of(target.function)
            if info is not None and info.returns_jacobian:
                return RoleEvidence(
                    Role.JACOBIAN, call,
                    lambda info=info, how=how: f"a stack of {info.forward_kind.label} Jacobians from {info.qualname} {how}",
                    info.forward_kind,
                )
        func = call.func
        if type(func) is cst.Attribute and func.attr.value in BACKWARD_METHODS:
            return RoleEvidence(Role.UPSTREAM_GRADIENT, call, lambda: f"the gradient returned by {self.code(call)}")
        # a module function: the role of what it returns
        if len(targets) == 1 and depth < 4 and type(targets[0].function) is cst.FunctionDef:
            facts = self.facts(targets[0].function)
            first = self._return_role(targets[0].function, depth)
            if first is not None:
                if first.role in (Role.PREACTIVATION, Role.ACTIVATION, Role.JACOBIAN):
                    return RoleEvidence(first.role, call, lambda: f"returned by {facts.qualname}: {self._reason(first)}", first.forward_kind)
        return None

    def _return_role(self, function: cst.FunctionDef, depth: int) -> Optional[RoleEvidence]:
        """The role shared by every value `function` returns (cached per function)."""
        if function in self._return_roles:
            return self._return_roles[function]
        self._return_roles[function] = None
        facts = self.facts(function)
        roles = [self._role(r, _Place(facts, self.index.order.get(r, 0)), depth + 1) for r in facts.returns]
        result = None
        if roles and all(r is not None for r in roles) and len({r.role for r in roles}) == 1:  # type: ignore[union-attr]
            result = roles[0]
        self._return_roles[function] = result
        return result

    def _binary_role(self, expr: cst.BinaryOperation, place: _Place, depth: int) -> Optional[RoleEvidence]:
        operator = expr.operator
        if type(operator) is cst.Add:
            terms = _sum_terms(expr)
            if any(self._is_matmul(term, place) for term in terms) and not any(
                (role := self._role(term, place, depth + 1)) is not None and role.role in _GRADIENT_ROLES
                for term in terms
            ):
                return RoleEvidence(Role.PREACTIVATION, expr, lambda: "an affine map")
        if type(operator) is cst.MatrixMultiply or self._is_matmul(expr, place):
            pass
        formula = self._forward_formula(expr, place)
        if formula is not None:
            return RoleEvidence(Role.ACTIVATION, expr, lambda: f"the {formula[0].label} of {self.code(formula[1])}", formula[0])
        if type(operator) is cst.Subtract:
            left = self._role(expr.left, place, depth + 1)
            if left is not None and left.role is Role.ACTIVATION and left.forward_kind in (ForwardKind.SOFTMAX, ForwardKind.SIGMOID):
                right = self._role(expr.right, place, depth + 1)
                if right is None and not _is_number(expr.right):
                    return RoleEvidence(
                        Role.FUSED_LOSS_GRADIENT, expr,
                        lambda: f"{self.code(expr)}, the fused {left.forward_kind.label} + cross-entropy gradient p - y",  # type: ignore[union-attr]
                        left.forward_kind,
                    )
        if type(operator) is cst.Divide:
            left = self._role(expr.left, place, depth + 1)
            if left is not None and left.role is Role.FUSED_LOSS_GRADIENT:
                return RoleEvidence(left.role, expr, lambda: f"{self.code(expr)}, {self._reason(left)} averaged", left.forward_kind)
            negated = _negated(expr.left)
            if negated is not None:
                return self._loss_gradient_role(expr, negated, expr.right, place, depth)
        form = self._derivative_form(expr, place, False) if type(operator) in (cst.Subtract, cst.Multiply) else None
        if form is not None and form.shape == "softmax-jacobian":
            return RoleEvidence(Role.JACOBIAN, expr, lambda: f"{self.code(expr)}, the softmax Jacobian diag(s) - s s^T", ForwardKind.SOFTMAX, lambda: "the softmax Jacobian diag(s) - s s^T")
        if type(operator) in (cst.Subtract, cst.Add, cst.Multiply):
            sides = [self._role(expr.left, place, depth + 1), self._role(expr.right, place, depth + 1)]
            roles = {s.role for s in sides if s is not None}
            if Role.JACOBIAN in roles and not roles & _GRADIENT_ROLES:
                jacobian = next(s for s in sides if s is not None and s.role is Role.JACOBIAN)
                return RoleEvidence(
                    Role.JACOBIAN, expr, lambda: f"{self.code(expr)}, an (n, n) matrix built from {self.code(jacobian.node)}",
                    jacobian.forward_kind, lambda: f"an (n, n) matrix built from {self.code(jacobian.node)}",
                )
        return None

    def _contains_derivative_form(self, expr: cst.BinaryOperation, place: _Place) -> bool:
        parent = self.index.parent(expr)
        if type(parent) is cst.BinaryOperation:
            return False
        return self._derivative_form(expr, place, False) is not None

    def _loss_gradient_role(
        self, expr: cst.BaseExpression, target: cst.BaseExpression, probability: cst.BaseExpression, place: _Place, depth: int = 0
    ) -> Optional[RoleEvidence]:
        """`-y / p`: the gradient of cross-entropy with respect to the probabilities."""
        for _ in range(3):  # guards: np.clip(p, eps, 1), np.maximum(p, eps), p + eps
            if type(probability) is cst.Call and _library_call(probability, "clip", "maximum") and _args(probability):
                probability = _args(probability)[0]
            elif _operator(probability, cst.Add) and _is_number(probability.right):  # type: ignore[attr-defined]
                probability = probability.left  # type: ignore[attr-defined]
        role = self._role(probability, place, depth + 1)
        if role is not None and role.role is Role.ACTIVATION:
            return RoleEvidence(Role.LOSS_GRADIENT, expr, lambda: f"{self.code(expr)}, the cross-entropy gradient -y/p", role.forward_kind)
        return None

    def _is_matmul(self, expr: cst.BaseExpression, place: _Place) -> bool:
        value, _, _ = self.deref(expr, place)
        if type(value) is cst.BinaryOperation and type(value.operator) is cst.MatrixMultiply:
            return True
        if type(value) is cst.Call:
            if _library_call(value, *_MATMULS):
                return True
            func = value.func
            if type(func) is cst.Attribute and func.attr.value == "dot" and len(_args(value)) == 1:
                return True
        return False


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Expr
        and type(statement.body[0].value) in (cst.SimpleString, cst.ConcatenatedString)
    )


def _is_integer(node: cst.BaseExpression) -> bool:
    """An integer literal, maybe negated (`0`, `-1`)."""
    while type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        node = node.expression
    return type(node) is cst.Integer


def _sum_terms(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The terms of `a + b + c` (nested additions flattened)."""
    if type(expr) is cst.BinaryOperation and type(expr.operator) is cst.Add:
        return _sum_terms(expr.left) + _sum_terms(expr.right)
    return [expr]


def _callee_tail(call: cst.Call) -> Optional[str]:
    """`f` for `f(...)`, `m` for `obj.m(...)`."""
    func = call.func
    if type(func) is cst.Name:
        return func.value
    if type(func) is cst.Attribute:
        return func.attr.value
    return None


def _structure(node: cst.CSTNode, depth: int = 0) -> str:
    """A cheap structural key of a small expression (no code generation): equal for equal spellings."""
    if depth > 12:
        return f"#{id(node)}"
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return f"{_structure(node.value, depth + 1)}.{node.attr.value}"
    if type(node) in (cst.Integer, cst.Float):
        return node.value
    if type(node) is cst.UnaryOperation:
        return f"{type(node.operator).__name__}({_structure(node.expression, depth + 1)})"
    if type(node) is cst.BinaryOperation:
        return f"({_structure(node.left, depth + 1)} {type(node.operator).__name__} {_structure(node.right, depth + 1)})"
    if type(node) is cst.Subscript:
        parts = []
        for element in node.slice:
            inner = element.slice
            parts.append(_structure(inner.value, depth + 1) if type(inner) is cst.Index else f"#{id(inner)}")
        return f"{_structure(node.value, depth + 1)}[{','.join(parts)}]"
    if type(node) is cst.Call:
        args = ",".join(
            (f"{a.keyword.value}=" if a.keyword is not None else "") + _structure(a.value, depth + 1) for a in node.args
        )
        return f"{_structure(node.func, depth + 1)}({args})"
    return f"#{id(node)}"


def _element_selector(subscript: cst.Subscript) -> str:
    """The elements a subscript reads, as a key (`[1:]`, `[0]`, `[i,j]`), or "" when it reads all
    of them and only reshapes (`[:, None]`, `[np.newaxis]`, `[...]`, `[:]`)."""
    parts = []
    reads = False
    for element in subscript.slice:
        inner = element.slice
        if type(inner) is cst.Index:
            value = inner.value
            if type(value) is cst.Ellipsis or is_new_axis(value):
                parts.append("~")
                continue
            reads = True
            parts.append(_structure(value))
        elif type(inner) is cst.Slice:
            bounds = [inner.lower, inner.upper, inner.step]
            if all(b is None for b in bounds):
                parts.append(":")
                continue
            reads = True
            parts.append(":".join("" if b is None else _structure(b) for b in bounds))
        else:
            reads = True
            parts.append(f"#{id(inner)}")
    return f"[{','.join(parts)}]" if reads else ""


def _is_two_index(target: cst.Subscript) -> bool:
    """`J[i][j]` or `J[i, j]`: a store into a matrix element."""
    if len(target.slice) == 2:
        return True
    return type(target.value) is cst.Subscript

