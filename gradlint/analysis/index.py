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


def _identity_at_c_speed() -> None:
    """Give libcst's nodes C-level identity hashing and equality.

    libcst nodes already hash and compare by identity, but through Python-level
    `CSTNode.__hash__` (`return id(self)`) and `__eq__` (`return self is other`),
    copied into every node class; every dict or set operation keyed by a node
    (the index's maps, the semantic caches) pays a Python call for them. Using
    `object`'s own implementations keeps the same semantics (equal iff identical;
    the hash is derived from the identity) at C speed. Only classes that carry
    libcst's own implementations are changed. Nothing in gradlint relies on
    `hash(node) == id(node)`; keys that need an int use `id(node)` explicitly.
    """
    base = cst.CSTNode
    libcst_hash = base.__dict__.get("__hash__")
    libcst_eq = base.__dict__.get("__eq__")
    pending: list[type] = [base]
    seen: set[type] = set()
    while pending:
        node_class = pending.pop()
        if node_class in seen:
            continue
        seen.add(node_class)
        pending.extend(node_class.__subclasses__())
        if libcst_hash is not None and node_class.__dict__.get("__hash__") is libcst_hash:
            node_class.__hash__ = object.__hash__  # type: ignore[method-assign,assignment]
        if libcst_eq is not None and node_class.__dict__.get("__eq__") is libcst_eq:
            node_class.__eq__ = object.__eq__  # type: ignore[method-assign,assignment]


_identity_at_c_speed()

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


# type -> 1: a CSTNode type, 2: a sequence (list or tuple) of children, 0: anything else
_VALUE_KIND: dict[type, int] = {list: 2, tuple: 2}
# node type -> its child fields in reverse source order (None: only `children` can tell)
_REVERSED_FIELDS: dict[type, Optional[tuple[str, ...]]] = {}


def _value_kind(value_type: type) -> int:
    kind = _VALUE_KIND[value_type] = 1 if _is_node_type(value_type) else 0
    return kind


def _reversed_fields(node: cst.CSTNode) -> Optional[tuple[str, ...]]:
    fields = _CHILD_FIELDS[type(node)] if type(node) in _CHILD_FIELDS else _child_fields(node)
    reversed_fields = _REVERSED_FIELDS[type(node)] = None if fields is None else tuple(reversed(fields))
    return reversed_fields


