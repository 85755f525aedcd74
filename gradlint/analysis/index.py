"""One traversal of a parsed module that every later question is answered from.

The index records each node's parent, the nodes of each type, and the nodes of
each type inside each function, so rules and the semantic model look things up
instead of walking the tree again.

The traversal is iterative (any nesting depth) and reads each node type's child
fields directly instead of going through libcst's visitor, which rebuilds every
node it visits; layout nodes (whitespace, newlines, comments, blank lines) are
not indexed. Building the index costs a fraction of libcst's parse.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Iterator, Optional, TypeVar

import libcst as cst

N = TypeVar("N", bound=cst.CSTNode)

_SCOPES = (cst.FunctionDef, cst.ClassDef)


# Fields that hold only layout (whitespace, newlines, comments, blank lines).
# About half of a module's nodes live there and no question about gradient code
# is about them, so the index does not descend into them.
_LAYOUT_FIELDS = frozenset(
    {
        "leading_lines", "lines_after_decorators", "trailing_whitespace", "header", "footer", "empty_lines",
        "leading_whitespace", "newline", "comment", "first_line", "last_line",
    }
)
_LAYOUT_TYPES = (
    cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.Newline, cst.TrailingWhitespace, cst.EmptyLine, cst.Comment,
)
_CHILD_FIELDS: dict[type, Optional[tuple[str, ...]]] = {}


def _child_fields(node: cst.CSTNode) -> Optional[tuple[str, ...]]:
    """The fields of `node`'s type that hold its (non-layout) children, in the
    order libcst visits them (source order); None when only `children` can tell.

    The order is read once per type from the constants of the type's
    `_visit_and_replace_children` (the field names it passes to libcst's
    visit helpers, in visiting order), and checked once against `children`.
    """
    node_type = type(node)
    if node_type in _CHILD_FIELDS:
        return _CHILD_FIELDS[node_type]
    fields: Optional[tuple[str, ...]]
    try:
        names = {field.name for field in dataclasses.fields(node_type)}
        constants = node_type._visit_and_replace_children.__code__.co_consts
        ordered: list[str] = []
        for constant in constants:
            if isinstance(constant, str) and constant in names and constant not in ordered:
                ordered.append(constant)
        fields = tuple(
            name for name in ordered if not name.startswith("whitespace") and name not in _LAYOUT_FIELDS
        )
        expected = [child for child in node.children if not isinstance(child, _LAYOUT_TYPES)]
        if [id(child) for child in _children_by_fields(node, fields)] != [id(child) for child in expected]:
            fields = None
    except (AttributeError, TypeError):
        fields = None
    _CHILD_FIELDS[node_type] = fields
    return fields


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children in source order, without layout nodes. Same as
    `node.children` minus whitespace and comments, but much cheaper: libcst's
    `children` rebuilds the node to list them."""
    node_type = type(node)
    fields = _CHILD_FIELDS[node_type] if node_type in _CHILD_FIELDS else _child_fields(node)
    if fields is None:
        return [child for child in node.children if not isinstance(child, _LAYOUT_TYPES)]
    return _children_by_fields(node, fields)


# type -> is it a CSTNode type (libcst's bases are ABCs: a plain isinstance
# check goes through ABCMeta.__instancecheck__, a dict lookup does not).
_IS_NODE: dict[type, bool] = {}


def _is_node_type(value_type: type) -> bool:
    known = _IS_NODE.get(value_type)
    if known is None:
        known = _IS_NODE[value_type] = issubclass(value_type, cst.CSTNode)
    return known


def _children_by_fields(node: cst.CSTNode, fields: tuple[str, ...]) -> list[cst.CSTNode]:
    children: list[cst.CSTNode] = []
    is_node = _IS_NODE
    for name in fields:
        value = getattr(node, name)
        value_type = type(value)
        if is_node.get(value_type) or (value_type not in is_node and _is_node_type(value_type)):
            children.append(value)
        elif value_type is list or value_type is tuple:
            for item in value:
                item_type = type(item)
                if is_node.get(item_type) or (item_type not in is_node and _is_node_type(item_type)):
                    children.append(item)
    return children


