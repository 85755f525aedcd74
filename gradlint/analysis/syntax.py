"""Small syntactic helpers shared by the semantic model and the rules."""

from __future__ import annotations

import math
from typing import Iterator, Optional, Union

import libcst as cst

from gradlint.analysis.index import child_nodes


_Name = cst.Name
_Attribute = cst.Attribute
_Call = cst.Call

# An array's attributes that describe it, not its values (`x.shape`, `p.ndim`): reading one reads no value.
ARRAY_METADATA = frozenset({"shape", "ndim", "size", "dtype"})


def dotted_name(node: cst.CSTNode) -> Optional[str]:
    """`np.linalg.norm` for an Attribute chain or Name, else None."""
    node_type = type(node)
    if node_type is _Name:
        return node.value  # type: ignore[attr-defined]
    if node_type is not _Attribute:
        return None
    current = node.value  # type: ignore[attr-defined]
    if type(current) is _Name:  # the common `np.exp`, `self.output`
        return current.value + "." + node.attr.value  # type: ignore[attr-defined]
    parts: list[str] = [node.attr.value]  # type: ignore[attr-defined]
    while type(current) is _Attribute:
        parts.append(current.attr.value)
        current = current.value
    if type(current) is _Name:
        parts.append(current.value)
        return ".".join(reversed(parts))
    return None


def call_name(node: cst.CSTNode) -> Optional[str]:
    """The dotted name of the callee when `node` is a call, else None."""
    if type(node) is _Call:
        return dotted_name(node.func)  # type: ignore[attr-defined]
    return None


def last_part(name: Optional[str]) -> Optional[str]:
    # what `name.rsplit(".", 1)[-1]` gives (the whole name when it has no dot), without a list
    return name[name.rfind(".") + 1 :] if name else None


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node in the subtree of `node` (for small expressions only), without
    layout nodes (whitespace, comments)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(child_nodes(current)))


def names_in(node: cst.CSTNode) -> set[str]:
    """Every bare name read or written in the subtree."""
    return {n.value for n in walk(node) if type(n) is cst.Name}


def dotted_names_in(node: cst.CSTNode) -> set[str]:
    """Every name and attribute chain (`self.output`) mentioned in the subtree."""
    found: set[str] = set()
    for n in walk(node):
        if type(n) in (cst.Name, cst.Attribute):
            name = dotted_name(n)
            if name:
                found.add(name)
    return found


def subscript_base(node: cst.CSTNode) -> Optional[str]:
    """`J` for `J[i][j]` or `J[i, j]`; `self.J` for `self.J[i]`."""
    current = node
    while type(current) is cst.Subscript:
        current = current.value
    return dotted_name(current)


def is_new_axis(node: cst.BaseExpression) -> bool:
    """`None` or `np.newaxis` in a subscript: a new axis of length 1."""
    return (type(node) is cst.Name and node.value == "None") or (dotted_name(node) or "").endswith("newaxis")


def positional_parameters(function: cst.FunctionDef, is_method: bool, required_only: bool = False) -> list[str]:
    """The names of `function`'s positional parameters, without the instance or class a method
    is bound to (`self`, `cls`; a @staticmethod is bound to none); only those with no default
    when `required_only`."""
    params = [*function.params.posonly_params, *function.params.params]
    if is_method and params and not any(dotted_name(d.decorator) == "staticmethod" for d in function.decorators):
        params = params[1:]
    return [param.name.value for param in params if not (required_only and param.default is not None)]


def argument_for(call: cst.Call, name: str, position: Optional[int]) -> Optional[cst.BaseExpression]:
    """The expression `call` passes for the parameter `name` (at `position`), or None (a star, absent)."""
    found = None
    for at, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == name:
                found = arg.value
        elif at == position:
            found = arg.value
    return found


def target_path(target: cst.BaseExpression, name: str) -> Optional[tuple[int, ...]]:
    """Where `name` sits in a loop or assignment target: () for `x`, (1, 0) for `i, (x, y)`."""
    if type(target) is cst.Name:
        return () if target.value == name else None
    if type(target) in (cst.Tuple, cst.List):
        for position, element in enumerate(target.elements):  # type: ignore[attr-defined]
            inner = target_path(element.value, name)
            if inner is not None:
                return (position, *inner)
    return None


