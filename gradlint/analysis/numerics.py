"""Numerical facts about expressions, shared by the stability and shape rules (GL3xx, GL4xx).

What this module answers, always from the syntax of one module and never from names alone:

- which numeric operation a call is (`np.exp`, `math.exp`, `torch.exp`, `x.exp()`, `sum(...)`),
  resolved through the module's imports (`import numpy as xp`, `from math import exp`);
- for each function (its *scope*), the bindings of every local name in statement order, the
  parameters, and the in-place mutations (`p[...] = ...`, `out=p`), so a rule can ask "what was
  `z` bound to before this line?";
- what an exponent's argument is: shifted by a max (over an axis, or globally), bounded
  (clipped, `-abs(x)`, ...), a raw input (a parameter never rebound, or an affine map
  `W @ x + b`), or unknown;
- the softmax shape `exp(x) / sum(exp(x))` in its usual spellings, the sigmoid shape
  `1 / (1 + exp(-x))`, and functions whose body returns one of them;
- whether a value is a probability (the output of a softmax/sigmoid, by body) and whether it was
  guarded (clipped, `+ eps`, `np.maximum(p, eps)`, passed through a helper, compared).

Everything is computed lazily per function and cached per module analysis.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Union

import libcst as cst

from gradlint.analysis.syntax import ARRAY_METADATA, block_items, dotted_name, literal_float, names_in, prefixed_integer, walk

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis

Scope_key = Optional[cst.FunctionDef]

# Modules whose elementwise functions we understand (canonical import names).
NUMERIC_MODULES = frozenset(
    {
        "numpy",
        "jax.numpy",
        "cupy",
        "torch",
        "tensorflow",
        "tensorflow.math",
        "math",
        "autograd.numpy",
        "mxnet.numpy",
        "mlx.core",
    }
)
# Aliases assumed when a module is used without an import we can see (snippets, notebooks).
DEFAULT_ALIASES = {
    "np": "numpy",
    "numpy": "numpy",
    "jnp": "jax.numpy",
    "cp": "cupy",
    "torch": "torch",
    "tf": "tensorflow",
    "math": "math",
    "mx": "mlx.core",
}
BUILTINS = frozenset({"sum", "max", "min", "abs"})

EXP = frozenset({"exp"})
SUM = frozenset({"sum", "nansum", "fsum"})
MAX = frozenset({"max", "amax", "nanmax"})
LOG = frozenset({"log"})
REDUCTIONS = frozenset({"sum", "nansum", "mean", "nanmean", "max", "amax", "nanmax", "min", "amin", "nanmin", "std", "var", "prod"})
# Calls that bound their input (a guard against overflow or log(0)).
BOUNDING = frozenset(
    {"clip", "clamp", "maximum", "minimum", "fmax", "fmin", "tanh", "sigmoid", "expit", "log_softmax", "logsumexp",
     "nan_to_num", "where", "abs", "absolute", "softmax", "logaddexp", "log1p", "sqrt", "sin", "cos", "arctan"}
)
# Calls that convert without changing values: their argument's meaning passes through.
TRANSPARENT = frozenset(
    {"asarray", "array", "asanyarray", "atleast_1d", "atleast_2d", "ravel", "flatten", "reshape", "squeeze",
     "astype", "copy", "float", "float32", "float64", "tensor", "as_tensor", "detach", "contiguous", "view", "T"}
)
AFFINE = frozenset({"dot", "matmul", "einsum", "tensordot", "inner", "mm", "bmm", "linear"})


class Stability(enum.Enum):
    """What is known about the argument of an `exp`."""

    RAW = "raw"  # unbounded input: a parameter never rebound, or logits W @ x + b
    SHIFTED_AXIS = "shifted by its max over an axis"
    SHIFTED_GLOBAL = "shifted by its global max"
    BOUNDED = "bounded"  # clipped, -abs(x), shifted by something else: overflow is handled
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Binding:
    """One binding of a local name: `value` is set for a plain `name = value`."""

    name: str
    statement: cst.CSTNode
    order: int
    value: Optional[cst.BaseExpression] = None
    augmented: Optional[cst.AugAssign] = None  # `name op= value`


@dataclass
class Scope:
    """The statements of one function (or the module level) in order, with bindings."""

    function: Optional[cst.FunctionDef]
    params: dict[str, cst.Param] = field(default_factory=dict)
    order: dict[cst.CSTNode, int] = field(default_factory=dict)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    # name -> orders of in-place writes: `name[...] = v`, `name[...] op= v`, `f(..., out=name)`
    mutations: dict[str, list[int]] = field(default_factory=dict)
    # name -> (order, call) of the in-place writes that are clips (`np.clip(p, a, b, out=p)`)
    clip_writes: dict[str, list[tuple[int, cst.Call]]] = field(default_factory=dict)
    # name -> orders of statements comparing the name (`if p <= 0`, `assert (p > 0).all()`)
    comparisons: dict[str, list[int]] = field(default_factory=dict)
    # name -> (order, target, value) of the plain stores into an element of it (`os[t] = V @ h + c`)
    element_stores: dict[str, list[tuple[int, cst.Subscript, Optional[cst.BaseExpression]]]] = field(default_factory=dict)

    def order_of(self, node: cst.CSTNode, analysis: "ModuleAnalysis") -> int:
        """The order of the statement holding `node` (-1 when outside this scope's statements)."""
        current: Optional[cst.CSTNode] = node
        while current is not None:
            found = self.order.get(current)
            if found is not None:
                return found
            current = analysis.index.parent(current)
        return -1

    def before(self, name: str, order: int) -> list[Binding]:
        return [binding for binding in self.bindings.get(name, ()) if binding.order < order]

    def mutated_before(self, name: str, order: int) -> bool:
        return any(at < order for at in self.mutations.get(name, ()))

    def compared_before(self, name: str, order: int) -> bool:
        return any(at <= order for at in self.comparisons.get(name, ()))


# statement type -> is it a cst.BaseSmallStatement (an ABC: isinstance goes through ABCMeta)
_IS_SMALL_STATEMENT: dict[type, bool] = {}



def one_plus_term(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`t` for `1 + t` or `t + 1` (parentheses aside): the denominator of a sigmoid; else None."""
    node = _unwrap(node)
    if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Add):
        return None
    if _is_number(node.left, 1):
        return node.right
    if _is_number(node.right, 1):
        return node.left
    return None

class Numerics:
    """Per-module numeric model; obtain it with `numerics(analysis)`."""

    def __init__(self, analysis: "ModuleAnalysis") -> None:
        self.analysis = analysis
        self.index = analysis.index
        self.aliases = self._aliases()
        self._scopes: dict[Scope_key, Scope] = {}
        self._returns: dict[cst.FunctionDef, Optional[str]] = {}
        self._functions_by_name: Optional[dict[str, list[cst.FunctionDef]]] = None
        self.memo: dict[object, object] = {}  # per-module answers a rule wants to reuse
        self._operations: dict[cst.CSTNode, Optional[str]] = {}  # `operation` of each call asked about

    # -- names ---------------------------------------------------------------------------
    def _aliases(self) -> dict[str, Optional[str]]:
        aliases: dict[str, Optional[str]] = dict(DEFAULT_ALIASES)
        for node in self.index.nodes(cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if not full:
                    continue
                if alias.asname is not None and type(alias.asname.name) is cst.Name:
                    aliases[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    aliases[head] = head
        for node in self.index.nodes(cst.ImportFrom):
            module = dotted_name(node.module) if node.module is not None else None
            if not module or node.relative:
                continue
            if type(node.names) is cst.ImportStar:
                if module in NUMERIC_MODULES:
                    for name in ("exp", "log", "log1p", "sum", "max", "amax", "clip", "maximum", "dot", "tanh"):
                        aliases.setdefault(name, f"{module}.{name}")
                continue
            for alias in node.names:
                name = dotted_name(alias.name)
                if not name:
                    continue
                local = alias.asname.name.value if alias.asname is not None and type(alias.asname.name) is cst.Name else name
                aliases[local] = f"{module}.{name}"
        # A module-level def or class shadows an imported or builtin name.
        for node in self.index.nodes_in(None, cst.FunctionDef):
            aliases[node.name.value] = None
        return aliases

    def qualified(self, node: cst.CSTNode) -> Optional[str]:
        """The canonical dotted name of `node` (`numpy.exp` for `np.exp`), or None."""
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.aliases:
            base = self.aliases[head]
            if base is None:
                return None
            return f"{base}.{rest}" if rest else base
        if not rest and head in BUILTINS:
            return f"builtins.{head}"
        return None

    def operation(self, node: cst.CSTNode) -> Optional[str]:
        """The numeric operation of a call: `exp` for `np.exp(x)`, `x.exp()`, `math.exp(x)`;
        `sum` for `np.sum(e)`, `e.sum()`, `sum(e)`. None when it is not a known one."""
        if type(node) is not cst.Call:
            return None
        memo = self._operations
        if node in memo:
            return memo[node]
        found = memo[node] = self._operation(node)
        return found

    def _operation(self, node: cst.Call) -> Optional[str]:
        qualified = self.qualified(node.func)
        if qualified is not None:
            module, _, function = qualified.rpartition(".")
            if module in NUMERIC_MODULES or module == "builtins" or module.startswith(("numpy.", "torch.", "scipy.special")):
                # The name as written (`E` for `from numpy import exp as E`): the registry's
                # pre-check looks for the written names (`exp(`), so renamed imports are not
                # recognised rather than missed by the pre-check.
                return (dotted_name(node.func) or function).rsplit(".", 1)[-1]
        if type(node.func) is cst.Attribute:
            receiver = node.func.value
            receiver_name = dotted_name(receiver)
            if receiver_name is not None and receiver_name.split(".")[0] in self.aliases:
                return None  # a function of some other module
            return node.func.attr.value
        return None

    def self_is_array(self, function: Optional[cst.FunctionDef]) -> bool:
        """Whether the method's `self` is an array, not an instance: neowise's activation classes are
        namespaces, called `Softmax.forward(z)` with the array as `self`. The function passes its
        first parameter to an exp directly (`np.exp(self)`) and never reads an attribute of it."""
        if function is None:
            return False
        key = ("self_is_array", function)
        found = self.memo.get(key)
        if found is None:
            params = [*function.params.posonly_params, *function.params.params]
            first = params[0].name.value if params else None
            found = first in ("self", "cls") and not any(
                type(node.value) is cst.Name and node.value.value == first for node in self.index.nodes_in(function, cst.Attribute)
            ) and any(
                type(_unwrap(argument)) is cst.Name and _unwrap(argument).value == first  # type: ignore[attr-defined]
                for call in self.index.nodes_in(function, cst.Call)
                if (argument := self.exp_argument(call)) is not None
            )
            self.memo[key] = found
        return bool(found)

    def is_dtype_cast(self, node: cst.Call) -> bool:
        """torch's `x.to(torch.float32)`, `x.to(computation_dtype)`, `x.to(device="cuda")`: a method `.to`
        whose every argument names a dtype or a device (a `torch.` attribute, a name or attribute
        ending in `dtype` or `device`, a string, or the keywords dtype/device/non_blocking/copy/
        memory_format): the values are kept. `q.to(u.m)` (a unit conversion) is none."""
        if type(node.func) is not cst.Attribute or node.func.attr.value != "to" or not node.args or not self.is_method_call(node):
            return False
        for arg in node.args:
            if arg.star:
                return False
            if arg.keyword is not None:
                if arg.keyword.value not in ("dtype", "device", "non_blocking", "copy", "memory_format"):
                    return False
                continue
            value = _unwrap(arg.value)
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                continue
            written = dotted_name(value) if type(value) in (cst.Name, cst.Attribute) else None
            if written is None:
                return False
            last = written.rsplit(".", 1)[-1].lower()
            if not ((self.qualified(value) or "").startswith("torch.") or last.endswith(("dtype", "device"))):
                return False
        return True

    def is_method_call(self, node: cst.Call) -> bool:
        """`x.sum()` rather than `np.sum(x)`."""
        if type(node.func) is not cst.Attribute:
            return False
        receiver_name = dotted_name(node.func.value)
        return receiver_name is None or receiver_name.split(".")[0] not in self.aliases

    def operand(self, node: cst.Call) -> Optional[cst.BaseExpression]:
        """The array a call operates on: the receiver of `x.sum()`, the first argument of `np.sum(x)`."""
        if self.is_method_call(node):
            return node.func.value  # type: ignore[attr-defined]
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        return positional[0].value if positional else None

    def numpy_prefix(self, node: cst.Call) -> Optional[str]:
        """`np` for `np.exp(x)` when `np` is numpy (or a numpy-compatible module); else None."""
        if type(node.func) is not cst.Attribute:
            return None
        receiver = dotted_name(node.func.value)
        if receiver is None or receiver.split(".")[0] not in self.aliases:
            return None
        module = self.qualified(node.func.value)
        return receiver if module in ("numpy", "jax.numpy", "cupy", "autograd.numpy") else None

    def inside_nan_to_num(self, node: cst.CSTNode) -> bool:
        """Whether `node` is inside `np.nan_to_num(...)` in its statement: the author maps
        non-finite values to finite ones there (0 for nan, +-1.8e308 for +-inf) on purpose."""
        return self._inside_call(node, lambda call: self.operation(call) == "nan_to_num")

    def inside_numpy_nan_reduction(self, node: cst.CSTNode) -> bool:
        """Whether `node` is inside numpy's `np.nansum(...)` / `np.nanmean(...)` in its statement: the
        reduction drops the nan of `0 * log(0)` (a saturated correct prediction adds 0, a saturated
        wrong one +inf, the loss's true value). Plain numpy only: jax and autograd differentiate through
        it, and the gradient of the dropped term is still nan."""
        return self._inside_call(node, lambda call: self.qualified(call.func) in ("numpy.nansum", "numpy.nanmean"))

    def _inside_call(self, node: cst.CSTNode, wanted: "Callable[[cst.Call], bool]") -> bool:
        """Whether a call that `wanted` accepts holds `node`, within `node`'s statement (or lambda)."""
        for ancestor in self.index.ancestors(node):
            if isinstance(ancestor, (cst.BaseStatement, cst.BaseSmallStatement, cst.Lambda)):
                return False
            if type(ancestor) is cst.Call and wanted(ancestor):
                return True
        return False

    # -- scopes --------------------------------------------------------------------------
    def scope(self, function: Optional[cst.FunctionDef]) -> Scope:
        found = self._scopes.get(function)
        if found is None:
            found = self._build_scope(function)
            self._scopes[function] = found
        return found

    def scope_of(self, node: cst.CSTNode) -> Scope:
        return self.scope(self.index.function_containing(node))

    def _build_scope(self, function: Optional[cst.FunctionDef]) -> Scope:
        scope = Scope(function)
        if function is not None:
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                scope.params[param.name.value] = param
            for star in (params.star_arg, params.star_kwarg):
                if type(star) is cst.Param:
                    scope.params[star.name.value] = star
            items = block_items(function.body)
        else:
            items = block_items(self.analysis.module)  # type: ignore[arg-type]
        counter = [0]
        self._walk_block(scope, items, counter)
        self._scan_expressions(scope, function)
        return scope

    def _walk_block(self, scope: Scope, items: list[cst.CSTNode], counter: list[int]) -> None:
        for item in items:
            counter[0] += 1
            order = counter[0]
            scope.order[item] = order
            if type(item) in (cst.FunctionDef, cst.ClassDef):
                self._bind(scope, item.name.value, item, order)
                continue
            small = _IS_SMALL_STATEMENT.get(type(item))
            if small is None:
                small = _IS_SMALL_STATEMENT[type(item)] = isinstance(item, cst.BaseSmallStatement)
            if small:
                self._small_statement(scope, item, order)
                continue
            self._compound_header(scope, item, order)
            for block in _sub_blocks(item):
                self._walk_block(scope, block_items(block), counter)

    def _bind(self, scope: Scope, name: str, statement: cst.CSTNode, order: int, value=None, augmented=None) -> None:
        scope.bindings.setdefault(name, []).append(Binding(name, statement, order, value, augmented))

    def _bind_target(self, scope: Scope, target: cst.CSTNode, statement: cst.CSTNode, order: int, value=None) -> None:
        if type(target) is cst.Name:
            self._bind(scope, target.value, statement, order, value)
        elif type(target) in (cst.Tuple, cst.List):
            values = _unpacked(target, value)
            for element, element_value in zip(target.elements, values):
                self._bind_target(scope, element.value, statement, order, element_value)
        elif type(target) is cst.StarredElement:
            self._bind_target(scope, target.value, statement, order)
        elif type(target) is cst.Attribute:
            dotted = dotted_name(target)  # `self.z = W @ x + b`: bound as "self.z" in this scope
            if dotted:
                self._bind(scope, dotted, statement, order, value)
        elif type(target) is cst.Subscript:
            base = _subscript_root(target)
            if base:
                scope.mutations.setdefault(base, []).append(order)
                if type(target.value) is cst.Name:
                    scope.element_stores.setdefault(base, []).append((order, target, value))

    def _small_statement(self, scope: Scope, item: cst.BaseSmallStatement, order: int) -> None:
        if type(item) is cst.Assign:
            for target in item.targets:
                self._bind_target(scope, target.target, item, order, item.value)
        elif type(item) is cst.AnnAssign:
            if item.value is not None:
                self._bind_target(scope, item.target, item, order, item.value)
        elif type(item) is cst.AugAssign:
            if type(item.target) is cst.Name:
                self._bind(scope, item.target.value, item, order, None, item)
            else:
                self._bind_target(scope, item.target, item, order)

    def _compound_header(self, scope: Scope, item: cst.CSTNode, order: int) -> None:
        if type(item) is cst.For:
            self._bind_target(scope, item.target, item, order)
        elif type(item) is cst.With:
            for with_item in item.items:
                if with_item.asname is not None:
                    self._bind_target(scope, with_item.asname.name, item, order)
        elif type(item) is cst.Try:
            for handler in item.handlers:
                if handler.name is not None:
                    self._bind_target(scope, handler.name.name, item, order)

    def _scan_expressions(self, scope: Scope, function: Optional[cst.FunctionDef]) -> None:
        """Record comparisons, `out=name` writes and walrus bindings of the scope (from the index:
        no walk of the tree)."""
        index = self.index
        analysis = self.analysis
        for comparison in index.nodes_in(function, cst.Comparison):
            order = scope.order_of(comparison, analysis)
            for name in _names_in_expression(comparison):
                scope.comparisons.setdefault(name, []).append(order)
        for call in index.nodes_in(function, cst.Call):
            operation = self.operation(call) or ""
            written = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "out"]
            out_at = _POSITIONAL_OUT.get(operation)
            if self.is_method_call(call):
                out_at = 2 if operation == "clip" else None  # `q.clip(eps, 1 - eps, q)`: ndarray.clip's out
            if out_at is not None and len(call.args) > out_at:
                # `np.clip(p, eps, 1 - eps, p)`: numpy's positional `out` (numpy-ml's NCE loss)
                positional = [arg for arg in call.args[: out_at + 1] if arg.keyword is None and not arg.star]
                if len(positional) == out_at + 1:
                    written.append(positional[out_at].value)
            for value in written:
                root = _subscript_root(value)
                if root:
                    order = scope.order_of(call, analysis)
                    scope.mutations.setdefault(root, []).append(order)
                    if operation in _CLIPS:
                        scope.clip_writes.setdefault(root, []).append((order, call))
        for named in index.nodes_in(function, cst.NamedExpr):
            if type(named.target) is cst.Name:
                self._bind(scope, named.target.value, named, scope.order_of(named, analysis), named.value)

    # -- resolving values ----------------------------------------------------------------
    def value_of(self, node: cst.BaseExpression, scope: Scope, order: int) -> cst.BaseExpression:
        """Follow a name (or `self.attr` bound in this function) to the value of its last plain
        binding before `order` (one level)."""
        key = node.value if type(node) is cst.Name else dotted_name(node) if type(node) is cst.Attribute else None
        if key is not None:
            bindings = scope.before(key, order)
            if bindings and bindings[-1].value is not None and bindings[-1].augmented is None:
                return bindings[-1].value
        return node

    def stability(self, node: cst.BaseExpression, scope: Scope, order: int, depth: int = 0) -> Stability:
        """What is known about `node` as the argument of an exp (see `Stability`)."""
        if depth > 6:
            return Stability.UNKNOWN
        node = _unwrap(node)
        if type(node) is cst.UnaryOperation and type(node.operator) in (cst.Minus, cst.Plus):
            return self.stability(node.expression, scope, order, depth + 1)
        if type(node) is cst.BinaryOperation:
            operator = node.operator
            if type(operator) is cst.Subtract:
                shift = self.max_shift(node.right, scope, order)
                if shift is not None:
                    return shift
                return Stability.BOUNDED if not _is_number(node.right) else self.stability(node.left, scope, order, depth + 1)
            if type(operator) is cst.Add:
                if _is_number(node.right):
                    return self.stability(node.left, scope, order, depth + 1)
                if _is_number(node.left):
                    return self.stability(node.right, scope, order, depth + 1)
                if self.is_affine(node.left):
                    return Stability.RAW
                return Stability.UNKNOWN
            if type(operator) is cst.Divide:
                return self.stability(node.left, scope, order, depth + 1)
            if type(operator) is cst.Multiply:
                if _is_number(node.left):
                    return self.stability(node.right, scope, order, depth + 1)
                if _is_number(node.right):
                    return self.stability(node.left, scope, order, depth + 1)
                return Stability.UNKNOWN
            if type(operator) is cst.MatrixMultiply:
                return Stability.RAW
            return Stability.UNKNOWN
        if type(node) is cst.Call:
            operation = self.operation(node)
            if operation in BOUNDING:
                return Stability.BOUNDED
            if operation in AFFINE:
                return Stability.RAW
            if operation in TRANSPARENT:
                inner = self.operand(node) if operation not in ("float", "tensor", "as_tensor") else _first_arg(node)
                if inner is not None:
                    return self.stability(inner, scope, order, depth + 1)
            if operation == "to" and self.is_dtype_cast(node):
                return self.stability(node.func.value, scope, order, depth + 1)  # type: ignore[attr-defined]
            return Stability.UNKNOWN
        if type(node) is cst.Attribute and node.attr.value == "T":
            return self.stability(node.value, scope, order, depth + 1)
        if type(node) is cst.Attribute:
            # `self.z`: only what this function bound to it before (never a parameter).
            dotted = dotted_name(node)
            bindings = scope.before(dotted, order) if dotted else []
            if not bindings or bindings[-1].value is None:
                return Stability.UNKNOWN
            last = bindings[-1]
            return self.stability(last.value, scope, last.order, depth + 1)  # type: ignore[arg-type]
        if type(node) is cst.Name:
            name = node.value
            bindings = scope.before(name, order)
            if any(binding.augmented is not None for binding in bindings):
                # `x -= np.max(x)` (or any other in-place update) before the use.
                last_aug = [b for b in bindings if b.augmented is not None][-1]
                aug = last_aug.augmented
                assert aug is not None
                if type(aug.operator) is cst.SubtractAssign:
                    shift = self.max_shift(aug.value, scope, order)
                    if shift is not None:
                        return shift
                return Stability.BOUNDED if type(aug.operator) is cst.SubtractAssign else Stability.UNKNOWN
            if scope.mutated_before(name, order):
                return Stability.UNKNOWN  # e.g. `x[x > 500] = 500`
            if not bindings:
                if name in ("self", "cls"):
                    return Stability.RAW if name in scope.params and self.self_is_array(scope.function) else Stability.UNKNOWN
                return Stability.RAW if name in scope.params or self._lambda_parameter(node) else Stability.UNKNOWN
            last = bindings[-1]
            if last.value is None and self.unpacked_affine(last) is None:
                return Stability.UNKNOWN
            # Every binding before the use must agree that the value is raw (a shift in any branch
            # before counts: stay silent).
            results = {self._binding_stability(b, scope, depth) for b in bindings}
            if Stability.RAW in results and len(results) == 1:
                return Stability.RAW
            for kind in (Stability.BOUNDED, Stability.UNKNOWN, Stability.SHIFTED_AXIS, Stability.SHIFTED_GLOBAL):
                if kind in results and kind is not Stability.RAW:
                    current = self._binding_stability(last, scope, depth)
                    return current if current is not Stability.RAW else kind
            return Stability.UNKNOWN
        if type(node) is cst.Call and self.returned_affine(node) is not None:
            return Stability.RAW  # `Z = linear(A, W, b)`, a local function returning `np.dot(W, A) + b`
        if type(node) is cst.Subscript:
            stored = self.element_stored(node, scope, order)
            if stored is not None:
                return self.stability(stored[1], scope, stored[0], depth + 1)
        return Stability.UNKNOWN

    def element_stored(self, node: cst.Subscript, scope: Scope, order: int) -> Optional[tuple[int, cst.BaseExpression]]:
        """(order, value) of the store `os[t] = value` that `os[t]` read at `order` reads back (min-char-rnn's
        `ys[t] = np.dot(Why, hs[t]) + by; ps[t] = np.exp(ys[t]) / ...`): the last write into `os` before the
        read is a plain store to the same index, written the same way, whose names are not rebound in between."""
        if type(node.value) is not cst.Name or len(node.slice) != 1:
            return None
        base = node.value.value
        writes = [at for at in scope.mutations.get(base, ()) if at < order]
        stores = [entry for entry in scope.element_stores.get(base, ()) if entry[0] < order]
        if not writes or not stores or stores[-1][0] != max(writes) or stores[-1][2] is None:
            return None
        at, target, value = stores[-1]
        if self.code(target) != self.code(node):
            return None
        for name in names_in(node.slice[0].slice):
            if any(at < binding.order < order for binding in scope.bindings.get(name, ())):
                return None
        return at, value

    def _lambda_parameter(self, node: cst.Name) -> bool:
        """`x` in `softmax = lambda x: np.exp(x) / np.sum(np.exp(x))`: a parameter of the innermost
        lambda around the read (a lambda's body binds nothing else)."""
        for ancestor in self.index.ancestors(node):
            if type(ancestor) is cst.Lambda:
                params = ancestor.params
                return any(param.name.value == node.value for param in (*params.posonly_params, *params.params, *params.kwonly_params))
            if type(ancestor) in (cst.FunctionDef, cst.ClassDef):
                return False
        return False

    def _binding_stability(self, binding: Binding, scope: Scope, depth: int) -> Stability:
        """The stability of the value one binding gives its name: its plain value's, RAW for an
        element unpacked from a local function's affine return (`Z, cache = linear_forward(A, W, b)`),
        UNKNOWN otherwise (a loop variable, an augmented assignment, an unknown call's tuple)."""
        if binding.value is not None:
            return self.stability(binding.value, scope, binding.order, depth + 1)
        if binding.augmented is None and self.unpacked_affine(binding) is not None:
            return Stability.RAW
        return Stability.UNKNOWN

    def unpacked_affine(self, binding: Binding) -> Optional[cst.FunctionDef]:
        """The local function whose call `binding` unpacks its name from (`Z, cache = linear_forward(A, W, b)`)
        when every return of that function is a tuple of the target's length whose element at the
        name's position is an affine map (`np.dot(W, A) + b`, `W @ x + b`, or a name bound only to such
        maps): logits by the callee's body, never by its name. None otherwise (an imported or unknown
        function, a starred target, a return of another shape)."""
        statement = binding.statement
        if binding.value is not None or binding.augmented is not None or type(statement) is not cst.Assign:
            return None
        if type(statement.value) is not cst.Call:
            return None
        position: Optional[tuple[int, int]] = None
        for target in statement.targets:
            elements = target.target.elements if type(target.target) in (cst.Tuple, cst.List) else None  # type: ignore[attr-defined]
            if elements is None or any(type(element) is cst.StarredElement for element in elements):
                continue
            places = [at for at, element in enumerate(elements) if type(element.value) is cst.Name and element.value.value == binding.name]
            if len(places) == 1:
                position = (places[0], len(elements))
                break
        if position is None:
            return None
        return self.returned_affine(statement.value, position)

    def returned_affine(self, call: cst.Call, position: Optional[tuple[int, int]] = None) -> Optional[cst.FunctionDef]:
        """The local function `call` calls when every one of its returns gives an affine map (see
        `unpacked_affine`): the whole return value, or with `position` = (index, length) the element at
        `index` of a returned tuple of `length` elements. None otherwise."""
        key = ("returned_affine", call, position)
        if key in self.memo:
            return self.memo[key]  # type: ignore[return-value]
        self.memo[key] = None  # recursion guard
        callee = self._callee(call)
        found: Optional[cst.FunctionDef] = None
        if callee is not None and not self.index.nodes_in(callee, cst.Yield):
            returns = self.index.nodes_in(callee, cst.Return)
            scope = self.scope(callee) if returns else None
            if scope is not None and all(self._affine_return(ret, scope, position) for ret in returns):
                found = callee
        self.memo[key] = found
        return found

    def _callee(self, call: cst.Call) -> Optional[cst.FunctionDef]:
        """`local_function`, or a method of a module-level class called through the class
        (`LinearLayer.forward(A, W, b)`, a staticmethod)."""
        found = self.local_function(call)
        if found is not None:
            return found
        name = dotted_name(call.func)
        if name is None or name.count(".") != 1:
            return None
        owner_name, _, method = name.partition(".")
        owners = [c for c in self.index.nodes(cst.ClassDef) if c.name.value == owner_name and self.index.function_containing(c) is None]
        if len(owners) != 1 or type(self.index.parent(owners[0])) is not cst.Module:
            return None
        function = self.index.methods(owners[0]).get(method)
        if function is None or not any(
            type(decorator.decorator) is cst.Name and decorator.decorator.value == "staticmethod" for decorator in function.decorators
        ):
            return None
        return function

    def _affine_return(self, ret: cst.Return, scope: Scope, position: Optional[tuple[int, int]]) -> bool:
        value = ret.value
        if value is None:
            return False
        if position is not None:
            if type(value) not in (cst.Tuple, cst.List):
                return False
            elements = value.elements  # type: ignore[attr-defined]
            if len(elements) != position[1] or any(type(element) is cst.StarredElement for element in elements):
                return False
            value = elements[position[0]].value
        value = _unwrap(value)
        if type(value) is cst.Name:
            order = scope.order_of(ret, self.analysis)
            bindings = scope.before(value.value, order)
            if not bindings or scope.mutated_before(value.value, order):
                return False
            return all(binding.value is not None and binding.augmented is None and self.is_affine(binding.value) for binding in bindings)
        return self.is_affine(value)

    def max_shift(self, node: cst.BaseExpression, scope: Scope, order: int) -> Optional[Stability]:
        """SHIFTED_AXIS / SHIFTED_GLOBAL when `node` is a max (possibly via a name), else None."""
        call = self.max_call(node, scope, order)
        if call is None:
            return None
        return Stability.SHIFTED_AXIS if self.reduction_axis(call) is not None else Stability.SHIFTED_GLOBAL

    def shift_call(self, node: cst.BaseExpression, scope: Scope, order: int, depth: int = 0) -> Optional[cst.Call]:
        """The max call an exp argument is shifted by (`x - np.max(x)`, or `x` after
        `x -= np.max(x)` / `x = x - np.max(x)`), else None."""
        if depth > 6:
            return None
        if type(node) is cst.UnaryOperation and type(node.operator) in (cst.Minus, cst.Plus):
            return self.shift_call(node.expression, scope, order, depth + 1)
        if type(node) is cst.BinaryOperation:
            if type(node.operator) is cst.Subtract:
                return self.max_call(node.right, scope, order)
            if type(node.operator) in (cst.Divide, cst.Multiply):
                return self.shift_call(node.left, scope, order, depth + 1) or self.shift_call(node.right, scope, order, depth + 1)
            return None
        if type(node) is cst.Name:
            bindings = scope.before(node.value, order)
            if not bindings:
                return None
            last = bindings[-1]
            if last.augmented is not None:
                if type(last.augmented.operator) is cst.SubtractAssign:
                    return self.max_call(last.augmented.value, scope, last.order)
                return None
            if last.value is not None:
                return self.shift_call(last.value, scope, last.order, depth + 1)
        return None

    def max_call(self, node: cst.BaseExpression, scope: Scope, order: int) -> Optional[cst.Call]:
        """The max reduction `node` is (directly or through a name / reshape / indexing), else None."""
        node = _unwrap(self.value_of(_unwrap(node), scope, order))
        if type(node) is cst.Subscript:
            node = _unwrap(node.value)  # np.max(x, axis=1)[:, None]
        if type(node) is cst.Attribute and node.attr.value in ("values", "data"):
            node = _unwrap(node.value)  # torch: x.max(dim=1, keepdim=True).values
        if type(node) is cst.Call and self.operation(node) in ("reshape", "expand_dims", "unsqueeze"):
            inner = self.operand(node) if self.operation(node) == "reshape" else _first_arg(node)
            if inner is not None:
                node = _unwrap(inner)
        if type(node) is not cst.Call or self.operation(node) not in MAX:
            return None
        return node

    def reduction_axis(self, call: cst.Call) -> Optional[cst.BaseExpression]:
        """The axis of a reduction (`axis=`, `dim=`, or the positional one), None when global."""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("axis", "dim", "axes"):
                return None if _is_none(arg.value) else arg.value
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        index = 0 if self.is_method_call(call) else 1
        if self.operation(call) in ("max", "min") and self.qualified(call.func) == f"builtins.{self.operation(call)}":
            return None
        if len(positional) > index:
            value = positional[index].value
            return None if _is_none(value) else value
        return None

    def keepdims(self, call: cst.Call) -> bool:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in ("keepdims", "keepdim"):
                return not (type(arg.value) is cst.Name and arg.value.value == "False")
        return False

    def is_affine(self, node: cst.BaseExpression) -> bool:
        node = _unwrap(node)
        if type(node) is cst.BinaryOperation:
            if type(node.operator) is cst.MatrixMultiply:
                return True
            if type(node.operator) is cst.Add:
                return self.is_affine(node.left) or self.is_affine(node.right)
        return type(node) is cst.Call and self.operation(node) in AFFINE

    # -- exp / softmax / sigmoid shapes --------------------------------------------------
    def exp_argument(self, node: cst.CSTNode) -> Optional[cst.BaseExpression]:
        """`x` for `np.exp(x)`, `math.exp(x)`, `x.exp()`, `np.e ** x`; else None."""
        node = _unwrap(node)  # type: ignore[arg-type]
        if type(node) is cst.Call and self.operation(node) in EXP:
            return self.operand(node)
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.Power:
            base = self.qualified(node.left)
            written = dotted_name(node.left) or ""
            if base in ("numpy.e", "math.e", "torch.e") and written.rsplit(".", 1)[-1] == "e":
                return node.right
        return None

    def exp_call(self, node: cst.BaseExpression, scope: Scope, order: int) -> Optional[cst.BaseExpression]:
        """The exp expression `node` is (directly, or through a name bound to it), else None."""
        node = _unwrap(node)
        if self.exp_argument(node) is not None:
            return node
        if type(node) in (cst.Name, cst.Attribute):
            value = self.value_of(node, scope, order)
            if value is not node:
                value = _unwrap(value)
                if type(value) is cst.Call and self.operation(value) in ("astype", "copy", "float"):
                    value = _unwrap(self.operand(value) or value)
                if self.exp_argument(value) is not None:
                    return value
        return None

    def softmax_parts(
        self, numerator: cst.BaseExpression, denominator: cst.BaseExpression, scope: Scope, order: int, loose: bool = False
    ) -> Optional["SoftmaxShape"]:
        """The softmax shape of `numerator / denominator`, or None.

        The numerator is an exp (or a name bound to one); the denominator is a sum of that same
        exp (`np.sum(e)`, `e.sum()`, `sum(e)`, `np.sum(np.exp(x))`, or a name bound to such a sum).
        With `loose` (the overflow rules GL301/GL302, not the probability rules: the quotient need
        not be a probability) the numerator may also be a selection or transpose of an exp bound to
        a name (`e[c]`, `e[range(n), y]`, `e.T`, or a name bound to one) or a product with one exp
        factor (`np.exp(a) * x`): every one overflows with the exp it reads."""
        numerator_exp = self.exp_call(numerator, scope, order)
        if numerator_exp is None and loose:
            numerator_exp = self._loose_exp(numerator, scope, order, 0)
        if numerator_exp is None:
            return None
        total = _unwrap(self.value_of(_unwrap(denominator), scope, order))
        if type(total) is cst.Subscript:
            total = _unwrap(total.value)
        if type(total) is cst.Call and self.operation(total) in ("reshape", "expand_dims", "unsqueeze", "view"):
            inner = self.operand(total) if self.operation(total) in ("reshape", "view") else _first_arg(total)
            if inner is not None:
                total = _unwrap(self.value_of(_unwrap(inner), scope, order))
        if type(total) is not cst.Call or self.operation(total) not in SUM:
            return None
        summed = self.operand(total)
        if summed is None:
            return None
        summed = _unwrap(summed)
        if type(summed) in (cst.GeneratorExp, cst.ListComp):
            return None
        same_name = (
            type(summed) in (cst.Name, cst.Attribute)
            and type(_unwrap(numerator)) in (cst.Name, cst.Attribute)
            and dotted_name(summed) is not None
            and dotted_name(summed) == dotted_name(_unwrap(numerator))
        )
        if same_name:
            denominator_exp = numerator_exp
        else:
            denominator_exp = self.exp_call(summed, scope, order)
            if denominator_exp is None:
                return None
        return SoftmaxShape(numerator_exp, denominator_exp, total)

    def _loose_exp(self, node: cst.BaseExpression, scope: Scope, order: int, depth: int) -> Optional[cst.BaseExpression]:
        """The exp a loose softmax numerator reads (see `softmax_parts`), else None."""
        if depth > 4:
            return None
        node = _unwrap(node)
        if type(node) is cst.Name:
            bindings = scope.before(node.value, order)
            if not bindings or bindings[-1].value is None or bindings[-1].augmented is not None or scope.mutated_before(node.value, order):
                return None
            return self._loose_exp(bindings[-1].value, scope, bindings[-1].order, depth + 1)
        base: Optional[cst.BaseExpression] = None
        if type(node) is cst.Subscript:
            base = _unwrap(node.value)
        elif type(node) is cst.Attribute and node.attr.value == "T":
            base = _unwrap(node.value)
        if base is not None:
            if type(base) is not cst.Name or scope.mutated_before(base.value, order):
                return None  # `e[e > 1e300] = 1e300` may bound what is read
            return self.exp_call(base, scope, order)
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
            factors = [
                self.exp_call(factor, scope, order) or self._loose_exp(factor, scope, order, depth + 1)
                for factor in (node.left, node.right)
            ]
            found = [factor for factor in factors if factor is not None]
            return found[0] if len(found) == 1 else None
        return None

    def sigmoid_argument(self, node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
        """`z` for `1 / (1 + exp(-z))` or `exp(z) / (1 + exp(z))`; else None."""
        node = _unwrap(node)
        if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Divide):
            return None
        exp_term = one_plus_term(node.right)
        if exp_term is None:
            return None
        argument = self.exp_argument(exp_term)
        if argument is None:
            return None
        numerator = _unwrap(node.left)
        if _is_number(numerator, 1):
            argument = _unwrap(argument)
            if type(argument) is cst.UnaryOperation and type(argument.operator) is cst.Minus:
                return argument.expression
            return argument
        if self.exp_argument(numerator) is not None and self.code(self.exp_argument(numerator)) == self.code(argument):
            return argument
        return None

    # -- functions by body -----------------------------------------------------------------
    def returned_kind(self, function: cst.FunctionDef) -> Optional[str]:
        """'softmax' or 'sigmoid' when every return of `function` returns that shape (by body)."""
        if function in self._returns:
            return self._returns[function]
        self._returns[function] = None  # recursion guard
        returns = [node for node in self.index.nodes_in(function, cst.Return) if node.value is not None]
        kinds: set[Optional[str]] = set()
        scope = self.scope(function)
        for node in returns:
            order = scope.order_of(node, self.analysis)
            assert node.value is not None
            kinds.add(self.kind_of(node.value, scope, order, depth=1))
        result = kinds.pop() if len(kinds) == 1 else None
        self._returns[function] = result
        return result

    def kind_of(self, node: cst.BaseExpression, scope: Scope, order: int, depth: int = 0, imported: bool = False) -> Optional[str]:
        """'softmax' / 'sigmoid' when `node` is the output of one (by body), else None. `imported`: also
        a call of such a function imported from another module of the package (`_imported_kind`)."""
        if depth > 4:
            return None
        node = _unwrap(node)
        if type(node) is cst.Name:
            bindings = scope.before(node.value, order)
            if bindings and bindings[-1].augmented is not None:
                aug = bindings[-1].augmented
                if type(aug.operator) is cst.DivideAssign and self.softmax_parts(aug.target, aug.value, scope, bindings[-1].order):  # type: ignore[arg-type]
                    return "softmax"
                return None
            value = self.value_of(node, scope, order)
            if value is node:
                return None
            return self.kind_of(value, scope, bindings[-1].order, depth + 1, imported)
        if type(node) is cst.Attribute:
            binding = self.own_attribute_binding(node, scope, order)
            if binding is None or binding.value is None or binding.augmented is not None:
                return None
            return self.kind_of(binding.value, scope, binding.order, depth + 1, imported)
        if type(node) is cst.BinaryOperation and type(node.operator) is cst.Divide:
            if self.softmax_parts(node.left, node.right, scope, order) is not None:
                return "softmax"
            if self.sigmoid_argument(node) is not None:
                return "sigmoid"
            return None
        if type(node) is cst.Call:
            qualified = self.qualified(node.func) or ""
            last = qualified.rsplit(".", 1)[-1]
            if qualified.startswith(("scipy.special.", "torch.", "jax.nn.", "tensorflow.")) and last in ("softmax", "expit", "sigmoid"):
                return "softmax" if last == "softmax" else "sigmoid"
            if type(node.func) is cst.Attribute and last in ("softmax", "sigmoid") and qualified.startswith(("torch.", "F.")):
                return last
            target = self.local_function(node)
            if target is not None:
                return self.returned_kind(target)
            operation = self.operation(node)
            if operation in TRANSPARENT:  # `sigmoid(z).astype(np.float32)`, `np.asarray(p)`: the same values
                inner = self.operand(node) if operation not in ("float", "tensor", "as_tensor") else _first_arg(node)
                if inner is not None and inner is not node:
                    return self.kind_of(inner, scope, order, depth + 1, imported)
            if imported:
                return self._imported_kind(node)
        return None

    def own_attribute_binding(self, node: cst.Attribute, scope: Scope, order: int) -> Optional[Binding]:
        """The binding of `self.x` (`node`) made earlier in this method and still in effect at `order`:
        nothing in between calls a method of `self` or hands `self` to a call (either may re-bind it),
        and it is not written into before."""
        dotted = dotted_name(node)
        if dotted is None or not dotted.startswith("self.") or dotted.count(".") != 1:
            return None
        bindings = scope.before(dotted, order)
        if not bindings or scope.mutated_before(dotted, order):
            return None
        binding = bindings[-1]
        analysis = self.analysis
        for call in self.index.nodes_in(scope.function, cst.Call):
            if not binding.order < scope.order_of(call, analysis) < order:
                continue
            callee = dotted_name(call.func)
            if callee is None or callee.startswith("self.") or any(
                type(arg.value) is cst.Name and arg.value.value == "self" for arg in call.args
            ):
                return None  # a method of self (or `super().clip()`: no dotted callee) or a call handed self may re-bind it
        for attribute in self.index.nodes_in(scope.function, cst.Attribute):
            if dotted_name(attribute) == dotted and binding.order < scope.order_of(attribute, analysis) < order:
                return None  # used in between: maybe written into (`self.p[self.p < eps] = eps`, `out=self.p`)
        if any(type(b.value) is cst.Name and b.value.value == "self" for bindings in scope.bindings.values() for b in bindings):
            return None  # `me = self`: the attribute has another name
        return binding

    def _imported_kind(self, call: cst.Call) -> Optional[str]:
        """'softmax' / 'sigmoid' returned (by body) by the function `call` calls in another module of the
        package (`from sigmoid import sigmoid`, `utils.sigmoid(z)`: the Andrew Ng ports keep the sigmoid
        in a file of its own), asked only when the name called says softmax, sigmoid or expit: the words
        GL303's pre-check reads in the text of the module that calls it."""
        name = dotted_name(call.func)
        if name is None or name.startswith("self.") or not _SOURCE_WORD.search(name.rsplit(".", 1)[-1]):
            return None
        head = name.split(".", 1)[0]
        caller = self.scope_of(call)
        if head in caller.params or head in caller.bindings:
            return None  # the module's name is shadowed by a parameter or a local (`def loss(utils, x)`)
        from gradlint.analysis.gradient_flow import imported_function

        found = imported_function(self.analysis, name)
        if found is None:
            return None
        assert type(found.node) is cst.FunctionDef
        return numerics(found.analysis).returned_kind(found.node)

    def local_function(self, call: cst.Call) -> Optional[cst.FunctionDef]:
        """The module-level function (or same-class method, `self.f(...)`) a call calls."""
        if self._functions_by_name is None:
            found: dict[str, list[cst.FunctionDef]] = {}
            for function in self.index.nodes(cst.FunctionDef):
                found.setdefault(function.name.value, []).append(function)
            self._functions_by_name = found
        name = dotted_name(call.func)
        if name is None:
            return None
        if "." in name:
            head, _, rest = name.partition(".")
            if head != "self" or "." in rest:
                return None
            caller = self.index.function_containing(call)
            owner = self.index.class_of(caller) if caller is not None else None
            if owner is None:
                return None
            return self.index.methods(owner).get(rest)
        candidates = [f for f in self._functions_by_name.get(name, ()) if self.index.class_of(f) is None]
        return candidates[0] if len(candidates) == 1 else None

    # -- probabilities -------------------------------------------------------------------
    def probability_source(self, node: cst.BaseExpression, scope: Scope, order: int, imported: bool = False) -> Optional[str]:
        """'softmax'/'sigmoid' when `node` (a name or subscript of one, unguarded) holds such an
        output computed in this scope; None otherwise (including when a guard intervenes).
        `imported`: as for `kind_of`."""
        node = _unwrap(node)
        if type(node) is cst.Subscript:
            node = _unwrap(node.value)
        if type(node) is cst.Subscript:  # `ps[t][targets[t], 0]`: the entry `ps[t]` stored this step
            stored = self.element_stored(node, scope, order)
            if stored is None or type(node.value) is not cst.Name or scope.compared_before(node.value.value, order):
                return None
            return self.kind_of(stored[1], scope, stored[0], imported=imported)
        if type(node) is cst.Attribute:  # `self.sig_out = 1 / (1 + np.exp(-x))` earlier in this method
            return self.kind_of(node, scope, order, imported=imported)
        if type(node) is not cst.Name:
            return self.kind_of(node, scope, order, imported=imported) if type(node) is cst.Call else None
        name = node.value
        if scope.mutated_before(name, order) or scope.compared_before(name, order):
            return None
        bindings = scope.before(name, order)
        if not bindings:
            return None
        if any(binding.value is None and binding.augmented is None for binding in bindings):
            return None
        return self.kind_of(node, scope, order, imported=imported)

    def is_unguarded_parameter(self, node: cst.BaseExpression, scope: Scope, order: int) -> bool:
        """`node` is a parameter (or a subscript of one) not rebound, mutated or compared before."""
        node = _unwrap(node)
        if type(node) is cst.Subscript:
            node = _unwrap(node.value)
        if type(node) is not cst.Name or node.value not in scope.params or node.value in ("self", "cls"):
            return False
        name = node.value
        return not (scope.before(name, order) or scope.mutated_before(name, order) or scope.compared_before(name, order))

    def probability_paths(
        self, node: cst.BaseExpression, scope: Scope, order: int, entry_value: bool = False
    ) -> Optional[tuple["ProbabilityPath", ...]]:
        """How the value of `node` (read at `order`) comes from other arrays: followed through the
        bindings of names that can reach it (every branch), clips (`np.clip`, `np.maximum`, `clamp`:
        the path is guarded), value-preserving conversions (`np.asarray`, `.reshape`, `.copy()`),
        subscripts, the label pick `p[range(n), y]` and the one-hot sum `np.sum(p * y, axis=1)` (both
        select one entry of `p` per row: still a probability). One path per source; None when there
        are too many or they are too deep to follow. With `entry_value`, a parameter rebound only
        where the rebinding may not run (`if clip: p = np.clip(p, ...)`) also has a path from the
        value it was passed (the default path)."""
        found: list[ProbabilityPath] = []
        try:
            self._paths(node, scope, order, 0, False, frozenset(), None, found, entry_value)
        except _TooManyPaths:
            return None
        return tuple(found)

    def _paths(
        self,
        node: cst.BaseExpression,
        scope: Scope,
        order: int,
        depth: int,
        guarded: bool,
        weights: frozenset[str],
        selection: Optional[cst.CSTNode],
        found: list["ProbabilityPath"],
        entry_value: bool = False,
        zero_floor: Optional[cst.Call] = None,
    ) -> None:
        if depth > 8 or len(found) > 16:
            raise _TooManyPaths
        node = _unwrap(node)
        if type(node) is cst.Name:
            name = node.value
            if scope.mutated_before(name, order):
                # `p[p == 0] = eps`, `np.clip(p, a, b, out=p)`: a write may guard it; a clip written in
                # place whose floor is 0 (`np.clip(p, 0.0, 1.0, out=p)`) guards only `1 - p`, as a returned one
                floor = self._zero_floor_write(scope, name, order)
                if floor is None:
                    zero_floor = None
                elif not guarded:
                    zero_floor = floor
                guarded = True
            bindings = self._reaching_bindings(scope, name, order, node)
            if not bindings:
                found.append(ProbabilityPath(node, order, guarded, weights, selection, zero_floor))
                return
            for binding in bindings:
                if binding.value is None or binding.augmented is not None:
                    found.append(ProbabilityPath(None, binding.order, guarded, weights, selection, zero_floor))
                else:
                    self._paths(
                        binding.value, scope, binding.order, depth + 1, guarded, weights, selection, found, entry_value, zero_floor
                    )
            if entry_value and name in scope.params and not self._bound_on_every_path(scope, name, node):
                found.append(ProbabilityPath(node, order, guarded, weights, selection, zero_floor))
            return
        if type(node) is cst.Subscript:
            labels = _label_pick(self, node)
            if labels is not None:
                weights, selection = weights | {labels}, selection or node
            self._paths(node.value, scope, order, depth + 1, guarded, weights, selection, found, entry_value, zero_floor)
            return
        if type(node) is cst.Attribute and node.attr.value == "T":
            self._paths(node.value, scope, order, depth + 1, guarded, weights, selection, found, entry_value, zero_floor)
            return
        if type(node) is cst.Call:
            operation = self.operation(node)
            inner = self.operand(node) if operation not in ("float", "tensor", "as_tensor") else _first_arg(node)
            if operation in ("maximum", "fmax") and not self.is_method_call(node):
                # `np.maximum(0.0, p)`: the array is whichever operand is not the literal floor
                arrays = [arg.value for arg in node.args[:2] if arg.keyword is None and not arg.star and not _zero_or_less(_unwrap(arg.value))]
                inner = arrays[0] if len(arrays) == 1 else inner
            if inner is not None and operation in _CLIPS:
                if not self.floor_may_be_zero(node):
                    zero_floor = None
                elif not guarded:
                    zero_floor = node
                self._paths(inner, scope, order, depth + 1, True, weights, selection, found, entry_value, zero_floor)
                return
            if inner is not None and operation in TRANSPARENT:
                self._paths(inner, scope, order, depth + 1, guarded, weights, selection, found, entry_value, zero_floor)
                return
            factors = _product_factors(self, _unwrap(inner)) if inner is not None and operation in SUM else None
            if factors is not None and self.code(factors[0]) != self.code(factors[1]):  # not `sum(p * p)`
                first, second = factors
                for factor, other in ((first, second), (second, first)):
                    target = _target_name(_unwrap(other))
                    extra = weights | {target} if target is not None else weights
                    self._paths(factor, scope, order, depth + 1, guarded, extra, selection or node, found, entry_value, zero_floor)
                return
        found.append(ProbabilityPath(node, order, guarded, weights, selection, zero_floor))

    def _zero_floor_write(self, scope: Scope, name: str, order: int) -> Optional[cst.Call]:
        """The last in-place write to `name` before `order` when every such write is a clip that keeps
        0 in its range; else None."""
        writes = [at for at in scope.mutations.get(name, ()) if at < order]
        clips = [call for at, call in scope.clip_writes.get(name, ()) if at < order]
        if not clips or len(clips) != len(writes) or not all(self.floor_may_be_zero(call) for call in clips):
            return None
        return clips[-1]

    def floor_may_be_zero(self, call: cst.Call) -> bool:
        """Whether a clip keeps 0 in its range: its lower bound is a literal <= 0 or None, or absent
        (`np.clip(p, 0.0, 1.0)`, `np.maximum(p, 0)`, `p.clamp(max=1)`): no guard against `y / p`."""
        operation = self.operation(call)
        method = self.is_method_call(call)
        positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
        if any(arg.star for arg in call.args):
            return False
        if operation in ("maximum", "fmax"):
            # either operand may be the floor in the function form (`np.maximum(0.0, p)`, ReLU's order)
            candidates = positional[:1] if method else positional[:2]
            return any(_zero_or_less(_unwrap(bound)) for bound in candidates)
        elif operation == "clamp_min":
            bound = positional[0] if method and positional else positional[1] if len(positional) > 1 else keywords.get("min")
        elif operation in ("clip", "clamp", "clip_by_value"):
            at = 0 if method else 1
            bound = positional[at] if len(positional) > at else None
            for keyword in ("a_min", "min", "lower", "clip_value_min"):
                bound = keywords.get(keyword, bound)
            if bound is None:
                return len(positional) <= at and not keywords.keys() & {"a_min", "min", "lower", "clip_value_min"} and bool(
                    keywords.keys() & {"a_max", "max", "upper", "clip_value_max"}
                )
        else:
            return False
        if bound is None:
            return False
        return _zero_or_less(_unwrap(bound))

    def _bound_on_every_path(self, scope: Scope, name: str, use: cst.CSTNode) -> bool:
        """Whether every path from the function's start to `use` binds `name` (plainly, in a statement
        before it): an unconditional binding, an `if`/`else` binding it in every branch (or leaving),
        a `with` or `try` body binding it; a loop or a lone `if` may skip its body."""
        index = self.index
        child: cst.CSTNode = use
        for ancestor in index.ancestors(use):
            if type(ancestor) is cst.FunctionDef:
                return False
            if type(ancestor) in (cst.IndentedBlock, cst.SimpleStatementLine, cst.SimpleStatementSuite):
                for item in ancestor.body:
                    if item is child:
                        break
                    if self._binds(scope, name, item):
                        return True
            child = ancestor
        return False

    def _binds(self, scope: Scope, name: str, statement: cst.CSTNode, depth: int = 0) -> bool:
        """`statement` binds `name` (or leaves the function) on every path through it."""
        if depth > 6:
            return False
        if type(statement) is cst.SimpleStatementLine:
            return any(self._binds(scope, name, item, depth) for item in statement.body)
        if type(statement) in (cst.Return, cst.Raise):
            return True
        if type(statement) in (cst.Assign, cst.AnnAssign, cst.AugAssign):
            return any(binding.statement is statement for binding in scope.bindings.get(name, ()))
        if type(statement) is cst.If:
            if statement.orelse is None:
                return False
            other = statement.orelse if type(statement.orelse) is cst.If else statement.orelse.body
            return self._block_binds(scope, name, statement.body, depth) and (
                self._binds(scope, name, other, depth + 1) if type(other) is cst.If else self._block_binds(scope, name, other, depth)
            )
        if type(statement) is cst.With:
            return self._block_binds(scope, name, statement.body, depth)
        return False

    def _block_binds(self, scope: Scope, name: str, block: cst.BaseSuite, depth: int) -> bool:
        return any(self._binds(scope, name, item, depth + 1) for item in block.body)  # type: ignore[attr-defined]

    def _reaching_bindings(self, scope: Scope, name: str, order: int, use: cst.CSTNode) -> list[Binding]:
        """The bindings of `name` before `order` whose value may be the one read at `use`: the last
        one, and the ones before it as long as each later one sits in a branch or loop body (an
        `if`, `for`, `while`, `try` or `match` statement) that does not also hold the use."""
        bindings = scope.before(name, order)
        if len(bindings) <= 1:
            return bindings
        index = self.index
        holding_use = {id(ancestor) for ancestor in index.ancestors(use)}
        reaching: list[Binding] = []
        for binding in reversed(bindings):
            reaching.append(binding)
            conditional = False
            for ancestor in index.ancestors(binding.statement):
                if type(ancestor) is cst.FunctionDef:
                    break
                if type(ancestor) in _CONDITIONAL_STATEMENTS and id(ancestor) not in holding_use:
                    conditional = True
                    break
            if not conditional:
                break
        return reaching

    # -- misc ----------------------------------------------------------------------------
    def code(self, node: Optional[cst.CSTNode]) -> str:
        return self.analysis.code_for(node) if node is not None else ""


@dataclass(frozen=True)
class ProbabilityPath:
    """One way a value comes from a source (see `Numerics.probability_paths`).

    `end` is where the path stops: a name with no binding before (a parameter, a global), or an
    expression not followed further (a call, an arithmetic expression, an attribute); None when a
    binding gives no value to follow (a loop variable, an augmented assignment). `order` is where
    `end` is read; `guarded` says a clip (or an in-place write) lies on the way; `weights` are the
    target names that selected entries on the way (the labels of `p[range(n), y]`, the other factor
    of `np.sum(p * y, axis=1)`) and `selection` the first selecting expression met (None: none);
    `zero_floor` is the clip when the path is guarded only by clips whose lower bound is 0 or less."""

    end: Optional[cst.BaseExpression]
    order: int
    guarded: bool
    weights: frozenset[str]
    selection: Optional[cst.CSTNode]
    # the clip, when every guard on the way is a clip that keeps 0 in range (`np.clip(p, 0.0, 1.0)`)
    zero_floor: Optional[cst.Call] = None


class _TooManyPaths(Exception):
    """Raised to give up on a trace that branches or nests too much."""


# The names of the sources `kind_of` may follow into another module (the words of GL303's pre-check).
_SOURCE_WORD = re.compile(r"softmax|sigmoid|expit")
# Calls that bound their argument away from 0 when used on a probability.
# The position of numpy's positional `out` argument: np.clip(a, lo, hi, out), np.maximum(a, b, out).
_POSITIONAL_OUT = {"clip": 3, "maximum": 2, "minimum": 2, "fmax": 2, "fmin": 2}
_CLIPS = frozenset({"clip", "clamp", "clamp_min", "maximum", "fmax", "clip_by_value"})
# Statements whose body may not run (or runs again): a binding inside does not end a trace.
_CONDITIONAL_STATEMENTS = (cst.If, cst.Else, cst.For, cst.While, cst.Try, cst.Match)


@dataclass(frozen=True)
class SoftmaxShape:
    """`exp(a) / sum(exp(b))`: the numerator's exp, the normaliser's exp, and the sum call."""

    numerator_exp: cst.BaseExpression
    denominator_exp: cst.BaseExpression
    total: cst.Call


def divisions(analysis: "ModuleAnalysis") -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression, cst.CSTNode]]:
    """(numerator, denominator, node) for every `a / b` and `a /= b` (on a name or attribute), and for
    every product with a reciprocal, `a * (1 / b)` or `np.multiply(a, 1 / b)` (node: the product)."""
    for node in analysis.index.nodes(cst.BinaryOperation):
        if type(node.operator) is cst.Divide:
            yield node.left, node.right, node
        elif type(node.operator) is cst.Multiply:
            for factor, other in ((node.right, node.left), (node.left, node.right)):
                denominator = reciprocal_of(factor)
                if denominator is not None:
                    yield other, denominator, node
    for node in analysis.index.nodes(cst.AugAssign):
        if type(node.operator) is cst.DivideAssign and type(node.target) in (cst.Name, cst.Attribute):
            yield node.target, node.value, node
    model = numerics(analysis)
    for call in analysis.index.nodes(cst.Call):
        func = call.func
        written = func.attr.value if type(func) is cst.Attribute else func.value if type(func) is cst.Name else None
        if written != "multiply":
            continue  # `operation` is the name as written: no other call can be np.multiply
        parts = reciprocal_product(model, call)
        if parts is not None:
            yield parts[0], parts[1], call