def _last_child(node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The node's last (non-layout) child, as the index sees it; None for a leaf."""
    node_type = type(node)
    fields = _REVERSED_FIELDS[node_type] if node_type in _REVERSED_FIELDS else _reversed_fields(node)
    if fields is None:
        children = [child for child in node.children if not isinstance(child, _LAYOUT_TYPES)]
        return children[-1] if children else None
    kinds = _VALUE_KIND
    for name in fields:
        value = getattr(node, name)
        value_type = type(value)
        kind = kinds[value_type] if value_type in kinds else _value_kind(value_type)
        if kind == 1:
            return value
        if kind == 2:
            for item in reversed(value):
                item_type = type(item)
                if (kinds[item_type] if item_type in kinds else _value_kind(item_type)) == 1:
                    return item
    return None


def _name_holds_only_parentheses() -> bool:
    """Whether a `Name`'s only (non-layout) children are its parentheses, as the index reads them
    (its value is a string): then an unparenthesised name is a leaf, and the traversal need not
    read its fields."""
    fields = _child_fields(cst.Name("x"))
    return fields is not None and set(fields) <= {"lpar", "rpar"}


_NAME_HOLDS_ONLY_PARENTHESES = _name_holds_only_parentheses()

# node type -> is it a statement (a simple statement line or a compound statement)
_IS_STATEMENT: dict[type, bool] = {}


def _build(index: "ModuleIndex", module: cst.Module) -> None:
    """One iterative pre-order traversal (no recursion: any nesting depth).

    Children are pushed straight onto the stack in reverse source order (the
    same nodes `child_nodes` lists), so they pop in source order."""
    parents = index.parents
    order = index.order
    function_of = index.function_of
    by_function = index.by_function
    FunctionDef = cst.FunctionDef
    kinds = _VALUE_KIND
    reversed_fields = _REVERSED_FIELDS
    # (node, parent, enclosing function, that function's nodes by type)
    module_types = by_function[None] = defaultdict(list)
    stack: list[tuple[cst.CSTNode, Optional[cst.CSTNode], Optional[cst.FunctionDef], defaultdict[type, list[cst.CSTNode]]]] = [
        (module, None, None, module_types)
    ]
    pop, push = stack.pop, stack.append
    count = 0
    Name = cst.Name if _NAME_HOLDS_ONLY_PARENTHESES else None
    while stack:
        node, parent, function, types = pop()
        if parent is not None:
            parents[node] = parent
        node_type = type(node)
        order[node] = count
        count += 1
        function_of[node] = function
        types[node_type].append(node)
        if node_type is FunctionDef:
            inner = node
            types = by_function[node] = defaultdict(list)
        else:
            inner = function
        if node_type is Name and not node.lpar and not node.rpar:  # type: ignore[attr-defined]
            continue  # a third of all nodes: a leaf unless parenthesised
        fields = reversed_fields[node_type] if node_type in reversed_fields else _reversed_fields(node)
        if fields is None:
            for child in reversed([child for child in node.children if not isinstance(child, _LAYOUT_TYPES)]):
                push((child, node, inner, types))  # type: ignore[arg-type]
            continue
        for name in fields:
            value = getattr(node, name)
            value_type = type(value)
            kind = kinds[value_type] if value_type in kinds else _value_kind(value_type)
            if kind == 1:
                push((value, node, inner, types))
            elif kind == 2:
                for item in reversed(value):
                    item_type = type(item)
                    if (kinds[item_type] if item_type in kinds else _value_kind(item_type)) == 1:
                        push((item, node, inner, types))


class ModuleIndex:
    """Parents, nodes by type, and nodes by enclosing function for one module."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        # type -> its nodes in source order, gathered on demand from `by_function` (rules ask for a
        # handful of types; a list of every type, names and commas included, went mostly unread)
        self._by_type: dict[type, list[cst.CSTNode]] = {}
        self.function_of: dict[cst.CSTNode, Optional[cst.FunctionDef]] = {}
        # enclosing function (None: module level) -> node type -> its nodes, in source order
        self.by_function: dict[Optional[cst.FunctionDef], defaultdict[type, list[cst.CSTNode]]] = {}
        # Pre-order position of every node: source order of starts (a node precedes its children).
        self.order: dict[cst.CSTNode, int] = {}
        self._ends: dict[cst.CSTNode, int] = {}
        self._preorder: Optional[list[cst.CSTNode]] = None
        _build(self, module)

    def end_order(self, node: cst.CSTNode) -> int:
        """The order of the last indexed node in `node`'s subtree (where it ends, in source order);
        0 for a node that is not indexed. Found by descending through last children."""
        ends = self._ends
        end = ends.get(node)
        if end is None:
            if node not in self.order:
                return 0
            path = [node]
            current = node
            while True:
                last = _last_child(current)
                if last is None:
                    end = self.order[current]
                    break
                known = ends.get(last)
                if known is not None:
                    end = known
                    break
                path.append(last)
                current = last
            for on_path in path:  # they all end where their last descendant does
                ends[on_path] = end
        return end

    @property
    def preorder(self) -> list[cst.CSTNode]:
        """Every indexed node in pre-order (`preorder[order[n]] is n`); a subtree is the
        slice from its root's order to its `end_order`."""
        if self._preorder is None:
            self._preorder = list(self.order)
        return self._preorder

    def walk_subtree(self, root: cst.CSTNode, skip: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
        """The indexed nodes of `root`'s subtree in pre-order (`root` first, even when not
        indexed); below the root, nodes of a type in `skip` are yielded but not entered."""
        start = self.order.get(root)
        if start is None:
            yield root
            return
        end = self.end_order(root)
        preorder = self.preorder
        yield root
        position = start + 1
        while position <= end:
            node = preorder[position]
            yield node
            if type(node) in skip:
                position = self.end_order(node) + 1
            else:
                position += 1

    # -- lookups -----------------------------------------------------------
    def nodes(self, node_type: type[N]) -> list[N]:
        """Every node of exactly `node_type` in source order."""
        found = self._by_type.get(node_type)
        if found is None:
            found = self._by_type[node_type] = self._gather(node_type)
        return found  # type: ignore[return-value]

    def _gather(self, node_type: type) -> list[cst.CSTNode]:
        """Every node of `node_type`, in source order: the function-by-function lists (each in
        source order) merged by pre-order position."""
        lists = [nodes for types in self.by_function.values() if (nodes := types.get(node_type))]
        merged = [node for nodes in lists for node in nodes]
        if len(lists) > 1:
            merged.sort(key=self.order.__getitem__)
        return merged

    def nodes_in(self, function: Optional[cst.FunctionDef], node_type: type[N]) -> list[N]:
        """Nodes of `node_type` whose nearest enclosing function is `function`
        (`None`: module level). Nested functions' nodes are not included."""
        types = self.by_function.get(function)
        return types.get(node_type, []) if types is not None else []  # type: ignore[return-value]

    @property
    def by_function_type(self) -> dict[tuple[Optional[cst.FunctionDef], type], list[cst.CSTNode]]:
        """`nodes_in` as one flat map keyed by (function, type) (built on demand)."""
        return {(function, node_type): nodes for function, types in self.by_function.items() for node_type, nodes in types.items()}

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
        known = _IS_STATEMENT
        while True:
            current_type = type(current)
            is_statement = known.get(current_type)
            if is_statement is None:  # first time: the abstract base's isinstance check, once per type
                is_statement = known[current_type] = issubclass(current_type, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            if is_statement:
                return current
            parent = self.parents.get(current)
            if parent is None:
                return current
            current = parent