def assigned_targets(statement: cst.BaseSmallStatement) -> list[cst.BaseExpression]:
    if type(statement) is cst.Assign:
        return [target.target for target in statement.targets]
    if type(statement) in (cst.AnnAssign, cst.AugAssign):
        return [statement.target]
    return []


# Calls that write into an array they are handed: ndarray methods (and torch's trailing `_` methods) write
# into their receiver, numpy's `copyto`/`put`/`place`/`putmask` into their first argument.
_IN_PLACE_METHODS = frozenset({"fill", "put", "itemset", "resize", "sort", "setfield"})
_WRITES_FIRST_ARGUMENT = frozenset({"copyto", "put", "place", "putmask"})


def written_in_place(call: cst.Call) -> list[cst.BaseExpression]:
    """What `call` may write into: the receiver of an in-place method (`x.fill(0)`, `h.data.copy_(g)`) and
    the first argument of `np.copyto(x, ...)` (`put`, `place`, `putmask`)."""
    written: list[cst.BaseExpression] = []
    func = call.func
    if type(func) is cst.Attribute and (func.attr.value.endswith("_") or func.attr.value in _IN_PLACE_METHODS):
        written.append(func.value)
    if last_part(call_name(call)) in _WRITES_FIRST_ARGUMENT and call.args:
        written.append(call.args[0].value)
    return written


def unpacked_targets(targets: list[cst.BaseExpression]) -> list[cst.BaseExpression]:
    """Assignment targets with tuple, list and starred targets opened (`plus[i], (minus[i], *rest)`)."""
    found: list[cst.BaseExpression] = []
    for target in targets:
        if type(target) in (cst.Tuple, cst.List):
            found.extend(unpacked_targets([element.value for element in target.elements]))  # type: ignore[attr-defined]
        elif type(target) is cst.StarredElement:
            found.extend(unpacked_targets([target.value]))  # type: ignore[attr-defined]
        else:
            found.append(target)
    return found


def block_items(block: cst.BaseSuite) -> list[cst.CSTNode]:
    """The block's statements in order, with each simple line split into its
    small statements (`a = 1; b = 2`); compound statements stay whole."""
    if type(block) is cst.SimpleStatementSuite:
        return list(block.body)
    items: list[cst.CSTNode] = []
    if type(block) is cst.IndentedBlock:
        for statement in block.body:
            if type(statement) is cst.SimpleStatementLine:
                items.extend(statement.body)
            else:
                items.append(statement)
    return items


# -- numeric literals ----------------------------------------------------------------
# Every place that needs a literal's value reads it here, so that no spelling Python accepts
# (`1_000`, `0x1F`, `0o7`, `0b1`, `0x_1`, `1e-8`, `.5`, `1_0.0_1`, a literal of 5,000 digits)
# can crash a rule. The value is exactly what Python gives the literal, or None when it is not
# a real number (`2j`) or cannot be represented: an integer literal longer than Python's
# default limit for converting decimal text (so the work stays linear), a float literal that
# is not finite (`1e999` reads as inf), an integer too large for a float (literal_float).
_MAX_INTEGER_LITERAL_CHARS = 4300


def literal_number(node: cst.CSTNode) -> Optional[Union[int, float]]:
    """The value of an int or float literal as Python reads it (an int for an Integer, a float
    for a Float); None for anything else or anything it cannot represent (see above)."""
    node_type = type(node)
    if node_type is cst.Integer:
        text = node.value  # type: ignore[attr-defined]
        if len(text) > _MAX_INTEGER_LITERAL_CHARS:
            return None
        try:
            return int(text, 0)  # base 0: the literal's own prefix and underscores, as Python reads it
        except ValueError:
            return None
    if node_type is cst.Float:
        try:
            value = float(node.value)  # type: ignore[attr-defined]  # float() accepts underscores
        except (ValueError, OverflowError):
            return None
        return value if math.isfinite(value) else None
    return None


def literal_int(node: cst.CSTNode) -> Optional[int]:
    """The value of an integer literal, or of one negated by a single minus sign (`-1`, `-0x1`)."""
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
        inner = node.expression  # type: ignore[attr-defined]
        value = literal_number(inner) if type(inner) is cst.Integer else None
        return -value if value is not None else None
    if type(node) is cst.Integer:
        return literal_number(node)  # type: ignore[return-value]
    return None