def reciprocal_of(node: cst.BaseExpression) -> Optional[cst.BaseExpression]:
    """`b` for the reciprocal `1 / b` (parentheses aside), else None."""
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Divide and _is_number(node.left, 1):
        return node.right
    return None


def reciprocal_product(model: "Numerics", call: cst.Call) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(a, b) for `np.multiply(a, 1 / b)` or `np.multiply(1 / b, a)`, else None."""
    if model.operation(call) != "multiply" or model.is_method_call(call):
        return None
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    if len(positional) != 2 or len(call.args) != 2:
        return None
    for factor, other in ((positional[1], positional[0]), (positional[0], positional[1])):
        denominator = reciprocal_of(factor)
        if denominator is not None:
            return other, denominator
    return None


def numerics(analysis: "ModuleAnalysis") -> Numerics:
    """The numeric model of a module, built once per analysis (and let go with it)."""
    return analysis.model("numerics", Numerics)


# -- small syntax helpers ------------------------------------------------------------------
def _zero_or_less(bound: cst.BaseExpression) -> bool:
    """A clip's lower bound that lets 0 through: None, a negated number, a literal <= 0."""
    if _is_none(bound):
        return True
    if type(bound) is cst.UnaryOperation and type(bound.operator) is cst.Minus and _is_number(bound.expression):
        return True
    if type(bound) in (cst.Integer, cst.Float) and not prefixed_integer(bound):
        number = literal_float(bound)
        return number is not None and number <= 0.0
    return False