def _build(index: "ModuleIndex", module: cst.Module) -> None:
    """One iterative pre-order traversal (no recursion: any nesting depth)."""
    parents = index.parents
    by_type = index.by_type
    order = index.order
    function_of = index.function_of
    by_function_type = index.by_function_type
    FunctionDef = cst.FunctionDef
    # (node, parent, enclosing function)
    stack: list[tuple[cst.CSTNode, Optional[cst.CSTNode], Optional[cst.FunctionDef]]] = [(module, None, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent, function = pop()
        if parent is not None:
            parents[node] = parent
        node_type = type(node)
        by_type[node_type].append(node)
        order[node] = len(order)
        function_of[node] = function
        by_function_type[(function, node_type)].append(node)
        inner = node if node_type is FunctionDef else function
        fields = _CHILD_FIELDS[node_type] if node_type in _CHILD_FIELDS else _child_fields(node)
        if fields is None:
            children = [child for child in node.children if not isinstance(child, _LAYOUT_TYPES)]
        else:
            children = _children_by_fields(node, fields)
        for child in reversed(children):
            push((child, node, inner))  # type: ignore[arg-type]


class ModuleIndex:
    """Parents, nodes by type, and nodes by enclosing function for one module."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.by_type: dict[type, list[cst.CSTNode]] = defaultdict(list)
        self.function_of: dict[cst.CSTNode, Optional[cst.FunctionDef]] = {}
        self.by_function_type: dict[tuple[Optional[cst.FunctionDef], type], list[cst.CSTNode]] = defaultdict(list)
        # Pre-order position of every node: source order of starts (a node precedes its children).
        self.order: dict[cst.CSTNode, int] = {}
        self._last_child: Optional[dict[cst.CSTNode, cst.CSTNode]] = None
        _build(self, module)

    def end_order(self, node: cst.CSTNode) -> int:
        """The order of the last indexed node in `node`'s subtree (where it ends, in source order)."""
        if self._last_child is None:
            last: dict[cst.CSTNode, cst.CSTNode] = {}
            for child, parent in self.parents.items():  # pre-order: later children overwrite earlier
                last[parent] = child
            self._last_child = last
        current = node
        last_child = self._last_child
        while current in last_child:
            current = last_child[current]
        return self.order.get(current, 0)

    # -- lookups -----------------------------------------------------------
    def nodes(self, node_type: type[N]) -> list[N]:
        """Every node of exactly `node_type` in source order."""
        return self.by_type.get(node_type, [])  # type: ignore[return-value]

    def nodes_in(self, function: Optional[cst.FunctionDef], node_type: type[N]) -> list[N]:
        """Nodes of `node_type` whose nearest enclosing function is `function`
        (`None`: module level). Nested functions' nodes are not included."""
        return self.by_function_type.get((function, node_type), [])  # type: ignore[return-value]

    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing(self, node: cst.CSTNode, node_type: type[N]) -> Optional[N]:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, node_type):
                return ancestor
        return None

    def function_containing(self, node: cst.CSTNode) -> Optional[cst.FunctionDef]:
        return self.function_of.get(node)

    def class_of(self, function: cst.FunctionDef) -> Optional[cst.ClassDef]:
        """The class a function is a method of (directly), if any."""
        parent = self.parents.get(function)
        # FunctionDef -> IndentedBlock -> ClassDef
        if parent is not None:
            grand = self.parents.get(parent)
            if type(grand) is cst.ClassDef:
                return grand
        return None

    def methods(self, class_def: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        body = class_def.body
        statements = body.body if type(body) is cst.IndentedBlock else ()
        return {s.name.value: s for s in statements if type(s) is cst.FunctionDef}

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The statement (simple line or compound statement) holding `node`."""
        current: cst.CSTNode = node
        while True:
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return current
            parent = self.parents.get(current)
            if parent is None:
                return current
            current = parent
