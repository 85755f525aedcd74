"""Local values, array layouts and Jacobian-shaped expressions.

What the Jacobian rules (GL102, GL103, GL105, GL203, GL205) share beyond the
module-level semantic model:

- `Scope`: the statements of one function in source order and the reaching
  definition of a local name at a use (straight-line only: a definition in a
  branch that does not enclose the use makes the value unknown).
- `layout`: whether an array expression is known to be 1-D (`FLAT`), a column
  `(n, 1)`, or a row `(1, n)`, from the evidence in the code (`reshape(-1, 1)`,
  `[:, None]`, `.ravel()`, a function mapped by `np.apply_along_axis`, rows of a
  batched array); `None` when the code does not say.
- `jacobian_terms`: an expression read as a signed sum of Jacobian parts
  (`diag(s)`, the outer product `s s^T`, a scalar product, an elementwise
  square), each tied to the vector it is built from.

Everything is computed on demand for the few candidate expressions a rule
finds, from the one module index; nothing walks the module again.
"""

from __future__ import annotations

import enum
import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

import libcst as cst

from gradlint.analysis import algebra
from gradlint.analysis.index import child_nodes
from gradlint.analysis.syntax import call_name, dotted_name, is_new_axis, last_part, literal_int, literal_string, walk

if TYPE_CHECKING:
    from gradlint.analysis import ModuleAnalysis
    from gradlint.analysis.semantics import ForwardInfo

_COMPOUND = (cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar, cst.Match)


# -- local definitions --------------------------------------------------------
@dataclass(frozen=True)
class Definition:
    """One binding of a local name: `value` is the bound expression, or None
    when the binding is not a plain `name = expr` (tuple unpacking, `+=`);
    `iterable` is set for a `for` target."""

    name: str
    statement: cst.CSTNode
    ordinal: int
    value: Optional[cst.BaseExpression]
    iterable: Optional[cst.BaseExpression] = None
    loop: Optional[cst.For] = None