def _unwrap(node: cst.BaseExpression) -> cst.BaseExpression:
    """libcst keeps parentheses on the node itself; nothing to unwrap but kept for clarity."""
    return node


def _sub_blocks(node: cst.CSTNode) -> Iterator[cst.BaseSuite]:
    for name in ("body", "orelse", "finalbody"):
        child = getattr(node, name, None)
        if type(child) in (cst.IndentedBlock, cst.SimpleStatementSuite):
            yield child
        elif type(child) in (cst.Else, cst.Finally):
            yield child.body
        elif type(child) is cst.If:  # elif
            yield from _elif_blocks(child)
    for handler in getattr(node, "handlers", ()) or ():
        yield handler.body
    if type(node) is cst.Match:
        for case in node.cases:
            yield case.body


def _elif_blocks(node: cst.If) -> Iterator[cst.BaseSuite]:
    yield node.body
    if type(node.orelse) is cst.Else:
        yield node.orelse.body
    elif type(node.orelse) is cst.If:
        yield from _elif_blocks(node.orelse)


def _subscript_root(node: cst.CSTNode) -> Optional[str]:
    current = node
    while type(current) is cst.Subscript:
        current = current.value
    if type(current) is cst.Name:
        return current.value
    return None


def _unpacked(target: cst.CSTNode, value: Optional[cst.BaseExpression]) -> list[Optional[cst.BaseExpression]]:
    """The value each element of a tuple/list target receives: `a, b = x, y` binds `a` to `x` and `b`
    to `y` (the right side is evaluated before any element is bound, so a swap `a, b = b, a` reads the
    old values, as `Scope.before` does); None for each element when the value is not a literal tuple or
    list of the same length without a starred element (`a, b = f()`, `a, *b = x, y, z`)."""
    elements = target.elements  # type: ignore[attr-defined]
    unknown: list[Optional[cst.BaseExpression]] = [None] * len(elements)
    if value is None or type(value) not in (cst.Tuple, cst.List):
        return unknown
    values = value.elements  # type: ignore[attr-defined]
    if len(values) != len(elements):
        return unknown
    if any(type(element) is cst.StarredElement for element in (*elements, *values)):
        return unknown
    return [element.value for element in values]