def literal_string(node: cst.CSTNode) -> Optional[str]:
    """The value of a plain string literal (`"bi,bj->bij"`); None for bytes, for anything else, and
    for text Python itself refuses (`"\\N{NO SUCH NAME}"`, which libcst parses)."""
    if type(node) is not cst.SimpleString:
        return None
    try:
        value = node.evaluated_value  # type: ignore[attr-defined]
    except (SyntaxError, ValueError, UnicodeError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def prefixed_integer(node: cst.CSTNode) -> bool:
    """An integer literal spelled with a base prefix (`0x1`, `0o1`, `0b1`). Rules whose pre-check
    needs spell a literal in decimal (registry: `axis=1`, _GL304_ONE) read these as unknown."""
    return type(node) is cst.Integer and node.value[:2].lower() in ("0x", "0o", "0b")  # type: ignore[attr-defined]


def literal_float(node: cst.CSTNode) -> Optional[float]:
    """`literal_number` as a float; None also for an integer too large for one."""
    value = literal_number(node)
    if value is None:
        return None
    try:
        return float(value)
    except OverflowError:
        return None


# -- fast source text of common expressions -----------------------------------------
# `code_for` renders small expressions many times (atoms of formulas, keys of values);
# libcst's code generation costs a context manager per node. For the node types below,
# `_render` emits exactly the tokens of libcst's `_codegen_impl` (same fields, same
# defaults); any other node type in the subtree (e.g. multi-line whitespace, slices,
# f-strings) returns False and the caller falls back to libcst.
_VALUE_LEAVES = frozenset({cst.Name, cst.Integer, cst.Float, cst.SimpleString})
_ONE_TOKEN_OPS = frozenset(
    {
        cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power,
        cst.MatrixMultiply, cst.Comma, cst.Dot, cst.AssignEqual,
    }
)
_UNARY_OPS = frozenset({cst.Minus, cst.Plus, cst.BitInvert})
_EXPRESSIONS = _VALUE_LEAVES | {cst.Attribute, cst.BinaryOperation, cst.UnaryOperation, cst.Call, cst.Subscript}
_DEFAULT = cst.MaybeSentinel.DEFAULT


def _render(node: cst.CSTNode, out: list[str]) -> bool:
    node_type = type(node)
    if node_type is _Name and not node.lpar and not node.rpar:  # type: ignore[attr-defined]
        out.append(node.value)  # type: ignore[attr-defined]  # the commonest leaf, unparenthesised
        return True
    if node_type is cst.SimpleWhitespace:
        value = node.value  # type: ignore[attr-defined]
        if "\\" in value:
            return False  # a backslash continuation: one_line_code drops it
        out.append(value)
        return True
    if node_type in _ONE_TOKEN_OPS:
        if not _render(node.whitespace_before, out):  # type: ignore[attr-defined]
            return False
        out.append(node._get_token())  # type: ignore[attr-defined]
        return _render(node.whitespace_after, out)  # type: ignore[attr-defined]
    if node_type in _UNARY_OPS:
        out.append(node._get_token())  # type: ignore[attr-defined]
        return _render(node.whitespace_after, out)  # type: ignore[attr-defined]
    if node_type not in _EXPRESSIONS:
        return False
    for paren in node.lpar:  # type: ignore[attr-defined]
        out.append("(")
        if not _render(paren.whitespace_after, out):
            return False
    if node_type in _VALUE_LEAVES:
        out.append(node.value)  # type: ignore[attr-defined]
    elif node_type is cst.Attribute:
        if not (_render(node.value, out) and _render(node.dot, out) and _render(node.attr, out)):  # type: ignore[attr-defined]
            return False
    elif node_type is cst.BinaryOperation:
        if not (_render(node.left, out) and _render(node.operator, out) and _render(node.right, out)):  # type: ignore[attr-defined]
            return False
    elif node_type is cst.UnaryOperation:
        if not (_render(node.operator, out) and _render(node.expression, out)):  # type: ignore[attr-defined]
            return False
    elif node_type is cst.Call:
        if not (_render(node.func, out) and _render(node.whitespace_after_func, out)):  # type: ignore[attr-defined]
            return False
        out.append("(")
        if not _render(node.whitespace_before_args, out):  # type: ignore[attr-defined]
            return False
        args = node.args  # type: ignore[attr-defined]
        last = len(args) - 1
        for position, arg in enumerate(args):
            if type(arg) is not cst.Arg or not _render_arg(arg, out, position != last):
                return False
        out.append(")")
    elif node_type is cst.Subscript:
        if not (_render(node.value, out) and _render(node.whitespace_after_value, out)):  # type: ignore[attr-defined]
            return False
        out.append("[")
        if not _render(node.lbracket.whitespace_after, out):  # type: ignore[attr-defined]
            return False
        elements = node.slice  # type: ignore[attr-defined]
        last = len(elements) - 1
        for position, element in enumerate(elements):
            index = element.slice
            if type(element) is not cst.SubscriptElement or type(index) is not cst.Index:
                return False
            if index.star is not None:
                out.append(index.star)
            if index.whitespace_after_star is not None and not _render(index.whitespace_after_star, out):
                return False
            if not (_render(index.value, out) and _render_comma(element.comma, out, position != last)):
                return False
        if not _render(node.rbracket.whitespace_before, out):  # type: ignore[attr-defined]
            return False
        out.append("]")
    else:
        return False
    for paren in node.rpar:  # type: ignore[attr-defined]
        if not _render(paren.whitespace_before, out):
            return False
        out.append(")")
    return True


def _render_comma(comma: object, out: list[str], default_comma: bool) -> bool:
    if comma is _DEFAULT:
        if default_comma:
            out.append(", ")
        return True
    if type(comma) is cst.Comma:
        return _render(comma, out)  # type: ignore[arg-type]
    return True  # libcst emits nothing for any other value


def _render_arg(arg: cst.Arg, out: list[str], default_comma: bool) -> bool:
    out.append(arg.star)  # type: ignore[arg-type]
    if not _render(arg.whitespace_after_star, out):
        return False
    keyword = arg.keyword
    if keyword is not None and not _render(keyword, out):
        return False
    equal = arg.equal
    if equal is _DEFAULT:
        if keyword is not None:
            out.append(" = ")
    elif type(equal) is cst.AssignEqual:
        if not _render(equal, out):
            return False
    elif not isinstance(equal, cst.MaybeSentinel):
        return False
    return _render(arg.value, out) and _render_comma(arg.comma, out, default_comma) and _render(arg.whitespace_after_arg, out)


def fast_code(node: cst.CSTNode) -> Optional[str]:
    """libcst's `code_for_node(node)` for common expressions, None for the others."""
    out: list[str] = []
    return "".join(out) if _render(node, out) else None


# -- one-line source text without layout ----------------------------------------------
# Messages quote expressions; a multi-line expression must not quote its comments or its
# backslash continuations. `_LayoutStripper` replaces every line-crossing gap (a parenthesised
# gap, which may hold comments and blank lines, or a backslash continuation) by one space and
# drops trailing comments and comment lines; then every run of whitespace is one space, as for
# any expression (`(e  # note\n .sum(axis=1))` reads `(e .sum(axis=1))`, `a + \\\n b` reads
# `a + b`). A gap is never closed up (`(e\n.sum())` does not read `(e.sum())`): the texts are also
# keys that rules compare, and the pre-check predicates (precheck_predicates, e.g.
# repeated_element_store) compare targets normalised the same way: on whitespace only.


class _LayoutStripper(cst.CSTTransformer):
    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.SimpleWhitespace:
        return cst.SimpleWhitespace(" ")

    def leave_SimpleWhitespace(self, original_node: cst.SimpleWhitespace, updated_node: cst.SimpleWhitespace) -> cst.SimpleWhitespace:
        return cst.SimpleWhitespace(" ") if "\\" in updated_node.value else updated_node

    def leave_TrailingWhitespace(
        self, original_node: cst.TrailingWhitespace, updated_node: cst.TrailingWhitespace
    ) -> cst.TrailingWhitespace:
        if updated_node.comment is None:
            return updated_node
        return updated_node.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)

    def leave_EmptyLine(self, original_node: cst.EmptyLine, updated_node: cst.EmptyLine) -> "cst.RemovalSentinel":
        return cst.RemovalSentinel.REMOVE


def one_line_code(module: cst.Module, node: cst.CSTNode) -> str:
    """The source text of `node` on one line: without comments, blank lines and backslash
    continuations, every run of whitespace one space."""
    code = fast_code(node)
    if code is None:
        code = module.code_for_node(node)
        if "#" in code or "\\" in code:  # maybe a comment or a continuation (or a string holding one)
            code = module.code_for_node(node.visit(_LayoutStripper()))
    return " ".join(code.split())