class Scope:
    """The statements of one function (not nested defs) with their order."""

    def __init__(self, function: Optional[cst.FunctionDef], body: cst.CSTNode) -> None:
        self.function = function
        self.ordinal: dict[cst.CSTNode, int] = {}
        self.enclosing: dict[cst.CSTNode, tuple[cst.CSTNode, ...]] = {}
        self.definitions: dict[str, list[Definition]] = {}
        self.parameters: set[str] = set()
        if function is not None:
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                self.parameters.add(param.name.value)
        self._walk(body, ())

    def _walk(self, block: cst.CSTNode, outer: tuple[cst.CSTNode, ...]) -> None:
        statements: list[cst.CSTNode]
        if type(block) is cst.IndentedBlock:
            statements = list(block.body)
        elif type(block) is cst.SimpleStatementSuite:
            statements = [block]
        elif type(block) is cst.Module:
            statements = list(block.body)
        else:
            statements = []
        for statement in statements:
            self.ordinal[statement] = len(self.ordinal)
            self.enclosing[statement] = outer
            if type(statement) in (cst.SimpleStatementLine, cst.SimpleStatementSuite):
                for small in statement.body:
                    self._record(small, statement)
            elif type(statement) in (cst.FunctionDef, cst.ClassDef):
                self._bind(statement.name.value, statement, None)
            elif isinstance(statement, _COMPOUND):
                if type(statement) is cst.For:
                    for name in _target_names(statement.target):
                        self._bind(name, statement, None, iterable=statement.iter, loop=statement)
                if type(statement) is cst.With:
                    for item in statement.items:
                        if item.asname is not None:
                            for name in _target_names(item.asname.name):
                                self._bind(name, statement, None)
                for child in _child_blocks(statement):
                    self._walk(child, outer + (statement,))

    def _record(self, small: cst.BaseSmallStatement, statement: cst.CSTNode) -> None:
        if type(small) is cst.Assign:
            for target in small.targets:
                if type(target.target) is cst.Name:
                    self._bind(target.target.value, statement, small.value)
                else:
                    pairs = _unpacked(target.target, small.value)
                    for name, value in pairs:
                        self._bind(name, statement, value)
        elif type(small) is cst.AnnAssign and type(small.target) is cst.Name and small.value is not None:
            self._bind(small.target.value, statement, small.value)
        elif type(small) is cst.AugAssign and type(small.target) is cst.Name:
            self._bind(small.target.value, statement, None)

    def _bind(self, name: str, statement: cst.CSTNode, value: Optional[cst.BaseExpression], **extra: object) -> None:
        definitions = self.definitions.setdefault(name, [])
        definitions.append(Definition(name, statement, self.ordinal[statement], value, **extra))  # type: ignore[arg-type]

    # -- queries -------------------------------------------------------------
    def statement_at(self, analysis: "ModuleAnalysis", node: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The statement of this scope that holds `node`."""
        current: Optional[cst.CSTNode] = node
        while current is not None and current not in self.ordinal:
            current = analysis.index.parent(current)
        return current

    def reaching(self, analysis: "ModuleAnalysis", name: str, node: cst.CSTNode) -> Optional[Definition]:
        """The definition of `name` that reaches `node`, when it is unambiguous."""
        statement = self.statement_at(analysis, node)
        if statement is None:
            return None
        here = self.ordinal[statement]
        before = [d for d in self.definitions.get(name, ()) if d.ordinal < here]
        if not before:
            return None
        last = before[-1]
        chain = set(self.enclosing[statement])
        if not all(outer in chain for outer in self.enclosing[last.statement]):
            return None  # bound in a branch or loop that does not enclose the use
        if last.loop is not None and last.loop not in chain:
            return None  # a loop variable read after its loop
        return last

    def is_unbound_parameter(self, analysis: "ModuleAnalysis", name: str, node: cst.CSTNode) -> bool:
        """`name` is a parameter not rebound before `node`."""
        if name not in self.parameters:
            return False
        statement = self.statement_at(analysis, node)
        if statement is None:
            return False
        here = self.ordinal[statement]
        return not any(d.ordinal < here for d in self.definitions.get(name, ()))

    def is_rebound(self, name: str) -> bool:
        return bool(self.definitions.get(name))


def _child_blocks(statement: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for child in child_nodes(statement):
        if type(child) in (cst.IndentedBlock, cst.SimpleStatementSuite):
            yield child
        elif type(child) in (cst.If, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally, cst.MatchCase):
            yield from _child_blocks(child)


def _target_names(target: cst.BaseExpression) -> list[str]:
    if type(target) is cst.Name:
        return [target.value]
    if type(target) in (cst.Tuple, cst.List):
        names: list[str] = []
        for element in target.elements:
            names.extend(_target_names(element.value))
        return names
    return []


def _unpacked(target: cst.BaseExpression, value: cst.BaseExpression) -> list[tuple[str, Optional[cst.BaseExpression]]]:
    if type(target) in (cst.Tuple, cst.List):
        values = value.elements if type(value) in (cst.Tuple, cst.List) else None
        pairs: list[tuple[str, Optional[cst.BaseExpression]]] = []
        if values is not None and len(values) == len(target.elements):
            for element, item in zip(target.elements, values):
                pairs.extend(_unpacked(element.value, item.value))
        else:
            for element in target.elements:
                pairs.extend((name, None) for name in _target_names(element.value))
        return pairs
    if type(target) is cst.Name:
        return [(target.value, value)]
    return []


_SCOPES: "weakref.WeakKeyDictionary[ModuleAnalysis, dict[Optional[cst.FunctionDef], Scope]]" = (
    weakref.WeakKeyDictionary()
)


def scope_of(analysis: "ModuleAnalysis", function: Optional[cst.FunctionDef]) -> Scope:
    """The (cached) scope of `function`; None: the module's top level."""
    scopes = _SCOPES.setdefault(analysis, {})
    scope = scopes.get(function)
    if scope is None:
        scope = Scope(function, function.body if function is not None else analysis.module)
        scopes[function] = scope
    return scope


def scope_for(analysis: "ModuleAnalysis", node: cst.CSTNode) -> Scope:
    return scope_of(analysis, analysis.index.function_containing(node))


def resolve(analysis: "ModuleAnalysis", node: cst.BaseExpression, depth: int = 4) -> cst.BaseExpression:
    """Follow a local name to the expression it is bound to (through plain
    aliases), as long as the binding is unambiguous."""
    current = node
    for _ in range(depth):
        if type(current) is not cst.Name:
            return current
        definition = scope_for(analysis, current).reaching(analysis, current.value, current)
        if definition is None or definition.value is None:
            return current
        current = definition.value
    return current


# -- layouts ----------------------------------------------------------------
class Layout(str, enum.Enum):
    """What the code says about an array's shape."""

    FLAT = "1-D"
    COLUMN = "column"
    ROW = "row"


_ELEMENTWISE = {"exp", "log", "tanh", "abs", "sqrt", "square", "maximum", "minimum", "clip", "negative", "copy", "array", "asarray"}
_FLATTENERS = {"ravel", "flatten", "squeeze"}


def _int_value(node: cst.BaseExpression) -> Optional[int]:
    return literal_int(node)  # as Python reads the literal (syntax.literal_number), or None


def _shape_args(call: cst.Call) -> list[cst.BaseExpression]:
    args = [a.value for a in call.args if a.keyword is None]
    if len(args) == 1 and type(args[0]) in (cst.Tuple, cst.List):
        return [e.value for e in args[0].elements]
    return args


def _layout_of_shape(shape: list[cst.BaseExpression]) -> Optional[Layout]:
    if len(shape) == 1:
        return Layout.FLAT
    if len(shape) == 2:
        first, second = (_int_value(s) for s in shape)
        if second == 1 and first != 1:
            return Layout.COLUMN
        if first == 1 and second != 1:
            return Layout.ROW
    return None


def _is_full_slice(node: cst.BaseSlice) -> bool:
    return type(node) is cst.Slice and node.lower is None and node.upper is None and node.step is None


def layout(analysis: "ModuleAnalysis", node: cst.BaseExpression, depth: int = 0) -> Optional[Layout]:
    """The layout the code establishes for `node`, or None when unknown."""
    if depth > 6:
        return None
    if type(node) is cst.Name:
        return _name_layout(analysis, node, depth)
    if type(node) is cst.Attribute:
        if node.attr.value == "T":
            inner = layout(analysis, node.value, depth + 1)
            return {Layout.FLAT: Layout.FLAT, Layout.COLUMN: Layout.ROW, Layout.ROW: Layout.COLUMN}.get(inner)  # type: ignore[arg-type]
        return None
    if type(node) is cst.Subscript:
        slices = [element.slice for element in node.slice]
        indices = [s.value if type(s) is cst.Index else None for s in slices]
        if len(slices) == 2:
            first, second = slices
            if _is_full_slice(first) and type(second) is cst.Index and is_new_axis(second.value):
                if layout(analysis, node.value, depth + 1) == Layout.FLAT:
                    return Layout.COLUMN
            if type(first) is cst.Index and is_new_axis(first.value) and _is_full_slice(second):
                if layout(analysis, node.value, depth + 1) == Layout.FLAT:
                    return Layout.ROW
            if _is_full_slice(first) and type(second) is cst.Index and _int_value(second.value) is not None:
                return Layout.FLAT
        if len(slices) == 1 and indices[0] is not None and is_new_axis(indices[0]):
            if layout(analysis, node.value, depth + 1) == Layout.FLAT:
                return Layout.ROW
        if len(slices) == 1 and indices[0] is not None and _int_value(indices[0]) in (0, -1):
            if layout(analysis, node.value, depth + 1) == Layout.ROW:
                return Layout.FLAT  # the one row of a (1, n) array
        return None
    if type(node) is cst.Call:
        name = call_name(node) or ""
        receiver = node.func.value if type(node.func) is cst.Attribute else None
        # `softmax(x).ravel()`: the method of a call's result has no dotted name
        method = node.func.attr.value if type(node.func) is cst.Attribute else last_part(name)
        if method == "reshape":
            shape = _shape_args(node)
            if receiver is not None and dotted_name(receiver) in {"np", "numpy"} and shape:
                shape = shape[1:]
            return _layout_of_shape(shape)
        if method in _FLATTENERS:
            return Layout.FLAT
        if method in {"zeros", "ones", "empty", "full"} and receiver is not None:
            args = [a.value for a in node.args if a.keyword is None]
            if args:
                shape_arg = args[0]
                if type(shape_arg) in (cst.Tuple, cst.List):
                    return _layout_of_shape([e.value for e in shape_arg.elements])
                if type(shape_arg) in (cst.Name, cst.Integer, cst.Call) and not (
                    type(shape_arg) is cst.Call and last_part(call_name(shape_arg)) == "shape"
                ):
                    return Layout.FLAT if not _is_shape_like(shape_arg) else None
        if method == "atleast_2d":
            args = [a.value for a in node.args]
            if args and layout(analysis, args[0], depth + 1) == Layout.FLAT:
                return Layout.ROW
        if method == "transpose" and receiver is not None and dotted_name(receiver) in {"np", "numpy"}:
            args = [a.value for a in node.args]
            if len(args) == 1:
                inner = layout(analysis, args[0], depth + 1)
                return {Layout.FLAT: Layout.FLAT, Layout.COLUMN: Layout.ROW, Layout.ROW: Layout.COLUMN}.get(inner)  # type: ignore[arg-type]
        if method in _ELEMENTWISE:
            args = [a.value for a in node.args if a.keyword is None]
            if args and method not in {"array", "asarray"}:
                return layout(analysis, args[0], depth + 1)
            if args and type(args[0]) is cst.List and args[0].elements and all(
                type(e.value) in (cst.Integer, cst.Float, cst.UnaryOperation) for e in args[0].elements
            ):
                return Layout.FLAT
        if type(node.func) in (cst.Name, cst.Attribute):
            return _forward_output_layout(analysis, node, depth)
        return None
    if type(node) is cst.BinaryOperation and type(node.operator) is not cst.MatrixMultiply:
        left = layout(analysis, node.left, depth + 1)
        right = layout(analysis, node.right, depth + 1)
        if left is not None and (right == left or _is_scalar(node.right)):
            return left
        if right is not None and _is_scalar(node.left):
            return right
    return None


# Column-vector code ((n, 1) arrays, Nielsen style): a softmax normalised by a whole-array sum
# is then a column, and `s @ s.T` its outer product.
_COLUMN_IDIOM = re.compile(
    r"reshape\s*\(\s*\(?\s*(?:-\s*1|[\w.\[\]]+)\s*,\s*1\s*\)"
    r"|\[\s*(?:\.\.\.\s*,\s*)?:\s*,\s*(?:None|\w+\.newaxis)\s*\]"
    r"|newaxis|expand_dims|atleast_2d|vstack|column_stack|\baxis\s*=\s*0\b"
    r"|\b(?:randn|rand|zeros|ones|empty|full|random|normal|uniform)\s*\([^()]*\(?\s*[\w.\[\]]+\s*,\s*1\s*\)"
)


def _forward_output_layout(analysis: "ModuleAnalysis", call: cst.Call, depth: int) -> Optional[Layout]:
    """The output of a nonlinearity defined here (by its body: `self._fwd(x_row)`,
    `softmax(x)`) has its input's layout; a whole-array softmax's is FLAT when nothing says
    otherwise (see `_whole_vector_softmax_layout`)."""
    if type(call.func) is cst.Attribute and dotted_name(call.func.value) in {"np", "numpy"}:
        return None
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    if len(args) != 1:
        return None
    if _called_forward(analysis, call) is None:
        return None
    argument_layout = layout(analysis, args[0], depth + 1)
    if argument_layout is not None:
        return argument_layout
    return _whole_vector_softmax_layout(analysis, call, depth) if type(call.func) is cst.Name else None


def _called_forward(analysis: "ModuleAnalysis", call: cst.Call) -> "Optional[ForwardInfo]":
    """The forward (by its body) of the one module function `call` resolves to, if any."""
    targets = analysis.semantics.resolve_call_targets(call)
    if len(targets) != 1 or type(targets[0].function) is not cst.FunctionDef:
        return None
    return analysis.semantics.forward_of(targets[0].function)


def whole_vector_softmax(analysis: "ModuleAnalysis", call: cst.Call) -> Optional[cst.BaseExpression]:
    """For `softmax(x)` calling a module function that (by its body) computes a softmax
    normalised by a sum over the whole array (`e / e.sum()`, no axis): that normaliser."""
    from gradlint.analysis.semantics import ForwardKind

    if type(call.func) is not cst.Name:
        return None
    info = _called_forward(analysis, call)
    if info is None or info.kind is not ForwardKind.SOFTMAX or type(info.node) is not cst.BinaryOperation:
        return None
    if type(info.node.operator) is not cst.Divide:
        return None
    normaliser = resolve(analysis, info.node.right)
    return normaliser if _is_scalar(normaliser) and type(normaliser) is cst.Call else None


def _whole_vector_softmax_layout(analysis: "ModuleAnalysis", call: cst.Call, depth: int) -> Optional[Layout]:
    """`softmax(x)` normalised by a whole-array sum (`whole_vector_softmax`) treats its input
    as one vector. That vector is 1-D unless it is a column: FLAT when the argument's layout
    is not known otherwise and the module shows no column-vector idiom (`reshape(-1, 1)`,
    `[:, None]`, `axis=0`, `zeros((n, 1))`)."""
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    if len(args) != 1 or whole_vector_softmax(analysis, call) is None:
        return None
    argument_layout = layout(analysis, args[0], depth + 1)
    if argument_layout is not None:
        return argument_layout
    memo = analysis.__dict__.get("_column_idiom")
    if memo is None:
        memo = analysis.__dict__["_column_idiom"] = (bool(_COLUMN_IDIOM.search(analysis.source)),)
    return None if memo[0] else Layout.FLAT


def _is_shape_like(node: cst.BaseExpression) -> bool:
    text = dotted_name(node.func) if type(node) is cst.Call else None
    return bool(text and text.endswith("shape"))


def _is_scalar(node: cst.BaseExpression) -> bool:
    """A number, or a full reduction (`np.sum(e)` with no axis)."""
    if type(node) in (cst.Integer, cst.Float):
        return True
    if type(node) is cst.Call and last_part(call_name(node)) in {"sum", "max", "min", "mean"}:
        return not any(a.keyword is not None and a.keyword.value == "axis" for a in node.args) and len(
            [a for a in node.args if a.keyword is None]
        ) <= (1 if type(node.func) is cst.Attribute and dotted_name(node.func.value) in {"np", "numpy"} else 0)
    return False


def _name_layout(analysis: "ModuleAnalysis", node: cst.Name, depth: int) -> Optional[Layout]:
    scope = scope_for(analysis, node)
    definition = scope.reaching(analysis, node.value, node)
    if definition is not None:
        if definition.value is not None:
            return layout(analysis, definition.value, depth + 1)
        if definition.iterable is not None and definition.loop is not None:
            return _loop_row_layout(analysis, definition)
        return None
    if scope.function is not None and scope.is_unbound_parameter(analysis, node.value, node):
        if node.value in _apply_along_axis_parameters(analysis, scope.function):
            return Layout.FLAT
    return None


def _loop_row_layout(analysis: "ModuleAnalysis", definition: Definition) -> Optional[Layout]:
    """A row of a batched array: `for out, g in zip(self.output, dvalues)` where
    `self.output` is normalised per row (`axis=1`/`-1`) in the class."""
    loop = definition.loop
    assert loop is not None
    iterable = loop.iter
    if type(iterable) is cst.Call and call_name(iterable) == "enumerate" and iterable.args:
        iterable = iterable.args[0].value
    sources: list[cst.BaseExpression]
    if type(iterable) is cst.Call and call_name(iterable) == "zip":
        sources = [a.value for a in iterable.args]
        position = _zip_position(loop.target, definition.name)
        if position is None or position >= len(sources):
            return None
        sources = [sources[position]]
    else:
        sources = [iterable]
    source = sources[0]
    if is_batched_rows(analysis, source):
        return Layout.FLAT
    return None


def _zip_position(target: cst.BaseExpression, name: str) -> Optional[int]:
    """Where `name` sits in `a, b` or `i, (a, b)` (the enumerate form)."""
    if type(target) in (cst.Tuple, cst.List):
        elements = [e.value for e in target.elements]
        if len(elements) == 2 and type(elements[1]) in (cst.Tuple, cst.List) and type(elements[0]) is cst.Name:
            elements = [e.value for e in elements[1].elements]
        for position, element in enumerate(elements):
            if type(element) is cst.Name and element.value == name:
                return position
    return None


_AXIS_ROWS = re.compile(r"\baxis\s*=\s*(1|-1)\b")


def is_batched_rows(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> bool:
    """`node` is (per the code) a 2-D batch normalised along its rows: a
    `self.attr` assigned, in its class, a value reduced with `axis=1`/`-1`."""
    name = dotted_name(node)
    if not name or not name.startswith("self."):
        return False
    function = analysis.index.function_containing(node)
    cls = analysis.index.class_of(function) if function is not None else None
    if cls is None:
        return False
    for method in analysis.index.methods(cls).values():
        for assign in analysis.index.nodes_in(method, cst.Assign):
            for target in assign.targets:
                if dotted_name(target.target) == name:
                    value = assign.value
                    texts = [analysis.code_for(value)]
                    for inner in walk(value):
                        if type(inner) is cst.Name:
                            definition = scope_of(analysis, method).reaching(analysis, inner.value, inner)
                            if definition is not None and definition.value is not None:
                                texts.append(analysis.code_for(definition.value))
                    if any(_AXIS_ROWS.search(text) for text in texts):
                        return True
    return False


def _apply_along_axis_parameters(analysis: "ModuleAnalysis", function: cst.FunctionDef) -> set[str]:
    """The first parameter of `function` when it is mapped over 1-D slices by
    `np.apply_along_axis(function, ...)` in this module."""
    name = function.name.value
    for call in analysis.index.nodes(cst.Call):
        if last_part(call_name(call)) == "apply_along_axis" and call.args:
            first = call.args[0].value
            if type(first) is cst.Name and first.value == name:
                params = function.params.params
                if params:
                    return {params[0].name.value}
    return set()


# -- Jacobian parts -----------------------------------------------------------
class Part(str, enum.Enum):
    DIAG = "diagonal"  # diag(s), diagflat(s), eye * s, einsum with eye
    OUTER = "outer"  # s s^T in any spelling
    SCALAR = "scalar"  # s . s written as if it were s s^T
    SQUARE = "square"  # s*s, s**2, s (elementwise, broadcast along rows)
    TRANSPOSED = "transposed"  # s @ s.T / s.T @ s with the layout of s unknown


@dataclass(frozen=True)
class JacobianPart:
    """One signed term of a Jacobian-shaped sum."""

    kind: Part
    vector: str  # the base vector's key (source text after layout changes)
    node: cst.BaseExpression
    sign: int
    detail: str = ""  # e.g. "np.diag" vs "np.diagflat", or the 1-D evidence


def signed_terms(node: cst.BaseExpression, sign: int = 1, limit: int = 64) -> list[tuple[int, cst.BaseExpression]]:
    """`a - b + (-c)` as [(+1, a), (-1, b), (-1, c)] (iterative: chains can be long)."""
    terms: list[tuple[int, cst.BaseExpression]] = []
    stack: list[tuple[int, cst.BaseExpression]] = [(sign, node)]
    while stack:
        if len(terms) + len(stack) > limit:
            return [(sign, node)]
        current_sign, current = stack.pop()
        if type(current) is cst.BinaryOperation and type(current.operator) in (cst.Add, cst.Subtract):
            right_sign = current_sign if type(current.operator) is cst.Add else -current_sign
            stack.append((right_sign, current.right))
            stack.append((current_sign, current.left))
        elif type(current) is cst.UnaryOperation and type(current.operator) is cst.Minus:
            stack.append((-current_sign, current.expression))
        elif (
            type(current) is cst.Call
            and last_part(call_name(current)) in {"add", "subtract"}
            and _numpy_call(current)
            and len(current.args) == 2
            and all(a.keyword is None and not a.star for a in current.args)
        ):
            second = current_sign if last_part(call_name(current)) == "add" else -current_sign
            stack.append((second, current.args[1].value))
            stack.append((current_sign, current.args[0].value))
        else:
            terms.append((current_sign, current))
    return terms


def _numpy_call(call: cst.Call) -> bool:
    return type(call.func) is cst.Attribute and dotted_name(call.func.value) in {"np", "numpy"}


def _positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [a.value for a in call.args if a.keyword is None and not a.star]


def is_eye(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> bool:
    """`np.eye(n)`, `np.identity(n)` (or a local name bound to one)."""
    node = resolve(analysis, node)
    if type(node) is cst.Subscript:  # np.eye(n)[None]
        node = node.value
    return type(node) is cst.Call and last_part(call_name(node)) in {"eye", "identity"}


def _strip_layout(node: cst.BaseExpression) -> tuple[cst.BaseExpression, str]:
    """The vector under `.T`, `.reshape(..)`, `[:, None]`, `np.transpose(..)`,
    `.ravel()`; and a tag of the changes applied (for telling factors apart)."""
    tags: list[str] = []
    current = node
    while True:
        if type(current) is cst.Attribute and current.attr.value == "T":
            tags.append("T")
            current = current.value
        elif type(current) is cst.Call and last_part(call_name(current)) in {"reshape", "ravel", "flatten", "squeeze"} and type(current.func) is cst.Attribute and dotted_name(current.func.value) not in {"np", "numpy"}:
            tags.append(f"reshape{len(_shape_args(current))}:" + ",".join(str(_int_value(a)) for a in _shape_args(current)))
            current = current.func.value
        elif type(current) is cst.Call and last_part(call_name(current)) == "transpose" and _numpy_call(current) and len(current.args) == 1:
            tags.append("T")
            current = current.args[0].value
        elif type(current) is cst.Subscript and any(
            type(e.slice) is cst.Index and is_new_axis(e.slice.value) for e in current.slice
        ) and all(
            (type(e.slice) is cst.Index and (is_new_axis(e.slice.value) or type(e.slice.value) is cst.Ellipsis))
            or _is_full_slice(e.slice)
            for e in current.slice
        ):
            pattern = ",".join("N" if type(e.slice) is cst.Index and is_new_axis(e.slice.value) else "." for e in current.slice)
            tags.append(f"[{pattern}]")
            current = current.value
        else:
            return current, "/".join(tags)


def vector_key(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> str:
    """The base vector of an expression (through layout changes and local
    aliases such as `s_col = s.reshape(-1, 1)`), as comparable text."""
    base, _ = _strip_layout(node)
    for _ in range(3):
        if type(base) is not cst.Name:
            break
        resolved = resolve(analysis, base, depth=1)
        if resolved is base:
            break
        inner, tags = _strip_layout(resolved)
        if not tags:
            break
        base = inner
    return analysis.code_for(base)


def _none_position(node: cst.BaseExpression) -> Optional[str]:
    """'col' for x[:, None] / x[..., :, None], 'row' for x[None, :] / x[..., None, :]."""
    if type(node) is not cst.Subscript:
        return None
    entries = [e.slice for e in node.slice]
    nones = [i for i, e in enumerate(entries) if type(e) is cst.Index and is_new_axis(e.value)]
    if len(nones) != 1:
        return None
    return "col" if nones[0] == len(entries) - 1 else "row"


def _einsum_inputs(call: cst.Call) -> Optional[tuple[list[str], str, list[cst.BaseExpression]]]:
    args = _positional(call)
    spec = literal_string(args[0]) if args else None
    if spec is None or "->" not in spec:
        return None
    inputs, output = spec.replace(" ", "").split("->", 1)
    return inputs.split(","), output, args[1:]


def classify(analysis: "ModuleAnalysis", node: cst.BaseExpression, sign: int = 1) -> Optional[JacobianPart]:
    """What Jacobian part `node` is, if any (a local name is read through its binding)."""
    if type(node) is cst.Name:
        bound = resolve(analysis, node, depth=1)
        if bound is node or type(bound) is cst.Name:
            return None
        node = bound
    if type(node) is cst.Call:
        name = last_part(call_name(node))
        args = _positional(node)
        if name in {"diag", "diagflat"} and len(args) == 1:
            return JacobianPart(Part.DIAG, vector_key(analysis, args[0]), node, sign, detail=name)
        if name == "outer" and len(args) == 2:
            a, b = (vector_key(analysis, x) for x in args)
            if a == b:
                return JacobianPart(Part.OUTER, a, node, sign)
            return None
        if name in {"dot", "matmul"} and (len(args) == 2 or (len(args) == 1 and type(node.func) is cst.Attribute and not _numpy_call(node))):
            left, right = (args[0], args[1]) if len(args) == 2 else (node.func.value, args[0])  # type: ignore[attr-defined]
            return _product_part(analysis, node, left, right, sign)
        if name == "square" and len(args) == 1:
            return JacobianPart(Part.SQUARE, vector_key(analysis, args[0]), node, sign)
        if name == "multiply" and len(args) == 2:
            return _elementwise_part(analysis, node, args[0], args[1], sign)
        if name == "einsum":
            return _einsum_part(analysis, node, sign)
        return None
    if type(node) is cst.BinaryOperation:
        if type(node.operator) is cst.MatrixMultiply:
            return _product_part(analysis, node, node.left, node.right, sign)
        if type(node.operator) is cst.Multiply:
            return _elementwise_part(analysis, node, node.left, node.right, sign)
        if type(node.operator) is cst.Power and _int_value(node.right) == 2:
            return JacobianPart(Part.SQUARE, vector_key(analysis, node.left), node, sign)
    return None


def _elementwise_part(
    analysis: "ModuleAnalysis", node: cst.BaseExpression, left: cst.BaseExpression, right: cst.BaseExpression, sign: int
) -> Optional[JacobianPart]:
    if is_eye(analysis, left) or is_eye(analysis, right):
        other = right if is_eye(analysis, left) else left
        if is_eye(analysis, other) or type(other) in (cst.Integer, cst.Float):
            return None
        return JacobianPart(Part.DIAG, vector_key(analysis, other), node, sign, detail="eye")
    key_left, key_right = vector_key(analysis, left), vector_key(analysis, right)
    if key_left != key_right:
        return None
    orient_left, orient_right = _orientation(analysis, left), _orientation(analysis, right)
    if orient_left is not None and orient_right is not None and orient_left != orient_right:
        return JacobianPart(Part.OUTER, key_left, node, sign)
    if analysis.code_for(left) == analysis.code_for(right):
        return JacobianPart(Part.SQUARE, key_left, node, sign)
    return None


def _orientation(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> Optional[str]:
    """'col', 'row' or 'flat' for an operand of a broadcast outer product."""
    position = _none_position(node)
    if position is not None:
        return position
    found = layout(analysis, node)
    if found == Layout.COLUMN:
        return "col"
    if found == Layout.ROW:
        return "row"
    if found == Layout.FLAT:
        return "row"  # a 1-D array broadcasts as a row
    return None


def _product_part(
    analysis: "ModuleAnalysis", node: cst.BaseExpression, left: cst.BaseExpression, right: cst.BaseExpression, sign: int
) -> Optional[JacobianPart]:
    key = vector_key(analysis, left)
    if key != vector_key(analysis, right):
        return None
    left_orient = _matmul_orientation(analysis, left)
    right_orient = _matmul_orientation(analysis, right)
    if left_orient == "col" and right_orient == "row":
        return JacobianPart(Part.OUTER, key, node, sign)
    if left_orient == "flat" or right_orient == "flat":
        evidence = "flat"
        return JacobianPart(Part.SCALAR, key, node, sign, detail=evidence)
    if left_orient == "row" and right_orient == "col":
        return JacobianPart(Part.SCALAR, key, node, sign, detail="row-col")
    _, left_tags = _strip_layout(left)
    _, right_tags = _strip_layout(right)
    if {left_tags, right_tags} == {"", "T"}:
        return JacobianPart(Part.TRANSPOSED, key, node, sign)
    return None


def _matmul_orientation(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> Optional[str]:
    position = _none_position(node)
    if position is not None:
        return position
    found = layout(analysis, node)
    if found == Layout.COLUMN:
        return "col"
    if found == Layout.ROW:
        return "row"
    if found == Layout.FLAT:
        return "flat"
    return None


def _einsum_part(analysis: "ModuleAnalysis", node: cst.Call, sign: int) -> Optional[JacobianPart]:
    parsed = _einsum_inputs(node)
    if parsed is None:
        return None
    inputs, output, operands = parsed
    if len(inputs) != 2 or len(operands) != 2:
        return None
    eyes = [is_eye(analysis, operand) for operand in operands]
    if eyes[0] != eyes[1]:
        vector = operands[1] if eyes[0] else operands[0]
        vector_spec = inputs[1] if eyes[0] else inputs[0]
        if len(output) == len(vector_spec) + 1:
            return JacobianPart(Part.DIAG, vector_key(analysis, vector), node, sign, detail="einsum")
        return None
    a, b = (vector_key(analysis, x) for x in operands)
    if a != b:
        return None
    first, second = inputs
    if len(first) == len(second) and first[:-1] == second[:-1] and first[-1] != second[-1]:
        if len(output) == len(first) + 1 and first[-1] in output and second[-1] in output:
            return JacobianPart(Part.OUTER, a, node, sign)
    return None


def jacobian_parts(analysis: "ModuleAnalysis", node: cst.BaseExpression) -> list[Optional[JacobianPart]]:
    """Each signed term of `node` classified (None for terms that are no Jacobian part)."""
    return [classify(analysis, term, sign) for sign, term in signed_terms(node)]


# -- elementwise derivative formulas --------------------------------------------
_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Power)


def _is_arithmetic(node: Optional[cst.CSTNode]) -> bool:
    if type(node) is cst.BinaryOperation and isinstance(node.operator, _ARITHMETIC):
        return True
    if type(node) is cst.UnaryOperation and type(node.operator) in (cst.Minus, cst.Plus):
        return True
    return False


def arithmetic_roots(analysis: "ModuleAnalysis") -> Iterator[cst.BaseExpression]:
    """The largest `+ - * **` expressions of the module (and `np.multiply` calls
    not inside one): the units an elementwise formula is read from. Memoised per module
    analysis (several rules ask)."""
    roots = analysis.__dict__.get("_arithmetic_roots")
    if roots is None:
        roots = analysis.__dict__["_arithmetic_roots"] = _arithmetic_roots(analysis)
    return iter(roots)


def _arithmetic_roots(analysis: "ModuleAnalysis") -> list[cst.BaseExpression]:
    index = analysis.index
    roots: list[cst.BaseExpression] = []
    for operation in index.nodes(cst.BinaryOperation):
        if type(operation.operator) in (cst.Add, cst.Subtract, cst.Multiply) and not _inside_arithmetic(analysis, operation):
            roots.append(operation)
    for call in index.nodes(cst.Call):
        if last_part(call_name(call)) == "multiply" and not _inside_arithmetic(analysis, call):
            roots.append(call)
    return roots


def _inside_arithmetic(analysis: "ModuleAnalysis", node: cst.CSTNode) -> bool:
    parent = analysis.index.parent(node)
    while type(parent) is cst.UnaryOperation and type(parent.operator) in (cst.Minus, cst.Plus):
        parent = analysis.index.parent(parent)
    if _is_arithmetic(parent):
        return True
    if type(parent) is cst.Arg:
        call = analysis.index.parent(parent)
        return type(call) is cst.Call and last_part(call_name(call)) in {"multiply", "add", "subtract", "square"}
    return False


@dataclass(frozen=True)
class FormulaSite:
    """`multiplier * atom * (1 - atom)` (logistic) or `multiplier * (1 - atom**2)` (tanh)
    found in `expression`; `atom` is one occurrence of the array it is in."""

    expression: cst.BaseExpression
    atom: cst.BaseExpression
    multiplier: tuple[str, ...]
    shape: str


def formula_sites(
    analysis: "ModuleAnalysis", roots: "Iterator[cst.BaseExpression]", shapes: tuple[str, ...] = ("logistic",)
) -> Iterator[FormulaSite]:
    """Elementwise derivative formulas over whole arrays (element reads like
    `s[i]` are left to the loop-filled Jacobian rules)."""
    for root in roots:
        polynomial, atoms = expand_with_atoms(analysis, root)
        if polynomial is None or len(polynomial.terms) < 2:
            continue
        for shape in shapes:
            forms = algebra.logistic_form(polynomial) if shape == "logistic" else algebra.tanh_form(polynomial)
            for form in forms:
                atom = atoms.get(form.atom)
                if atom is None or _is_element(atom) or type(atom) is cst.Call and _is_constant_call(atom):
                    continue
                yield FormulaSite(root, atom, form.multiplier, shape)


def expand_with_atoms(
    analysis: "ModuleAnalysis", node: cst.BaseExpression, require_difference: bool = True
) -> "tuple[Optional[algebra.Polynomial], dict[str, cst.BaseExpression]]":
    """The polynomial normal form of `node` over its atoms' source text, and one
    occurrence of each atom by its text. With `require_difference` (the default:
    every derivative formula has a subtraction) expressions without one are not
    expanded at all. Memoised per module analysis (several rules expand the
    same expressions); the caller gets its own copy of the atoms."""
    memo = analysis.__dict__.setdefault("_expansions", {})
    cached = memo.get((node, require_difference))
    if cached is None:
        cached = memo[(node, require_difference)] = _expand_with_atoms(analysis, node, require_difference)
    return cached[0], dict(cached[1])


def _expand_with_atoms(
    analysis: "ModuleAnalysis", node: cst.BaseExpression, require_difference: bool
) -> "tuple[Optional[algebra.Polynomial], dict[str, cst.BaseExpression]]":
    atoms: dict[str, cst.BaseExpression] = {}

    def key(atom: cst.BaseExpression) -> str:
        text = dotted_name(atom) or analysis.code_for(atom)  # a name needs no code generation
        atoms.setdefault(text, atom)
        return text

    if require_difference and not may_hold_difference(node):
        return None, atoms
    return algebra.expand(node, key), atoms


def may_hold_difference(node: cst.BaseExpression) -> bool:
    """A subtraction somewhere in the arithmetic of `node` (`a - b`, `-a`, `np.subtract`):
    every derivative formula the rules read (s*(1-s), 1-t**2, a*(1-b)) has one."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.BinaryOperation:
            if type(current.operator) is cst.Subtract:
                return True
            stack.extend((current.left, current.right))
        elif type(current) is cst.UnaryOperation:
            if type(current.operator) is cst.Minus:
                return True
            stack.append(current.expression)
        elif type(current) is cst.Call and last_part(call_name(current)) in {"subtract", "multiply", "square", "add"}:
            if last_part(call_name(current)) == "subtract":
                return True
            stack.extend(arg.value for arg in current.args)
    return False


def logistic_sites(analysis: "ModuleAnalysis", roots: "Iterator[cst.BaseExpression]") -> Iterator[FormulaSite]:
    return formula_sites(analysis, roots, ("logistic",))


def _is_constant_call(call: cst.Call) -> bool:
    return last_part(call_name(call)) in {"len", "float", "int", "range", "sum", "mean", "max", "min", "shape"}


def _is_element(node: cst.BaseExpression) -> bool:
    """`s[i]`, `s[i, j]`: an element (or a row picked by an index), not the whole array."""
    if type(node) is not cst.Subscript:
        return False
    return any(type(element.slice) is cst.Index and not is_new_axis(element.slice.value) for element in node.slice)


def builds_outer_product(
    analysis: "ModuleAnalysis", function: Optional[cst.FunctionDef], atom: cst.BaseExpression
) -> bool:
    """The function also builds an outer product (or s s^T) of the same vector as `atom`."""
    key = vector_key(analysis, atom)
    index = analysis.index
    candidates: list[cst.BaseExpression] = [
        *index.nodes_in(function, cst.Call),
        *(op for op in index.nodes_in(function, cst.BinaryOperation) if type(op.operator) in (cst.MatrixMultiply, cst.Multiply)),
    ]
    for candidate in candidates:
        if type(candidate) is cst.Call and last_part(call_name(candidate)) not in {"outer", "dot", "matmul", "einsum", "multiply"}:
            continue
        part = classify(analysis, candidate)
        if part is not None and part.kind in (Part.OUTER, Part.TRANSPOSED, Part.SCALAR) and part.vector == key:
            return True
    return False


_DERIVATIVE_CONTEXT = re.compile(r"prime|deriv|grad|backward|backprop|bprop|delta|train|fit|update|step|jac", re.IGNORECASE)


def in_derivative_context(analysis: "ModuleAnalysis", node: cst.CSTNode) -> bool:
    """`node` sits in a derivative or backward (by the semantic model), or in a
    function whose name says it computes gradients or trains (a gate for precision,
    never evidence on its own)."""
    function = analysis.index.function_containing(node)
    if function is None:
        return False
    semantics = analysis.semantics
    if semantics.is_backward(function) or _DERIVATIVE_CONTEXT.search(function.name.value):
        return True
    returns = [r.value for r in analysis.index.nodes_in(function, cst.Return) if r.value is not None]
    if any(type(value) is cst.Tuple for value in returns):
        return False  # several results: a derivative would be one of them at most
    return semantics.derivative_of(function) is not None