# A comparison of these calls or of ARRAY_METADATA says nothing about an array's values
# (`if len(y.shape) == 2`, `p.ndim > 1`).
_SHAPE_CALLS = frozenset({"len", "isinstance", "type", "ndim", "shape", "size", "hasattr"})


def _names_in_expression(node: cst.CSTNode) -> set[str]:
    """Names in a comparison's operands (`p`, `p[i]`, `np.all(p > 0)`...); not those only asked for
    their shape or type (`len(y.shape) == 2`, `p.ndim > 1`), which guard no value."""
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.Name:
            found.add(current.value)
        elif type(current) is cst.Attribute:
            if current.attr.value not in ARRAY_METADATA:
                stack.append(current.value)
        elif type(current) is cst.Comparison:
            stack.append(current.left)
            stack.extend(target.comparator for target in current.comparisons)
        elif type(current) is cst.Subscript:
            stack.append(current.value)
        elif type(current) is cst.Call:
            callee = dotted_name(current.func) or ""
            if callee.rsplit(".", 1)[-1] not in _SHAPE_CALLS:
                stack.extend(arg.value for arg in current.args)
        elif type(current) is cst.BinaryOperation:
            stack.extend((current.left, current.right))
        elif type(current) is cst.UnaryOperation:
            stack.append(current.expression)
        elif type(current) is cst.BooleanOperation:
            stack.extend((current.left, current.right))
    return found


def _first_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[0].value if positional else None


def _is_none(node: cst.CSTNode) -> bool:
    return type(node) is cst.Name and node.value == "None"


def _is_number(node: cst.CSTNode, value: Union[int, float, None] = None) -> bool:
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        return value is None and _is_number(node.expression)
    if type(node) in (cst.Integer, cst.Float):
        if value is None:
            return True
        if prefixed_integer(node):
            return False  # the rules' pre-check needs spell the number in decimal (registry._GL304_ONE)
        number = literal_float(node)
        return number is not None and number == float(value)
    return False


def is_number(node: cst.CSTNode, value: Union[int, float, None] = None) -> bool:
    """A numeric literal (optionally equal to `value`)."""
    return _is_number(node, value)


def unwrap(node: cst.BaseExpression) -> cst.BaseExpression:
    return _unwrap(node)


def subscript_root(node: cst.CSTNode) -> Optional[str]:
    return _subscript_root(node)


def first_arg(call: cst.Call) -> Optional[cst.BaseExpression]:
    return _first_arg(call)


# -- cross-entropy shapes --------------------------------------------------------------------
def cross_entropy_weights(model: Numerics, call: cst.Call, probability: cst.BaseExpression) -> Optional[frozenset[str]]:
    """The target names weighting `log(p)` in a cross-entropy, or None when the log is not one.

    A cross-entropy term is `y * log(p)` (also `(1 - y) * log(1 - p)`, `np.multiply(y, log(p))`,
    `np.dot(y, log(p))`) with the log a direct operand of the product and `y` a plain array name,
    or `log(p[range(n), y])` (the labels pick one entry per row); in both cases the term must be
    negated or reduced (sum/mean) in the same statement. For the label pick the result holds the
    labels' name."""
    index = model.analysis.index
    weights: set[str] = set()
    own = subscript_root(probability)
    if type(probability) is cst.Subscript:
        labels = _label_pick(model, probability)
        if labels is not None:
            weights.add(labels)
    child: cst.CSTNode = call
    parent = index.parent(call)
    # `-log(p)` as the operand of the product
    if type(parent) is cst.UnaryOperation and type(parent.operator) is cst.Minus:
        child, parent = parent, index.parent(parent)
    if type(parent) is cst.BinaryOperation and type(parent.operator) is cst.Multiply:
        other = parent.right if parent.left is child else parent.left
        target = _target_name(other)
        if target is None:
            target = _negated_bce_target(model, call, other)
        if target is not None and target != own:
            weights.add(target)
    elif type(parent) is cst.Arg:
        outer = index.parent(parent)
        if type(outer) is cst.Call and model.operation(outer) in ("multiply", "dot", "inner", "vdot"):
            for arg in outer.args:
                if arg is not parent:
                    target = _target_name(arg.value)
                    if target is not None and target != own:
                        weights.add(target)
    if not weights or not in_loss_term(model, call):
        return None
    return frozenset(weights)


def _negated_bce_target(model: Numerics, call: cst.Call, factor: cst.BaseExpression) -> Optional[str]:
    """`y` for the factor `-y` of `-y * log(p)` when the same statement also weights a log by the
    complement `1 - y`: the binary cross-entropy `-y * log(p) - (1 - y) * log(1 - p)` (numpy-nn's),
    whose first term then counts like its second. A lone `-b * log(c)` is no cross-entropy."""
    if not (type(factor) is cst.UnaryOperation and type(factor.operator) is cst.Minus):
        return None
    name = _target_name(factor.expression)
    if name is None or type(factor.expression) is cst.BinaryOperation:
        return None
    statement = model.analysis.index.statement_of(call)
    if type(statement) is not cst.SimpleStatementLine:
        return None  # a log in a compound statement's header: not walked
    for node in walk(statement):
        if node is call or type(node) is not cst.Call or model.operation(node) != "log":
            continue
        parent = model.analysis.index.parent(node)
        if type(parent) is cst.BinaryOperation and type(parent.operator) is cst.Multiply:
            other = parent.right if parent.left is node else parent.left
            if type(other) is cst.BinaryOperation and _target_name(other) == name:
                return name  # `(1 - y) * log(1 - p)` beside it
    return None


def in_loss_term(model: Numerics, call: cst.Call) -> bool:
    """The call is negated (`-log(p)`) or reduced (a sum/mean/dot of it) in its own statement, outside
    any comprehension: the shape of a negative log-likelihood."""
    index = model.analysis.index
    for ancestor in index.ancestors(call):
        if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.Lambda, cst.FunctionDef)):
            return False
        if type(ancestor) in (cst.GeneratorExp, cst.ListComp, cst.SetComp, cst.DictComp):
            return False
        if type(ancestor) is cst.UnaryOperation and type(ancestor.operator) is cst.Minus:
            return True
        if type(ancestor) is cst.Call and model.operation(ancestor) in ("sum", "mean", "nansum", "nanmean", "dot", "inner", "vdot"):
            return True
    return False


def _product_factors(model: Numerics, node: Optional[cst.BaseExpression]) -> Optional[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """(a, b) for the elementwise product `a * b` or `np.multiply(a, b)`, else None."""
    if node is None:
        return None
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Multiply:
        return node.left, node.right
    if type(node) is cst.Call and model.operation(node) == "multiply" and not model.is_method_call(node):
        positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
        if len(positional) == 2 and len(node.args) == 2:
            return positional[0], positional[1]
    return None


def _target_name(node: cst.BaseExpression) -> Optional[str]:
    """`y` for `y`, `y[i]`, `self.y`... and for the complement `1 - y`."""
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract and _is_number(node.left, 1):
        node = node.right
    if type(node) is cst.Subscript:
        return subscript_root(node)
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return dotted_name(node)
    return None


def target_name(node: cst.BaseExpression) -> Optional[str]:
    """`y` for `y`, `y[i]`, `self.y`... and for the complement `1 - y` (a target weighting a log)."""
    return _target_name(node)


def _label_pick(model: Numerics, node: cst.Subscript) -> Optional[str]:
    """The labels' name for `p[range(n), y]` / `p[np.arange(len(y)), y]`."""
    if len(node.slice) != 2:
        return None
    first, second = (element.slice for element in node.slice)
    if not (type(first) is cst.Index and type(second) is cst.Index):
        return None
    rows = first.value
    if type(rows) is not cst.Call:
        return None
    if model.operation(rows) != "arange" and dotted_name(rows.func) != "range":
        return None
    return _target_name(second.value)
